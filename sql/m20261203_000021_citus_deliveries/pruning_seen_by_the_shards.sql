-- Applied by migration m20261203_000021_citus_deliveries (never edited: change the schema with a
-- new migration; schema.sql at the top of the repository has today's definitions).
--
-- Replaces prune_webhook_deliveries() (m20261203_000010_webhooks/webhooks.sql): the same pruning
-- of the transaction's clinic's delivery log, with the setting that lets its DELETE past the log's
-- forbid_delete trigger made by SET LOCAL rather than set_config(). On Citus the DELETE runs on
-- the worker holding the clinic's shard, where the trigger fires; Citus forwards a SET LOCAL to
-- the workers (sql/citus/settings.sql) but not a set_config(), so there every prune was refused
-- and the dispatcher's pass over the clinic failed with it. On one PostgreSQL the two are the same.
create or replace function prune_webhook_deliveries(older_than timestamptz) returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  tenant constant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  pruned bigint;
begin
  if tenant is null then
    raise exception 'no clinic is set for this transaction' using errcode = 'insufficient_privilege';
  end if;
  set local app.pruning_webhook_deliveries = 'on';
  delete from public.webhook_deliveries
   where tenant_id = tenant and attempted_at < older_than;
  get diagnostics pruned = row_count;
  set local app.pruning_webhook_deliveries = '';
  return pruned;
end
$$;
