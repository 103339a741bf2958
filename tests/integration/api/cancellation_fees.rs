//! Cancellation reasons and fees: a patient's cancellation inside the appointment type's window
//! posts one fee invoice on the ledger (however often it is asked), outside it none; a NoShow
//! posts its fee; the ledger stays balanced; a BillingManager's write-off clears a fee; and the
//! clinic's reasons are recorded with the cancellation and counted by the report.

use chrono::{DateTime, Duration, DurationRound, Utc};
use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::{ApiClinic, TestApp, exec, scalar};

const SET_POLICY: &str = "mutation($t: UUID!, $w: Int!, $l: Money!, $n: Money!) {
  setCancellationPolicy(appointmentTypeId: $t, windowHours: $w, lateCancellationFee: $l, noShowFee: $n) {
    appointmentTypeId windowHours lateCancellationFee noShowFee } }";
const ADD_REASON: &str = "mutation($c: CancellationCategory!, $l: String!) {
  addCancellationReason(category: $c, label: $l) { id category label retiredAt } }";
const CANCEL: &str = "mutation($id: UUID!, $r: UUID) {
  cancelAppointment(id: $id, expectedVersion: 1, reason: \"Called in\", reasonId: $r) {
    status cancelReasonCategory cancelReasonId } }";
const INVOICE_OF: &str = "query($id: UUID!) { appointment(id: $id) { invoice {
  id kind total balance status lines { kind account side amount } } } }";

/// A start `hours` from now, on the minute (the provider works all day, every day).
fn in_hours(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours))
        .duration_trunc(Duration::minutes(1))
        .unwrap()
        .to_rfc3339()
}

/// The clinic's consultation with a 24-hour window, a late-cancellation fee of 25.00 and a
/// no-show fee of 40.00, and a patient's reason for cancelling; returns the reason's id.
async fn clinic_with_policy(app: &TestApp, slug: &str) -> (ApiClinic, String) {
    let clinic = app.clinic(slug).await;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let policy = app
        .graphql(
            admin,
            SET_POLICY,
            json!({"t": clinic.type_id, "w": 24, "l": "25.00", "n": "40.00"}),
        )
        .await;
    assert_eq!(
        policy.ok()["setCancellationPolicy"],
        json!({"appointmentTypeId": clinic.type_id, "windowHours": 24,
               "lateCancellationFee": "25.00", "noShowFee": "40.00"})
    );
    let reason = app
        .graphql(
            admin,
            ADD_REASON,
            json!({"c": "PATIENT_REQUEST", "l": "Patient unwell"}),
        )
        .await;
    let id = reason.ok()["addCancellationReason"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (clinic, id)
}

async fn booked(app: &TestApp, clinic: &ApiClinic, start: &str) -> String {
    let booked = app.book(clinic, clinic.user(Role::Provider), start).await;
    booked.ok()["bookAppointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn invoice_of(app: &TestApp, clinic: &ApiClinic, appointment: &str) -> Value {
    let answer = app
        .graphql(
            Some(clinic.token(Role::BillingManager)),
            INVOICE_OF,
            json!({"id": appointment}),
        )
        .await;
    answer.ok()["appointment"]["invoice"].clone()
}

/// How many invoices the clinic has, and how many of its journal entries do not balance.
async fn invoices_and_unbalanced_entries(app: &TestApp, clinic: &ApiClinic) -> (i64, i64) {
    let tx = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    let invoices = scalar(&tx, "select count(*) from invoices", []).await;
    let unbalanced = scalar(
        &tx,
        "select count(*) from (select entry_id from ledger_lines group by entry_id
          having sum(case when side = 'Debit' then amount else -amount end) <> 0) unbalanced",
        [],
    )
    .await;
    (invoices, unbalanced)
}

#[tokio::test]
async fn a_patients_late_cancellation_posts_one_fee_invoice_however_often_it_is_asked() {
    let app = TestApp::spawn().await;
    let (clinic, reason) = clinic_with_policy(&app, "north").await;
    let appointment = booked(&app, &clinic, &in_hours(2)).await;
    let front_desk = Some(clinic.token(Role::FrontDesk));

    let cancelled = app
        .graphql(front_desk, CANCEL, json!({"id": appointment, "r": reason}))
        .await;
    assert_eq!(
        cancelled.ok()["cancelAppointment"],
        json!({"status": "CANCELLED", "cancelReasonCategory": "PATIENT_REQUEST",
               "cancelReasonId": reason}),
        "the reason's category is recorded with it"
    );
    let again = app
        .graphql(front_desk, CANCEL, json!({"id": appointment, "r": reason}))
        .await;
    assert!(
        !again.codes().is_empty(),
        "a cancelled appointment is not cancelled twice"
    );

    let invoice = invoice_of(&app, &clinic, &appointment).await;
    assert_eq!(invoice["kind"], "LATE_CANCELLATION_FEE");
    assert_eq!(
        (&invoice["total"], &invoice["balance"], &invoice["status"]),
        (&json!("25.00"), &json!("25.00"), &json!("OPEN"))
    );
    assert_eq!(
        invoice["lines"],
        json!([
            {"kind": "CHARGE", "account": "ACCOUNTS_RECEIVABLE", "side": "DEBIT", "amount": "25.00"},
            {"kind": "CHARGE", "account": "REVENUE", "side": "CREDIT", "amount": "25.00"},
        ])
    );
    assert_eq!(
        invoices_and_unbalanced_entries(&app, &clinic).await,
        (1, 0),
        "one fee invoice, and the ledger balances"
    );

    // The database holds the line too: a second fee invoice for the appointment, or a second
    // charge under the fee's key, is refused whoever sends it.
    let tx = app.db.begin(clinic.scope(Role::BillingManager)).await;
    let second_invoice = exec(
        &tx,
        "insert into invoices (tenant_id, id, appointment_id, total_amount, status, kind)
         values ($1, gen_random_uuid(), $2, 25, 'Open', 'LateCancellationFee')",
        [
            clinic.tenant_id.into(),
            appointment.parse::<uuid::Uuid>().unwrap().into(),
        ],
    )
    .await;
    assert!(second_invoice.is_err(), "one invoice per appointment");
    drop(tx);
    let tx = app.db.begin(clinic.scope(Role::BillingManager)).await;
    let second_charge = exec(
        &tx,
        "insert into journal_entries (tenant_id, id, invoice_id, kind, idempotency_key, created_by)
         values ($1, gen_random_uuid(), $2, 'Charge', $3, $4)",
        [
            clinic.tenant_id.into(),
            invoice["id"]
                .as_str()
                .unwrap()
                .parse::<uuid::Uuid>()
                .unwrap()
                .into(),
            format!("fee:LateCancellationFee:{appointment}").into(),
            clinic.user(Role::BillingManager).into(),
        ],
    )
    .await;
    assert!(second_charge.is_err(), "one charge per appointment and fee");
}

#[tokio::test]
async fn a_cancellation_before_the_window_opens_posts_no_fee() {
    let app = TestApp::spawn().await;
    let (clinic, reason) = clinic_with_policy(&app, "north").await;
    let appointment = booked(&app, &clinic, &in_hours(72)).await;

    let cancelled = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            CANCEL,
            json!({"id": appointment, "r": reason}),
        )
        .await;
    assert_eq!(cancelled.ok()["cancelAppointment"]["status"], "CANCELLED");
    assert_eq!(invoice_of(&app, &clinic, &appointment).await, Value::Null);
    assert_eq!(invoices_and_unbalanced_entries(&app, &clinic).await, (0, 0));
}

#[tokio::test]
async fn a_late_cancellation_by_the_provider_or_the_clinic_charges_the_patient_nothing() {
    let app = TestApp::spawn().await;
    let (clinic, _) = clinic_with_policy(&app, "north").await;
    for (hours, category) in [(2, "PROVIDER_UNAVAILABLE"), (3, "CLINIC_CLOSED")] {
        let appointment = booked(&app, &clinic, &in_hours(hours)).await;
        let cancelled = app
            .graphql(
                Some(clinic.token(Role::Provider)),
                "mutation($id: UUID!, $c: CancellationCategory!) {
                   cancelAppointment(id: $id, expectedVersion: 1, reason: \"Off sick\", category: $c) { status } }",
                json!({"id": appointment, "c": category}),
            )
            .await;
        assert_eq!(cancelled.ok()["cancelAppointment"]["status"], "CANCELLED");
        assert_eq!(invoice_of(&app, &clinic, &appointment).await, Value::Null);
    }
    assert_eq!(invoices_and_unbalanced_entries(&app, &clinic).await, (0, 0));
}

#[tokio::test]
async fn a_no_show_posts_its_fee_and_a_billing_managers_write_off_clears_it() {
    let app = TestApp::spawn().await;
    let (clinic, _) = clinic_with_policy(&app, "north").await;
    let appointment = booked(&app, &clinic, &in_hours(1)).await;

    let missed = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "mutation($id: UUID!) { setAppointmentStatus(id: $id, expectedVersion: 1, status: NO_SHOW) { status } }",
            json!({"id": appointment}),
        )
        .await;
    assert_eq!(missed.ok()["setAppointmentStatus"]["status"], "NO_SHOW");
    let invoice = invoice_of(&app, &clinic, &appointment).await;
    assert_eq!(
        (&invoice["kind"], &invoice["total"], &invoice["balance"]),
        (&json!("NO_SHOW_FEE"), &json!("40.00"), &json!("40.00"))
    );
    assert_eq!(invoices_and_unbalanced_entries(&app, &clinic).await, (1, 0));

    let written_off = app
        .graphql(
            Some(clinic.token(Role::BillingManager)),
            "mutation($i: WriteOffInvoiceInput!) { writeOffInvoice(input: $i) { invoice { balance status } } }",
            json!({"i": {"invoiceId": invoice["id"], "amount": "40.00",
                         "reason": "First missed visit", "idempotencyKey": "write-off-1"}}),
        )
        .await;
    assert_eq!(
        written_off.ok()["writeOffInvoice"]["invoice"],
        json!({"balance": "0.00", "status": "PAID"})
    );
    let cleared = invoice_of(&app, &clinic, &appointment).await;
    let lines = cleared["lines"].as_array().unwrap();
    for line in [
        json!({"kind": "WRITE_OFF", "account": "BAD_DEBT", "side": "DEBIT", "amount": "40.00"}),
        json!({"kind": "WRITE_OFF", "account": "ACCOUNTS_RECEIVABLE", "side": "CREDIT", "amount": "40.00"}),
    ] {
        assert!(lines.contains(&line), "{line} in {lines:?}");
    }
    assert_eq!(
        invoices_and_unbalanced_entries(&app, &clinic).await,
        (1, 0),
        "the ledger still balances"
    );
}

#[tokio::test]
async fn cancelling_several_appointments_charges_only_the_late_ones() {
    let app = TestApp::spawn().await;
    let (clinic, reason) = clinic_with_policy(&app, "north").await;
    let late = booked(&app, &clinic, &in_hours(5)).await;
    let early = booked(&app, &clinic, &in_hours(50)).await;

    let cancelled = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "mutation($ids: [UUID!]!, $r: UUID) { cancelAppointments(ids: $ids, reason: \"Moving away\", reasonId: $r) { status } }",
            json!({"ids": [late, early], "r": reason}),
        )
        .await;
    assert_eq!(
        cancelled.ok()["cancelAppointments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        invoice_of(&app, &clinic, &late).await["kind"],
        "LATE_CANCELLATION_FEE"
    );
    assert_eq!(invoice_of(&app, &clinic, &early).await, Value::Null);
    assert_eq!(invoices_and_unbalanced_entries(&app, &clinic).await, (1, 0));
}

#[tokio::test]
async fn the_report_counts_cancellations_by_category_and_reason() {
    let app = TestApp::spawn().await;
    let (clinic, unwell) = clinic_with_policy(&app, "north").await;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let front_desk = Some(clinic.token(Role::FrontDesk));
    for hours in [100, 101] {
        let appointment = booked(&app, &clinic, &in_hours(hours)).await;
        app.graphql(front_desk, CANCEL, json!({"id": appointment, "r": unwell}))
            .await
            .ok();
    }
    let appointment = booked(&app, &clinic, &in_hours(102)).await;
    app.graphql(front_desk, CANCEL, json!({"id": appointment, "r": null}))
        .await
        .ok();

    let now: DateTime<Utc> = Utc::now();
    let report = app
        .graphql(
            admin,
            "query($f: DateTime!, $t: DateTime!) { cancellationReport(from: $f, to: $t) {
               category reason { id label } count } }",
            json!({"f": now.to_rfc3339(), "t": (now + Duration::days(30)).to_rfc3339()}),
        )
        .await;
    assert_eq!(
        report.ok()["cancellationReport"],
        json!([
            {"category": "PATIENT_REQUEST", "reason": {"id": unwell, "label": "Patient unwell"}, "count": 2},
            {"category": "OTHER", "reason": null, "count": 1},
        ])
    );
}

#[tokio::test]
async fn a_retired_reason_is_offered_no_more_and_cannot_be_given() {
    let app = TestApp::spawn().await;
    let (clinic, reason) = clinic_with_policy(&app, "north").await;
    let admin = Some(clinic.token(Role::ClinicAdmin));
    let retired = app
        .graphql(
            admin,
            "mutation($id: UUID!) { retireCancellationReason(id: $id) { id retiredAt } }",
            json!({"id": reason}),
        )
        .await;
    assert!(retired.ok()["retireCancellationReason"]["retiredAt"].is_string());

    let listed = |include: bool| {
        app.graphql(
            Some(clinic.token(Role::FrontDesk)),
            "query($all: Boolean!) { cancellationReasons(includeRetired: $all) { id } }",
            json!({ "all": include }),
        )
    };
    assert_eq!(listed(false).await.ok()["cancellationReasons"], json!([]));
    assert_eq!(
        listed(true).await.ok()["cancellationReasons"],
        json!([{ "id": reason }])
    );

    let appointment = booked(&app, &clinic, &in_hours(2)).await;
    let refused = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            CANCEL,
            json!({"id": appointment, "r": reason}),
        )
        .await;
    assert_eq!(
        (refused.code(), refused.field()),
        ("BAD_USER_INPUT".to_owned(), "reasonId".to_owned())
    );
    assert_eq!(invoices_and_unbalanced_entries(&app, &clinic).await, (0, 0));
}
