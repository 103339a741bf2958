//! Relay-style paging shared by every list: `first` (at most `MAX_PAGE_SIZE`) and an opaque
//! `after` cursor that encodes the sort key of the last row seen. Lists use keyset pagination
//! (`where key > cursor order by key limit first + 1`), so a page costs the same at row 10 and
//! at row 100,000, and rows inserted meanwhile never shift a page.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::foundation::error::ApiError;

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// A validated page request over a list sorted by `K`.
pub struct PageRequest<K> {
    pub first: u64,
    pub after: Option<K>,
}

impl<K: DeserializeOwned> PageRequest<K> {
    pub fn new(first: Option<i32>, after: Option<&str>) -> Result<PageRequest<K>, ApiError> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if (1..=MAX_PAGE_SIZE as i32).contains(&n) => n as u64,
            Some(_) => {
                return Err(ApiError::bad_input(
                    "first",
                    format!("must be between 1 and {MAX_PAGE_SIZE}"),
                ));
            }
        };
        let after = after.map(decode_cursor).transpose()?;
        Ok(PageRequest { first, after })
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn limit(&self) -> u64 {
        self.first + 1
    }
}

/// A list's share of a request's complexity budget: its page size times what each row asks for,
/// so `first: 100` with a deep selection costs what it will cost to resolve.
pub fn complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let rows = first.map_or(DEFAULT_PAGE_SIZE, |n| {
        n.clamp(1, MAX_PAGE_SIZE as i32) as u64
    });
    rows as usize * child_complexity.max(1)
}

/// Builds a connection from up to `limit()` rows, each with its sort key.
pub fn connection<K: Serialize, N: OutputType>(
    request: &PageRequest<K>,
    rows: Vec<(K, N)>,
) -> Connection<String, N> {
    let has_next_page = rows.len() as u64 > request.first;
    let mut connection = Connection::new(request.after.is_some(), has_next_page);
    connection.edges.extend(
        rows.into_iter()
            .take(request.first as usize)
            .map(|(key, node)| Edge::new(encode_cursor(&key), node)),
    );
    connection
}

/// How two cursors of one list compare in its key order, ascending (a list sorted newest first
/// reverses it): text byte by byte (the text keys lists sort by are `COLLATE "C"`), instants as
/// instants, numbers as numbers, tuples element by element. None for a cursor not made here.
pub fn compare_cursors(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let key = |cursor: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()
    };
    Some(compare_keys(&key(a)?, &key(b)?))
}

fn compare_keys(a: &serde_json::Value, b: &serde_json::Value) -> std::cmp::Ordering {
    use serde_json::Value;
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .map(|(a, b)| compare_keys(a, b))
            .find(|order| order.is_ne())
            .unwrap_or_else(|| a.len().cmp(&b.len())),
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => (a.as_f64().partial_cmp(&b.as_f64())).unwrap_or(Ordering::Equal),
        },
        (Value::String(a), Value::String(b)) => {
            match (
                chrono::DateTime::parse_from_rfc3339(a),
                chrono::DateTime::parse_from_rfc3339(b),
            ) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                _ => a.as_bytes().cmp(b.as_bytes()),
            }
        }
        _ => Ordering::Equal,
    }
}

fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| {
            ApiError::bad_input(
                "after",
                "not a cursor of this list; pass an endCursor you received",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_compare_as_their_keys_sort() {
        use chrono::{TimeZone, Utc};
        use std::cmp::Ordering;
        let id = uuid::Uuid::nil();
        let at = |seconds: i64, nanos: u32| Utc.timestamp_opt(seconds, nanos).unwrap();
        let earlier = encode_cursor(&(at(1_000, 0), id));
        let later = encode_cursor(&(at(1_000, 500_000_000), id));
        assert_eq!(compare_cursors(&earlier, &later), Some(Ordering::Less));
        let ada = encode_cursor(&("lovelace ada".to_owned(), id));
        let zed = encode_cursor(&("zed".to_owned(), id));
        assert_eq!(compare_cursors(&zed, &ada), Some(Ordering::Greater));
        assert_eq!(
            compare_cursors(&encode_cursor(&9_i64), &encode_cursor(&10_i64)),
            Some(Ordering::Less)
        );
        assert_eq!(compare_cursors("not a cursor", &ada), None);
    }

    #[test]
    fn page_sizes_outside_the_limit_are_refused() {
        assert!(PageRequest::<String>::new(Some(0), None).is_err());
        assert!(PageRequest::<String>::new(Some(101), None).is_err());
        assert_eq!(PageRequest::<String>::new(None, None).unwrap().first, 20);
        assert_eq!(
            PageRequest::<String>::new(Some(100), None).unwrap().limit(),
            101
        );
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = encode_cursor(&("müller ann".to_owned(), 7_i64));
        let page = PageRequest::<(String, i64)>::new(Some(5), Some(&cursor)).unwrap();
        assert_eq!(page.after, Some(("müller ann".to_owned(), 7)));
        assert!(PageRequest::<(String, i64)>::new(Some(5), Some("not-a-cursor")).is_err());
    }
}
