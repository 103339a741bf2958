//! A page of the schedule reads each appointment's patient, provider and type in the same query
//! as the appointments; what it shows is what looking each one up would show: a patient or type
//! deleted since the booking is null, the rest as they are now.

use hpms::foundation::role::Role;
use serde_json::json;

use crate::helpers::TestApp;

const DAY: &str = "query { appointments(from: \"2030-01-07T00:00:00Z\", to: \"2030-01-08T00:00:00Z\") {
  edges { node { start patient { lastName } provider { username workingHours { day } } type { name } } } } }";

#[tokio::test]
async fn a_page_shows_references_as_they_are_now_and_deleted_ones_as_null() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let provider = clinic.user(Role::Provider);
    app.book(&clinic, provider, "2030-01-07T09:00:00Z")
        .await
        .ok();
    let removed = app.create_patient(&clinic, "Gone", "Away").await;
    let booked = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
            json!({"i": {"patientId": removed, "providerId": provider,
                         "typeId": clinic.type_id, "start": "2030-01-07T10:00:00Z"}}),
        )
        .await;
    booked.ok();

    // The day's appointments, as the front desk sees them.
    let day = async || {
        let response = app
            .graphql(Some(clinic.token(Role::FrontDesk)), DAY, json!({}))
            .await;
        response.ok()["appointments"]["edges"]
            .as_array()
            .unwrap()
            .clone()
    };
    let edges = day().await;
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[1]["node"]["patient"]["lastName"], "Away");
    assert_eq!(edges[0]["node"]["type"]["name"], "Consultation");
    assert_eq!(edges[0]["node"]["provider"]["username"], "provider");
    assert_eq!(
        edges[0]["node"]["provider"]["workingHours"]
            .as_array()
            .map(Vec::len),
        Some(7),
        "the provider's working hours, every day as the test clinic sets them"
    );

    for (mutation, id) in [
        (
            "mutation($id: UUID!) { deletePatient(id: $id) }",
            json!(removed),
        ),
        (
            "mutation($id: UUID!) { deleteAppointmentType(id: $id) }",
            json!(clinic.type_id),
        ),
    ] {
        app.graphql(admin, mutation, json!({"id": id})).await.ok();
    }

    let edges = day().await;
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0]["node"]["patient"]["lastName"], "Lovelace");
    assert!(edges[1]["node"]["patient"].is_null(), "the deleted patient");
    assert!(
        edges.iter().all(|edge| edge["node"]["type"].is_null()),
        "the deleted type"
    );
    assert!(
        edges
            .iter()
            .all(|edge| edge["node"]["provider"]["username"] == "provider")
    );
}

#[tokio::test]
async fn every_page_of_a_day_shows_its_references() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    for hour in 8..13 {
        app.book(
            &clinic,
            clinic.user(Role::Provider),
            &format!("2030-01-07T{hour:02}:00:00Z"),
        )
        .await
        .ok();
    }
    let page = "query($after: String) { appointments(first: 2, after: $after) {
      edges { node { start patient { lastName } provider { username } type { name } } }
      pageInfo { hasNextPage endCursor } } }";
    let (mut after, mut starts) = (serde_json::Value::Null, Vec::new());
    loop {
        let response = app
            .graphql(
                Some(clinic.token(Role::FrontDesk)),
                page,
                json!({"after": after}),
            )
            .await;
        let connection = response.ok()["appointments"].clone();
        for edge in connection["edges"].as_array().unwrap() {
            assert_eq!(edge["node"]["patient"]["lastName"], "Lovelace");
            assert_eq!(edge["node"]["type"]["name"], "Consultation");
            starts.push(edge["node"]["start"].as_str().unwrap().to_owned());
        }
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        starts.len(),
        5,
        "three pages, every appointment once: {starts:?}"
    );
}
