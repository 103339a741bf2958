//! Relay's global object identification: every refetchable type has an opaque `nodeId`, and
//! `node(id:)` / `nodes(ids:)` read any of them back under exactly the rules of the type's own
//! field (its roles, the clinic's rows only). The Relay compiler itself (npm, pinned) compiles a
//! refetchable fragment against schema.graphql, and the queries it generates run on the server.

use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::npm::{client_environment, node};
use crate::helpers::{ApiClinic, TestApp};

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename nodeId \
    ... on Patient { id firstName } ... on Appointment { id status } \
    ... on AppointmentType { id name } ... on Invoice { id total } \
    ... on User { id username } } }";

/// The `nodeId` that `query` (reading one object as `field`) shows for it.
async fn node_id_of(app: &TestApp, clinic: &ApiClinic, query: &str, field: &str) -> String {
    let answer = app
        .graphql(Some(clinic.token(Role::ClinicAdmin)), query, json!({}))
        .await;
    answer.ok()[field]["nodeId"]
        .as_str()
        .unwrap_or_else(|| panic!("{field} has a nodeId: {answer:?}"))
        .to_owned()
}

async fn read_node(app: &TestApp, token: &str, id: &str) -> crate::helpers::Gql {
    app.graphql(Some(token), NODE, json!({ "id": id })).await
}

#[tokio::test]
async fn every_node_type_reads_back_by_its_node_id_as_its_own_field_shows_it() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (appointment, invoice) = app.completed_visit(&clinic, "2031-03-03T09:00:00Z").await;
    let patient = clinic.patient_id;
    let provider = clinic.user(Role::Provider);
    let cases = [
        (
            format!("{{ patient(id: \"{patient}\") {{ nodeId }} }}"),
            "patient",
            "Patient",
            patient.to_string(),
        ),
        (
            format!("{{ appointment(id: \"{appointment}\") {{ nodeId }} }}"),
            "appointment",
            "Appointment",
            appointment.clone(),
        ),
        (
            format!("{{ invoice(id: \"{invoice}\") {{ nodeId }} }}"),
            "invoice",
            "Invoice",
            invoice.clone(),
        ),
        (
            "{ me { nodeId } }".to_owned(),
            "me",
            "User",
            clinic.user(Role::ClinicAdmin).to_string(),
        ),
    ];
    for (query, field, type_name, id) in cases {
        let node_id = node_id_of(&app, &clinic, &query, field).await;
        assert!(!node_id.contains(&id), "{type_name}'s node id is opaque");
        let answer = read_node(&app, clinic.token(Role::ClinicAdmin), &node_id).await;
        assert_eq!(answer.ok()["node"]["__typename"], type_name, "{answer:?}");
        assert_eq!(answer.ok()["node"]["id"], id.as_str());
        assert_eq!(answer.ok()["node"]["nodeId"], node_id.as_str());
    }
    let types = app
        .graphql(
            Some(clinic.token(Role::FrontDesk)),
            "{ appointmentTypes { id nodeId } providers { edges { node { id nodeId } } } }",
            json!({}),
        )
        .await;
    let type_node = types.ok()["appointmentTypes"][0]["nodeId"]
        .as_str()
        .unwrap();
    let answer = read_node(&app, clinic.token(Role::FrontDesk), type_node).await;
    assert_eq!(answer.ok()["node"]["name"], "Consultation");
    let provider_node = types.ok()["providers"]["edges"][0]["node"]["nodeId"]
        .as_str()
        .unwrap();
    let answer = read_node(&app, clinic.token(Role::FrontDesk), provider_node).await;
    assert_eq!(answer.ok()["node"]["id"], provider.to_string().as_str());
}

#[tokio::test]
async fn nodes_answers_in_order_with_null_for_what_the_clinic_does_not_have() {
    let app = TestApp::spawn().await;
    let north = app.clinic("north").await;
    let south = app.clinic("south").await;
    let patient_query =
        |clinic: &ApiClinic| format!("{{ patient(id: \"{}\") {{ nodeId }} }}", clinic.patient_id);
    let own = node_id_of(&app, &north, &patient_query(&north), "patient").await;
    let theirs = node_id_of(&app, &south, &patient_query(&south), "patient").await;
    let me = node_id_of(&app, &north, "{ me { nodeId } }", "me").await;

    let answer = app
        .graphql(
            Some(north.token(Role::ClinicAdmin)),
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename nodeId } }",
            json!({ "ids": [me, theirs, own] }),
        )
        .await;
    let nodes = answer.ok()["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[0]["__typename"], "User");
    assert_eq!(
        nodes[1],
        Value::Null,
        "another clinic's patient is not found"
    );
    assert_eq!(nodes[2]["nodeId"], own.as_str());
    let answer = read_node(&app, north.token(Role::ClinicAdmin), &theirs).await;
    assert_eq!(answer.ok()["node"], Value::Null);
}

#[tokio::test]
async fn node_is_refused_to_whoever_the_types_own_field_refuses() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let (_, invoice) = app.completed_visit(&clinic, "2031-03-03T09:00:00Z").await;
    let invoice_node = node_id_of(
        &app,
        &clinic,
        &format!("{{ invoice(id: \"{invoice}\") {{ nodeId }} }}"),
        "invoice",
    )
    .await;
    let admin_node = node_id_of(&app, &clinic, "{ me { nodeId } }", "me").await;

    let answer = read_node(&app, clinic.token(Role::Provider), &invoice_node).await;
    assert_eq!(answer.code(), "FORBIDDEN", "a Provider reads no invoice");
    assert_eq!(answer.data()["node"], Value::Null);
    let answer = read_node(&app, clinic.token(Role::FrontDesk), &admin_node).await;
    assert_eq!(
        answer.ok()["node"],
        Value::Null,
        "FrontDesk sees providers, not the clinic's other users"
    );
    let (key, _) = app.issue_api_key(&clinic, "feed only").await;
    let answer = app
        .graphql_with_api_key(&key, NODE, json!({ "id": invoice_node }))
        .await;
    assert_eq!(
        answer.code(),
        "FORBIDDEN",
        "an event-feed key reads no invoice"
    );
}

#[tokio::test]
async fn ids_the_server_never_issued_are_bad_input_and_lists_are_bounded() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let token = clinic.token(Role::ClinicAdmin);
    for id in [
        clinic.patient_id.to_string(),
        "bm90IGFuIGlk".to_owned(),
        "%%%".to_owned(),
        "A".repeat(500),
    ] {
        let answer = read_node(&app, token, &id).await;
        assert_eq!(answer.code(), "BAD_USER_INPUT", "{id}: {answer:?}");
        assert_eq!(answer.field(), "id");
    }
    let ids = vec![Value::String("x".into()); 101];
    let answer = app
        .graphql(
            Some(token),
            "query($ids: [ID!]!) { nodes(ids: $ids) { nodeId } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(answer.code(), "BAD_USER_INPUT", "{answer:?}");
}

/// The Relay compiler (npm relay-compiler, pinned) accepts schema.graphql with
/// `nodeInterfaceIdField: "nodeId"`, generates the refetch query of a `@refetchable` fragment
/// through `node`, and both queries it generates read the patient on the real server.
#[tokio::test]
async fn the_relay_compiler_builds_a_refetchable_fragment_whose_queries_the_server_answers() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let patient = node_id_of(
        &app,
        &clinic,
        &format!("{{ patient(id: \"{}\") {{ nodeId }} }}", clinic.patient_id),
        "patient",
    )
    .await;
    let [url, token] = client_environment(&app, clinic.token(Role::FrontDesk));
    let environment = [url, token, ("HPMS_NODE_ID", patient.clone())];
    let results = node("relay.mjs", &environment).await;

    let (compiler, queries) = results.split_first().expect("the compiler ran");
    assert_eq!(compiler["compiler"], 0, "{}", compiler["output"]);
    let names: Vec<&str> = queries
        .iter()
        .map(|query| query["query"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["PatientCardRefetchQuery", "patientCardPageQuery"],
        "{queries:#?}"
    );
    for query in queries {
        assert!(
            query["text"].as_str().unwrap().contains("node(id: $"),
            "{query}"
        );
        let answer = &query["answer"];
        assert!(answer.get("errors").is_none(), "{answer}");
        let node = &answer["data"]["node"];
        assert_eq!(node["__typename"], "Patient", "{answer}");
        assert_eq!(node["nodeId"], patient.as_str());
        assert!(node["firstName"].is_string(), "{answer}");
    }
}
