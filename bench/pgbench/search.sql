-- Scenario (b), 20 patients by name prefix, as a perfect server would send it: the tenant
-- settings and the same indexed prefix search HPMS runs
-- (sql/m20261126_000002_api_core/patient_search.sql), in one transaction as the application
-- role. bench.clinics (written by bench/run.sh) names a random clinic's ids; the settings
-- statement also picks one of the load generator's prefixes (pgbench draws only numbers), at no
-- extra round trip.
\set clinic random(1, :clinics)
\set pick random(1, 12)
BEGIN;
SELECT set_config('app.tenant_id', tenant_id::text, true),
       set_config('app.user_id', frontdesk_id::text, true),
       set_config('app.role', 'FrontDesk', true),
       (ARRAY['Mo','No','Ok','Pe','Qu','Ro','Sa','Ta','Ue','Va','We','Yo'])[:pick] AS prefix
  FROM bench.clinics WHERE n = :clinic \gset
SELECT id, first_name, last_name, dob
  FROM patients
 WHERE NOT is_deleted
   AND ((search_name >= fold_name(:prefix) AND search_name < fold_name(:prefix) || chr(1114111))
     OR (search_name_first_last >= fold_name(:prefix)
         AND search_name_first_last < fold_name(:prefix) || chr(1114111)))
 ORDER BY search_name, id
 LIMIT 20;
COMMIT;
