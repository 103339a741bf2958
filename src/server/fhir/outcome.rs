//! FHIR's answers that are not resources: every refusal is an `OperationOutcome` with the HTTP
//! status its GraphQL code stands for, carrying the same safe message GraphQL gives (the message
//! is written for the caller; no SQL, no other clinic's data). `details.coding` names the GraphQL
//! `extensions.code`, so a client can branch on it exactly as a GraphQL client does.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// FHIR's JSON media type, the only format served.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";
/// The code system the `details` of an issue name HPMS's error codes in.
const ERROR_CODE_SYSTEM: &str = "urn:hpms:error-code";

/// A refusal: what went wrong, in the terms of both FHIR and the GraphQL API.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: StatusCode,
    /// The GraphQL `extensions.code` (`NOT_FOUND`, `FORBIDDEN`, …).
    pub code: String,
    pub message: String,
}

impl Outcome {
    /// The outcome of a GraphQL error code with its message.
    pub fn of_code(code: &str, message: impl Into<String>) -> Outcome {
        let status = match code {
            "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
            "FORBIDDEN" | "MFA_REQUIRED" => StatusCode::FORBIDDEN,
            "NOT_FOUND" => StatusCode::NOT_FOUND,
            "BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED" | "GRAPHQL_PARSE_FAILED" => {
                StatusCode::BAD_REQUEST
            }
            "CONFLICT" => StatusCode::CONFLICT,
            "UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Outcome {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Outcome {
        Outcome::of_code("BAD_USER_INPUT", message)
    }

    pub fn not_found(message: impl Into<String>) -> Outcome {
        Outcome::of_code("NOT_FOUND", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Outcome {
        Outcome::of_code("FORBIDDEN", message)
    }

    /// FHIR's issue type (the `IssueType` value set) for the status.
    fn issue_type(&self) -> &'static str {
        match self.status {
            StatusCode::UNAUTHORIZED => "login",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not-found",
            StatusCode::BAD_REQUEST => "invalid",
            StatusCode::NOT_ACCEPTABLE | StatusCode::METHOD_NOT_ALLOWED => "not-supported",
            StatusCode::CONFLICT => "conflict",
            StatusCode::SERVICE_UNAVAILABLE => "transient",
            _ => "exception",
        }
    }

    pub fn resource(&self) -> Value {
        json!({
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": "error",
                "code": self.issue_type(),
                "details": {
                    "coding": [{ "system": ERROR_CODE_SYSTEM, "code": self.code }],
                    "text": self.message,
                },
                "diagnostics": self.message,
            }],
        })
    }
}

impl IntoResponse for Outcome {
    fn into_response(self) -> Response {
        let mut response = fhir_json(self.status, &self.resource());
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A FHIR JSON answer that no cache may keep (it may hold PHI).
pub fn fhir_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, FHIR_JSON),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}
