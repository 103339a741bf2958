-- Applied by migration m20261203_000053_refusals_and_identity_reads (never edited: change the
-- schema with a new migration; schema.sql at the top of the repository has today's definitions).
--
-- Refusals in the audit trail (issue 20): a request refused FORBIDDEN leaves one `Refused` row,
-- written by the refused principal itself after its request's transaction ended (a refused
-- mutation rolls back), naming what was refused and the role, client address and request id
-- (new_values). Like the Read rows of reads_by_the_reader, the application role may add these
-- for its own clinic, as its own user or key, and nothing else. Reads of patients' identity
-- (names, dates of birth, an appointment's patient) are `Read` rows too, one per request listing
-- the patients (new_values.patient_ids): reads_by_the_reader already admits them.

alter table audit_logs drop constraint audit_logs_action_check;
alter table audit_logs add constraint audit_logs_action_check check (action in (
  'Create', 'Update', 'Delete', 'Read', 'Refused',
  'SignIn', 'SignInFailed', 'SignInLocked', 'SignOut', 'SignOutEverywhere',
  'RefreshTokenReused', 'PasswordChanged', 'PasswordReset', 'ClinicAdminReset'));

-- No sub-select, so the same policy serves Citus (sql/citus/policies.sql).
create policy refusals_by_the_refused on audit_logs for insert to hpms_app
  with check (
    action = 'Refused'
    and old_values is null
    and tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
    and user_id is not distinct from nullif(current_setting('app.user_id', true), '')::uuid
    and api_key_id is not distinct from nullif(current_setting('app.api_key_id', true), '')::uuid);
