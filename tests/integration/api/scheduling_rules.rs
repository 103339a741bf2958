//! The rules around booking: appointment types are managed by a ClinicAdmin and a booked visit
//! keeps the price it was booked at; bad times, prices and hours are refused naming the field;
//! booking outside working hours takes a ClinicAdmin's override, which the audit log shows.

use hpms::foundation::role::Role;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_booked_visit_keeps_its_price_and_a_deleted_type_books_no_more() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let provider = clinic.user(Role::Provider);
    let booked = app.book(&clinic, provider, "2030-01-07T09:00:00Z").await;
    let appointment = booked.ok()["bookAppointment"]["id"].clone();

    let updated = app
        .graphql(admin, "mutation($id: UUID!) { updateAppointmentType(input: {id: $id, price: \"95.5\", durationMinutes: 45}) { price durationMinutes } }", json!({"id": clinic.type_id}))
        .await;
    assert_eq!(
        updated.ok()["updateAppointmentType"],
        json!({"price": "95.50", "durationMinutes": 45})
    );
    let read = app
        .graphql(
            admin,
            "query($id: UUID!) { appointment(id: $id) { price end type { price } } }",
            json!({"id": appointment}),
        )
        .await;
    assert_eq!(
        read.ok()["appointment"]["price"],
        "80.00",
        "booked at 80.00"
    );
    assert_eq!(read.ok()["appointment"]["type"]["price"], "95.50");

    app.graphql(
        admin,
        "mutation($id: UUID!) { deleteAppointmentType(id: $id) }",
        json!({"id": clinic.type_id}),
    )
    .await
    .ok();
    let types = app
        .graphql(admin, "{ appointmentTypes { id } }", json!({}))
        .await;
    assert_eq!(types.ok()["appointmentTypes"], json!([]));
    assert_eq!(
        app.book(&clinic, provider, "2030-01-07T11:00:00Z")
            .await
            .code(),
        "NOT_FOUND"
    );
    let read = app
        .graphql(
            admin,
            "query($id: UUID!) { appointment(id: $id) { price type { name } } }",
            json!({"id": appointment}),
        )
        .await;
    assert_eq!(
        read.ok()["appointment"],
        json!({"price": "80.00", "type": null})
    );
}

#[tokio::test]
async fn bad_scheduling_input_names_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = clinic.token(Role::ClinicAdmin);
    let booked = app
        .book(&clinic, clinic.user(Role::Provider), "2030-01-07T09:00:00Z")
        .await;
    let id = booked.ok()["bookAppointment"]["id"].clone();
    app.graphql(Some(admin), "mutation($id: UUID!) { setAppointmentStatus(id: $id, expectedVersion: 1, status: ARRIVED) { id } }", json!({"id": id}))
        .await
        .ok();
    let book = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }";
    let booking = |start: &str, end: &str| json!({"i": {"patientId": clinic.patient_id, "providerId": clinic.user(Role::Provider), "typeId": clinic.type_id, "start": start, "end": end}});
    let cases = [
        (
            "three decimals",
            "mutation { createAppointmentType(input: {name: \"X\", durationMinutes: 30, price: \"1.005\"}) { id } }",
            json!({}),
            "input.price",
        ),
        (
            "negative price",
            "mutation { createAppointmentType(input: {name: \"X\", durationMinutes: 30, price: \"-1\"}) { id } }",
            json!({}),
            "input.price",
        ),
        (
            "too short",
            "mutation { createAppointmentType(input: {name: \"X\", durationMinutes: 3, price: \"1\"}) { id } }",
            json!({}),
            "input.durationMinutes",
        ),
        (
            "blank name",
            "mutation { createAppointmentType(input: {name: \" \", durationMinutes: 30, price: \"1\"}) { id } }",
            json!({}),
            "input.name",
        ),
        (
            "end before start",
            book,
            booking("2030-01-08T10:00:00Z", "2030-01-08T09:00:00Z"),
            "input.end",
        ),
        (
            "not a time",
            book,
            booking("tomorrow at nine", "2030-01-08T09:00:00Z"),
            "input",
        ),
        (
            "overlapping hours",
            "mutation($p: UUID!) { setProviderWorkingHours(providerId: $p, hours: [{day: MONDAY, start: \"09:00:00\", end: \"12:00:00\"}, {day: MONDAY, start: \"11:00:00\", end: \"13:00:00\"}]) { id } }",
            json!({"p": clinic.user(Role::Provider)}),
            "hours",
        ),
        (
            "cancelling without a reason",
            "mutation($id: UUID!) { setAppointmentStatus(id: $id, expectedVersion: 2, status: CANCELLED) { id } }",
            json!({"id": id}),
            "status",
        ),
        (
            "rescheduling an arrived visit",
            "mutation($id: UUID!) { rescheduleAppointment(input: {id: $id, expectedVersion: 2, start: \"2030-01-09T09:00:00Z\"}) { id } }",
            json!({"id": id}),
            "input.id",
        ),
        (
            "unknown status",
            "mutation($id: UUID!) { setAppointmentStatus(id: $id, expectedVersion: 2, status: DONE) { id } }",
            json!({"id": id}),
            "status",
        ),
    ];
    for (case, query, variables, field) in cases {
        let before = app.footprint(&clinic).await;
        let response = app.graphql(Some(admin), query, variables).await;
        assert_eq!(response.code(), "BAD_USER_INPUT", "{case}: {response:?}");
        let message = response.errors()[0]["message"].as_str().unwrap().to_owned();
        assert!(
            response.field() == field || message.contains(&format!("\"{field}")),
            "{case}: names {field}: {response:?}"
        );
        assert_eq!(
            app.footprint(&clinic).await,
            before,
            "{case}: nothing written"
        );
    }
}

#[tokio::test]
async fn booking_outside_working_hours_takes_an_audited_admin_override() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    app.set_working_hours(
        &clinic,
        provider,
        json!([{"day": "MONDAY", "start": "09:00:00", "end": "17:00:00"}]),
    )
    .await;
    let hours = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "{ users(role: PROVIDER) { edges { node { workingHours { day start end } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        hours.ok()["users"]["edges"][0]["node"]["workingHours"],
        json!([{"day": "MONDAY", "start": "09:00:00", "end": "17:00:00"}])
    );

    let evening = json!({"i": {"patientId": clinic.patient_id, "providerId": provider, "typeId": clinic.type_id,
                               "start": "2030-01-07T18:00:00Z", "overrideWorkingHours": true}});
    let book = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id bookedOutsideWorkingHours } }";
    let refused = app
        .graphql(Some(clinic.token(Role::FrontDesk)), book, evening.clone())
        .await;
    assert_eq!(refused.code(), "FORBIDDEN");
    let booked = app
        .graphql(Some(clinic.token(Role::ClinicAdmin)), book, evening)
        .await;
    let appointment = booked.ok()["bookAppointment"].clone();
    assert_eq!(appointment["bookedOutsideWorkingHours"], true);

    let audit = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "query($id: String!) { auditLogs(entityName: \"appointments\", entityId: $id) { edges { node { action userId newValues } } } }",
            json!({"id": appointment["id"]}),
        )
        .await;
    let row = &audit.ok()["auditLogs"]["edges"][0]["node"];
    assert_eq!(row["action"], "CREATE");
    assert_eq!(row["userId"], clinic.user(Role::ClinicAdmin).to_string());
    assert_eq!(row["newValues"]["booked_outside_hours"], true);
}

#[tokio::test]
async fn duplicate_type_names_and_clashing_moves_are_conflicts_that_say_why() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let duplicate = app
        .graphql(admin, "mutation { createAppointmentType(input: {name: \"Consultation\", durationMinutes: 30, price: \"1\"}) { id } }", json!({}))
        .await;
    assert_eq!(duplicate.code(), "CONFLICT");
    assert_eq!(duplicate.field(), "input.name");

    let provider = clinic.user(Role::Provider);
    let first = app.book(&clinic, provider, "2030-01-07T10:00:00Z").await;
    let second = app.book(&clinic, provider, "2030-01-07T10:30:00Z").await;
    let (first, second) = (
        first.ok()["bookAppointment"]["id"].clone(),
        second.ok()["bookAppointment"]["id"].clone(),
    );
    let moved = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "mutation($id: UUID!) { rescheduleAppointment(input: {id: $id, expectedVersion: 1, start: \"2030-01-07T10:15:00Z\"}) { id } }",
            json!({"id": first}),
        )
        .await;
    assert_eq!(moved.code(), "CONFLICT");
    let message = moved.errors()[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(second.as_str().unwrap()),
        "names the appointment in the way: {message}"
    );
    assert!(
        !message.contains(first.as_str().unwrap()),
        "not the one being moved: {message}"
    );
}
