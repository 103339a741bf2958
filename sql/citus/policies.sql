-- Citus variants of the row-level security policies. Run on the coordinator as the owner role,
-- after `hpms migrate` and before distribute.sql (Citus copies a table's policies to its shards
-- when it distributes the table, and refuses policies it cannot copy).
--
-- Citus rejects sub-selects in the policies of distributed tables. Ours wrap current_setting() in
-- `(select ...)` only so that PostgreSQL evaluates it once per statement (an InitPlan) rather
-- than once per row; here the comparisons are with current_setting() directly: the same rows,
-- each a cheap stable function call. The settings themselves reach the workers because the
-- server sends them as SET LOCAL and settings.sql tells Citus to forward SET LOCAL.

-- Every tenant table's tenant_isolation policy (protect_tenant_table() in
-- sql/m20261126_000001_foundation/rls.sql); audit_logs has its own, below.
do $$
declare
  target regclass;
begin
  for target in
    select p.polrelid::regclass from pg_policy p
     where p.polname = 'tenant_isolation' and p.polcmd = '*'
  loop
    execute format(
      'alter policy tenant_isolation on %s using (%s) with check (%2$s)', target,
      $f$tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid$f$);
  end loop;
end
$$;

-- The audit log: its clinic's rows, for its ClinicAdmin only
-- (sql/m20261126_000001_foundation/audit.sql).
alter policy tenant_isolation on audit_logs
  using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
         and current_setting('app.role', true) = 'ClinicAdmin');

-- tenants (a reference table): a clinic's own row; every row for the platform's SystemAdmin.
alter policy own_clinic on tenants
  using (id = nullif(current_setting('app.tenant_id', true), '')::uuid);
alter policy platform_admin on tenants
  using (current_setting('app.role', true) = 'SystemAdmin')
  with check (current_setting('app.role', true) = 'SystemAdmin');
