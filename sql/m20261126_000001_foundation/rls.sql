-- Applied by migration m20261126_000001_foundation (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Tenant isolation: row-level security, soft delete, and protect_tenant_table(), the one helper
-- every tenant table goes through (migration/src/tenant_table.rs calls it; audit_logs, the audit
-- trail itself, is protected by audit.sql beside this file), so that none can be half-protected.
-- tests/integration/schema_catalog.rs walks the catalog to prove it.
--
-- The policy is keyed on the transaction-local setting app.tenant_id, set by the server before
-- any other statement of a request (its begin_tenant_transaction()). It fails closed: with no
-- setting, nullif(..., '') is NULL, `tenant_id = NULL` is never true, and a query sees no rows.
-- FORCE makes the owner obey the policies too; only superusers bypass them.

-- Refuses the triggering statement. Used wherever rows must never change or disappear, always as a
-- statement-level trigger: it fires even when RLS or a WHERE clause leaves no row to touch, so an
-- attempt is an error rather than a silent no-op.
create function forbid_change() returns trigger
language plpgsql as $$
begin
  raise exception '% on % is not allowed: its rows are never changed or removed', tg_op, tg_table_name
    using errcode = 'insufficient_privilege',
          hint = 'Record a correction as a new row instead.';
end
$$;

-- Turns a DELETE into `is_deleted = true`: no row of a tenant table is ever physically removed.
-- The UPDATE it runs is what the audit trigger records (as a Delete).
create function soft_delete_row() returns trigger
language plpgsql as $$
begin
  execute format('update %I.%I set is_deleted = true where tenant_id = $1 and id = $2 and not is_deleted',
                 tg_table_schema, tg_table_name)
    using old.tenant_id, old.id;
  return null;
end
$$;

create function protect_tenant_table(target regclass) returns void
language plpgsql as $$
declare
  tenant_filter constant text := $f$tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)$f$;
  soft_deletable boolean;
begin
  select exists (select from pg_attribute
                 where attrelid = target and attname = 'is_deleted' and not attisdropped)
    into soft_deletable;

  execute format('alter table %s enable row level security', target);
  execute format('alter table %s force row level security', target);
  execute format('create policy tenant_isolation on %s using (%s) with check (%s)',
                 target, tenant_filter, tenant_filter);

  execute format('create trigger audit after insert or update or delete on %s '
                 'for each row execute function audit_row_change()', target);
  execute format('create trigger forbid_truncate before truncate on %s '
                 'for each statement execute function forbid_change()', target);
  if soft_deletable then
    execute format('create trigger soft_delete before delete on %s '
                   'for each row execute function soft_delete_row()', target);
    -- The seed's TenantId + IsDeleted index: every API list reads live rows of one clinic.
    execute format('create index on %s (tenant_id, is_deleted)', target);
  else
    execute format('create trigger forbid_delete before delete on %s '
                   'for each statement execute function forbid_change()', target);
  end if;
end
$$;

-- tenants is global (it has no tenant_id: its id is the tenant): every user reads their own
-- clinic's row; only the platform's SystemAdmin sees all of them and onboards, renames or
-- deactivates clinics (so a deactivated clinic cannot reactivate itself). app.role is set by the
-- server from the authenticated principal, in the same statement as app.tenant_id; who may hold
-- the SystemAdmin role is guarded by identity.sql beside this file.
alter table tenants enable row level security;
alter table tenants force row level security;
create policy own_clinic on tenants for select
  using (id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));
create policy platform_admin on tenants
  using ((select current_setting('app.role', true)) = 'SystemAdmin')
  with check ((select current_setting('app.role', true)) = 'SystemAdmin');
create trigger forbid_delete before delete on tenants
  for each statement execute function forbid_change();
create trigger forbid_truncate before truncate on tenants
  for each statement execute function forbid_change();
