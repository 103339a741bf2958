//! FHIR Bulk Data `$export` of a whole clinic, for its ClinicAdmin: how a clinic leaves with
//! everything, in a published format, without the vendor's help.
//!
//! - Kick-off (`GET|POST [base]/$export`, `Prefer: respond-async`) answers 202 with the job's
//!   status URL. Polling it walks the clinic's records, a few seconds a poll (202 with
//!   `X-Progress` meanwhile), to cut each type into files of `export_file_records` records; then
//!   it answers the manifest: the FHIR files, then those of what FHIR does not model here (HPMS's
//!   own NDJSON, documented in the README). A `DELETE` of the status URL ends the job.
//! - Files are never written anywhere: a download reads its records page by page (through the
//!   same GraphQL operations, so the same RLS, roles, decryption and read audit as every other
//!   read) and streams NDJSON as it goes. Memory is one page whatever the clinic's size, nothing
//!   readable is left on the server's disk, and a download that breaks is fetched again from the
//!   start of its file, not of the export. A file holds the records between two keys of its list
//!   (the last file: to the end), so records added or removed meanwhile shift no other file.
//! - A job is this instance's, for the admin who started it (every call is authenticated again
//!   and must be that admin's), for `JOB_LIFETIME`; the manifest says when it began
//!   (`transactionTime`). A file read later reflects the clinic when it is read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::stream;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::foundation::paging::compare_cursors;
use crate::foundation::telemetry::RequestId;
use crate::server::fhir::interactions::{APPOINTMENTS_PER_PAGE, next_cursor};
use crate::server::fhir::outcome::Outcome;
use crate::server::fhir::reader::Reader;
use crate::server::fhir::resources::{
    self, APPOINTMENT_FIELDS, INVOICE_FIELDS, PATIENT_FIELDS, PRACTITIONER_FIELDS,
};
use crate::server::fhir::{Call, Fhir, prefers};

/// How long a job's files can be downloaded after its kick-off.
const JOB_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// Jobs one instance holds at once (each is a few hundred bytes; this bounds them anyway).
const MAX_JOBS: usize = 1_000;
/// Jobs one admin may have at once, so that no clinic takes the instance's.
const MAX_JOBS_PER_ADMIN: usize = 2;
/// The longest kick-off query kept in the manifest's `request`.
const MAX_REQUEST_QUERY_BYTES: usize = 1_024;
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

/// The list a file's records come from, one record a row of it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A GraphQL connection: its field, the arguments besides paging, and whether it lists
    /// newest first.
    Connection {
        field: &'static str,
        arguments: &'static str,
        newest_first: bool,
    },
    /// `appointmentEvents`, paged by event id.
    Events,
}

impl ExportFile {
    fn source(self) -> Source {
        let connection = |field, arguments, newest_first| Source::Connection {
            field,
            arguments,
            newest_first,
        };
        match self {
            ExportFile::Patient | ExportFile::PatientMedical => connection("patients", "", false),
            // Every provider the clinic has had, active or not: old visits name them.
            ExportFile::Practitioner | ExportFile::Schedule => {
                connection("users", "role: PROVIDER, ", false)
            }
            ExportFile::Appointment => connection("appointments", "", false),
            ExportFile::Invoice | ExportFile::LedgerLine => connection("invoices", "", true),
            ExportFile::AuditLog => connection("auditLogs", "", true),
            ExportFile::AppointmentEvent => Source::Events,
        }
    }

    /// Whether its list is cut into files: not a clinic's staff, sorted by username (whose order
    /// in the database's collation this server does not reproduce), and a few dozen at most.
    fn is_cut(self) -> bool {
        !matches!(self, ExportFile::Practitioner | ExportFile::Schedule)
    }
}

impl Source {
    /// Whether `key` lies beyond `through` in the list's order (so past a file ending there).
    fn passes(self, key: &str, through: &str) -> bool {
        let order = match self {
            Source::Events => (key.parse::<i64>().ok())
                .zip(through.parse::<i64>().ok())
                .map(|(key, through)| key.cmp(&through)),
            Source::Connection { .. } => compare_cursors(key, through),
        };
        let newest_first = matches!(
            self,
            Source::Connection {
                newest_first: true,
                ..
            }
        );
        match order {
            Some(order) if newest_first => order.is_lt(),
            Some(order) => order.is_gt(),
            // A key that does not decode is not this list's: stop rather than run on.
            None => true,
        }
    }
}

/// One file of the manifest: the records of `file`'s list after key `after` (from the first
/// when none) through key `through` (to the end when none). Keys are the list's own cursors.
#[derive(Clone, Debug)]
struct Part {
    file: ExportFile,
    after: Option<String>,
    through: Option<String>,
}

/// How far the cutting of the clinic's records into files has come.
#[derive(Default)]
struct Scan {
    /// The index in the job's files of the one being walked.
    file: usize,
    /// The last key read of it.
    cursor: Option<String>,
    /// Where its current part starts, and how many records that part has so far.
    part_after: Option<String>,
    part_records: u64,
    parts: Vec<Part>,
    done: bool,
}

struct Job {
    owner: Uuid,
    transaction_time: DateTime<Utc>,
    started: Instant,
    files: Vec<ExportFile>,
    request: String,
    /// One poll at a time walks it; others answer "in progress" meanwhile.
    scan: tokio::sync::Mutex<Scan>,
    /// The files, once the walk is done: read by downloads without waiting for anyone.
    parts: OnceLock<Vec<Part>>,
}

/// The export jobs this instance holds, and the records a file holds.
#[derive(Clone)]
pub struct ExportJobs {
    jobs: Arc<Mutex<HashMap<Uuid, Arc<Job>>>>,
    file_records: u64,
}

impl ExportJobs {
    pub fn new(file_records: u32) -> ExportJobs {
        ExportJobs {
            jobs: Arc::default(),
            file_records: file_records.max(1).into(),
        }
    }

    fn with_jobs<T>(&self, act: impl FnOnce(&mut HashMap<Uuid, Arc<Job>>) -> T) -> T {
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
    body: Bytes,
) -> Response {
    let answer = async {
        let call = fhir.call(&headers, peer, None)?;
        if !body.is_empty() {
            return Err(Outcome::bad_input(
                "send the kick-off's parameters (_type, _outputFormat) in the query string, not a body",
            ));
        }
        if query
            .as_deref()
            .is_some_and(|query| query.len() > MAX_REQUEST_QUERY_BYTES)
        {
            return Err(Outcome::bad_input(
                "the kick-off's query string is too long",
            ));
        }
        if !prefers(&headers, "respond-async") {
            return Err(Outcome::bad_input(
                "$export needs the header Prefer: respond-async",
            ));
        }
        let files = requested_files(query.as_deref())?;
        let owner = clinic_admin(&fhir.reader(&call, &request_id)).await?;
        let id = Uuid::new_v4();
        let job = Job {
            owner,
            transaction_time: Utc::now(),
            started: Instant::now(),
            files,
            request: format!(
                "{}/$export{}",
                call.base,
                query
                    .as_deref()
                    .map(|query| format!("?{query}"))
                    .unwrap_or_default()
            ),
            scan: Default::default(),
            parts: OnceLock::new(),
        };
        fhir.export.with_jobs(|jobs| {
            let own = jobs.values().filter(|job| job.owner == owner).count();
            if own >= MAX_JOBS_PER_ADMIN || jobs.len() >= MAX_JOBS {
                return Err(Outcome {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    code: "UNAVAILABLE".to_owned(),
                    message: format!(
                        "too many exports in progress (at most {MAX_JOBS_PER_ADMIN} a ClinicAdmin): \
                         delete a finished one, or try again later"
                    ),
                });
            }
            jobs.insert(id, Arc::new(job));
            Ok(())
        })?;
        tracing::info!(%owner, job = %id, "clinic export started");
        Ok(format!("{}/$export-status/{id}", call.base))
    };
    match answer.await {
        Ok(location) => {
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
                let mut seen = Vec::new();
                files.retain(|file| {
                    let first = !seen.contains(file);
                    seen.push(*file);
                    first
                });
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
async fn owned_job(
    fhir: &Fhir,
    call: &Call,
    request_id: &RequestId,
    job: &str,
) -> Result<(Uuid, Arc<Job>), Outcome> {
    let owner = clinic_admin(&fhir.reader(call, request_id)).await?;
    let gone = || Outcome::not_found("no such export: it was deleted, expired or never started");
    let id = Uuid::parse_str(job).map_err(|_| gone())?;
    fhir.export.with_jobs(|jobs| match jobs.get(&id) {
        Some(found) if found.owner == owner => Ok((id, Arc::clone(found))),
        _ => Err(gone()),
    })
}

/// How long one poll walks the clinic's records before answering "in progress".
const SCAN_BUDGET: Duration = Duration::from_secs(2);

/// What a status poll finds.
enum Progress {
    Manifest(Value),
    /// Still cutting files: how far it has come.
    Walking(String),
}

/// Status: walks on while the files are being cut (202, `X-Progress`), then the manifest.
pub async fn status(
    State(fhir): State<Fhir>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(request_id): Extension<RequestId>,
    Path(job): Path<String>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let call = fhir.call(&headers, peer, None)?;
        let (id, job) = owned_job(&fhir, &call, &request_id, &job).await?;
        let Ok(mut scan) = job.scan.try_lock() else {
            return Ok(Progress::Walking(
                "another poll is walking the records".to_owned(),
            ));
        };
        if !scan.done {
            let reader = fhir.reader(&call, &request_id);
            advance(&mut scan, &job.files, &reader, fhir.export.file_records).await?;
        }
        Ok::<_, Outcome>(if scan.done {
            let parts = job.parts.get_or_init(|| scan.parts.clone());
            Progress::Manifest(manifest(&call.base, id, &job, parts))
        } else {
            Progress::Walking(format!(
                "{} of {} types cut into files",
                scan.file,
                job.files.len()
            ))
        })
    };
    match answer.await {
        Ok(Progress::Manifest(manifest)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            manifest.to_string(),
        )
            .into_response(),
        Ok(Progress::Walking(progress)) => (
            StatusCode::ACCEPTED,
            [
                (HeaderName::from_static("x-progress"), progress),
                (header::RETRY_AFTER, "1".to_owned()),
            ],
        )
            .into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// Walks the records for up to `SCAN_BUDGET`, cutting a file every `file_records` of a type.
/// Each type's last file runs to the end of its list, so nothing added meanwhile is missed.
async fn advance(
    scan: &mut Scan,
    files: &[ExportFile],
    reader: &Reader<'_>,
    file_records: u64,
) -> Result<(), Outcome> {
    let started = Instant::now();
    while started.elapsed() < SCAN_BUDGET {
        let Some(&file) = files.get(scan.file) else {
            scan.done = true;
            return Ok(());
        };
        let (keys, next) = keys_page(reader, file.source(), scan.cursor.as_deref()).await?;
        for key in keys {
            scan.part_records += 1;
            if scan.part_records == file_records && file.is_cut() {
                scan.parts.push(Part {
                    file,
                    after: scan.part_after.take(),
                    through: Some(key.clone()),
                });
                scan.part_after = Some(key);
                scan.part_records = 0;
            }
        }
        match next {
            Some(cursor) => scan.cursor = Some(cursor),
            None => {
                let last_cut = scan.parts.last_mut().filter(|part| part.file == file);
                match last_cut {
                    Some(last) if scan.part_records == 0 => last.through = None,
                    _ => scan.parts.push(Part {
                        file,
                        after: scan.part_after.take(),
                        through: None,
                    }),
                }
                *scan = Scan {
                    file: scan.file + 1,
                    parts: std::mem::take(&mut scan.parts),
                    ..Scan::default()
                };
            }
        }
    }
    Ok(())
}

/// The keys of one page of a list, and the cursor of the page after, if any.
async fn keys_page(
    reader: &Reader<'_>,
    source: Source,
    after: Option<&str>,
) -> Result<(Vec<String>, Option<String>), Outcome> {
    let records = match source {
        Source::Connection {
            field, arguments, ..
        } => connection_page(reader, (field, arguments), "", after).await?,
        Source::Events => events_page(reader, "", after).await?,
    };
    Ok((
        records.0.into_iter().map(|(key, _)| key).collect(),
        records.1,
    ))
}

fn manifest(base: &str, id: Uuid, job: &Job, parts: &[Part]) -> Value {
    let mut numbered: HashMap<&str, usize> = HashMap::new();
    let mut fhir = Vec::new();
    let mut hpms = Vec::new();
    for part in parts {
        let name = part.file.name();
        let number = numbered.entry(name).or_default();
        let entry = json!({
            "type": name,
            "url": format!("{base}/$export-file/{id}/{name}.{number}.ndjson"),
        });
        *number += 1;
        if part.file.is_fhir() {
            fhir.push(entry);
        } else {
            hpms.push(entry);
        }
    }
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
        let (id, _) = owned_job(&fhir, &call, &request_id, &job).await?;
        fhir.export.with_jobs(|jobs| jobs.remove(&id));
        tracing::info!(job = %id, "clinic export deleted");
        Ok::<_, Outcome>(())
    };
    match answer.await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// The part a file name (`Patient.0.ndjson`) of a finished job stands for.
fn part_named(job: &Job, name: &str) -> Option<Part> {
    let (file, number) = name.strip_suffix(".ndjson")?.rsplit_once('.')?;
    let file = ExportFile::of_name(file)?;
    let number: usize = number.parse().ok()?;
    job.parts
        .get()?
        .iter()
        .filter(|part| part.file == file)
        .nth(number)
        .cloned()
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
        let (_, job) = owned_job(&fhir, &call, &request_id, &job).await?;
        part_named(&job, &name)
            .map(|part| (call, part))
            .ok_or_else(|| Outcome::not_found("this export has no such file: see its manifest"))
    };
    let (call, part) = match answer.await {
        Ok(found) => found,
        Err(refused) => return refused.into_response(),
    };
    let pages = Pages {
        fhir,
        call,
        request_id,
        cursor: part.after.clone(),
        part,
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
                tracing::warn!(code = %refused.code, file = pages.part.file.name(), "export file interrupted");
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

/// Where one file's download is: the key of the last record sent.
struct Pages {
    fhir: Fhir,
    call: Call,
    request_id: RequestId,
    part: Part,
    cursor: Option<String>,
    done: bool,
}

impl Pages {
    /// The next page's NDJSON lines, up to the file's last record; marks the file done then.
    async fn next(&mut self) -> Result<Bytes, Outcome> {
        let reader = self.fhir.reader(&self.call, &self.request_id);
        let (records, next) = read_page(&reader, self.part.file, self.cursor.as_deref()).await?;
        let mut text = String::new();
        let source = self.part.file.source();
        for (key, lines) in records {
            // Past the file's last key (the record there may have moved or gone since the cut):
            // the rest is the next file's.
            if let Some(through) = &self.part.through
                && source.passes(&key, through)
            {
                self.done = true;
                return Ok(Bytes::from(text));
            }
            for line in lines {
                text.push_str(&line.to_string());
                text.push('\n');
            }
            if self.part.through.as_ref() == Some(&key) {
                self.done = true;
                return Ok(Bytes::from(text));
            }
        }
        self.done = next.is_none();
        self.cursor = next;
        Ok(Bytes::from(text))
    }
}

/// One page of a GraphQL connection: each node with its cursor, and the cursor of the page
/// after, if any.
async fn connection_page(
    reader: &Reader<'_>,
    (field, arguments): (&str, &str),
    fields: &str,
    after: Option<&str>,
) -> Result<(Vec<(String, Value)>, Option<String>), Outcome> {
    let first = if field == "appointments" && !fields.is_empty() {
        APPOINTMENTS_PER_PAGE
    } else {
        PAGE_SIZE
    };
    let node = if fields.is_empty() {
        String::new()
    } else {
        format!("node {{ {fields} }}")
    };
    let query = format!(
        "query($first: Int, $after: String) {{ {field}({arguments}first: $first, after: $after) {{ edges {{ cursor {node} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let data = reader
        .read_unmasked(&query, json!({ "first": first, "after": after }))
        .await?;
    let connection = &data[field];
    let records = connection["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|edge| Some((edge["cursor"].as_str()?.to_owned(), edge["node"].clone())))
        .collect();
    Ok((records, next_cursor(connection)))
}

/// One page of the appointment events after event `after`: each with its id as key.
async fn events_page(
    reader: &Reader<'_>,
    fields: &str,
    after: Option<&str>,
) -> Result<(Vec<(String, Value)>, Option<String>), Outcome> {
    let query = format!(
        "query($after: ID, $first: Int!) {{ appointmentEvents(after: $after, first: $first) {{ id {fields} }} }}"
    );
    let data = reader
        .read_unmasked(&query, json!({ "after": after, "first": EVENTS_PAGE_SIZE }))
        .await?;
    let events: Vec<(String, Value)> = data["appointmentEvents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|event| Some((event["id"].as_str()?.to_owned(), event.clone())))
        .collect();
    let next = (events.len() as u64 == EVENTS_PAGE_SIZE)
        .then(|| events.last().map(|(id, _)| id.clone()))
        .flatten();
    Ok((events, next))
}

/// One page of a file's records: each record's key with its lines (an invoice has a line per
/// posting in LedgerLine), and the cursor of the page after, if any.
async fn read_page(
    reader: &Reader<'_>,
    file: ExportFile,
    after: Option<&str>,
) -> Result<(Vec<(String, Vec<Value>)>, Option<String>), Outcome> {
    let hpms_line = |kind: &str, mut record: Value| {
        record["hpmsExport"] = json!({ "type": kind, "version": 1 });
        record
    };
    let fields = match file {
        ExportFile::Patient => PATIENT_FIELDS.to_owned(),
        ExportFile::PatientMedical => "id medical { allergies medications notes }".to_owned(),
        ExportFile::Practitioner | ExportFile::Schedule => PRACTITIONER_FIELDS.to_owned(),
        ExportFile::Appointment => format!("{APPOINTMENT_FIELDS} patient {{ id }}"),
        ExportFile::Invoice => INVOICE_FIELDS.to_owned(),
        ExportFile::LedgerLine => {
            "id lines { entryId kind account side amount postedAt }".to_owned()
        }
        ExportFile::AuditLog => {
            "id entityName entityId userId apiKeyId action oldValues newValues occurredAt"
                .to_owned()
        }
        ExportFile::AppointmentEvent => "kind appointmentId providerId patientId typeId startsAt \
             endsAt previousStartsAt previousEndsAt oldStatus newStatus cancelReasonCategory \
             cancelReason actorKind occurredAt"
            .to_owned(),
    };
    let (records, next) = match file.source() {
        Source::Connection {
            field, arguments, ..
        } => connection_page(reader, (field, arguments), &fields, after).await?,
        Source::Events => events_page(reader, &fields, after).await?,
    };
    let types = if file == ExportFile::Schedule {
        let types = reader
            .read_unmasked(
                "{ appointmentTypes { id name durationMinutes } }",
                json!({}),
            )
            .await?;
        types["appointmentTypes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let lines = |record: Value| -> Vec<Value> {
        match file {
            ExportFile::Patient => vec![resources::patient(&record)],
            ExportFile::Practitioner => vec![resources::practitioner(&record)],
            ExportFile::Schedule => vec![resources::schedule(&record, &types)],
            ExportFile::Appointment => vec![resources::appointment(&record)],
            ExportFile::Invoice => vec![resources::invoice(&record)],
            ExportFile::PatientMedical => vec![hpms_line(
                "PatientMedical",
                json!({ "patientId": record["id"], "medical": record["medical"] }),
            )],
            ExportFile::LedgerLine => record["lines"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut line| {
                    line["invoiceId"] = record["id"].clone();
                    hpms_line("LedgerLine", line)
                })
                .collect(),
            ExportFile::AuditLog => vec![hpms_line("AuditLog", record)],
            ExportFile::AppointmentEvent => vec![hpms_line("AppointmentEvent", record)],
        }
    };
    let records = records
        .into_iter()
        .map(|(key, record)| (key, lines(record)))
        .collect();
    Ok((records, next))
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
