-- Sign-in and onboarding: the two moments when the server acts before it knows a clinic.
--
-- login_account() is the one narrow path from "clinic slug or id + username" to an account: it
-- returns the password hash and identity of an active user of an active clinic, and nothing for
-- anyone else (the caller cannot tell which part was wrong, so it cannot enumerate accounts).
-- It runs as the owner, which is subject to forced RLS like everyone else, so the owner is given
-- read-only policies on tenants and users; the application role still sees only its own clinic.
--
-- Onboarding: a SystemAdmin (app.role, set by the server from a verified principal) may create a
-- clinic's first ClinicAdmin in that new clinic. That is the only cross-clinic write there is,
-- and the policy allows nothing else: no other role, no other kind of user, no reads.

create policy login_lookup on tenants for select to current_user using (true);
create policy login_lookup on users for select to current_user using (true);

create function login_account(clinic text, login_username text)
returns table (tenant_id uuid, user_id uuid, username text, role_id smallint, password_hash text,
               created_at timestamptz)
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
  select u.tenant_id, u.id, u.username, u.role_id, u.password_hash, u.created_at
  from public.tenants t
  join public.users u on u.tenant_id = t.id
  where (t.slug = lower(clinic) or t.id::text = lower(clinic))
    and t.is_active
    and u.username = lower(login_username)
    and u.is_active
    and not u.is_deleted
$$;

create policy platform_onboards_clinic_admin on users for insert
  with check ((select current_setting('app.role', true)) = 'SystemAdmin' and role_id = 2);

grant execute on function login_account(text, text) to hpms_app;
