-- Applied by migration m20261203_000040_sessions (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Sessions (issue 20): a sign-in opens a session; its short access tokens name it, and its
-- refresh token renews them. Only the SHA-256 of the current refresh secret is kept, and the
-- hashes of the secrets it replaced: a replaced secret presented again means it was copied, so the
-- whole session (the refresh token's family) is revoked. A session ends at its absolute lifetime
-- (expires_at), when it was not refreshed for the idle timeout (idle_expires_at, moved on by each
-- refresh), or when revoked (sign-out, sign-out everywhere, reuse, a password change or reset);
-- revocation is final and, like every loss of access, notifies access_revoked on commit so the
-- session's open subscriptions end at once.

create table user_sessions (
  tenant_id uuid not null references tenants (id),
  id uuid not null,
  user_id uuid not null,
  -- The user's credential version when the session opened: a password or role change, a reset or
  -- a deactivation moves the user's on, and ends the session with every token of theirs.
  credential_version integer not null,
  refresh_token_hash bytea not null check (length(refresh_token_hash) = 32),
  retired_refresh_hashes bytea[] not null default '{}',
  refreshed_at timestamptz not null default now(),
  idle_expires_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text check (revoked_reason in
    ('SignedOut', 'SignedOutEverywhere', 'RefreshTokenReused', 'PasswordChanged', 'PasswordReset')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, user_id) references users (tenant_id, id),
  check ((revoked_at is null) = (revoked_reason is null)),
  check (idle_expires_at <= expires_at)
);
create index user_sessions_live_idx on user_sessions (tenant_id, user_id) where revoked_at is null;
select protect_tenant_table('user_sessions');

grant select, insert on user_sessions to hpms_app;
grant update (refresh_token_hash, retired_refresh_hashes, refreshed_at, idle_expires_at,
              revoked_at, revoked_reason)
  on user_sessions to hpms_app;

create function forbid_unrevoking_session() returns trigger
language plpgsql as $$
begin
  if old.revoked_at is not null then
    raise exception 'a revoked session stays revoked' using errcode = 'check_violation',
      hint = 'Sign in again for a new session.';
  end if;
  return new;
end
$$;
create trigger revocation_is_final before update on user_sessions
  for each row execute function forbid_unrevoking_session();
create trigger access_revoked after update of revoked_at on user_sessions
  for each row when (old.revoked_at is null and new.revoked_at is not null)
  execute function notify_access_revoked('tenant_id');

-- Refresh hashes are credentials: they never reach an audit snapshot.
create or replace function audit_snapshot(row_image jsonb) returns jsonb
language sql immutable as $$
  select case
           when row_image ? 'phi_data' and row_image ->> 'phi_data' is not null
             then jsonb_set(row_image - array['password_hash', 'secret_ciphertext',
                                              'previous_secret_ciphertext', 'refresh_token_hash',
                                              'retired_refresh_hashes'],
                            '{phi_data}', '"[encrypted]"')
           else row_image - array['password_hash', 'secret_ciphertext', 'previous_secret_ciphertext',
                                  'refresh_token_hash', 'retired_refresh_hashes']
         end
$$;

-- Whether an access token still stands: what user_credential_stands() asks (the user active,
-- undeleted, in an active clinic, in the role and at the credential version the token names:
-- sql/m20261126_000006_request_scope/request_scope.sql), and the token's session live: the
-- user's, opened at that credential version, not revoked, within its absolute lifetime and idle
-- timeout, and opened after the clinic was last suspended (so reactivating a clinic revives none
-- of the sessions its suspension ended). One query rather than a call of user_credential_stands():
-- on Citus this function runs on the clinic's worker, where a nested distributed function's
-- query would be refused.
create function user_session_stands(
  tenant uuid, acting_user uuid, acting_role_id smallint, token_credential_version int,
  session uuid
) returns boolean
language plpgsql stable set search_path = pg_catalog, public, pg_temp as $$
begin
  return exists (
    select 1 from public.users u
      join public.tenants t on t.id = u.tenant_id
      join public.user_sessions s on s.tenant_id = u.tenant_id and s.user_id = u.id
     where u.tenant_id = tenant and u.id = acting_user and u.role_id = acting_role_id
       and u.credential_version = token_credential_version
       and u.is_active and not u.is_deleted and t.is_active
       and s.tenant_id = tenant and s.id = session
       and s.credential_version = token_credential_version and s.revoked_at is null
       and s.expires_at > now() and s.idle_expires_at > now()
       and (t.suspended_at is null or s.created_at > t.suspended_at));
end
$$;
revoke all on function user_session_stands(uuid, uuid, smallint, int, uuid) from public;
grant execute on function user_session_stands(uuid, uuid, smallint, int, uuid) to hpms_app;
