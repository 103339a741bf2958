-- Roles: the two database roles HPMS needs. Run once per cluster by a superuser (psql variables
-- owner_role, owner_password, app_role, app_password); scripts/devdb.sh does it for the private
-- development cluster, a DBA does it in production. Safe to run again.
--
--   owner role        runs migrations and owns every table, function and trigger. CREATEDB only so
--                     the test suite can clone a migrated template database per test.
--   application role  the only role the server connects as: no superuser, no BYPASSRLS, owns
--                     nothing, receives exactly the grants in sql/grants.sql.

select format('create role %I login password %L', :'owner_role', :'owner_password')
where not exists (select from pg_roles where rolname = :'owner_role') \gexec

select format('create role %I login password %L', :'app_role', :'app_password')
where not exists (select from pg_roles where rolname = :'app_role') \gexec

alter role :"owner_role" nosuperuser nocreaterole nobypassrls noreplication createdb;
alter role :"app_role" nosuperuser nocreaterole nobypassrls noreplication nocreatedb noinherit;
