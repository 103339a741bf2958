-- Applied by migration m20261203_000021_citus_deliveries (never edited: change the schema with a
-- new migration; schema.sql at the top of the repository has today's definitions).
--
-- Replaces notify_access_revoked() (m20261126_000005_partner_api/api_keys.sql): the same
-- notification, sent once and from a transaction that may send it. On Citus a change to a
-- reference table (tenants: a clinic deactivated) runs on its placement on every node, the
-- workers' as prepared transactions (two-phase commit), and PostgreSQL refuses to PREPARE a
-- transaction that has notified, so deactivating a clinic failed. The coordinator's placement
-- runs in the coordinator's own transaction, and every server instance listens there too, so a
-- reference table's placements notify on the coordinator only. A distributed table's placement
-- (users, tenant_api_keys) notifies where it runs, on the worker holding the clinic, which every
-- instance also listens on. On one PostgreSQL there are no placements and nothing changes.
create or replace function notify_access_revoked() returns trigger
language plpgsql as $$
declare
  logical_table constant text := regexp_replace(tg_table_name, '_[0-9]+$', '');
  notifies_here boolean := true;
begin
  if logical_table <> tg_table_name then
    execute $sql$
      select partition.partmethod <> 'n' or citus_is_coordinator()
        from pg_dist_partition partition
       where partition.logicalrelid = format('public.%I', $1)::regclass
    $sql$ into notifies_here using logical_table;
  end if;
  if coalesce(notifies_here, true) then
    perform pg_notify('access_revoked', to_jsonb(new) ->> tg_argv[0]);
  end if;
  return null;
end
$$;
