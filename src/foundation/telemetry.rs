//! Logs and request spans: the subscriber `main` installs (text or JSON lines), the request id
//! every response carries, and the span each GraphQL request runs in.
//!
//! Spans are named and fielded the OpenTelemetry way (`otel.name`, `otel.kind`,
//! `otel.status_code`, `graphql.operation.type`, …), so a `tracing-opentelemetry` layer added to
//! `init_logging` exports them as they are. No exporter is built in: the OTLP crates bring
//! tonic and prost, a heavy build on a small machine, for what a log collector reading the JSON
//! lines already gets (README, "Observability").

use std::io::IsTerminal;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Span;
use tracing_subscriber::EnvFilter;

use crate::foundation::config::LogFormat;

/// The header that carries a request's id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest request id taken from a client; longer ones are replaced.
const MAX_REQUEST_ID_LENGTH: usize = 128;

/// Installs the process's log subscriber: `filter` in EnvFilter syntax, lines on stderr.
pub fn init_logging(filter: EnvFilter, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        // One object a line; the event's own fields at the top level, the request's (its id,
        // tenant, user, operation) under "span".
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// The id of the request being served: the client's `X-Request-Id` when well formed, else a
/// fresh one.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl RequestId {
    /// A new id, for a request that brought none (or each operation of a WebSocket).
    pub fn fresh() -> RequestId {
        RequestId(uuid::Uuid::new_v4().to_string())
    }
}

/// Gives every request an id (in its extensions, for the handlers' spans) and echoes it in the
/// response's `X-Request-Id`, so a client and the server's log can be matched up.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_well_formed(id))
        .map(|id| RequestId(id.to_owned()))
        .unwrap_or_else(RequestId::fresh);
    request.extensions_mut().insert(id.clone());
    let id = id.0;
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Ids that are safe to log and echo as they are: short, and only letters, digits and `-_.:`
/// (UUIDs, ULIDs, a proxy's trace ids). Anything else could forge log lines or carry data.
fn is_well_formed(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_LENGTH).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':'))
}

/// The span of one GraphQL request. Its fields are filled in as they become known
/// (`graphql::Api::execute`): what the operation is, then who is acting.
pub fn graphql_span(request_id: &RequestId) -> Span {
    tracing::info_span!(
        "graphql",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        request_id = %request_id.0,
        graphql.operation.type = tracing::field::Empty,
        graphql.operation.name = tracing::field::Empty,
        graphql.root_field = tracing::field::Empty,
        tenant_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
        api_key_id = tracing::field::Empty,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_request_ids_are_taken_from_clients() {
        assert!(is_well_formed("3f0c9a4e-5b1d-4c8e-9f2a-7d6b5e4c3b2a"));
        assert!(is_well_formed("01HZY3J7K9:abc_def.1"));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed(&"a".repeat(MAX_REQUEST_ID_LENGTH + 1)));
        assert!(!is_well_formed("id with spaces"));
        assert!(!is_well_formed("line\nbreak"));
        assert!(!is_well_formed("{\"json\":1}"));
    }
}
