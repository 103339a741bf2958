//! A server killed with SIGKILL in the middle of its work loses nothing it committed and leaves
//! nothing half-done: 200 completions and payments race, the process dies while they run, and
//! afterwards every Completed appointment has exactly one invoice and one charge, every journal
//! entry balances, every status change has its audit row and its event, and the clinic's event
//! numbers have no gap.

use hpms::foundation::db::TenantTransaction;
use std::sync::Arc;

use hpms::foundation::role::Role;
use serde_json::json;
use tokio::sync::Notify;

use crate::helpers::server_process::ServerProcess;
use crate::helpers::{TestApp, scalar};

const SET_STATUS: &str = "mutation($id: UUID!, $v: Int!, $s: AppointmentStatus!) {
  setAppointmentStatus(id: $id, expectedVersion: $v, status: $s) { id } }";
const PAY: &str =
    "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { invoice { id } } }";

#[tokio::test]
async fn a_server_killed_mid_work_leaves_every_committed_change_whole() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let mut invoices = Vec::new();
    let mut in_session = Vec::new();
    for index in 0..100 {
        let day = 1 + index / 10;
        let hour = 8 + index % 10;
        let (_, invoice) = app
            .completed_visit(&clinic, &format!("2031-04-{day:02}T{hour:02}:00:00Z"))
            .await;
        invoices.push(invoice);
        let booked = app
            .book(
                &clinic,
                clinic.user(Role::Provider),
                &format!("2031-05-{day:02}T{hour:02}:00:00Z"),
            )
            .await;
        let id = booked.ok()["bookAppointment"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.set_status(&clinic, &id, 1, "ARRIVED").await.ok();
        app.set_status(&clinic, &id, 2, "IN_SESSION").await.ok();
        in_session.push(id);
    }

    let server = ServerProcess::start(&app, &[]).await;
    let address = server.address;
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let half_answered = Arc::new(Notify::new());
    let client = reqwest::Client::new();
    let mut work = Vec::new();
    let requests = in_session
        .iter()
        .map(|id| {
            (
                clinic.token(Role::Provider).to_owned(),
                json!({"query": SET_STATUS, "variables": {"id": id, "v": 3, "s": "COMPLETED"}}),
            )
        })
        .chain(invoices.iter().enumerate().map(|(index, invoice)| {
            (
                clinic.token(Role::BillingManager).to_owned(),
                json!({"query": PAY, "variables": {"i": {"invoiceId": invoice, "amount": "10.00",
                    "method": "CARD", "idempotencyKey": format!("crash-{index}")}}}),
            )
        }));
    for (token, body) in requests {
        let (client, answered, half_answered) = (
            client.clone(),
            Arc::clone(&answered),
            Arc::clone(&half_answered),
        );
        work.push(tokio::spawn(async move {
            let sent = client
                .post(format!("http://{address}/graphql"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await;
            if sent.is_ok() && answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 50 {
                half_answered.notify_one();
            }
        }));
    }
    half_answered.notified().await;
    server.kill();
    for request in work {
        request.await.unwrap();
    }
    let killed_after = answered.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        killed_after < 200,
        "the server died with requests in flight ({killed_after} of 200 answered)"
    );

    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    let completed: i64 = scalar(
        &owner,
        "select count(*) from appointments where status = 'Completed'",
        [],
    )
    .await;
    assert!(
        completed >= 100,
        "the visits completed before the test began"
    );
    let invoices_per_completed = counts(
        &owner,
        "select count(i.id) from appointments a left join invoices i on i.tenant_id = a.tenant_id and i.appointment_id = a.id
          where a.status = 'Completed' group by a.id",
    )
    .await;
    assert!(
        invoices_per_completed.iter().all(|&n| n == 1),
        "every Completed appointment has exactly one invoice: {invoices_per_completed:?}"
    );
    let charges_per_invoice = counts(
        &owner,
        "select count(e.id) from invoices i
           left join journal_entries e
             on e.tenant_id = i.tenant_id and e.invoice_id = i.id and e.kind = 'Charge'
          group by i.id",
    )
    .await;
    assert!(
        charges_per_invoice.iter().all(|&n| n == 1),
        "every invoice has exactly one charge: {charges_per_invoice:?}"
    );
    let unbalanced: i64 = scalar(
        &owner,
        "select count(*) from (select entry_id from ledger_lines group by entry_id
           having sum(case when side = 'Debit' then amount else -amount end) <> 0) unbalanced",
        [],
    )
    .await;
    assert_eq!(unbalanced, 0, "every journal entry balances");
    let payments_per_key = counts(
        &owner,
        "select count(*) from journal_entries where kind = 'Payment' group by idempotency_key",
    )
    .await;
    assert!(payments_per_key.iter().all(|&n| n == 1));
    let changes_without_audit: i64 = scalar(
        &owner,
        "select count(*) from appointment_events e where not exists (
           select 1 from audit_logs l where l.tenant_id = e.tenant_id and l.entity_name = 'appointments'
              and l.entity_id = e.appointment_id::text
              and coalesce(l.new_values->>'status', '') = e.new_status)",
        [],
    )
    .await;
    assert_eq!(
        changes_without_audit, 0,
        "every status change has its audit row"
    );
    let completions_without_event: i64 = scalar(
        &owner,
        "select count(*) from appointments a where a.status = 'Completed' and not exists (
           select 1 from appointment_events e
            where e.tenant_id = a.tenant_id and e.appointment_id = a.id and e.new_status = 'Completed')",
        [],
    )
    .await;
    assert_eq!(
        completions_without_event, 0,
        "every completion has its event"
    );
    let (events, last): (i64, i64) = (
        scalar(&owner, "select count(*) from appointment_events", []).await,
        scalar(
            &owner,
            "select coalesce(max(id), 0) from appointment_events",
            [],
        )
        .await,
    );
    assert_eq!(events, last, "event numbers 1..{last} with no gap");
    println!(
        "killed after {killed_after} of 200 answers; {completed} appointments Completed, all whole"
    );
}

/// The counts a grouped `count` query returns, one a group.
async fn counts(owner: &TenantTransaction, grouped_count: &str) -> Vec<i64> {
    scalar(
        owner,
        &format!("select coalesce(array_agg(n), '{{}}') from ({grouped_count}) as counts(n)"),
        [],
    )
    .await
}
