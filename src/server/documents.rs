//! The parsed documents one instance keeps, found by the SHA-256 of their text: each query is
//! parsed once per instance, not once per request (the dashboards and apps that make nearly all
//! requests send the same few dozen operations over and over), and the same store serves
//! automatic persisted queries, Apollo's protocol, whose hash is that SHA-256 too. A client
//! sends only the hash (`extensions.persistedQuery = {version: 1, sha256Hash}`); a server that
//! has not kept it answers PERSISTED_QUERY_NOT_FOUND, and the client sends the query with its
//! hash once, which the server checks against the query: short GET URLs for every query a
//! client repeats.
//!
//! The store is async-graphql's bounded LRU for that protocol. Documents are no secret (they
//! are the app's code), and each is found only by the hash of its own text. Validation still
//! runs on every request: its result depends on the variables too (a page size is one), and
//! async-graphql skips it only for an extension's `validation` hook, so a cache of it would be
//! keyed by document and variables and save little: on a release build the benchmark's schedule
//! query parses in about 40 µs, and validates (and starts executing) in about 18 µs.

use async_graphql::Request;
use async_graphql::extensions::apollo_persisted_queries::{CacheStorage, LruCacheStorage};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::foundation::error::ApiError;

/// Documents one instance keeps; an app has a few hundred operations at most.
const MAX_DOCUMENTS: usize = 1_000;
/// The longest query text kept (the longest operation in `examples/` is under 400 bytes,
/// GraphiQL's introspection about 2 KiB), so that what the store can hold stays a few MiB
/// whoever fills it. Longer queries are parsed each time they come.
const MAX_KEPT_QUERY_BYTES: usize = 8 * 1024;

#[derive(Deserialize)]
struct PersistedQuery {
    version: i32,
    #[serde(rename = "sha256Hash")]
    sha256_hash: String,
}

#[derive(Clone)]
pub struct Documents(LruCacheStorage);

impl Default for Documents {
    fn default() -> Self {
        Documents(LruCacheStorage::new(MAX_DOCUMENTS))
    }
}

/// What a request's `persistedQuery` extension came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Persisted {
    /// The request carries no such extension.
    No,
    /// The request's document is in it now (found by hash, or sent and checked).
    Document,
}

impl Documents {
    /// Puts the request's parsed document into it, from the store when it is there: a hash
    /// alone is looked up (PERSISTED_QUERY_NOT_FOUND when unknown), a hash sent with its query
    /// is checked against it (BAD_USER_INPUT when they differ), and a query that parses is kept.
    /// One that does not is not kept: execution reports why, as for any other.
    pub async fn resolve(&self, request: &mut Request) -> Result<Persisted, ApiError> {
        let sent_hash = persisted_hash(request)?;
        let persisted = if sent_hash.is_some() {
            Persisted::Document
        } else {
            Persisted::No
        };
        if request.query.is_empty() {
            if let Some(hash) = sent_hash {
                let document = self
                    .0
                    .get(hash)
                    .await
                    .ok_or_else(ApiError::persisted_query_not_found)?;
                request.set_parsed_query(document);
            }
            return Ok(persisted);
        }
        let hash = format!("{:x}", Sha256::digest(request.query.as_bytes()));
        if sent_hash.is_some_and(|sent| sent != hash) {
            return Err(ApiError::bad_input(
                "extensions.persistedQuery.sha256Hash",
                "is not the SHA-256 of the query sent with it",
            ));
        }
        if let Some(document) = self.0.get(hash.clone()).await {
            request.set_parsed_query(document);
        } else if request.query.len() <= MAX_KEPT_QUERY_BYTES
            && let Ok(document) = request.parsed_query()
        {
            let document = document.clone();
            self.0.set(hash, document).await;
        }
        Ok(persisted)
    }
}

/// The hash of the request's `persistedQuery` extension, lower-cased, if it has one.
fn persisted_hash(request: &mut Request) -> Result<Option<String>, ApiError> {
    let Some(extension) = request.extensions.remove("persistedQuery") else {
        return Ok(None);
    };
    let persisted: PersistedQuery = async_graphql::from_value(extension).map_err(|_| {
        ApiError::bad_input(
            "extensions.persistedQuery",
            "must be {\"version\": 1, \"sha256Hash\": \"<hex SHA-256 of the query>\"}",
        )
    })?;
    if persisted.version != 1 {
        return Err(ApiError::bad_input(
            "extensions.persistedQuery.version",
            "only version 1 of persisted queries is supported",
        ));
    }
    Ok(Some(persisted.sha256_hash.to_ascii_lowercase()))
}
