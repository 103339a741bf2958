//! Who a request comes from, as its HTTP headers say: the credential it carries and the client
//! address it is counted by. Every HTTP route reads them here (GraphQL and FHIR alike).

use std::net::SocketAddr;

use axum::http::{HeaderMap, header};

use crate::identity::{ClientAddress, Credential};

/// The header partner systems send their API key in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The peer's address, or with `trusted_header` configured the last address that header lists
/// (what the proxy in front added; earlier entries are the client's to invent), with or without
/// a port. A request through the proxy without the header counts as the proxy's. Forwarding
/// headers arriving with none configured are warned about once: behind a proxy every client
/// then shares its address, and with it one allowance of failed sign-ins.
pub fn client_address(
    headers: &HeaderMap,
    peer: SocketAddr,
    trusted_header: Option<&str>,
) -> ClientAddress {
    static UNCONFIGURED_PROXY: std::sync::Once = std::sync::Once::new();
    let Some(name) = trusted_header else {
        if headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED) {
            UNCONFIGURED_PROXY.call_once(|| {
                tracing::warn!(
                    "requests carry forwarding headers but HPMS_CLIENT_ADDRESS_HEADER is unset: \
                     if a proxy is in front, every client counts as the proxy's address"
                );
            });
        }
        return ClientAddress(peer.ip());
    };
    let reported = headers
        .get_all(name)
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok())
        .and_then(|list| list.rsplit(',').next())
        .map(str::trim)
        .and_then(|last| {
            last.parse()
                .or_else(|_| last.parse::<SocketAddr>().map(|address| address.ip()))
                .ok()
        });
    ClientAddress(reported.unwrap_or(peer.ip()))
}

/// A user's bearer token, else a partner's API key. An Authorization header that is not a bearer
/// token is treated as a bad token rather than ignored, so a misconfigured client hears
/// UNAUTHENTICATED instead of "sign in first".
pub fn credential(headers: &HeaderMap) -> Option<Credential> {
    let text = |value: &header::HeaderValue| value.to_str().unwrap_or_default().to_owned();
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        return Some(Credential::Token(bearer_token(&text(authorization))));
    }
    headers
        .get(API_KEY_HEADER)
        .map(|key| Credential::ApiKey(text(key)))
}

fn bearer_token(authorization: &str) -> String {
    match authorization.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim().to_owned(),
        _ => String::new(),
    }
}
