-- Applied by migration m20261207_000070_waitlist (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- A freed slot for partners (kind SlotFreed): when a cancellation or a reschedule frees times
-- that a live waitlist entry fits, the feed gets, after the Cancelled or Rescheduled event, one
-- SlotFreed event with the freed times, the provider, the type and the appointment that freed it,
-- and no patient (patient_id null), so a reminder partner can text the waiting patients without
-- learning whose visit went. "Fits" is the rule `waitlistMatches` applies (store::waitlist_matches):
-- live, the provider or any, a type no longer than the slot, a window containing it; and the slot
-- is not in the provider's time off or a clinic closure (a cancellation because the provider is
-- away frees nothing). No one waiting, no SlotFreed: the event is for the waitlist, not a second
-- copy of every cancellation.

alter table appointment_events alter column patient_id drop not null;
alter table appointment_events
  add constraint appointment_events_patient_unless_slot_freed
  check ((kind = 'SlotFreed') = (patient_id is null));
alter table appointment_events drop constraint appointment_events_kind_known;
alter table appointment_events
  add constraint appointment_events_kind_known
  check (kind in ('Booked', 'Rescheduled', 'StatusChanged', 'Cancelled', 'SlotFreed'));

alter table webhook_endpoints drop constraint webhook_endpoints_event_kinds_check;
alter table webhook_endpoints
  add constraint webhook_endpoints_event_kinds_check
  check (cardinality(event_kinds) > 0
         and event_kinds <@ array['Booked', 'Rescheduled', 'StatusChanged', 'Cancelled',
                                  'SlotFreed']);

create or replace function record_appointment_event() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public, pg_temp
as $$
declare
  event_id bigint;
  event_kind text;
  actor text;
begin
  event_kind := case
    when tg_op = 'INSERT' then 'Booked'
    when old.status is distinct from new.status and new.status = 'Cancelled' then 'Cancelled'
    when old.status is distinct from new.status then 'StatusChanged'
    else 'Rescheduled'
  end;
  actor := case
    when nullif(current_setting('app.user_id', true), '') is not null then 'User'
    when nullif(current_setting('app.api_key_id', true), '') is not null then 'ApiKey'
    else 'System'
  end;

  insert into public.appointment_event_counters as counter (tenant_id, last_event_id)
  values (new.tenant_id, 1)
  on conflict (tenant_id) do update set last_event_id = counter.last_event_id + 1
  returning counter.last_event_id into event_id;

  insert into public.appointment_events
    (tenant_id, id, appointment_id, provider_id, old_status, new_status, kind, patient_id, type_id,
     starts_at, ends_at, previous_starts_at, previous_ends_at, cancel_reason_category,
     cancel_reason, actor_kind)
  values (new.tenant_id, event_id, new.id, new.provider_id,
          case when tg_op = 'UPDATE' then old.status end, new.status, event_kind,
          new.patient_id, new.type_id, new.start_time, new.end_time,
          case when event_kind = 'Rescheduled' then old.start_time end,
          case when event_kind = 'Rescheduled' then old.end_time end,
          case when event_kind = 'Cancelled' then new.cancel_reason_category end,
          case when event_kind = 'Cancelled' then new.cancel_reason end,
          actor);

  perform pg_notify('appointment_events', new.tenant_id::text || ':' || event_id::text);

  if event_kind in ('Cancelled', 'Rescheduled')
     and exists (
       select 1
         from public.waitlist_entries entry
         join public.appointment_types kind
           on kind.tenant_id = entry.tenant_id and kind.id = entry.type_id
        where entry.tenant_id = new.tenant_id
          and not entry.is_deleted
          and (entry.provider_id is null or entry.provider_id = old.provider_id)
          and entry.earliest <= old.start_time
          and entry.latest >= old.end_time
          and kind.duration_minutes * interval '1 minute' <= old.end_time - old.start_time)
     and not exists (
       select 1
         from public.time_off away
        where away.tenant_id = new.tenant_id
          and not away.is_deleted
          and (away.provider_id is null or away.provider_id = old.provider_id)
          and away.starts_at < old.end_time
          and away.ends_at > old.start_time)
  then
    insert into public.appointment_event_counters as counter (tenant_id, last_event_id)
    values (new.tenant_id, 1)
    on conflict (tenant_id) do update set last_event_id = counter.last_event_id + 1
    returning counter.last_event_id into event_id;

    insert into public.appointment_events
      (tenant_id, id, appointment_id, provider_id, old_status, new_status, kind, patient_id,
       type_id, starts_at, ends_at, actor_kind)
    values (new.tenant_id, event_id, new.id, old.provider_id, null, new.status, 'SlotFreed',
            null, old.type_id, old.start_time, old.end_time, actor);

    perform pg_notify('appointment_events', new.tenant_id::text || ':' || event_id::text);
  end if;
  return null;
end
$$;
