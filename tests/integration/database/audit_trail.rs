//! Every INSERT, UPDATE and soft delete of every tenant table leaves exactly one audit row, written
//! by a trigger with the acting user from the session; secrets never reach it; and the audit
//! trail itself can only grow.

use hpms::foundation::db::TenantScope;
use hpms::foundation::role::Role;
use uuid::Uuid;

use crate::helpers::{
    API_KEY_SECRET_MARKER, Actor, PASSWORD_HASH_MARKER, SOFT_DELETABLE_TABLES, TENANT_TABLES,
    TestDb, UPDATABLE_TENANT_TABLES, assert_sqlstate, count, exec, scalar,
};

/// The audit rows of `table` with `action`, as the clinic's ClinicAdmin sees them.
async fn audit_rows(tx: &impl sea_orm::ConnectionTrait, table: &str, action: &str) -> i64 {
    scalar(
        tx,
        "select count(*) from audit_logs where entity_name = $1 and action = $2",
        [table.into(), action.into()],
    )
    .await
}

#[tokio::test]
async fn every_inserted_row_of_every_tenant_table_has_one_create_audit_row_naming_its_author() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let tx = db.begin(clinic.admin()).await;

    for table in TENANT_TABLES
        .into_iter()
        .filter(|table| *table != "audit_logs")
    {
        let rows = count(&tx, table).await;
        let creates = audit_rows(&tx, table, "Create").await;
        assert_eq!(
            creates, rows,
            "{table}: {rows} rows but {creates} Create audit rows"
        );
    }
    // The platform onboarded the clinic and its admin (no acting user); the admin did the rest.
    let authors: Vec<String> = scalar(
        &tx,
        "select array_agg(distinct entity_name || ':' || coalesce(user_id::text, 'platform') order by entity_name || ':' || coalesce(user_id::text, 'platform'))
           from audit_logs where action = 'Create'",
        [],
    )
    .await;
    let admin = clinic.admin_id;
    let mut expected: Vec<String> = TENANT_TABLES
        .into_iter()
        .filter(|table| *table != "audit_logs")
        .map(|table| format!("{table}:{admin}"))
        .chain(["tenants:platform".to_owned(), "users:platform".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(authors, expected);
}

/// What the audit trigger recorded for one change.
#[derive(Debug)]
struct AuditRow {
    action: String,
    entity_id: String,
    user_id: Option<Uuid>,
    has_old_and_new_values: bool,
}

/// Runs `change` (a statement on the row `id` of `table`, with `$1` bound to `id`) and returns the
/// audit row it wrote, failing unless it wrote exactly one.
async fn the_one_audit_row_of(
    tx: &impl sea_orm::ConnectionTrait,
    table: &str,
    id: Uuid,
    change: &str,
) -> AuditRow {
    let before = count(tx, "audit_logs").await;
    exec(tx, change, [id.into()])
        .await
        .unwrap_or_else(|error| panic!("{change}: {error}"));
    assert_eq!(
        count(tx, "audit_logs").await,
        before + 1,
        "{table}: `{change}` must write exactly one audit row"
    );
    let row = tx
        .query_one_raw(crate::helpers::test_statement(
            "select action, entity_id, user_id, (old_values is not null and new_values is not null)
               from audit_logs order by id desc limit 1",
            [],
        ))
        .await
        .unwrap()
        .expect("the audit row");
    AuditRow {
        action: row.try_get_by_index(0).unwrap(),
        entity_id: row.try_get_by_index(1).unwrap(),
        user_id: row.try_get_by_index(2).unwrap(),
        has_old_and_new_values: row.try_get_by_index(3).unwrap(),
    }
}

#[tokio::test]
async fn every_update_writes_one_audit_row_with_the_acting_user_and_both_snapshots() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let actor = clinic.admin();

    for (table, no_op) in UPDATABLE_TENANT_TABLES {
        let tx = db.begin(actor).await;
        // The audit trail's entity id: the row's id, or its clinic's for a table of one row per
        // clinic (audit_row_change()).
        let key = format!("coalesce(to_jsonb({table}) ->> 'id', {table}.tenant_id::text)::uuid");
        let id: Uuid = scalar(&tx, &format!("select {key} from {table} limit 1"), []).await;
        let audit = the_one_audit_row_of(
            &tx,
            table,
            id,
            &format!("update {table} set {no_op} where {key} = $1"),
        )
        .await;
        assert_eq!(audit.action, "Update", "{table}");
        assert_eq!(audit.entity_id, id.to_string(), "{table}");
        assert_eq!(
            audit.user_id, actor.user_id,
            "{table}: the acting user comes from app.user_id"
        );
        assert!(
            audit.has_old_and_new_values,
            "{table}: old and new values are recorded"
        );
    }
}

#[tokio::test]
async fn every_soft_delete_writes_one_delete_audit_row_whoever_deletes() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;

    for table in SOFT_DELETABLE_TABLES {
        // The server soft-deletes with an UPDATE; the owner's DELETE is turned into the same.
        for (as_owner, change) in [
            (
                false,
                format!("update {table} set is_deleted = true where id = $1"),
            ),
            (true, format!("delete from {table} where id = $1")),
        ] {
            let tx = if as_owner {
                db.begin_as_owner(clinic.admin()).await
            } else {
                db.begin(clinic.admin()).await
            };
            let id: Uuid = scalar(&tx, &format!("select id from {table} limit 1"), []).await;
            let audit = the_one_audit_row_of(&tx, table, id, &change).await;
            assert_eq!(
                audit.action, "Delete",
                "{table}: `{change}` is audited as a Delete"
            );
            assert_eq!(audit.user_id, clinic.admin().user_id, "{table}");
            let flagged: bool = scalar(
                &tx,
                &format!("select is_deleted from {table} where id = $1"),
                [id.into()],
            )
            .await;
            assert!(
                flagged,
                "{table}: after `{change}` the row remains, flagged deleted"
            );
            tx.rollback().await.unwrap();
        }
    }
}

#[tokio::test]
async fn no_password_hash_or_secret_reaches_the_audit_log() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let tx = db.begin(clinic.admin()).await;
    exec(
        &tx,
        "update users set password_hash = $1 || '-rotated'",
        [PASSWORD_HASH_MARKER.into()],
    )
    .await
    .unwrap();
    exec(&tx, "update patients set phi_data = '\\x0102'::bytea", [])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let tx = db.begin(clinic.admin()).await;
    let secret_columns: i64 = scalar(
        &tx,
        "select count(*) from audit_logs
          where old_values ?| array['password_hash', 'secret_ciphertext']
             or new_values ?| array['password_hash', 'secret_ciphertext']",
        [],
    )
    .await;
    assert_eq!(
        secret_columns, 0,
        "password hashes and key material are left out of snapshots"
    );
    // The API key is bytea: JSON would show it hex-encoded, so look for both spellings.
    let api_key_hex: String = scalar(
        &tx,
        "select encode(convert_to($1, 'UTF8'), 'hex')",
        [API_KEY_SECRET_MARKER.into()],
    )
    .await;
    for marker in [
        PASSWORD_HASH_MARKER,
        "TEST-HASH-MARKER",
        API_KEY_SECRET_MARKER,
        &api_key_hex,
    ] {
        let leaks: i64 = scalar(
            &tx,
            "select count(*) from audit_logs where concat(old_values::text, new_values::text) like '%' || $1 || '%'",
            [marker.into()],
        )
        .await;
        assert_eq!(leaks, 0, "{marker} found in the audit log");
    }
    let ciphertext_hex: i64 = scalar(
        &tx,
        "select count(*) from audit_logs where entity_name = 'patients' and new_values ->> 'phi_data' <> '[encrypted]'",
        [],
    )
    .await;
    assert_eq!(ciphertext_hex, 0, "PHI ciphertext is replaced by a marker");
    let user_rows: i64 = scalar(
        &tx,
        "select count(*) from audit_logs where entity_name = 'users' and new_values ? 'username'",
        [],
    )
    .await;
    assert!(
        user_rows >= 4,
        "user snapshots are still recorded, minus the hash"
    );
}

#[tokio::test]
async fn the_audit_log_cannot_be_changed_even_by_the_owner() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;

    // The owner appends (the audit functions run as the owner), but never rewrites.
    db.assert_refused(
        Actor::Owner(clinic.admin()),
        [
            "update audit_logs set action = 'Read'",
            "delete from audit_logs",
            "truncate audit_logs",
        ],
    )
    .await;
    let tx = db.begin(clinic.admin()).await;
    let forged = exec(
        &tx,
        "insert into audit_logs (tenant_id, entity_name, entity_id, action) values ($1, 'x', 'y', 'Read')",
        [clinic.tenant_id.into()],
    )
    .await;
    assert_sqlstate(forged, "42501", "the application role forging an audit row");
}

/// The application role records the PHI reads it makes, and nothing else: a Read row of its own
/// clinic, as its own user, is the only audit row it may insert.
#[tokio::test]
async fn the_application_role_may_add_only_its_own_read_rows() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let other = db.create_clinic("beta").await;
    let admin = clinic.admin();
    let me = admin.user_id.unwrap();
    let insert =
        "insert into audit_logs (tenant_id, entity_name, entity_id, user_id, action, old_values)
                  values ($1, 'patients', 'x', $2, $3, $4)";
    let refused: [(
        &str,
        sea_orm::Value,
        sea_orm::Value,
        &str,
        Option<serde_json::Value>,
    ); 4] = [
        (
            "a Create row",
            clinic.tenant_id.into(),
            me.into(),
            "Create",
            None,
        ),
        (
            "another clinic's Read",
            other.tenant_id.into(),
            me.into(),
            "Read",
            None,
        ),
        (
            "another user's Read",
            clinic.tenant_id.into(),
            Uuid::new_v4().into(),
            "Read",
            None,
        ),
        (
            "a Read carrying old values",
            clinic.tenant_id.into(),
            me.into(),
            "Read",
            Some(serde_json::json!({"first_name": "forged"})),
        ),
    ];
    for (what, tenant, user, action, old_values) in refused {
        let tx = db.begin(admin).await;
        let result = exec(
            &tx,
            insert,
            [tenant, user, action.into(), old_values.into()],
        )
        .await;
        assert_sqlstate(result, "42501", what);
    }
    let tx = db.begin(admin).await;
    let before = count(&tx, "audit_logs").await;
    exec(
        &tx,
        "select record_read('patients', array[$1]::uuid[], array['contact'])",
        [clinic.patient_id.into()],
    )
    .await
    .expect("the reader records its read");
    assert_eq!(count(&tx, "audit_logs").await, before + 1);
}

#[tokio::test]
async fn platform_actions_are_audited_under_the_clinic_they_touch() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let system_admin = Uuid::new_v4();
    let platform = TenantScope {
        tenant_id: Uuid::new_v4(),
        user_id: Some(system_admin),
        role: Some(hpms::foundation::role::Role::SystemAdmin),
        api_key_id: None,
    };

    let tx = db.begin(platform).await;
    exec(
        &tx,
        "update tenants set is_active = false where id = $1",
        [clinic.tenant_id.into()],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let tx = db.begin(clinic.admin()).await;
    let deactivated_by: Uuid = scalar(
        &tx,
        "select user_id from audit_logs where entity_name = 'tenants' and action = 'Update' and new_values ->> 'is_active' = 'false'",
        [],
    )
    .await;
    assert_eq!(deactivated_by, system_admin);
}

#[tokio::test]
async fn a_phi_read_is_recorded_for_the_current_clinic_and_user_only() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let other = db.create_clinic("beta").await;

    let tx = db.begin(clinic.admin()).await;
    exec(
        &tx,
        "select record_read('patients', array[$1::uuid], array['medical'])",
        [clinic.patient_id.into()],
    )
    .await
    .unwrap();
    let shown: String = scalar(
        &tx,
        "select new_values::text from audit_logs where action = 'Read'",
        [],
    )
    .await;
    assert_eq!(shown, r#"{"shown": ["medical"]}"#);
    let (entity, user): (String, Uuid) = (
        scalar(
            &tx,
            "select entity_id from audit_logs where action = 'Read'",
            [],
        )
        .await,
        scalar(
            &tx,
            "select user_id from audit_logs where action = 'Read'",
            [],
        )
        .await,
    );
    assert_eq!(
        (entity, Some(user)),
        (clinic.patient_id.to_string(), clinic.admin().user_id)
    );
    tx.commit().await.unwrap();

    let other_view = db.begin(other.admin()).await;
    assert_eq!(
        audit_rows(&other_view, "patients", "Read").await,
        0,
        "the Read row belongs to its clinic"
    );

    let without_clinic = db.begin_without_tenant().await;
    let refused = exec(
        &without_clinic,
        "select record_read('patients', array[gen_random_uuid()], array['contact'])",
        [],
    )
    .await;
    assert_sqlstate(refused, "42501", "recording a read with no clinic set");

    let without_sections = db.begin(clinic.admin()).await;
    let refused = exec(
        &without_sections,
        "select record_read('patients', array[gen_random_uuid()])",
        [],
    )
    .await;
    assert_sqlstate(
        refused,
        "42883",
        "reads are recorded only with the sections shown (the old function is gone)",
    );

    let unknown = db.begin(clinic.admin()).await;
    let refused = exec(
        &unknown,
        "select record_read('no_such_table', array[gen_random_uuid()], array['contact'])",
        [],
    )
    .await;
    assert_sqlstate(refused, "22023", "recording a read of an unknown entity");
}

#[tokio::test]
async fn only_a_clinic_admin_reads_the_audit_log() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;

    for role in Role::ALL {
        let tx = db
            .begin(TenantScope {
                role: Some(role),
                ..clinic.admin()
            })
            .await;
        let visible = count(&tx, "audit_logs").await;
        if role == Role::ClinicAdmin {
            assert!(visible > 0, "the ClinicAdmin reads the clinic's audit log");
        } else {
            assert_eq!(visible, 0, "{role:?} must not read the audit log");
        }
    }
}
