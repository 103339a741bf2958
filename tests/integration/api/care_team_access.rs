//! Minimum necessary: a Provider reads the medical data of the patients in their care (an
//! appointment with them within the care window, past or upcoming, or an assignment) and of no
//! one else, FORBIDDEN with nothing shown; breaking glass with a reason opens one patient for the
//! break-glass period only, is audited with its reason and is listed for the ClinicAdmin, whose
//! own medical reads are audited too. Windows are moved by the owner in the test, never waited
//! out.

use chrono::{DateTime, Duration, Utc};
use hpms::foundation::role::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ApiClinic, Gql, TestApp, exec, scalar};

const MEDICAL: &str = "query($id: UUID!) { patient(id: $id) { medical { allergies } } }";
const HISTORY: &str = "query($id: UUID!) { patient(id: $id) { history { version } } }";
const BREAK_GLASS: &str =
    "mutation($p: UUID!, $r: String!) { breakGlass(patientId: $p, reason: $r) {
  id patientId userId reason grantedAt expiresAt } }";

async fn read_medical(app: &TestApp, clinic: &ApiClinic, role: Role, patient: Uuid) -> Gql {
    app.graphql(Some(clinic.token(role)), MEDICAL, json!({ "id": patient }))
        .await
}

fn allowed(response: &Gql) -> bool {
    match response.codes().as_slice() {
        [] => response.data()["patient"]["medical"]["allergies"] == "penicillin",
        [code] if code == "FORBIDDEN" => {
            assert!(
                response.data()["patient"].get("medical").is_none(),
                "a refused read shows nothing: {response:?}"
            );
            false
        }
        other => panic!("unexpected errors {other:?}: {response:?}"),
    }
}

/// Runs `sql` (with `$1` the clinic) as the owner, commits.
async fn as_owner(app: &TestApp, clinic: &ApiClinic, sql: &str, values: Vec<sea_orm::Value>) {
    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    exec(&owner, sql, values).await.unwrap();
    owner.commit().await.unwrap();
}

/// Books `patient` with the clinic's Provider `days` from now (as the front desk: the future
/// only), then moves the appointment to `days` from now as the owner.
async fn appointment_in(app: &TestApp, clinic: &ApiClinic, patient: Uuid, days: i64) {
    let start = (Utc::now() + Duration::days(2))
        .format("%Y-%m-%dT%H:00:00Z")
        .to_string();
    let booked = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id start end } }",
            json!({"i": {"patientId": patient, "providerId": clinic.user(Role::Provider),
                         "typeId": clinic.type_id, "start": start}}),
        )
        .await;
    let booked = &booked.ok()["bookAppointment"];
    let id: Uuid = booked["id"].as_str().unwrap().parse().unwrap();
    // The new times are computed here, not in SQL: Citus refuses `start_time + interval` in an
    // UPDATE (a STABLE operator on a column).
    let moved = |field: &str| {
        field
            .parse::<DateTime<Utc>>()
            .map(|at| at + Duration::days(days - 2))
            .unwrap()
    };
    as_owner(
        app,
        clinic,
        "/* test */ update appointments set start_time = $3, end_time = $4
          where tenant_id = $1 and id = $2",
        vec![
            clinic.tenant_id.into(),
            id.into(),
            moved(booked["start"].as_str().unwrap()).into(),
            moved(booked["end"].as_str().unwrap()).into(),
        ],
    )
    .await;
}

async fn new_patient(app: &TestApp, clinic: &ApiClinic) -> Uuid {
    app.create_patient_with(
        clinic,
        "Outside",
        "Care",
        json!({ "phone": "555 0100" }),
        json!({ "allergies": "penicillin" }),
    )
    .await
}

#[tokio::test]
async fn a_provider_outside_the_care_team_is_refused_breaks_glass_and_reads_for_the_window_only() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let patient = new_patient(&app, &clinic).await;

    let refused = read_medical(&app, &clinic, Role::Provider, patient).await;
    assert!(!allowed(&refused));
    assert!(
        refused.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("breakGlass"),
        "the refusal says how to break glass: {refused:?}"
    );
    let history = app
        .graphql(
            Some(clinic.token(Role::Provider)),
            HISTORY,
            json!({ "id": patient }),
        )
        .await;
    assert_eq!(
        history.codes(),
        ["FORBIDDEN"],
        "the history is medical data too"
    );

    let reason = "Patient collapsed in the waiting room; checking allergies";
    let grant = app
        .graphql(
            Some(clinic.token(Role::Provider)),
            BREAK_GLASS,
            json!({ "p": patient, "r": reason }),
        )
        .await;
    let grant = grant.ok()["breakGlass"].clone();
    assert_eq!(grant["reason"], reason);
    assert_eq!(grant["userId"], clinic.user(Role::Provider).to_string());
    let granted_at: chrono::DateTime<Utc> = grant["grantedAt"].as_str().unwrap().parse().unwrap();
    let expires_at: chrono::DateTime<Utc> = grant["expiresAt"].as_str().unwrap().parse().unwrap();
    let period = expires_at - granted_at;
    assert!(
        (period - Duration::minutes(60)).num_seconds().abs() < 5,
        "the default period is one hour: {period}"
    );

    assert!(allowed(
        &read_medical(&app, &clinic, Role::Provider, patient).await
    ));
    let other = new_patient(&app, &clinic).await;
    assert!(
        !allowed(&read_medical(&app, &clinic, Role::Provider, other).await),
        "the grant opens the one patient only"
    );

    // The period ends: the grant is moved to have been given 61 minutes ago (times from now(),
    // not from the columns: Citus refuses `column - interval` in an UPDATE).
    as_owner(
        &app,
        &clinic,
        "/* test */ alter table break_glass_grants disable trigger append_only",
        vec![],
    )
    .await;
    as_owner(
        &app,
        &clinic,
        "/* test */ update break_glass_grants
            set granted_at = now() - interval '61 minutes', expires_at = now() - interval '1 minute'
          where tenant_id = $1",
        vec![clinic.tenant_id.into()],
    )
    .await;
    as_owner(
        &app,
        &clinic,
        "/* test */ alter table break_glass_grants enable trigger append_only",
        vec![],
    )
    .await;
    assert!(!allowed(
        &read_medical(&app, &clinic, Role::Provider, patient).await
    ));

    // The ClinicAdmin sees the event, reason and all, and the audit trail has it.
    let review = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "query($p: UUID) { breakGlassEvents(patientId: $p) { edges { node { patientId userId reason } } } }",
            json!({ "p": patient }),
        )
        .await;
    assert_eq!(
        review.ok()["breakGlassEvents"]["edges"],
        json!([{ "node": { "patientId": patient.to_string(),
                           "userId": clinic.user(Role::Provider).to_string(), "reason": reason } }])
    );
    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    let audited: i64 = scalar(
        &owner,
        "/* test */ select count(*) from audit_logs where tenant_id = $1 and entity_name = 'break_glass_grants'
            and action = 'Create' and user_id = $2 and new_values ->> 'reason' = $3",
        [
            clinic.tenant_id.into(),
            clinic.user(Role::Provider).into(),
            reason.into(),
        ],
    )
    .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn an_appointment_within_the_window_past_or_upcoming_puts_a_patient_in_care() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let cases = [
        (10, true),
        (-30, true),
        (-89, true),
        (-100, false),
        (200, false),
    ];

    for (days, in_care) in cases {
        let patient = new_patient(&app, &clinic).await;
        appointment_in(&app, &clinic, patient, days).await;
        assert_eq!(
            allowed(&read_medical(&app, &clinic, Role::Provider, patient).await),
            in_care,
            "an appointment {days} days from now"
        );
    }
}

#[tokio::test]
async fn a_cancelled_appointment_puts_no_one_in_care() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let patient = new_patient(&app, &clinic).await;
    appointment_in(&app, &clinic, patient, 5).await;
    as_owner(
        &app,
        &clinic,
        "/* test */ update appointments set status = 'Cancelled', cancel_reason = 'test'
          where tenant_id = $1 and patient_id = $2",
        vec![clinic.tenant_id.into(), patient.into()],
    )
    .await;

    assert!(!allowed(
        &read_medical(&app, &clinic, Role::Provider, patient).await
    ));
}

#[tokio::test]
async fn an_assignment_puts_a_patient_in_care_until_it_ends() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let patient = new_patient(&app, &clinic).await;
    let provider = clinic.user(Role::Provider);

    app.assign_care_provider(&clinic, patient, provider).await;
    app.assign_care_provider(&clinic, patient, provider).await;
    assert!(allowed(
        &read_medical(&app, &clinic, Role::Provider, patient).await
    ));

    let ended = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "mutation($p: UUID!, $v: UUID!) { unassignCareProvider(patientId: $p, providerId: $v) }",
            json!({ "p": patient, "v": provider }),
        )
        .await;
    assert_eq!(
        ended.ok()["unassignCareProvider"],
        true,
        "one live assignment, ended"
    );
    assert!(!allowed(
        &read_medical(&app, &clinic, Role::Provider, patient).await
    ));
}

#[tokio::test]
async fn only_an_active_provider_of_the_clinic_can_be_assigned() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let other = app.clinic("south").await;

    for provider in [
        clinic.user(Role::FrontDesk),
        other.user(Role::Provider),
        Uuid::new_v4(),
    ] {
        let response = app
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                "mutation($p: UUID!, $v: UUID!) { assignCareProvider(patientId: $p, providerId: $v) { id } }",
                json!({ "p": clinic.patient_id, "v": provider }),
            )
            .await;
        assert_eq!(response.code(), "BAD_USER_INPUT", "{response:?}");
        assert_eq!(response.field(), "providerId");
    }
}

#[tokio::test]
async fn a_clinic_admin_reads_any_patients_medical_data_and_each_read_is_audited() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let patient = new_patient(&app, &clinic).await;

    assert!(allowed(
        &read_medical(&app, &clinic, Role::ClinicAdmin, patient).await
    ));

    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    let reads: i64 = scalar(
        &owner,
        "/* test */ select count(*) from audit_logs where tenant_id = $1 and action = 'Read'
            and entity_id = $2 and user_id = $3 and new_values -> 'shown' ? 'medical'",
        [
            clinic.tenant_id.into(),
            patient.to_string().into(),
            clinic.user(Role::ClinicAdmin).into(),
        ],
    )
    .await;
    assert_eq!(reads, 1);
}

#[tokio::test]
async fn breaking_glass_needs_a_reason_and_a_patient_of_the_clinic() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let other = app.clinic("south").await;
    let cases: [(Value, &str); 4] = [
        (json!({ "p": clinic.patient_id, "r": "" }), "BAD_USER_INPUT"),
        (
            json!({ "p": clinic.patient_id, "r": "   urgent " }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "p": clinic.patient_id, "r": "x".repeat(501) }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "p": other.patient_id, "r": "Another clinic's patient, please" }),
            "NOT_FOUND",
        ),
    ];

    for (variables, code) in cases {
        let response = app
            .graphql(
                Some(clinic.token(Role::Provider)),
                BREAK_GLASS,
                variables.clone(),
            )
            .await;
        assert_eq!(response.code(), code, "{variables}: {response:?}");
    }
    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    let grants: i64 = scalar(
        &owner,
        "/* test */ select count(*) from break_glass_grants where tenant_id = $1",
        [clinic.tenant_id.into()],
    )
    .await;
    assert_eq!(grants, 0, "nothing written");
}
