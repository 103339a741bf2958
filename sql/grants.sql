-- Grants: everything the application role hpms_app (created by sql/roles.sql) may do, and
-- nothing more. No DELETE and no TRUNCATE anywhere (soft delete is an UPDATE of is_deleted);
-- INSERT-only on the ledger; read-only on audit_logs and appointment_events, which only
-- SECURITY DEFINER triggers write, and on the event counters (a clinic's latest event id).
-- Row-level security
-- then narrows every grant to the clinic of the current transaction.

revoke all on all tables in schema public from hpms_app;

grant select on roles to hpms_app;
grant select, insert, update on
  tenants, users, patients, appointment_types, appointments, invoices, tenant_api_keys
  to hpms_app;
grant select, insert on journal_entries, ledger_lines to hpms_app;
grant select on audit_logs, appointment_events, appointment_event_counters to hpms_app;

-- Trigger functions fire without an EXECUTE check, but what they call is checked against the
-- invoking role: the pure state-machine table is callable (the API may ask it too).
grant execute on function appointment_status_transition_allowed(text, text) to hpms_app;
