//! FHIR R4 on /fhir/R4, checked against the real tools partners use: every resource the server
//! emits (reads, searches, the CapabilityStatement, OperationOutcomes and the export's files)
//! validates against the FHIR R4 models of PyPI's fhir.resources, and the fhirpy client reads
//! and searches patients and appointments with a user's token and with a partner's key. Then
//! what the models cannot see: other clinics' ids are not found, a partner's resources carry no
//! medical data or date of birth, PHI reads are audited as in GraphQL, errors are
//! OperationOutcomes with GraphQL's codes, and the export holds every record and ends when
//! deleted.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use hpms::foundation::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::fhir::{As, export, fhir_clinic, python_script};
use crate::helpers::{TestApp, scalar};

#[tokio::test]
async fn every_resource_served_validates_against_the_fhir_r4_models_of_fhir_resources() {
    let app = TestApp::spawn().await;
    let seeded = fhir_clinic(&app, "north").await;
    let clinic = &seeded.clinic;
    let admin = As::User(clinic.token(Role::ClinicAdmin));
    let provider = clinic.user(Role::Provider);
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive();
    let paths = [
        "/metadata".to_owned(),
        "/Patient?name=Ada".to_owned(),
        format!("/Patient/{}", clinic.patient_id),
        "/Practitioner".to_owned(),
        format!("/Practitioner/{provider}"),
        "/Schedule".to_owned(),
        format!("/Schedule/{provider}"),
        format!(
            "/Slot?schedule=Schedule/{provider}&service-type={}&start=ge{tomorrow}&start=lt{}",
            clinic.type_id,
            tomorrow + Duration::days(1)
        ),
        "/Appointment?_include=Appointment:patient&_include=Appointment:practitioner".to_owned(),
        format!("/Appointment/{}", seeded.completed),
        "/Invoice".to_owned(),
        format!("/Invoice/{}", seeded.invoice),
        format!("/Patient/{}", uuid::Uuid::new_v4()),
    ];
    let mut served = Vec::new();
    for path in &paths {
        let answer = app.fhir(path, admin).await;
        assert!(
            answer.content_type.starts_with("application/fhir+json"),
            "{path}: {}",
            answer.content_type
        );
        served.push(answer.json());
    }
    let (_, files) = export(&app, clinic.token(Role::ClinicAdmin)).await;
    for kind in [
        "Patient",
        "Practitioner",
        "Schedule",
        "Appointment",
        "Invoice",
    ] {
        served.extend(files[kind].iter().cloned());
    }
    let input: String = served
        .iter()
        .map(|resource| format!("{resource}\n"))
        .collect();

    let results = python_script("validate.py", &input, &[]).await;

    assert_eq!(results.len(), served.len());
    let invalid: Vec<&Value> = results
        .iter()
        .filter(|result| !result["error"].is_null())
        .collect();
    assert!(invalid.is_empty(), "{invalid:#?}");
    let kinds: BTreeSet<&str> = served
        .iter()
        .flat_map(|resource| {
            let entries = resource["entry"].as_array().cloned().unwrap_or_default();
            std::iter::once(
                resource["resourceType"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .chain(entries.into_iter().map(|entry| {
                entry["resource"]["resourceType"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }))
            .collect::<Vec<_>>()
        })
        .map(|kind| &*Box::leak(kind.into_boxed_str()))
        .collect();
    for kind in [
        "CapabilityStatement",
        "Bundle",
        "Patient",
        "Practitioner",
        "Schedule",
        "Slot",
        "Appointment",
        "Invoice",
        "OperationOutcome",
    ] {
        assert!(kinds.contains(kind), "{kind} was validated: {kinds:?}");
    }
    println!(
        "fhir.resources (FHIR 4.0.1) validated {} resources of {} types",
        results.len(),
        kinds.len()
    );
}

#[tokio::test]
async fn fhirpy_reads_and_searches_patients_and_appointments_with_a_token_and_a_key() {
    let app = TestApp::spawn().await;
    let seeded = fhir_clinic(&app, "north").await;
    let clinic = &seeded.clinic;
    let environment = |credential: (&'static str, String)| {
        vec![
            ("HPMS_FHIR_URL", app.url("/fhir/R4")),
            ("HPMS_FHIR_PATIENT", clinic.patient_id.to_string()),
            ("HPMS_FHIR_FROM", "2031-01-01".to_owned()),
            credential,
        ]
    };
    let steps = |results: Vec<Value>| -> Vec<Value> {
        results
            .into_iter()
            .map(|step| step["result"].clone())
            .collect()
    };
    let expected_visits: BTreeSet<String> =
        BTreeSet::from([seeded.completed.clone(), seeded.booked.clone()]);
    let patient = format!("Patient/{}", clinic.patient_id);

    for credential in [
        ("HPMS_FHIR_TOKEN", clinic.token(Role::FrontDesk).to_owned()),
        ("HPMS_FHIR_API_KEY", seeded.partner_key.clone()),
    ] {
        let partner = credential.0 == "HPMS_FHIR_API_KEY";
        let results = steps(python_script("client.py", "", &environment(credential)).await);

        let visits: BTreeSet<String> = results[0]
            .as_array()
            .expect("appointments are read")
            .iter()
            .map(|visit| visit["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(visits, expected_visits);
        for visit in results[0].as_array().unwrap() {
            assert_eq!(visit["patient"], json!([patient]));
        }
        let statuses: BTreeSet<&str> = results[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|visit| visit["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, BTreeSet::from(["booked", "fulfilled"]));
        assert_eq!(
            results[1],
            json!([clinic.patient_id]),
            "the patient is included once"
        );
        assert_eq!(results[2]["family"], "Lovelace");
        assert_eq!(results[2]["telecom"], 2, "phone and email");
        if partner {
            assert!(
                results[2]["birthDate"].is_null(),
                "a key never sees a date of birth"
            );
            assert_eq!(
                results[3],
                json!({ "refused": "FORBIDDEN" }),
                "a key cannot search patients"
            );
        } else {
            assert_eq!(results[2]["birthDate"], "1985-12-10");
            assert_eq!(results[3], json!([clinic.patient_id]));
        }
    }
}

#[tokio::test]
async fn another_clinics_ids_are_not_found_never_forbidden() {
    let app = TestApp::spawn().await;
    let north = fhir_clinic(&app, "north").await;
    let south = fhir_clinic(&app, "south").await;
    let theirs = [
        format!("/Patient/{}", south.clinic.patient_id),
        format!("/Appointment/{}", south.completed),
        format!("/Invoice/{}", south.invoice),
        format!("/Practitioner/{}", south.clinic.user(Role::Provider)),
        format!("/Schedule/{}", south.clinic.user(Role::Provider)),
    ];
    for path in &theirs {
        let answer = app
            .fhir(path, As::User(north.clinic.token(Role::ClinicAdmin)))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            answer.text
        );
        assert_eq!(answer.outcome_code(), "NOT_FOUND");
        assert!(!answer.text.contains(&south.clinic.slug), "{}", answer.text);
    }
    for path in &theirs[..2] {
        let answer = app.fhir(path, As::Partner(&north.partner_key)).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            answer.text
        );
    }
    let searched = app
        .fhir(
            &format!("/Appointment?patient=Patient/{}", south.clinic.patient_id),
            As::User(north.clinic.token(Role::ClinicAdmin)),
        )
        .await;
    assert_eq!(searched.status, StatusCode::OK);
    assert!(searched.resources().is_empty(), "{}", searched.text);
}

#[tokio::test]
async fn a_partners_resources_carry_no_medical_data_nor_date_of_birth() {
    let app = TestApp::spawn().await;
    let seeded = fhir_clinic(&app, "north").await;
    let clinic = &seeded.clinic;
    let key = As::Partner(&seeded.partner_key);
    let (appointments_only, _) = app
        .issue_api_key_with(clinic, "lab", "[APPOINTMENTS]")
        .await;
    let answers = [
        app.fhir(
            "/Appointment?_include=Appointment:patient&_include=Appointment:practitioner",
            key,
        )
        .await,
        app.fhir(&format!("/Patient/{}", clinic.patient_id), key)
            .await,
        app.fhir(&format!("/Appointment/{}", seeded.booked), key)
            .await,
    ];
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        for medical in ["penicillin", "Prefers mornings", "1985-12-10", "birthDate"] {
            assert!(
                !answer.text.contains(medical),
                "{medical} in {}",
                answer.text
            );
        }
    }
    assert!(
        answers[1].text.contains("ada@example.org"),
        "contact details are the scope's"
    );

    let without_contact = app
        .fhir(
            "/Appointment?_include=Appointment:patient",
            As::Partner(&appointments_only),
        )
        .await;
    assert_eq!(
        without_contact.status,
        StatusCode::OK,
        "{}",
        without_contact.text
    );
    let resources = without_contact.resources();
    assert_eq!(
        resources.len(),
        2,
        "the two visits, and no patient included"
    );
    assert!(
        !without_contact.text.contains("Patient/"),
        "{}",
        without_contact.text
    );
    let refused = app
        .fhir(
            &format!("/Patient/{}", clinic.patient_id),
            As::Partner(&appointments_only),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
}

/// Audit rows of `action` in the clinic naming `patient`, by the key `api_key_id` or the user.
async fn reads_of(app: &TestApp, seeded: &crate::helpers::fhir::FhirClinic, by_key: bool) -> i64 {
    let clinic = &seeded.clinic;
    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    let who = if by_key {
        "api_key_id::text = $3"
    } else {
        "user_id::text = $3"
    };
    let actor = if by_key {
        seeded.partner_key_id.clone()
    } else {
        clinic.user(Role::FrontDesk).to_string()
    };
    scalar(
        &owner,
        &format!(
            "/* test */ select count(*) from audit_logs where tenant_id = $1 and action = 'Read'
              and (entity_id = $2 or new_values -> 'patient_ids' ? $2) and {who}"
        ),
        [
            clinic.tenant_id.into(),
            clinic.patient_id.to_string().into(),
            actor.into(),
        ],
    )
    .await
}

#[tokio::test]
async fn every_phi_read_over_fhir_is_audited_as_in_graphql() {
    let app = TestApp::spawn().await;
    let seeded = fhir_clinic(&app, "north").await;
    let clinic = &seeded.clinic;
    assert_eq!(reads_of(&app, &seeded, true).await, 0);
    assert_eq!(reads_of(&app, &seeded, false).await, 0);

    let read = app
        .fhir(
            &format!("/Patient/{}", clinic.patient_id),
            As::Partner(&seeded.partner_key),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let key_reads = reads_of(&app, &seeded, true).await;
    assert!(
        key_reads >= 1,
        "the key's read of names and contact details is audited"
    );

    let listed = app
        .fhir("/Patient?name=Ada", As::User(clinic.token(Role::FrontDesk)))
        .await;
    assert_eq!(listed.resources().len(), 1);
    let user_reads = reads_of(&app, &seeded, false).await;
    assert!(user_reads >= 1, "the front desk's search is audited");

    let (_, files) = export(&app, clinic.token(Role::ClinicAdmin)).await;
    assert!(!files["PatientMedical"].is_empty());
    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    let admin_reads: i64 = scalar(
        &owner,
        "/* test */ select count(*) from audit_logs where tenant_id = $1 and action = 'Read' and user_id = $2",
        [clinic.tenant_id.into(), clinic.user(Role::ClinicAdmin).into()],
    )
    .await;
    assert!(
        admin_reads >= 2,
        "the export's reads of identity, contact and medical data are audited"
    );
}

#[tokio::test]
async fn every_refusal_is_an_operation_outcome_with_the_graphql_code() {
    let app = TestApp::spawn().await;
    let seeded = fhir_clinic(&app, "north").await;
    let clinic = &seeded.clinic;
    let front_desk = As::User(clinic.token(Role::FrontDesk));
    let partner = As::Partner(&seeded.partner_key);
    let cases = [
        (
            "/Patient",
            As::Nobody,
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        ),
        (
            "/Patient",
            As::User("not-a-token"),
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        ),
        (
            "/Appointment?date=tomorrow",
            front_desk,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        ),
        (
            "/Appointment?status=planned",
            front_desk,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        ),
        (
            "/Patient?_count=1000",
            front_desk,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        ),
        (
            "/Slot?service-type=x",
            front_desk,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        ),
        ("/Invoice", partner, StatusCode::FORBIDDEN, "FORBIDDEN"),
        (
            "/Observation",
            front_desk,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            "/Patient/not-an-id",
            front_desk,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            "/Appointment?date=%2B262143-12-31",
            As::Nobody,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        ),
        (
            "/Invoice?date=lt-262144-01-02",
            front_desk,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        ),
        (
            "/Patient?_format=xml",
            front_desk,
            StatusCode::NOT_ACCEPTABLE,
            "BAD_USER_INPUT",
        ),
    ];
    for (path, who, status, code) in cases {
        let answer = app.fhir(path, who).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.text);
        assert_eq!(answer.outcome_code(), code, "{path}");
        assert!(answer.content_type.starts_with("application/fhir+json"));
        let lowered = answer.text.to_lowercase();
        for leak in ["select ", "sqlstate", "tenant_id"] {
            assert!(!lowered.contains(leak), "{path}: {}", answer.text);
        }
    }
    let written = app
        .fhir_request(Method::POST, "/Patient", front_desk, &[])
        .await;
    assert_eq!(written.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(written.outcome_code(), "BAD_USER_INPUT");
    let strict = app
        .fhir_request(
            Method::GET,
            "/Patient?colour=red",
            front_desk,
            &[("prefer", "handling=strict")],
        )
        .await;
    assert_eq!(strict.status, StatusCode::BAD_REQUEST, "{}", strict.text);
    let lenient = app.fhir("/Patient?colour=red", front_desk).await;
    assert_eq!(lenient.status, StatusCode::OK);
    assert!(
        !lenient.json()["link"][0]["url"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
}

#[tokio::test]
async fn search_pages_follow_the_bundles_next_link_to_the_last_match() {
    let app = TestApp::spawn().await;
    let seeded = fhir_clinic(&app, "north").await;
    let clinic = &seeded.clinic;
    for index in 0..4 {
        app.create_patient(clinic, "Paged", &format!("Patient{index}"))
            .await;
    }
    let front_desk = As::User(clinic.token(Role::FrontDesk));
    let mut url = "/Patient?_count=2".to_owned();
    let mut seen = Vec::new();
    loop {
        let page = app.fhir(&url, front_desk).await;
        let bundle = page.json();
        seen.extend(
            page.resources()
                .iter()
                .map(|patient| patient["id"].as_str().unwrap_or_default().to_owned()),
        );
        let next = bundle["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|link| link["relation"] == "next")
            .map(|link| link["url"].as_str().unwrap().to_owned());
        match next {
            Some(next) => {
                let cursor = next
                    .split("_cursor=")
                    .nth(1)
                    .expect("the next link has a cursor");
                let decoded = base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    cursor,
                )
                .unwrap_or_default();
                assert!(
                    !String::from_utf8_lossy(&decoded).contains("paged"),
                    "a patient's name never travels in a URL"
                );
                url = next;
            }
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        5,
        "Ada and the four others, each once: {seen:?}"
    );
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 5);
}

#[tokio::test]
async fn the_export_holds_every_record_of_the_clinic_and_ends_when_deleted() {
    let app = TestApp::spawn().await;
    let seeded = fhir_clinic(&app, "north").await;
    let clinic = &seeded.clinic;
    let refused = app
        .fhir_request(
            Method::POST,
            "/$export",
            As::User(clinic.token(Role::FrontDesk)),
            &[("prefer", "respond-async")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let without_prefer = app
        .fhir_request(
            Method::POST,
            "/$export",
            As::User(clinic.token(Role::ClinicAdmin)),
            &[],
        )
        .await;
    assert_eq!(without_prefer.status, StatusCode::BAD_REQUEST);

    let (manifest, files) = export(&app, clinic.token(Role::ClinicAdmin)).await;

    assert_eq!(manifest["requiresAccessToken"], true);
    let ids = |kind: &str| -> BTreeSet<String> {
        files[kind]
            .iter()
            .map(|line| line["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        ids("Patient"),
        BTreeSet::from([clinic.patient_id.to_string()])
    );
    assert_eq!(
        ids("Appointment"),
        BTreeSet::from([seeded.completed.clone(), seeded.booked.clone()])
    );
    assert_eq!(ids("Invoice"), BTreeSet::from([seeded.invoice.clone()]));
    assert_eq!(
        ids("Practitioner"),
        BTreeSet::from([clinic.user(Role::Provider).to_string()])
    );
    assert_eq!(
        files["PatientMedical"][0]["medical"]["allergies"],
        "penicillin"
    );
    assert_eq!(files["PatientMedical"][0]["hpmsExport"]["version"], 1);
    assert!(!files["LedgerLine"].is_empty(), "the invoice's postings");
    assert!(
        files["LedgerLine"]
            .iter()
            .all(|line| line["invoiceId"] == seeded.invoice.as_str())
    );
    let owner = app.db.begin_as_owner(clinic.scope(Role::ClinicAdmin)).await;
    let events: i64 = scalar(
        &owner,
        "/* test */ select count(*) from appointment_events where tenant_id = $1",
        [clinic.tenant_id.into()],
    )
    .await;
    assert_eq!(files["AppointmentEvent"].len() as i64, events);
    assert!(files["AuditLog"].len() > 5, "the audit trail");

    let status_url = manifest["statusUrl"].as_str().unwrap();
    let someone_else = app
        .fhir(status_url, As::User(clinic.token(Role::Provider)))
        .await;
    assert_eq!(someone_else.status, StatusCode::FORBIDDEN);
    let deleted = app
        .fhir_request(
            Method::DELETE,
            status_url,
            As::User(clinic.token(Role::ClinicAdmin)),
            &[],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    let gone = app
        .fhir(status_url, As::User(clinic.token(Role::ClinicAdmin)))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let file = manifest["output"][0]["url"].as_str().unwrap();
    let gone = app
        .fhir(file, As::User(clinic.token(Role::ClinicAdmin)))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    let kick_off = || {
        app.fhir_request(
            Method::POST,
            "/$export",
            As::User(clinic.token(Role::ClinicAdmin)),
            &[("prefer", "respond-async")],
        )
    };
    assert_eq!(kick_off().await.status, StatusCode::ACCEPTED);
    assert_eq!(kick_off().await.status, StatusCode::ACCEPTED);
    let third = kick_off().await;
    assert_eq!(
        third.status,
        StatusCode::TOO_MANY_REQUESTS,
        "two at a time: {}",
        third.text
    );
}

#[tokio::test]
async fn export_files_hold_a_bounded_run_of_records_and_none_added_meanwhile_is_lost_or_repeated() {
    let app = TestApp::spawn_adjusted(|settings| settings.export_file_records = 2).await;
    let seeded = fhir_clinic(&app, "north").await;
    let clinic = &seeded.clinic;
    let token = clinic.token(Role::ClinicAdmin);
    let (created, manifest) = crate::helpers::fhir::five_patients_exported(&app, &seeded).await;
    let mut patients: BTreeSet<String> = created.into_iter().collect();
    let files = manifest["output"].as_array().unwrap();
    assert_eq!(files.len(), 3, "five patients in files of two: {manifest}");
    assert!(files.iter().all(|file| file["type"] == "Patient"));

    let latecomer = app
        .create_patient(clinic, "Late", "Arrival")
        .await
        .to_string();
    let downloaded = crate::helpers::fhir::download(&app, token, &manifest).await;
    let ids: Vec<String> = downloaded["Patient"]
        .iter()
        .map(|patient| patient["id"].as_str().unwrap().to_owned())
        .collect();
    patients.insert(latecomer);
    assert_eq!(ids.len(), patients.len(), "each patient once: {ids:?}");
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), patients);
    let fetched_twice = [
        app.fhir(files[0]["url"].as_str().unwrap(), As::User(token))
            .await
            .text,
        app.fhir(files[0]["url"].as_str().unwrap(), As::User(token))
            .await
            .text,
    ];
    assert_eq!(
        fetched_twice[0], fetched_twice[1],
        "a file fetched again holds the same run"
    );
    assert!(fetched_twice[0].lines().count() >= 2);
}

#[tokio::test]
async fn a_record_moved_past_its_files_end_since_the_cut_is_exported_once() {
    let app = TestApp::spawn_adjusted(|settings| settings.export_file_records = 2).await;
    let seeded = fhir_clinic(&app, "north").await;
    let clinic = &seeded.clinic;
    let token = clinic.token(Role::ClinicAdmin);
    // By name: lovelace ada, patient0 … patient3 filed: the first file ends at patient0.
    let (patients, manifest) = crate::helpers::fhir::five_patients_exported(&app, &seeded).await;
    assert_eq!(manifest["output"].as_array().unwrap().len(), 3);

    app.graphql(
        Some(token),
        "mutation($id: UUID!) { updatePatient(input: {id: $id, lastName: \"Zuniga\"}) { id } }",
        json!({ "id": patients[1] }),
    )
    .await
    .ok();
    let downloaded = crate::helpers::fhir::download(&app, token, &manifest).await;

    let ids: Vec<&str> = downloaded["Patient"]
        .iter()
        .map(|patient| patient["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        5,
        "the first file stops where it was cut, not at the list's end: {ids:?}"
    );
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 5);
}
