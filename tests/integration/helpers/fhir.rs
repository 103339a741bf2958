//! The FHIR side of the suite: GETs of `/fhir/R4/…` with a user's token or a partner's key, and
//! the tools from PyPI that check what they answer (tests/fhir/: the fhir.resources R4 models
//! and the fhirpy client; scripts/ensure_fhir_python.sh installs them).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::helpers::TestApp;

/// Who a FHIR request is sent as.
#[derive(Clone, Copy)]
pub enum As<'a> {
    User(&'a str),
    Partner(&'a str),
    Nobody,
}

/// A FHIR answer: its status, content type and body (JSON, or the NDJSON text of an export file).
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub content_location: Option<String>,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|_| panic!("the answer is JSON: {}", self.text))
    }

    /// The resources of a searchset, matches and includes.
    pub fn resources(&self) -> Vec<Value> {
        let bundle = self.json();
        assert_eq!(bundle["resourceType"], "Bundle", "{bundle}");
        bundle["entry"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|entry| entry["resource"].clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The GraphQL code an OperationOutcome names.
    pub fn outcome_code(&self) -> String {
        let outcome = self.json();
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
        outcome["issue"][0]["details"]["coding"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl TestApp {
    /// `method` of `path` below `/fhir/R4` (or a whole URL the server gave), as `who`.
    pub async fn fhir_request(
        &self,
        method: reqwest::Method,
        path: &str,
        who: As<'_>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.url(&format!("/fhir/R4{path}"))
        };
        let mut request = reqwest::Client::new()
            .request(method, url)
            .header("accept", "application/fhir+json");
        request = match who {
            As::User(token) => request.bearer_auth(token),
            As::Partner(key) => request.header("x-api-key", key),
            As::Nobody => request,
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the FHIR request is answered");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        Answer {
            status: response.status(),
            content_type: header("content-type").unwrap_or_default(),
            content_location: header("content-location"),
            text: response.text().await.expect("the body arrives"),
        }
    }

    pub async fn fhir(&self, path: &str, who: As<'_>) -> Answer {
        self.fhir_request(reqwest::Method::GET, path, who, &[])
            .await
    }
}

/// tests/fhir/'s Python, checked to have its packages installed.
fn python() -> PathBuf {
    let python = folder().join(".venv/bin/python");
    assert!(
        python.exists(),
        "the FHIR tools are not installed: run scripts/ensure_fhir_python.sh (scripts/test.sh does)"
    );
    python
}

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fhir")
}

/// The JSON lines a script of tests/fhir/ prints, given `input` on stdin and `environment`.
pub async fn python_script(
    script: &str,
    input: &str,
    environment: &[(&str, String)],
) -> Vec<Value> {
    let mut child = Command::new(python())
        .arg(folder().join(script))
        .envs(environment.iter().map(|(name, value)| (*name, value)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(input.as_bytes())
        .await
        .expect("the input is written");
    drop(stdin);
    let output = child.wait_with_output().await.expect("the script ends");
    crate::helpers::npm::json_lines(script, &output)
}

/// A clinic with what FHIR shows: its patient (with contact and medical details) with a
/// completed visit and its invoice, a booked visit, and a partner's key with the scopes a
/// reminder service has (APPOINTMENTS, PATIENT_CONTACT).
pub struct FhirClinic {
    pub clinic: crate::helpers::ApiClinic,
    pub completed: String,
    pub booked: String,
    pub invoice: String,
    pub partner_key: String,
    pub partner_key_id: String,
}

pub async fn fhir_clinic(app: &TestApp, slug: &str) -> FhirClinic {
    use hpms::foundation::role::Role;
    let clinic = app.clinic(slug).await;
    let (completed, invoice) = app.completed_visit(&clinic, "2031-03-03T09:00:00Z").await;
    let booked = app
        .book(&clinic, clinic.user(Role::Provider), "2031-03-04T09:00:00Z")
        .await;
    let booked = booked.ok()["bookAppointment"]["id"]
        .as_str()
        .expect("the visit is booked")
        .to_owned();
    let (partner_key, partner_key_id) = app
        .issue_api_key_with(&clinic, "reminders", "[APPOINTMENTS, PATIENT_CONTACT]")
        .await;
    FhirClinic {
        clinic,
        completed,
        booked,
        invoice,
        partner_key,
        partner_key_id,
    }
}

/// A finished export as `token`: its manifest, and each file's lines by the file's type.
pub async fn export(
    app: &TestApp,
    token: &str,
) -> (Value, std::collections::BTreeMap<String, Vec<Value>>) {
    let kicked_off = app
        .fhir_request(
            reqwest::Method::POST,
            "/$export",
            As::User(token),
            &[("prefer", "respond-async")],
        )
        .await;
    assert_eq!(
        kicked_off.status,
        StatusCode::ACCEPTED,
        "{}",
        kicked_off.text
    );
    let status_url = kicked_off
        .content_location
        .expect("the kick-off names its status URL");
    let manifest = finished(app, token, &status_url).await;
    let files = download(app, token, &manifest).await;
    (json_with_status_url(manifest, &status_url), files)
}

/// The manifest of a job, polled until the job answers it (each poll walks on: the protocol's
/// own wait, not a sleep).
pub async fn finished(app: &TestApp, token: &str, status_url: &str) -> Value {
    loop {
        let status = app.fhir(status_url, As::User(token)).await;
        match status.status {
            StatusCode::ACCEPTED => continue,
            StatusCode::OK => return status.json(),
            other => panic!("the export's status is {other}: {}", status.text),
        }
    }
}

/// Every file a manifest lists as its lines, by type (a type's files in the manifest's order).
pub async fn download(
    app: &TestApp,
    token: &str,
    manifest: &Value,
) -> std::collections::BTreeMap<String, Vec<Value>> {
    let mut files = std::collections::BTreeMap::new();
    let listed = manifest["output"]
        .as_array()
        .into_iter()
        .chain(manifest["extension"]["urn:hpms:export:hpms-ndjson"].as_array())
        .flatten();
    for file in listed {
        let url = file["url"].as_str().expect("each file has a URL");
        let answer = app.fhir(url, As::User(token)).await;
        assert_eq!(answer.status, StatusCode::OK, "{url}: {}", answer.text);
        assert_eq!(answer.content_type, "application/fhir+ndjson");
        let lines = answer
            .text
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).expect("each line is JSON"));
        files
            .entry(file["type"].as_str().unwrap_or_default().to_owned())
            .or_insert_with(Vec::new)
            .extend(lines);
    }
    files
}

fn json_with_status_url(mut manifest: Value, status_url: &str) -> Value {
    manifest["statusUrl"] = Value::String(status_url.to_owned());
    manifest
}

/// The clinic's patient and four more ("Filed", "Patient0" to "Patient3"), in that order, and
/// the finished manifest of a Patient-only export as the ClinicAdmin.
pub async fn five_patients_exported(app: &TestApp, seeded: &FhirClinic) -> (Vec<String>, Value) {
    use hpms::foundation::role::Role;
    let clinic = &seeded.clinic;
    let token = clinic.token(Role::ClinicAdmin);
    let mut patients = vec![clinic.patient_id.to_string()];
    for index in 0..4 {
        patients.push(
            app.create_patient(clinic, "Filed", &format!("Patient{index}"))
                .await
                .to_string(),
        );
    }
    let kicked_off = app
        .fhir_request(
            reqwest::Method::POST,
            "/$export?_type=Patient",
            As::User(token),
            &[("prefer", "respond-async")],
        )
        .await;
    let status_url = kicked_off
        .content_location
        .expect("the kick-off names its status URL");
    (patients, finished(app, token, &status_url).await)
}
