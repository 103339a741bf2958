-- Sign-in and API-key lookups as PL/pgSQL, which Citus can plan: it cannot plan a LANGUAGE sql
-- function's query when the function's parameters appear in it ("could not create distributed
-- plan … parameters in SQL functions … not supported"), so on Citus every sign-in and every
-- partner key was refused. Each statement below names its clinic, so Citus routes it to the one
-- node holding that clinic's shards. Same signatures, same rows as the functions they replace
-- (sql/m20261126_000002_api_core/login.sql, sql/m20261126_000005_partner_api/api_keys.sql).

create or replace function login_account(clinic text, login_username text)
returns table (tenant_id uuid, user_id uuid, username text, role_id smallint, password_hash text,
               credential_version integer, created_at timestamptz)
language plpgsql stable security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  clinic_id uuid;
begin
  -- The clinic first (a reference table on Citus), then its user (one shard).
  select t.id into clinic_id
    from public.tenants t
   where (t.slug = lower(clinic) or t.id::text = lower(clinic)) and t.is_active;
  if clinic_id is null then
    return;
  end if;
  return query
    select u.tenant_id, u.id, u.username, u.role_id, u.password_hash, u.credential_version,
           u.created_at
      from public.users u
     where u.tenant_id = clinic_id
       and u.username = lower(login_username)
       and u.is_active
       and not u.is_deleted;
end
$$;

create or replace function find_api_key(clinic_id uuid, key_id uuid)
returns table (secret_ciphertext bytea, scopes text[])
language plpgsql stable security definer set search_path = pg_catalog, public, pg_temp as $$
begin
  return query
    select k.secret_ciphertext, k.scopes
      from public.tenant_api_keys k
      join public.tenants t on t.id = k.tenant_id
     where k.tenant_id = clinic_id and k.id = key_id and k.revoked_at is null and t.is_active;
end
$$;
