//! Optimistic concurrency: every change names the version it was based on, and of two changes
//! based on the same version one succeeds and the other gets CONFLICT and changes nothing, even
//! when both have already passed the version check and race for the update.

use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const RESCHEDULE: &str = "mutation($i: RescheduleAppointmentInput!) { rescheduleAppointment(input: $i) { version start status } }";
const SET_STATUS: &str = "mutation($id: UUID!, $v: Int!, $s: AppointmentStatus!) { setAppointmentStatus(id: $id, expectedVersion: $v, status: $s) { version status } }";

#[tokio::test]
async fn of_two_changes_from_one_version_exactly_one_lands() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    let booked = app.book(&clinic, provider, "2030-01-07T09:00:00Z").await;
    let appointment = booked.ok()["bookAppointment"].clone();
    let (id, version) = (appointment["id"].clone(), appointment["version"].clone());
    assert_eq!(version, 1);

    let move_it = app.graphql(
        Some(clinic.token(Role::FrontDesk)),
        RESCHEDULE,
        json!({"i": {"id": id, "expectedVersion": version, "start": "2030-01-07T11:00:00Z"}}),
    );
    let arrive = app.graphql(
        Some(clinic.token(Role::Provider)),
        SET_STATUS,
        json!({"id": id, "v": version, "s": "ARRIVED"}),
    );
    // Hold the row so that both requests pass their version check and then queue for the
    // update: only the database's `where row_version = 1` can then refuse the second.
    let holder = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    crate::helpers::exec(
        &holder,
        "select 1 from appointments where id = $1::uuid and tenant_id = $2 for update",
        [id.as_str().unwrap().into(), clinic.tenant_id.into()],
    )
    .await
    .unwrap();
    let release = async {
        crate::helpers::wait_for_blocked_sessions(&app.db, 2).await;
        holder.commit().await.unwrap();
    };
    let (moved, arrived, ()) = tokio::join!(move_it, arrive, release);
    let outcomes = [moved.codes(), arrived.codes()];
    assert!(
        outcomes.contains(&vec![]) && outcomes.contains(&vec!["CONFLICT".to_owned()]),
        "one lands, one conflicts: {outcomes:?}"
    );

    let now = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "query($id: UUID!) { appointment(id: $id) { version start status } }",
            json!({"id": id}),
        )
        .await;
    let now = now.ok()["appointment"].clone();
    assert_eq!(now["version"], 2, "exactly one change was applied");
    let expected: Value = if moved.errors().is_empty() {
        json!({"version": 2, "start": now["start"], "status": "SCHEDULED"})
    } else {
        json!({"version": 2, "start": "2030-01-07T09:00:00+00:00", "status": "ARRIVED"})
    };
    assert_eq!(now, expected);
    if moved.errors().is_empty() {
        assert!(
            now["start"]
                .as_str()
                .unwrap()
                .starts_with("2030-01-07T11:00:00")
        );
    }

    let stale = app
        .graphql(
            Some(clinic.token(Role::Provider)),
            SET_STATUS,
            json!({"id": id, "v": 1, "s": "NO_SHOW"}),
        )
        .await;
    assert_eq!(stale.code(), "CONFLICT");
    assert!(
        stale.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("now version 2")
    );
}
