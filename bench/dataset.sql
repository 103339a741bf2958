-- Synthetic dataset for `make bench`: :clinics clinics, each with :providers providers, one
-- ClinicAdmin and one FrontDesk, :patients patients, three appointment types and :appointments
-- appointments (spread over the providers, 30-minute slots, 08:00-16:00 UTC on consecutive days
-- from Monday 5 January 2026, so the no-double-booking constraint holds). Loaded as the owner
-- role through the same row-level security and triggers as the application (audit rows and
-- appointment events are written as they would be), one transaction per clinic.
--
-- Users get an unusable password hash: the load generator signs its own tokens with the
-- server's HPMS_TOKEN_SECRET (sign-in is not what the benchmark measures). A token must name a
-- live session (user_session_stands(), schema.sql), so each user gets one, open for a week
-- (longer than any benchmark or soak run), with a refresh secret nobody knows and the user's own
-- id as its id (so bench/list_clinics.sh, which sees no clinic's sessions, need not look it up). Clinic n has the
-- slug bench-<n>; its users are admin, frontdesk and provider1..provider<:providers>.
--
-- Clinics :first_clinic to :clinics are loaded, so a dataset can grow in steps (the scale curve
-- of bench/run.sh):
--
--   psql "$DATABASE_ADMIN_URL" -v first_clinic=1 -v clinics=200 -v providers=5 -v patients=500 \
--        -v appointments=5000 -f bench/dataset.sql

\set ON_ERROR_STOP on

create procedure pg_temp.load_clinic(n int, provider_count int, patient_count int, appointment_count int)
language plpgsql as $$
declare
  clinic uuid := gen_random_uuid();
  admin uuid := gen_random_uuid();
  provider_ids uuid[];
  type_ids uuid[];
  type_prices numeric[];
begin
  perform set_config('app.role', 'SystemAdmin', true);
  insert into tenants (id, name, slug) values (clinic, 'Bench clinic ' || n, 'bench-' || n);
  perform set_config('app.tenant_id', clinic::text, true),
          set_config('app.user_id', admin::text, true),
          set_config('app.role', 'ClinicAdmin', true);

  insert into users (tenant_id, id, username, password_hash, role_id)
  values (clinic, admin, 'admin', '!', 2),
         (clinic, gen_random_uuid(), 'frontdesk', '!', 5);
  insert into users (tenant_id, username, password_hash, role_id, working_hours)
  select clinic, 'provider' || p, '!', 3,
         (select jsonb_agg(jsonb_build_object('day', day, 'start', '08:00:00', 'end', '16:00:00'))
          from unnest(array['Monday','Tuesday','Wednesday','Thursday','Friday','Saturday','Sunday']) day)
  from generate_series(1, provider_count) p;
  insert into user_sessions (tenant_id, id, user_id, credential_version, refresh_token_hash,
                             idle_expires_at, expires_at)
  select clinic, id, id, credential_version,
         sha256(convert_to(gen_random_uuid()::text, 'UTF8')),
         now() + interval '7 days', now() + interval '7 days'
  from users where tenant_id = clinic;

  insert into appointment_types (tenant_id, name, duration_minutes, price)
  values (clinic, 'Consultation', 30, 80.00), (clinic, 'Follow-up', 30, 45.00),
         (clinic, 'Check-up', 30, 60.00);

  -- Names from small lists, combined: prefix searches find a few of each clinic's patients.
  insert into patients (tenant_id, first_name, last_name, dob)
  select clinic,
         (array['Ada','Ben','Cleo','Dev','Eva','Finn','Gia','Hugo','Iris','Jon','Kai','Lena'])[1 + i % 12],
         (array['Moreau','Novak','Okafor','Petrov','Quinn','Rossi','Sato','Tan','Ueda','Varga','Weber','Young'])[1 + (i / 12) % 12]
           || case when i >= 144 then ' ' || (i / 144)::text else '' end,
         date '1950-01-01' + (i * 37) % 25000
  from generate_series(0, patient_count - 1) i;

  provider_ids := array(select id from users where tenant_id = clinic and role_id = 3 order by username);
  select array_agg(id order by name), array_agg(price order by name)
    into type_ids, type_prices from appointment_types where tenant_id = clinic;
  -- Appointment a: provider a mod P, its (a div P)th slot; patients spread by a large prime.
  -- The patient by its position in id order through a join, not an array subscript: a
  -- subscript copies the whole array each time, quadratic in a clinic of 100,000 patients.
  insert into appointments (tenant_id, patient_id, provider_id, type_id, start_time, end_time, price)
  select clinic, p.id, provider_ids[1 + a % provider_count],
         type_ids[1 + a % 3], slot, slot + interval '30 minutes', type_prices[1 + a % 3]
  from generate_series(0, appointment_count - 1) a
  join (select id, row_number() over (order by id) - 1 as position
          from patients where tenant_id = clinic) p on p.position = (a * 7919) % patient_count,
       lateral (select timestamptz '2026-01-05 08:00Z'
                       + make_interval(days => (a / provider_count) / 16,
                                       mins => ((a / provider_count) % 16) * 30)) as s(slot);
end
$$;

select format('call pg_temp.load_clinic(%s, %s, %s, %s)', n, :providers, :patients, :appointments)
from generate_series(:first_clinic, :clinics) n
\gexec
