//! Completing an appointment raises exactly one invoice and its balanced charge, in the same
//! transaction: if billing fails, the appointment does not become Completed either.

use hpms::foundation::role::Role;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{TestApp, exec, scalar};

const INVOICE: &str = "query($id: UUID!) { invoice(id: $id) { total balance netPaid status
  lines { kind account side amount } appointment { status } patient { lastName } } }";

#[tokio::test]
async fn completing_a_visit_raises_one_invoice_with_one_balanced_charge() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (_, invoice) = app.completed_visit(&clinic, "2030-01-07T09:00:00Z").await;

    let response = app
        .graphql(
            Some(clinic.token(Role::BillingManager)),
            INVOICE,
            json!({"id": invoice}),
        )
        .await;
    assert_eq!(
        response.ok()["invoice"],
        json!({
            "total": "80.00", "balance": "80.00", "netPaid": "0.00", "status": "OPEN",
            "lines": [
                {"kind": "CHARGE", "account": "ACCOUNTS_RECEIVABLE", "side": "DEBIT", "amount": "80.00"},
                {"kind": "CHARGE", "account": "REVENUE", "side": "CREDIT", "amount": "80.00"},
            ],
            "appointment": {"status": "COMPLETED"},
            "patient": {"lastName": "Lovelace"},
        })
    );
    let listed = app
        .graphql(
            Some(clinic.token(Role::BillingManager)),
            "{ invoices { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed.ok()["invoices"]["edges"].as_array().unwrap().len(),
        1,
        "exactly one invoice"
    );
}

#[tokio::test]
async fn when_billing_fails_the_visit_is_not_completed() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let booked = app
        .book(&clinic, clinic.user(Role::Provider), "2030-01-07T09:00:00Z")
        .await;
    let id = booked.ok()["bookAppointment"]["id"].clone();
    let provider = Some(clinic.token(Role::Provider));
    let set_status = "mutation($id: UUID!, $v: Int!, $s: AppointmentStatus!) { setAppointmentStatus(id: $id, expectedVersion: $v, status: $s) { id } }";
    for (version, status) in [(1, "ARRIVED"), (2, "IN_SESSION")] {
        app.graphql(
            provider,
            set_status,
            json!({"id": id, "v": version, "s": status}),
        )
        .await
        .ok();
    }

    // Inject a failure into billing's last step: the database refuses every ledger line of this
    // clinic, so the invoice is written and then the charge fails. (One statement at a time, and
    // this clinic's lines only, so that it holds on a database other tests share.)
    for statement in [
        "create function refuse_lines() returns trigger language plpgsql as $$
         begin raise exception 'billing is down'; end $$"
            .to_owned(),
        format!(
            "create trigger refuse_lines before insert on ledger_lines for each row
             when (new.tenant_id = '{}') execute function refuse_lines()",
            clinic.tenant_id
        ),
    ] {
        app.db
            .owner
            .execute_unprepared(&statement)
            .await
            .expect("the owner installs the failure");
    }
    let completed = app
        .graphql(
            provider,
            set_status,
            json!({"id": id, "v": 3, "s": "COMPLETED"}),
        )
        .await;
    assert_eq!(completed.code(), "INTERNAL");
    assert!(
        !completed.0.to_string().contains("billing is down"),
        "no database text reaches the client"
    );

    let now = app
        .graphql(
            provider,
            "query($id: UUID!) { appointment(id: $id) { status version } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        now.ok()["appointment"],
        json!({"status": "IN_SESSION", "version": 3})
    );
    let tx = app.db.begin(clinic.scope(Role::ClinicAdmin)).await;
    let leftovers: i64 = scalar(
        &tx,
        "select (select count(*) from invoices)
              + (select count(*) from appointment_events where new_status = 'Completed')",
        [],
    )
    .await;
    assert_eq!(
        leftovers, 0,
        "no invoice and no Completed event survive the rollback"
    );

    exec(
        &app.db.owner,
        "drop trigger refuse_lines on ledger_lines",
        [],
    )
    .await
    .unwrap();
    let retried = app
        .graphql(
            provider,
            set_status,
            json!({"id": id, "v": 3, "s": "COMPLETED"}),
        )
        .await;
    assert!(retried.errors().is_empty(), "{retried:?}");
    let invoice = app
        .graphql(
            Some(clinic.token(Role::BillingManager)),
            "query($id: UUID!) { appointment(id: $id) { invoice { balance } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(invoice.ok()["appointment"]["invoice"]["balance"], "80.00");
}
