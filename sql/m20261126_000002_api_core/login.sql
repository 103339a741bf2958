-- Applied by migration m20261126_000002_api_core (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Sign-in and onboarding: the two moments when the server acts before it knows a clinic.
--
-- login_account() is the one narrow path from "clinic slug or id + username" to an account: it
-- returns the password hash and identity of an active user of an active clinic, and nothing for
-- anyone else (the caller cannot tell which part was wrong, so it cannot enumerate accounts).
-- It runs as the owner, which is subject to forced RLS like everyone else, so the owner is given
-- read-only policies on tenants and users; the application role still sees only its own clinic.
--
-- onboard_clinic() is the only write across clinics: a SystemAdmin (app.role, set by the server
-- from a verified principal) creates a clinic and its first ClinicAdmin in one call. Because the
-- function creates the clinic itself, it cannot add an administrator to an existing clinic;
-- the owner's insert policy on users serves this function alone (the owner role is otherwise
-- used only by migrations).

-- A user's credential version goes up with every password change; tokens carry the version they
-- were issued under, so changing a password ends every session opened with the old one.
alter table users add column credential_version integer not null default 1;

create policy login_lookup on tenants for select to current_user using (true);
create policy login_lookup on users for select to current_user using (true);

create function login_account(clinic text, login_username text)
returns table (tenant_id uuid, user_id uuid, username text, role_id smallint, password_hash text,
               credential_version integer, created_at timestamptz)
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
  select u.tenant_id, u.id, u.username, u.role_id, u.password_hash, u.credential_version,
         u.created_at
  from public.tenants t
  join public.users u on u.tenant_id = t.id
  where (t.slug = lower(clinic) or t.id::text = lower(clinic))
    and t.is_active
    and u.username = lower(login_username)
    and u.is_active
    and not u.is_deleted
$$;

create policy onboarding on users for insert to current_user with check (true);

create function onboard_clinic(clinic_id uuid, clinic_name text, clinic_slug text,
                               admin_id uuid, admin_username text, admin_password_hash text)
returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
begin
  if current_setting('app.role', true) is distinct from 'SystemAdmin' then
    raise exception 'only a SystemAdmin onboards clinics' using errcode = 'insufficient_privilege';
  end if;
  insert into public.tenants (id, name, slug) values (clinic_id, clinic_name, clinic_slug);
  insert into public.users (tenant_id, id, username, password_hash, role_id)
  values (clinic_id, admin_id, admin_username, admin_password_hash, 2);
end
$$;

grant execute on function login_account(text, text) to hpms_app;
grant execute on function onboard_clinic(uuid, text, text, uuid, text, text) to hpms_app;
