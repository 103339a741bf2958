-- Opening a clinic's transaction in one round trip. begin_tenant_transaction()
-- (src/platform/db.rs) calls open_request() as the first statement of every clinic-scoped
-- transaction: it sets the transaction-local settings the row-level security policies key on
-- (sql/rls.sql) and, for a signed-in user's request, answers whether their token still stands.
-- Setting and checking were two statements, a round trip each, on every request; one is
-- measurably faster (BENCHMARKS.md, "what changed").

-- Whether a user's token still stands: the user active, undeleted, in an active clinic, in the
-- role and at the credential version the token names (a password or role change, deactivation
-- or deletion ends every token at once). Runs as the caller, under row-level security.
-- PL/pgSQL rather than SQL: a session plans its query once, where a SQL function (one that
-- cannot be inlined, as one with a search_path setting cannot) plans it on every call.
create function user_credential_stands(
  tenant uuid, acting_user uuid, acting_role_id smallint, token_credential_version int
) returns boolean
language plpgsql stable set search_path = pg_catalog, public, pg_temp as $$
begin
  return exists (
    select 1 from public.users u join public.tenants t on t.id = u.tenant_id
     where u.tenant_id = tenant and u.id = acting_user and u.role_id = acting_role_id
       and u.credential_version = token_credential_version
       and u.is_active and not u.is_deleted and t.is_active);
end
$$;

-- Sets app.tenant_id, app.user_id and app.role for the rest of the transaction (transaction-
-- local, so a pooled connection never carries them into the next request), then answers
-- user_credential_stands() when given a credential version, and true otherwise (the platform's
-- own work, partners' keys, which the server checks separately). The function's own
-- search_path setting ends with it; the settings made with set_config(..., true) do not.
create function open_request(
  tenant uuid, acting_user uuid, acting_role text, acting_role_id smallint,
  token_credential_version int
) returns boolean
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
begin
  perform pg_catalog.set_config('app.tenant_id', tenant::text, true),
          pg_catalog.set_config('app.user_id', coalesce(acting_user::text, ''), true),
          pg_catalog.set_config('app.role', coalesce(acting_role, ''), true);
  return token_credential_version is null
      or public.user_credential_stands(tenant, acting_user, acting_role_id, token_credential_version);
end
$$;

revoke all on function user_credential_stands(uuid, uuid, smallint, int) from public;
revoke all on function open_request(uuid, uuid, text, smallint, int) from public;
grant execute on function user_credential_stands(uuid, uuid, smallint, int) to hpms_app;
grant execute on function open_request(uuid, uuid, text, smallint, int) to hpms_app;
