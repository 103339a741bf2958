//! The `Money` scalar: amounts travel as decimal strings ("80.00"), never as JSON numbers, so no
//! floating point touches money on its way in (async-graphql's own Decimal scalar reads JSON
//! numbers through f64); on the way out they always carry two decimal places.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use rust_decimal::Decimal;

/// An amount of money, exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Money(pub Decimal);

/// An exact amount of money as a decimal string such as "80.00": digits with an optional sign and
/// decimal point, never a JSON number. Always returned with two decimal places.
#[Scalar(name = "Money")]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::custom(
                "an amount is a string such as \"80.00\", not a JSON number",
            ));
        };
        let exact = text
            .trim()
            .chars()
            .all(|c| c.is_ascii_digit() || ".-".contains(c));
        match Decimal::from_str_exact(text.trim()) {
            Ok(amount) if exact => Ok(Money(amount)),
            _ => Err(InputValueError::custom(
                "not an amount; write it like \"80.00\"",
            )),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        let mut amount = self.0;
        amount.rescale(2);
        Value::String(amount.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_strings_read_exactly_and_written_with_two_places() {
        let parsed = Money::parse(Value::String("10.005".into())).unwrap();
        assert_eq!(parsed.0.to_string(), "10.005", "read exactly, judged later");
        assert!(Money::parse(Value::Number(1.into())).is_err());
        assert!(Money::parse(Value::String("1e3".into())).is_err());
        assert!(Money::parse(Value::String("ten".into())).is_err());
        assert_eq!(
            Money("5".parse().unwrap()).to_value(),
            Value::String("5.00".into())
        );
    }
}
