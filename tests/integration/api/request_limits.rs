//! Requests beyond the limits are refused with a clear error before they cost anything: nesting
//! depth, total complexity (lists count `first` times what each row asks), page size and body
//! size.

use hpms::foundation::role::Role;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn deep_wide_and_oversized_requests_are_refused() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let token = Some(clinic.token(Role::Provider));

    let too_deep = format!(
        "{{ {}id{} }}",
        "patients { edges { node { ".repeat(4),
        " } } }".repeat(4)
    );
    let response = app.graphql(token, &too_deep, json!({})).await;
    assert_eq!(response.code(), "BAD_USER_INPUT", "{response:?}");

    let alias_bomb = format!(
        "{{ {} }}",
        (0..2_100)
            .map(|i| format!("v{i}: version"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let response = app.graphql(token, &alias_bomb, json!({})).await;
    assert_eq!(response.code(), "BAD_USER_INPUT");
    assert!(
        response.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("complex")
    );

    let wide_pages = format!(
        "{{ {} }}",
        (0..4)
            .map(|i| format!("p{i}: patients(first: 100) {{ edges {{ node {{ id firstName lastName dateOfBirth }} }} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let response = app.graphql(token, &wide_pages, json!({})).await;
    assert_eq!(
        response.code(),
        "BAD_USER_INPUT",
        "four pages of 100 rows exceed the budget"
    );
    let one_page =
        "{ patients(first: 100) { edges { node { id firstName lastName dateOfBirth } } } }";
    assert!(
        app.graphql(token, one_page, json!({}))
            .await
            .errors()
            .is_empty()
    );

    let response = app
        .graphql(
            token,
            "{ patients(first: 101) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(response.code(), "BAD_USER_INPUT");

    let oversized = format!("{{ version }} # {}", "x".repeat(300 * 1024));
    let status = reqwest::Client::new()
        .post(app.url("/graphql"))
        .json(&json!({ "query": oversized }))
        .send()
        .await
        .expect("the server answers")
        .status();
    assert_eq!(status, 413);
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    for (path, body) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = reqwest::get(app.url(path))
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.text().await.unwrap(), body);
    }
    let graphiql = reqwest::Client::new()
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        graphiql.contains("graphiql"),
        "GET /graphql serves GraphiQL"
    );
}
