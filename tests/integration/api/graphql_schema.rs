//! The committed schema.graphql is exactly what the code serves (`make schema` regenerates it),
//! and every part of it is described for the analysts who read it in GraphiQL.

use hpms::foundation::role::Role;

use crate::helpers::TestApp;
use crate::helpers::npm::{client_environment, node};

#[test]
fn the_committed_schema_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql is committed at the top level");
    assert!(
        committed == hpms::server::schema::sdl(),
        "schema.graphql is out of date: run `make schema` and commit the result"
    );
}

/// What analysts read in GraphiQL: graphql-schema-linter (npm, pinned in tests/graphql-http/)
/// finds no type, field, argument, input field or enum value of schema.graphql undescribed.
#[test]
fn every_type_field_argument_input_field_and_enum_value_is_described() {
    let root = env!("CARGO_MANIFEST_DIR");
    let linter = format!("{root}/tests/graphql-http/node_modules/.bin/graphql-schema-linter");
    assert!(
        std::path::Path::new(&linter).exists(),
        "graphql-schema-linter is not installed: run `npm ci --prefix tests/graphql-http` (scripts/test.sh does)"
    );
    let output = std::process::Command::new(linter)
        .args([
            "--rules",
            "types-have-descriptions,fields-have-descriptions,arguments-have-descriptions,\
             input-object-values-have-descriptions,enum-values-have-descriptions",
            "--format",
            "compact",
            &format!("{root}/schema.graphql"),
        ])
        .output()
        .expect("the linter runs (Node.js: apt-get install nodejs)");
    let findings = String::from_utf8_lossy(&output.stdout);
    let count = findings
        .lines()
        .filter(|line| !line.trim().is_empty())
        .count();
    println!("graphql-schema-linter, description rules: {count} findings");
    assert!(
        output.status.success() && count == 0,
        "{count} undescribed:\n{findings}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// What clients see is what the file says: the server's answer to graphql-js's full
/// introspection query (descriptions, `@specifiedBy`, the schema's own description), printed by
/// graphql-js, is line for line schema.graphql printed by graphql-js.
#[tokio::test]
async fn live_introspection_prints_exactly_the_committed_schema() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let environment = client_environment(&app, clinic.token(Role::FrontDesk));
    let results = node("introspection.mjs", &environment).await;

    let [result] = results.as_slice() else {
        panic!("one verdict: {results:?}")
    };
    println!(
        "introspection printed {} lines, schema.graphql {}",
        result["servedLines"], result["committedLines"]
    );
    assert_eq!(result["equal"], true, "{result:#}");
    assert_eq!(
        result["schemaDescription"],
        hpms::server::schema::SCHEMA_DESCRIPTION,
        "the schema describes itself, not with async-graphql's built-in text"
    );
}
