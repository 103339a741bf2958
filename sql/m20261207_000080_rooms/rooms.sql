-- Applied by migration m20261207_000080_rooms (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Rooms and equipment (issue 17, item 4). A clinic's rooms each have a name and, optionally, a
-- kind ("Exam", "X-ray", "Treatment"): what an appointment type can require. An appointment may
-- hold a room; the database refuses a room's double-booking exactly as it refuses a provider's,
-- with an exclusion constraint over the same half-open ranges and the same statuses that hold a
-- slot, so no caller, however concurrent, can put two visits in one room at once. A removed room
-- is soft-deleted: the appointments that were in it still name it.

create table rooms (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  name text not null check (length(btrim(name)) between 1 and 100),
  kind text check (kind is null or length(btrim(kind)) between 1 and 50),
  is_deleted boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
-- One live room of a name per clinic, whatever the case.
create unique index rooms_live_name_idx on rooms (tenant_id, lower(name)) where not is_deleted;

select protect_tenant_table('rooms');

grant select, insert, update (name, kind, is_deleted, updated_at) on rooms to hpms_app;

-- The kind of room a visit of this type needs; null: no room is needed.
alter table appointment_types
  add column room_kind text check (room_kind is null or length(btrim(room_kind)) between 1 and 50);

alter table appointments
  add column room_id uuid,
  add constraint appointments_room_fkey foreign key (tenant_id, room_id)
    references rooms (tenant_id, id);

-- A room's active appointments never overlap; a violation is SQLSTATE 23P01, as for providers.
alter table appointments add constraint appointments_no_room_double_booking
  exclude using gist (tenant_id with =, room_id with =, tstzrange(start_time, end_time) with &&)
  where (room_id is not null and status not in ('Cancelled', 'NoShow') and not is_deleted);
