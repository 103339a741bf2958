-- Applied by migration m20261208_000090_audit_chain_prepared (never edited: change the schema
-- with a new migration; schema.sql at the top of the repository has today's definitions).
--
-- The audit chain's trigger (sql/m20261203_000050_audit_hash_chain/) read a clinic's last row
-- with dynamic SQL, which PostgreSQL parses and plans anew on every insert. Every request that
-- shows a patient's name writes a Read row (m20261203_000053), so that planning was paid by
-- nearly every read: measured with pgbench as the application role (8 clients, 1M appointments,
-- 3.2M audit rows), a transaction inserting one Read row cost 0.82 ms of database CPU with the
-- dynamic statement and 0.63 ms with a static one, whose plan PL/pgSQL prepares once per
-- connection (BENCHMARKS.md). On one PostgreSQL the trigger fires on audit_logs itself and now
-- reads it with a static statement. On Citus it fires on the clinic's shard of audit_logs, a
-- table named after the shard, which only dynamic SQL can name (the distributed table's name
-- would make it a distributed query from a shard, which Citus refuses): that case keeps the
-- dynamic statement. Both read the same row the same way; the plans switched off are as before.

create or replace function chain_audit_row() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp
set enable_bitmapscan = off set enable_seqscan = off set enable_sort = off as $$
declare
  -- The two-key advisory lock space, apart from the one-key locks of idempotency keys.
  audit_chain_lock constant integer := 20;
  last_seq bigint;
  last_hash bytea;
begin
  perform pg_advisory_xact_lock(audit_chain_lock, hashtext(new.tenant_id::text));
  perform set_config('app.audit_chain_tenant', new.tenant_id::text, true);
  if tg_table_name = 'audit_logs' then
    select chain_seq, row_hash into last_seq, last_hash
      from public.audit_logs where tenant_id = new.tenant_id
     order by chain_seq desc limit 1;
  else
    execute format('select chain_seq, row_hash from public.%I where tenant_id = $1 '
                   'order by chain_seq desc limit 1', tg_table_name)
      into last_seq, last_hash using new.tenant_id;
  end if;
  perform set_config('app.audit_chain_tenant', '', true);
  new.chain_seq := coalesce(last_seq, 0) + 1;
  new.previous_hash := last_hash;
  new.row_hash := audit_chain_digest(new.previous_hash, new.tenant_id, new.chain_seq, new.id,
    new.entity_name, new.entity_id, new.user_id, new.api_key_id, new.action, new.old_values,
    new.new_values, new.occurred_at);
  return new;
end
$$;
