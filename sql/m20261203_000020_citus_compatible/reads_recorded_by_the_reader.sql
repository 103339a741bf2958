-- The audit of PHI reads, written by the reading role itself under a policy that lets it add
-- nothing but that: Read rows of its own clinic, as its own user or key.
--
-- record_read() ran as the owner (SECURITY DEFINER) and inserted with INSERT … SELECT from
-- unnest(). On Citus both fail once the request has written anything: the owner's insert goes
-- over a second connection to a placement the application role has already modified in the
-- transaction ("cannot perform query on placements that were modified in this transaction by a
-- different user"), and an INSERT … SELECT not from a distributed table becomes a COPY into the
-- shard, which PostgreSQL refuses under row-level security. Now the function runs as its caller
-- and inserts row by row, each a plain single-shard INSERT. What the application role may insert
-- into audit_logs is exactly what record_read() could add before; Create, Update and Delete rows
-- remain the triggers' alone.

grant insert on audit_logs to hpms_app;

-- No sub-select, so the same policy serves Citus (sql/citus/policies.sql): the rows are few, and
-- current_setting() is cheap.
create policy reads_by_the_reader on audit_logs for insert to hpms_app
  with check (
    action = 'Read'
    and old_values is null
    and tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
    and user_id is not distinct from nullif(current_setting('app.user_id', true), '')::uuid
    and api_key_id is not distinct from nullif(current_setting('app.api_key_id', true), '')::uuid);

create or replace function record_read(entity_name text, entity_ids uuid[], shown text[])
returns void
language plpgsql security invoker set search_path = pg_catalog, public, pg_temp as $$
declare
  tenant constant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  read_id uuid;
begin
  if tenant is null then
    raise exception 'no clinic is set for this transaction' using errcode = 'insufficient_privilege';
  end if;
  if to_regclass(format('public.%I', entity_name)) is null then
    raise exception 'unknown entity %', entity_name using errcode = 'invalid_parameter_value';
  end if;
  foreach read_id in array entity_ids loop
    insert into public.audit_logs
      (tenant_id, entity_name, entity_id, user_id, api_key_id, action, new_values)
    values (tenant, record_read.entity_name, read_id::text,
            nullif(current_setting('app.user_id', true), '')::uuid,
            nullif(current_setting('app.api_key_id', true), '')::uuid, 'Read',
            jsonb_build_object('shown', to_jsonb(shown)));
  end loop;
end
$$;
