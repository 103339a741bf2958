-- Applied by migration m20261203_000052_care_team (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Minimum necessary (issue 20): a Provider reads the medical data of the patients in their care,
-- those they have an appointment with in a window around now (the server's setting) or are
-- assigned to here by a ClinicAdmin; for anyone else they break glass: a grant, with a reason,
-- for themselves and one patient, until expires_at. Grants are never changed or removed (an
-- early end would be a new kind of row), so the ClinicAdmin's review lists every one; the audit
-- trigger records each, reason included. The acting user of both is the transaction's own
-- (`app.user_id`), never a value the server passes.

create table care_assignments (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  patient_id uuid not null,
  provider_id uuid not null,
  assigned_by uuid default nullif(current_setting('app.user_id', true), '')::uuid,
  is_deleted boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, patient_id) references patients (tenant_id, id),
  foreign key (tenant_id, provider_id) references users (tenant_id, id),
  foreign key (tenant_id, assigned_by) references users (tenant_id, id)
);
-- One live assignment per provider and patient.
create unique index care_assignments_live_idx on care_assignments (tenant_id, patient_id, provider_id)
  where not is_deleted;

create table break_glass_grants (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  patient_id uuid not null,
  user_id uuid not null default nullif(current_setting('app.user_id', true), '')::uuid,
  reason text not null check (length(btrim(reason)) between 10 and 500),
  granted_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (tenant_id, id),
  foreign key (tenant_id, patient_id) references patients (tenant_id, id),
  foreign key (tenant_id, user_id) references users (tenant_id, id),
  check (expires_at > granted_at)
);
create index break_glass_grants_patient_idx on break_glass_grants (tenant_id, patient_id, user_id, expires_at);
create index break_glass_grants_granted_at_idx on break_glass_grants (tenant_id, granted_at desc);

select protect_tenant_table('care_assignments');
select protect_tenant_table('break_glass_grants');

create trigger append_only before update on break_glass_grants
  for each statement execute function forbid_change();

grant select, insert, update (is_deleted, updated_at) on care_assignments to hpms_app;
grant select, insert on break_glass_grants to hpms_app;
