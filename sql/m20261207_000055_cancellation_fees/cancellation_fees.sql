-- Applied by migration m20261207_000055_cancellation_fees (never edited: change the schema with a
-- new migration; schema.sql at the top of the repository has today's definitions).
--
-- Cancellation reasons and fees (issue 17, item 3). Each clinic keeps its own list of reasons (a
-- category and a label, retired rather than removed, since past cancellations name them); an
-- appointment cancelled for one of them records it. Each appointment type may have a policy: a
-- cancellation window in hours with a late-cancellation fee, and a no-show fee. A fee is billed
-- as an invoice of its own kind on the same ledger; the appointment's one invoice
-- (invoices_one_per_appointment) and the charge's idempotency key, one per appointment and kind
-- of fee, make a fee post once however often it is asked for.

create table cancellation_reasons (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  category text not null check (category in ('PatientRequest', 'ProviderUnavailable', 'ClinicClosed',
                                             'BookedInError', 'Other')),
  label text not null check (length(btrim(label)) between 1 and 100),
  retired_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
-- One live reason of a label per clinic.
create unique index cancellation_reasons_live_label_idx on cancellation_reasons (tenant_id, lower(label))
  where retired_at is null;

create table cancellation_policies (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  appointment_type_id uuid not null,
  window_hours integer not null check (window_hours between 0 and 720),
  late_cancellation_fee numeric(18, 2) not null check (late_cancellation_fee between 0 and 999999.99),
  no_show_fee numeric(18, 2) not null check (no_show_fee between 0 and 999999.99),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  -- One policy per appointment type: setting it again replaces it.
  constraint cancellation_policies_one_per_type unique (tenant_id, appointment_type_id),
  foreign key (tenant_id, appointment_type_id) references appointment_types (tenant_id, id)
);

alter table appointments
  add column cancel_reason_id uuid,
  add constraint appointments_cancel_reason_fkey foreign key (tenant_id, cancel_reason_id)
    references cancellation_reasons (tenant_id, id),
  add constraint appointments_cancel_reason_id_when_cancelled
    check (cancel_reason_id is null or status = 'Cancelled');

-- What an invoice bills: a completed visit, or a fee for a late cancellation or a no-show.
alter table invoices
  add column kind text not null default 'Visit'
    check (kind in ('Visit', 'LateCancellationFee', 'NoShowFee'));

select protect_tenant_table('cancellation_reasons');
select protect_tenant_table('cancellation_policies');

grant select, insert, update (retired_at, updated_at) on cancellation_reasons to hpms_app;
grant select, insert, update (window_hours, late_cancellation_fee, no_show_fee, updated_at)
  on cancellation_policies to hpms_app;
