//! Scheduling respects clinic boundaries: another clinic's appointments are NOT_FOUND to read or
//! change, booking with another clinic's patient, provider or type is NOT_FOUND, and nothing is
//! written by the attempt.

use hpms::foundation::role::Role;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn another_clinics_appointments_and_references_are_not_found() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let south = app.clinic("south").await;
    let booked = app
        .book(&north, north.user(Role::Provider), "2030-01-07T09:00:00Z")
        .await;
    let theirs = booked.ok()["bookAppointment"]["id"].clone();
    let south_admin = Some(south.token(Role::ClinicAdmin));
    let before = app.footprint(&south).await;
    let north_before = app.footprint(&north).await;

    for (what, query, variables) in [
        (
            "read",
            "query($id: UUID!) { appointment(id: $id) { id } }",
            json!({"id": theirs}),
        ),
        (
            "status",
            "mutation($id: UUID!) { setAppointmentStatus(id: $id, expectedVersion: 1, status: ARRIVED) { id } }",
            json!({"id": theirs}),
        ),
        (
            "cancel",
            "mutation($id: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"x\") { id } }",
            json!({"id": theirs}),
        ),
        (
            "reschedule",
            "mutation($id: UUID!) { rescheduleAppointment(input: {id: $id, expectedVersion: 1, start: \"2030-01-07T12:00:00Z\"}) { id } }",
            json!({"id": theirs}),
        ),
        (
            "their patient",
            "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
            json!({"i": {"patientId": north.patient_id, "providerId": south.user(Role::Provider), "typeId": south.type_id, "start": "2030-01-08T09:00:00Z"}}),
        ),
        (
            "their provider",
            "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
            json!({"i": {"patientId": south.patient_id, "providerId": north.user(Role::Provider), "typeId": south.type_id, "start": "2030-01-08T09:00:00Z"}}),
        ),
        (
            "their type",
            "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
            json!({"i": {"patientId": south.patient_id, "providerId": south.user(Role::Provider), "typeId": north.type_id, "start": "2030-01-08T09:00:00Z"}}),
        ),
        (
            "their provider's slots",
            "query($p: UUID!, $t: UUID!) { availableSlots(providerId: $p, date: \"2030-01-07\", typeId: $t) }",
            json!({"p": north.user(Role::Provider), "t": south.type_id}),
        ),
    ] {
        let response = app.graphql(south_admin, query, variables).await;
        assert_eq!(response.code(), "NOT_FOUND", "{what}: {response:?}");
    }
    assert_eq!(app.footprint(&south).await, before, "nothing written");
    assert_eq!(
        app.footprint(&north).await,
        north_before,
        "nothing of north's touched"
    );

    let listed = app
        .graphql(
            south_admin,
            "{ appointments(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(
        listed.ok()["appointments"]["edges"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn only_active_providers_and_live_patients_are_booked() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let book_with = |provider: serde_json::Value, patient: serde_json::Value| {
        app.graphql(
            Some(clinic.token(Role::FrontDesk)),
            "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
            json!({"i": {"patientId": patient, "providerId": provider, "typeId": clinic.type_id, "start": "2030-01-07T09:00:00Z"}}),
        )
    };
    let front_desk = json!(clinic.user(Role::FrontDesk));
    assert_eq!(
        book_with(front_desk, json!(clinic.patient_id)).await.code(),
        "NOT_FOUND",
        "not a provider"
    );

    let removed = app.create_patient(&clinic, "Gone", "Away").await;
    app.graphql(
        admin,
        "mutation($id: UUID!) { deletePatient(id: $id) }",
        json!({"id": removed}),
    )
    .await
    .ok();
    let provider = json!(clinic.user(Role::Provider));
    assert_eq!(
        book_with(provider.clone(), json!(removed)).await.code(),
        "NOT_FOUND",
        "deleted patient"
    );

    app.graphql(
        admin,
        "mutation($id: UUID!) { deactivateUser(id: $id) { id } }",
        json!({"id": provider}),
    )
    .await
    .ok();
    assert_eq!(
        book_with(provider, json!(clinic.patient_id)).await.code(),
        "NOT_FOUND",
        "deactivated provider"
    );
}
