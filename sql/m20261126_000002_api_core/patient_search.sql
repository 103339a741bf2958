-- Applied by migration m20261126_000002_api_core (never edited: change the schema with a new
-- migration; schema.sql at the top of the repository has today's definitions).
--
-- Patient search: case- and accent-insensitive name prefixes ("jose" finds "José", "MÜLLER"
-- finds "Müller"), answered from an index that leads with tenant_id like every other.
--
-- fold_name() lower-cases and strips accents. unaccent() is only STABLE (its dictionary could
-- change), so it cannot feed a generated column directly; the wrapper pins the dictionary by
-- name and is declared IMMUTABLE, the documented way to index it. The two generated columns
-- hold "last first" and "first last", so a search matches either order; their "C" collation
-- lets one btree index serve both the prefix match and the ORDER BY of a page.

create extension if not exists unaccent schema extensions;

create function fold_name(name text) returns text
language sql immutable parallel safe strict set search_path = pg_catalog, extensions, pg_temp as $$
  select lower(extensions.unaccent('extensions.unaccent'::regdictionary, name))
$$;

alter table patients
  add column search_name text collate "C"
    generated always as (fold_name(last_name || ' ' || first_name)) stored,
  add column search_name_first_last text collate "C"
    generated always as (fold_name(first_name || ' ' || last_name)) stored;

create index patients_search_name_idx on patients (tenant_id, search_name, id) where not is_deleted;
create index patients_search_name_first_last_idx on patients (tenant_id, search_name_first_last)
  where not is_deleted;
create index patients_dob_idx on patients (tenant_id, dob) where not is_deleted;

-- The server folds the search term with the same function, so both sides agree; and since the
-- generated columns evaluate it as whoever writes the row, the application role needs it and
-- the schema of the unaccent function it calls (a trusted extension's functions belong to the
-- bootstrap superuser and keep their PUBLIC execute grant).
grant usage on schema extensions to hpms_app;
grant execute on function fold_name(text) to hpms_app;
