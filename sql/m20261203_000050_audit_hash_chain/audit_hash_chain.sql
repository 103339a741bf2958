-- Applied by migration m20261203_000050_audit_hash_chain (never edited: change the schema with a
-- new migration; schema.sql at the top of the repository has today's definitions).
--
-- Tamper evidence (issue 20): each clinic's audit rows form a hash chain. A row carries its place
-- in its clinic's chain (chain_seq: 1, 2, 3, … with no gaps), the previous row's hash and its own,
-- sha256 over the previous hash and the row's content (audit_chain_digest). `hpms verify-audit`
-- recomputes every row and reports the first broken link: an edited row no longer matches its
-- hash, a deleted one leaves a gap, a moved one breaks the next row's link. The owner can still
-- rewrite a whole chain from the edit on (it can do anything); the JSON-lines export of
-- `hpms verify-audit --export` keeps the hashes outside the database, where that shows.
--
-- The chain is computed here, in a BEFORE INSERT trigger, so it covers every row whoever inserts
-- it: the audit trigger, record_read() and anything later. The trigger takes a per-clinic
-- transaction advisory lock, then reads the clinic's last row: the lock is held until commit, so
-- the next transaction reads this one's row once it has committed (READ COMMITTED takes a new
-- snapshot per statement), and the unique (tenant_id, chain_seq) refuses a fork should it ever
-- run under a snapshot that cannot see it. Cost: a clinic's audited transactions serialise from
-- their first audit row to commit, as its status changes already do on the event counter.
--
-- On Citus the trigger runs on the audit_logs shard placement, on the node holding the clinic's
-- rows: it reads that placement itself (tg_table_name), and the advisory lock is that node's, which
-- every insert of the clinic goes through. Nothing is written across nodes.

alter table audit_logs
  add column chain_seq bigint,
  add column previous_hash bytea,
  add column row_hash bytea;

-- What a row's hash covers: its clinic, place in the chain, id, everything it records, and the
-- previous row's hash (null for a clinic's first row). The time is spelt out in UTC to the
-- microsecond, so the session's time zone cannot change the text hashed; jsonb's text is
-- canonical (keys sorted, one spacing).
create function audit_chain_digest(
  previous_hash bytea, tenant_id uuid, chain_seq bigint, id bigint, entity_name text,
  entity_id text, user_id uuid, api_key_id uuid, action text, old_values jsonb,
  new_values jsonb, occurred_at timestamptz)
returns bytea
language plpgsql immutable set search_path = pg_catalog, pg_temp as $$
begin
  return sha256(coalesce(previous_hash, '\x'::bytea) || convert_to(jsonb_build_array(
    tenant_id, chain_seq, id, entity_name, entity_id, user_id, api_key_id, action, old_values,
    new_values, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text,
    'UTF8'));
end
$$;

-- `hpms verify-audit` recomputes each row's hash with it, as the application role. It reads
-- nothing and runs as its caller.
grant execute on function audit_chain_digest(bytea, uuid, bigint, bigint, text, text, uuid, uuid,
  text, jsonb, jsonb, timestamptz) to hpms_app;

-- The chain trigger reads the clinic's last row as the owner; FORCE'd row-level security shows
-- the owner audit rows only of the clinic the trigger names, for as long as it reads.
create policy chain_read_by_audit_trigger on audit_logs for select to hpms_owner
  using (tenant_id = nullif(current_setting('app.audit_chain_tenant', true), '')::uuid);

-- The last row is read by walking the (tenant_id, chain_seq) index backwards and stopping at the
-- first row the policies admit: one index probe whatever the clinic's size. Left to itself, the
-- planner may answer the two OR'ed policies with a bitmap scan of every row of the clinic and a
-- sort (measured: 50,000 rows inserted one statement after another slowed quadratically), so
-- the plans it could pick instead are switched off for this function's statements only.
create function chain_audit_row() returns trigger
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
  execute format('select chain_seq, row_hash from public.%I where tenant_id = $1 '
                 'order by chain_seq desc limit 1', tg_table_name)
    into last_seq, last_hash using new.tenant_id;
  perform set_config('app.audit_chain_tenant', '', true);
  new.chain_seq := coalesce(last_seq, 0) + 1;
  new.previous_hash := last_hash;
  new.row_hash := audit_chain_digest(new.previous_hash, new.tenant_id, new.chain_seq, new.id,
    new.entity_name, new.entity_id, new.user_id, new.api_key_id, new.action, new.old_values,
    new.new_values, new.occurred_at);
  return new;
end
$$;

-- Rows written before this migration join the chain in the order they were written. The
-- append-only trigger and forced row-level security (which shows the owner no rows to update) are
-- off for these statements only, inside the migration's transaction.
alter table audit_logs disable trigger append_only;
alter table audit_logs no force row level security;
with chained as (
  select tenant_id, id, row_number() over (partition by tenant_id order by occurred_at, id) as seq
    from audit_logs)
update audit_logs entry set chain_seq = chained.seq
  from chained where chained.tenant_id = entry.tenant_id and chained.id = entry.id;
do $$
declare
  entry record;
  last_tenant uuid;
  last_hash bytea;
begin
  for entry in select * from audit_logs order by tenant_id, chain_seq loop
    if entry.tenant_id is distinct from last_tenant then
      last_hash := null;
      last_tenant := entry.tenant_id;
    end if;
    update audit_logs
       set previous_hash = last_hash,
           row_hash = audit_chain_digest(last_hash, entry.tenant_id, entry.chain_seq, entry.id,
             entry.entity_name, entry.entity_id, entry.user_id, entry.api_key_id, entry.action,
             entry.old_values, entry.new_values, entry.occurred_at)
     where tenant_id = entry.tenant_id and id = entry.id
    returning row_hash into last_hash;
  end loop;
end
$$;
alter table audit_logs force row level security;
alter table audit_logs enable trigger append_only;

alter table audit_logs
  alter column chain_seq set not null,
  alter column row_hash set not null;
create unique index audit_logs_chain_idx on audit_logs (tenant_id, chain_seq);

create trigger chain before insert on audit_logs
  for each row execute function chain_audit_row();
