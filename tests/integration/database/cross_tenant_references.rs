//! A row can never point at another clinic's row, even when the id is known: foreign keys between
//! tenant tables are composite and include tenant_id (foreign-key checks bypass RLS, so a plain
//! `patient_id` reference would accept a guessed id from another clinic).

use crate::helpers::{TestDb, assert_sqlstate, count, exec, scalar};

#[tokio::test]
async fn an_appointment_cannot_reference_another_clinics_patient_provider_or_type() {
    let db = TestDb::new().await;
    let a = db.create_clinic("alpha").await;
    let b = db.create_clinic("beta").await;

    let cases = [
        (
            "another clinic's patient",
            a.patient_id,
            b.provider_id,
            b.type_id,
        ),
        (
            "another clinic's provider",
            b.patient_id,
            a.provider_id,
            b.type_id,
        ),
        (
            "another clinic's appointment type",
            b.patient_id,
            b.provider_id,
            a.type_id,
        ),
    ];
    for (what, patient_id, provider_id, type_id) in cases {
        let tx = db.begin(b.admin()).await;
        let booked = exec(
            &tx,
            "insert into appointments (tenant_id, patient_id, provider_id, type_id, start_time, end_time, price)
             values ($1, $2, $3, $4, '2030-02-01 10:00+00', '2030-02-01 10:30+00', 10)",
            [b.tenant_id.into(), patient_id.into(), provider_id.into(), type_id.into()],
        )
        .await;
        assert_sqlstate(booked, "23503", what);
    }
    let tx = db.begin(b.admin()).await;
    assert_eq!(
        count(&tx, "appointments").await,
        1,
        "only the fixture's appointment exists"
    );
}

#[tokio::test]
async fn billing_rows_cannot_reference_another_clinics_appointment_invoice_or_entry() {
    let db = TestDb::new().await;
    let a = db.create_clinic("alpha").await;
    let b = db.create_clinic("beta").await;
    let a_view = db.begin(a.admin()).await;
    let a_appointment: uuid::Uuid =
        scalar(&a_view, "select id from appointments limit 1", []).await;
    let a_invoice: uuid::Uuid = scalar(&a_view, "select id from invoices limit 1", []).await;
    let a_entry: uuid::Uuid = scalar(&a_view, "select id from journal_entries limit 1", []).await;
    a_view.rollback().await.unwrap();

    let cases = [
        (
            "invoice for another clinic's appointment",
            "insert into invoices (tenant_id, appointment_id, total_amount) values ($1, $2, 10)",
            a_appointment,
        ),
        (
            "journal entry for another clinic's invoice",
            "insert into journal_entries (tenant_id, invoice_id, kind) values ($1, $2, 'WriteOff')",
            a_invoice,
        ),
        (
            "ledger line in another clinic's journal entry",
            "insert into ledger_lines (tenant_id, entry_id, account, side, amount) values ($1, $2, 'Cash', 'Debit', 10)",
            a_entry,
        ),
    ];
    for (what, sql, foreign_id) in cases {
        let tx = db.begin(b.admin()).await;
        assert_sqlstate(
            exec(&tx, sql, [b.tenant_id.into(), foreign_id.into()]).await,
            "23503",
            what,
        );
    }
}
