-- Roles: the two database roles HPMS needs. Not a migration: roles belong to the cluster, not to
-- one database, and migrations run as hpms_owner, which cannot create roles. Run once per cluster
-- by a superuser, with the psql variables owner_password and app_password; scripts/devdb.sh does
-- it for the private development cluster, a DBA does it in production. Safe to run again.
--
--   hpms_owner  runs migrations and owns every table, function and trigger. CREATEDB only so the
--               test suite can clone a migrated template database per test, and a member of
--               pg_signal_backend so that it can drop those databases `with (force)` while the
--               application role's sessions on them are still closing (PostgreSQL lets a role end
--               only its own sessions otherwise, and the drop then fails by chance).
--   hpms_app    the only role the server connects as: no superuser, no BYPASSRLS, owns nothing,
--               receives exactly the grants of the migrations (sql/m*/, which name
--               it; schema.sql lists today's).

select format('create role hpms_owner login password %L', :'owner_password')
where not exists (select from pg_roles where rolname = 'hpms_owner') \gexec

select format('create role hpms_app login password %L', :'app_password')
where not exists (select from pg_roles where rolname = 'hpms_app') \gexec

alter role hpms_owner nosuperuser nocreaterole nobypassrls noreplication createdb;
alter role hpms_app nosuperuser nocreaterole nobypassrls noreplication nocreatedb noinherit;
select 'grant pg_signal_backend to hpms_owner'
where not pg_has_role('hpms_owner', 'pg_signal_backend', 'member') \gexec
