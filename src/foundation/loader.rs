//! Batched lookups by id for the fields that follow a reference (an appointment's patient,
//! provider, type): async-graphql's DataLoader gathers the ids a response needs and this loader
//! fetches them in one query on the request's transaction, so a page costs the same number of
//! statements whatever its size.
//!
//! DataLoader gathers keys for a millisecond before loading, which on a busy machine can split
//! one page's keys into two batches, and costs every page that millisecond once per loader; so a
//! list resolver, which knows its rows' references already, loads them at once with `prime`, and
//! the per-request cache answers the fields from that.
//!
//! The loader holds the transaction weakly and its batches run on the request's `TaskTracker`:
//! when execution ends, the request waits for the tracker to drain, and is then certain to hold
//! the only handle to its transaction, to commit or roll back.
//!
//! Each domain owns its loaders (`patients::loader`, …) and asks the request's `RequestLoaders`
//! for them by type: a loader is made the first time a request's fields need it, so a request
//! that follows no reference makes none.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::sync::lock;

/// What a loader of one request is made with: the request's transaction (held weakly), its
/// clinic, and the tracker its batches run on.
pub struct LoaderScope {
    pub transaction: Weak<TenantTransaction>,
    pub tenant: Uuid,
    /// The signed-in user acting, if a user is (not for an API key).
    pub user: Option<Uuid>,
    tasks: TaskTracker,
}

impl LoaderScope {
    /// Runs a loader's batches as tasks of the request's tracker.
    pub fn spawner(
        &self,
    ) -> impl Fn(async_graphql::futures_util::future::BoxFuture<'static, ()>) + Send + Sync + 'static
    {
        let tasks = self.tasks.clone();
        move |batch| {
            tasks.spawn(batch);
        }
    }
}

/// One request's loaders, each made on first use and shared by every field after that.
pub struct RequestLoaders {
    scope: LoaderScope,
    made: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl RequestLoaders {
    pub fn new(
        transaction: &Arc<TenantTransaction>,
        user: Option<Uuid>,
        tasks: &TaskTracker,
    ) -> RequestLoaders {
        RequestLoaders {
            scope: LoaderScope {
                transaction: Arc::downgrade(transaction),
                tenant: transaction.tenant_id(),
                user,
                tasks: tasks.clone(),
            },
            made: Mutex::default(),
        }
    }

    /// The request's loader of type `L`, made by `make` the first time. The type is the key: a
    /// domain wanting two loaders of one type wraps one in a type of its own.
    pub fn get<L: Any + Send + Sync>(&self, make: fn(&LoaderScope) -> L) -> Arc<L> {
        let mut made = lock(&self.made);
        let loader = made
            .entry(TypeId::of::<L>())
            .or_insert_with(|| Arc::new(make(&self.scope)));
        Arc::clone(loader)
            .downcast::<L>()
            .unwrap_or_else(|_| unreachable!("loaders are keyed by their own type"))
    }
}

/// Loads `keys` through `loader` now, in one batch, into its cache for the fields that follow,
/// and returns what was found. Unlike `load_many` it does not wait out DataLoader's batching
/// delay: a page's references are known before its fields resolve. (Three references a page
/// waited out three delays: benchmark scenario (a) went from 511 to 1,009 req/s without them;
/// BENCHMARKS.md.)
pub async fn prime<L>(
    loader: &DataLoader<L, HashMapCache>,
    keys: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, L::Value>, L::Error>
where
    L: Loader<Uuid>,
{
    let mut keys: Vec<Uuid> = keys.into_iter().collect();
    keys.sort_unstable();
    keys.dedup();
    let found = loader.loader().load(&keys).await?;
    loader
        .feed_many(found.iter().map(|(key, value)| (*key, value.clone())))
        .await;
    Ok(found)
}

/// Loads live rows of entity `E` by id, as `V` (converted once per row and request, however
/// many fields show it), of the request's clinic.
pub struct RowsById<E: EntityTrait, V> {
    transaction: Weak<TenantTransaction>,
    tenant: Uuid,
    tenant_id: E::Column,
    id: E::Column,
    is_deleted: Option<E::Column>,
    id_of: fn(&E::Model) -> Uuid,
    into_value: fn(E::Model) -> Result<V, ApiError>,
}

/// A request's DataLoader over `E`, caching what it loaded for the rest of the request.
pub type ByIdLoader<E, V = <E as EntityTrait>::Model> = DataLoader<RowsById<E, V>, HashMapCache>;

/// The columns a `ByIdLoader` looks rows up by: `is_deleted`, when the table has it, hides
/// soft-deleted rows as everywhere else.
pub struct Lookup<E: EntityTrait> {
    /// The table's tenant_id column: every statement names its clinic.
    pub tenant_id: E::Column,
    pub id: E::Column,
    pub is_deleted: Option<E::Column>,
    pub id_of: fn(&E::Model) -> Uuid,
}

/// A DataLoader over `E` for one request, answering with the rows as they are.
pub fn by_id<E>(scope: &LoaderScope, lookup: Lookup<E>) -> ByIdLoader<E>
where
    E: EntityTrait,
    E::Model: Send + Sync + Clone,
    E::Column: Send + Sync,
{
    by_id_as(scope, lookup, Ok)
}

/// A DataLoader over `E` for one request, answering with each row converted by `into_value`.
pub fn by_id_as<E, V>(
    scope: &LoaderScope,
    lookup: Lookup<E>,
    into_value: fn(E::Model) -> Result<V, ApiError>,
) -> ByIdLoader<E, V>
where
    E: EntityTrait,
    E::Column: Send + Sync,
    V: Send + Sync + Clone + 'static,
{
    DataLoader::with_cache(
        RowsById {
            transaction: scope.transaction.clone(),
            tenant: scope.tenant,
            tenant_id: lookup.tenant_id,
            id: lookup.id,
            is_deleted: lookup.is_deleted,
            id_of: lookup.id_of,
            into_value,
        },
        scope.spawner(),
        HashMapCache::default(),
    )
}

impl<E, V> Loader<Uuid> for RowsById<E, V>
where
    E: EntityTrait,
    E::Column: Send + Sync,
    V: Send + Sync + Clone + 'static,
{
    type Value = V;
    type Error = ApiError;

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, V>, ApiError> {
        let transaction = self.transaction.upgrade().ok_or_else(ApiError::internal)?;
        let mut query = E::find()
            .filter(self.tenant_id.eq(self.tenant))
            .filter(self.id.is_in(ids.iter().copied()));
        if let Some(is_deleted) = self.is_deleted {
            query = query.filter(is_deleted.eq(false));
        }
        let rows = query.all(&*transaction).await?;
        rows.into_iter()
            .map(|row| Ok(((self.id_of)(&row), (self.into_value)(row)?)))
            .collect()
    }
}
