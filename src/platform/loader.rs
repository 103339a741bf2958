//! Batched lookups by id for the fields that follow a reference (an appointment's patient,
//! provider, type): async-graphql's DataLoader gathers the ids a response needs and this loader
//! fetches them in one query on the request's transaction, so a page costs the same number of
//! statements whatever its size.
//!
//! DataLoader gathers keys for a millisecond before loading, which on a busy machine can split
//! one page's keys into two batches; so a list resolver also primes the loaders with its rows'
//! references in one `load_many`, and the per-request cache answers the fields from that.
//!
//! The loader holds the transaction weakly and its batches run on the request's `TaskTracker`:
//! when execution ends, the request waits for the tracker to drain, and is then certain to hold
//! the only handle to its transaction, to commit or roll back.

use std::collections::HashMap;
use std::sync::Weak;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::platform::error::ApiError;

/// Runs a loader's batches as tasks of the request's tracker.
pub fn spawner(
    tasks: &TaskTracker,
) -> impl Fn(async_graphql::futures_util::future::BoxFuture<'static, ()>) + Send + Sync + 'static {
    let tasks = tasks.clone();
    move |batch| {
        tasks.spawn(batch);
    }
}

/// Loads live rows of entity `E` by id.
pub struct RowsById<E: EntityTrait> {
    transaction: Weak<DatabaseTransaction>,
    id: E::Column,
    is_deleted: Option<E::Column>,
    id_of: fn(&E::Model) -> Uuid,
}

/// A request's DataLoader over `E`, caching what it loaded for the rest of the request.
pub type ByIdLoader<E> = DataLoader<RowsById<E>, HashMapCache>;

/// A DataLoader over `E` for one request. `is_deleted`, when the table has it, hides
/// soft-deleted rows as everywhere else.
pub fn by_id<E>(
    transaction: Weak<DatabaseTransaction>,
    tasks: &TaskTracker,
    id: E::Column,
    is_deleted: Option<E::Column>,
    id_of: fn(&E::Model) -> Uuid,
) -> ByIdLoader<E>
where
    E: EntityTrait,
    E::Model: Send + Sync + Clone,
    E::Column: Send + Sync,
{
    DataLoader::with_cache(
        RowsById {
            transaction,
            id,
            is_deleted,
            id_of,
        },
        spawner(tasks),
        HashMapCache::default(),
    )
}

impl<E> Loader<Uuid> for RowsById<E>
where
    E: EntityTrait,
    E::Model: Send + Sync + Clone,
    E::Column: Send + Sync,
{
    type Value = E::Model;
    type Error = ApiError;

    async fn load(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, E::Model>, ApiError> {
        let transaction = self.transaction.upgrade().ok_or_else(ApiError::internal)?;
        let mut query = E::find().filter(self.id.is_in(ids.iter().copied()));
        if let Some(is_deleted) = self.is_deleted {
            query = query.filter(is_deleted.eq(false));
        }
        let rows = query.all(&*transaction).await?;
        Ok(rows
            .into_iter()
            .map(|row| ((self.id_of)(&row), row))
            .collect())
    }
}
