-- Applied by migration m20261207_000060_mfa (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Two-factor sign-in's security events: a factor confirmed (MfaEnrolled), removed by its user
-- (MfaRemoved) or by a ClinicAdmin for a user who lost it (MfaReset), a recovery code spent at
-- sign-in (RecoveryCodeUsed), the clinic's policy changed (MfaPolicyChanged). A wrong code at
-- sign-in is a SignInFailed like a wrong password. Changing a factor ends the user's sessions,
-- which say so (MfaChanged).

alter table audit_logs drop constraint audit_logs_action_check;
alter table audit_logs add constraint audit_logs_action_check check (action in (
  'Create', 'Update', 'Delete', 'Read', 'Refused',
  'SignIn', 'SignInFailed', 'SignInLocked', 'SignOut', 'SignOutEverywhere',
  'RefreshTokenReused', 'PasswordChanged', 'PasswordReset', 'ClinicAdminReset',
  'MfaEnrolled', 'MfaRemoved', 'MfaReset', 'RecoveryCodeUsed', 'MfaPolicyChanged'));

alter policy security_events_by_the_server on audit_logs
  with check (
    action in ('SignIn', 'SignInFailed', 'SignInLocked', 'SignOut', 'SignOutEverywhere',
               'RefreshTokenReused', 'PasswordChanged', 'PasswordReset', 'ClinicAdminReset',
               'MfaEnrolled', 'MfaRemoved', 'MfaReset', 'RecoveryCodeUsed', 'MfaPolicyChanged')
    and old_values is null
    and api_key_id is null
    and tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
    and user_id is not distinct from nullif(current_setting('app.user_id', true), '')::uuid);

alter table user_sessions drop constraint user_sessions_revoked_reason_check;
alter table user_sessions add constraint user_sessions_revoked_reason_check check (revoked_reason in (
  'SignedOut', 'SignedOutEverywhere', 'RefreshTokenReused', 'PasswordChanged', 'PasswordReset',
  'MfaChanged'));
