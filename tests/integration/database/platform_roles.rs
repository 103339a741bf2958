//! Only the platform tenant holds SystemAdmin accounts, and it holds nothing else: a clinic user
//! given role 1 would otherwise become a platform administrator, because the tenants policy
//! trusts the role the server sets. The one write across clinics, onboarding, creates a new
//! clinic with its first admin and cannot reach an existing clinic.

use hpms::foundation::db::TenantScope;
use hpms::foundation::role::Role;
use uuid::Uuid;

use crate::helpers::{TestDb, assert_sqlstate, exec, insert_user, violated_constraint};

async fn create_platform(db: &TestDb) -> TenantScope {
    let platform = TenantScope {
        tenant_id: Uuid::new_v4(),
        user_id: None,
        role: Some(Role::SystemAdmin),
        api_key_id: None,
    };
    let tx = db.begin(platform).await;
    exec(
        &tx,
        "insert into tenants (id, name, slug, is_platform) values ($1, 'HPMS platform', 'platform', true)",
        [platform.tenant_id.into()],
    )
    .await
    .unwrap();
    insert_user(&tx, platform.tenant_id, "root@platform", Role::SystemAdmin).await;
    tx.commit().await.unwrap();
    platform
}

#[tokio::test]
async fn a_clinic_user_can_never_hold_the_system_admin_role() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;

    for (what, statement) in [
        (
            "promoting a clinic user",
            "update users set role_id = $1 where id = $2",
        ),
        (
            "creating a clinic SystemAdmin",
            "insert into users (tenant_id, username, password_hash, role_id)
             select tenant_id, 'mallory', 'x', $1 from users where id = $2",
        ),
    ] {
        let tx = db.begin(clinic.admin()).await;
        let outcome = exec(
            &tx,
            statement,
            [Role::SystemAdmin.id().into(), clinic.admin_id.into()],
        )
        .await;
        let error = outcome.expect_err(what);
        assert_eq!(
            violated_constraint(&error).as_deref(),
            Some("users_system_admin_only_on_platform"),
            "{what}"
        );
    }
}

#[tokio::test]
async fn the_platform_tenant_holds_only_system_admins() {
    let db = TestDb::new().await;
    let platform = create_platform(&db).await;

    let tx = db.begin(platform).await;
    let clinic_role_on_platform = exec(
        &tx,
        "insert into users (tenant_id, username, password_hash, role_id) values ($1, 'frontdesk', 'x', $2)",
        [platform.tenant_id.into(), Role::FrontDesk.id().into()],
    )
    .await;
    assert_sqlstate(
        clinic_role_on_platform,
        "23514",
        "a clinic role on the platform tenant",
    );
}

#[tokio::test]
async fn there_is_at_most_one_platform_tenant() {
    let db = TestDb::new().await;
    let platform = create_platform(&db).await;

    let tx = db.begin(platform).await;
    let second = exec(
        &tx,
        "insert into tenants (name, slug, is_platform) values ('Shadow platform', 'shadow', true)",
        [],
    )
    .await;
    assert_sqlstate(second, "23505", "a second platform tenant");
}

#[tokio::test]
async fn onboarding_creates_a_new_clinic_with_its_admin_and_cannot_reach_an_existing_one() {
    let db = TestDb::new().await;
    let platform = create_platform(&db).await;
    let clinic = db.create_clinic("alpha").await;
    let add_admin = "insert into users (tenant_id, username, password_hash, role_id) values ($1, 'boss2', 'x', 2)";
    let onboard = "select onboard_clinic($1, 'New clinic', $2, gen_random_uuid(), 'boss', 'x')";

    let tx = db.begin(platform).await;
    let refused = exec(&tx, add_admin, [clinic.tenant_id.into()]).await;
    assert_sqlstate(
        refused,
        "42501",
        "a SystemAdmin adding an admin to an existing clinic",
    );
    let tx = db.begin(platform).await;
    let refused = exec(
        &tx,
        onboard,
        [clinic.tenant_id.into(), "alpha-again".into()],
    )
    .await;
    assert_sqlstate(refused, "23505", "onboarding into an existing clinic's id");

    let tx = db.begin(clinic.admin()).await;
    let refused = exec(&tx, onboard, [Uuid::new_v4().into(), "sneaky".into()]).await;
    assert_sqlstate(refused, "42501", "a ClinicAdmin onboarding a clinic");

    let new_clinic = Uuid::new_v4();
    let tx = db.begin(platform).await;
    exec(&tx, onboard, [new_clinic.into(), "gamma".into()])
        .await
        .expect("a SystemAdmin onboards a clinic");
    let visible: i64 = crate::helpers::scalar(
        &tx,
        "select count(*) from users where tenant_id = $1",
        [new_clinic.into()],
    )
    .await;
    assert_eq!(visible, 0, "and reads nothing of it");
    tx.commit().await.unwrap();
    let as_new_admin = db
        .begin(TenantScope {
            tenant_id: new_clinic,
            user_id: None,
            role: Some(Role::ClinicAdmin),
            api_key_id: None,
        })
        .await;
    let admins: i64 = crate::helpers::scalar(
        &as_new_admin,
        "select count(*) from users where role_id = 2",
        [],
    )
    .await;
    assert_eq!(admins, 1);
}
