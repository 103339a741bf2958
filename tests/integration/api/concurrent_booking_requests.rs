//! API level: of simultaneous requests booking one provider's overlapping times, exactly one wins.
//!
//! Fifty `bookAppointment` requests sent to the running server at once: one books, the rest hear
//! CONFLICT naming the appointment they clash with, and the schedule lists one; the same time
//! with different providers books every time. The constraint that makes this so, in SQL:
//! `database/double_booking_exclusion.rs`.

use chrono::{DateTime, Duration, Utc};
use hpms::foundation::role::Role;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{ALL_DAY_EVERY_DAY, TestApp};

#[tokio::test]
async fn fifty_overlapping_bookings_of_one_provider_leave_exactly_one() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    let nine: DateTime<Utc> = "2030-01-07T09:00:00Z".parse().unwrap();

    // Starts 30 s apart within 25 minutes: every pair of 30-minute visits overlaps.
    let attempts = (0..50).map(|i| {
        let start = (nine + Duration::seconds(30 * i)).to_rfc3339();
        let app = &app;
        let clinic = &clinic;
        async move { app.book(clinic, provider, &start).await }
    });
    let responses = futures::future::join_all(attempts).await;

    let winners: Vec<_> = responses
        .iter()
        .filter(|response| response.errors().is_empty())
        .collect();
    assert_eq!(winners.len(), 1, "exactly one booking succeeds");
    let winner = winners[0].data()["bookAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for response in responses
        .iter()
        .filter(|response| !response.errors().is_empty())
    {
        assert_eq!(response.code(), "CONFLICT", "{response:?}");
        let message = response.errors()[0]["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains(&winner),
            "the conflict names the clashing appointment: {message}"
        );
    }

    let listed = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "{ appointments(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed.ok()["appointments"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_same_time_with_different_providers_always_books() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let mut providers = vec![clinic.user(Role::Provider)];
    for index in 0..4 {
        let created = app
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
                json!({"i": {"username": format!("dr{index}"), "password": "a long enough password", "role": "PROVIDER"}}),
            )
            .await;
        let id: Uuid = created.ok()["createUser"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        app.set_working_hours(&clinic, id, ALL_DAY_EVERY_DAY.clone())
            .await;
        providers.push(id);
    }
    let attempts = providers.iter().map(|provider| {
        let (app, clinic) = (&app, &clinic);
        async move { app.book(clinic, *provider, "2030-01-07T09:00:00Z").await }
    });
    for response in futures::future::join_all(attempts).await {
        assert!(response.errors().is_empty(), "{response:?}");
    }
}
