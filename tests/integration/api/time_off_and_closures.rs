//! Time off and closures keep bookings out: `availableSlots` skips them (on daylight-saving days
//! too) and honours one-day changes of hours; booking into them is CONFLICT naming them unless a
//! ClinicAdmin overrides with a reason, which the appointment and the audit trail keep; entering
//! time off over bookings answers with them, and `cancelAppointments` cancels them together.

use chrono::{Datelike, NaiveDate, Utc, Weekday};
use hpms::foundation::role::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ApiClinic, TestApp, exec};

const SLOTS: &str = "query($p: UUID!, $d: NaiveDate!, $t: UUID!) { availableSlots(providerId: $p, date: $d, typeId: $t) }";
const ADD_TIME_OFF: &str = "mutation($i: AddTimeOffInput!) { addTimeOff(input: $i) { timeOff { id reason start end } affectedAppointments { id start } } }";

/// The `n`th `weekday` of `month` next year: ahead whenever the test runs.
fn next_year(month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(Utc::now().year() + 1, month, weekday, n).unwrap()
}

async fn new_york(app: &TestApp, clinic: &ApiClinic) {
    let tx = app.db.begin_as_platform().await;
    exec(
        &tx,
        "update tenants set time_zone = 'America/New_York' where id = $1",
        [clinic.tenant_id.into()],
    )
    .await
    .expect("the platform sets a clinic's time zone");
    tx.commit().await.unwrap();
}

async fn slots(app: &TestApp, clinic: &ApiClinic, date: NaiveDate) -> Vec<String> {
    let response = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            SLOTS,
            json!({"p": clinic.user(Role::Provider), "d": date, "t": clinic.type_id}),
        )
        .await;
    response.ok()["availableSlots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| slot.as_str().unwrap().to_owned())
        .collect()
}

async fn add_time_off(app: &TestApp, clinic: &ApiClinic, role: Role, input: Value) -> Value {
    let mut input = input;
    input["providerId"] = json!(clinic.user(Role::Provider));
    app.graphql(Some(clinic.token(role)), ADD_TIME_OFF, json!({"i": input}))
        .await
        .ok()["addTimeOff"]
        .clone()
}

#[tokio::test]
async fn slots_skip_time_off_and_closures_on_daylight_saving_days() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    new_york(&app, &clinic).await;
    // Clocks go forward on the second Sunday of March: 10:00 EDT is 14:00 UTC.
    let spring = next_year(3, Weekday::Sun, 2);
    add_time_off(
        &app,
        &clinic,
        Role::FrontDesk,
        json!({"start": format!("{spring}T14:00:00Z"), "end": format!("{spring}T16:00:00Z"), "reason": "Dentist"}),
    )
    .await;
    let offered = slots(&app, &clinic, spring).await;
    // The 23-hour day's 92 starts, less the last (it would run past midnight) and the 9 whose
    // half hour would touch 10:00–12:00 local.
    assert_eq!(offered.len(), 82, "{offered:?}");
    assert!(offered.contains(&format!("{spring}T13:30:00+00:00")));
    assert!(!offered.contains(&format!("{spring}T13:45:00+00:00")));
    assert!(!offered.contains(&format!("{spring}T15:45:00+00:00")));
    assert!(offered.contains(&format!("{spring}T16:00:00+00:00")));

    // Clocks go back on the first Sunday of November: the closed day is 25 hours long.
    let autumn = next_year(11, Weekday::Sun, 1);
    let closure = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "mutation($d: NaiveDate!) { addClinicClosure(input: {firstDay: $d, reason: \"Staff day\"}) { timeOff { start end providerId } } }",
            json!({"d": autumn}),
        )
        .await;
    let closed = &closure.ok()["addClinicClosure"]["timeOff"];
    assert_eq!(closed["start"], format!("{autumn}T04:00:00+00:00"));
    assert_eq!(
        closed["end"],
        format!("{}T05:00:00+00:00", autumn.succ_opt().unwrap())
    );
    assert_eq!(closed["providerId"], Value::Null);
    assert!(slots(&app, &clinic, autumn).await.is_empty());
    assert!(
        !slots(&app, &clinic, autumn.succ_opt().unwrap())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn booking_into_time_off_is_a_conflict_naming_it_unless_a_clinic_admin_overrides_with_a_reason()
 {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let monday = next_year(2, Weekday::Mon, 1);
    let added = add_time_off(
        &app,
        &clinic,
        Role::Provider,
        json!({"firstDay": monday, "lastDay": monday.succ_opt().unwrap(), "reason": "Conference"}),
    )
    .await;
    let time_off_id = added["timeOff"]["id"].as_str().unwrap().to_owned();

    let refused = app
        .book(
            &clinic,
            clinic.user(Role::Provider),
            &format!("{monday}T10:00:00Z"),
        )
        .await;
    assert_eq!(refused.code(), "CONFLICT");
    let message = refused.errors()[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("Conference") && message.contains(&time_off_id),
        "{message}"
    );

    let book = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id bookedOverTimeOff overrideReason } }";
    let input = |reason: Option<&str>| {
        json!({"i": {"patientId": clinic.patient_id, "providerId": clinic.user(Role::Provider),
                     "typeId": clinic.type_id, "start": format!("{monday}T10:00:00Z"),
                     "overrideTimeOff": true, "overrideReason": reason}})
    };
    let front_desk = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            book,
            input(Some("Urgent")),
        )
        .await;
    assert_eq!(front_desk.code(), "FORBIDDEN");
    let no_reason = app
        .graphql(Some(clinic.token(Role::ClinicAdmin)), book, input(None))
        .await;
    assert_eq!(no_reason.field(), "input.overrideReason");

    let overridden = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            book,
            input(Some("Post-op check cannot wait")),
        )
        .await;
    let booked = &overridden.ok()["bookAppointment"];
    assert_eq!(booked["bookedOverTimeOff"], true);
    assert_eq!(booked["overrideReason"], "Post-op check cannot wait");
    let audit = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "query($id: String) { auditLogs(entityName: \"appointments\", entityId: $id) { edges { node { action userId newValues } } } }",
            json!({"id": booked["id"]}),
        )
        .await;
    let rows = audit.ok()["auditLogs"]["edges"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0]["node"];
    assert_eq!(row["action"], "CREATE");
    assert_eq!(
        row["userId"],
        json!(clinic.user(Role::ClinicAdmin).to_string())
    );
    assert_eq!(row["newValues"]["booked_over_time_off"], true);
    assert_eq!(
        row["newValues"]["override_reason"],
        "Post-op check cannot wait"
    );

    // Removed, the time off no longer stands in the way.
    app.graphql(
        Some(clinic.token(Role::FrontDesk)),
        "mutation($id: UUID!) { removeTimeOff(id: $id) }",
        json!({"id": time_off_id}),
    )
    .await
    .ok();
    let after = app
        .book(
            &clinic,
            clinic.user(Role::Provider),
            &format!("{monday}T12:00:00Z"),
        )
        .await;
    assert!(after.errors().is_empty(), "{after:?}");
}

#[tokio::test]
async fn time_off_over_three_bookings_lists_them_and_cancel_appointments_cancels_them_together() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    let tuesday = next_year(4, Weekday::Tue, 2);
    let mut booked = Vec::new();
    for time in ["09:00", "11:30", "15:00"] {
        let response = app
            .book(&clinic, provider, &format!("{tuesday}T{time}:00Z"))
            .await;
        booked.push(response.ok()["bookAppointment"]["id"].clone());
    }
    // Outside the time off: not listed.
    app.book(&clinic, provider, &format!("{tuesday}T17:00:00Z"))
        .await
        .ok();

    let added = add_time_off(
        &app,
        &clinic,
        Role::FrontDesk,
        json!({"start": format!("{tuesday}T08:00:00Z"), "end": format!("{tuesday}T16:00:00Z"), "reason": "Sick"}),
    )
    .await;
    let affected: Vec<Value> = added["affectedAppointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|appointment| appointment["id"].clone())
        .collect();
    assert_eq!(affected, booked);

    let cancel = "mutation($ids: [UUID!]!) { cancelAppointments(ids: $ids, reason: \"Provider off sick\", category: PROVIDER_UNAVAILABLE) { id status cancelReason } }";
    // One that cannot be cancelled (not found) cancels none.
    let mut with_unknown = affected.clone();
    with_unknown.push(json!(Uuid::new_v4()));
    let refused = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            cancel,
            json!({"ids": with_unknown}),
        )
        .await;
    assert_eq!(refused.code(), "NOT_FOUND");
    let still = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "query($id: UUID!) { appointment(id: $id) { status } }",
            json!({"id": affected[0]}),
        )
        .await;
    assert_eq!(still.ok()["appointment"]["status"], "SCHEDULED");

    let cancelled = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            cancel,
            json!({"ids": affected}),
        )
        .await;
    let cancelled = cancelled.ok()["cancelAppointments"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(cancelled.len(), 3);
    assert!(
        cancelled
            .iter()
            .all(|row| row["status"] == "CANCELLED" && row["cancelReason"] == "Provider off sick")
    );
}

#[tokio::test]
async fn a_one_day_change_of_hours_replaces_the_weekly_hours_of_that_date_only() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let provider = clinic.user(Role::Provider);
    app.set_working_hours(
        &clinic,
        provider,
        json!([{"day": "FRIDAY", "start": "09:00:00", "end": "17:00:00"}]),
    )
    .await;
    let friday = next_year(5, Weekday::Fri, 2);
    let saturday = friday.succ_opt().unwrap();
    let set = "mutation($p: UUID!, $d: NaiveDate!, $h: [DayPeriodInput!]) { setProviderDayHours(providerId: $p, date: $d, hours: $h) { start end } }";
    let shorter = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            set,
            json!({"p": provider, "d": friday, "h": [{"start": "09:00:00", "end": "10:00:00"}]}),
        )
        .await;
    assert_eq!(
        shorter.ok()["setProviderDayHours"],
        json!([{"start": "09:00:00", "end": "10:00:00"}])
    );
    app.graphql(
        Some(clinic.token(Role::ClinicAdmin)),
        set,
        json!({"p": provider, "d": saturday, "h": [{"start": "10:00:00", "end": "11:00:00"}]}),
    )
    .await
    .ok();

    let at = |day: NaiveDate, time: &str| format!("{day}T{time}:00+00:00");
    assert_eq!(
        slots(&app, &clinic, friday).await,
        [
            at(friday, "09:00"),
            at(friday, "09:15"),
            at(friday, "09:30")
        ]
    );
    assert_eq!(
        slots(&app, &clinic, saturday).await,
        [
            at(saturday, "10:00"),
            at(saturday, "10:15"),
            at(saturday, "10:30")
        ]
    );
    let next_friday = friday + chrono::Duration::weeks(1);
    assert_eq!(slots(&app, &clinic, next_friday).await.len(), 31);
    let outside = app.book(&clinic, provider, &at(friday, "11:00")).await;
    assert_eq!(outside.code(), "BAD_USER_INPUT");

    // Null goes back to the weekly hours.
    let back = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            set,
            json!({"p": provider, "d": friday, "h": null}),
        )
        .await;
    assert_eq!(
        back.ok()["setProviderDayHours"],
        json!([{"start": "09:00:00", "end": "17:00:00"}])
    );
    assert_eq!(slots(&app, &clinic, friday).await.len(), 31);
}
