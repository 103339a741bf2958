-- Applied by migration m20261203_000010_webhooks (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Webhooks (issue 16): a clinic's endpoints, each delivered the clinic's appointment events
-- (appointment_events, the outbox) in event order, at least once, signed per Standard Webhooks.
--
-- Delivery state lives on the endpoint: `last_event_id` is the last event delivered (or skipped,
-- for a kind it does not want), so an endpoint never goes ahead of an event it has not had.
-- A server instance claims endpoints that are due through claim_webhook_endpoints(): one
-- statement across clinics that locks candidate rows FOR UPDATE SKIP LOCKED and stamps a lease
-- (lease_owner, lease_expires_at), so two instances never deliver to the same endpoint at once and
-- an instance killed mid-delivery loses nothing: its lease runs out and another instance (or the
-- restart) delivers the same event again (hence at least once). Only the lease holder advances
-- the cursor (the server's update names lease_owner).
--
-- Failures: `attempts` counts consecutive failures of the current event, `failing_since` is when
-- the first of them happened; the server sets next_attempt_at by exponential backoff with jitter
-- and disables the endpoint (state Disabled, with the reason) once it has failed for the retry
-- window (72 hours by default). A ClinicAdmin re-enables it and delivery resumes from the event
-- after last_event_id.
--
-- The delivery log (webhook_deliveries): one row per attempt. Rows are never changed; the server
-- prunes those older than the retention through prune_webhook_deliveries(), the only way a row
-- leaves (an audited Delete), for the transaction's clinic only.

create table webhook_endpoints (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  url text not null check (length(url) between 8 and 2000),
  description text not null default '' check (length(description) <= 500),
  event_kinds text[] not null
    check (cardinality(event_kinds) > 0
           and event_kinds <@ array['Booked', 'Rescheduled', 'StatusChanged', 'Cancelled']),
  -- Sealed under HPMS_API_KEY_ENCRYPTION_KEYS (purpose webhook_endpoints.secret), bound to the
  -- clinic and endpoint; the previous secret signs too until previous_secret_expires_at.
  secret_ciphertext bytea not null,
  previous_secret_ciphertext bytea,
  previous_secret_expires_at timestamptz,
  state text not null default 'Enabled' check (state in ('Enabled', 'Disabled')),
  disabled_reason text,
  disabled_at timestamptz,
  last_event_id bigint not null check (last_event_id >= 0),
  attempts integer not null default 0 check (attempts >= 0),
  failing_since timestamptz,
  next_attempt_at timestamptz not null default now(),
  lease_owner uuid,
  lease_expires_at timestamptz,
  created_by uuid,
  is_deleted boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, created_by) references users (tenant_id, id),
  check ((state = 'Disabled') = (disabled_at is not null)),
  check ((previous_secret_ciphertext is null) = (previous_secret_expires_at is null))
);
create index webhook_endpoints_due_idx on webhook_endpoints (tenant_id, next_attempt_at)
  where state = 'Enabled' and not is_deleted;

create table webhook_deliveries (
  tenant_id uuid not null references tenants (id),
  id bigint generated always as identity,
  endpoint_id uuid not null,
  event_id bigint not null,
  -- The Standard Webhooks message id, the same on every attempt of an event to an endpoint.
  webhook_id text not null,
  attempt integer not null check (attempt >= 1),
  attempted_at timestamptz not null default now(),
  -- The receiver's HTTP status; null when no answer came (refused, timed out).
  status_code integer,
  latency_ms integer not null check (latency_ms >= 0),
  succeeded boolean not null,
  error text check (length(error) <= 500),
  primary key (tenant_id, id),
  foreign key (tenant_id, endpoint_id) references webhook_endpoints (tenant_id, id)
);
create index webhook_deliveries_endpoint_idx on webhook_deliveries (tenant_id, endpoint_id, id desc);
create index webhook_deliveries_attempted_at_idx on webhook_deliveries (tenant_id, attempted_at);

select protect_tenant_table('webhook_endpoints');
select protect_tenant_table('webhook_deliveries');

-- The log is append-only, but for pruning: forbid_delete (from protect_tenant_table) stands
-- unless prune_webhook_deliveries() itself is deleting.
drop trigger forbid_delete on webhook_deliveries;
create trigger forbid_delete before delete on webhook_deliveries
  for each statement
  when (current_setting('app.pruning_webhook_deliveries', true) is distinct from 'on')
  execute function forbid_change();
create trigger append_only before update on webhook_deliveries
  for each statement execute function forbid_change();

grant select, insert, update on webhook_endpoints to hpms_app;
grant select, insert on webhook_deliveries to hpms_app;

-- What the two functions below need the owner (subject to forced RLS) to see: every clinic's
-- endpoints and latest event ids, for the claim; the delivery log, for pruning.
create policy webhook_dispatch on webhook_endpoints for all to current_user
  using (true) with check (true);
create policy webhook_dispatch on appointment_event_counters for select to current_user
  using (true);
create policy webhook_pruning on webhook_deliveries for all to current_user
  using (true) with check (true);

-- Claims up to `most` enabled endpoints that have an event they have not had and are due, for
-- `lease`; returns them. Rows another instance is claiming at the same moment are skipped.
create function claim_webhook_endpoints(worker uuid, lease interval, most integer)
returns table (tenant_id uuid, endpoint_id uuid)
language sql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
  update public.webhook_endpoints endpoint
     set lease_owner = worker, lease_expires_at = now() + lease
    from (select candidate.tenant_id, candidate.id
            from public.webhook_endpoints candidate
            join public.appointment_event_counters counter on counter.tenant_id = candidate.tenant_id
           where candidate.state = 'Enabled' and not candidate.is_deleted
             and candidate.next_attempt_at <= now()
             and counter.last_event_id > candidate.last_event_id
             and (candidate.lease_expires_at is null or candidate.lease_expires_at < now())
           order by candidate.next_attempt_at
           limit most
             for update of candidate skip locked) due
   where endpoint.tenant_id = due.tenant_id and endpoint.id = due.id
  returning endpoint.tenant_id, endpoint.id
$$;
revoke all on function claim_webhook_endpoints(uuid, interval, integer) from public;
grant execute on function claim_webhook_endpoints(uuid, interval, integer) to hpms_app;

-- Removes the delivery log rows of the transaction's clinic attempted before `older_than`; how
-- many. Like record_read(), it acts on the clinic set for the transaction and no other.
create function prune_webhook_deliveries(older_than timestamptz) returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  tenant constant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  pruned bigint;
begin
  if tenant is null then
    raise exception 'no clinic is set for this transaction' using errcode = 'insufficient_privilege';
  end if;
  perform set_config('app.pruning_webhook_deliveries', 'on', true);
  delete from public.webhook_deliveries
   where tenant_id = tenant and attempted_at < older_than;
  get diagnostics pruned = row_count;
  perform set_config('app.pruning_webhook_deliveries', '', true);
  return pruned;
end
$$;
revoke all on function prune_webhook_deliveries(timestamptz) from public;
grant execute on function prune_webhook_deliveries(timestamptz) to hpms_app;
