-- Applied by migration m20261203_000051_phi_history (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- PHI history (issue 20): every change to a patient's contact or medical data keeps the version
-- it replaced. The server writes a row here in the transaction of the change
-- (patients/history.rs): the superseded ciphertext exactly as it was stored (sealed under the PHI
-- keys, bound to the clinic and the patient, so it opens as the patient's and nowhere else), its
-- version number (1 for the document the patient was registered with), and the sections the
-- change replaced. Rows are never changed or removed: UPDATE, DELETE and TRUNCATE are refused for
-- everyone. The audit trigger records each row's creation with the changed sections and the
-- acting user (the ciphertext masked, as for patients).

create table patient_phi_versions (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  patient_id uuid not null,
  version integer not null check (version >= 1),
  phi_data bytea,
  changed_sections text[] not null
    check (cardinality(changed_sections) > 0 and changed_sections <@ array['contact', 'medical']),
  -- Who replaced it: the transaction's user, never a value the server passes.
  superseded_by uuid default nullif(current_setting('app.user_id', true), '')::uuid,
  superseded_at timestamptz not null default now(),
  primary key (tenant_id, id),
  -- Two changes of one patient from the same version: the second is refused (CONFLICT).
  constraint patient_phi_versions_one_per_version unique (tenant_id, patient_id, version),
  foreign key (tenant_id, patient_id) references patients (tenant_id, id),
  foreign key (tenant_id, superseded_by) references users (tenant_id, id)
);

select protect_tenant_table('patient_phi_versions');

create trigger append_only before update on patient_phi_versions
  for each statement execute function forbid_change();

grant select, insert on patient_phi_versions to hpms_app;
