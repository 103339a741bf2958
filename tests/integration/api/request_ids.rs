//! Every answer carries `X-Request-Id`: the client's own when it is a plain, short id (so a
//! proxy's or a client's id threads through the server's log), a fresh UUID otherwise.

use reqwest::RequestBuilder;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestApp;

/// The id the server answers `request` with, sending `sent` as the request's id.
async fn answered_id(request: RequestBuilder, sent: Option<&str>) -> String {
    let request = match sent {
        Some(id) => request.header("x-request-id", id),
        None => request,
    };
    let response = request.send().await.expect("the server answers");
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn answers_carry_the_clients_request_id_or_a_fresh_one() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let graphql = || {
        client
            .post(app.url("/graphql"))
            .json(&json!({"query": "{ version }"}))
    };
    let trace = "01J9Z3K7QW-edge.7:abc_1";
    assert_eq!(answered_id(graphql(), Some(trace)).await, trace);
    assert_eq!(
        answered_id(client.get(app.url("/healthz")), Some(trace)).await,
        trace
    );

    let long = "a".repeat(129);
    for unusable in [
        None,
        Some("two words"),
        Some(long.as_str()),
        Some("{\"a\":1}"),
    ] {
        let given = answered_id(graphql(), unusable).await;
        assert!(
            given.parse::<Uuid>().is_ok(),
            "{unusable:?} was answered with {given}"
        );
    }
    assert_ne!(
        answered_id(graphql(), None).await,
        answered_id(graphql(), None).await,
        "each request gets its own"
    );
}
