//! Bad input is refused with BAD_USER_INPUT naming the field, before anything is written: row
//! and audit counts are the same after as before.

use hpms::foundation::role::Role;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const CREATE_PATIENT: &str =
    "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }";
const UPDATE_PATIENT: &str =
    "mutation($i: UpdatePatientInput!) { updatePatient(input: $i) { id } }";
const CREATE_USER: &str = "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }";

fn patient(overrides: Value) -> Value {
    let mut input =
        json!({"firstName": "Grace", "lastName": "Hopper", "dateOfBirth": "1990-12-09"});
    input
        .as_object_mut()
        .unwrap()
        .extend(overrides.as_object().unwrap().clone());
    json!({"i": input})
}

#[tokio::test]
async fn invalid_input_names_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let sysadmin = app.system_admin().await;
    let admin = clinic.token(Role::ClinicAdmin).to_owned();
    let next_year = (chrono::Utc::now() + chrono::Duration::days(400))
        .format("%Y-%m-%d")
        .to_string();
    let long_name = "x".repeat(101);

    // (case, token, operation, variables, the field the error must name)
    let cases: Vec<(&str, &str, &str, Value, &str)> = vec![
        (
            "bad UUID argument",
            &admin,
            "query($id: UUID!) { patient(id: $id) { id } }",
            json!({"id": "not-a-uuid"}),
            "id",
        ),
        (
            "bad UUID literal",
            &admin,
            "{ patient(id: \"12345\") { id } }",
            json!({}),
            "id",
        ),
        (
            "bad UUID inside an input",
            &admin,
            UPDATE_PATIENT,
            json!({"i": {"id": "nope"}}),
            "input",
        ),
        (
            "DOB in the future",
            &admin,
            CREATE_PATIENT,
            patient(json!({"dateOfBirth": next_year})),
            "input.dateOfBirth",
        ),
        (
            "DOB before 1900",
            &admin,
            CREATE_PATIENT,
            patient(json!({"dateOfBirth": "1899-12-31"})),
            "input.dateOfBirth",
        ),
        (
            "DOB not a date",
            &admin,
            CREATE_PATIENT,
            patient(json!({"dateOfBirth": "1990-02-30"})),
            "input",
        ),
        (
            "empty first name",
            &admin,
            CREATE_PATIENT,
            patient(json!({"firstName": "   "})),
            "input.firstName",
        ),
        (
            "over-long last name",
            &admin,
            CREATE_PATIENT,
            patient(json!({"lastName": long_name})),
            "input.lastName",
        ),
        (
            "control character in a name",
            &admin,
            CREATE_PATIENT,
            patient(json!({"firstName": "Gr\u{7}ace"})),
            "input.firstName",
        ),
        (
            "bad phone",
            &admin,
            CREATE_PATIENT,
            patient(json!({"contact": {"phone": "'; drop table patients; --"}})),
            "input.contact.phone",
        ),
        (
            "bad email",
            &admin,
            CREATE_PATIENT,
            patient(json!({"contact": {"email": "no-at-sign"}})),
            "input.contact.email",
        ),
        (
            "over-long notes",
            &admin,
            CREATE_PATIENT,
            patient(json!({"medical": {"notes": "n".repeat(10_001)}})),
            "input.medical.notes",
        ),
        (
            "unknown role",
            &admin,
            CREATE_USER,
            json!({"i": {"username": "newbie", "password": "a long enough password", "role": "WIZARD"}}),
            "input.role",
        ),
        (
            "SystemAdmin role in a clinic",
            &admin,
            CREATE_USER,
            json!({"i": {"username": "newbie", "password": "a long enough password", "role": "SYSTEM_ADMIN"}}),
            "input.role",
        ),
        (
            "short password",
            &admin,
            CREATE_USER,
            json!({"i": {"username": "newbie", "password": "short", "role": "PROVIDER"}}),
            "input.password",
        ),
        (
            "bad username",
            &admin,
            CREATE_USER,
            json!({"i": {"username": "new bie", "password": "a long enough password", "role": "PROVIDER"}}),
            "input.username",
        ),
        (
            "page too large",
            &admin,
            "{ patients(first: 1000) { edges { cursor } } }",
            json!({}),
            "first",
        ),
        (
            "forged cursor",
            &admin,
            "{ patients(after: \"bm90IGEgY3Vyc29y\") { edges { cursor } } }",
            json!({}),
            "after",
        ),
        (
            "bad clinic slug",
            &sysadmin,
            "mutation($i: CreateTenantInput!) { createTenant(input: $i) { tenant { id } } }",
            json!({"i": {"name": "X", "slug": "-bad slug", "adminUsername": "admin", "adminPassword": "a long enough password"}}),
            "input.slug",
        ),
    ];

    for (case, token, query, variables, field) in cases {
        let before = app.footprint(&clinic).await;
        let response = app.graphql(Some(token), query, variables).await;
        let after = app.footprint(&clinic).await;
        assert_eq!(response.code(), "BAD_USER_INPUT", "{case}: {response:?}");
        let message = response.errors()[0]["message"].as_str().unwrap().to_owned();
        let named = response.field() == field || message.contains(&format!("\"{field}"));
        assert!(named, "{case}: the error names `{field}`: {response:?}");
        assert_eq!(before, after, "{case}: nothing is written");
    }
}

#[tokio::test]
async fn a_duplicate_username_is_a_conflict_naming_the_field() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let response = app
        .graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            CREATE_USER,
            json!({"i": {"username": "Provider", "password": "a long enough password", "role": "PROVIDER"}}),
        )
        .await;
    assert_eq!(response.code(), "CONFLICT");
    assert_eq!(response.field(), "input.username");
}
