//! Appointment status events for subscribers, in each clinic's commit order, exactly once.
//!
//! The table `appointment_events` is the truth: each clinic's events are numbered 1, 2, 3, … in
//! commit order (schema.sql). Per clinic with subscribers on this instance, one feed task
//! reads what is new (woken by NOTIFY, through `foundation::notifications`) and broadcasts it to
//! that clinic's subscribers only. Each subscriber keeps the number of the last event it
//! delivered and takes from the broadcast only the next one; anything it does not have in hand
//! (the replay after `after`, a gap, what happened while the LISTEN connection was down) it reads
//! from the table itself, under RLS. So a lost wake-up can delay an event, never lose or repeat it.
//!
//! The broadcast buffer is bounded and shared, and nobody waits for a slow subscriber: one that
//! falls further behind than the buffer (a burst larger than it) catches up from the table, page
//! by page; one that falls more than `max_backlog` behind is ended with FELL_BEHIND and the id
//! to resume `after`. Subscribers read the table in tasks of their own, a bounded number at once:
//! a client that stops reading its socket cannot hold a pooled connection hostage.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::Stream;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use tokio::sync::{Notify, Semaphore, broadcast, watch};
use uuid::Uuid;

use crate::foundation::db::{TenantScope, TenantTransaction, begin_tenant_transaction, statement};
use crate::foundation::error::ApiError;
use crate::foundation::metrics::{Counted, Counter, SubscriptionMetrics};
use crate::foundation::notifications::Notice;
use crate::foundation::sync::lock;
use crate::identity::Authenticated;
use crate::scheduling::entity::appointment_event;

pub type Event = Arc<appointment_event::Model>;

/// Most events read from the table at once.
const PAGE_SIZE: u64 = 500;
/// How long a feed waits before reading again after the database failed it.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// This instance's subscribers, by clinic.
pub struct EventHub {
    db: DatabaseConnection,
    limits: FeedLimits,
    reads: Arc<Semaphore>,
    feeds: Mutex<HashMap<Uuid, Arc<ClinicFeed>>>,
    metrics: SubscriptionMetrics,
}

/// How much a hub holds and allows.
#[derive(Clone, Copy, Debug)]
pub struct FeedLimits {
    /// Events each clinic's feed keeps in memory for live delivery.
    pub buffer: usize,
    /// How far behind the clinic's latest event a subscriber may fall before it is dropped.
    pub max_backlog: i64,
    /// Subscribers reading the table at once (replays, catching up, credential checks): fewer
    /// than the pool's connections, so requests always find one.
    pub concurrent_reads: usize,
}

/// One clinic's events on this instance.
struct ClinicFeed {
    tenant_id: Uuid,
    events: broadcast::Sender<Event>,
    broadcast: Counter,
    /// The last event broadcast; `None` until the first subscriber has read where the clinic
    /// stands (it holds the lock while it reads, so the feed cannot broadcast from a guess).
    cursor: tokio::sync::Mutex<Option<i64>>,
    wake: Notify,
    /// Bumped whenever the clinic's credentials may have changed: subscribers re-check theirs.
    access: watch::Sender<u64>,
}

impl EventHub {
    pub fn new(
        db: DatabaseConnection,
        limits: FeedLimits,
        metrics: SubscriptionMetrics,
    ) -> Arc<EventHub> {
        Arc::new(EventHub {
            db,
            reads: Arc::new(Semaphore::new(limits.concurrent_reads.max(1))),
            limits,
            feeds: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// Acts on what the LISTEN connection heard.
    pub fn deliver(&self, notice: Notice) {
        let feeds = lock(&self.feeds);
        match notice {
            Notice::Listening => {
                self.metrics.listens.inc();
                for feed in feeds.values() {
                    feed.wake.notify_one();
                    feed.access.send_modify(|epoch| *epoch += 1);
                }
            }
            Notice::AppointmentEvent { tenant_id, .. } => {
                if let Some(feed) = feeds.get(&tenant_id) {
                    feed.wake.notify_one();
                }
            }
            Notice::AccessRevoked { tenant_id } => {
                if let Some(feed) = feeds.get(&tenant_id) {
                    feed.access.send_modify(|epoch| *epoch += 1);
                }
            }
        }
    }

    /// The events of `auth`'s clinic after event `after` (or from now), replayed from the table
    /// and then live, ending with an error when the credential stops being valid or the
    /// subscriber falls behind. BAD_USER_INPUT when `after` is beyond the clinic's latest event.
    pub async fn subscribe(
        self: &Arc<Self>,
        auth: Authenticated,
        after: Option<i64>,
    ) -> Result<impl Stream<Item = Result<Event, ApiError>> + use<>, ApiError> {
        if auth
            .expires_at
            .is_some_and(|expiry| expiry <= chrono::Utc::now())
        {
            return Err(token_expired());
        }
        let tenant_id = auth.principal.tenant_id;
        // Receivers first, credential check second: a revocation committed in between still
        // reaches this subscriber as an access change. The guard is declared first so that,
        // if this fails, it drops last and wakes the feed to count the receivers that remain.
        let guard;
        let (events, access) = {
            let mut feeds = lock(&self.feeds);
            let feed = feeds
                .entry(tenant_id)
                .or_insert_with(|| self.open_feed(tenant_id));
            guard = FeedGuard(Arc::clone(feed));
            (feed.events.subscribe(), feed.access.subscribe())
        };
        let reader = Reader {
            db: self.db.clone(),
            scope: auth.principal.scope(),
            permits: Arc::clone(&self.reads),
        };
        let latest = reader.admit(Arc::clone(&guard.0), auth, after).await?;
        let last_sent = match after {
            None => latest,
            Some(after) => check_after(after, latest)?,
        };
        let subscriber = Subscriber {
            reader,
            max_backlog: self.limits.max_backlog,
            auth,
            events,
            access,
            expires: auth.expires_at.map(|expiry| {
                let left = (expiry - chrono::Utc::now()).to_std().unwrap_or_default();
                tokio::time::Instant::now() + left
            }),
            last_sent,
            catch_up_to: latest,
            pending: VecDeque::new(),
            ended: false,
            delivered: self.metrics.delivered.clone(),
            _active: Counted::on(&self.metrics.active),
            _feed: guard,
        };
        Ok(futures_util::stream::unfold(
            subscriber,
            |mut subscriber| async move {
                let item = subscriber.next().await?;
                Some((item, subscriber))
            },
        ))
    }

    fn open_feed(self: &Arc<Self>, tenant_id: Uuid) -> Arc<ClinicFeed> {
        let feed = Arc::new(ClinicFeed {
            tenant_id,
            events: broadcast::channel(self.limits.buffer).0,
            broadcast: self.metrics.broadcast.clone(),
            cursor: tokio::sync::Mutex::new(None),
            wake: Notify::new(),
            access: watch::channel(0).0,
        });
        tokio::spawn(run_feed(Arc::downgrade(self), Arc::clone(&feed)));
        feed
    }

    /// Retires `feed` if nobody here subscribes to it any more; a new subscriber (which
    /// subscribes under the same lock) gets a new feed.
    fn retire_if_unwatched(&self, feed: &Arc<ClinicFeed>) -> bool {
        let mut feeds = lock(&self.feeds);
        if feed.events.receiver_count() > 0 {
            return false;
        }
        if feeds
            .get(&feed.tenant_id)
            .is_some_and(|current| Arc::ptr_eq(current, feed))
        {
            feeds.remove(&feed.tenant_id);
        }
        true
    }
}

/// A clinic's feed task: on every wake-up, broadcasts what is new since its cursor.
async fn run_feed(hub: Weak<EventHub>, feed: Arc<ClinicFeed>) {
    loop {
        feed.wake.notified().await;
        let Some(hub) = hub.upgrade() else { return };
        if hub.retire_if_unwatched(&feed) {
            return;
        }
        if let Err(error) = feed.broadcast_new(&hub.db).await {
            tracing::warn!(?error, "reading appointment events failed; retrying");
            tokio::time::sleep(RETRY_AFTER_FAILURE).await;
            feed.wake.notify_one();
        }
    }
}

impl ClinicFeed {
    /// The scope the feed reads in: the clinic, acted on by the server itself.
    fn scope(&self) -> TenantScope {
        TenantScope::server_work(self.tenant_id)
    }

    /// The clinic's latest event id, read from the table the first time.
    async fn ensure_cursor(&self, db: &DatabaseConnection) -> Result<i64, ApiError> {
        let mut cursor = self.cursor.lock().await;
        if let Some(latest) = *cursor {
            return Ok(latest);
        }
        let transaction = begin_tenant_transaction(db, &self.scope()).await?;
        let latest = latest_event_id(&transaction, self.tenant_id).await?;
        transaction.commit().await?;
        *cursor = Some(latest);
        Ok(latest)
    }

    async fn broadcast_new(&self, db: &DatabaseConnection) -> Result<(), ApiError> {
        let mut cursor = self.cursor.lock().await;
        let Some(mut last) = *cursor else {
            return Ok(());
        };
        loop {
            let page = read_events(db, &self.scope(), last, None).await?;
            let full = page.len() as u64 == PAGE_SIZE;
            for event in page {
                last = event.id;
                self.broadcast.inc();
                // No receivers is fine: the feed retires at its next wake-up.
                let _ = self.events.send(event);
            }
            *cursor = Some(last);
            if !full {
                return Ok(());
            }
        }
    }
}

/// `after` if the clinic has had that event (0 is "from the beginning"), else BAD_USER_INPUT:
/// a cursor from elsewhere would otherwise wait silently for events that are not coming.
pub fn check_after(after: i64, latest: i64) -> Result<i64, ApiError> {
    if (0..=latest).contains(&after) {
        Ok(after)
    } else {
        Err(ApiError::bad_input(
            "after",
            format!(
                "must be the id of an event your clinic has had (0 to {latest}); \
                 omit it to start from now"
            ),
        ))
    }
}

/// The clinic's latest event id (0 before its first), in `db`, a transaction of the clinic.
pub async fn latest_event_id(db: &TenantTransaction, tenant_id: Uuid) -> Result<i64, ApiError> {
    Ok(db
        .query_one_raw(statement(
            "select coalesce(max(last_event_id), 0) from appointment_event_counters
              where tenant_id = $1",
            [tenant_id.into()],
        ))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0))
}

/// Up to `limit` of the clinic's events after `after` (and up to `through`), oldest first, in
/// `db`, a transaction of the clinic.
pub async fn events_after(
    db: &TenantTransaction,
    tenant_id: Uuid,
    after: i64,
    through: Option<i64>,
    limit: u64,
) -> Result<Vec<appointment_event::Model>, ApiError> {
    let mut query = appointment_event::Entity::find()
        .filter(appointment_event::Column::TenantId.eq(tenant_id))
        .filter(appointment_event::Column::Id.gt(after))
        .order_by_asc(appointment_event::Column::Id)
        .limit(limit);
    if let Some(through) = through {
        query = query.filter(appointment_event::Column::Id.lte(through));
    }
    Ok(query.all(db).await?)
}

/// `events_after` in a transaction of its own.
async fn read_events(
    db: &DatabaseConnection,
    scope: &TenantScope,
    after: i64,
    through: Option<i64>,
) -> Result<Vec<Event>, ApiError> {
    let transaction = begin_tenant_transaction(db, scope).await?;
    let events = events_after(&transaction, scope.tenant_id, after, through, PAGE_SIZE).await?;
    transaction.commit().await?;
    Ok(events.into_iter().map(Arc::new).collect())
}

fn token_expired() -> ApiError {
    ApiError::unauthenticated("your token expired: sign in again and subscribe with `after`")
}

/// The feed is gone, which the subscriber's guard allows only at shutdown.
fn stopping() -> ApiError {
    ApiError::internal_with("the server is stopping: subscribe again with `after`")
}

fn access_ended() -> ApiError {
    ApiError::unauthenticated(
        "access ended: the API key was revoked, or the user or clinic deactivated or changed",
    )
}

/// Wakes the clinic's feed when a subscriber goes, so an unwatched feed retires.
struct FeedGuard(Arc<ClinicFeed>);

impl Drop for FeedGuard {
    fn drop(&mut self) {
        self.0.wake.notify_one();
    }
}

/// One subscription's position. Field order matters: the receiver drops before the guard
/// wakes the feed to count receivers.
struct Subscriber {
    reader: Reader,
    max_backlog: i64,
    auth: Authenticated,
    events: broadcast::Receiver<Event>,
    access: watch::Receiver<u64>,
    expires: Option<tokio::time::Instant>,
    /// The last event delivered.
    last_sent: i64,
    /// Events up to here are known to exist: read them from the table before taking live ones.
    catch_up_to: i64,
    pending: VecDeque<Event>,
    ended: bool,
    delivered: Counter,
    _active: Counted,
    _feed: FeedGuard,
}

impl Subscriber {
    /// The next event, or the error that ends the subscription (then nothing).
    async fn next(&mut self) -> Option<Result<Event, ApiError>> {
        if self.ended {
            return None;
        }
        match self.step().await {
            Ok(event) => {
                self.delivered.inc();
                Some(Ok(event))
            }
            Err(error) => {
                self.ended = true;
                Some(Err(error.with_resume_after(self.last_sent)))
            }
        }
    }

    async fn step(&mut self) -> Result<Event, ApiError> {
        loop {
            // Checked before every event, replayed ones included: a long replay must not outlive
            // the credential it started under.
            if self
                .expires
                .is_some_and(|expiry| tokio::time::Instant::now() >= expiry)
            {
                return Err(token_expired());
            }
            if self.access.has_changed().map_err(|_| stopping())? {
                self.access.borrow_and_update();
                self.recheck_access().await?;
            }
            if let Some(event) = self.pending.pop_front() {
                self.last_sent = event.id;
                return Ok(event);
            }
            if self.last_sent < self.catch_up_to {
                let page = self
                    .reader
                    .page(self.last_sent, Some(self.catch_up_to))
                    .await?;
                if page.is_empty() {
                    return Err(ApiError::internal_with(
                        "appointment events are missing; subscribe again with `after`",
                    ));
                }
                self.pending = page.into();
                continue;
            }
            let expiry = async {
                match self.expires {
                    Some(instant) => tokio::time::sleep_until(instant).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                changed = self.access.changed() => {
                    changed.map_err(|_| stopping())?;
                    self.recheck_access().await?;
                }
                // Reported at the top of the loop.
                () = expiry => {}
                received = self.events.recv() => match received {
                    Ok(event) if event.id <= self.last_sent => {}
                    Ok(event) if event.id == self.last_sent + 1 => {
                        self.last_sent = event.id;
                        return Ok(event);
                    }
                    // A gap (this subscriber joined mid-broadcast): the table has it.
                    Ok(event) => self.catch_up_to = event.id,
                    // More came than the buffer holds: catch up from the table, unless this
                    // subscriber is so far behind that it had better come back later.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let latest = self.reader.latest().await?;
                        if latest - self.last_sent > self.max_backlog {
                            return Err(ApiError::fell_behind(
                                "you fell too far behind and were dropped: subscribe again \
                                 with `after` set to extensions.resumeAfter",
                            ));
                        }
                        self.catch_up_to = latest;
                    }
                    Err(broadcast::error::RecvError::Closed) => return Err(stopping()),
                },
            }
        }
    }

    /// Ends the subscription unless its credential still stands.
    async fn recheck_access(&self) -> Result<(), ApiError> {
        if self.reader.is_current(self.auth).await? {
            Ok(())
        } else {
            Err(access_ended())
        }
    }
}

/// A subscriber's reads of the table. Each runs in a task of its own, so its transaction ends
/// even if the subscriber stops being polled (its client stopped reading) halfway through.
struct Reader {
    db: DatabaseConnection,
    scope: TenantScope,
    permits: Arc<Semaphore>,
}

impl Reader {
    /// Checks the credential (recording a key's use) and returns the clinic's latest event id.
    async fn admit(
        &self,
        feed: Arc<ClinicFeed>,
        auth: Authenticated,
        after: Option<i64>,
    ) -> Result<i64, ApiError> {
        let db = self.db.clone();
        self.detached(async move {
            // One connection at a time: a transaction held while waiting for another
            // connection would let a burst of subscribers exhaust the pool.
            let cached = feed.ensure_cursor(&db).await?;
            let transaction = begin_tenant_transaction(&db, &auth.principal.scope()).await?;
            auth.ensure_current(&transaction).await?;
            // The feed may not have heard of the latest events yet (another instance delivered
            // them, or `appointmentEvents` listed them): ask the table before refusing a cursor.
            let latest = match after {
                Some(after) if after > cached => {
                    latest_event_id(&transaction, feed.tenant_id).await?
                }
                _ => cached,
            };
            transaction.commit().await?;
            Ok(latest)
        })
        .await
    }

    async fn page(&self, after: i64, through: Option<i64>) -> Result<Vec<Event>, ApiError> {
        let (db, scope) = (self.db.clone(), self.scope);
        self.detached(async move { read_events(&db, &scope, after, through).await })
            .await
    }

    async fn latest(&self) -> Result<i64, ApiError> {
        let (db, scope) = (self.db.clone(), self.scope);
        self.detached(async move {
            let transaction = begin_tenant_transaction(&db, &scope).await?;
            let latest = latest_event_id(&transaction, scope.tenant_id).await?;
            transaction.commit().await?;
            Ok(latest)
        })
        .await
    }

    async fn is_current(&self, auth: Authenticated) -> Result<bool, ApiError> {
        let (db, scope) = (self.db.clone(), self.scope);
        self.detached(async move {
            let transaction = begin_tenant_transaction(&db, &scope).await?;
            let current = auth.is_current(&transaction).await?;
            transaction.commit().await?;
            Ok(current)
        })
        .await
    }

    async fn detached<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, ApiError>> + Send + 'static,
    ) -> Result<T, ApiError> {
        let permits = Arc::clone(&self.permits);
        tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(|_| stopping())?;
            work.await
        })
        .await
        .map_err(|error| ApiError::internal_from(&error))?
    }
}
