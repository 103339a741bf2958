-- Applied by migration m20261126_000002_api_core (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- PHI reads, with what was shown: a Read audit row names the sections of the record the user saw
-- (`{"shown": ["medical"]}` in new_values), so an auditor can tell a glance at a phone number from
-- a read of clinical notes. Replaces the foundation's record_read(entity, ids), which is dropped.

create function record_read(entity_name text, entity_ids uuid[], shown text[]) returns void
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
  insert into public.audit_logs (tenant_id, entity_name, entity_id, user_id, action, new_values)
  select tenant, record_read.entity_name, read_id::text,
         nullif(current_setting('app.user_id', true), '')::uuid, 'Read',
         jsonb_build_object('shown', to_jsonb(shown))
    from unnest(entity_ids) as read_id;
end
$$;

drop function record_read(text, uuid[]);
grant execute on function record_read(text, uuid[], text[]) to hpms_app;
