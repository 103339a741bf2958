//! The instance's one LISTEN connection. PostgreSQL NOTIFY is only a wake-up here: it says which
//! clinic has something new (schema.sql); whoever is woken reads the rows
//! themselves, under RLS. Notifications sent while the connection is down are lost, so each
//! (re)connection is announced with `Notice::Listening` once LISTEN is in place, and the
//! receiver catches up from the tables then: nothing committed before or during an outage is
//! missed.
//!
//! The connection is its own, outside the pool and never through a transaction pooler, which
//! would hand LISTEN to a connection other requests use.
//!
//! On Citus a notification is sent by the node whose trigger wrote the event: a clinic's
//! appointment events by the worker holding its shards, not the coordinator. So there the
//! instance listens on the coordinator and on every worker, whose list it reads from
//! `pg_dist_node` and reads again every `NODE_REFRESH`, so a worker added later (or one a
//! clinic's shards moved to) is heard too. Workers are reached with the same role and password.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgNotification, PgPoolOptions};
use tokio::task::{AbortHandle, JoinHandle, JoinSet};
use uuid::Uuid;

use crate::foundation::config::Secret;

/// How the LISTEN connection shows in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "hpms-listener";
const APPOINTMENT_EVENTS: &str = "appointment_events";
const ACCESS_REVOKED: &str = "access_revoked";
/// Reconnection backoff: from the first to the last, doubling.
const FIRST_RETRY: Duration = Duration::from_millis(50);
const LAST_RETRY: Duration = Duration::from_secs(5);
/// After this long without a notification the connection is pinged.
const QUIET_BEFORE_PING: Duration = Duration::from_secs(30);
const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a Citus coordinator's list of workers is read again.
const NODE_REFRESH: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// LISTEN is (again) in place; anything may have happened while it was not.
    Listening,
    /// The clinic recorded appointment event `event_id` (and maybe more since).
    AppointmentEvent { tenant_id: Uuid, event_id: i64 },
    /// Some credential of the clinic stopped being valid: re-check the open subscriptions.
    AccessRevoked { tenant_id: Uuid },
}

type Deliver = Arc<dyn Fn(Notice) + Send + Sync>;

/// Starts listening in the background, handing every notice to `deliver`, reconnecting with
/// backoff for as long as the task lives: on the server of `url`, and with `every_citus_node`
/// on each of its Citus workers as well (the module's header says why).
pub fn spawn_listener(
    url: &Secret,
    every_citus_node: bool,
    deliver: impl Fn(Notice) + Send + Sync + 'static,
) -> Result<JoinHandle<()>, sqlx::Error> {
    let options: PgConnectOptions = url.expose().parse()?;
    let options = options.application_name(APPLICATION_NAME);
    let deliver: Deliver = Arc::new(deliver);
    if !every_citus_node {
        return Ok(tokio::spawn(listen_forever(options, deliver)));
    }
    Ok(tokio::spawn(async move {
        // Dropped with this task, and with it every node's listener.
        let mut listeners = JoinSet::new();
        listeners.spawn(listen_forever(options.clone(), Arc::clone(&deliver)));
        let mut workers: HashMap<(String, u16), AbortHandle> = HashMap::new();
        loop {
            match citus_workers(&options).await {
                Ok(current) => {
                    workers.retain(|node, listener| {
                        let kept = current.contains(node);
                        if !kept {
                            listener.abort();
                        }
                        kept
                    });
                    for (host, port) in current {
                        workers.entry((host.clone(), port)).or_insert_with(|| {
                            let node = options.clone().host(&host).port(port);
                            listeners.spawn(listen_forever(node, Arc::clone(&deliver)))
                        });
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot read the Citus workers; retrying"),
            }
            tokio::time::sleep(NODE_REFRESH).await;
        }
    }))
}

/// The active primary workers of the Citus cluster whose coordinator `options` reaches.
async fn citus_workers(options: &PgConnectOptions) -> Result<Vec<(String, u16)>, sqlx::Error> {
    let mut connection = PgConnection::connect_with(options).await?;
    let nodes: Vec<(String, i32)> = sqlx::query_as(
        "select nodename::text, nodeport from pg_dist_node
          where groupid <> 0 and isactive and noderole = 'primary'",
    )
    .fetch_all(&mut connection)
    .await?;
    connection.close().await?;
    Ok(nodes
        .into_iter()
        .filter_map(|(host, port)| Some((host, u16::try_from(port).ok()?)))
        .collect())
}

/// Listens on one server for as long as the task lives, announcing each (re)connection.
async fn listen_forever(options: PgConnectOptions, deliver: Deliver) {
    let mut retry = FIRST_RETRY;
    loop {
        match listen(&options).await {
            Ok(mut listener) => {
                retry = FIRST_RETRY;
                deliver(Notice::Listening);
                while let Some(notification) = next_notification(&mut listener).await {
                    if let Some(notice) = parse(notification.channel(), notification.payload()) {
                        deliver(notice);
                    }
                }
                tracing::warn!("the LISTEN connection was lost; reconnecting");
            }
            Err(error) => {
                tracing::warn!(%error, ?retry, "cannot LISTEN; retrying");
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(LAST_RETRY);
            }
        }
    }
}

/// The next notification, or `None` once the connection is gone: closed (a restart, a terminated
/// backend) or silent and unable to answer a ping (a half-open connection after a network cut,
/// which would otherwise wait forever).
async fn next_notification(listener: &mut PgListener) -> Option<PgNotification> {
    loop {
        match tokio::time::timeout(QUIET_BEFORE_PING, listener.try_recv()).await {
            Ok(received) => return received.ok().flatten(),
            Err(_) => {
                let ping = sqlx::query("select 1").execute(&mut *listener);
                if !matches!(tokio::time::timeout(PING_TIMEOUT, ping).await, Ok(Ok(_))) {
                    return None;
                }
            }
        }
    }
}

async fn listen(options: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    // A pool of one, dropped with the listener: sqlx's listener reconnects through a pool, but
    // here a lost connection is replaced explicitly, so that catching up follows LISTEN.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options.clone())
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener
        .listen_all([APPOINTMENT_EVENTS, ACCESS_REVOKED])
        .await?;
    Ok(listener)
}

fn parse(channel: &str, payload: &str) -> Option<Notice> {
    match channel {
        APPOINTMENT_EVENTS => {
            let (tenant_id, event_id) = payload.split_once(':')?;
            Some(Notice::AppointmentEvent {
                tenant_id: tenant_id.parse().ok()?,
                event_id: event_id.parse().ok()?,
            })
        }
        ACCESS_REVOKED => Some(Notice::AccessRevoked {
            tenant_id: payload.parse().ok()?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_into_notices_and_garbage_into_nothing() {
        let tenant_id = Uuid::new_v4();
        assert_eq!(
            parse(APPOINTMENT_EVENTS, &format!("{tenant_id}:42")),
            Some(Notice::AppointmentEvent {
                tenant_id,
                event_id: 42
            })
        );
        assert_eq!(
            parse(ACCESS_REVOKED, &tenant_id.to_string()),
            Some(Notice::AccessRevoked { tenant_id })
        );
        assert_eq!(parse(APPOINTMENT_EVENTS, "nonsense"), None);
        assert_eq!(parse("other", &tenant_id.to_string()), None);
    }
}
