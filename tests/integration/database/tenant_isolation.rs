//! Row-level security keeps every clinic inside its own rows, in every tenant table, and fails
//! closed: a transaction without a tenant sees nothing, never everything.

use hpms::foundation::db::TenantScope;
use hpms::foundation::role::Role;

use crate::helpers::{
    TENANT_TABLES, TestDb, UPDATABLE_TENANT_TABLES, assert_sqlstate, count, exec, scalar,
};

#[tokio::test]
async fn every_tenant_table_shows_a_clinic_only_its_own_rows() {
    let db = TestDb::new().await;
    let a = db.create_clinic("alpha").await;
    let b = db.create_clinic("beta").await;

    for (viewer, other) in [(a, b), (b, a)] {
        let tx = db.begin(viewer.admin()).await;
        for table in TENANT_TABLES {
            let own: i64 = scalar(
                &tx,
                &format!("select count(*) from {table} where tenant_id = $1"),
                [viewer.tenant_id.into()],
            )
            .await;
            assert!(
                own > 0,
                "{table}: the fixture gives every clinic rows, yet it sees none of its own"
            );
            assert_eq!(
                count(&tx, table).await,
                own,
                "{table}: a clinic sees rows that are not its own"
            );
            let foreign: i64 = scalar(
                &tx,
                &format!("select count(*) from {table} where tenant_id = $1"),
                [other.tenant_id.into()],
            )
            .await;
            assert_eq!(foreign, 0, "{table}: a clinic sees the other clinic's rows");
        }
    }
}

#[tokio::test]
async fn without_a_tenant_setting_every_tenant_table_is_empty() {
    let db = TestDb::new().await;
    db.create_clinic("alpha").await;

    let no_setting = db.begin_without_tenant().await;
    for table in TENANT_TABLES.iter().chain(&["tenants"]) {
        assert_eq!(
            count(&no_setting, table).await,
            0,
            "{table}: rows visible with no tenant set"
        );
    }
    no_setting.rollback().await.unwrap();

    // Not a fixture but the probe itself, hence raw SQL: `TenantScope` always names a clinic, so
    // the server never sends an empty tenant. Yet '' is what `current_setting('app.tenant_id',
    // true)` returns on a pooled connection once an earlier transaction's SET LOCAL has ended,
    // and row-level security must read it as no tenant at all.
    let empty_setting = db.begin_without_tenant().await;
    exec(&empty_setting, "set local app.tenant_id = ''", [])
        .await
        .unwrap();
    for table in TENANT_TABLES.iter().chain(&["tenants"]) {
        assert_eq!(
            count(&empty_setting, table).await,
            0,
            "{table}: rows visible with an empty tenant setting"
        );
    }
}

#[tokio::test]
async fn rows_cannot_be_inserted_into_another_clinic() {
    let db = TestDb::new().await;
    let a = db.create_clinic("alpha").await;
    let b = db.create_clinic("beta").await;

    for table in TENANT_TABLES {
        let tx = db.begin(a.admin()).await;
        // Copy one of A's own rows with B's tenant_id, leaving generated columns to their defaults.
        let columns: String = scalar(
            &tx,
            "select string_agg(quote_ident(attname), ', ' order by attnum) from pg_attribute
              where attrelid = $1::regclass and attnum > 0 and not attisdropped
                and attname <> 'tenant_id' and attidentity = '' and attgenerated = ''",
            [table.into()],
        )
        .await;
        let copy = format!(
            "insert into {table} (tenant_id, {columns}) select $1, {columns} from {table} limit 1"
        );
        assert_sqlstate(
            exec(&tx, &copy, [b.tenant_id.into()]).await,
            "42501",
            &format!("{table}: insert with another clinic's tenant_id"),
        );
    }
}

#[tokio::test]
async fn rows_cannot_be_moved_to_another_clinic() {
    let db = TestDb::new().await;
    let a = db.create_clinic("alpha").await;
    let b = db.create_clinic("beta").await;

    for (table, _) in UPDATABLE_TENANT_TABLES {
        let tx = db.begin(a.admin()).await;
        let moved = exec(
            &tx,
            &format!("update {table} set tenant_id = $1"),
            [b.tenant_id.into()],
        )
        .await;
        assert_sqlstate(
            moved,
            "42501",
            &format!("{table}: update to another clinic's tenant_id"),
        );
    }
}

#[tokio::test]
async fn another_clinics_rows_cannot_be_updated() {
    let db = TestDb::new().await;
    let a = db.create_clinic("alpha").await;
    let b = db.create_clinic("beta").await;

    let tx = db.begin(a.admin()).await;
    for (table, no_op) in UPDATABLE_TENANT_TABLES {
        let touched = exec(
            &tx,
            &format!("update {table} set {no_op} where tenant_id = $1"),
            [b.tenant_id.into()],
        )
        .await
        .unwrap();
        assert_eq!(touched, 0, "{table}: clinic A updated clinic B's rows");
    }
    let renamed = exec(
        &tx,
        "update patients set first_name = 'Mallory' where id = $1",
        [b.patient_id.into()],
    )
    .await
    .unwrap();
    assert_eq!(renamed, 0, "clinic A renamed clinic B's patient by id");
    tx.commit().await.unwrap();

    let b_view = db.begin(b.admin()).await;
    let name: String = scalar(
        &b_view,
        "select first_name from patients where id = $1",
        [b.patient_id.into()],
    )
    .await;
    assert_eq!(name, "Ada");
}

#[tokio::test]
async fn a_clinic_reads_only_its_own_tenant_row_and_only_the_platform_admin_changes_clinics() {
    let db = TestDb::new().await;
    let a = db.create_clinic("alpha").await;
    let b = db.create_clinic("beta").await;

    let clinic_view = db.begin(a.admin()).await;
    let visible: Vec<String> = scalar(
        &clinic_view,
        "select array_agg(slug order by slug) from tenants",
        [],
    )
    .await;
    assert_eq!(visible, vec!["alpha".to_owned()]);
    for target in [b.tenant_id, a.tenant_id] {
        let changed = exec(
            &clinic_view,
            "update tenants set name = 'Taken over', is_active = true where id = $1",
            [target.into()],
        )
        .await
        .unwrap();
        assert_eq!(
            changed, 0,
            "only the platform renames, deactivates or reactivates a clinic"
        );
    }
    let onboarded = exec(
        &clinic_view,
        "insert into tenants (name, slug) values ('Rogue', 'rogue')",
        [],
    )
    .await;
    assert_sqlstate(onboarded, "42501", "a clinic user onboarding a clinic");
    clinic_view.rollback().await.unwrap();

    let platform = db
        .begin(TenantScope {
            tenant_id: uuid::Uuid::new_v4(),
            user_id: None,
            role: Some(Role::SystemAdmin),
            api_key_id: None,
        })
        .await;
    assert_eq!(count(&platform, "tenants").await, 2);
    assert_eq!(
        count(&platform, "patients").await,
        0,
        "the platform admin must see no clinic's patients"
    );
}
