//! The Citus scripts (sql/citus/) keep up with the schema: applied to a migrated database on
//! plain PostgreSQL, with stand-ins for Citus' functions that check what Citus would refuse,
//! distribute.sql makes every tenant table a distributed table by tenant_id colocated with the
//! others, each after the tables it references, and every other table but the migrations'
//! bookkeeping a reference table; policies.sql leaves no sub-select in any policy, and clinics
//! stay apart under its policies with the server's SET LOCAL settings. (Citus itself is not
//! installed here: what only a real cluster can show is listed in README.md.)

use hpms::foundation::db::TenantScope;
use hpms::foundation::role::Role;
use sea_orm::ConnectionTrait;

use crate::helpers::{TENANT_TABLES, TestDb, count, scalar};

/// Stand-ins for Citus' functions, with Citus' parameter names: each records its call and
/// refuses what Citus would (an unknown column or argument, colocation with a table not yet
/// distributed, a foreign key to a table not yet distributed).
const CITUS_STAND_INS: &str = r#"
create table citus_calls (seq serial, kind text, object text, argument text, colocation text);

create function citus_is_placed(target regclass) returns boolean language sql as $$
  select exists (select from citus_calls where object = target::text and kind <> 'function')
$$;

create function citus_check_references(target regclass) returns void language plpgsql as $$
declare
  missing text;
begin
  select string_agg(c.confrelid::regclass::text, ', ') into missing
    from pg_constraint c
   where c.conrelid = target and c.contype = 'f' and c.confrelid <> target
     and not citus_is_placed(c.confrelid);
  if missing is not null then
    raise exception '% references % before they are distributed', target, missing;
  end if;
end
$$;

create function create_reference_table(table_name regclass) returns void
language plpgsql as $$
begin
  perform citus_check_references(table_name);
  insert into citus_calls (kind, object) values ('reference', table_name::text);
end
$$;

create function create_distributed_table(table_name regclass, distribution_column text,
                                         colocate_with text default 'default') returns void
language plpgsql as $$
begin
  if not exists (select from pg_attribute
                  where attrelid = table_name and attname = distribution_column) then
    raise exception '% has no column %', table_name, distribution_column;
  end if;
  if colocate_with <> 'default' and not exists (
       select from citus_calls where kind = 'distributed' and object = colocate_with) then
    raise exception '% is colocated with %, not yet distributed', table_name, colocate_with;
  end if;
  perform citus_check_references(table_name);
  insert into citus_calls (kind, object, argument, colocation)
  values ('distributed', table_name::text, distribution_column, colocate_with);
end
$$;

create function create_distributed_function(function_name regprocedure,
                                            distribution_arg_name text,
                                            colocate_with text default 'default') returns void
language plpgsql as $$
begin
  if not exists (select from pg_proc
                  where oid = function_name and distribution_arg_name = any(proargnames)) then
    raise exception '% has no argument %', function_name, distribution_arg_name;
  end if;
  if not exists (select from citus_calls where kind = 'distributed' and object = colocate_with) then
    raise exception '% is colocated with %, not yet distributed', function_name, colocate_with;
  end if;
  insert into citus_calls (kind, object, argument, colocation)
  values ('function', function_name::text, distribution_arg_name, colocate_with);
end
$$;
"#;

async fn apply_citus_scripts(db: &TestDb) {
    for (name, sql) in [
        ("the stand-ins", CITUS_STAND_INS),
        (
            "policies.sql",
            include_str!("../../../sql/citus/policies.sql"),
        ),
        (
            "distribute.sql",
            include_str!("../../../sql/citus/distribute.sql"),
        ),
    ] {
        db.owner
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|error| panic!("{name} applies: {error}"));
    }
}

#[tokio::test]
async fn distribute_sql_distributes_every_tenant_table_by_tenant_id_and_references_the_rest() {
    let db = TestDb::new().await;
    apply_citus_scripts(&db).await;

    let distributed: Vec<String> = scalar(
        &db.owner,
        "select array_agg(object || ' by ' || argument || ' with ' || colocation order by object)
           from citus_calls where kind = 'distributed'",
        [],
    )
    .await;
    let mut expected: Vec<String> = TENANT_TABLES
        .iter()
        .map(|table| match *table {
            "users" => "users by tenant_id with default".to_owned(),
            other => format!("{other} by tenant_id with users"),
        })
        .collect();
    expected.sort();
    assert_eq!(distributed, expected);

    // The migrations' bookkeeping stays a local table of the coordinator: only `hpms migrate`
    // reads it.
    let unplaced: Option<Vec<String>> = scalar(
        &db.owner,
        "select array_agg(c.relname::text order by c.relname)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind in ('r', 'p')
            and c.relname not in ('seaql_migrations', 'citus_calls')
            and not exists (select from citus_calls k where k.object = c.oid::regclass::text)",
        [],
    )
    .await;
    assert_eq!(
        unplaced, None,
        "tables neither distributed nor reference tables"
    );
    let references: Vec<String> = scalar(
        &db.owner,
        "select array_agg(object order by object) from citus_calls where kind = 'reference'",
        [],
    )
    .await;
    assert_eq!(references, ["roles", "tenants"]);
}

#[tokio::test]
async fn the_citus_policies_have_no_sub_selects_and_still_keep_clinics_apart() {
    let db = TestDb::new().await;
    apply_citus_scripts(&db).await;

    let with_sub_selects: Option<Vec<String>> = scalar(
        &db.owner,
        "select array_agg(polrelid::regclass || '.' || polname)
           from pg_policy
          where coalesce(pg_get_expr(polqual, polrelid), '') ilike '%select%'
             or coalesce(pg_get_expr(polwithcheck, polrelid), '') ilike '%select%'",
        [],
    )
    .await;
    assert_eq!(with_sub_selects, None, "policies Citus would refuse");

    let north = db.create_clinic("north").await;
    let south = db.create_clinic("south").await;
    for (clinic, other) in [(north, south), (south, north)] {
        let tx = db.begin(clinic.admin()).await;
        for table in TENANT_TABLES {
            let foreign: i64 = scalar(
                &tx,
                &format!("select count(*) from {table} where tenant_id <> $1"),
                [clinic.tenant_id.into()],
            )
            .await;
            assert_eq!(foreign, 0, "{table}: another clinic's rows are visible");
        }
        let patients: Vec<uuid::Uuid> = scalar(&tx, "select array_agg(id) from patients", []).await;
        assert_eq!(patients, [clinic.patient_id]);
        let clinics: Vec<uuid::Uuid> = scalar(&tx, "select array_agg(id) from tenants", []).await;
        assert_eq!(
            clinics,
            [clinic.tenant_id],
            "{other:?}'s clinic row is visible"
        );
        let audit_rows = count(&tx, "audit_logs").await;
        assert!(
            audit_rows > 0,
            "the ClinicAdmin reads the clinic's audit log"
        );
    }

    let provider = db
        .begin(TenantScope {
            role: Some(Role::Provider),
            ..north.admin()
        })
        .await;
    assert_eq!(
        count(&provider, "audit_logs").await,
        0,
        "only a ClinicAdmin"
    );
    let platform = db.begin_as_platform().await;
    assert!(
        count(&platform, "tenants").await >= 2,
        "SystemAdmin sees every clinic"
    );
    let nobody = db.begin_without_tenant().await;
    for table in TENANT_TABLES {
        assert_eq!(count(&nobody, table).await, 0, "{table} without a tenant");
    }
}
