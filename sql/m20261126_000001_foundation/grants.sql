-- Applied by migration m20261126_000001_foundation (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's grants). Changed since: later
-- migrations grant execute on the functions they add (login.sql, patient_search.sql,
-- api_keys.sql, request_scope.sql); api_keys.sql narrows UPDATE on tenant_api_keys to
-- last_used_at and revoked_at; the record_read(text, uuid[]) granted below was dropped and
-- replaced by record_read(text, uuid[], text[]) (m20261126_000002_api_core, audit_reads.sql).
--
-- Grants: everything the application role may do, and nothing more. The role is named hpms_app
-- here; sql/roles.sql creates it under that name. No DELETE and no TRUNCATE anywhere (soft delete
-- is an UPDATE of is_deleted); INSERT-only on the ledger; an invoice's amount is fixed once
-- written; read-only on audit_logs, appointment_events and the event counters (a clinic's latest
-- event id), which only SECURITY DEFINER functions write. Row-level security then narrows every
-- grant to the clinic of the current transaction.

revoke all on all tables in schema public from hpms_app;

grant select on roles to hpms_app;
grant select, insert, update on
  tenants, users, patients, appointment_types, appointments, tenant_api_keys
  to hpms_app;
grant select, insert, update (status, updated_at) on invoices to hpms_app;
grant select, insert on journal_entries, ledger_lines to hpms_app;
grant select on audit_logs, appointment_events, appointment_event_counters to hpms_app;

-- Trigger functions fire without an EXECUTE check, but what they call is checked against the
-- invoking role: the pure state-machine table is callable (the API may ask it too).
grant execute on function appointment_status_transition_allowed(text, text) to hpms_app;
grant execute on function record_read(text, uuid[]) to hpms_app;
