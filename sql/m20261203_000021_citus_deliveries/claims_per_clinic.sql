-- Applied by migration m20261203_000021_citus_deliveries (never edited: change the schema
-- with a new migration; schema.sql at the top of the repository has today's definitions).
--
-- Replaces claim_webhook_endpoints() (m20261203_000010_webhooks/webhooks.sql) with the same
-- contract — up to `most` due endpoints leased to `worker`, rows another instance is claiming
-- skipped — in two steps Citus can run. The old body was one UPDATE across every clinic with a
-- locking, limited subquery: a multi-shard UPDATE of that shape Citus cannot plan, so on Citus no
-- webhook was ever delivered. Here a read across clinics (grouped by tenant_id, which Citus pushes
-- down to every shard) picks the clinics that have a due endpoint, earliest due first; then each
-- clinic's endpoints are locked and leased by a statement naming that clinic, which Citus routes
-- to the one shard holding it, and which one PostgreSQL runs as before.
create or replace function claim_webhook_endpoints(worker uuid, lease interval, most integer)
returns table (tenant_id uuid, endpoint_id uuid)
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  clinic uuid;
  remaining integer := most;
  claimed integer;
begin
  for clinic in
    select candidate.tenant_id
      from public.webhook_endpoints candidate
      join public.appointment_event_counters counter on counter.tenant_id = candidate.tenant_id
     where candidate.state = 'Enabled' and not candidate.is_deleted
       and candidate.next_attempt_at <= now()
       and counter.last_event_id > candidate.last_event_id
       and (candidate.lease_expires_at is null or candidate.lease_expires_at < now())
     group by candidate.tenant_id
     order by min(candidate.next_attempt_at)
     limit most
  loop
    exit when remaining <= 0;
    return query
      update public.webhook_endpoints endpoint
         set lease_owner = worker, lease_expires_at = now() + lease
        from (select candidate.id
                from public.webhook_endpoints candidate
                join public.appointment_event_counters counter
                  on counter.tenant_id = candidate.tenant_id
               where candidate.tenant_id = clinic
                 and candidate.state = 'Enabled' and not candidate.is_deleted
                 and candidate.next_attempt_at <= now()
                 and counter.last_event_id > candidate.last_event_id
                 and (candidate.lease_expires_at is null or candidate.lease_expires_at < now())
               order by candidate.next_attempt_at
               limit remaining
                 for update of candidate skip locked) due
       where endpoint.tenant_id = clinic and endpoint.id = due.id
      returning endpoint.tenant_id, endpoint.id;
    get diagnostics claimed = row_count;
    remaining := remaining - claimed;
  end loop;
end
$$;
