-- Applied by migration m20261203_000040_sessions (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Security events (issue 20, item 4): sign-ins and their failures, lockouts, sign-outs, refresh
-- token reuse, password changes and resets are audit_logs rows, each naming the user (the
-- account concerned), their role, the clinic, the client's address and the request id. They are
-- written by record_security_event() alone, as the server's request role, under a policy that lets
-- it add nothing else: so every trigger on audit_logs (the append-only refusal, a hash chain)
-- covers them like any other row. Plain single-row inserts, as Citus needs under RLS.

alter table audit_logs drop constraint audit_logs_action_check;
alter table audit_logs add constraint audit_logs_action_check check (action in (
  'Create', 'Update', 'Delete', 'Read',
  'SignIn', 'SignInFailed', 'SignInLocked', 'SignOut', 'SignOutEverywhere',
  'RefreshTokenReused', 'PasswordChanged', 'PasswordReset', 'ClinicAdminReset'));

create policy security_events_by_the_server on audit_logs for insert to hpms_app
  with check (
    action in ('SignIn', 'SignInFailed', 'SignInLocked', 'SignOut', 'SignOutEverywhere',
               'RefreshTokenReused', 'PasswordChanged', 'PasswordReset', 'ClinicAdminReset')
    and old_values is null
    and api_key_id is null
    and tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
    and user_id is not distinct from nullif(current_setting('app.user_id', true), '')::uuid);

-- Records `event` about the transaction's user (app.user_id; none for a sign-in naming no
-- account) in the transaction's clinic: entity users, the user's id, and as new values the
-- user's role, the client's address, the request id and the event's own details.
create function record_security_event(event text, user_role text, client_address text,
                                      request_id text, details jsonb)
returns void
language plpgsql security invoker set search_path = pg_catalog, public, pg_temp as $$
declare
  tenant constant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  subject constant uuid := nullif(current_setting('app.user_id', true), '')::uuid;
begin
  if tenant is null then
    raise exception 'no clinic is set for this transaction' using errcode = 'insufficient_privilege';
  end if;
  insert into public.audit_logs (tenant_id, entity_name, entity_id, user_id, action, new_values)
  values (tenant, 'users', coalesce(subject::text, 'unknown'), subject, event,
          jsonb_build_object('role', user_role,
                             'client_address', client_address,
                             'request_id', request_id)
          || coalesce(details, '{}'::jsonb));
end
$$;
revoke all on function record_security_event(text, text, text, text, jsonb) from public;
grant execute on function record_security_event(text, text, text, text, jsonb) to hpms_app;
