//! The real server on port 0, against a test database, spoken to over HTTP: `TestApp` and the
//! clinics, users and tokens API tests act with.

use std::collections::HashMap;
use std::net::SocketAddr;

use hpms::foundation::config::{
    AuthSettings, CareSettings, DatabaseSettings, ListenSettings, PhiSettings, Secret,
    ServeSettings, WebhookSettings,
};
use hpms::foundation::db::{StatementCounter, TenantScope};
use hpms::foundation::role::Role;
use hpms::identity::{bootstrap, password};
use hpms::patients::PhiKeyring;
use hpms::server::http::App;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::subscriptions::EventSocket;
use super::{TestDb, clinic_slug, exec, insert_tenant, shared_database};

/// The password of every user the API tests create.
pub const TEST_PASSWORD: &str = "correct horse battery staple";
/// The token-signing secret of test servers (tests forge tokens with it, and without it).
pub const TEST_TOKEN_SECRET: &str = "test-token-secret-of-at-least-32-bytes!!";
/// The key that seals API keys on test servers: one deployment's instances share it.
const TEST_API_KEY_KEYS: &str = "test-keys:dGVzdC1rZXktb2YtZXhhY3RseS0zMi1ieXRlcyEhISE=";

/// Makes a test server deliver webhooks (the test settings' dispatchers are off).
pub fn delivering_webhooks(settings: &mut ServeSettings) {
    settings.webhooks.webhook_concurrency = 16;
}

/// The server's settings for a test: this database, port 0, test secrets, the given PHI keys.
fn settings(db: &TestDb, phi_keys: &str) -> ServeSettings {
    ServeSettings {
        database: DatabaseSettings {
            database_url: Secret::from(db.app_url().to_owned()),
        },
        care: CareSettings {
            care_window_days: 90,
            break_glass_minutes: 60,
        },
        listen_database: ListenSettings {
            listen_database_url: None,
        },
        listen: "127.0.0.1:0".parse().expect("loopback address parses"),
        db_pool_size: 8,
        // Tests run eight at a time on two cores: a burst of 50 requests may queue for a while.
        db_acquire_timeout_seconds: 30,
        statement_timeout_ms: 10_000,
        // The suite books on fixed dates years ahead (2030, 2031) so that they stay ahead
        // whenever it runs; booking_window.rs tests the default horizon.
        booking_horizon_days: 20 * 365,
        export_file_records: 10_000,
        auth: AuthSettings {
            token_secret: Secret::from(TEST_TOKEN_SECRET.to_owned()),
            token_ttl_seconds: 900,
            session_idle_timeout_seconds: 1800,
            session_lifetime_seconds: 12 * 3600,
            login_lockout_seconds: 300,
            // Every test signs in from 127.0.0.1; the per-address limit has a test of its own.
            login_attempts_per_address: 1_000,
            client_address_header: None,
        },
        phi: PhiSettings {
            phi_keys: Secret::from(phi_keys.to_owned()),
        },
        api_key_encryption_keys: Secret::from(TEST_API_KEY_KEYS.to_owned()),
        subscriber_buffer_events: 1024,
        subscriber_max_backlog_events: 10_000,
        websocket_send_timeout_seconds: 30,
        socket_send_buffer_bytes: None,
        cors_allowed_origins: Vec::new(),
        webhooks: WebhookSettings {
            // The test receivers listen on loopback.
            webhook_allowed_hosts: vec!["127.0.0.1".to_owned()],
            // Test servers deliver no webhooks unless a test says so (`delivering_webhooks`):
            // a dispatcher's polling in every test server is load on two shared cores.
            webhook_concurrency: 0,
            webhook_timeout_ms: 2_000,
            webhook_retry_base_ms: 100,
            webhook_retry_max_delay_seconds: 1,
            webhook_retry_window_seconds: 72 * 3_600,
            webhook_log_retention_days: 30,
            // New events wake the dispatchers; the poll is for retries (tests of retries poll
            // faster), and every test server's poll is load on two shared cores.
            webhook_poll_ms: 500,
        },
    }
}

/// A running server and the database behind it.
pub struct TestApp {
    pub db: TestDb,
    pub address: SocketAddr,
    pub statements: StatementCounter,
    phi_keys: String,
    client: reqwest::Client,
    /// The clinics `clinic()` made, which are all a footprint can count on a shared database.
    clinics: std::sync::Mutex<Vec<Uuid>>,
}

impl TestApp {
    /// A server on a fresh database with one PHI key.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with_phi_keys(&PhiKeyring::generate_config_entry("test-1")).await
    }

    /// A server on a fresh database with the given `HPMS_PHI_KEYS`.
    pub async fn spawn_with_phi_keys(phi_keys: &str) -> TestApp {
        TestApp::spawn_with(TestDb::new().await, phi_keys, |_| {}).await
    }

    /// A server on a fresh database with one PHI key and settings changed by `adjust` (every
    /// further instance of the test gets the same changes from `instance_with`'s caller).
    pub async fn spawn_adjusted(adjust: impl FnOnce(&mut ServeSettings)) -> TestApp {
        TestApp::spawn_with(
            TestDb::new().await,
            &PhiKeyring::generate_config_entry("test-1"),
            adjust,
        )
        .await
    }

    /// A server on the shared database of `DATABASE_URL` (`TestDb::shared`): the scale-out
    /// suite's, whose tests keep apart by using clinics of their own (`unique_slug`).
    pub async fn spawn_on_shared_database() -> TestApp {
        TestApp::spawn_with(
            TestDb::shared().await,
            &PhiKeyring::generate_config_entry("test-1"),
            |_| {},
        )
        .await
    }

    async fn spawn_with(
        db: TestDb,
        phi_keys: &str,
        adjust: impl FnOnce(&mut ServeSettings),
    ) -> TestApp {
        let mut settings = settings(&db, phi_keys);
        adjust(&mut settings);
        let (address, statements) = start_server(&settings).await;
        TestApp {
            db,
            address,
            statements,
            phi_keys: phi_keys.to_owned(),
            client: reqwest::Client::new(),
            clinics: std::sync::Mutex::default(),
        }
    }

    /// The environment `hpms serve` needs to be another instance of this deployment.
    pub fn server_environment(&self) -> [(&'static str, String); 4] {
        [
            ("DATABASE_URL", self.db.app_url().to_owned()),
            ("HPMS_TOKEN_SECRET", TEST_TOKEN_SECRET.to_owned()),
            ("HPMS_PHI_KEYS", self.phi_keys.clone()),
            ("HPMS_API_KEY_ENCRYPTION_KEYS", TEST_API_KEY_KEYS.to_owned()),
        ]
    }

    /// Another instance of the same deployment (same database, same keys), as a load balancer
    /// would have it; this test's requests still go to the first.
    pub async fn another_instance(&self) -> SocketAddr {
        self.instance_with(|_| {}).await
    }

    /// Another instance with settings changed by `adjust`.
    pub async fn instance_with(&self, adjust: impl FnOnce(&mut ServeSettings)) -> SocketAddr {
        let mut settings = settings(&self.db, &self.phi_keys);
        adjust(&mut settings);
        start_server(&settings).await.0
    }

    /// Starts another server on the same database with other PHI keys (a key rotation) and
    /// sends this test's requests to it from now on.
    pub async fn switch_server(&mut self, phi_keys: &str) {
        (self.address, self.statements) = start_server(&settings(&self.db, phi_keys)).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// POSTs a GraphQL operation, with a bearer token when given.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        self.graphql_at(self.address, token, query, variables).await
    }

    /// `graphql`, sent to the server instance at `address` (`instance_with`).
    pub async fn graphql_at(
        &self,
        address: SocketAddr,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Gql {
        let header = token.map(|token| ("authorization", format!("Bearer {token}")));
        self.post(address, header, query, variables).await
    }

    /// Sends a GraphQL operation the way `transport` says, with a bearer token when given.
    pub async fn graphql_over(
        &self,
        transport: Transport,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Gql {
        let get = |parameters: Vec<(&'static str, String)>| async move {
            let mut request = self
                .client
                .get(self.url("/graphql"))
                .query(&parameters)
                .header("accept", "application/graphql-response+json");
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            let response = request.send().await.expect("the server answers");
            assert!(
                !response.status().is_server_error(),
                "GET answered {}",
                response.status()
            );
            Gql(response.json().await.expect("the response is JSON"))
        };
        match transport {
            Transport::Post => self.graphql(token, query, variables).await,
            Transport::Get => {
                get(vec![
                    ("query", query.to_owned()),
                    ("variables", variables.to_string()),
                ])
                .await
            }
            Transport::PersistedGet => {
                let hash = format!("{:x}", Sha256::digest(query.as_bytes()));
                let extensions =
                    json!({"persistedQuery": {"version": 1, "sha256Hash": hash}}).to_string();
                let by_hash = vec![
                    ("extensions", extensions),
                    ("variables", variables.to_string()),
                ];
                let answer = get(by_hash.clone()).await;
                if answer.codes() != ["PERSISTED_QUERY_NOT_FOUND"] {
                    return answer;
                }
                let mut with_query = by_hash;
                with_query.push(("query", query.to_owned()));
                get(with_query).await
            }
            Transport::Socket => {
                let mut socket = EventSocket::open(self.address, "graphql-transport-ws").await;
                let credentials = token.map_or(json!({}), |token| json!({ "token": token }));
                socket
                    .init(credentials)
                    .await
                    .expect("the connection is acknowledged");
                Gql(socket.operation(query, variables).await)
            }
        }
    }

    /// POSTs a GraphQL operation as a partner system, with `X-Api-Key`.
    pub async fn graphql_with_api_key(&self, key: &str, query: &str, variables: Value) -> Gql {
        self.post(
            self.address,
            Some(("x-api-key", key.to_owned())),
            query,
            variables,
        )
        .await
    }

    async fn post(
        &self,
        address: SocketAddr,
        header: Option<(&str, String)>,
        query: &str,
        variables: Value,
    ) -> Gql {
        let mut request = self
            .client
            .post(format!("http://{address}/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("the server answers");
        assert_eq!(response.status(), 200, "GraphQL answers with HTTP 200");
        Gql(response.json().await.expect("the response is JSON"))
    }

    /// Signs in with the test password through the API and returns the token; the test fails if
    /// sign-in does.
    pub async fn login(&self, tenant: &str, username: &str) -> String {
        self.login_with(tenant, username, TEST_PASSWORD).await
    }

    pub async fn login_with(&self, tenant: &str, username: &str, password: &str) -> String {
        let response = self
            .graphql(
                None,
                "mutation($t: String!, $u: String!, $p: String!) {
                   login(tenant: $t, username: $u, password: $p) { token } }",
                json!({ "t": tenant, "u": username, "p": password }),
            )
            .await;
        response.data()["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{username}@{tenant} signs in: {response:?}"))
            .to_owned()
    }

    /// How many database nodes a server instance listens on for notifications: the database,
    /// and on Citus every active worker besides (src/foundation/notifications.rs).
    pub async fn listened_nodes(&self) -> i64 {
        let on_citus: bool = super::scalar(
            &self.db.app,
            "select to_regclass('pg_catalog.pg_dist_node') is not null",
            [],
        )
        .await;
        if !on_citus {
            return 1;
        }
        let workers: i64 = super::scalar(
            &self.db.app,
            "select count(*) from pg_dist_node where groupid <> 0 and isactive and noderole = 'primary'",
            [],
        )
        .await;
        1 + workers
    }

    /// Signs in and returns the whole `login` answer: access and refresh tokens, when the session
    /// ends, whether the password must be changed.
    pub async fn sign_in(&self, tenant: &str, username: &str, password: &str) -> Value {
        let response = self
            .graphql(
                None,
                "mutation($t: String!, $u: String!, $p: String!) {
                   login(tenant: $t, username: $u, password: $p) {
                     token expiresAt refreshToken sessionExpiresAt passwordChangeRequired } }",
                json!({ "t": tenant, "u": username, "p": password }),
            )
            .await;
        response.ok()["login"].clone()
    }

    /// `refreshSession` with `refresh_token`.
    pub async fn refresh(&self, refresh_token: &str) -> Gql {
        self.graphql(
            None,
            "mutation($r: String!) { refreshSession(refreshToken: $r) {
               token expiresAt refreshToken sessionExpiresAt passwordChangeRequired } }",
            json!({ "r": refresh_token }),
        )
        .await
    }

    /// The platform tenant with a SystemAdmin `sysadmin`, signed in.
    pub async fn system_admin(&self) -> String {
        // Bootstrapping again sets the password again, which ends the SystemAdmin's sessions: on
        // a shared database, where the platform is every test's, it bootstraps once.
        static SHARED_PLATFORM: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
        let bootstrap = || async {
            bootstrap::create_system_admin(&self.db.app, "sysadmin", TEST_PASSWORD)
                .await
                .expect("the platform bootstraps");
        };
        if shared_database() {
            SHARED_PLATFORM.get_or_init(bootstrap).await;
        } else {
            bootstrap().await;
        }
        self.login(bootstrap::PLATFORM_SLUG, "sysadmin").await
    }

    /// A clinic with one signed-in user per clinic role and one patient (created through the
    /// API by its ClinicAdmin, with contact and medical details, in the care of its Provider).
    pub async fn clinic(&self, slug: &str) -> ApiClinic {
        let slug = &clinic_slug(slug);
        let tenant_id = Uuid::new_v4();
        self.clinics.lock().unwrap().push(tenant_id);
        let hash = test_password_hash().await;
        let mut users = HashMap::new();
        let tx = self.db.begin(TenantScope::platform_work(tenant_id)).await;
        insert_tenant(&tx, tenant_id, slug).await;
        for role in CLINIC_ROLES {
            let id = Uuid::new_v4();
            exec(
                &tx,
                "insert into users (tenant_id, id, username, password_hash, role_id)
                 values ($1, $2, $3, $4, $5)",
                [
                    tenant_id.into(),
                    id.into(),
                    username_for(role).into(),
                    hash.clone().into(),
                    role.id().into(),
                ],
            )
            .await
            .expect("user inserts");
            users.insert(role, id);
        }
        tx.commit().await.expect("clinic commits");

        let mut tokens = HashMap::new();
        for role in CLINIC_ROLES {
            tokens.insert(role, self.login(slug, username_for(role)).await);
        }
        let mut clinic = ApiClinic {
            slug: slug.to_owned(),
            tenant_id,
            users,
            tokens,
            patient_id: Uuid::nil(),
            type_id: Uuid::nil(),
        };
        clinic.patient_id = self.create_patient(&clinic, "Ada", "Lovelace").await;
        let consultation = self
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                "mutation { createAppointmentType(input: {name: \"Consultation\", durationMinutes: 30, price: \"80.00\"}) { id } }",
                json!({}),
            )
            .await;
        clinic.type_id = consultation.ok()["createAppointmentType"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("the appointment type is created");
        self.set_working_hours(
            &clinic,
            clinic.user(Role::Provider),
            ALL_DAY_EVERY_DAY.clone(),
        )
        .await;
        self.assign_care_provider(&clinic, clinic.patient_id, clinic.user(Role::Provider))
            .await;
        clinic
    }

    /// Assigns `provider` to `patient`'s care as the clinic's ClinicAdmin (the clinic's own
    /// patient is in its provider's care from the start).
    pub async fn assign_care_provider(&self, clinic: &ApiClinic, patient: Uuid, provider: Uuid) {
        self.graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "mutation($p: UUID!, $v: UUID!) { assignCareProvider(patientId: $p, providerId: $v) { id } }",
            json!({"p": patient, "v": provider}),
        )
        .await
        .ok();
    }

    /// Sets a provider's weekly hours as the clinic's ClinicAdmin.
    pub async fn set_working_hours(&self, clinic: &ApiClinic, provider: Uuid, hours: Value) {
        self.graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "mutation($p: UUID!, $h: [WorkingHoursInput!]!) { setProviderWorkingHours(providerId: $p, hours: $h) { id } }",
            json!({"p": provider, "h": hours}),
        )
        .await
        .ok();
    }

    /// Books the clinic's patient with `provider` from `start` for the type's 30 minutes, as the
    /// front desk; returns the response.
    pub async fn book(&self, clinic: &ApiClinic, provider: Uuid, start: &str) -> Gql {
        self.graphql(
            Some(clinic.token(Role::FrontDesk)),
            "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id version status start end } }",
            json!({"i": {"patientId": clinic.patient_id, "providerId": provider, "typeId": clinic.type_id, "start": start}}),
        )
        .await
    }

    /// Creates another provider of the clinic as its ClinicAdmin, working `hours`; their id.
    pub async fn create_provider(&self, clinic: &ApiClinic, username: &str, hours: Value) -> Uuid {
        let created = self
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
                json!({"i": {"username": username, "password": "a long enough password", "role": "PROVIDER"}}),
            )
            .await;
        let id = created.ok()["createUser"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("the provider is created");
        self.set_working_hours(clinic, id, hours).await;
        id
    }

    /// Adds an appointment type "Physical" of `minutes` that needs a room of `room_kind`, as the
    /// clinic's ClinicAdmin; its id.
    pub async fn create_type_needing_room(
        &self,
        clinic: &ApiClinic,
        minutes: i32,
        room_kind: &str,
    ) -> String {
        let created = self
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                "mutation($m: Int!, $k: String) { createAppointmentType(input: {name: \"Physical\", durationMinutes: $m, price: \"150.00\", roomKind: $k}) { id } }",
                json!({"m": minutes, "k": room_kind}),
            )
            .await;
        created.ok()["createAppointmentType"]["id"]
            .as_str()
            .expect("the type is created")
            .to_owned()
    }

    /// `availableSlots` of `provider` on `date` for `type_id`, as the front desk: the starts as
    /// the API writes them.
    pub async fn available_slots(
        &self,
        clinic: &ApiClinic,
        provider: Uuid,
        date: impl std::fmt::Display,
        type_id: impl std::fmt::Display,
    ) -> Vec<String> {
        let response = self
            .graphql(
                Some(clinic.token(Role::FrontDesk)),
                "query($p: UUID!, $d: NaiveDate!, $t: UUID!) { availableSlots(providerId: $p, date: $d, typeId: $t) }",
                json!({"p": provider, "d": date.to_string(), "t": type_id.to_string()}),
            )
            .await;
        response.ok()["availableSlots"]
            .as_array()
            .expect("a list of starts")
            .iter()
            .map(|slot| slot.as_str().expect("an instant").to_owned())
            .collect()
    }

    /// Adds a room of `kind` (none with `None`) as the clinic's ClinicAdmin; its id.
    pub async fn create_room(&self, clinic: &ApiClinic, name: &str, kind: Option<&str>) -> String {
        let created = self
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                "mutation($i: CreateRoomInput!) { createRoom(input: $i) { id } }",
                json!({"i": {"name": name, "kind": kind}}),
            )
            .await;
        created.ok()["createRoom"]["id"]
            .as_str()
            .expect("the room is created")
            .to_owned()
    }

    /// Creates a patient as the clinic's ClinicAdmin, with contact and medical details.
    pub async fn create_patient(&self, clinic: &ApiClinic, first: &str, last: &str) -> Uuid {
        self.create_patient_with(
            clinic,
            first,
            last,
            json!({ "phone": "+44 20 7946 0000", "email": "ada@example.org" }),
            json!({ "allergies": "penicillin", "notes": "Prefers mornings." }),
        )
        .await
    }

    /// `create_patient` with the given `contact` and `medical` inputs.
    pub async fn create_patient_with(
        &self,
        clinic: &ApiClinic,
        first: &str,
        last: &str,
        contact: Value,
        medical: Value,
    ) -> Uuid {
        let response = self
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id } }",
                json!({ "input": {
                    "firstName": first, "lastName": last, "dateOfBirth": "1985-12-10",
                    "contact": contact, "medical": medical,
                }}),
            )
            .await;
        response.data()["createPatient"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("the patient is created: {response:?}"))
    }
}

/// Builds and starts the app; it serves until the test's runtime ends. Once `App::build`
/// returns the listener is bound, so requests can be sent at once.
async fn start_server(settings: &ServeSettings) -> (SocketAddr, StatementCounter) {
    let app = App::build(settings).await.expect("the app builds");
    let address = app.local_addr().expect("the app is bound");
    let statements = app.statement_counter();
    tokio::spawn(app.serve(std::future::pending()));
    (address, statements)
}

impl TestApp {
    /// Issues an API key with the APPOINTMENT_EVENTS scope as the clinic's ClinicAdmin; (key, id).
    pub async fn issue_api_key(&self, clinic: &ApiClinic, name: &str) -> (String, String) {
        let response = self
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                "mutation($n: String!) { issueApiKey(name: $n, scopes: [APPOINTMENT_EVENTS]) { key apiKey { id } } }",
                json!({"n": name}),
            )
            .await;
        let issued = &response.ok()["issueApiKey"];
        (
            issued["key"].as_str().unwrap().to_owned(),
            issued["apiKey"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// Issues an API key with `scopes` (a GraphQL list, such as `[APPOINTMENTS]`) as the
    /// clinic's ClinicAdmin; (key, id).
    pub async fn issue_api_key_with(
        &self,
        clinic: &ApiClinic,
        name: &str,
        scopes: &str,
    ) -> (String, String) {
        let response = self
            .graphql(
                Some(clinic.token(Role::ClinicAdmin)),
                &format!(
                    "mutation($n: String!) {{ issueApiKey(name: $n, scopes: {scopes}) {{ key apiKey {{ id }} }} }}"
                ),
                json!({"n": name}),
            )
            .await;
        let issued = &response.ok()["issueApiKey"];
        (
            issued["key"].as_str().unwrap().to_owned(),
            issued["apiKey"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// Revokes an API key as the clinic's ClinicAdmin; the response (`revokedAt` selected).
    pub async fn revoke_api_key(&self, clinic: &ApiClinic, id: &str) -> Gql {
        self.graphql(
            Some(clinic.token(Role::ClinicAdmin)),
            "mutation($id: UUID!) { revokeApiKey(id: $id) { revokedAt } }",
            json!({"id": id}),
        )
        .await
    }

    /// Deactivates a clinic as the SystemAdmin signed in with `sysadmin`.
    pub async fn deactivate_clinic(&self, sysadmin: &str, clinic: &ApiClinic) {
        self.graphql(
            Some(sysadmin),
            "mutation($id: UUID!) { setTenantActive(id: $id, active: false) { isActive } }",
            json!({"id": clinic.tenant_id}),
        )
        .await
        .ok();
    }

    /// Moves an appointment one step along its status flow as the clinic's Provider; the
    /// response of `setAppointmentStatus`.
    pub async fn set_status(
        &self,
        clinic: &ApiClinic,
        id: &str,
        version: i64,
        status: &str,
    ) -> Gql {
        self.graphql(
            Some(clinic.token(Role::Provider)),
            "mutation($id: UUID!, $v: Int!, $s: AppointmentStatus!) { setAppointmentStatus(id: $id, expectedVersion: $v, status: $s) { id version status } }",
            json!({"id": id, "v": version, "s": status}),
        )
        .await
    }

    /// The clinic's latest appointment event id, as its ClinicAdmin polls it page by page.
    pub async fn latest_event_id(&self, clinic: &ApiClinic) -> i64 {
        let mut latest = 0;
        loop {
            let response = self
                .graphql(
                    Some(clinic.token(Role::ClinicAdmin)),
                    "query($after: ID!) { appointmentEvents(after: $after, first: 500) { id } }",
                    json!({"after": latest.to_string()}),
                )
                .await;
            let page = response.ok()["appointmentEvents"]
                .as_array()
                .unwrap()
                .clone();
            match page.last() {
                Some(event) => latest = event["id"].as_str().unwrap().parse().unwrap(),
                None => return latest,
            }
        }
    }

    /// Books the clinic's patient and walks the visit to Completed as its Provider; returns the
    /// appointment id and the invoice billing raised for it.
    pub async fn completed_visit(&self, clinic: &ApiClinic, start: &str) -> (String, String) {
        let booked = self.book(clinic, clinic.user(Role::Provider), start).await;
        let id = booked.ok()["bookAppointment"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for (version, status) in [(1, "ARRIVED"), (2, "IN_SESSION"), (3, "COMPLETED")] {
            self.graphql(
                Some(clinic.token(Role::Provider)),
                "mutation($id: UUID!, $v: Int!, $s: AppointmentStatus!) { setAppointmentStatus(id: $id, expectedVersion: $v, status: $s) { id } }",
                json!({"id": id, "v": version, "s": status}),
            )
            .await
            .ok();
        }
        let invoice = self
            .graphql(
                Some(clinic.token(Role::BillingManager)),
                "query($id: UUID!) { appointment(id: $id) { invoice { id } } }",
                json!({"id": id}),
            )
            .await;
        let invoice = invoice.ok()["appointment"]["invoice"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (id, invoice)
    }
}

/// A clinic slug no other test uses, for tests sharing one database.
/// A claim of a token the server issued, read without verifying it (tests forge tokens with the
/// session of a genuine one).
pub fn token_claim(token: &str, claim: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a token has a payload");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("the payload is base64url"),
    )
    .expect("the payload is JSON");
    claims[claim].clone()
}

pub fn unique_slug(name: &str) -> String {
    format!("{name}-{}", &Uuid::new_v4().simple().to_string()[..12])
}

/// Working hours covering the whole of every day, so that tests not about hours can book any time.
pub static ALL_DAY_EVERY_DAY: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    let days = [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ];
    Value::Array(
        days.iter()
            .map(|day| json!({"day": day, "start": "00:00:00", "end": "00:00:00"}))
            .collect(),
    )
});

/// The roles a clinic's users can have.
pub const CLINIC_ROLES: [Role; 4] = [
    Role::ClinicAdmin,
    Role::Provider,
    Role::BillingManager,
    Role::FrontDesk,
];

fn username_for(role: Role) -> &'static str {
    match role {
        Role::SystemAdmin => "sysadmin",
        Role::ClinicAdmin => "admin",
        Role::Provider => "provider",
        Role::BillingManager => "billing",
        Role::FrontDesk => "frontdesk",
    }
}

/// Argon2 is slow by design: hash the test password once per test binary.
async fn test_password_hash() -> String {
    static HASH: OnceCell<String> = OnceCell::const_new();
    HASH.get_or_init(|| async {
        password::hash(TEST_PASSWORD.to_owned())
            .await
            .unwrap_or_else(|_| panic!("the test password hashes"))
    })
    .await
    .clone()
}

/// A clinic made by `TestApp::clinic`.
pub struct ApiClinic {
    pub slug: String,
    pub tenant_id: Uuid,
    pub users: HashMap<Role, Uuid>,
    pub tokens: HashMap<Role, String>,
    pub patient_id: Uuid,
    /// A 30-minute, 80.00 "Consultation".
    pub type_id: Uuid,
}

impl ApiClinic {
    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }

    pub fn user(&self, role: Role) -> Uuid {
        self.users[&role]
    }

    /// Acting in this clinic as its user of `role`, for statements a test runs directly.
    pub fn scope(&self, role: Role) -> TenantScope {
        TenantScope {
            tenant_id: self.tenant_id,
            user_id: Some(self.user(role)),
            role: Some(role),
            api_key_id: None,
        }
    }
}

/// How a request travels, as some client sends it: POSTed JSON; a query in a GET's URL (urql's
/// default); a GET by hash first and with the query only if the server has not kept it (Apollo's
/// persisted queries); an operation on a graphql-transport-ws socket initialised with the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Post,
    Get,
    PersistedGet,
    Socket,
}

/// The longest query sent in a URL: what proxies and browsers reliably carry (urql itself
/// switches to POST past 2,048 characters).
const MAX_QUERY_IN_URL: usize = 8 * 1024;
/// The longest query sent over the socket, whose messages are at most 64 KiB (a larger one
/// ends the connection: the server's WebSocket settings).
const MAX_QUERY_ON_SOCKET: usize = 60 * 1024;

impl Transport {
    /// Every transport an operation of this kind may take: GET carries queries only, and only
    /// those that fit in a URL; a socket's messages are small.
    pub fn for_operation(query: &str) -> &'static [Transport] {
        if query.len() > MAX_QUERY_ON_SOCKET {
            &[Transport::Post]
        } else if query.trim_start().starts_with("mutation") || query.len() > MAX_QUERY_IN_URL {
            &[Transport::Post, Transport::Socket]
        } else {
            &[
                Transport::Post,
                Transport::Get,
                Transport::PersistedGet,
                Transport::Socket,
            ]
        }
    }
}

/// A GraphQL response.
#[derive(Debug)]
pub struct Gql(pub Value);

impl Gql {
    pub fn data(&self) -> &Value {
        &self.0["data"]
    }

    /// The `extensions.code` of every error, in order.
    pub fn codes(&self) -> Vec<String> {
        self.errors()
            .iter()
            .map(|error| {
                error["extensions"]["code"]
                    .as_str()
                    .unwrap_or("<none>")
                    .to_owned()
            })
            .collect()
    }

    pub fn errors(&self) -> Vec<Value> {
        self.0["errors"].as_array().cloned().unwrap_or_default()
    }

    /// The single error's code; the test fails unless there is exactly one error.
    #[track_caller]
    pub fn code(&self) -> String {
        let codes = self.codes();
        assert_eq!(codes.len(), 1, "expected exactly one error: {self:?}");
        codes[0].clone()
    }

    /// The single error's `extensions.field`.
    #[track_caller]
    pub fn field(&self) -> String {
        let errors = self.errors();
        assert_eq!(errors.len(), 1, "expected exactly one error: {self:?}");
        errors[0]["extensions"]["field"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned()
    }

    /// The data, after asserting there were no errors.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(self.errors().is_empty(), "expected no errors: {self:?}");
        self.data()
    }
}

impl TestApp {
    /// What a refused request must leave unchanged: the clinic's audit rows, users and
    /// patients (deleted ones included), the number of clinics, and every audit row of any
    /// clinic (counted as the owner, one clinic at a time). Audit rows count as changes, not the
    /// `Read` and `Refused` rows that record what the request was shown or refused. On a shared
    /// database, where other tests' clinics change meanwhile, the clinics are this test's (a
    /// clinic made by a refused request is then for the run on one PostgreSQL to see).
    pub async fn footprint(&self, clinic: &ApiClinic) -> [i64; 5] {
        let as_admin = self.db.begin(clinic.scope(Role::ClinicAdmin)).await;
        let as_platform = self.db.begin_as_platform().await;
        let clinics: Vec<Uuid> = if shared_database() {
            self.clinics.lock().unwrap().clone()
        } else {
            super::scalar(
                &as_platform,
                "select coalesce(array_agg(id), '{}') from tenants",
                [],
            )
            .await
        };
        let mut all_audit_rows = 0;
        for &tenant_id in &clinics {
            let as_owner = self
                .db
                .begin_as_owner(TenantScope {
                    tenant_id,
                    user_id: None,
                    role: Some(Role::ClinicAdmin),
                    api_key_id: None,
                })
                .await;
            all_audit_rows += changes_audited(&as_owner).await;
        }
        [
            changes_audited(&as_admin).await,
            super::count(&as_admin, "users").await,
            super::count(&as_admin, "patients").await,
            clinics.len() as i64,
            all_audit_rows,
        ]
    }
}

/// The audit rows of changes the transaction's clinic shows (not its reads and refusals).
async fn changes_audited(tx: &impl sea_orm::ConnectionTrait) -> i64 {
    super::scalar(
        tx,
        "/* test */ select count(*) from audit_logs where action not in ('Read', 'Refused')",
        [],
    )
    .await
}
