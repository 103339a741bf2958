-- Applied by migration m20261203_000008_partner_events (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Events that say what happened (issue 16): each appointment_events row now names its kind
-- (Booked, Rescheduled, StatusChanged, Cancelled), the appointment's patient, type and times
-- (and the times before, for a reschedule), the cancellation's category and reason, and whether
-- a user, a partner's API key or the server itself acted. Still ids, times and statuses: no
-- names or contact details. A reschedule (a change of start or end) now records an event too.
--
-- Who acts: the server sets app.api_key_id (beside app.user_id) when a partner's key acts
-- (foundation::db::open); neither set is the server's own work.
--
-- Rows recorded before this migration are filled in from their appointment: the kind follows
-- from the statuses, patient and type never change, and the times are the appointment's times
-- as of this migration (reschedules recorded no event before it, so none is known).

-- Why an appointment was cancelled, as a category beside the free-text reason (null on
-- appointments cancelled before this migration, which recorded only the reason).
alter table appointments add column cancel_reason_category text
  constraint appointments_cancel_reason_category_known
    check (cancel_reason_category in ('PatientRequest', 'ProviderUnavailable', 'ClinicClosed',
                                      'BookedInError', 'Other'))
  constraint appointments_cancel_reason_category_when_cancelled
    check (cancel_reason_category is null or status = 'Cancelled');

alter table appointment_events
  add column kind text,
  add column patient_id uuid,
  add column type_id uuid,
  add column starts_at timestamptz,
  add column ends_at timestamptz,
  add column previous_starts_at timestamptz,
  add column previous_ends_at timestamptz,
  add column cancel_reason_category text,
  add column cancel_reason text,
  add column actor_kind text;

-- The back-fill runs as the owner, which forced row-level security and the append-only trigger
-- would stop; both are back in force before the migration commits. The audit trigger stays on:
-- each row filled in is audited as an Update.
alter table appointment_events no force row level security;
alter table appointment_events disable trigger append_only;
update appointment_events event
   set kind = case when event.old_status is null then 'Booked'
                   when event.new_status = 'Cancelled' then 'Cancelled'
                   else 'StatusChanged' end,
       patient_id = appointment.patient_id,
       type_id = appointment.type_id,
       starts_at = appointment.start_time,
       ends_at = appointment.end_time,
       cancel_reason = case when event.new_status = 'Cancelled' then appointment.cancel_reason end,
       actor_kind = 'User'
  from appointments appointment
 where appointment.tenant_id = event.tenant_id and appointment.id = event.appointment_id;
alter table appointment_events enable trigger append_only;
alter table appointment_events force row level security;

alter table appointment_events
  alter column kind set not null,
  alter column patient_id set not null,
  alter column type_id set not null,
  alter column starts_at set not null,
  alter column ends_at set not null,
  alter column actor_kind set not null,
  add constraint appointment_events_kind_known
    check (kind in ('Booked', 'Rescheduled', 'StatusChanged', 'Cancelled')),
  add constraint appointment_events_actor_kind_known
    check (actor_kind in ('User', 'ApiKey', 'System')),
  add constraint appointment_events_previous_times_of_reschedule
    check ((kind = 'Rescheduled') = (previous_starts_at is not null and previous_ends_at is not null)),
  add constraint appointment_events_cancel_reason_of_cancellation
    check (kind = 'Cancelled' or (cancel_reason is null and cancel_reason_category is null)),
  add constraint appointment_events_patient_fkey
    foreign key (tenant_id, patient_id) references patients (tenant_id, id),
  add constraint appointment_events_type_fkey
    foreign key (tenant_id, type_id) references appointment_types (tenant_id, id);

create or replace function record_appointment_event() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  event_id bigint;
  event_kind text;
begin
  event_kind := case
    when tg_op = 'INSERT' then 'Booked'
    when old.status is distinct from new.status and new.status = 'Cancelled' then 'Cancelled'
    when old.status is distinct from new.status then 'StatusChanged'
    else 'Rescheduled'
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
          case
            when nullif(current_setting('app.user_id', true), '') is not null then 'User'
            when nullif(current_setting('app.api_key_id', true), '') is not null then 'ApiKey'
            else 'System'
          end);

  perform pg_notify('appointment_events', new.tenant_id::text || ':' || event_id::text);
  return null;
end
$$;

-- A status change and a move each record one event (a single update doing both is recorded as
-- the status change, with the new times).
drop trigger record_event_on_status_change on appointments;
create trigger record_event_on_change after update of status, start_time, end_time on appointments
  for each row
  when ((old.status, old.start_time, old.end_time) is distinct from (new.status, new.start_time, new.end_time))
  execute function record_appointment_event();
