//! GraphiQL as an analyst meets it, in a real headless Chromium: the page of `make run`'s server
//! loads with nothing from outside the server at 1024 px, every tab within reach, its SignIn tab
//! showing its variables at once; it signs in from that tab, runs the patients
//! query with the token pasted into the headers editor and shows a demo patient, and watches the
//! schedule over its WebSocket as a check-in made elsewhere arrives.
//!
//! It needs the server that `make run` started, with its demo data: scripts/run_smoke.sh starts
//! one and runs this test against it (HPMS_GRAPHIQL_URL). It leaves a screenshot of the page at
//! target/test-artifacts/graphiql.png.

use std::panic::AssertUnwindSafe;

use fantoccini::{Client, Locator};
use futures::FutureExt;
use hpms::server::demo::DEMO_PASSWORD;
use serde_json::{Value, json};

use crate::helpers::browser::Browser;

#[tokio::test]
#[ignore = "needs make run's server and Chromium: scripts/run_smoke.sh runs it"]
async fn an_analyst_signs_in_finds_a_patient_and_watches_a_check_in_in_graphiql() {
    let url = std::env::var("HPMS_GRAPHIQL_URL")
        .expect("HPMS_GRAPHIQL_URL: the GraphiQL address that `make run` printed");
    let browser = Browser::start().await;
    // Caught, so that a failing run leaves its screenshot too, and its Chromium is closed.
    let outcome = AssertUnwindSafe(an_analysts_session(&browser.client, &url))
        .catch_unwind()
        .await;
    let artifacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = browser.client.screenshot().await.unwrap();
    std::fs::write(artifacts.join("graphiql.png"), screenshot).unwrap();
    browser.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn an_analysts_session(page: &Client, url: &str) {
    page.goto(url).await.unwrap();
    let run = page
        .wait()
        .for_element(Locator::Css(".graphiql-execute-button"))
        .await
        .expect("GraphiQL renders");

    // Each wait fails the test if the text does not appear within the script timeout (30 s).
    editor_containing(page, ".graphiql-query-editor", "mutation SignIn").await;
    editor_containing(page, ".graphiql-editor-tool", "Bearer <paste").await;
    show_editor_tool(page, "Variables").await;
    editor_containing(page, ".graphiql-editor-tool", "\"tenant\": \"northside\"").await;
    every_tab_is_within_reach(page).await;

    fill_editor_tools(
        page,
        json!({"tenant": "northside", "username": "frontdesk", "password": DEMO_PASSWORD}),
        None,
    )
    .await;
    run.click().await.unwrap();
    let signed_in = response_containing(page, "\"token\"").await;
    let token = signed_in["data"]["login"]["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let authorization = json!({"Authorization": format!("Bearer {token}")});

    open_tab(page, "FindPatients").await;
    fill_editor_tools(page, json!({"search": "lovelace"}), Some(&authorization)).await;
    run.click().await.unwrap();
    let found = response_containing(page, "Lovelace").await;
    let names: Vec<&Value> = found["data"]["patients"]["edges"]
        .as_array()
        .expect("patients in the response")
        .iter()
        .map(|edge| &edge["node"]["lastName"])
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|name| *name == "Lovelace"),
        "{found}"
    );

    // From event 0, so the check-in is replayed even if it commits before the socket is open.
    open_tab(page, "WatchSchedule").await;
    fill_editor_tools(page, json!({"after": "0"}), Some(&authorization)).await;
    run.click().await.unwrap();
    let checked_in = check_in_the_first_scheduled_appointment(url, &token).await;
    let event = response_containing(page, "\"newStatus\": \"ARRIVED\"").await;
    assert_eq!(
        event["data"]["appointmentStatusChanged"]["appointmentId"],
        checked_in.as_str(),
        "{event}"
    );

    let foreign: Value = page
        .execute(
            // What was fetched, and what the page asked for (a request the CSP blocked is in
            // the document but not among the resources fetched).
            "return performance.getEntriesByType('resource').map(entry => entry.name)
                 .concat(Array.from(document.querySelectorAll('[src], link[href]'),
                                    element => element.src || element.href))
                 .filter(address => new URL(address, location.href).origin !== location.origin);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        foreign,
        json!([]),
        "the page loaded something from elsewhere"
    );
}

/// At the browser's 1024 px, every saved tab shows whole inside the window, and none is hidden
/// in an overflowing tab bar.
async fn every_tab_is_within_reach(page: &Client) {
    let layout = page
        .execute(
            "const bar = document.querySelector('.graphiql-tabs');
             const tabs = Array.from(document.querySelectorAll('.graphiql-tab-button'));
             return {
                 width: window.innerWidth,
                 tabs: tabs.length,
                 overflowing: bar.scrollWidth > bar.clientWidth,
                 outside: tabs.map(tab => [tab.textContent.trim(), tab.getBoundingClientRect()])
                     .filter(([, box]) => box.width === 0 || box.left < 0 || box.right > window.innerWidth)
                     .map(([name]) => name),
             };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(layout["width"], 1024, "{layout}");
    assert!(layout["tabs"].as_u64().unwrap() >= 10, "{layout}");
    assert_eq!(layout["overflowing"], false, "{layout}");
    assert_eq!(layout["outside"], json!([]), "{layout}");
}

async fn open_tab(page: &Client, operation: &str) {
    let tab = format!(
        "//button[contains(@class, 'graphiql-tab-button')][normalize-space()='{operation}']"
    );
    let tab = page.find(Locator::XPath(&tab)).await;
    tab.unwrap_or_else(|error| panic!("no saved tab {operation}: {error}"))
        .click()
        .await
        .unwrap();
}

/// Types `variables` into the Variables editor and, when given, `headers` into the Headers one.
async fn fill_editor_tools(page: &Client, variables: Value, headers: Option<&Value>) {
    show_editor_tool(page, "Variables").await;
    set_editor_text(page, ".graphiql-editor-tool", &variables).await;
    if let Some(headers) = headers {
        show_editor_tool(page, "Headers").await;
        set_editor_text(page, ".graphiql-editor-tool", headers).await;
    }
}

/// The response pane's JSON, once it holds `expected`.
async fn response_containing(page: &Client, expected: &str) -> Value {
    let text = editor_containing(page, ".graphiql-response", expected).await;
    serde_json::from_str(&text).expect("the response pane holds JSON")
}

async fn set_editor_text(page: &Client, container: &str, value: &Value) {
    let script = format!("{}.setValue(arguments[0]);", visible_editor(container));
    let text = serde_json::to_string_pretty(value).unwrap();
    page.execute(&script, vec![json!(text)]).await.unwrap();
}

fn visible_editor(container: &str) -> String {
    format!(
        "Array.from(document.querySelectorAll('{container} .CodeMirror'))
             .find(editor => !editor.closest('.hidden'))?.CodeMirror"
    )
}

async fn show_editor_tool(page: &Client, tool: &str) {
    let button = format!(
        "//div[contains(@class, 'graphiql-editor-tools')]//button[normalize-space()='{tool}']"
    );
    page.find(Locator::XPath(&button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Records, over plain HTTP as the front desk, that the patient of the clinic's first Scheduled
/// appointment arrived; returns the appointment's id, which the subscription's event names.
async fn check_in_the_first_scheduled_appointment(url: &str, token: &str) -> String {
    let http = reqwest::Client::new();
    let graphql = async |query: &str, variables: Value| -> Value {
        let response = http
            .post(url)
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap();
        response.json::<Value>().await.unwrap()
    };
    let scheduled = graphql(
        "{ appointments(status: SCHEDULED, first: 1) { edges { node { id version } } } }",
        json!({}),
    )
    .await;
    let appointment = &scheduled["data"]["appointments"]["edges"][0]["node"];
    let id = appointment["id"]
        .as_str()
        .expect("the demo has a Scheduled appointment")
        .to_owned();
    let checked_in = graphql(
        include_str!("../../../examples/check_in.graphql"),
        json!({"id": id, "expectedVersion": appointment["version"]}),
    )
    .await;
    assert_eq!(
        checked_in["data"]["setAppointmentStatus"]["status"], "ARRIVED",
        "{checked_in}"
    );
    id
}

/// Waits, inside the page, until the visible editor in `container` holds `expected` (GraphiQL
/// fills its editors and its response pane after rendering), and returns the editor's text.
async fn editor_containing(page: &Client, container: &str, expected: &str) -> String {
    let script = format!(
        "const [expected, done] = arguments;
         const check = () => {{
             const editor = {};
             if (editor && editor.getValue().includes(expected)) done(editor.getValue());
             else requestAnimationFrame(check);
         }};
         check();",
        visible_editor(container)
    );
    page.execute_async(&script, vec![json!(expected)])
        .await
        .unwrap_or_else(|error| panic!("{container} never showed {expected:?}: {error}"))
        .as_str()
        .unwrap()
        .to_owned()
}
