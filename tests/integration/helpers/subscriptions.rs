//! A graphql-transport-ws client over loopback, speaking to the server as partners' clients do.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Every field of an event.
pub const EVENT_FIELDS: &str = "id appointmentId providerId oldStatus newStatus occurredAt";
/// Longest wait for any one message: a bound on a broken test, not a pause.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the server sent.
#[derive(Debug)]
pub enum Received {
    /// A `next` with data: one event.
    Event(Value),
    /// A `next` with errors (the subscription's last word) or an `error` message.
    Errors(Vec<Value>),
    Complete,
    /// The socket closed, with its close code and reason.
    Closed(u16, String),
}

pub struct EventSocket {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl EventSocket {
    /// Opens a socket to `/graphql` offering `protocol`.
    pub async fn open(address: SocketAddr, protocol: &str) -> EventSocket {
        EventSocket::open_with_receive_buffer(address, protocol, None).await
    }

    /// Opens a socket whose kernel receive buffer is `receive_buffer` bytes: a client that stops
    /// reading then blocks the server's writes almost at once.
    pub async fn open_with_receive_buffer(
        address: SocketAddr,
        protocol: &str,
        receive_buffer: Option<u32>,
    ) -> EventSocket {
        let tcp = TcpSocket::new_v4().unwrap();
        if let Some(bytes) = receive_buffer {
            tcp.set_recv_buffer_size(bytes).unwrap();
        }
        let stream = tcp.connect(address).await.expect("the server accepts");
        let mut request = format!("ws://{address}/graphql")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(protocol).unwrap(),
        );
        let (socket, response) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
                .await
                .expect("the WebSocket upgrade succeeds");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            protocol,
            "the server speaks the offered protocol"
        );
        EventSocket { socket }
    }

    /// A graphql-transport-ws socket, initialised with `credentials` (`{"token": …}` or
    /// `{"apiKey": …}`) and subscribed after event `after` (or from now).
    pub async fn subscribe(
        address: SocketAddr,
        credentials: Value,
        after: Option<i64>,
    ) -> EventSocket {
        EventSocket::subscribe_with_receive_buffer(address, credentials, after, None).await
    }

    pub async fn subscribe_with_receive_buffer(
        address: SocketAddr,
        credentials: Value,
        after: Option<i64>,
        receive_buffer: Option<u32>,
    ) -> EventSocket {
        let mut socket =
            EventSocket::open_with_receive_buffer(address, "graphql-transport-ws", receive_buffer)
                .await;
        socket
            .init(credentials)
            .await
            .expect("the connection is acknowledged");
        socket.start(after).await;
        socket
    }

    /// Sends `connection_init`; Ok on `connection_ack`, else the close code and reason.
    pub async fn init(&mut self, payload: Value) -> Result<(), (u16, String)> {
        self.send(json!({"type": "connection_init", "payload": payload}))
            .await;
        match self.receive().await {
            Received::Event(message) if message == json!("connection_ack") => Ok(()),
            Received::Closed(code, reason) => Err((code, reason)),
            other => panic!("unexpected answer to connection_init: {other:?}"),
        }
    }

    /// Subscribes (operation id "1") to `appointmentStatusChanged` after event `after`.
    pub async fn start(&mut self, after: Option<i64>) {
        self.start_selecting(after, EVENT_FIELDS).await;
    }

    /// `start`, selecting `fields` of each event.
    pub async fn start_selecting(&mut self, after: Option<i64>, fields: &str) {
        self.send(json!({
            "id": "1",
            "type": "subscribe",
            "payload": {
                "query": format!("subscription($after: ID) {{ appointmentStatusChanged(after: $after) {{ {fields} }} }}"),
                "variables": {"after": after.map(|id| id.to_string())},
            },
        }))
        .await;
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("the message is sent");
    }

    /// The next message that matters (pings and pongs are skipped). A `connection_ack` comes
    /// back as `Event("connection_ack")`.
    pub async fn receive(&mut self) -> Received {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("the server sends something in time");
            let text = match message {
                None => return Received::Closed(1006, "closed without a close frame".into()),
                Some(Err(error)) => return Received::Closed(1006, error.to_string()),
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|frame| (u16::from(frame.code), frame.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Received::Closed(code, reason);
                }
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
            };
            let message: Value = serde_json::from_str(&text).expect("server messages are JSON");
            match message["type"].as_str() {
                Some("connection_ack") => return Received::Event(json!("connection_ack")),
                Some("next") | Some("data") => {
                    let payload = &message["payload"];
                    if let Some(errors) = payload["errors"].as_array() {
                        return Received::Errors(errors.clone());
                    }
                    return Received::Event(payload["data"]["appointmentStatusChanged"].clone());
                }
                Some("error") => {
                    return Received::Errors(
                        message["payload"].as_array().cloned().unwrap_or_default(),
                    );
                }
                Some("complete") => return Received::Complete,
                Some("ping") | Some("pong") | Some("ka") => continue,
                other => panic!("unexpected message type {other:?}: {message}"),
            }
        }
    }

    /// Runs one operation (a query or a mutation, id "1") on an initialised socket, and returns
    /// its answer as HTTP would give it: the `next` payload, or `{"errors": …}` from an `error`.
    pub async fn operation(&mut self, query: &str, variables: Value) -> Value {
        self.send(json!({
            "id": "1",
            "type": "subscribe",
            "payload": {"query": query, "variables": variables},
        }))
        .await;
        let mut answer = None;
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("the server answers in time");
            let Some(Ok(Message::Text(text))) = message else {
                match message {
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    other => panic!("the socket ended before answering: {other:?}"),
                }
            };
            let message: Value = serde_json::from_str(&text).expect("server messages are JSON");
            match message["type"].as_str() {
                Some("next") => answer = Some(message["payload"].clone()),
                Some("error") => return json!({ "errors": message["payload"] }),
                Some("complete") => return answer.expect("a next before complete"),
                Some("ping") | Some("pong") => continue,
                other => panic!("unexpected message type {other:?}: {message}"),
            }
        }
    }

    /// The next event; the test fails on anything else.
    pub async fn next_event(&mut self) -> Value {
        match self.receive().await {
            Received::Event(event) => event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// The next `count` events.
    pub async fn events(&mut self, count: usize) -> Vec<Value> {
        let mut events = Vec::with_capacity(count);
        for _ in 0..count {
            events.push(self.next_event().await);
        }
        events
    }

    /// The error that ends the subscription, followed by `complete`.
    pub async fn final_error(&mut self) -> Value {
        let error = match self.receive().await {
            Received::Errors(errors) => errors[0].clone(),
            other => panic!("expected the subscription's final error, got {other:?}"),
        };
        assert!(
            matches!(self.receive().await, Received::Complete),
            "the subscription completes after its error"
        );
        error
    }

    pub async fn close(mut self) {
        self.socket.close(None).await.ok();
    }
}

/// An event's id as a number.
pub fn event_id(event: &Value) -> i64 {
    event["id"]
        .as_str()
        .expect("ids are strings")
        .parse()
        .expect("ids are numbers")
}
