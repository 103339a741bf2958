//! When the database cannot keep up, requests fail fast with UNAVAILABLE and write nothing: a
//! statement stuck longer than the statement timeout is cancelled, and with every pooled
//! connection busy a request gives up after the acquire timeout instead of hanging. Service
//! returns by itself once the database frees up.

use hpms::foundation::db::TenantTransaction;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hpms::foundation::role::Role;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{ApiClinic, Gql, TestApp, exec, wait_for_blocked_sessions};

const RENAME: &str = "mutation($id: UUID!, $name: String!) { updatePatient(input: {id: $id, firstName: $name}) { id } }";

/// Holds the clinic's patient row locked, as a long transaction elsewhere would, until dropped.
async fn lock_patient(app: &TestApp, clinic: &ApiClinic) -> TenantTransaction {
    let holder = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    exec(
        &holder,
        "select 1 from patients where id = $1 and tenant_id = $2 for update",
        [clinic.patient_id.into(), clinic.tenant_id.into()],
    )
    .await
    .expect("the row locks");
    holder
}

fn assert_unavailable(response: &Gql, saying: &str) {
    assert_eq!(response.code(), "UNAVAILABLE");
    let message = response.errors()[0]["message"].as_str().unwrap().to_owned();
    assert!(message.contains(saying), "{message}");
}

async fn first_name(app: &TestApp, clinic: &ApiClinic, id: Uuid) -> String {
    let read = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "query($id: UUID!) { patient(id: $id) { firstName } }",
            json!({"id": id}),
        )
        .await;
    read.ok()["patient"]["firstName"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_statement_longer_than_the_timeout_is_cancelled_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let server = app
        .instance_with(|settings| settings.statement_timeout_ms = 300)
        .await;
    let before = app.footprint(&clinic).await;
    let holder = lock_patient(&app, &clinic).await;

    let started = Instant::now();
    let stuck = app
        .graphql_at(
            server,
            Some(clinic.token(Role::ClinicAdmin)),
            RENAME,
            json!({"id": clinic.patient_id, "name": "Renamed"}),
        )
        .await;
    let waited = started.elapsed();
    assert_unavailable(&stuck, "took longer than the server allows");
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");

    holder.commit().await.unwrap();
    assert_eq!(app.footprint(&clinic).await, before, "nothing was written");
    assert_eq!(first_name(&app, &clinic, clinic.patient_id).await, "Ada");
}

#[tokio::test]
async fn with_every_connection_busy_a_request_fails_fast_and_service_returns_afterwards() {
    let app = Arc::new(TestApp::spawn().await);
    let clinic = app.clinic("north").await;
    let server = app
        .instance_with(|settings| {
            settings.db_pool_size = 2;
            settings.db_acquire_timeout_seconds = 1;
        })
        .await;
    let holder = lock_patient(&app, &clinic).await;
    // Two renames wait on the lock, holding both of the instance's connections.
    let blocked: Vec<_> = ["First", "Second"]
        .into_iter()
        .map(|name| {
            let (app, token) = (Arc::clone(&app), clinic.token(Role::ClinicAdmin).to_owned());
            let id = clinic.patient_id;
            tokio::spawn(async move {
                app.graphql_at(
                    server,
                    Some(&token),
                    RENAME,
                    json!({"id": id, "name": name}),
                )
                .await
            })
        })
        .collect();
    wait_for_blocked_sessions(&app.db, 2).await;

    let started = Instant::now();
    let list = "{ patients(first: 1) { edges { node { id } } } }";
    let refused = app
        .graphql_at(server, Some(clinic.token(Role::FrontDesk)), list, json!({}))
        .await;
    let waited = started.elapsed();
    assert_unavailable(&refused, "the database is busy");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "gave up after {waited:?}, not after the 1 s acquire timeout"
    );

    holder.rollback().await.unwrap();
    for rename in blocked {
        rename.await.unwrap().ok();
    }
    let served = app
        .graphql_at(server, Some(clinic.token(Role::FrontDesk)), list, json!({}))
        .await;
    served.ok();
}
