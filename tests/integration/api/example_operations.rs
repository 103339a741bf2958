//! The operations in examples/ — what a front desk app sends, and GraphiQL's saved tabs — are
//! valid against the committed schema.graphql (which graphql_schema.rs keeps equal to the
//! code), and each sample variables file names only variables its operation declares.

use apollo_compiler::{ExecutableDocument, Schema};
use hpms::server::graphiql::EXAMPLES;

fn committed_schema() -> apollo_compiler::validation::Valid<Schema> {
    Schema::parse_and_validate(include_str!("../../../schema.graphql"), "schema.graphql")
        .expect("schema.graphql is a valid schema")
}

#[test]
fn every_example_operation_validates_against_the_committed_schema() {
    let schema = committed_schema();
    assert!(
        EXAMPLES.len() >= 10,
        "examples/ holds the front desk's operations"
    );
    let mut problems = Vec::new();
    for example in EXAMPLES {
        let path = format!("examples/{}.graphql", example.name);
        let document =
            match ExecutableDocument::parse_and_validate(&schema, example.operation, &path) {
                Ok(document) => document,
                Err(errors) => {
                    problems.push(errors.errors.to_string());
                    continue;
                }
            };
        let operations: Vec<_> = document.operations.iter().collect();
        let [operation] = operations[..] else {
            problems.push(format!(
                "{path}: holds {} operations, not one",
                operations.len()
            ));
            continue;
        };
        if operation.name.is_none() {
            problems.push(format!("{path}: the operation has no name"));
        }
        if let Some(variables) = example.variables {
            let variables: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(variables).expect("a variables file is a JSON object");
            for name in variables.keys() {
                if !operation
                    .variables
                    .iter()
                    .any(|declared| declared.name == name.as_str())
                {
                    problems.push(format!("{path}: sample variable ${name} is not declared"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_refuses_an_operation_the_schema_does_not_have() {
    let schema = committed_schema();
    let unknown_field = "query Broken { patients { edges { node { shoeSize } } } }";
    assert!(
        ExecutableDocument::parse_and_validate(&schema, unknown_field, "broken.graphql").is_err()
    );
}
