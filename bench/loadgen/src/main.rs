//! The benchmark's load generator: GraphQL scenarios over HTTP against a running `hpms serve`, at
//! a fixed number of connections for a fixed time, each request for a random clinic. Tokens are
//! signed here with the server's `HPMS_TOKEN_SECRET` (the dataset's users cannot sign in:
//! sign-in is not what this measures). Prints one line of figures per run. With
//! `--server postgraphile` it sends scenario (a) in PostGraphile's schema instead, for the
//! comparison (bench/postgraphile/).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use clap::{Parser, ValueEnum};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Parser)]
#[command(about = "Drives one HPMS benchmark scenario and prints req/s, p50 and p99")]
struct Args {
    /// The server's GraphQL URL.
    #[arg(long, default_value = "http://127.0.0.1:8080/graphql")]
    url: String,
    /// JSON file listing the dataset's clinics (written by bench/run.sh).
    #[arg(long)]
    clinics: std::path::PathBuf,
    #[arg(long, value_enum)]
    scenario: Scenario,
    #[arg(long, default_value_t = 8)]
    connections: usize,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Days of appointments in the dataset, from Monday 5 January 2026.
    #[arg(long, default_value_t = 63)]
    days: u32,
    /// The year whose slots bookings take, in order from its first Monday: each run that books
    /// needs a year of its own.
    #[arg(long, default_value_t = 2027)]
    booking_year: i32,
    #[arg(long, env = "HPMS_TOKEN_SECRET", hide_env_values = true)]
    token_secret: String,
    /// Which GraphQL schema the server at `url` speaks.
    #[arg(long, value_enum, default_value_t = Server::Hpms)]
    server: Server,
    /// Count failed requests by kind and carry on, exiting 0 (the soak test expects some while
    /// the database restarts); without it any failure fails the run.
    #[arg(long)]
    keep_going: bool,
    /// Instead of driving the server, write this many requests of the scenario (schedule or
    /// search) to `--write-requests`, for wrk (bench/wrk/requests.lua).
    #[arg(long, default_value_t = 5000)]
    count: usize,
    /// The file to write `--count` requests to, one a line: the token, a tab, the JSON body.
    #[arg(long)]
    write_requests: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// (a) A clinic's day: the first 50 appointments with patient, provider and type.
    Schedule,
    /// (b) Patients by name prefix, 20 results.
    Search,
    /// (c) `bookAppointment` on a free slot.
    Book,
    /// (d) 90% schedule reads, 10% bookings.
    Mix,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Server {
    Hpms,
    /// PostGraphile v4 with the connection-filter plugin; scenario (a) only.
    Postgraphile,
    /// PostGraphile v5 (amber preset) with the connection-filter plugin; scenario (a) only.
    Postgraphile5,
}

/// A clinic as bench/run.sh lists it.
#[derive(Deserialize)]
struct ClinicRow {
    tenant_id: Uuid,
    frontdesk: Uuid,
    providers: Vec<Uuid>,
}

/// A clinic ready to be asked: a token, and what its bookings refer to.
struct Clinic {
    token: String,
    bookings: Option<BookingTargets>,
}

/// What a clinic's bookings pick from (read through the API before the run).
struct BookingTargets {
    providers: Vec<Uuid>,
    patients: Vec<Uuid>,
    type_id: Uuid,
}

const SCHEDULE: &str = "query($from: DateTime!, $to: DateTime!) {
  appointments(from: $from, to: $to, first: 50) { edges { node {
    id start end status patient { firstName lastName } provider { username } type { name } } } } }";
const SEARCH: &str = "query($s: String!) {
  patients(search: $s, first: 20) { edges { node { id firstName lastName dateOfBirth } } } }";
/// Scenario (a) as PostGraphile spells it: the same rows, fields and order.
const POSTGRAPHILE_SCHEDULE: &str = "query($from: Datetime!, $to: Datetime!) {
  allAppointments(first: 50, orderBy: [START_TIME_ASC, ID_ASC],
    filter: {startTime: {greaterThanOrEqualTo: $from, lessThan: $to}, isDeleted: {equalTo: false}}) {
    nodes { id startTime endTime status patientByTenantIdAndPatientId { firstName lastName }
      userByTenantIdAndProviderId { username } appointmentTypeByTenantIdAndTypeId { name } } } }";
/// Scenario (a) as PostGraphile v5 spells it: v4's query, but v5 names a table's own `id` column
/// `rowId` (its `id` is the global node id).
const POSTGRAPHILE5_SCHEDULE: &str = "query($from: Datetime!, $to: Datetime!) {
  allAppointments(first: 50, orderBy: [START_TIME_ASC, ROW_ID_ASC],
    filter: {startTime: {greaterThanOrEqualTo: $from, lessThan: $to}, isDeleted: {equalTo: false}}) {
    nodes { rowId startTime endTime status patientByTenantIdAndPatientId { firstName lastName }
      userByTenantIdAndProviderId { username } appointmentTypeByTenantIdAndTypeId { name } } } }";
const BOOK: &str = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }";
const NAME_PREFIXES: [&str; 12] = [
    "Mo", "No", "Ok", "Pe", "Qu", "Ro", "Sa", "Ta", "Ue", "Va", "We", "Yo",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rows: Vec<ClinicRow> = serde_json::from_slice(
        &std::fs::read(&args.clinics).with_context(|| format!("reading {:?}", args.clinics))?,
    )?;
    if rows.is_empty() {
        bail!("{:?} lists no clinics", args.clinics);
    }
    if args.server != Server::Hpms && args.scenario != Scenario::Schedule {
        bail!("against PostGraphile only the schedule scenario is defined");
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let mut clinics = Vec::with_capacity(rows.len());
    for row in rows {
        clinics.push(prepare(&client, &args, row).await?);
    }
    let load = Arc::new(Load {
        client,
        url: args.url.clone(),
        clinics,
        scenario: args.scenario,
        schedule_query: match args.server {
            Server::Hpms => SCHEDULE,
            Server::Postgraphile => POSTGRAPHILE_SCHEDULE,
            Server::Postgraphile5 => POSTGRAPHILE5_SCHEDULE,
        },
        days: args.days,
        first_booking: first_monday(args.booking_year),
        next_slot: AtomicU64::new(0),
    });
    if let Some(path) = &args.write_requests {
        return write_requests(&load, path, args.count);
    }
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(Arc::clone(&load).run_until(deadline)))
        .collect();
    let mut latencies = Vec::new();
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    for worker in workers {
        let (worker_latencies, worker_failures) = worker.await?;
        latencies.extend(worker_latencies);
        for (kind, count) in worker_failures {
            *failures.entry(kind).or_default() += count;
        }
    }
    let errors: u64 = failures.values().sum();
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let percentile = |fraction: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * fraction).round() as usize)
            .map_or(f64::NAN, |latency: &Duration| {
                latency.as_secs_f64() * 1000.0
            })
    };
    let by_kind = failures
        .iter()
        .map(|(kind, count)| format!("{kind}:{count}"))
        .collect::<Vec<_>>()
        .join(",");
    println!(
        "{} connections={} requests={} errors={} req/s={:.0} p50_ms={:.2} p99_ms={:.2}{}",
        args.scenario
            .to_possible_value()
            .map(|value| value.get_name().to_owned())
            .unwrap_or_default(),
        args.connections,
        latencies.len(),
        errors,
        latencies.len() as f64 / elapsed,
        percentile(0.50),
        percentile(0.99),
        if by_kind.is_empty() {
            String::new()
        } else {
            format!(" errors_by_kind={by_kind}")
        },
    );
    if errors > 0 && !args.keep_going {
        bail!("{errors} requests failed");
    }
    Ok(())
}

/// Writes `count` requests of a reading scenario for wrk: a random clinic's token and a request
/// body each. The draw is seeded, so every server's file asks for the same clinics and days in
/// the same order (bench/run.sh compares their first answers). Bookings are not written: each
/// needs a slot of its own, which only a live run can hand out.
fn write_requests(load: &Load, path: &std::path::Path, count: usize) -> anyhow::Result<()> {
    if matches!(load.scenario, Scenario::Book | Scenario::Mix) {
        bail!("only the reading scenarios (schedule, search) can be written for wrk");
    }
    fastrand::seed(1);
    let mut lines = String::new();
    for _ in 0..count {
        let clinic = &load.clinics[fastrand::usize(..load.clinics.len())];
        let (query, variables) = load.request(clinic);
        let body = json!({"query": query, "variables": variables});
        lines.push_str(&format!("{}\t{body}\n", clinic.token));
    }
    std::fs::write(path, lines).with_context(|| format!("writing {path:?}"))
}

/// Signs a FrontDesk token for the clinic (in the session bench/dataset.sql opened for the user,
/// which has the user's id) and, when the scenario books, reads what bookings need.
async fn prepare(client: &reqwest::Client, args: &Args, row: ClinicRow) -> anyhow::Result<Clinic> {
    let now = Utc::now().timestamp();
    let claims = json!({
        "iss": "hpms", "sub": row.frontdesk.to_string(), "tid": row.tenant_id.to_string(),
        "role": "FrontDesk", "ver": 1, "sid": row.frontdesk.to_string(),
        "iat": now, "nbf": now, "exp": now + 24 * 3600,
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(args.token_secret.as_bytes()),
    )?;
    let books = matches!(args.scenario, Scenario::Book | Scenario::Mix);
    let bookings = if books {
        Some(booking_targets(client, &args.url, &token, row.providers).await?)
    } else {
        None
    };
    Ok(Clinic { token, bookings })
}

async fn booking_targets(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    providers: Vec<Uuid>,
) -> anyhow::Result<BookingTargets> {
    let answer = post(
        client,
        url,
        token,
        "{ patients(first: 100) { edges { node { id } } } appointmentTypes { id } }",
        json!({}),
    )
    .await?;
    let data = &answer["data"];
    let patients = data["patients"]["edges"]
        .as_array()
        .context("the clinic's patients")?
        .iter()
        .filter_map(|edge| edge["node"]["id"].as_str()?.parse().ok())
        .collect::<Vec<Uuid>>();
    let type_id = data["appointmentTypes"][0]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .with_context(|| format!("the clinic's appointment types: {answer}"))?;
    if patients.is_empty() || providers.is_empty() {
        bail!("a clinic has no patients or no providers");
    }
    Ok(BookingTargets {
        providers,
        patients,
        type_id,
    })
}

/// Why a request failed: its GraphQL error code, else its HTTP status, else no answer at all.
#[derive(Debug)]
struct Failure {
    kind: String,
    detail: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for Failure {}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Result<Value, Failure> {
    let no_answer = |error: reqwest::Error| Failure {
        kind: "no answer".to_owned(),
        detail: error.to_string(),
    };
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .map_err(no_answer)?;
    let status = response.status();
    let body: Value = response.json().await.map_err(no_answer)?;
    if !status.is_success() || body.get("errors").is_some() {
        let kind = body["errors"][0]["extensions"]["code"]
            .as_str()
            .map_or_else(|| format!("HTTP {}", status.as_u16()), str::to_owned);
        return Err(Failure {
            kind,
            detail: format!("HTTP {status}: {body}"),
        });
    }
    Ok(body)
}

struct Load {
    client: reqwest::Client,
    url: String,
    clinics: Vec<Clinic>,
    scenario: Scenario,
    schedule_query: &'static str,
    days: u32,
    first_booking: DateTime<Utc>,
    /// Bookings take slots in order from `first_booking`, so no two clash.
    next_slot: AtomicU64,
}

impl Load {
    /// Sends requests one after another until `deadline`; their latencies and the failures by
    /// kind.
    async fn run_until(
        self: Arc<Self>,
        deadline: Instant,
    ) -> (Vec<Duration>, BTreeMap<String, u64>) {
        let (mut latencies, mut failures) = (Vec::new(), BTreeMap::new());
        let mut errors = 0;
        while Instant::now() < deadline {
            let clinic = &self.clinics[fastrand::usize(..self.clinics.len())];
            let (query, variables) = self.request(clinic);
            let sent = Instant::now();
            match post(&self.client, &self.url, &clinic.token, query, variables).await {
                Ok(_) => latencies.push(sent.elapsed()),
                Err(error) => {
                    errors += 1;
                    *failures.entry(error.kind.clone()).or_default() += 1;
                    if errors <= 3 {
                        let error = format!("{error:#}");
                        eprintln!(
                            "request failed: {}",
                            &error[..error.floor_char_boundary(400)]
                        );
                    }
                }
            }
        }
        (latencies, failures)
    }

    fn request(&self, clinic: &Clinic) -> (&'static str, Value) {
        let book = match self.scenario {
            Scenario::Schedule | Scenario::Search => false,
            Scenario::Book => true,
            Scenario::Mix => fastrand::u8(..10) == 0,
        };
        if let (true, Some(targets)) = (book, &clinic.bookings) {
            return (BOOK, self.booking(targets));
        }
        if self.scenario == Scenario::Search {
            let prefix = NAME_PREFIXES[fastrand::usize(..NAME_PREFIXES.len())];
            return (SEARCH, json!({"s": prefix}));
        }
        let day = first_day() + chrono::Duration::days(i64::from(fastrand::u32(..self.days)));
        (
            self.schedule_query,
            json!({"from": day, "to": day + chrono::Duration::days(1)}),
        )
    }

    fn booking(&self, clinic: &BookingTargets) -> Value {
        let n = self.next_slot.fetch_add(1, Ordering::Relaxed);
        let providers = clinic.providers.len() as u64;
        let slot = n / providers;
        let start = self.first_booking
            + chrono::Duration::hours(8)
            + chrono::Duration::days((slot / 16) as i64)
            + chrono::Duration::minutes(((slot % 16) * 30) as i64);
        json!({"i": {
            "patientId": clinic.patients[fastrand::usize(..clinic.patients.len())],
            "providerId": clinic.providers[(n % providers) as usize],
            "typeId": clinic.type_id,
            "start": start,
        }})
    }
}

fn first_day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap()
}

fn first_monday(year: i32) -> DateTime<Utc> {
    let first = chrono::NaiveDate::from_ymd_opt(year, 1, 1).expect("a valid year");
    let monday =
        first + chrono::Duration::days(i64::from((7 - first.weekday().num_days_from_monday()) % 7));
    Utc.from_utc_datetime(&monday.and_hms_opt(0, 0, 0).unwrap())
}
