//! FHIR Bulk Data `$export` of a whole clinic, for its ClinicAdmin: how a clinic leaves with
//! everything, in a published format, without the vendor's help.
//!
//! - Kick-off (`GET|POST [base]/$export`, `Prefer: respond-async`) answers 202 with the job's
//!   status URL; polling it answers the manifest: one NDJSON file per resource type, then the
//!   files of what FHIR does not model here (HPMS's own NDJSON, documented in the README); a
//!   `DELETE` of the status URL ends the job, after which its files are gone.
//! - Files are never written anywhere: each download reads the clinic page by page (100 records
//!   at a time, through the same GraphQL operations and so the same RLS, roles, decryption and
//!   read audit as every other read) and streams NDJSON as it goes. Memory is one page whatever
//!   the clinic's size, nothing readable is left on the server's disk, and a download that fails
//!   is simply fetched again, file by file, while the job lasts.
//! - A job is this instance's, for the admin who started it (every call is authenticated again
//!   and must be that admin's), for `JOB_LIFETIME`; the manifest says when it began
//!   (`transactionTime`). A file read later reflects the clinic when it is read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::stream;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::foundation::telemetry::RequestId;
use crate::server::fhir::interactions::APPOINTMENTS_PER_PAGE;
use crate::server::fhir::outcome::Outcome;
use crate::server::fhir::reader::Reader;
use crate::server::fhir::resources::{
    self, APPOINTMENT_FIELDS, INVOICE_FIELDS, PATIENT_FIELDS, PRACTITIONER_FIELDS,
};
use crate::server::fhir::{Call, Fhir};

/// How long a job's files can be downloaded after its kick-off.
const JOB_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// Jobs one instance holds at once (each is a few hundred bytes; this bounds them anyway).
const MAX_JOBS: usize = 1_000;
/// Records one page reads: the GraphQL maximum (appointments: as many as the complexity limit
/// allows with their fields).
const PAGE_SIZE: u64 = 100;
/// Appointment events one page reads: as many as the complexity limit allows with every field.
const EVENTS_PAGE_SIZE: u64 = 100;
const NDJSON: &str = "application/fhir+ndjson";

/// One file of an export: its name in the manifest, and what it holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ExportFile {
    Patient,
    Practitioner,
    Schedule,
    Appointment,
    Invoice,
    /// HPMS NDJSON: each patient's medical section (allergies, medications, notes).
    PatientMedical,
    /// HPMS NDJSON: each invoice's ledger lines (the double-entry postings).
    LedgerLine,
    /// HPMS NDJSON: the clinic's audit trail, newest first.
    AuditLog,
    /// HPMS NDJSON: the clinic's appointment event feed, oldest first.
    AppointmentEvent,
}

const FILES: [ExportFile; 9] = [
    ExportFile::Patient,
    ExportFile::Practitioner,
    ExportFile::Schedule,
    ExportFile::Appointment,
    ExportFile::Invoice,
    ExportFile::PatientMedical,
    ExportFile::LedgerLine,
    ExportFile::AuditLog,
    ExportFile::AppointmentEvent,
];

impl ExportFile {
    fn name(self) -> &'static str {
        match self {
            ExportFile::Patient => "Patient",
            ExportFile::Practitioner => "Practitioner",
            ExportFile::Schedule => "Schedule",
            ExportFile::Appointment => "Appointment",
            ExportFile::Invoice => "Invoice",
            ExportFile::PatientMedical => "PatientMedical",
            ExportFile::LedgerLine => "LedgerLine",
            ExportFile::AuditLog => "AuditLog",
            ExportFile::AppointmentEvent => "AppointmentEvent",
        }
    }

    fn of_name(name: &str) -> Option<ExportFile> {
        FILES.into_iter().find(|file| file.name() == name)
    }

    /// Whether the file holds FHIR resources (else HPMS's own NDJSON).
    fn is_fhir(self) -> bool {
        matches!(
            self,
            ExportFile::Patient
                | ExportFile::Practitioner
                | ExportFile::Schedule
                | ExportFile::Appointment
                | ExportFile::Invoice
        )
    }
}

struct Job {
    owner: Uuid,
    transaction_time: DateTime<Utc>,
    started: Instant,
    files: Vec<ExportFile>,
    request: String,
}

/// The export jobs this instance holds.
#[derive(Clone, Default)]
pub struct ExportJobs {
    jobs: Arc<Mutex<HashMap<Uuid, Job>>>,
}

impl ExportJobs {
    fn with_jobs<T>(&self, act: impl FnOnce(&mut HashMap<Uuid, Job>) -> T) -> T {
        let mut jobs = self
            .jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        jobs.retain(|_, job| job.started.elapsed() < JOB_LIFETIME);
        act(&mut jobs)
    }
}

/// The signed-in user, who must be a ClinicAdmin: the export is the whole clinic.
async fn clinic_admin(reader: &Reader<'_>) -> Result<Uuid, Outcome> {
    if reader.is_partner() {
        return Err(Outcome::forbidden(
            "the export is a ClinicAdmin's, not an API key's",
        ));
    }
    let me = reader.read("{ me { id role } }", json!({})).await?;
    if me["me"]["role"] != "CLINIC_ADMIN" {
        return Err(Outcome::forbidden(
            "only a ClinicAdmin may export the clinic",
        ));
    }
    me["me"]["id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| Outcome::of_code("INTERNAL", "the signed-in user has no id"))
}

/// Kick-off: `Prefer: respond-async`, optionally `_type` (a comma list of the files to export)
/// and `_outputFormat` (NDJSON). `_since` is refused: the export is always complete.
pub async fn kick_off(
    State(fhir): State<Fhir>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let call = fhir.call(&headers, peer, None)?;
        let prefers_async = headers
            .get_all("prefer")
            .iter()
            .filter_map(|prefer| prefer.to_str().ok())
            .any(|prefer| prefer.contains("respond-async"));
        if !prefers_async {
            return Err(Outcome::bad_input(
                "$export needs the header Prefer: respond-async",
            ));
        }
        let files = requested_files(query.as_deref())?;
        let owner = clinic_admin(&fhir.reader(&call, &request_id)).await?;
        let job = Uuid::new_v4();
        let request = format!(
            "{}/$export{}",
            call.base,
            query
                .as_deref()
                .map(|query| format!("?{query}"))
                .unwrap_or_default()
        );
        fhir.export.with_jobs(|jobs| {
            if jobs.len() >= MAX_JOBS {
                return Err(Outcome::of_code(
                    "UNAVAILABLE",
                    "too many exports are in progress on this server; try again later",
                ));
            }
            jobs.insert(
                job,
                Job {
                    owner,
                    transaction_time: Utc::now(),
                    started: Instant::now(),
                    files,
                    request,
                },
            );
            Ok(())
        })?;
        tracing::info!(%owner, %job, "clinic export started");
        Ok((call, job))
    };
    match answer.await {
        Ok((call, job)) => {
            let location = format!("{}/$export-status/{job}", call.base);
            let mut response = StatusCode::ACCEPTED.into_response();
            if let Ok(location) = HeaderValue::from_str(&location) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_LOCATION, location);
            }
            response
        }
        Err(refused) => refused.into_response(),
    }
}

fn requested_files(query: Option<&str>) -> Result<Vec<ExportFile>, Outcome> {
    let mut files = FILES.to_vec();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "_type" => {
                files = value
                    .split(',')
                    .map(|name| {
                        ExportFile::of_name(name.trim()).ok_or_else(|| {
                            Outcome::bad_input(format!(
                                "_type: {name} is not exported; the types are {}",
                                FILES.map(ExportFile::name).join(", ")
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "_outputFormat"
                if !matches!(
                    value.as_ref(),
                    "application/fhir+ndjson" | "application/ndjson" | "ndjson"
                ) =>
            {
                return Err(Outcome::bad_input("_outputFormat: only NDJSON is produced"));
            }
            "_since" => {
                return Err(Outcome::bad_input(
                    "_since is not supported: the export is always the whole clinic",
                ));
            }
            _ => {}
        }
    }
    Ok(files)
}

/// The job, if it exists and is the caller's: another user's job is not found, like an
/// unknown one.
async fn owned_job<T>(
    fhir: &Fhir,
    call: &Call,
    request_id: &RequestId,
    job: &str,
    act: impl FnOnce(&mut HashMap<Uuid, Job>, Uuid) -> T,
) -> Result<T, Outcome> {
    let owner = clinic_admin(&fhir.reader(call, request_id)).await?;
    let gone = || Outcome::not_found("no such export: it was deleted, expired or never started");
    let job = Uuid::parse_str(job).map_err(|_| gone())?;
    fhir.export.with_jobs(|jobs| match jobs.get(&job) {
        Some(found) if found.owner == owner => Ok(act(jobs, job)),
        _ => Err(gone()),
    })
}

/// Status: complete at once (files are produced as they are downloaded), so the manifest.
pub async fn status(
    State(fhir): State<Fhir>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    Path(job): Path<String>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let call = fhir.call(&headers, peer, None)?;
        owned_job(&fhir, &call, &request_id, &job, |jobs, id| {
            manifest(&call.base, id, &jobs[&id])
        })
        .await
    };
    match answer.await {
        Ok(manifest) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            manifest.to_string(),
        )
            .into_response(),
        Err(refused) => refused.into_response(),
    }
}

fn manifest(base: &str, id: Uuid, job: &Job) -> Value {
    let entry = |file: &ExportFile| json!({ "type": file.name(), "url": format!("{base}/$export-file/{id}/{}.ndjson", file.name()) });
    let fhir: Vec<Value> = job
        .files
        .iter()
        .filter(|file| file.is_fhir())
        .map(entry)
        .collect();
    let hpms: Vec<Value> = job
        .files
        .iter()
        .filter(|file| !file.is_fhir())
        .map(entry)
        .collect();
    json!({
        "transactionTime": job.transaction_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "request": job.request,
        "requiresAccessToken": true,
        "output": fhir,
        "error": [],
        "extension": { "urn:hpms:export:hpms-ndjson": hpms },
    })
}

/// Deletion: the job and its files are gone; 202 as the Bulk Data specification asks.
pub async fn delete(
    State(fhir): State<Fhir>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    Path(job): Path<String>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let call = fhir.call(&headers, peer, None)?;
        owned_job(&fhir, &call, &request_id, &job, |jobs, id| {
            jobs.remove(&id);
        })
        .await
    };
    match answer.await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// One file, streamed page by page as NDJSON.
pub async fn file(
    State(fhir): State<Fhir>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    Path((job, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let call = fhir.call(&headers, peer, None)?;
        let wanted = name.strip_suffix(".ndjson").and_then(ExportFile::of_name);
        let listed = owned_job(&fhir, &call, &request_id, &job, |jobs, id| {
            wanted.filter(|file| jobs[&id].files.contains(file))
        })
        .await?;
        listed
            .map(|file| (call, file))
            .ok_or_else(|| Outcome::not_found("this export has no such file: see its manifest"))
    };
    let (call, file) = match answer.await {
        Ok(found) => found,
        Err(refused) => return refused.into_response(),
    };
    let pages = Pages {
        fhir,
        call,
        request_id,
        file,
        cursor: None,
        done: false,
    };
    let body = stream::unfold(pages, |mut pages| async move {
        if pages.done {
            return None;
        }
        match pages.next().await {
            Ok(lines) => Some((Ok::<Bytes, std::io::Error>(lines), pages)),
            Err(refused) => {
                // The status line is sent: breaking the stream tells the client the file is
                // incomplete (to fetch again), which an error line in the NDJSON would not.
                tracing::warn!(code = %refused.code, file = pages.file.name(), "export file interrupted");
                pages.done = true;
                Some((Err(std::io::Error::other(refused.message)), pages))
            }
        }
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, NDJSON),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// Where one file's download is: the next page's cursor.
struct Pages {
    fhir: Fhir,
    call: Call,
    request_id: RequestId,
    file: ExportFile,
    cursor: Option<String>,
    done: bool,
}

impl Pages {
    /// The next page's NDJSON lines; marks the file done after its last page.
    async fn next(&mut self) -> Result<Bytes, Outcome> {
        let reader = self.fhir.reader(&self.call, &self.request_id);
        let (lines, cursor) = read_page(&reader, self.file, self.cursor.as_deref()).await?;
        self.done = cursor.is_none();
        self.cursor = cursor;
        let mut text = String::new();
        for line in lines {
            text.push_str(&line.to_string());
            text.push('\n');
        }
        Ok(Bytes::from(text))
    }
}

/// The GraphQL connection `field` pages through, with `fields` for its nodes.
async fn connection_page(
    reader: &Reader<'_>,
    field: &str,
    fields: &str,
    after: Option<&str>,
) -> Result<(Vec<Value>, Option<String>), Outcome> {
    let first = if field == "appointments" {
        APPOINTMENTS_PER_PAGE
    } else {
        PAGE_SIZE
    };
    let query = format!(
        "query($first: Int, $after: String) {{ {field}(first: $first, after: $after) {{ nodes {{ {fields} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let data = reader
        .read(&query, json!({ "first": first, "after": after }))
        .await?;
    let connection = &data[field];
    let nodes = connection["nodes"].as_array().cloned().unwrap_or_default();
    let next = (connection["pageInfo"]["hasNextPage"] == true)
        .then(|| {
            connection["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_owned)
        })
        .flatten();
    Ok((nodes, next))
}

/// One page of a file: its lines and the cursor of the page after, if any.
async fn read_page(
    reader: &Reader<'_>,
    file: ExportFile,
    after: Option<&str>,
) -> Result<(Vec<Value>, Option<String>), Outcome> {
    let hpms_line = |kind: &str, mut record: Value| {
        record["hpmsExport"] = json!({ "type": kind, "version": 1 });
        record
    };
    Ok(match file {
        ExportFile::Patient => {
            let (nodes, next) = connection_page(reader, "patients", PATIENT_FIELDS, after).await?;
            (nodes.iter().map(resources::patient).collect(), next)
        }
        ExportFile::PatientMedical => {
            let (nodes, next) = connection_page(
                reader,
                "patients",
                "id medical { allergies medications notes }",
                after,
            )
            .await?;
            let lines = nodes
                .into_iter()
                .map(|node| {
                    hpms_line(
                        "PatientMedical",
                        json!({ "patientId": node["id"], "medical": node["medical"] }),
                    )
                })
                .collect();
            (lines, next)
        }
        ExportFile::Practitioner | ExportFile::Schedule => {
            let (nodes, next) =
                connection_page(reader, "providers", PRACTITIONER_FIELDS, after).await?;
            let lines = if file == ExportFile::Practitioner {
                nodes.iter().map(resources::practitioner).collect()
            } else {
                let types = reader
                    .read(
                        "{ appointmentTypes { id name durationMinutes } }",
                        json!({}),
                    )
                    .await?;
                let types = types["appointmentTypes"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                nodes
                    .iter()
                    .map(|provider| resources::schedule(provider, &types))
                    .collect()
            };
            (lines, next)
        }
        ExportFile::Appointment => {
            let fields = format!("{APPOINTMENT_FIELDS} patient {{ id }}");
            let (nodes, next) = connection_page(reader, "appointments", &fields, after).await?;
            (nodes.iter().map(resources::appointment).collect(), next)
        }
        ExportFile::Invoice => {
            let (nodes, next) = connection_page(reader, "invoices", INVOICE_FIELDS, after).await?;
            (nodes.iter().map(resources::invoice).collect(), next)
        }
        ExportFile::LedgerLine => {
            let (nodes, next) = connection_page(
                reader,
                "invoices",
                "id lines { entryId kind account side amount postedAt }",
                after,
            )
            .await?;
            let lines = nodes
                .into_iter()
                .flat_map(|invoice| {
                    let invoice_id = invoice["id"].clone();
                    invoice["lines"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |mut line| {
                            line["invoiceId"] = invoice_id.clone();
                            line
                        })
                })
                .map(|line| hpms_line("LedgerLine", line))
                .collect();
            (lines, next)
        }
        ExportFile::AuditLog => {
            let (nodes, next) = connection_page(
                reader,
                "auditLogs",
                "id entityName entityId userId apiKeyId action oldValues newValues occurredAt",
                after,
            )
            .await?;
            let lines = nodes
                .into_iter()
                .map(|row| hpms_line("AuditLog", row))
                .collect();
            (lines, next)
        }
        ExportFile::AppointmentEvent => {
            let query = "query($after: ID, $first: Int!) { appointmentEvents(after: $after, first: $first) { \
                 id kind appointmentId providerId patientId typeId startsAt endsAt previousStartsAt \
                 previousEndsAt oldStatus newStatus cancelReasonCategory cancelReason actorKind occurredAt } }";
            let data = reader
                .read(query, json!({ "after": after, "first": EVENTS_PAGE_SIZE }))
                .await?;
            let events = data["appointmentEvents"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let next = (events.len() as u64 == EVENTS_PAGE_SIZE)
                .then(|| {
                    events
                        .last()
                        .and_then(|event| event["id"].as_str().map(str::to_owned))
                })
                .flatten();
            let lines = events
                .into_iter()
                .map(|event| hpms_line("AppointmentEvent", event))
                .collect();
            (lines, next)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_found_by_its_name_and_a_type_list_narrows_the_export() {
        for file in FILES {
            assert_eq!(ExportFile::of_name(file.name()), Some(file));
        }
        let files = requested_files(Some("_type=Patient,Appointment")).unwrap();
        assert_eq!(files, [ExportFile::Patient, ExportFile::Appointment]);
        assert_eq!(
            requested_files(Some("_type=Observation")).unwrap_err().code,
            "BAD_USER_INPUT"
        );
        assert!(requested_files(Some("_since=2026-01-01")).is_err());
    }
}
