-- Applied by migration m20261126_000005_partner_api (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Partner API keys, and ending access at once.
--
-- A key reads `hpms_<clinic id><key id>_<secret>` (the ids as 32 hex digits each). The ids find
-- the row, by its primary key, before the server knows the clinic, through find_api_key(), the
-- one narrow SECURITY DEFINER lookup; it returns the sealed secret of a live key of an active
-- clinic and nothing for anything else.
-- The server opens the secret (the key to it is in the server's configuration, never here) and
-- compares it in constant time. The owner, subject to forced RLS, reads keys through a read-only
-- policy that serves this function alone, as it does for login_account() in
-- sql/m20261126_000002_api_core/login.sql.
--
-- Ending access: revoking a key; deactivating or deleting a user or changing their role or
-- password; deactivating a clinic. Each sends NOTIFY access_revoked with the clinic's id, on
-- commit only, so every server instance re-checks the credentials of that clinic's open
-- subscriptions at once instead of at their next event.

-- Scopes a key can grant (the server's ApiKeyScope names the same).
alter table tenant_api_keys add constraint tenant_api_keys_scopes_known
  check (cardinality(scopes) > 0 and scopes <@ array['AppointmentEvents']);
-- A key is revoked once; revocation is never undone (issue a new key instead).
create function forbid_unrevoking() returns trigger
language plpgsql as $$
begin
  if old.revoked_at is not null and new.revoked_at is distinct from old.revoked_at then
    raise exception 'a revoked API key stays revoked' using errcode = 'check_violation',
      hint = 'Issue a new key instead.';
  end if;
  return new;
end
$$;
create trigger revocation_is_final before update of revoked_at on tenant_api_keys
  for each row execute function forbid_unrevoking();

create policy api_key_lookup on tenant_api_keys for select to current_user using (true);

create function find_api_key(clinic_id uuid, key_id uuid)
returns table (secret_ciphertext bytea, scopes text[])
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
  select k.secret_ciphertext, k.scopes
  from public.tenant_api_keys k
  join public.tenants t on t.id = k.tenant_id
  where k.tenant_id = clinic_id and k.id = key_id and k.revoked_at is null and t.is_active
$$;
revoke all on function find_api_key(uuid, uuid) from public;
grant execute on function find_api_key(uuid, uuid) to hpms_app;

-- The server records use and revocation; a key's secret, scopes and name never change.
revoke update on tenant_api_keys from hpms_app;
grant update (last_used_at, revoked_at) on tenant_api_keys to hpms_app;

-- tg_argv[0] names the column holding the clinic's id (tenants has no tenant_id: its id is it).
create function notify_access_revoked() returns trigger
language plpgsql as $$
begin
  perform pg_notify('access_revoked', to_jsonb(new) ->> tg_argv[0]);
  return null;
end
$$;

create trigger access_revoked after update of revoked_at on tenant_api_keys
  for each row when (old.revoked_at is null and new.revoked_at is not null)
  execute function notify_access_revoked('tenant_id');
create trigger access_revoked after update on users
  for each row when ((old.is_active, old.is_deleted, old.role_id, old.credential_version)
                     is distinct from (new.is_active, new.is_deleted, new.role_id, new.credential_version))
  execute function notify_access_revoked('tenant_id');
create trigger access_revoked after update of is_active on tenants
  for each row when (old.is_active and not new.is_active)
  execute function notify_access_revoked('id');
