//! Billing values: money that cannot hold a bad amount, and the names the ledger stores.

use async_graphql::Enum;
use rust_decimal::Decimal;

use crate::foundation::error::ApiError;

/// The largest single posting accepted.
const MAX_AMOUNT: i64 = 1_000_000_000;

/// A positive amount with at most 2 decimal places.
pub fn amount(field: &str, value: Decimal) -> Result<Decimal, ApiError> {
    if value <= Decimal::ZERO {
        return Err(ApiError::bad_input(field, "must be more than 0"));
    }
    if value.scale() > 2 {
        return Err(ApiError::bad_input(
            field,
            "must have at most 2 decimal places",
        ));
    }
    if value > Decimal::from(MAX_AMOUNT) {
        return Err(ApiError::bad_input(field, "is too large"));
    }
    Ok(value.round_dp(2))
}

/// What an invoice bills.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvoiceKind {
    /// A completed visit, at the price agreed at booking.
    Visit,
    /// The fee for a patient's cancellation inside the appointment type's cancellation window.
    LateCancellationFee,
    /// The fee for a patient who did not come.
    NoShowFee,
}

impl InvoiceKind {
    /// The name stored in `invoices.kind` (schema.sql checks the same list).
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceKind::Visit => "Visit",
            InvoiceKind::LateCancellationFee => "LateCancellationFee",
            InvoiceKind::NoShowFee => "NoShowFee",
        }
    }

    pub fn parse(stored: &str) -> Option<InvoiceKind> {
        [
            InvoiceKind::Visit,
            InvoiceKind::LateCancellationFee,
            InvoiceKind::NoShowFee,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == stored)
    }
}

/// Where an invoice stands; derived from its ledger after every posting.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvoiceStatus {
    /// Something is still owed: the balance is not zero.
    Open,
    /// Nothing is owed: the balance is zero through payments and write-offs, or the
    /// appointment was free.
    Paid,
    /// Voided; nothing more can be posted to it.
    Void,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Open => "Open",
            InvoiceStatus::Paid => "Paid",
            InvoiceStatus::Void => "Void",
        }
    }

    pub fn parse(stored: &str) -> Option<InvoiceStatus> {
        [
            InvoiceStatus::Open,
            InvoiceStatus::Paid,
            InvoiceStatus::Void,
        ]
        .into_iter()
        .find(|status| status.as_str() == stored)
    }
}

/// What a journal entry records.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// The bill for a completed appointment or a fee, posted automatically: debits
    /// AccountsReceivable, credits Revenue.
    Charge,
    /// Money received: debits Cash, credits AccountsReceivable.
    Payment,
    /// Money given back, which is owed again: debits AccountsReceivable, credits Cash.
    Refund,
    /// An amount owed and forgiven: debits BadDebt, credits AccountsReceivable.
    WriteOff,
    /// Cancels what is still owed on an unpaid invoice: debits Revenue, credits
    /// AccountsReceivable.
    Void,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Charge => "Charge",
            EntryKind::Payment => "Payment",
            EntryKind::Refund => "Refund",
            EntryKind::WriteOff => "WriteOff",
            EntryKind::Void => "Void",
        }
    }

    pub fn parse(stored: &str) -> Option<EntryKind> {
        [
            EntryKind::Charge,
            EntryKind::Payment,
            EntryKind::Refund,
            EntryKind::WriteOff,
            EntryKind::Void,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == stored)
    }

    /// The account debited and the account credited by an entry of this kind. Each entry is one
    /// debit and one credit of the same amount, so it balances by construction (and PostgreSQL
    /// checks it at commit).
    pub fn accounts(self) -> (&'static str, &'static str) {
        match self {
            EntryKind::Charge => ("AccountsReceivable", "Revenue"),
            EntryKind::Payment => ("Cash", "AccountsReceivable"),
            EntryKind::Refund => ("AccountsReceivable", "Cash"),
            EntryKind::WriteOff => ("BadDebt", "AccountsReceivable"),
            EntryKind::Void => ("Revenue", "AccountsReceivable"),
        }
    }
}

/// How a payment was made.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentMethod {
    /// Paid in notes and coins.
    Cash,
    /// Paid by credit or debit card.
    Card,
    /// Paid by check.
    Check,
    /// Paid by bank transfer.
    BankTransfer,
    /// Paid by the patient's insurer.
    Insurance,
}

impl PaymentMethod {
    const ALL: [PaymentMethod; 5] = [
        PaymentMethod::Cash,
        PaymentMethod::Card,
        PaymentMethod::Check,
        PaymentMethod::BankTransfer,
        PaymentMethod::Insurance,
    ];

    pub fn parse(stored: &str) -> Option<PaymentMethod> {
        PaymentMethod::ALL
            .into_iter()
            .find(|method| method.as_str() == stored)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "Cash",
            PaymentMethod::Card => "Card",
            PaymentMethod::Check => "Check",
            PaymentMethod::BankTransfer => "BankTransfer",
            PaymentMethod::Insurance => "Insurance",
        }
    }
}

/// The ledger's accounts.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    /// What patients owe the clinic: debits less credits here are an invoice's balance.
    AccountsReceivable,
    /// What the clinic has billed for care: credited by charges, debited by voids.
    Revenue,
    /// Money received, whatever the payment method: debited by payments, credited by refunds.
    Cash,
    /// Amounts owed that the clinic forgave: debited by write-offs.
    BadDebt,
}

impl Account {
    pub fn parse(stored: &str) -> Option<Account> {
        match stored {
            "AccountsReceivable" => Some(Account::AccountsReceivable),
            "Revenue" => Some(Account::Revenue),
            "Cash" => Some(Account::Cash),
            "BadDebt" => Some(Account::BadDebt),
            _ => None,
        }
    }
}

/// Which side of its account a ledger line posts to; each journal entry has one of each, for the
/// same amount.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Increases AccountsReceivable, Cash or BadDebt; decreases Revenue.
    Debit,
    /// Decreases AccountsReceivable, Cash or BadDebt; increases Revenue.
    Credit,
}

impl Side {
    pub fn parse(stored: &str) -> Option<Side> {
        match stored {
            "Debit" => Some(Side::Debit),
            "Credit" => Some(Side::Credit),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_positive_with_two_decimals_at_most() {
        assert!(amount("a", "0".parse().unwrap()).is_err());
        assert!(amount("a", "-5".parse().unwrap()).is_err());
        assert!(amount("a", "10.005".parse().unwrap()).is_err());
        assert_eq!(
            amount("a", "10.50".parse().unwrap()).unwrap().to_string(),
            "10.50"
        );
        assert!(
            amount("a", "10.500".parse().unwrap()).is_err(),
            "three places as written"
        );
    }

    #[test]
    fn every_entry_kind_moves_receivables_the_right_way() {
        let receivable_change = |kind: EntryKind| match kind.accounts() {
            ("AccountsReceivable", _) => 1,
            (_, "AccountsReceivable") => -1,
            _ => 0,
        };
        assert_eq!(receivable_change(EntryKind::Charge), 1);
        assert_eq!(receivable_change(EntryKind::Payment), -1);
        assert_eq!(receivable_change(EntryKind::Refund), 1);
        assert_eq!(receivable_change(EntryKind::WriteOff), -1);
        assert_eq!(receivable_change(EntryKind::Void), -1);
    }
}
