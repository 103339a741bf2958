//! Money is exactly right under retries and concurrency: a payment sent again with its key is
//! recorded once and answered the same; concurrent payments never overpay an invoice; bad
//! amounts, over-refunds and postings to void invoices are refused with nothing written; only
//! the billing roles post, and another clinic's invoice is NOT_FOUND.

use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::{CLINIC_ROLES, TestApp};

const PAY: &str = "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) {
  entry { id kind amount idempotencyKey paymentMethod } invoice { balance netPaid status } } }";
const REFUND: &str = "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) { invoice { balance netPaid status } } }";
const WRITE_OFF: &str = "mutation($i: WriteOffInvoiceInput!) { writeOffInvoice(input: $i) { invoice { balance status } } }";
const VOID: &str = "mutation($id: UUID!) { voidInvoice(invoiceId: $id, reason: \"Billed in error\") { invoice { balance status } } }";

fn payment(invoice: &str, amount: &str, key: &str) -> Value {
    json!({"i": {"invoiceId": invoice, "amount": amount, "method": "CARD", "idempotencyKey": key}})
}

#[tokio::test]
async fn a_payment_sent_five_times_with_one_key_is_recorded_once() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (_, invoice) = app.completed_visit(&clinic, "2030-01-07T09:00:00Z").await;
    let billing = Some(clinic.token(Role::BillingManager));

    let mut answers = Vec::new();
    for _ in 0..5 {
        let response = app
            .graphql(billing, PAY, payment(&invoice, "30.00", "pay-1"))
            .await;
        answers.push(response.ok()["recordPayment"].clone());
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "the same answer each time: {answers:?}"
    );
    assert_eq!(
        answers[0]["invoice"],
        json!({"balance": "50.00", "netPaid": "30.00", "status": "OPEN"})
    );
    assert_eq!(answers[0]["entry"]["paymentMethod"], "CARD");

    let reused = app
        .graphql(billing, PAY, payment(&invoice, "31.00", "pay-1"))
        .await;
    assert_eq!(reused.code(), "CONFLICT", "a key names one payment");
    let lines = app
        .graphql(
            billing,
            "query($id: UUID!) { invoice(id: $id) { lines { kind } } }",
            json!({"id": invoice}),
        )
        .await;
    let payments = lines.ok()["invoice"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["kind"] == "PAYMENT")
        .count();
    assert_eq!(payments, 2, "one payment entry: a debit and a credit");
}

#[tokio::test]
async fn twenty_concurrent_payments_never_overpay() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (_, invoice) = app.completed_visit(&clinic, "2030-01-07T09:00:00Z").await;
    let billing = clinic.token(Role::BillingManager);

    // 20 × 7.00 = 140.00 against a balance of 80.00: eleven fit, nine must be refused.
    let attempts = (0..20).map(|index| {
        let (app, invoice) = (&app, &invoice);
        async move {
            app.graphql(
                Some(billing),
                PAY,
                payment(invoice, "7.00", &format!("p{index}")),
            )
            .await
        }
    });
    let responses = futures::future::join_all(attempts).await;
    let accepted = responses
        .iter()
        .filter(|response| response.errors().is_empty())
        .count();
    for response in responses
        .iter()
        .filter(|response| !response.errors().is_empty())
    {
        assert_eq!(response.code(), "BAD_USER_INPUT", "{response:?}");
    }
    assert_eq!(accepted, 11);
    let now = app
        .graphql(
            Some(billing),
            "query($id: UUID!) { invoice(id: $id) { balance netPaid } }",
            json!({"id": invoice}),
        )
        .await;
    assert_eq!(
        now.ok()["invoice"],
        json!({"balance": "3.00", "netPaid": "77.00"})
    );
}

#[tokio::test]
async fn bad_amounts_over_refunds_and_void_invoices_are_refused_with_nothing_written() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (_, invoice) = app.completed_visit(&clinic, "2030-01-07T09:00:00Z").await;
    let billing = Some(clinic.token(Role::BillingManager));
    app.graphql(billing, PAY, payment(&invoice, "20.00", "first"))
        .await
        .ok();

    let refund = |amount: &str, key: &str| json!({"i": {"invoiceId": invoice, "amount": amount, "reason": "Overcharged", "idempotencyKey": key}});
    let write_off = |amount: &str| json!({"i": {"invoiceId": invoice, "amount": amount, "reason": "Hardship", "idempotencyKey": "w1"}});
    let cases = [
        ("zero", PAY, payment(&invoice, "0", "k1"), "input.amount"),
        (
            "negative",
            PAY,
            payment(&invoice, "-5.00", "k2"),
            "input.amount",
        ),
        (
            "three decimals",
            PAY,
            payment(&invoice, "5.005", "k3"),
            "input.amount",
        ),
        (
            "more than the balance",
            PAY,
            payment(&invoice, "60.01", "k4"),
            "input.amount",
        ),
        ("not a number", PAY, payment(&invoice, "ten", "k5"), "input"),
        (
            "blank key",
            PAY,
            payment(&invoice, "1.00", " "),
            "input.idempotencyKey",
        ),
        (
            "refund more than paid",
            REFUND,
            refund("20.01", "r1"),
            "input.amount",
        ),
        (
            "write off more than owed",
            WRITE_OFF,
            write_off("60.01"),
            "input.amount",
        ),
        (
            "void with money paid",
            VOID,
            json!({"id": invoice}),
            "invoiceId",
        ),
    ];
    for (case, query, variables, field) in cases {
        let before = app.footprint(&clinic).await;
        let response = app.graphql(billing, query, variables).await;
        assert_eq!(response.code(), "BAD_USER_INPUT", "{case}: {response:?}");
        let message = response.errors()[0]["message"].as_str().unwrap().to_owned();
        assert!(
            response.field() == field || message.contains(&format!("\"{field}")),
            "{case} names {field}: {response:?}"
        );
        assert_eq!(
            app.footprint(&clinic).await,
            before,
            "{case}: nothing written"
        );
    }

    // Refund the payment, void, and the invoice takes nothing more.
    let refunded = app.graphql(billing, REFUND, refund("20.00", "r2")).await;
    assert_eq!(
        refunded.ok()["refundPayment"]["invoice"],
        json!({"balance": "80.00", "netPaid": "0.00", "status": "OPEN"})
    );
    let voided = app.graphql(billing, VOID, json!({"id": invoice})).await;
    assert_eq!(
        voided.ok()["voidInvoice"]["invoice"],
        json!({"balance": "0.00", "status": "VOID"})
    );
    let after_void = app
        .graphql(billing, PAY, payment(&invoice, "1.00", "late"))
        .await;
    assert_eq!(after_void.code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn only_billing_roles_post_and_nobody_reaches_another_clinics_invoice() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let other = app.clinic("south").await;
    let (_, invoice) = app.completed_visit(&clinic, "2030-01-07T09:00:00Z").await;

    for role in CLINIC_ROLES {
        let response = app
            .graphql(
                Some(clinic.token(role)),
                PAY,
                payment(&invoice, "1.00", &format!("{role:?}")),
            )
            .await;
        let expected = if matches!(role, Role::ClinicAdmin | Role::BillingManager) {
            vec![]
        } else {
            vec!["FORBIDDEN".to_owned()]
        };
        assert_eq!(response.codes(), expected, "{role:?} paying");
    }
    for role in [Role::ClinicAdmin, Role::BillingManager] {
        let theirs = app
            .graphql(
                Some(other.token(role)),
                "query($id: UUID!) { invoice(id: $id) { id } }",
                json!({"id": invoice}),
            )
            .await;
        assert_eq!(theirs.code(), "NOT_FOUND");
        let pay_theirs = app
            .graphql(Some(other.token(role)), PAY, payment(&invoice, "1.00", "x"))
            .await;
        assert_eq!(pay_theirs.code(), "NOT_FOUND");
    }

    // A BillingManager works the invoice with the patient's name but no PHI.
    let seen = app
        .graphql(
            Some(clinic.token(Role::BillingManager)),
            "query($id: UUID!) { invoice(id: $id) { balance patient { lastName contact { phone } medical { notes } } } }",
            json!({"id": invoice}),
        )
        .await;
    assert_eq!(seen.codes(), ["FORBIDDEN", "FORBIDDEN"]);
    assert_eq!(seen.data()["invoice"]["patient"]["lastName"], "Lovelace");
    assert!(!seen.0.to_string().contains("penicillin"));
    let aging = app
        .graphql(
            Some(clinic.token(Role::BillingManager)),
            "{ receivablesAging { days0To30 over90Days total } }",
            json!({}),
        )
        .await;
    // 80.00 less the two 1.00 payments, raised today.
    assert_eq!(
        aging.ok()["receivablesAging"],
        json!({"days0To30": "78.00", "over90Days": "0.00", "total": "78.00"})
    );
}

#[tokio::test]
async fn every_posting_is_retry_safe_and_a_key_names_one_posting() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let other = app.clinic("south").await;
    let (_, invoice) = app.completed_visit(&clinic, "2030-01-07T09:00:00Z").await;
    let (_, second) = app.completed_visit(&clinic, "2030-01-07T10:00:00Z").await;
    let billing = Some(clinic.token(Role::BillingManager));
    let write_off = json!({"i": {"invoiceId": invoice, "amount": "5.00", "reason": "Hardship", "idempotencyKey": "w-1"}});
    let first = app.graphql(billing, WRITE_OFF, write_off.clone()).await;
    let again = app.graphql(billing, WRITE_OFF, write_off).await;
    assert_eq!(
        first.ok(),
        again.ok(),
        "a retried write-off answers the same"
    );
    assert_eq!(
        again.ok()["writeOffInvoice"]["invoice"]["balance"],
        "75.00",
        "and is posted once"
    );

    // Ten requests with one key at once: one payment, ten identical answers.
    let attempts = (0..10).map(|_| app.graphql(billing, PAY, payment(&invoice, "10.00", "burst")));
    let answers = futures::future::join_all(attempts).await;
    let entries: Vec<_> = answers
        .iter()
        .map(|answer| answer.ok()["recordPayment"]["entry"].clone())
        .collect();
    assert!(
        entries.windows(2).all(|pair| pair[0] == pair[1]),
        "{entries:?}"
    );

    for (case, variables) in [
        ("another invoice", payment(&second, "10.00", "burst")),
        ("another amount", payment(&invoice, "11.00", "burst")),
        (
            "another method",
            json!({"i": {"invoiceId": invoice, "amount": "10.00", "method": "CASH", "idempotencyKey": "burst"}}),
        ),
    ] {
        assert_eq!(
            app.graphql(billing, PAY, variables).await.code(),
            "CONFLICT",
            "{case}"
        );
    }
    let (_, theirs) = app.completed_visit(&other, "2030-01-07T09:00:00Z").await;
    let same_key_elsewhere = app
        .graphql(
            Some(other.token(Role::BillingManager)),
            PAY,
            payment(&theirs, "10.00", "burst"),
        )
        .await;
    assert!(
        same_key_elsewhere.errors().is_empty(),
        "keys are per clinic: {same_key_elsewhere:?}"
    );

    let void = json!({"id": second});
    let voided = app.graphql(billing, "mutation($id: UUID!) { voidInvoice(invoiceId: $id, reason: \"Billed in error\") { entry { id } } }", void.clone()).await;
    let again = app.graphql(billing, "mutation($id: UUID!) { voidInvoice(invoiceId: $id, reason: \"Billed in error\") { entry { id } } }", void).await;
    assert_eq!(
        voided.ok(),
        again.ok(),
        "voiding again answers with the same void"
    );
}

#[tokio::test]
async fn invoices_list_by_status_and_patient_and_age_into_buckets() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let billing = Some(clinic.token(Role::BillingManager));
    let mut invoices = Vec::new();
    for hour in 9..13 {
        invoices.push(
            app.completed_visit(&clinic, &format!("2030-01-07T{hour}:00:00Z"))
                .await
                .1,
        );
    }
    app.graphql(billing, PAY, payment(&invoices[0], "80.00", "full"))
        .await
        .ok();
    assert_eq!(
        invoice_ids(&app, billing, json!({"s": "PAID"})).await,
        vec![invoices[0].clone()],
        "stored status follows the ledger"
    );
    assert_eq!(
        invoice_ids(&app, billing, json!({"s": "OPEN"})).await.len(),
        3
    );
    assert_eq!(
        invoice_ids(&app, billing, json!({"p": clinic.patient_id}))
            .await
            .len(),
        4
    );
    let stranger = app.create_patient(&clinic, "No", "Visits").await;
    assert!(
        invoice_ids(&app, billing, json!({"p": stranger}))
            .await
            .is_empty()
    );

    // Age the three open invoices 30, 31 and 91 days (as the owner: the API cannot backdate).
    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    for (invoice, days) in invoices[1..].iter().zip([30, 31, 91]) {
        crate::helpers::exec(&owner, "update invoices set created_at = now() - make_interval(days => $1) where id = $2::uuid",
            [days.into(), invoice.as_str().into()]).await.unwrap();
    }
    owner.commit().await.unwrap();
    let aging = app
        .graphql(
            billing,
            "{ receivablesAging { days0To30 days31To60 days61To90 over90Days total } }",
            json!({}),
        )
        .await;
    assert_eq!(
        aging.ok()["receivablesAging"],
        json!({"days0To30": "80.00", "days31To60": "80.00", "days61To90": "0.00", "over90Days": "80.00", "total": "240.00"})
    );
}

/// The ids of the invoices listed for `variables` (status, patient), sorted.
async fn invoice_ids(app: &TestApp, token: Option<&str>, variables: Value) -> Vec<String> {
    let response = app
        .graphql(
            token,
            "query($s: InvoiceStatus, $p: UUID) { invoices(status: $s, patientId: $p) { edges { node { id } } } }",
            variables,
        )
        .await;
    let mut ids: Vec<String> = response.ok()["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}
