-- Applied by migration m20261207_000060_mfa (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Two-factor sign-in (issue 20): a user's TOTP factor (RFC 6238), its one-time recovery codes,
-- and each clinic's policy of who must have one.
--
-- The TOTP secret is sealed by the server (AES-256-GCM under keys from configuration, bound to
-- the clinic and the factor's id), so the database and its backups never hold it in clear; the
-- audit trigger leaves `secret_ciphertext` out of its rows as it does for every secret. A factor
-- is pending until the user proves their authenticator with a code (`confirmed_at`); removing it
-- soft-deletes it, so the audit trail keeps every enrolment. `last_used_step` is the RFC 6238
-- time step of the last code accepted: a code is accepted once (RFC 6238 section 5.2).
--
-- Recovery codes are random (80 bits each) and stored as their SHA-256 only; each opens one
-- sign-in (`used_at`). They belong to one factor and die with it.
--
-- A clinic without a row in mfa_policies (or with 'Nobody') leaves two-factor sign-in to each
-- user.

create table mfa_factors (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  user_id uuid not null,
  secret_ciphertext bytea not null,
  confirmed_at timestamptz,
  last_used_step bigint not null default 0 check (last_used_step >= 0),
  is_deleted boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, user_id) references users (tenant_id, id)
);
-- One live factor (pending or confirmed) per user.
create unique index mfa_factors_live_idx on mfa_factors (tenant_id, user_id) where not is_deleted;

create table mfa_recovery_codes (
  tenant_id uuid not null references tenants (id),
  id uuid not null default gen_random_uuid(),
  factor_id uuid not null,
  code_hash bytea not null check (length(code_hash) = 32),
  used_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, factor_id) references mfa_factors (tenant_id, id),
  unique (tenant_id, factor_id, code_hash)
);

create table mfa_policies (
  tenant_id uuid not null references tenants (id),
  -- Nobody: each user decides; PrivilegedRoles: ClinicAdmin and Provider (who manage the clinic
  -- and reach medical data); Everyone: every user of the clinic.
  required_for text not null check (required_for in ('Nobody', 'PrivilegedRoles', 'Everyone')),
  updated_at timestamptz not null default now(),
  primary key (tenant_id)
);

select protect_tenant_table('mfa_factors');
select protect_tenant_table('mfa_recovery_codes');
select protect_tenant_table('mfa_policies');

grant select, insert, update (confirmed_at, last_used_step, is_deleted, updated_at) on mfa_factors to hpms_app;
grant select, insert, update (used_at) on mfa_recovery_codes to hpms_app;
grant select, insert, update (required_for, updated_at) on mfa_policies to hpms_app;
