//! API level: status changes through GraphQL make DESIGN.md's moves and refuse the rest, by name.
//!
//! Every (from, to) pair sent to the running server by a ClinicAdmin (`setAppointmentStatus`,
//! `cancelAppointment`): allowed moves succeed, the rest are BAD_USER_INPUT naming both states;
//! a visit Cancelled or marked NoShow frees its slot for the next booking. What PostgreSQL
//! enforces underneath, whatever the server sends: `database/appointment_state_machine.rs`.

use chrono::{DateTime, Duration, Utc};
use hpms::foundation::role::Role;
use serde_json::json;

use crate::helpers::{ApiClinic, TestApp};

const STATES: [&str; 6] = [
    "SCHEDULED",
    "ARRIVED",
    "IN_SESSION",
    "COMPLETED",
    "NO_SHOW",
    "CANCELLED",
];

/// DESIGN.md: Scheduled → Arrived → InSession → Completed; Scheduled/Arrived → NoShow;
/// Scheduled → Cancelled.
const ALLOWED: [(&str, &str); 6] = [
    ("SCHEDULED", "ARRIVED"),
    ("ARRIVED", "IN_SESSION"),
    ("IN_SESSION", "COMPLETED"),
    ("SCHEDULED", "NO_SHOW"),
    ("ARRIVED", "NO_SHOW"),
    ("SCHEDULED", "CANCELLED"),
];

/// How to reach each state from Scheduled.
fn path_to(state: &str) -> &'static [&'static str] {
    match state {
        "SCHEDULED" => &[],
        "ARRIVED" => &["ARRIVED"],
        "IN_SESSION" => &["ARRIVED", "IN_SESSION"],
        "COMPLETED" => &["ARRIVED", "IN_SESSION", "COMPLETED"],
        "NO_SHOW" => &["NO_SHOW"],
        "CANCELLED" => &["CANCELLED"],
        _ => unreachable!("{state}"),
    }
}

/// Moves the appointment to `state` as the clinic's ClinicAdmin; returns the response.
async fn step(
    app: &TestApp,
    clinic: &ApiClinic,
    id: &str,
    version: i64,
    state: &str,
) -> crate::helpers::Gql {
    let admin = Some(clinic.token(Role::ClinicAdmin));
    if state == "CANCELLED" {
        app.graphql(
            admin,
            "mutation($id: UUID!, $v: Int!) { cancelAppointment(id: $id, expectedVersion: $v, reason: \"Patient called\") { version status } }",
            json!({"id": id, "v": version}),
        )
        .await
    } else {
        app.graphql(
            admin,
            "mutation($id: UUID!, $v: Int!, $s: AppointmentStatus!) { setAppointmentStatus(id: $id, expectedVersion: $v, status: $s) { version status } }",
            json!({"id": id, "v": version, "s": state}),
        )
        .await
    }
}

#[tokio::test]
async fn every_transition_is_allowed_or_refused_as_the_design_says() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    let first: DateTime<Utc> = "2030-01-07T08:00:00Z".parse().unwrap();
    let mut failures = Vec::new();

    for (index, (from, to)) in STATES
        .iter()
        .flat_map(|from| STATES.iter().map(move |to| (*from, *to)))
        .enumerate()
    {
        let start = (first + Duration::hours(index as i64)).to_rfc3339();
        let booked = app.book(&clinic, provider, &start).await;
        let id = booked.ok()["bookAppointment"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut version = 1;
        for state in path_to(from) {
            let response = step(&app, &clinic, &id, version, state).await;
            version = response.ok().as_object().unwrap().values().next().unwrap()["version"]
                .as_i64()
                .unwrap();
        }
        let response = step(&app, &clinic, &id, version, to).await;
        let allowed = ALLOWED.contains(&(from, to));
        match (allowed, response.codes().as_slice()) {
            (true, []) => {}
            (false, [code]) if code == "BAD_USER_INPUT" => {
                let message = response.errors()[0]["message"].as_str().unwrap().to_owned();
                let (from_name, to_name) = (pascal(from), pascal(to));
                if to != "CANCELLED"
                    && to != from
                    && !(message.contains(&from_name) && message.contains(&to_name))
                {
                    failures.push(format!(
                        "{from} -> {to}: the message names neither state: {message}"
                    ));
                }
            }
            (_, codes) => {
                failures.push(format!("{from} -> {to}: allowed {allowed}, got {codes:?}"))
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// "IN_SESSION" → "InSession", as messages spell states.
fn pascal(state: &str) -> String {
    state
        .split('_')
        .map(|word| word[..1].to_owned() + &word[1..].to_lowercase())
        .collect()
}

#[tokio::test]
async fn a_cancelled_or_no_show_appointment_frees_its_slot() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    for (start, end_state) in [
        ("2030-01-07T09:00:00Z", "CANCELLED"),
        ("2030-01-07T10:00:00Z", "NO_SHOW"),
    ] {
        let booked = app.book(&clinic, provider, start).await;
        let id = booked.ok()["bookAppointment"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(app.book(&clinic, provider, start).await.code(), "CONFLICT");
        step(&app, &clinic, &id, 1, end_state).await.ok();
        let again = app.book(&clinic, provider, start).await;
        assert!(
            again.errors().is_empty(),
            "after {end_state} the slot books again: {again:?}"
        );
    }
}
