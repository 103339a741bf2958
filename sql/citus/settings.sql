-- Settings a Citus cluster needs for HPMS. Run once on the coordinator as a superuser, before
-- distribute.sql.

-- The server sends app.tenant_id, app.user_id and app.role as SET LOCAL at the start of every
-- transaction (src/foundation/db.rs). Citus forwards SET LOCAL to the workers only when told to;
-- without it the policies on the shards would see no tenant and answer no rows (fail closed).
-- The owner too: its work in one clinic (the PHI key rotation, an operator's query) opens its
-- transactions the same way, under the same forced policies.
alter role hpms_app set citus.propagate_set_commands = 'local';
alter role hpms_owner set citus.propagate_set_commands = 'local';

-- The audit, soft-delete, ledger and event triggers run on the shards (audit.sql, rls.sql,
-- ledger.sql and events.sql of sql/m20261126_000001_foundation/); Citus allows triggers on distributed tables only with this on.
-- Every row they write or read is of the same clinic, in tables colocated by tenant_id.
alter system set citus.enable_unsafe_triggers = on;
select pg_reload_conf();
