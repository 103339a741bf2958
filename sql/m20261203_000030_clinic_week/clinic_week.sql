-- Applied by migration m20261203_000030_clinic_week (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- The clinic's week (issue 17): time off and closures, one-day changes to a provider's hours,
-- recurring series, and what a ClinicAdmin's override of them records on an appointment.
--
-- time_off: a provider's time off (provider_id set) or a closure of the whole clinic
-- (provider_id null), as instants [starts_at, ends_at): whole days are turned into instants on
-- the clinic's wall clock by the server, so a closure on a daylight-saving day is 23 or 25 hours.
-- Removing one is a soft delete, kept in the audit trail.
--
-- provider_day_hours: the hours a provider works on one date instead of the weekly hours of its
-- weekday (extra hours on a Saturday, a shorter Friday; an empty list is a day off). `periods` is
-- users.working_hours' stored format (identity::working_hours::StoredWeek), every period on that
-- date's weekday. One live row per provider and date.
--
-- appointment_series: what bookSeries was asked for; each occurrence is an ordinary appointment
-- naming it (appointments.series_id), so the exclusion constraint refuses a clashing occurrence
-- exactly as it refuses any other booking. Never changed or deleted.
--
-- appointments.booked_over_time_off, booked_in_the_past and override_reason: a ClinicAdmin's
-- booking into time off or a closure, or before now, and the reason given for it; the audit
-- trigger records them with the acting user.

create table time_off (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  provider_id uuid,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  reason text not null check (length(btrim(reason)) between 1 and 200),
  created_by uuid,
  is_deleted boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, provider_id) references users (tenant_id, id),
  foreign key (tenant_id, created_by) references users (tenant_id, id),
  check (ends_at > starts_at)
);
create index time_off_provider_idx on time_off (tenant_id, provider_id, starts_at) where not is_deleted;

create table provider_day_hours (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  provider_id uuid not null,
  day date not null,
  periods jsonb not null check (jsonb_typeof(periods) = 'array'),
  is_deleted boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, provider_id) references users (tenant_id, id)
);
create unique index provider_day_hours_one_per_day on provider_day_hours (tenant_id, provider_id, day)
  where not is_deleted;

create table appointment_series (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  patient_id uuid not null,
  provider_id uuid not null,
  type_id uuid not null,
  first_start timestamptz not null,
  every_weeks integer not null check (every_weeks between 1 and 52),
  weekdays text[] not null check (cardinality(weekdays) between 1 and 7),
  occurrences integer not null check (occurrences between 1 and 52),
  created_by uuid,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, patient_id) references patients (tenant_id, id),
  foreign key (tenant_id, provider_id) references users (tenant_id, id),
  foreign key (tenant_id, type_id) references appointment_types (tenant_id, id),
  foreign key (tenant_id, created_by) references users (tenant_id, id)
);

alter table appointments
  add column series_id uuid,
  add column booked_over_time_off boolean not null default false,
  add column booked_in_the_past boolean not null default false,
  add column override_reason text check (length(btrim(override_reason)) between 1 and 500),
  add constraint appointments_series_fkey foreign key (tenant_id, series_id)
    references appointment_series (tenant_id, id),
  add constraint appointments_override_has_reason
    check (not (booked_over_time_off or booked_in_the_past) or override_reason is not null);
create index appointments_series_idx on appointments (tenant_id, series_id, start_time)
  where series_id is not null;

select protect_tenant_table('time_off');
select protect_tenant_table('provider_day_hours');
select protect_tenant_table('appointment_series');

grant select, insert, update on time_off, provider_day_hours to hpms_app;
grant select, insert on appointment_series to hpms_app;
