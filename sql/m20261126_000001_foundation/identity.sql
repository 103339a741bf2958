-- Applied by migration m20261126_000001_foundation (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Identity: who may hold the SystemAdmin role. The tenants policy trusts app.role, which the
-- server takes from the user's role_id, so a clinic user given role_id 1 would become a platform
-- administrator. Hence: SystemAdmin accounts exist only in the platform tenant (tenants.is_platform,
-- at most one such tenant), and the platform tenant holds nothing but SystemAdmin accounts.

create function enforce_platform_roles() returns trigger
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
declare
  on_platform boolean;
begin
  select is_platform into on_platform from public.tenants where id = new.tenant_id;
  if (new.role_id = 1) is distinct from coalesce(on_platform, false) then
    raise exception 'SystemAdmin accounts belong to the platform tenant, and only they do'
      using errcode = 'check_violation', constraint = 'users_system_admin_only_on_platform';
  end if;
  return new;
end
$$;

create trigger enforce_platform_roles before insert or update of role_id, tenant_id on users
  for each row execute function enforce_platform_roles();
