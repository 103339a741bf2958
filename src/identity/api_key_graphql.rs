//! Partner API keys over GraphQL (ClinicAdmin): issue, list, revoke. Rotation is issuing a new
//! key, moving the partner to it, and revoking the old one; both work in between.

use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use uuid::Uuid;

use crate::foundation::access::Permission;
use crate::foundation::access::{ApiKeyScope, ApiKeyScopes};
use crate::foundation::error::ApiError;
use crate::foundation::input::required_line;
use crate::foundation::session::session;
use crate::identity::credentials::Authenticator;
use crate::identity::entity::api_key;
use crate::identity::store;

const MAX_NAME_CHARS: usize = 100;

/// A partner's API key, without its secret (which is shown only once, by `issueApiKey`).
#[derive(SimpleObject)]
pub struct ApiKey {
    /// The key's id, as `revokeApiKey` takes it.
    pub id: Uuid,
    /// Who the key is for, such as "Lab results bridge".
    pub name: String,
    /// The key's public beginning (`hpms_<clinic id><key id>`): tells which key a partner holds.
    pub prefix: String,
    /// What the key may do.
    pub scopes: Vec<ApiKeyScope>,
    /// When the key was issued (UTC).
    pub created_at: DateTime<Utc>,
    /// When a request last used the key (UTC), updated at most once a minute; null if it has
    /// never been used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When the key was revoked (UTC); null while it works.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<api_key::Model> for ApiKey {
    fn from(model: api_key::Model) -> Self {
        ApiKey {
            id: model.id,
            name: model.name,
            prefix: model.key_prefix,
            scopes: ApiKeyScopes::from_names(model.scopes.iter().map(String::as_str)).list(),
            created_at: model.created_at.into(),
            last_used_at: model.last_used_at.map(Into::into),
            revoked_at: model.revoked_at.map(Into::into),
        }
    }
}

/// A key just issued.
#[derive(SimpleObject)]
pub struct IssuedApiKey {
    /// The whole key, to hand to the partner. Shown this once: it cannot be read again.
    pub key: String,
    /// The key as `apiKeys` will list it.
    pub api_key: ApiKey,
}

#[derive(Default)]
pub struct ApiKeyQuery;

#[Object]
impl ApiKeyQuery {
    /// The clinic's API keys, newest first, revoked ones included. ClinicAdmin only.
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageApiKeys)?;
        Ok(store::list_api_keys(session.db(), session.tenant_id())
            .await?
            .into_iter()
            .map(ApiKey::from)
            .collect())
    }
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Issues a key for a partner system with the given scopes. ClinicAdmin only.
    async fn issue_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Who the key is for, such as \"Lab results bridge\": one line of at most 100 characters."
        )]
        name: String,
        #[graphql(desc = "What the key may do: at least one scope; repeats count once.")]
        scopes: Vec<ApiKeyScope>,
    ) -> Result<IssuedApiKey, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageApiKeys)?;
        let name = required_line("name", &name, MAX_NAME_CHARS)?;
        if scopes.is_empty() {
            return Err(ApiError::bad_input(
                "scopes",
                "give at least one scope, such as APPOINTMENT_EVENTS",
            ));
        }
        let mut scope_names: Vec<String> = scopes.iter().map(|s| s.name().to_owned()).collect();
        scope_names.sort();
        scope_names.dedup();
        let tenant_id = session.principal.tenant_id;
        let minted = ctx
            .data::<Arc<Authenticator>>()
            .map_err(|_| ApiError::internal())?
            .vault()
            .mint(tenant_id)?;
        let stored = store::insert_api_key(
            session.db(),
            api_key::ActiveModel {
                tenant_id: Set(tenant_id),
                id: Set(minted.id),
                name: Set(name),
                key_prefix: Set(minted.prefix),
                secret_ciphertext: Set(minted.sealed_secret),
                scopes: Set(scope_names),
                created_by: Set(Some(session.principal.user_id()?)),
                created_at: NotSet,
                last_used_at: NotSet,
                revoked_at: NotSet,
            },
        )
        .await?;
        Ok(IssuedApiKey {
            key: minted.key,
            api_key: stored.into(),
        })
    }

    /// Revokes a key: requests with it fail from the moment this commits, and its open
    /// subscriptions end. Revoking a revoked key changes nothing. ClinicAdmin only.
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key's id (not the key itself).")] id: Uuid,
    ) -> Result<ApiKey, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ManageApiKeys)?;
        store::revoke_api_key(session.db(), session.tenant_id(), id)
            .await?
            .map(ApiKey::from)
            .ok_or_else(|| ApiError::not_found("API key"))
    }
}
