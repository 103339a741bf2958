//! GraphQL over HTTP as its specification says (graphql.github.io/graphql-over-http), checked by
//! the specification's own audit suite (`tests/integration/api/graphql_over_http.rs`):
//! - the answer's media type is negotiated from `Accept`: `application/graphql-response+json`
//!   when the client asks for it, `application/json` when it asks for that, for `*/*` or says
//!   nothing (what clients written before the newer type expect; graphql-request 4 reads nothing
//!   else), and 406 when it accepts neither;
//! - under `application/graphql-response+json` a request error (the document does not parse or
//!   validate, a variable does not coerce, the credentials are refused) answers 4xx with no
//!   `data` entry; under `application/json` every well-formed request answers 200, as the
//!   specification asks for clients that cannot tell the two apart;
//! - a POST body must be `application/json` (415 otherwise): a form or text/plain body is what a
//!   browser sends across origins without a preflight, so refusing it closes that door;
//! - GET runs queries only (405 for anything else, sign-in included: no password in a URL);
//! - every answer carries `Cache-Control: no-store`: answers hold PHI and are per principal.

use async_graphql::{Response as GraphQLAnswer, ServerError};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::foundation::error::ApiError;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type an answer is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerMedia {
    GraphQLResponseJson,
    Json,
}

impl AnswerMedia {
    /// The type `accept` asks for, by quality, preferring the GraphQL type on a tie; `Json`
    /// when there is no `Accept` header; `None` when it accepts neither.
    pub fn negotiate(headers: &HeaderMap) -> Option<AnswerMedia> {
        let Some(accept) = headers.get(header::ACCEPT) else {
            return Some(AnswerMedia::Json);
        };
        let accept = accept.to_str().unwrap_or_default();
        let mut best: Option<(f32, AnswerMedia)> = None;
        for entry in accept.split(',') {
            let mut parts = entry.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let quality = parts
                .filter_map(|parameter| parameter.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let offered = match media.as_str() {
                GRAPHQL_RESPONSE_JSON => AnswerMedia::GraphQLResponseJson,
                JSON | "application/*" | "*/*" => AnswerMedia::Json,
                _ => continue,
            };
            let better = match best {
                None => true,
                Some((held, holding)) => {
                    quality > held
                        || (quality == held
                            && offered == AnswerMedia::GraphQLResponseJson
                            && holding == AnswerMedia::Json)
                }
            };
            if quality > 0.0 && better {
                best = Some((quality, offered));
            }
        }
        best.map(|(_, media)| media)
    }

    fn content_type(self) -> &'static str {
        match self {
            AnswerMedia::GraphQLResponseJson => "application/graphql-response+json; charset=utf-8",
            AnswerMedia::Json => "application/json; charset=utf-8",
        }
    }

    /// The HTTP answer to a GraphQL response.
    pub fn answer(self, response: GraphQLAnswer) -> Response {
        // No data and only errors that are not a field's: the request itself was refused.
        let request_error = response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|error| error.path.is_empty());
        let mut body = match serde_json::to_value(&response) {
            Ok(body) => body,
            Err(error) => {
                return self.refusal_of(StatusCode::INTERNAL_SERVER_ERROR, serialization(&error));
            }
        };
        let status = if request_error && self == AnswerMedia::GraphQLResponseJson {
            if let Some(body) = body.as_object_mut() {
                body.remove("data");
            }
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        self.write(status, &body)
    }

    /// A request refused before GraphQL saw it (a body that is not a request, a method or media
    /// type not served), as a GraphQL error with BAD_USER_INPUT.
    pub fn refusal(self, status: StatusCode, field: &str, message: String) -> Response {
        self.refusal_of(
            status,
            ApiError::bad_input(field, message).into_server_error(),
        )
    }

    fn refusal_of(self, status: StatusCode, error: ServerError) -> Response {
        let body = serde_json::json!({ "errors": [error] });
        self.write(status, &body)
    }

    fn write(self, status: StatusCode, body: &serde_json::Value) -> Response {
        let mut answer = (status, body.to_string()).into_response();
        let headers = answer.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type()),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        answer
    }
}

fn serialization(error: &serde_json::Error) -> ServerError {
    ApiError::internal_from(error).into_server_error()
}

/// 406 for a client that accepts neither JSON type; written as JSON all the same, the only
/// thing the server can say.
pub fn not_acceptable() -> Response {
    AnswerMedia::Json.refusal(
        StatusCode::NOT_ACCEPTABLE,
        "accept",
        format!("this endpoint answers {GRAPHQL_RESPONSE_JSON} or {JSON}; accept one of them"),
    )
}

/// Whether a POST body's `Content-Type` is JSON (any parameters, such as the charset, allowed;
/// the specification requires UTF-8, which is what JSON is read as).
pub fn is_json_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON))
}

/// Whether the client is a browser asking for a page rather than an API answer.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: Option<&str>) -> Option<AnswerMedia> {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        }
        AnswerMedia::negotiate(&headers)
    }

    #[test]
    fn the_answer_is_in_the_type_the_client_accepts_best() {
        use AnswerMedia::*;
        assert_eq!(accepting(None), Some(Json));
        assert_eq!(accepting(Some("*/*")), Some(Json));
        assert_eq!(accepting(Some("application/json")), Some(Json));
        assert_eq!(
            accepting(Some("application/graphql-response+json")),
            Some(GraphQLResponseJson)
        );
        assert_eq!(
            accepting(Some("application/json, application/graphql-response+json")),
            Some(GraphQLResponseJson)
        );
        assert_eq!(
            accepting(Some(
                "application/graphql-response+json;q=0.5, application/json;q=0.9"
            )),
            Some(Json)
        );
        assert_eq!(accepting(Some("application/json;q=0")), None);
        assert_eq!(accepting(Some("text/html, image/png")), None);
    }
}
