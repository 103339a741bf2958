-- Audit rows written where Citus runs the trigger: on a shard placement, not on the table.
--
-- On Citus the audit trigger fires on each shard placement (patients_102064, …) and on every
-- placement of a reference table (tenants is one, copied to every node). Two consequences:
-- - tg_table_name is the placement's name: the logical table's name is it without the shard
--   number, which is what auditLogs(entityName:) asks for. (No HPMS table ends in _<digits>.)
-- - A trigger running on a placement may only write to shards on its own node ("cannot execute a
--   distributed query from a query on a shard"). A distributed table's placement always has its
--   clinic's audit_logs shard beside it (colocated by tenant_id). A reference table's placement
--   is on every node, so the row is written by the one placement whose node holds the clinic's
--   audit_logs shard, and skipped by the others: one row per change, as on one PostgreSQL.
-- On plain PostgreSQL neither applies: there are no placements, and the Citus catalogs this
-- reads only through EXECUTE are never touched.

create or replace function audit_row_change() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  old_values jsonb := case when tg_op in ('UPDATE', 'DELETE') then audit_snapshot(to_jsonb(old)) end;
  new_values jsonb := case when tg_op in ('INSERT', 'UPDATE') then audit_snapshot(to_jsonb(new)) end;
  subject jsonb := coalesce(new_values, old_values);
  -- tenants has no tenant_id: a clinic's own row is audited under the clinic.
  clinic uuid := coalesce(subject ->> 'tenant_id', subject ->> 'id')::uuid;
  logical_table text := regexp_replace(tg_table_name, '_[0-9]+$', '');
  writes_here boolean := true;
begin
  if logical_table <> tg_table_name then
    execute $sql$
      select partition.partmethod <> 'n' or exists (
               select from pg_dist_placement placement
                where placement.shardid = get_shard_id_for_distribution_column('public.audit_logs', $2)
                  and placement.groupid = (select groupid from pg_dist_local_group))
        from pg_dist_partition partition
       where partition.logicalrelid = format('public.%I', $1)::regclass
    $sql$ into writes_here using logical_table, clinic;
  end if;
  if not coalesce(writes_here, true) then
    return null;
  end if;
  insert into public.audit_logs
    (tenant_id, entity_name, entity_id, user_id, api_key_id, action, old_values, new_values)
  values (
    clinic,
    logical_table,
    -- Tables keyed by tenant alone (the event counters) are identified by the tenant.
    coalesce(subject ->> 'id', subject ->> 'tenant_id'),
    nullif(current_setting('app.user_id', true), '')::uuid,
    nullif(current_setting('app.api_key_id', true), '')::uuid,
    case
      when tg_op = 'INSERT' then 'Create'
      when tg_op = 'DELETE' then 'Delete'
      when not coalesce((old_values ->> 'is_deleted')::boolean, false)
           and coalesce((new_values ->> 'is_deleted')::boolean, false) then 'Delete'
      else 'Update'
    end,
    old_values,
    new_values);
  return null;
end
$$;
