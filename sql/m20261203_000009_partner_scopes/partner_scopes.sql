-- Applied by migration m20261203_000009_partner_scopes (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Scopes for partners' API keys, least privilege (issue 16): besides the event feed
-- (AppointmentEvents), Appointments reads appointments and the provider and type each names, and
-- PatientContact reads the name and contact details of the patients of those appointments (what
-- a reminder service needs). No scope reads medical data; the server's ApiKeyScope says which
-- permissions each grants.
--
-- Every audit row now names the API key that acted (api_key_id, from app.api_key_id, which the
-- server sets for a key's transaction), beside the user: a key's PHI reads are audited as Read
-- rows naming the key, and so is every change it causes (its own last use, for one).

alter table tenant_api_keys drop constraint tenant_api_keys_scopes_known;
alter table tenant_api_keys add constraint tenant_api_keys_scopes_known
  check (cardinality(scopes) > 0
         and scopes <@ array['AppointmentEvents', 'Appointments', 'PatientContact']);

alter table audit_logs add column api_key_id uuid;
create index audit_logs_api_key_idx on audit_logs (tenant_id, api_key_id) where api_key_id is not null;

create or replace function audit_row_change() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  old_values jsonb := case when tg_op in ('UPDATE', 'DELETE') then audit_snapshot(to_jsonb(old)) end;
  new_values jsonb := case when tg_op in ('INSERT', 'UPDATE') then audit_snapshot(to_jsonb(new)) end;
  subject jsonb := coalesce(new_values, old_values);
begin
  insert into public.audit_logs
    (tenant_id, entity_name, entity_id, user_id, api_key_id, action, old_values, new_values)
  values (
    -- tenants has no tenant_id: a clinic's own row is audited under the clinic.
    coalesce(subject ->> 'tenant_id', subject ->> 'id')::uuid,
    tg_table_name,
    -- Tables keyed by tenant alone (the event counters) are identified by the tenant.
    coalesce(subject ->> 'id', subject ->> 'tenant_id'),
    nullif(current_setting('app.user_id', true), '')::uuid,
    nullif(current_setting('app.api_key_id', true), '')::uuid,
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

create or replace function record_read(entity_name text, entity_ids uuid[], shown text[]) returns void
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
  insert into public.audit_logs (tenant_id, entity_name, entity_id, user_id, api_key_id, action, new_values)
  select tenant, record_read.entity_name, read_id::text,
         nullif(current_setting('app.user_id', true), '')::uuid,
         nullif(current_setting('app.api_key_id', true), '')::uuid, 'Read',
         jsonb_build_object('shown', to_jsonb(shown))
    from unnest(entity_ids) as read_id;
end
$$;
