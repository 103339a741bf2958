//! Bookings start between now and the booking horizon (two years by default): the front desk
//! can book neither 1997 nor 9003; a ClinicAdmin may backdate with a reason, which the
//! appointment and the audit trail keep.

use chrono::{Duration, Utc};
use hpms::foundation::role::Role;
use serde_json::json;

use crate::helpers::TestApp;

const BOOK: &str = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id backdated overrideReason } }";

#[tokio::test]
async fn the_front_desk_cannot_book_in_the_past_or_beyond_the_horizon() {
    let app = TestApp::spawn_adjusted(|settings| settings.booking_horizon_days = 730).await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    let before = app.footprint(&clinic).await;
    for start in ["1997-05-05T10:00:00Z", "9003-05-05T10:00:00Z"] {
        let refused = app.book(&clinic, provider, start).await;
        assert_eq!(refused.field(), "input.start", "{start}");
        assert_eq!(refused.code(), "BAD_USER_INPUT");
    }
    let beyond = (Utc::now() + Duration::days(731)).format("%Y-%m-%dT10:00:00Z");
    let refused = app.book(&clinic, provider, &beyond.to_string()).await;
    assert!(
        refused.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("730 days ahead")
    );
    assert_eq!(app.footprint(&clinic).await, before);

    let within = (Utc::now() + Duration::days(700)).format("%Y-%m-%dT10:00:00Z");
    let booked = app.book(&clinic, provider, &within.to_string()).await;
    assert!(booked.errors().is_empty(), "{booked:?}");

    // A slot beyond the horizon is not offered either.
    let slots = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "query($p: UUID!, $d: NaiveDate!, $t: UUID!) { availableSlots(providerId: $p, date: $d, typeId: $t) }",
            json!({"p": provider, "d": (Utc::now() + Duration::days(740)).date_naive(), "t": clinic.type_id}),
        )
        .await;
    assert_eq!(slots.ok()["availableSlots"], json!([]));
}

#[tokio::test]
async fn a_clinic_admins_backdating_needs_a_reason_and_is_audited() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let input = |reason: Option<&str>| {
        json!({"i": {"patientId": clinic.patient_id, "providerId": clinic.user(Role::Provider),
                     "typeId": clinic.type_id, "start": "2026-01-05T10:00:00Z",
                     "backdate": true, "overrideReason": reason}})
    };
    let front_desk = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            BOOK,
            input(Some("Seen on paper")),
        )
        .await;
    assert_eq!(front_desk.code(), "FORBIDDEN");
    let no_reason = app
        .graphql(Some(clinic.token(Role::ClinicAdmin)), BOOK, input(None))
        .await;
    assert_eq!(no_reason.field(), "input.overrideReason");

    let backdated = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            BOOK,
            input(Some("Seen during the outage")),
        )
        .await;
    let booked = &backdated.ok()["bookAppointment"];
    assert_eq!(booked["backdated"], true);
    assert_eq!(booked["overrideReason"], "Seen during the outage");
    let audit = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "query($id: String) { auditLogs(entityName: \"appointments\", entityId: $id) { edges { node { userId newValues } } } }",
            json!({"id": booked["id"]}),
        )
        .await;
    let row = audit.ok()["auditLogs"]["edges"][0]["node"].clone();
    assert_eq!(
        row["userId"],
        json!(clinic.user(Role::ClinicAdmin).to_string())
    );
    assert_eq!(row["newValues"]["booked_in_the_past"], true);
    assert_eq!(
        row["newValues"]["override_reason"],
        "Seen during the outage"
    );
}
