-- Applied by migration m20261126_000001_foundation (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Scheduling: the rules PostgreSQL enforces on appointments whatever the caller.
--
--   * No double-booking: a provider's active appointments never overlap. Ranges are half-open
--     [start, end), so back-to-back slots are fine; Cancelled, NoShow and deleted appointments
--     free their slot. A violation raises SQLSTATE 23P01 (exclusion_violation), which the API
--     maps to CONFLICT.
--   * Optimistic concurrency: row_version goes up by one on every update, whatever the UPDATE
--     said; writers send the version they read and update `where row_version = $expected`.
--   * The status state machine: appointments are booked Scheduled, then
--       Scheduled → Arrived → InSession → Completed;  Scheduled|Arrived → NoShow;  Scheduled → Cancelled.
--     Anything else is a check_violation on constraint appointment_status_transition.

alter table appointments add constraint appointments_no_double_booking
  exclude using gist (tenant_id with =, provider_id with =, tstzrange(start_time, end_time) with &&)
  where (status not in ('Cancelled', 'NoShow') and not is_deleted);

create function bump_row_version() returns trigger
language plpgsql as $$
begin
  new.row_version := old.row_version + 1;
  return new;
end
$$;

create trigger bump_row_version before update on appointments
  for each row execute function bump_row_version();

create function appointment_status_transition_allowed(from_status text, to_status text) returns boolean
language sql immutable as $$
  select (from_status, to_status) in (
    ('Scheduled', 'Arrived'), ('Arrived', 'InSession'), ('InSession', 'Completed'),
    ('Scheduled', 'NoShow'), ('Arrived', 'NoShow'),
    ('Scheduled', 'Cancelled'))
$$;

create function enforce_appointment_status() returns trigger
language plpgsql as $$
begin
  if tg_op = 'INSERT' and new.status <> 'Scheduled' then
    raise exception 'a new appointment must be Scheduled, not %', new.status
      using errcode = 'check_violation', constraint = 'appointment_status_transition';
  end if;
  if tg_op = 'UPDATE' and not appointment_status_transition_allowed(old.status, new.status) then
    raise exception 'appointment status cannot change from % to %', old.status, new.status
      using errcode = 'check_violation', constraint = 'appointment_status_transition';
  end if;
  return new;
end
$$;

create trigger enforce_status_on_insert before insert on appointments
  for each row execute function enforce_appointment_status();
create trigger enforce_status_on_change before update of status on appointments
  for each row when (old.status is distinct from new.status)
  execute function enforce_appointment_status();
