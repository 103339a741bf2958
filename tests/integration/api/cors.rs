//! Browsers reach the API cross-origin only from the origins in `HPMS_CORS_ALLOWED_ORIGINS`:
//! a preflight from one of them is answered with the CORS headers, one from anywhere else (or
//! from anywhere when none is configured) is not.

use std::net::SocketAddr;

use reqwest::{Method, Response};

use crate::helpers::TestApp;

const SPA: &str = "https://frontdesk.example.org";

async fn preflight(address: SocketAddr, origin: &str) -> Response {
    reqwest::Client::new()
        .request(Method::OPTIONS, format!("http://{address}/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization,x-request-id",
        )
        .send()
        .await
        .expect("the server answers")
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
}

#[tokio::test]
async fn only_allowed_origins_pass_the_preflight() {
    let app = TestApp::spawn().await;
    let configured = app
        .instance_with(|settings| {
            settings.cors_allowed_origins = vec![SPA.parse().unwrap()];
        })
        .await;

    let allowed = preflight(configured, SPA).await;
    assert_eq!(header(&allowed, "access-control-allow-origin"), Some(SPA));
    let methods = header(&allowed, "access-control-allow-methods").unwrap();
    for needed in ["GET", "POST", "DELETE"] {
        assert!(methods.contains(needed), "{needed} missing from {methods}");
    }
    let headers = header(&allowed, "access-control-allow-headers").unwrap();
    // prefer: FHIR's `$export` kick-off (and DELETE its end).
    for needed in [
        "content-type",
        "authorization",
        "x-api-key",
        "x-request-id",
        "prefer",
    ] {
        assert!(headers.contains(needed), "{needed} missing from {headers}");
    }

    let elsewhere = preflight(configured, "https://elsewhere.example.org").await;
    assert_eq!(header(&elsewhere, "access-control-allow-origin"), None);
    let unconfigured = preflight(app.address, SPA).await;
    assert_eq!(header(&unconfigured, "access-control-allow-origin"), None);

    // The request itself: the answer is readable by the page, request id included (and the
    // headers FHIR's `$export` answers with: its status URL, its progress).
    let answered = reqwest::Client::new()
        .post(format!("http://{configured}/graphql"))
        .header("origin", SPA)
        .json(&serde_json::json!({"query": "{ version }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&answered, "access-control-allow-origin"), Some(SPA));
    assert_eq!(
        header(&answered, "access-control-expose-headers"),
        Some("x-request-id,content-location,x-progress")
    );
    assert!(header(&answered, "x-request-id").is_some());
}

#[test]
fn origins_are_exact_or_refused_at_start_up() {
    use hpms::foundation::config::Origin;
    assert_eq!(
        "HTTPS://App.Example.org:8443"
            .parse::<Origin>()
            .unwrap()
            .as_str(),
        "https://app.example.org:8443"
    );
    for wrong in [
        "*",
        "app.example.org",
        "https://app.example.org/",
        "https://app.example.org/path",
        "https://",
        "https://app.example.org:443",
        "http://app.example.org:",
        "ftp://app.example.org",
    ] {
        assert!(wrong.parse::<Origin>().is_err(), "{wrong} was accepted");
    }
}
