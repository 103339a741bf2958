//! GraphQL over WebSocket on `GET /graphql`: graphql-transport-ws, and the legacy graphql-ws
//! (subscriptions-transport-ws) that async-graphql also speaks. A connection authenticates once,
//! in `connection_init` (`{"token": …}` or `{"apiKey": …}`); each subscription checks again when
//! it starts and ends when the credential stops being valid.
//!
//! async-graphql runs the protocol; this module adds what graphql-transport-ws asks of a server
//! and it leaves generic: refused credentials close with 4403 Forbidden (not 1002), a subscribe
//! before the handshake with 4401 Unauthorized (not 1011). And a client that reads nothing for
//! `SEND_TIMEOUT` is disconnected, so a stalled socket holds nothing for long.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::{
    WebSocket as GraphQLWebSocket, WebSocketProtocols as Protocols, WsMessage,
};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use futures_util::{SinkExt, StreamExt, future};
use serde::Deserialize;

use crate::identity::Credential;
use crate::platform::error::ApiError;
use crate::platform::graphql::Api;

const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Clients send only small control messages (init, subscribe, ping): read in small buffers and
/// refuse anything big, so a thousand idle connections hold little and none can hoard memory.
const READ_BUFFER_BYTES: usize = 4 * 1024;
const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;
const FORBIDDEN: u16 = 4403;
const UNAUTHORIZED: u16 = 4401;
/// What async-graphql closes with when `connection_init` fails, and on a subscribe before it.
const INIT_FAILED: u16 = 1002;
const HANDSHAKE_NOT_COMPLETED: u16 = 1011;

/// The first subprotocol the client offers that we speak.
pub fn protocol(headers: &HeaderMap) -> Option<Protocols> {
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|offered| offered.trim().parse().ok())
}

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

pub async fn serve(socket: WebSocket, protocol: Protocols, api: Api) {
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            })
        });
    let refused = Arc::new(AtomicBool::new(false));
    let init_refused = Arc::clone(&refused);
    let init_api = api.clone();
    let messages = GraphQLWebSocket::new(api.schema().clone(), input, protocol).on_connection_init(
        move |payload| async move {
            let admitted = admit(&init_api, payload).await;
            init_refused.store(admitted.is_err(), Ordering::Relaxed);
            admitted.map_err(|error| async_graphql::Error::new(error.message))
        },
    );
    futures_util::pin_mut!(messages);
    while let Some(message) = messages.next().await {
        let message = match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => {
                let code = match code {
                    INIT_FAILED if refused.load(Ordering::Relaxed) => FORBIDDEN,
                    HANDSHAKE_NOT_COMPLETED => UNAUTHORIZED,
                    other => other,
                };
                Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }))
            }
        };
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await {
            Ok(Ok(())) => {}
            _ => break,
        }
    }
}

/// The connection's data: its verified credential.
async fn admit(api: &Api, payload: serde_json::Value) -> Result<Data, ApiError> {
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
    let mut data = Data::default();
    data.insert(authenticated);
    Ok(data)
}
