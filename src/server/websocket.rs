//! GraphQL over WebSocket on `GET /graphql`: graphql-transport-ws, and the legacy graphql-ws
//! (subscriptions-transport-ws) that async-graphql also speaks. A connection authenticates once,
//! in `connection_init` (`{"token": …}` or `{"apiKey": …}`); each subscription checks again when
//! it starts and ends when the credential stops being valid.
//!
//! async-graphql runs the protocol; this module adds what graphql-transport-ws asks of a server
//! and async-graphql leaves out or answers generically: refused credentials close with 4403
//! Forbidden (a failure of ours with 1011, so clients retry), a subscribe before the handshake
//! with 4401, no `connection_init` within `INIT_TIMEOUT` with 4408, a second subscription under a
//! running id with 4409. An operation the server refuses before running it (it does not parse
//! or validate, the credential no longer stands) answers the protocol's `error` message, with
//! codes, rather than a `next` that carries only errors. Beyond the protocol: at most `MAX_SUBSCRIPTIONS_PER_CONNECTION` at once
//! (4400), and a client that reads nothing for a while (`HPMS_WEBSOCKET_SEND_TIMEOUT_SECONDS`) is
//! disconnected, so a stalled socket holds nothing for long.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{
    WebSocket as GraphQLWebSocket, WebSocketProtocols as Protocols, WsMessage,
};
use async_graphql::{Data, Executor, Request, Response};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use futures_util::stream::BoxStream;
use futures_util::{SinkExt, StreamExt, future};
use serde::Deserialize;

use crate::foundation::error::{ApiError, ErrorCode, assign_missing_codes};
use crate::foundation::metrics::Counted;
use crate::foundation::sync::lock;
use crate::foundation::telemetry::RequestId;
use crate::identity::{ClientAddress, Credential};
use crate::server::execution::Api;

/// How long a client has to send `connection_init` (graphql-transport-ws closes with 4408).
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 100;
/// Clients send only small control messages (init, subscribe, ping): read in small buffers and
/// refuse anything big, so a thousand idle connections hold little and none can hoard memory.
const READ_BUFFER_BYTES: usize = 4 * 1024;
const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;
const FORBIDDEN: u16 = 4403;
const UNAUTHORIZED: u16 = 4401;
const INIT_TIMED_OUT: u16 = 4408;
const DUPLICATE_ID: u16 = 4409;
const BAD_REQUEST: u16 = 4400;
const TOO_MANY_SUBSCRIPTIONS: u16 = BAD_REQUEST;
const INTERNAL_ERROR: u16 = 1011;
/// What async-graphql closes with when `connection_init` fails, and on a subscribe before it.
const INIT_FAILED: u16 = 1002;
const HANDSHAKE_NOT_COMPLETED: u16 = 1011;

/// The `connection_init` payload.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitPayload {
    token: Option<String>,
    api_key: Option<String>,
}

/// Sizes a connection's buffers for subscriptions (axum's defaults suit bulk transfer: 128 KiB
/// each way per connection, and 64 MiB messages).
pub fn configure(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        // Every message is flushed as it is sent; nothing waits to fill a buffer.
        .write_buffer_size(0)
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
}

/// Speaks GraphQL on `socket`; a client that leaves a message unread for `send_timeout` is
/// disconnected.
pub async fn serve(
    socket: WebSocket,
    protocol: Protocols,
    api: Api,
    send_timeout: Duration,
    client: ClientAddress,
) {
    let _open = Counted::on(&api.metrics().websocket_connections);
    let (mut sink, stream) = socket.split();
    let connection = Arc::new(Connection::default());
    let watched = Arc::clone(&connection);
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            })
        })
        .take_while(move |message| future::ready(watched.accepts(message)));
    let init = Arc::clone(&connection);
    let init_api = api.clone();
    let executor = SocketExecutor {
        api: api.clone(),
        connection: Arc::clone(&connection),
        client,
    };
    let messages = GraphQLWebSocket::new(executor, input, protocol).on_connection_init(
        move |payload| async move {
            // The client was in time: admitting it (a database round trip, slow under load)
            // is the server's part, which the deadline does not time.
            init.init_arrived
                .store(true, std::sync::atomic::Ordering::Relaxed);
            let admitted = admit(&init_api, payload).await;
            init.record_init(&admitted);
            admitted
                .map(|(data, credential)| {
                    *lock(&init.credential) = Some(credential);
                    data
                })
                .map_err(ApiError::into_connection_refusal)
        },
    );
    futures_util::pin_mut!(messages);
    let init_deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
    loop {
        let message = tokio::select! {
            message = messages.next() => message,
            () = tokio::time::sleep_until(init_deadline), if !connection.init_arrived() => {
                Some(WsMessage::Close(INIT_TIMED_OUT, "Connection initialisation timeout".into()))
            }
        };
        let message = match message.or_else(|| connection.violation()) {
            Some(WsMessage::Text(text)) => {
                let Some(text) = connection.outgoing(text, protocol) else {
                    continue;
                };
                Message::Text(text.into())
            }
            Some(WsMessage::Close(code, reason)) => Message::Close(Some(CloseFrame {
                code: connection.close_code(code),
                reason: reason.into(),
            })),
            None => break,
        };
        let closing = matches!(message, Message::Close(_));
        match tokio::time::timeout(send_timeout, sink.send(message)).await {
            Ok(Ok(())) if !closing => {}
            _ => break,
        }
    }
}

/// What a connection has done so far, as far as the protocol's limits are concerned.
#[derive(Default)]
struct Connection {
    init: Mutex<Option<InitOutcome>>,
    /// Whether `connection_init` has arrived (its admission may still be under way).
    init_arrived: std::sync::atomic::AtomicBool,
    /// Ids of the subscriptions running on this connection.
    active: Mutex<HashSet<String>>,
    /// Why the client's input was cut off: the close to send.
    violation: Mutex<Option<(u16, String)>>,
    /// What `connection_init` presented, for the queries and mutations sent over the socket.
    credential: Mutex<Option<Credential>>,
    /// Operations answered with `error`, whose `complete` the protocol leaves out.
    refused: Mutex<HashSet<String>>,
}

/// Runs what a connection sends: subscriptions as streams on the schema (their resolvers check
/// the connection's credential as each starts), anything else through the server's request
/// execution with the connection's credential, as if it had come over HTTP.
#[derive(Clone)]
struct SocketExecutor {
    api: Api,
    connection: Arc<Connection>,
    client: ClientAddress,
}

impl Executor for SocketExecutor {
    async fn execute(&self, request: Request) -> Response {
        let credential = lock(&self.connection.credential).clone();
        let request = request.data(self.client);
        self.api
            .execute(&RequestId::fresh(), self.client, credential, request)
            .await
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let executor = self.clone();
        futures_util::stream::once(async move {
            let mut request = request;
            match executor.api.prepare(&mut request).await {
                Ok(_) => executor.run(request, session_data),
                Err(error) => futures_util::stream::once(async move {
                    Response::from_errors(vec![error.into_server_error()])
                })
                .boxed(),
            }
        })
        .flatten()
        .boxed()
    }
}

impl SocketExecutor {
    /// Runs a prepared request: a subscription as a stream on the schema, anything else as one
    /// answer from the server's request execution.
    fn run(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if self.api.is_subscription(&mut request) {
            let query = request.query.clone();
            return Executor::execute_stream(self.api.schema(), request, session_data)
                .map(move |mut response| {
                    assign_missing_codes(&mut response, &query);
                    response
                })
                .boxed();
        }
        let executor = self.clone();
        futures_util::stream::once(async move { executor.execute(request).await }).boxed()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum InitOutcome {
    Admitted,
    /// Missing, bad or revoked credentials.
    Refused,
    /// Our failure (the database, say): the client should retry, not give up.
    Failed,
}

/// The fields of a client message that limits look at.
#[derive(Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

impl Connection {
    fn record_init(&self, admitted: &Result<(Data, Credential), ApiError>) {
        let outcome = match admitted {
            Ok(_) => InitOutcome::Admitted,
            Err(error)
                if matches!(
                    error.code(),
                    ErrorCode::Unauthenticated | ErrorCode::Forbidden
                ) =>
            {
                InitOutcome::Refused
            }
            Err(_) => InitOutcome::Failed,
        };
        *lock(&self.init) = Some(outcome);
    }

    fn init_arrived(&self) -> bool {
        self.init_arrived.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether to pass the client's message on; false ends the input, with the close to send.
    fn accepts(&self, message: &[u8]) -> bool {
        let Ok(message) = serde_json::from_slice::<ClientMessage>(message) else {
            return true; // async-graphql answers malformed messages itself
        };
        let mut active = lock(&self.active);
        match (message.kind.as_str(), message.id) {
            ("subscribe" | "start", Some(id)) => {
                let refusal = if active.contains(&id) {
                    Some((DUPLICATE_ID, format!("Subscriber for {id} already exists")))
                } else if active.len() >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
                    Some((
                        TOO_MANY_SUBSCRIPTIONS,
                        format!(
                            "at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per \
                             connection"
                        ),
                    ))
                } else {
                    active.insert(id);
                    None
                };
                if let Some(close) = refusal {
                    *lock(&self.violation) = Some(close);
                    return false;
                }
            }
            ("complete" | "stop", Some(id)) => {
                active.remove(&id);
            }
            _ => {}
        }
        true
    }

    /// The server's message as sent, or `None` to send nothing. Frees the id of an operation
    /// the server ended. Under graphql-transport-ws, an operation refused before it ran (only
    /// errors, none of a field) answers `error` with its errors, and then no `complete`. Events
    /// (`next`, legacy `data`), nearly every message, are told by their first bytes, and parsed
    /// only when they carry errors.
    fn outgoing(&self, text: String, protocol: Protocols) -> Option<String> {
        let event = [r#"{"type":"next""#, r#"{"type":"data""#]
            .iter()
            .any(|event| text.starts_with(event));
        if event {
            if protocol == Protocols::GraphQLWS
                && text.contains(r#""errors":"#)
                && let Some((id, errors)) = refusal(&text)
            {
                lock(&self.active).remove(&id);
                let error = serde_json::json!({"type": "error", "id": id, "payload": errors});
                lock(&self.refused).insert(id);
                return Some(error.to_string());
            }
            return Some(text);
        }
        if let Ok(message) = serde_json::from_str::<ClientMessage>(&text)
            && matches!(message.kind.as_str(), "complete" | "error")
            && let Some(id) = message.id
        {
            lock(&self.active).remove(&id);
            if lock(&self.refused).remove(&id) {
                return None;
            }
        }
        Some(text)
    }

    fn violation(&self) -> Option<WsMessage> {
        lock(&self.violation)
            .take()
            .map(|(code, reason)| WsMessage::Close(code, reason))
    }

    /// The close code graphql-transport-ws asks for, where async-graphql sends a generic one.
    fn close_code(&self, code: u16) -> u16 {
        match (code, *lock(&self.init)) {
            (INIT_FAILED, Some(InitOutcome::Refused)) => FORBIDDEN,
            (INIT_FAILED, Some(InitOutcome::Failed)) => INTERNAL_ERROR,
            // Otherwise async-graphql's 1002 means a message it could not parse.
            (INIT_FAILED, _) => BAD_REQUEST,
            (HANDSHAKE_NOT_COMPLETED, _) => UNAUTHORIZED,
            (other, _) => other,
        }
    }
}

/// The id and errors of a `next` message that is a refusal: errors, and no data nor any error of
/// a field.
fn refusal(text: &str) -> Option<(String, serde_json::Value)> {
    let mut message: serde_json::Value = serde_json::from_str(text).ok()?;
    let payload = message.get_mut("payload")?;
    let errors = payload.get_mut("errors")?.take();
    let refused = payload.get("data").is_none_or(serde_json::Value::is_null)
        && errors.as_array().is_some_and(|errors| {
            !errors.is_empty() && errors.iter().all(|error| error.get("path").is_none())
        });
    let id = message.get("id")?.as_str()?.to_owned();
    refused.then_some((id, errors))
}

/// The connection's data (its verified credential) and the credential itself.
async fn admit(api: &Api, payload: serde_json::Value) -> Result<(Data, Credential), ApiError> {
    let missing = || {
        ApiError::unauthenticated(
            "send {\"token\": \"<token from login>\"} or {\"apiKey\": \"<key>\"} as the \
             connection_init payload",
        )
    };
    let payload: InitPayload = serde_json::from_value(payload).map_err(|_| missing())?;
    let credential = match (payload.token, payload.api_key) {
        (Some(token), None) => Credential::Token(token),
        (None, Some(key)) => Credential::ApiKey(key),
        _ => return Err(missing()),
    };
    let authenticated = api.verify(&credential).await?;
    // A token that may only finish signing in has nothing to follow yet.
    if authenticated.password_change_required() || authenticated.mfa_enrollment_required() {
        return Err(ApiError::forbidden(
            "finish signing in first: change your password, or set up two-factor sign-in",
        ));
    }
    let mut data = Data::default();
    data.insert(authenticated);
    Ok((data, credential))
}
