-- Applied by migration m20261203_000054_clinic_admin_reset_in_the_clinic (never edited: change
-- the schema with a new migration; schema.sql at the top of the repository has today's
-- definitions).
--
-- A SystemAdmin's reset of a clinic's ClinicAdmin is recorded in the clinic's own trail, as
-- onboarding is, by the function that makes the change, rather than in the platform's. On Citus
-- the platform's rows and the clinic's live on different workers: one transaction writing both
-- commits in two phases, and PostgreSQL refuses to prepare the clinic's part, which has sent the
-- notice that ends the reset user's sessions. The row names the SystemAdmin (app.user_id), and
-- carries the role, client address and request id as every security event does.

drop function reset_clinic_admin(uuid, uuid, text, text);

create function reset_clinic_admin(clinic_id uuid, admin_id uuid, admin_username text,
                                   admin_password_hash text, client_address text,
                                   request_id text)
returns uuid
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  reset_id uuid;
begin
  if current_setting('app.role', true) is distinct from 'SystemAdmin' then
    raise exception 'only a SystemAdmin resets a clinic''s ClinicAdmin'
      using errcode = 'insufficient_privilege';
  end if;
  if not exists (select from public.tenants where id = clinic_id and not is_platform) then
    return null;
  end if;
  update public.users
     set role_id = 2, is_active = true, password_hash = admin_password_hash,
         credential_version = credential_version + 1, password_change_required = true,
         updated_at = now()
   where tenant_id = clinic_id and username = admin_username and not is_deleted
  returning id into reset_id;
  if reset_id is null then
    insert into public.users (tenant_id, id, username, password_hash, role_id,
                              password_change_required)
    values (clinic_id, admin_id, admin_username, admin_password_hash, 2, true);
    reset_id := admin_id;
  end if;
  insert into public.audit_logs (tenant_id, entity_name, entity_id, user_id, action, new_values)
  values (clinic_id, 'users', reset_id::text,
          nullif(current_setting('app.user_id', true), '')::uuid, 'ClinicAdminReset',
          jsonb_build_object('role', 'SystemAdmin', 'client_address', client_address,
                             'request_id', request_id, 'clinic_id', clinic_id,
                             'user_id', reset_id, 'username', admin_username));
  return reset_id;
end
$$;
revoke all on function reset_clinic_admin(uuid, uuid, text, text, text, text) from public;
grant execute on function reset_clinic_admin(uuid, uuid, text, text, text, text) to hpms_app;
