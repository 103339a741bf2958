-- Distributes the schema by tenant_id on Citus. Run on the coordinator as a superuser, after
-- `hpms migrate`, settings.sql and policies.sql, while the tables are small (Citus copies
-- existing rows into the shards).
--
-- Global tables become reference tables (a full copy on every node, so every shard can join and
-- reference them); every tenant table is hash-distributed by tenant_id and colocated with users,
-- so each clinic's rows of all tables live on one node, and joins and foreign keys between them
-- (all of which include tenant_id: tests/integration/schema_catalog.rs) stay on that node.
-- Tables are distributed in foreign-key order: a table's references are distributed before it.
-- A new tenant table goes here too; tests/integration/citus_scripts.rs fails until it does.

-- Off for this session: with it on (Citus' default), making `roles` a reference table first turns
-- every table linked to it by foreign keys into a Citus local table, and the tenant tables then
-- cannot be distributed ("foreign keys from reference tables and local tables to distributed
-- tables are not supported").
set citus.enable_local_reference_table_foreign_keys = off;

select create_reference_table('roles');
select create_reference_table('tenants');

select create_distributed_table('users', 'tenant_id');
select create_distributed_table('user_sessions', 'tenant_id', colocate_with => 'users');
select create_distributed_table('patients', 'tenant_id', colocate_with => 'users');
-- Before appointments, which name the room they hold.
select create_distributed_table('rooms', 'tenant_id', colocate_with => 'users');
select create_distributed_table('appointment_types', 'tenant_id', colocate_with => 'users');
select create_distributed_table('appointment_series', 'tenant_id', colocate_with => 'users');
-- Before appointments, which name the reason they were cancelled for.
select create_distributed_table('cancellation_reasons', 'tenant_id', colocate_with => 'users');
select create_distributed_table('cancellation_policies', 'tenant_id', colocate_with => 'users');
select create_distributed_table('appointments', 'tenant_id', colocate_with => 'users');
select create_distributed_table('invoices', 'tenant_id', colocate_with => 'users');
select create_distributed_table('journal_entries', 'tenant_id', colocate_with => 'users');
select create_distributed_table('ledger_lines', 'tenant_id', colocate_with => 'users');
select create_distributed_table('tenant_api_keys', 'tenant_id', colocate_with => 'users');
select create_distributed_table('appointment_events', 'tenant_id', colocate_with => 'users');
select create_distributed_table('appointment_event_counters', 'tenant_id', colocate_with => 'users');
select create_distributed_table('audit_logs', 'tenant_id', colocate_with => 'users');
select create_distributed_table('webhook_endpoints', 'tenant_id', colocate_with => 'users');
select create_distributed_table('webhook_deliveries', 'tenant_id', colocate_with => 'users');
select create_distributed_table('time_off', 'tenant_id', colocate_with => 'users');
select create_distributed_table('provider_day_hours', 'tenant_id', colocate_with => 'users');
select create_distributed_table('patient_phi_versions', 'tenant_id', colocate_with => 'users');
select create_distributed_table('care_assignments', 'tenant_id', colocate_with => 'users');
select create_distributed_table('break_glass_grants', 'tenant_id', colocate_with => 'users');
select create_distributed_table('waitlist_entries', 'tenant_id', colocate_with => 'users');
select create_distributed_table('mfa_factors', 'tenant_id', colocate_with => 'users');
select create_distributed_table('mfa_recovery_codes', 'tenant_id', colocate_with => 'users');
select create_distributed_table('mfa_policies', 'tenant_id', colocate_with => 'users');

-- Functions the server calls with the clinic as an argument run on the node that holds the
-- clinic's shards (one hop instead of a coordinator-planned query per statement inside them).
select create_distributed_function('user_credential_stands(uuid, uuid, smallint, integer)',
                                   'tenant', colocate_with => 'users');
select create_distributed_function('user_session_stands(uuid, uuid, smallint, integer, uuid)',
                                   'tenant', colocate_with => 'users');
select create_distributed_function('find_api_key(uuid, uuid)',
                                   'clinic_id', colocate_with => 'tenant_api_keys');
