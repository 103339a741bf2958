//! A webhook receiver on loopback, as a partner would run one, whose behaviour a test switches
//! (accept, answer a status, drop the connection, hang), recording every request it was sent;
//! and the Standard Webhooks reference library (npm `standardwebhooks`) to verify signatures.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;

/// What the receiver does with the next requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers 204.
    Accept,
    /// Answers this status.
    Answer(u16),
    /// Closes the connection without an answer, as a receiver that is down would.
    Drop,
    /// Never answers.
    Hang,
}

/// One request the receiver was sent.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub headers: HashMap<String, String>,
    pub body: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// Whether the receiver took it (answered 2xx).
    pub accepted: bool,
}

impl Delivery {
    pub fn payload(&self) -> Value {
        serde_json::from_str(&self.body).expect("a webhook body is JSON")
    }

    pub fn event_id(&self) -> i64 {
        self.payload()["data"]["eventId"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("the payload names its event")
    }

    pub fn webhook_id(&self) -> &str {
        &self.headers["webhook-id"]
    }
}

#[derive(Default)]
struct State {
    deliveries: Vec<Delivery>,
    behaviour: Option<Behaviour>,
}

pub struct Receiver {
    pub address: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            behaviour: Some(Behaviour::Accept),
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((connection, _)) = listener.accept().await {
                tokio::spawn(serve(connection, Arc::clone(&shared)));
            }
        });
        Receiver { address, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn behave(&self, behaviour: Behaviour) {
        self.state.lock().unwrap().behaviour = Some(behaviour);
    }

    /// Every request received, in the order received.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.lock().unwrap().deliveries.clone()
    }

    /// The requests the receiver took.
    pub fn accepted(&self) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|delivery| delivery.accepted)
            .collect()
    }
}

async fn serve(mut connection: TcpStream, state: Arc<Mutex<State>>) {
    let mut buffer = Vec::new();
    loop {
        let Some((head, body)) = read_request(&mut connection, &mut buffer).await else {
            return;
        };
        let behaviour = state.lock().unwrap().behaviour.unwrap_or(Behaviour::Accept);
        let accepted = behaviour == Behaviour::Accept;
        state.lock().unwrap().deliveries.push(Delivery {
            headers: head,
            body,
            received_at: chrono::Utc::now(),
            accepted,
        });
        let status = match behaviour {
            Behaviour::Accept => 204,
            Behaviour::Answer(status) => status,
            Behaviour::Drop => return,
            Behaviour::Hang => return std::future::pending().await,
        };
        let answer = format!("HTTP/1.1 {status} Status\r\ncontent-length: 0\r\n\r\n");
        if connection.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// One HTTP/1.1 request's headers (names lower-case) and body; None when the peer closed.
async fn read_request(
    connection: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Option<(HashMap<String, String>, String)> {
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        let read = connection.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|length| length.parse().ok())
        .unwrap_or(0);
    while buffer.len() < end + 4 + length {
        let read = connection.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = String::from_utf8_lossy(&buffer[end + 4..end + 4 + length]).into_owned();
    buffer.drain(..end + 4 + length);
    Some((headers, body))
}

/// How many of `deliveries` the Standard Webhooks reference library verifies with `secret`;
/// the test fails on the first that it does not.
pub async fn verified_by_reference_library(secret: &str, deliveries: &[Delivery]) -> usize {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graphql-http");
    assert!(
        folder.join("node_modules/standardwebhooks").exists(),
        "standardwebhooks is not installed: run `npm ci --prefix tests/graphql-http` (scripts/test.sh does)"
    );
    let input: Vec<Value> = deliveries
        .iter()
        .map(|delivery| {
            json!({
                "headers": {
                    "webhook-id": delivery.headers["webhook-id"],
                    "webhook-timestamp": delivery.headers["webhook-timestamp"],
                    "webhook-signature": delivery.headers["webhook-signature"],
                },
                "body": delivery.body,
            })
        })
        .collect();
    let mut child = Command::new("node")
        .arg(folder.join("verify_webhooks.mjs"))
        .arg(secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (Node.js 18 or later)");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "the reference library refuses a signature: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    answer["verified"].as_u64().unwrap() as usize
}
