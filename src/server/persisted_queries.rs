//! Automatic persisted queries, Apollo's protocol: a client sends only the SHA-256 of its query
//! (`extensions.persistedQuery = {version: 1, sha256Hash}`); a server that has not seen it
//! answers PERSISTED_QUERY_NOT_FOUND, and the client sends the query with its hash once, which
//! the server checks against the query before keeping it. Short GET URLs, and so cacheable ones,
//! for every query a client repeats.
//!
//! What is kept is the parsed document, in a bounded LRU (async-graphql's own storage for this
//! protocol), so a persisted query is parsed once per instance, not once per request. Documents
//! are no secret (they are the app's code), and each is found only by the hash of its own text.

use async_graphql::Request;
use async_graphql::extensions::apollo_persisted_queries::{CacheStorage, LruCacheStorage};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::foundation::error::ApiError;

/// Documents one instance keeps; an app has a few hundred operations at most.
const MAX_DOCUMENTS: usize = 2_000;

#[derive(Deserialize)]
struct PersistedQuery {
    version: i32,
    #[serde(rename = "sha256Hash")]
    sha256_hash: String,
}

#[derive(Clone)]
pub struct PersistedQueries(LruCacheStorage);

impl Default for PersistedQueries {
    fn default() -> Self {
        PersistedQueries(LruCacheStorage::new(MAX_DOCUMENTS))
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

impl PersistedQueries {
    /// Resolves the request's `persistedQuery` extension, if it has one: a hash alone is looked
    /// up (PERSISTED_QUERY_NOT_FOUND when unknown), a hash with its query is checked against
    /// it (BAD_USER_INPUT when they differ) and kept.
    pub async fn resolve(&self, request: &mut Request) -> Result<Persisted, ApiError> {
        let Some(extension) = request.extensions.remove("persistedQuery") else {
            return Ok(Persisted::No);
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
        let hash = persisted.sha256_hash.to_ascii_lowercase();
        if request.query.is_empty() {
            let document = self
                .0
                .get(hash)
                .await
                .ok_or_else(ApiError::persisted_query_not_found)?;
            request.set_parsed_query(document);
            return Ok(Persisted::Document);
        }
        if format!("{:x}", Sha256::digest(request.query.as_bytes())) != hash {
            return Err(ApiError::bad_input(
                "extensions.persistedQuery.sha256Hash",
                "is not the SHA-256 of the query sent with it",
            ));
        }
        // A document that does not parse is not kept: execution reports why, as for any other.
        if let Ok(document) = request.parsed_query() {
            let document = document.clone();
            self.0.set(hash, document).await;
        }
        Ok(Persisted::Document)
    }
}
