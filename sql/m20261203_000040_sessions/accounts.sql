-- Applied by migration m20261203_000040_sessions (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Accounts (issue 20): a password an administrator set must be changed at the next sign-in; a
-- clinic's suspension is remembered, so sessions opened before it stay dead after reactivation; a
-- SystemAdmin can give a clinic a working ClinicAdmin again (when its last one is locked out or
-- deactivated) without SQL.

alter table users add column password_change_required boolean not null default false;

alter table tenants add column suspended_at timestamptz;
-- A trigger on the row itself, not on another table: tenants is a reference table on Citus,
-- whose triggers must not write distributed tables.
create function note_suspension() returns trigger
language plpgsql as $$
begin
  if old.is_active and not new.is_active then
    new.suspended_at := now();
  end if;
  return new;
end
$$;
create trigger note_suspension before update of is_active on tenants
  for each row execute function note_suspension();

-- The sign-in lookup, with what sign-in now needs besides login_account()'s columns: whether the
-- password must be changed, and the clinic's id even when no such user exists (failed sign-ins
-- are audited in the clinic they named). No row for an unknown or suspended clinic.
create function sign_in_account(clinic text, login_username text)
returns table (tenant_id uuid, user_id uuid, username text, role_id smallint, password_hash text,
               credential_version integer, created_at timestamptz,
               password_change_required boolean)
language plpgsql stable security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  clinic_id uuid;
begin
  select t.id into clinic_id
    from public.tenants t
   where (t.slug = lower(clinic) or t.id::text = lower(clinic)) and t.is_active;
  if clinic_id is null then
    return;
  end if;
  -- Two statements rather than an outer join: each is one Citus can route (the clinic is a
  -- reference table, its user on one shard). No such user leaves the user's columns null.
  tenant_id := clinic_id;
  select u.id, u.username, u.role_id, u.password_hash, u.credential_version, u.created_at,
         u.password_change_required
    into user_id, username, role_id, password_hash, credential_version, created_at,
         password_change_required
    from public.users u
   where u.tenant_id = clinic_id
     and u.username = lower(login_username)
     and u.is_active
     and not u.is_deleted;
  return next;
end
$$;
revoke all on function sign_in_account(text, text) from public;
grant execute on function sign_in_account(text, text) to hpms_app;
-- Replaced by sign_in_account(); the server no longer calls it.
drop function login_account(text, text);

-- A SystemAdmin's way back into a clinic: the clinic's user `admin_username` becomes an active
-- ClinicAdmin with the given password, to be changed at sign-in (their other sessions end with
-- the credential version); with no such user, a new ClinicAdmin is created. Returns the user's id.
-- The owner's update policy serves this function alone, as onboarding's insert policy does
-- onboard_clinic() (sql/m20261126_000002_api_core/login.sql).
create policy clinic_admin_reset on users for update to current_user using (true) with check (true);
create function reset_clinic_admin(clinic_id uuid, admin_id uuid, admin_username text,
                                   admin_password_hash text)
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
  return reset_id;
end
$$;
revoke all on function reset_clinic_admin(uuid, uuid, text, text) from public;
grant execute on function reset_clinic_admin(uuid, uuid, text, text) to hpms_app;
