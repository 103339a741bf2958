//! Completing an appointment raises exactly one invoice and its balanced charge, in the same
//! transaction: if billing fails, the appointment does not become Completed either.

use hpms::identity::Role;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{TestApp, exec};

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
                {"kind": "Charge", "account": "AccountsReceivable", "side": "Debit", "amount": "80.00"},
                {"kind": "Charge", "account": "Revenue", "side": "Credit", "amount": "80.00"},
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

    // Inject a failure into billing's step: this test database refuses every new invoice.
    app.db
        .owner
        .execute_unprepared(
            "create function refuse_invoices() returns trigger language plpgsql as $$
             begin raise exception 'billing is down'; end $$;
             create trigger refuse_invoices before insert on invoices
               for each row execute function refuse_invoices()",
        )
        .await
        .expect("the owner installs the failure");
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

    exec(
        &app.db.owner,
        "drop trigger refuse_invoices on invoices",
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
