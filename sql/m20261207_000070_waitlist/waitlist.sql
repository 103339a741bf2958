-- Applied by migration m20261207_000070_waitlist (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- The waitlist (issue 17, item 5): patients waiting for an earlier slot with one provider (or any,
-- provider_id null), for one appointment type, inside [earliest, latest). Removing an entry, or
-- booking from it (booked_appointment_id), is a soft delete, so the audit trail keeps who waited
-- and for how long. Notes are the front desk's free text (no clinical content is asked for).

create table waitlist_entries (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  patient_id uuid not null,
  provider_id uuid,
  type_id uuid not null,
  earliest timestamptz not null,
  latest timestamptz not null,
  notes text not null default '' check (length(notes) <= 1000),
  created_by uuid default nullif(current_setting('app.user_id', true), '')::uuid,
  booked_appointment_id uuid,
  is_deleted boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, patient_id) references patients (tenant_id, id),
  foreign key (tenant_id, provider_id) references users (tenant_id, id),
  foreign key (tenant_id, type_id) references appointment_types (tenant_id, id),
  foreign key (tenant_id, created_by) references users (tenant_id, id),
  foreign key (tenant_id, booked_appointment_id) references appointments (tenant_id, id),
  check (latest > earliest),
  -- Booked from: then no longer waiting.
  check (booked_appointment_id is null or is_deleted)
);
-- The waitlist in the order it is offered: oldest first.
create index waitlist_entries_waiting_idx on waitlist_entries (tenant_id, created_at, id)
  where not is_deleted;

select protect_tenant_table('waitlist_entries');

grant select, insert, update (is_deleted, booked_appointment_id, updated_at)
  on waitlist_entries to hpms_app;
