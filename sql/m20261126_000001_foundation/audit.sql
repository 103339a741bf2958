-- Applied by migration m20261126_000001_foundation (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions). Replaced since:
-- record_read(entity_name, entity_ids) at the end of this file was dropped by
-- m20261126_000002_api_core, whose record_read(entity_name, entity_ids, shown) also says which
-- PHI sections were shown (sql/m20261126_000002_api_core/audit_reads.sql).
--
-- Audit: every INSERT, UPDATE and DELETE of every tenant table (and of tenants) leaves one row in
-- audit_logs, written by a trigger so that no code path can change data without a trace.
--
-- The trigger function is SECURITY DEFINER (it runs as the owner): the application role has no
-- INSERT on audit_logs, so it can neither forge nor skip audit rows. Reads of decrypted PHI are
-- recorded through record_read(), which can add Read rows for the current clinic and nothing else. Like every
-- function here that touches a table, it names the table with its schema and pins search_path
-- with pg_temp last: otherwise a session's temporary table of the same name would be found first. audit_logs is
-- append-only for everyone, owner included: UPDATE, DELETE and TRUNCATE are refused by triggers.
-- Secrets never reach a snapshot: password hashes and API key material are removed, encrypted
-- PHI is replaced by a marker (ciphertext is useless to an auditor and would outlive key rotation).

create function audit_snapshot(row_image jsonb) returns jsonb
language sql immutable as $$
  select case
           when row_image ? 'phi_data' and row_image ->> 'phi_data' is not null
             then jsonb_set(row_image - array['password_hash', 'secret_ciphertext'], '{phi_data}', '"[encrypted]"')
           else row_image - array['password_hash', 'secret_ciphertext']
         end
$$;

create function audit_row_change() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  old_values jsonb := case when tg_op in ('UPDATE', 'DELETE') then audit_snapshot(to_jsonb(old)) end;
  new_values jsonb := case when tg_op in ('INSERT', 'UPDATE') then audit_snapshot(to_jsonb(new)) end;
  subject jsonb := coalesce(new_values, old_values);
begin
  insert into public.audit_logs (tenant_id, entity_name, entity_id, user_id, action, old_values, new_values)
  values (
    -- tenants has no tenant_id: a clinic's own row is audited under the clinic.
    coalesce(subject ->> 'tenant_id', subject ->> 'id')::uuid,
    tg_table_name,
    -- Tables keyed by tenant alone (the event counters) are identified by the tenant.
    coalesce(subject ->> 'id', subject ->> 'tenant_id'),
    nullif(current_setting('app.user_id', true), '')::uuid,
    case
      when tg_op = 'INSERT' then 'Create'
      when tg_op = 'DELETE' then 'Delete'
      when not coalesce((old_values ->> 'is_deleted')::boolean, false)
           and coalesce((new_values ->> 'is_deleted')::boolean, false) then 'Delete'
      else 'Update'
    end,
    old_values,
    new_values);
  return null;
end
$$;

alter table audit_logs enable row level security;
alter table audit_logs force row level security;
-- The audit log is a ClinicAdmin's, and shows their clinic's rows only.
create policy tenant_isolation on audit_logs for select
  using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)
         and (select current_setting('app.role', true)) = 'ClinicAdmin');
-- Only the owner appends (audit_row_change() and record_read() run as the owner). It may write
-- under any clinic: a SystemAdmin onboarding a clinic is audited under that clinic, not its own.
create policy append_by_audit_trigger on audit_logs for insert to current_user
  with check (true);
create trigger append_only before update or delete on audit_logs
  for each statement execute function forbid_change();
create trigger forbid_truncate before truncate on audit_logs
  for each statement execute function forbid_change();

create trigger audit after insert or update or delete on tenants
  for each row execute function audit_row_change();

-- The server calls this with the ids of the rows whose PHI it decrypted for the current user.
-- (Dropped by m20261126_000002_api_core, which replaces it: see the top of this file.)
create function record_read(entity_name text, entity_ids uuid[]) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  tenant constant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
begin
  if tenant is null then
    raise exception 'no clinic is set for this transaction' using errcode = 'insufficient_privilege';
  end if;
  if to_regclass(format('public.%I', entity_name)) is null then
    raise exception 'unknown entity %', entity_name using errcode = 'invalid_parameter_value';
  end if;
  insert into public.audit_logs (tenant_id, entity_name, entity_id, user_id, action)
  select tenant, record_read.entity_name, read_id::text,
         nullif(current_setting('app.user_id', true), '')::uuid, 'Read'
    from unnest(entity_ids) as read_id;
end
$$;
