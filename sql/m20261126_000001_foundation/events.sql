-- Applied by migration m20261126_000001_foundation (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Events: the outbox partners subscribe to. Every appointment status change (and every new
-- booking, as old_status NULL → Scheduled) writes one appointment_events row and a NOTIFY in the
-- same transaction, so an event exists if and only if the change committed. Events carry ids
-- and statuses only, never PHI.
--
-- Ordering: each clinic's events are numbered 1, 2, 3, … from a per-clinic counter row that the
-- trigger updates. The row lock is held until commit, so within a clinic a later number always
-- commits after an earlier one: a reader resuming from "id > last seen" can never skip an event
-- that committed late (a plain sequence hands out numbers in call order, not commit order).
-- The cost is that status changes of one clinic serialise from the trigger to commit.
--
-- NOTIFY is only a wake-up (channel appointment_events, payload "<tenant_id>:<event id>");
-- listeners read the rows themselves, under RLS.

create function record_appointment_event() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  event_id bigint;
begin
  insert into public.appointment_event_counters as counter (tenant_id, last_event_id)
  values (new.tenant_id, 1)
  on conflict (tenant_id) do update set last_event_id = counter.last_event_id + 1
  returning counter.last_event_id into event_id;

  insert into public.appointment_events (tenant_id, id, appointment_id, provider_id, old_status, new_status)
  values (new.tenant_id, event_id, new.id, new.provider_id,
          case when tg_op = 'UPDATE' then old.status end, new.status);

  perform pg_notify('appointment_events', new.tenant_id::text || ':' || event_id::text);
  return null;
end
$$;

create trigger record_event_on_booking after insert on appointments
  for each row execute function record_appointment_event();
create trigger record_event_on_status_change after update of status on appointments
  for each row when (old.status is distinct from new.status)
  execute function record_appointment_event();

create trigger append_only before update on appointment_events
  for each statement execute function forbid_change();
