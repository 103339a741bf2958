//! The one place configuration is read: command-line flags, each with an environment variable of
//! the same meaning. `hpms --help` and `hpms <command> --help` list them; README.md has the table.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "hpms",
    version,
    about = "HPMS: practice management GraphQL API over PostgreSQL"
)]
pub struct Cli {
    /// Log filter in tracing's EnvFilter syntax, such as `info` or `hpms=debug,info`.
    #[arg(
        long,
        env = "HPMS_LOG",
        default_value = "info,sqlx=warn",
        global = true
    )]
    pub log: String,

    /// Log lines as `text` (for people) or `json` (one object a line, for log collectors).
    #[arg(
        long,
        env = "HPMS_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
// Parsed once at start-up and matched once: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Serve the GraphQL API (POST /graphql, GraphiQL on GET /graphql, /healthz, /readyz).
    Serve(ServeSettings),
    /// Apply pending database migrations, as the owner role. Safe to run again.
    Migrate(MigrateSettings),
    /// Print the GraphQL schema (SDL) that `serve` exposes.
    Schema,
    /// Create the platform tenant and a SystemAdmin who signs in to it (tenant `platform`).
    /// Safe to run again: an existing account keeps its id and gets the given password.
    CreateSystemAdmin(CreateSystemAdminSettings),
    /// Load demonstration data: two clinics with one user per role, patients, appointment
    /// types and a week of appointments. Skips clinics that already exist.
    SeedDemo(SeedDemoSettings),
    /// Re-encrypt every patient's PHI still sealed under an older key with the first key of
    /// HPMS_PHI_KEYS, in batches that each commit on their own. Safe to interrupt and run again;
    /// the servers keep serving meanwhile. Start the servers with the new key first.
    RotatePhiKey(RotatePhiKeySettings),
    /// Check every clinic's audit hash chain and report, per clinic, the first broken link (an
    /// edited, removed or moved row); exits non-zero when any chain is broken. Reads only.
    VerifyAudit(VerifyAuditSettings),
}

#[derive(Clone, Debug, Args)]
pub struct ServeSettings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    #[command(flatten)]
    pub care: CareSettings,

    #[command(flatten)]
    pub listen_database: ListenSettings,

    /// Address and port to listen on; port 0 picks a free one.
    #[arg(long, env = "HPMS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Maximum number of pooled database connections.
    #[arg(long, env = "HPMS_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,

    /// How long a request waits for a pooled connection before it is told the database is busy,
    /// in seconds.
    #[arg(long, env = "HPMS_DB_ACQUIRE_TIMEOUT_SECONDS", default_value_t = 5)]
    pub db_acquire_timeout_seconds: u64,

    /// Longest a single SQL statement of a request may run (waiting for locks included) before
    /// PostgreSQL cancels it and the request fails with UNAVAILABLE, writing nothing; in
    /// milliseconds, 0 for no limit.
    #[arg(long, env = "HPMS_STATEMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub statement_timeout_ms: u64,

    /// Events each clinic's feed keeps in memory for live delivery; a subscriber further behind
    /// catches up from the table.
    #[arg(long, env = "HPMS_SUBSCRIBER_BUFFER_EVENTS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub subscriber_buffer_events: u32,

    /// How many events behind its clinic a subscriber may fall before it is dropped with
    /// FELL_BEHIND (and told to resume with `after`).
    #[arg(long, env = "HPMS_SUBSCRIBER_MAX_BACKLOG_EVENTS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub subscriber_max_backlog_events: u32,

    /// How long a WebSocket client may leave the server's messages unread before it is
    /// disconnected, in seconds.
    #[arg(long, env = "HPMS_WEBSOCKET_SEND_TIMEOUT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub websocket_send_timeout_seconds: u64,

    /// Kernel send buffer of each client connection, in bytes; unset leaves it to the kernel's
    /// autotuning (up to several MiB a connection). Bounds what a client that stops reading
    /// can hold on the server, so that it falls behind, is dropped and resumes with `after`.
    #[arg(long, env = "HPMS_SOCKET_SEND_BUFFER_BYTES")]
    pub socket_send_buffer_bytes: Option<u32>,

    /// Origins of single-page apps allowed to call the API from a browser, comma-separated and
    /// exact (`https://app.example.org`, scheme and host, and the port when not the default);
    /// unset, no cross-origin access.
    #[arg(long, env = "HPMS_CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<Origin>,

    /// How far ahead a booking may start, in days (anyone's booking beyond it is refused).
    #[arg(long, env = "HPMS_BOOKING_HORIZON_DAYS", default_value_t = 730,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub booking_horizon_days: u32,

    /// Records (patients, appointments, invoices, …) in one file of a clinic's FHIR `$export`:
    /// a download that breaks is fetched again from the start of its file, not of the export.
    #[arg(long, env = "HPMS_EXPORT_FILE_RECORDS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub export_file_records: u32,

    #[command(flatten)]
    pub auth: AuthSettings,

    #[command(flatten)]
    pub phi: PhiSettings,

    /// Keys that encrypt partners' API keys at rest, in the syntax of `HPMS_PHI_KEYS` (and
    /// different keys from those): `key-id:base64-of-32-bytes`, comma-separated, active key first.
    #[arg(long, env = "HPMS_API_KEY_ENCRYPTION_KEYS", hide_env_values = true)]
    pub api_key_encryption_keys: Secret,

    #[command(flatten)]
    pub webhooks: WebhookSettings,
}

/// How this instance delivers webhooks (partners::dispatcher).
#[derive(Clone, Debug, Args)]
pub struct WebhookSettings {
    /// Hosts (names or IP addresses, comma-separated, exact) that webhook endpoints may name
    /// although they are, or resolve to, loopback, private, link-local or metadata addresses;
    /// plain http is allowed for these alone. Unset: none.
    #[arg(long, env = "HPMS_WEBHOOK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub webhook_allowed_hosts: Vec<String>,

    /// Deliveries in flight at once on this instance, across all endpoints; 0 for an instance
    /// that delivers none (the others deliver its clinics' events).
    #[arg(long, env = "HPMS_WEBHOOK_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub webhook_concurrency: u32,

    /// How long a receiver may take to answer one delivery, in milliseconds.
    #[arg(long, env = "HPMS_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_timeout_ms: u64,

    /// The first retry's delay, in milliseconds; each further retry doubles it (with jitter),
    /// up to HPMS_WEBHOOK_RETRY_MAX_DELAY_SECONDS.
    #[arg(long, env = "HPMS_WEBHOOK_RETRY_BASE_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_retry_base_ms: u64,

    /// The longest delay between two retries, in seconds.
    #[arg(long, env = "HPMS_WEBHOOK_RETRY_MAX_DELAY_SECONDS", default_value_t = 3_600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_retry_max_delay_seconds: u64,

    /// How long an endpoint may keep failing the same event before it is disabled, in seconds
    /// (72 hours by default).
    #[arg(long, env = "HPMS_WEBHOOK_RETRY_WINDOW_SECONDS", default_value_t = 72 * 3_600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_retry_window_seconds: u64,

    /// How long delivery log entries are kept, in days.
    #[arg(long, env = "HPMS_WEBHOOK_LOG_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_log_retention_days: u32,

    /// How often this instance looks for due deliveries besides being woken by new events
    /// (retries fall due without one), in milliseconds.
    #[arg(long, env = "HPMS_WEBHOOK_POLL_MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(10..))]
    pub webhook_poll_ms: u64,
}

/// Minimum necessary: which patients' medical data a Provider reads without breaking glass, and
/// for how long breaking glass opens one.
#[derive(Clone, Debug, Args)]
pub struct CareSettings {
    /// An appointment with a provider (not cancelled) starting this many days before or after now
    /// puts its patient in the provider's care.
    #[arg(long, env = "HPMS_CARE_WINDOW_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(0..=3660))]
    pub care_window_days: u32,

    /// How long `breakGlass` opens a patient's medical data to the provider who broke it, in
    /// minutes.
    #[arg(long, env = "HPMS_BREAK_GLASS_MINUTES", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub break_glass_minutes: u32,
}

#[derive(Clone, Debug, Args)]
pub struct DatabaseSettings {
    /// The application role's connection URL (NOSUPERUSER, NOBYPASSRLS). Never the owner's.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Secret,
}

#[derive(Clone, Debug, Args)]
pub struct ListenSettings {
    /// The application role's URL for the one LISTEN connection, when DATABASE_URL goes through
    /// a transaction pooler (PgBouncer in transaction mode loses notifications): a direct one.
    /// Defaults to DATABASE_URL.
    #[arg(long, env = "HPMS_LISTEN_DATABASE_URL", hide_env_values = true)]
    pub listen_database_url: Option<Secret>,
}

#[derive(Clone, Debug, Args)]
pub struct AuthSettings {
    /// Secret that signs access tokens (HS256); at least 32 bytes. Every instance of one
    /// deployment needs the same value.
    #[arg(long, env = "HPMS_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Secret,

    /// How long an access token stays valid, in seconds.
    #[arg(long, env = "HPMS_TOKEN_TTL_SECONDS", default_value_t = 900)]
    pub token_ttl_seconds: u64,

    /// How long a session may go without a refresh before it ends (automatic logoff), in
    /// seconds; at least the access token lifetime.
    #[arg(long, env = "HPMS_SESSION_IDLE_TIMEOUT_SECONDS", default_value_t = 1800,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_timeout_seconds: u64,

    /// How long a session lasts at most, however often it is refreshed, in seconds (12 hours by
    /// default: a working day).
    #[arg(long, env = "HPMS_SESSION_LIFETIME_SECONDS", default_value_t = 12 * 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_lifetime_seconds: u64,

    /// How long an account stays locked from a client address after repeated failed sign-ins
    /// from there (and a client address after many), in seconds.
    #[arg(long, env = "HPMS_LOGIN_LOCKOUT_SECONDS", default_value_t = 300)]
    pub login_lockout_seconds: u64,

    /// Sign-in attempts that do not succeed allowed from one client address within the lockout
    /// window, whatever accounts they name (an office behind one address signs in freely:
    /// successful attempts do not count).
    #[arg(long, env = "HPMS_LOGIN_ATTEMPTS_PER_ADDRESS", default_value_t = 30)]
    pub login_attempts_per_address: u32,

    /// A header in which a trusted reverse proxy reports the client's address
    /// (`X-Forwarded-For`: the last address listed, the one the proxy added, is used). Unset,
    /// the peer's address is the client's. Set it only behind a proxy that sets the header:
    /// otherwise clients choose their own address.
    #[arg(long, env = "HPMS_CLIENT_ADDRESS_HEADER")]
    pub client_address_header: Option<String>,
}

#[derive(Clone, Debug, Args)]
pub struct PhiSettings {
    /// Keys that encrypt patients' PHI: `key-id:base64-of-32-bytes`, comma-separated, the key
    /// for new writes first. Keep retired keys listed until no row uses them.
    #[arg(long, env = "HPMS_PHI_KEYS", hide_env_values = true)]
    pub phi_keys: Secret,
}

#[derive(Clone, Debug, Args)]
pub struct MigrateSettings {
    /// The owner role's connection URL: migrations create and own every table.
    #[arg(long, env = "DATABASE_ADMIN_URL", hide_env_values = true)]
    pub database_admin_url: Secret,
}

#[derive(Clone, Debug, Args)]
pub struct CreateSystemAdminSettings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    /// The SystemAdmin's username.
    #[arg(long, env = "HPMS_SYSTEM_ADMIN_USERNAME")]
    pub username: String,

    /// The SystemAdmin's password (12 characters or more). Prefer the environment variable:
    /// command-line arguments are visible to other users of the machine.
    #[arg(long, env = "HPMS_SYSTEM_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: Secret,
}

#[derive(Clone, Debug, Args)]
pub struct SeedDemoSettings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    #[command(flatten)]
    pub phi: PhiSettings,
}

/// A web origin as browsers send it in `Origin`: `http` or `https`, a host, an optional port, and
/// nothing else (no path, no trailing slash, no wildcard), so a typo is refused at start-up rather
/// than silently matching no request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Origin {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        // Browsers send the serialised origin: lower case, no default port, no trailing slash.
        // Anything that does not serialise back to itself would match no request.
        let origin = url::Url::parse(value)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .map(|url| url.origin().ascii_serialization());
        match origin {
            Some(origin) if origin == value.to_ascii_lowercase() => Ok(Origin(origin)),
            _ => Err(format!(
                "{value:?} must be an exact origin as browsers send it: http:// or https://, the \
                 host, and the port only when not the default; no path, no trailing slash"
            )),
        }
    }
}

#[derive(Clone, Debug, Args)]
pub struct RotatePhiKeySettings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    /// Every key the servers hold, the one to re-encrypt with first (the servers' own value).
    #[command(flatten)]
    pub phi: PhiSettings,

    /// Patients re-encrypted per transaction: each batch's rows are locked only until it commits.
    #[arg(long, env = "HPMS_ROTATE_BATCH_SIZE", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch_size: u64,
}

#[derive(Clone, Debug, Args)]
pub struct VerifyAuditSettings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    /// Append the verified links (ids, times, actions and hashes; never the audited values) as
    /// JSON lines to this file, after the ones it already holds, and check the database against
    /// those first; `-` writes every link to standard output instead (the report then goes to
    /// standard error). Keep the file where the database's owner cannot write.
    #[arg(long, env = "HPMS_AUDIT_EXPORT")]
    pub export: Option<std::path::PathBuf>,
}

/// A configuration value that must never be printed: `Debug` and `Display` show a placeholder.
/// Every argument of this type also needs `hide_env_values = true`, or clap prints the
/// variable's value in `--help`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Secret(value.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("[redacted]")
    }
}
