//! The database goes away under a mixed load and comes back: the server keeps running, `/readyz`
//! reports the outage, every request meanwhile fails fast with UNAVAILABLE (never INTERNAL,
//! never a 5xx, never a hang), and full service returns by itself within seconds of the database
//! being back. The test runs a PostgreSQL cluster of its own (`scripts/devdb.sh` in a directory
//! and on a port of its own, with the demo data), since the shared one serves the other tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::Command;
use tokio::sync::Mutex;

use crate::helpers::eventually;
use crate::helpers::server_process::ServerProcess;

/// A private cluster, stopped and removed when dropped.
struct Cluster {
    dir: PathBuf,
    port: u16,
    environment: Vec<(String, String)>,
}

impl Cluster {
    async fn start() -> Cluster {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("hpms-restart-{}", uuid::Uuid::new_v4()));
        let mut cluster = Cluster {
            dir,
            port,
            environment: Vec::new(),
        };
        let printed = cluster.devdb("env").await;
        cluster.environment = printed
            .lines()
            .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        for command in ["migrate", "seed-demo"] {
            let status = Command::new(env!("CARGO_BIN_EXE_hpms"))
                .arg(command)
                .envs(cluster.environment.clone())
                .env("HPMS_LOG", "warn")
                .status()
                .await
                .unwrap();
            assert!(status.success(), "hpms {command}");
        }
        cluster
    }

    async fn devdb(&self, command: &str) -> String {
        let output = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/devdb.sh"))
            .arg(command)
            .env("HPMS_DEVDB_DIR", &self.dir)
            .env("HPMS_DEVDB_PORT", self.port.to_string())
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "devdb.sh {command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ =
            std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/devdb.sh"))
                .arg("stop")
                .env("HPMS_DEVDB_DIR", &self.dir)
                .env("HPMS_DEVDB_PORT", self.port.to_string())
                .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One answer of the load: when it came, how long it took, and its error code (None: success).
struct Answer {
    at: Instant,
    took: Duration,
    status: u16,
    code: Option<String>,
}

async fn ask(client: &reqwest::Client, server: SocketAddr, token: &str, body: &Value) -> Answer {
    let started = Instant::now();
    let response = client
        .post(format!("http://{server}/graphql"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("the server keeps answering");
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    Answer {
        at: Instant::now(),
        took: started.elapsed(),
        status,
        code: body["errors"][0]["extensions"]["code"]
            .as_str()
            .map(str::to_owned),
    }
}

async fn ready(client: &reqwest::Client, server: SocketAddr) -> bool {
    let response = client
        .get(format!("http://{server}/readyz"))
        .send()
        .await
        .expect("the server keeps answering");
    response.status() == 200
}

#[tokio::test]
async fn the_server_rides_out_a_database_restart_under_load() {
    let cluster = Cluster::start().await;
    let mut environment = cluster.environment.clone();
    environment.push(("HPMS_DB_ACQUIRE_TIMEOUT_SECONDS".into(), "2".into()));
    let mut server = ServerProcess::start_with(environment, &[], "info").await;
    let address = server.address;
    let client = reqwest::Client::new();

    let login = format!(
        "mutation {{ login(tenant: \"northside\", username: \"frontdesk\", password: \"{}\") {{ token }} }}",
        hpms::server::demo::DEMO_PASSWORD
    );
    let signed_in = ask_data(&client, address, "", &login).await;
    let token = signed_in["login"]["token"].as_str().unwrap().to_owned();

    // The load: four clients, nine reads to a write (a new patient) each.
    let running = Arc::new(AtomicBool::new(true));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let mut load = Vec::new();
    for client_number in 0..4 {
        let (client, token, running, answers) = (
            client.clone(),
            token.clone(),
            Arc::clone(&running),
            Arc::clone(&answers),
        );
        load.push(tokio::spawn(async move {
            let mut sent = 0u64;
            while running.load(Ordering::SeqCst) {
                sent += 1;
                let body = if sent.is_multiple_of(10) {
                    json!({"query": "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }",
                           "variables": {"i": {"firstName": "Load", "lastName": format!("Client{client_number}x{sent}"),
                                               "dateOfBirth": "1990-01-01"}}})
                } else {
                    json!({"query": "{ appointments(first: 20) { edges { node { id patient { lastName } } } } }"})
                };
                let answer = ask(&client, address, &token, &body).await;
                answers.lock().await.push(answer);
            }
        }));
    }

    // How many answers so far pass `test`.
    let counted = |test: fn(&Answer, Instant) -> bool, since: Instant| {
        let answers = Arc::clone(&answers);
        async move {
            answers
                .lock()
                .await
                .iter()
                .filter(|a| test(a, since))
                .count()
        }
    };
    eventually("the load runs", Duration::from_secs(10), || async {
        counted(|a, _| a.code.is_none(), Instant::now()).await >= 20
    })
    .await;
    cluster.devdb("stop").await;
    let down_at = Instant::now();
    eventually("/readyz reports the outage", Duration::from_secs(5), || {
        ready_is(&client, address, false)
    })
    .await;
    eventually(
        "requests during the outage answer",
        Duration::from_secs(10),
        || async { counted(|a, since| a.at > since && a.code.is_some(), down_at).await >= 8 },
    )
    .await;
    let up_at = Instant::now();
    cluster.devdb("start").await;
    let back_at = Instant::now();
    eventually("full service returns", Duration::from_secs(15), || {
        let answers = Arc::clone(&answers);
        async move {
            let answers = answers.lock().await;
            let last: Vec<&Answer> = (answers.iter().filter(|a| a.at > up_at).rev())
                .take(20)
                .collect();
            last.len() == 20 && last.iter().all(|a| a.code.is_none())
        }
    })
    .await;
    let recovered = back_at.elapsed();
    assert!(ready(&client, address).await, "/readyz reports ready again");
    running.store(false, Ordering::SeqCst);
    for client in load {
        client.await.unwrap();
    }

    assert!(server.is_running(), "the server kept running");
    let answers = answers.lock().await;
    assert!(answers.iter().all(|a| a.status < 500), "no 5xx");
    let during: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.at > down_at && a.at < up_at)
        .collect();
    assert!(
        during
            .iter()
            .all(|a| a.code.as_deref() == Some("UNAVAILABLE")),
        "every request during the outage fails with UNAVAILABLE: {:?}",
        during.iter().map(|a| &a.code).collect::<Vec<_>>()
    );
    let slowest = during.iter().map(|a| a.took).max().unwrap();
    assert!(
        slowest < Duration::from_secs(4),
        "fail fast: the slowest took {slowest:?}"
    );
    assert!(
        answers
            .iter()
            .all(|a| a.code.as_deref() != Some("INTERNAL")),
        "nothing answered INTERNAL"
    );
    println!(
        "restart: {} requests, {} during the outage (slowest {slowest:?}), full service {recovered:?} after the database was started",
        answers.len(),
        during.len()
    );
}

async fn ready_is(client: &reqwest::Client, server: SocketAddr, expected: bool) -> bool {
    ready(client, server).await == expected
}

async fn ask_data(client: &reqwest::Client, server: SocketAddr, token: &str, query: &str) -> Value {
    let response = client
        .post(format!("http://{server}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": query}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(response["errors"].is_null(), "{response}");
    response["data"].clone()
}
