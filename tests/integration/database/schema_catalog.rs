//! No table can be half-protected: walking the catalog, every table with a tenant_id has forced
//! RLS with a fail-closed tenant policy, the audit trigger, soft delete or delete refusal, truncate
//! refusal, and tenant_id leading every key and index and inside every foreign key. The last two
//! rules are also what Citus needs to distribute the schema by tenant_id.

use hpms::foundation::role::Role;

use crate::helpers::{TENANT_TABLES, TestDb, scalar};

/// Runs a catalog query that returns the names of offending tables (or constraints), and fails
/// listing them.
async fn assert_none(db: &TestDb, rule: &str, query: &str) {
    let offenders: Option<Vec<String>> = scalar(&db.owner, query, []).await;
    assert_eq!(offenders, None, "{rule}");
}

const TENANT_TABLES_CTE: &str = "with tenant_tables as (
    select c.oid, c.relname::text as name, c.relrowsecurity, c.relforcerowsecurity
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'r'
       and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))";

fn rule(body: &str) -> String {
    format!("{TENANT_TABLES_CTE} {body}")
}

#[tokio::test]
async fn the_tests_know_every_tenant_table() {
    let db = TestDb::new().await;
    let tables: Vec<String> = scalar(
        &db.owner,
        &rule("select array_agg(name order by name) from tenant_tables"),
        [],
    )
    .await;
    let mut expected: Vec<String> = TENANT_TABLES.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(
        tables, expected,
        "a new tenant table must join helpers::TENANT_TABLES so every isolation test covers it"
    );
}

#[tokio::test]
async fn every_tenant_table_has_forced_rls_and_a_fail_closed_tenant_policy() {
    let db = TestDb::new().await;
    assert_none(&db, "RLS enabled and forced", &rule(
        "select array_agg(name) from tenant_tables where not (relrowsecurity and relforcerowsecurity)",
    ))
    .await;
    assert_none(&db, "a policy that filters reads on app.tenant_id", &rule(
        "select array_agg(name) from tenant_tables t where not exists (
           select from pg_policy p where p.polrelid = t.oid and p.polcmd in ('r', '*')
              and pg_get_expr(p.polqual, p.polrelid) like '%tenant_id = ( SELECT (NULLIF(current_setting(''app.tenant_id''::text, true)%')",
    ))
    .await;
    let app_role: String = scalar(&db.app, "select current_user::text", []).await;
    assert_none(&db, "every policy that applies to the application role is keyed on app.tenant_id in USING and WITH CHECK", &rule(&format!(
        "select array_agg(t.name || '.' || p.polname) from tenant_tables t join pg_policy p on p.polrelid = t.oid
          where exists (select from unnest(p.polroles) as r(role_oid)
                         where r.role_oid = 0 or pg_has_role('{app_role}', r.role_oid, 'member'))
            and (coalesce(pg_get_expr(p.polqual, p.polrelid), 'app.tenant_id') not like '%app.tenant_id%'
              or coalesce(pg_get_expr(p.polwithcheck, p.polrelid), 'app.tenant_id') not like '%app.tenant_id%')"
    )))
    .await;
}

#[tokio::test]
async fn every_tenant_table_is_audited_and_never_loses_a_row() {
    let db = TestDb::new().await;
    let has_trigger = |timing_and_event: &str, function: &str| {
        format!(
            "exists (select from pg_trigger g where g.tgrelid = t.oid and not g.tgisinternal
                       and g.tgfoid = '{function}'::regproc and ({timing_and_event}))"
        )
    };
    // tgtype bits: 1 row-level, 2 before, 4 insert, 8 delete, 16 update, 32 truncate.
    let audit = has_trigger(
        "g.tgtype & (1 | 4 | 8 | 16) = (1 | 4 | 8 | 16) and g.tgtype & 2 = 0",
        "audit_row_change",
    );
    let soft_delete = has_trigger("g.tgtype & (1 | 2 | 8) = (1 | 2 | 8)", "soft_delete_row");
    let refuse_delete = has_trigger("g.tgtype & (2 | 8) = (2 | 8)", "forbid_change");
    let refuse_truncate = has_trigger("g.tgtype & (2 | 32) = (2 | 32)", "forbid_change");
    let soft_deletable =
        "exists (select from pg_attribute a where a.attrelid = t.oid and a.attname = 'is_deleted')";

    assert_none(
        &db,
        "the audit trigger (audit_logs excepted: it is the audit trail)",
        &rule(&format!(
            "select array_agg(name) from tenant_tables t where name <> 'audit_logs' and not {audit}"
        )),
    )
    .await;
    assert_none(
        &db,
        "DELETE becomes a soft delete where is_deleted exists, and is refused elsewhere",
        &rule(&format!(
            "select array_agg(name) from tenant_tables t
          where not case when {soft_deletable} then {soft_delete} else {refuse_delete} end"
        )),
    )
    .await;
    assert_none(
        &db,
        "TRUNCATE is refused",
        &rule(&format!(
            "select array_agg(name) from tenant_tables t where not {refuse_truncate}"
        )),
    )
    .await;
}

#[tokio::test]
async fn tenant_id_leads_every_key_and_index_and_joins_every_foreign_key() {
    let db = TestDb::new().await;
    assert_none(&db, "every index (primary keys, unique and exclusion constraints included) leads with tenant_id", &rule(
        "select array_agg(i.indexrelid::regclass::text) from tenant_tables t join pg_index i on i.indrelid = t.oid
          where (select attname from pg_attribute where attrelid = t.oid and attnum = i.indkey[0]) is distinct from 'tenant_id'",
    ))
    .await;
    assert_none(&db, "a foreign key leaving the tenant tables points only at the global reference tables", &rule(
        "select array_agg(c.conname::text) from tenant_tables t join pg_constraint c on c.conrelid = t.oid and c.contype = 'f'
          where c.confrelid not in (select oid from tenant_tables)
            and c.confrelid not in ('tenants'::regclass, 'roles'::regclass)",
    ))
    .await;
    assert_none(&db, "a foreign key to another tenant table matches tenant_id to tenant_id", &rule(
        "select array_agg(c.conname::text) from tenant_tables t
           join pg_constraint c on c.conrelid = t.oid and c.contype = 'f'
           join tenant_tables target on target.oid = c.confrelid
          where not exists (
            select from unnest(c.conkey, c.confkey) as k(from_col, to_col)
             where (select attname from pg_attribute where attrelid = t.oid and attnum = k.from_col) = 'tenant_id'
               and (select attname from pg_attribute where attrelid = target.oid and attnum = k.to_col) = 'tenant_id')",
    ))
    .await;
}

#[tokio::test]
async fn the_global_tables_are_protected_too() {
    let db = TestDb::new().await;
    let tenants_forced: bool = scalar(&db.owner, "select relrowsecurity and relforcerowsecurity from pg_class where oid = 'tenants'::regclass", []).await;
    assert!(tenants_forced, "tenants must have forced RLS");
    let owner_owns_all: bool = scalar(
        &db.owner,
        "select bool_and(tableowner = current_user) from pg_tables where schemaname = 'public'",
        [],
    )
    .await;
    assert!(owner_owns_all, "every table belongs to the owner role");

    let roles: Vec<String> =
        scalar(&db.app, "select array_agg(name order by id) from roles", []).await;
    let expected: Vec<String> = Role::ALL
        .iter()
        .map(|role| role.name().to_owned())
        .collect();
    assert_eq!(roles, expected, "the roles table and identity::Role agree");
    for role in Role::ALL {
        let id: i16 = scalar(
            &db.app,
            "select id from roles where name = $1",
            [role.name().into()],
        )
        .await;
        assert_eq!(id, role.id(), "{role:?}");
    }
}
