//! API level: random postings through GraphQL keep every invoice equal to a model of its rules.
//!
//! Random sequences of payments, refunds, write-offs and voids (proptest) sent to the running
//! server by a BillingManager: every request is accepted exactly when the model allows it, every
//! invoice's balance, paid amount and status equal the model's after every step, and every
//! journal entry, and the ledger as a whole, balances. The API offers no way to change or remove
//! a posting. What PostgreSQL guarantees of the ledger by itself:
//! `database/ledger_invariants.rs`.

use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use hpms::foundation::role::Role;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::Decimal;
use serde_json::json;

use crate::helpers::{ApiClinic, TestApp, scalar};

#[derive(Clone, Debug)]
enum Op {
    Pay(u32),
    Refund(u32),
    WriteOff(u32),
    Void,
}

fn op() -> impl Strategy<Value = Op> {
    // Amounts in cents up to 50.00 against an 80.00 charge, so every rule gets exercised.
    prop_oneof![
        4 => (1u32..=5000).prop_map(Op::Pay),
        2 => (1u32..=5000).prop_map(Op::Refund),
        2 => (1u32..=5000).prop_map(Op::WriteOff),
        1 => Just(Op::Void),
    ]
}

#[derive(Debug, Default)]
struct Model {
    balance: i64,
    paid: i64,
    void: bool,
}

impl Model {
    /// Applies `op` if the rules allow it; whether they did.
    fn apply(&mut self, op: &Op) -> bool {
        match *op {
            Op::Pay(cents) if !self.void && i64::from(cents) <= self.balance => {
                self.balance -= i64::from(cents);
                self.paid += i64::from(cents);
            }
            Op::Refund(cents) if !self.void && i64::from(cents) <= self.paid => {
                self.balance += i64::from(cents);
                self.paid -= i64::from(cents);
            }
            Op::WriteOff(cents) if !self.void && i64::from(cents) <= self.balance => {
                self.balance -= i64::from(cents);
            }
            Op::Void if !self.void && self.paid == 0 && self.balance > 0 => {
                self.balance = 0;
                self.void = true;
            }
            // Voiding again is a retry: it answers with the void already posted.
            Op::Void if self.void => {}
            _ => return false,
        }
        true
    }

    fn status(&self) -> &'static str {
        match (self.void, self.balance) {
            (true, _) => "VOID",
            (false, 0) => "PAID",
            _ => "OPEN",
        }
    }
}

fn cents(amount: u32) -> String {
    format!("{}.{:02}", amount / 100, amount % 100)
}

async fn run_case(
    app: &TestApp,
    clinic: &ApiClinic,
    case: usize,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let start = (chrono::DateTime::parse_from_rfc3339("2031-02-01T00:00:00Z").unwrap()
        + chrono::Duration::hours(case as i64))
    .to_rfc3339();
    let (_, invoice) = app.completed_visit(clinic, &start).await;
    let billing = Some(clinic.token(Role::BillingManager));
    let mut model = Model {
        balance: 8000,
        ..Model::default()
    };
    for (step, op) in ops.iter().enumerate() {
        let key = format!("case{case}-step{step}");
        let (query, variables) = match op {
            Op::Pay(amount) => (
                "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { entry { id } } }",
                json!({"i": {"invoiceId": invoice, "amount": cents(*amount), "method": "CASH", "idempotencyKey": key}}),
            ),
            Op::Refund(amount) => (
                "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) { entry { id } } }",
                json!({"i": {"invoiceId": invoice, "amount": cents(*amount), "reason": "r", "idempotencyKey": key}}),
            ),
            Op::WriteOff(amount) => (
                "mutation($i: WriteOffInvoiceInput!) { writeOffInvoice(input: $i) { entry { id } } }",
                json!({"i": {"invoiceId": invoice, "amount": cents(*amount), "reason": "r", "idempotencyKey": key}}),
            ),
            Op::Void => (
                "mutation($id: UUID!) { voidInvoice(invoiceId: $id, reason: \"r\") { entry { id } } }",
                json!({"id": invoice}),
            ),
        };
        let response = app.graphql(billing, query, variables).await;
        let allowed = model.apply(op);
        let expected_codes: Vec<String> = if allowed {
            vec![]
        } else {
            vec!["BAD_USER_INPUT".into()]
        };
        prop_assert_eq!(response.codes(), expected_codes, "step {} {:?}", step, op);

        let now = app
            .graphql(
                billing,
                "query($id: UUID!) { invoice(id: $id) { balance netPaid status } }",
                json!({"id": invoice}),
            )
            .await;
        let expected = json!({"balance": cents(model.balance as u32), "netPaid": cents(model.paid as u32), "status": model.status()});
        prop_assert_eq!(
            &now.ok()["invoice"],
            &expected,
            "after step {} {:?}",
            step,
            op
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_postings_keep_every_invoice_equal_to_its_model_and_the_ledger_balanced() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    // Each case (and each shrinking step) completes a visit of its own.
    let cases = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&proptest::collection::vec(op(), 1..12), |ops| {
        let case = cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(run_case(&app, &clinic, case, &ops))
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }

    let tx = app.db.begin(clinic.scope(Role::BillingManager)).await;
    let unbalanced_entries: i64 = scalar(
        &tx,
        "select count(*) from (select entry_id from ledger_lines group by entry_id
           having sum(case side when 'Debit' then amount else -amount end) <> 0) unbalanced",
        [],
    )
    .await;
    assert_eq!(unbalanced_entries, 0);
    let (debits, credits): (Decimal, Decimal) = (
        scalar(
            &tx,
            "select coalesce(sum(amount), 0) from ledger_lines where side = 'Debit'",
            [],
        )
        .await,
        scalar(
            &tx,
            "select coalesce(sum(amount), 0) from ledger_lines where side = 'Credit'",
            [],
        )
        .await,
    );
    assert_eq!(debits, credits);
    assert!(debits > Decimal::ZERO, "the cases posted something");
}

#[test]
fn the_api_can_only_append_to_the_ledger() {
    // The Mutation type's field names, read with a GraphQL parser (async-graphql's, which reads
    // no schema description: so the schema's own SDL): descriptions are free text.
    let served = hpms::server::schema::schema_builder().finish().sdl();
    let sdl = async_graphql::parser::parse_schema(served).expect("the SDL parses");
    let fields: Vec<String> = sdl
        .definitions
        .into_iter()
        .find_map(|definition| match definition {
            TypeSystemDefinition::Type(definition) if definition.node.name.node == "Mutation" => {
                match definition.node.kind {
                    TypeKind::Object(object) => Some(
                        object
                            .fields
                            .into_iter()
                            .map(|field| field.node.name.node.to_string())
                            .collect(),
                    ),
                    _ => None,
                }
            }
            _ => None,
        })
        .expect("a Mutation type");
    let billing: Vec<&str> = fields
        .iter()
        .map(String::as_str)
        .filter(|name| {
            ["invoice", "payment", "ledger", "journal", "entry"]
                .iter()
                .any(|word| name.to_lowercase().contains(word))
        })
        .collect();
    assert_eq!(
        billing,
        [
            "recordPayment",
            "refundPayment",
            "writeOffInvoice",
            "voidInvoice"
        ]
    );
}
