//! Database level: journal entries balance, postings are immutable, an idempotency key posts once.
//!
//! SQL as the application role (and the owner), no server: an unbalanced entry fails at commit
//! and leaves nothing; no one, not even the owner, updates or removes a ledger row, nor adds a
//! line to an entry posted earlier; payments and refunds carry an idempotency key, recorded once
//! per clinic; an appointment has at most one invoice. What the billing API does with these
//! rules: `api/invoice_postings_against_a_model.rs`.

use uuid::Uuid;

use crate::helpers::{
    Actor, Clinic, TestDb, assert_sqlstate, count, exec, scalar, sqlstate, violated_constraint,
};

async fn fixture_invoice(db: &TestDb, clinic: &Clinic) -> Uuid {
    let tx = db.begin(clinic.admin()).await;
    scalar(&tx, "select id from invoices limit 1", []).await
}

#[tokio::test]
async fn an_unbalanced_journal_entry_fails_at_commit_and_leaves_nothing() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let invoice = fixture_invoice(&db, &clinic).await;
    let before = count(&db.begin(clinic.admin()).await, "ledger_lines").await;

    for (what, lines) in [
        (
            "debits exceed credits",
            vec![
                ("Cash", "Debit", "50.00"),
                ("AccountsReceivable", "Credit", "40.00"),
            ],
        ),
        ("a single line", vec![("Cash", "Debit", "50.00")]),
        ("no lines at all", vec![]),
    ] {
        let tx = db.begin(clinic.admin()).await;
        clinic
            .post_entry(&tx, invoice, "Payment", Some(what), &lines)
            .await
            .expect("each statement is fine on its own; the balance is checked at commit");
        let error = tx.commit().await.expect_err(what);
        assert_eq!(
            sqlstate(&error).as_deref(),
            Some("23514"),
            "{what}: {error}"
        );
        assert_eq!(
            violated_constraint(&error).as_deref(),
            Some("journal_entry_balanced"),
            "{what}"
        );
    }
    assert_eq!(
        count(&db.begin(clinic.admin()).await, "ledger_lines").await,
        before
    );
}

#[tokio::test]
async fn a_balanced_journal_entry_commits() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let invoice = fixture_invoice(&db, &clinic).await;

    let tx = db.begin(clinic.admin()).await;
    clinic
        .post_entry(
            &tx,
            invoice,
            "Payment",
            Some("pay-1"),
            &[
                ("Cash", "Debit", "30.00"),
                ("AccountsReceivable", "Credit", "20.00"),
                ("AccountsReceivable", "Credit", "10.00"),
            ],
        )
        .await
        .unwrap();
    tx.commit().await.expect("a balanced entry commits");

    let tx = db.begin(clinic.admin()).await;
    let receivable: String = scalar(
        &tx,
        "select sum(case side when 'Debit' then amount else -amount end)::text
           from ledger_lines where account = 'AccountsReceivable'",
        [],
    )
    .await;
    assert_eq!(
        receivable, "50.00",
        "80.00 charged by the fixture, 30.00 paid"
    );
}

#[tokio::test]
async fn ledger_rows_cannot_be_changed_or_removed_even_by_the_owner() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;

    db.assert_refused(
        Actor::Owner(clinic.admin()),
        [
            "update ledger_lines set amount = amount + 1",
            "delete from ledger_lines",
            "update journal_entries set kind = 'Void'",
            "delete from journal_entries",
            "truncate ledger_lines cascade",
        ],
    )
    .await;
    let tx = db.begin(clinic.admin()).await;
    assert_eq!(count(&tx, "ledger_lines").await, 2);
}

#[tokio::test]
async fn a_payment_idempotency_key_is_recorded_once_per_clinic() {
    let db = TestDb::new().await;
    let a = db.create_clinic("alpha").await;
    let b = db.create_clinic("beta").await;
    let payment = [
        ("Cash", "Debit", "10.00"),
        ("AccountsReceivable", "Credit", "10.00"),
    ];

    let a_invoice = fixture_invoice(&db, &a).await;
    let tx = db.begin(a.admin()).await;
    a.post_entry(&tx, a_invoice, "Payment", Some("retry-me"), &payment)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let tx = db.begin(a.admin()).await;
    let retried = a
        .post_entry(&tx, a_invoice, "Payment", Some("retry-me"), &payment)
        .await;
    let error = retried.expect_err("the retried payment must not record twice");
    assert_eq!(sqlstate(&error).as_deref(), Some("23505"));
    assert_eq!(
        violated_constraint(&error).as_deref(),
        Some("journal_entries_idempotency_key")
    );
    tx.rollback().await.unwrap();

    let b_invoice = fixture_invoice(&db, &b).await;
    let tx = db.begin(b.admin()).await;
    b.post_entry(&tx, b_invoice, "Payment", Some("retry-me"), &payment)
        .await
        .expect("another clinic may use the same key");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn no_line_can_join_an_entry_after_the_transaction_that_posted_it() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let tx = db.begin(clinic.admin()).await;
    let committed_entry: Uuid = scalar(&tx, "select id from journal_entries limit 1", []).await;

    // A balanced pair would pass the balance check, yet it would rewrite a posted entry.
    let appended = exec(
        &tx,
        "insert into ledger_lines (tenant_id, entry_id, account, side, amount)
         values ($1, $2, 'Cash', 'Debit', 5), ($1, $2, 'Revenue', 'Credit', 5)",
        [clinic.tenant_id.into(), committed_entry.into()],
    )
    .await;
    let error = appended.expect_err("lines for an entry posted earlier are refused");
    assert_eq!(sqlstate(&error).as_deref(), Some("23514"));
    assert_eq!(
        violated_constraint(&error).as_deref(),
        Some("ledger_lines_same_transaction")
    );
}

#[tokio::test]
async fn an_appointment_has_at_most_one_invoice() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let tx = db.begin(clinic.admin()).await;

    let second = exec(
        &tx,
        "insert into invoices (tenant_id, appointment_id, total_amount)
         select tenant_id, appointment_id, total_amount from invoices limit 1",
        [],
    )
    .await;
    let error = second.expect_err("a second invoice for the same appointment");
    assert_eq!(sqlstate(&error).as_deref(), Some("23505"));
    assert_eq!(
        violated_constraint(&error).as_deref(),
        Some("invoices_one_per_appointment")
    );
}

#[tokio::test]
async fn payments_and_refunds_carry_an_idempotency_key() {
    let db = TestDb::new().await;
    let clinic = db.create_clinic("alpha").await;
    let invoice = fixture_invoice(&db, &clinic).await;

    for kind in ["Payment", "Refund"] {
        let tx = db.begin(clinic.admin()).await;
        let keyless = clinic.post_entry(&tx, invoice, kind, None, &[]).await;
        assert_sqlstate(
            keyless,
            "23514",
            &format!("a {kind} without an idempotency key"),
        );
    }
}
