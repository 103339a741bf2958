//! GraphQL over HTTP as its specification says, checked by the specification's own audit suite
//! (npm `graphql-http`'s `serverAudits`, pinned in tests/graphql-http/) against a real server,
//! anonymous and signed in: no MUST or SHOULD fails. The clients front ends use, as they come,
//! read through it: graphql-request 4 and 7, urql's defaults, Apollo's persisted queries. Then
//! what the audit does not cover: queries over GET with the same authentication as POST,
//! mutations refused over GET, bodies that are not JSON refused, persisted queries found only
//! by their own hash, and answers that no cache may keep.

use hpms::foundation::role::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::TestApp;
use crate::helpers::npm::{client_environment, node};

#[tokio::test]
async fn the_specifications_audit_finds_no_error_and_no_warning_anonymous_or_signed_in() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let environment = [
        ("HPMS_AUDIT_URL", app.url("/graphql")),
        ("HPMS_AUDIT_TOKEN", clinic.token(Role::FrontDesk).to_owned()),
    ];
    let results = node("audit.mjs", &environment).await;

    let count = |who: &str, status: &str| {
        results
            .iter()
            .filter(|result| result["who"] == who && result["status"] == status)
            .count()
    };
    for who in ["anonymous", "signed in"] {
        println!(
            "graphql-http audit, {who}: {} ok, {} warnings, {} errors, {} notices",
            count(who, "ok"),
            count(who, "warn"),
            count(who, "error"),
            count(who, "notice")
        );
        assert!(count(who, "ok") >= 50, "the audit ran in full for {who}");
    }
    let failed: Vec<&Value> = results
        .iter()
        .filter(|result| result["status"] == "error" || result["status"] == "warn")
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// The clients as they come, each pinned in tests/graphql-http/package-lock.json: graphql-request
/// 4 (which reads nothing but `application/json`), graphql-request 7, and urql with its defaults
/// (which sends queries as GET).
#[tokio::test]
async fn popular_clients_read_the_signed_in_user_with_their_defaults() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let environment = client_environment(&app, clinic.token(Role::FrontDesk));
    let results = node("clients.mjs", &environment).await;

    let clients: Vec<&str> = results
        .iter()
        .map(|result| result["client"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(clients, ["graphql-request 4", "graphql-request 7", "urql"]);
    for result in &results {
        assert_eq!(result["username"], "frontdesk", "{result}");
    }
    let urql = &results[2];
    assert_eq!(
        urql["methods"],
        json!(["GET"]),
        "urql's default for a query"
    );
}

/// Apollo Client with its persisted-query link, GET for hashed queries: the first client meets
/// PERSISTED_QUERY_NOT_FOUND and sends the query once; the second is answered by hash alone.
#[tokio::test]
async fn apollos_persisted_queries_fall_back_once_then_travel_by_hash() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let environment = client_environment(&app, clinic.token(Role::FrontDesk));
    let results = node("apollo.mjs", &environment).await;

    assert_eq!(results.len(), 2, "{results:?}");
    for result in &results {
        assert_eq!(result["username"], "frontdesk", "{result}");
    }
    assert_eq!(
        results[0]["requests"],
        json!([{"method": "GET", "withQuery": false}, {"method": "POST", "withQuery": true}])
    );
    assert_eq!(
        results[1]["requests"],
        json!([{"method": "GET", "withQuery": false}])
    );
}

#[tokio::test]
async fn a_persisted_query_is_found_only_by_the_hash_of_its_own_text() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let persisted = |hash: &str| json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let hash_of = |text: &str| format!("{:x}", Sha256::digest(text.as_bytes()));
    let hash = hash_of("{ me { username } }");

    let unknown: Value = client
        .post(app.url("/graphql"))
        .json(&json!({"extensions": persisted(&hash)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    let mismatched: Value = client
        .post(app.url("/graphql"))
        .json(&json!({"query": "{ version }", "extensions": persisted(&hash)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        mismatched["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert!(mismatched["data"].is_null());

    let still_unknown: Value = client
        .post(app.url("/graphql"))
        .json(&json!({"extensions": persisted(&hash)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        still_unknown["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND",
        "a query sent under another text's hash is not kept"
    );

    let own = hash_of("{ version }");
    for body in [
        json!({"query": "{ version }", "extensions": persisted(&own)}),
        json!({"extensions": persisted(&own)}),
    ] {
        let answer: Value = client
            .post(app.url("/graphql"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(answer["data"]["version"].is_string(), "{answer}");
    }
}

/// Every query that parses is kept by its hash, whoever sent it and how: one sent plainly over
/// POST is then found by its hash alone (over GET, as Apollo sends them), one that does not
/// parse is not kept, and one over 8 KiB is parsed each time rather than kept.
#[tokio::test]
async fn queries_that_parse_are_kept_by_their_hash_whatever_brought_them() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let token = clinic.token(Role::FrontDesk);
    let by_hash = |query: &str| {
        let hash = format!("{:x}", Sha256::digest(query.as_bytes()));
        let extensions = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
        reqwest::Client::new()
            .get(app.url("/graphql"))
            .query(&[("extensions", extensions.to_string())])
            .header("authorization", format!("Bearer {token}"))
            .send()
    };
    let kept = "query Kept { me { username } }";
    let broken = "query Broken { me { username }";
    let long = format!(
        "query Long {{ me {{ username }} }} # {}",
        "x".repeat(9 * 1024)
    );
    for query in [kept, broken, long.as_str()] {
        app.graphql(Some(token), query, json!({})).await;
    }

    let found: Value = by_hash(kept).await.unwrap().json().await.unwrap();
    assert_eq!(found["data"]["me"]["username"], "frontdesk", "{found}");
    for query in [broken, long.as_str()] {
        let answer: Value = by_hash(query).await.unwrap().json().await.unwrap();
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND",
            "{answer}"
        );
    }
}

/// graphql-ws as it comes, signed in by `connection_init`: a query and a mutation run as over
/// HTTP (the mutation's row is there afterwards), a subscription replays the clinic's booking,
/// and a subscription that does not validate answers the protocol's `error` message with codes.
#[tokio::test]
async fn the_reference_websocket_client_runs_queries_mutations_and_subscriptions() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let booked = app
        .book(&clinic, clinic.user(Role::Provider), "2031-01-06T09:00:00Z")
        .await;
    assert!(booked.errors().is_empty(), "{booked:?}");
    let token = clinic.token(Role::ClinicAdmin);
    let environment = [
        (
            "HPMS_CLIENT_URL",
            app.url("/graphql").replacen("http", "ws", 1),
        ),
        ("HPMS_CLIENT_TOKEN", token.to_owned()),
    ];
    let results = node("socket.mjs", &environment).await;

    let answer = |operation: &str| {
        results
            .iter()
            .find(|result| result["operation"] == operation)
            .unwrap_or_else(|| panic!("{operation} answered: {results:?}"))
    };
    assert_eq!(answer("query")["result"]["data"]["me"]["username"], "admin");
    assert_eq!(
        answer("mutation")["result"]["data"]["createAppointmentType"]["name"],
        "Over the socket"
    );
    assert_eq!(
        answer("subscription")["result"]["data"]["appointmentStatusChanged"]["newStatus"],
        "SCHEDULED"
    );
    let refused = &answer("invalid")["errors"][0];
    assert_eq!(refused["extensions"]["code"], "BAD_USER_INPUT", "{refused}");

    let types = app
        .graphql(Some(token), "{ appointmentTypes { name } }", json!({}))
        .await;
    assert!(
        types.data()["appointmentTypes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|kind| kind["name"] == "Over the socket"),
        "the socket's mutation committed"
    );
}

#[tokio::test]
async fn a_query_runs_over_get_with_the_same_token_and_nothing_is_cached() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let client = reqwest::Client::new();
    let query = "query Me { me { username } }";

    let response = client
        .get(app.url("/graphql"))
        .query(&[("query", query), ("operationName", "Me")])
        .header(
            "authorization",
            format!("Bearer {}", clinic.token(Role::FrontDesk)),
        )
        .header("accept", "application/graphql-response+json")
        .send()
        .await
        .expect("the server answers");

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["username"], "frontdesk");

    let anonymous: Value = client
        .get(app.url("/graphql"))
        .query(&[("query", query)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn a_mutation_over_get_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let token = clinic.token(Role::ClinicAdmin);
    let mutation = "mutation { createAppointmentType(input: {name: \"Over GET\", \
                    durationMinutes: 30, price: \"10.00\"}) { id } }";

    for query in [
        mutation,
        "mutation { login(tenant: \"north\", username: \"admin\", password: \"x\") { token } }",
    ] {
        let response = reqwest::Client::new()
            .get(app.url("/graphql"))
            .query(&[("query", query)])
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 405, "{query}");
        assert_eq!(response.headers()["allow"], "POST");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }

    let types = app
        .graphql(Some(token), "{ appointmentTypes { name } }", json!({}))
        .await;
    assert!(
        !types.data()["appointmentTypes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|kind| kind["name"] == "Over GET")
    );
}

#[tokio::test]
async fn bodies_that_are_not_json_and_types_nobody_can_read_are_refused() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/graphql",
    ] {
        let response = client
            .post(app.url("/graphql"))
            .header("content-type", content_type)
            .body("{ version }")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
    }
    let response = client
        .post(app.url("/graphql"))
        .header("accept", "text/html")
        .json(&json!({"query": "{ version }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 406);

    let legacy = client
        .post(app.url("/graphql"))
        .header("accept", "*/*")
        .json(&json!({"query": "{ version }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), 200);
    assert!(
        legacy.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}
