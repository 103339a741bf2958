-- Scenario (a), a clinic's day of 50 appointments with patient, provider and type, as a perfect
-- server would send it: one transaction, the tenant settings, one query, commit. Run by
-- bench/run.sh as the application role, so the same row-level security filters every table;
-- bench.clinics (written by run.sh) stands in for the token, naming a random clinic's ids (kept
-- in :tenant and :frontdesk for bench/profile_database.sh, which adds HPMS's other statements).
\set clinic random(1, :clinics)
\set day random(0, :days - 1)
BEGIN;
SELECT set_config('app.tenant_id', tenant_id::text, true) AS tenant,
       set_config('app.user_id', frontdesk_id::text, true) AS frontdesk,
       set_config('app.role', 'FrontDesk', true) AS role
  FROM bench.clinics WHERE n = :clinic \gset
SELECT a.id, a.start_time, a.end_time, a.status, p.first_name, p.last_name, u.username, t.name
  FROM appointments a
  JOIN patients p ON p.tenant_id = a.tenant_id AND p.id = a.patient_id
  JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.provider_id
  JOIN appointment_types t ON t.tenant_id = a.tenant_id AND t.id = a.type_id
 WHERE NOT a.is_deleted
   AND a.start_time >= timestamptz '2026-01-05 00:00:00+00' + :day * interval '1 day'
   AND a.start_time < timestamptz '2026-01-05 00:00:00+00' + (:day + 1) * interval '1 day'
 ORDER BY a.start_time, a.id
 LIMIT 50;
COMMIT;
