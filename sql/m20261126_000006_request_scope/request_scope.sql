-- Applied by migration m20261126_000006_request_scope (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions). Replaced since:
-- open_request() below was dropped by m20261127_000007_request_scope_set_local
-- (sql/m20261127_000007_request_scope_set_local/request_scope_set_local.sql): the server now
-- sets the tenant with SET LOCAL statements (Citus forwards those to its workers, not
-- set_config()) and checks the token with user_credential_stands(), which is still current.
--
-- As applied: opening a clinic's transaction in one round trip. The server's
-- begin_tenant_transaction() called open_request() as the first statement of every clinic-scoped
-- transaction: it set the transaction-local settings the row-level security policies key on
-- (sql/m20261126_000001_foundation/rls.sql) and, for a signed-in user's request, answered whether
-- their token still stands. Setting and checking had been two statements, a round trip each, on
-- every request; one was measurably faster (BENCHMARKS.md, "what changed").

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

-- (Dropped by m20261127_000007_request_scope_set_local: see the top of this file.)
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
