//! Webhook rules, with no GraphQL in sight: registering an endpoint (a ClinicAdmin's, its URL
//! checked against SSRF, its secret shown once and stored sealed), re-enabling, replaying and
//! rotating its secret. Each takes the request's tenant transaction and the principal acting.

use chrono::{Duration, Utc};
use uuid::Uuid;

use crate::foundation::access::{Permission, Principal};
use crate::foundation::config::Secret;
use crate::foundation::db::TenantTransaction;
use crate::foundation::error::ApiError;
use crate::foundation::input::required_line;
use crate::foundation::keyring::{Keyring, KeyringError};
use crate::partners::address::AddressPolicy;
use crate::partners::entity::webhook_endpoint;
use crate::partners::signing::{SECRET_BYTES, display_secret};
use crate::partners::store::{self, NewEndpoint};
use crate::scheduling::{AppointmentEventKind, latest_event_id};

const PURPOSE: &[u8] = b"hpms/webhook_endpoints.secret/v1";
/// Longest overlap of a rotated secret: a week.
const MAX_OVERLAP_MINUTES: i32 = 7 * 24 * 60;

/// Seals and opens endpoints' signing secrets with the API-key encryption keys.
pub struct WebhookVault(Keyring);

impl WebhookVault {
    pub fn from_config(config: &Secret) -> Result<WebhookVault, KeyringError> {
        Keyring::from_config("HPMS_API_KEY_ENCRYPTION_KEYS", PURPOSE, config).map(WebhookVault)
    }

    /// A new secret for the endpoint: (what the partner configures, what is stored).
    fn mint(&self, tenant_id: Uuid, id: Uuid) -> Result<(String, Vec<u8>), ApiError> {
        let mut secret = [0u8; SECRET_BYTES];
        getrandom::fill(&mut secret).map_err(|error| ApiError::internal_from(&error))?;
        let sealed = self
            .0
            .seal(&[tenant_id.as_bytes(), id.as_bytes()], &secret)
            .map_err(|error| ApiError::internal_from(&error))?;
        Ok((display_secret(&secret), sealed))
    }

    /// The secrets that sign the endpoint's messages now: the current one, and the previous one
    /// during a rotation's overlap.
    pub fn signing_secrets(
        &self,
        endpoint: &webhook_endpoint::Model,
    ) -> Result<Vec<Vec<u8>>, KeyringError> {
        let context = [
            endpoint.tenant_id.as_bytes().as_slice(),
            endpoint.id.as_bytes(),
        ];
        let mut secrets = vec![self.0.open(&context, &endpoint.secret_ciphertext)?];
        if let (Some(previous), Some(until)) = (
            &endpoint.previous_secret_ciphertext,
            endpoint.previous_secret_expires_at,
        ) && Utc::now() < until
        {
            secrets.push(self.0.open(&context, previous)?);
        }
        Ok(secrets)
    }
}

/// What registering asks for.
pub struct EndpointRequest {
    pub url: String,
    pub description: Option<String>,
    pub event_kinds: Vec<AppointmentEventKind>,
}

/// Registers an endpoint; it receives the clinic's events from now on. The secret is returned
/// this once. BAD_USER_INPUT for a URL refused by the address policy.
pub async fn register(
    db: &TenantTransaction,
    principal: &Principal,
    (vault, policy): (&WebhookVault, &AddressPolicy),
    request: EndpointRequest,
) -> Result<(webhook_endpoint::Model, String), ApiError> {
    principal.require(Permission::ManageWebhooks)?;
    let url = policy
        .check_endpoint(&request.url)
        .await
        .map_err(|refused| ApiError::bad_input("input.url", refused.0))?;
    if url.as_str().len() > 2000 {
        return Err(ApiError::bad_input(
            "input.url",
            "must be at most 2000 characters",
        ));
    }
    let description = match request.description.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(text) => required_line("input.description", text, 500)?,
    };
    if request.event_kinds.is_empty() {
        return Err(ApiError::bad_input(
            "input.eventKinds",
            "name at least one kind of event",
        ));
    }
    let mut kinds: Vec<String> = AppointmentEventKind::ALL
        .into_iter()
        .filter(|kind| request.event_kinds.contains(kind))
        .map(|kind| kind.as_str().to_owned())
        .collect();
    kinds.dedup();
    let id = Uuid::new_v4();
    let (secret, sealed_secret) = vault.mint(db.tenant_id(), id)?;
    let endpoint = store::insert_endpoint(
        db,
        NewEndpoint {
            id,
            url: url.to_string(),
            description,
            event_kinds: kinds,
            sealed_secret,
            last_event_id: latest_event_id(db, db.tenant_id()).await?,
            created_by: principal.user_id().ok(),
        },
    )
    .await?;
    Ok((endpoint, secret))
}

pub async fn list(
    db: &TenantTransaction,
    principal: &Principal,
) -> Result<Vec<webhook_endpoint::Model>, ApiError> {
    principal.require(Permission::ManageWebhooks)?;
    Ok(store::list_endpoints(db).await?)
}

pub async fn find(
    db: &TenantTransaction,
    principal: &Principal,
    id: Uuid,
) -> Result<webhook_endpoint::Model, ApiError> {
    principal.require(Permission::ManageWebhooks)?;
    store::find_endpoint(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))
}

/// Re-enables an endpoint (disabled after failing for the retry window, or not); delivery
/// resumes from the first event it has not had.
pub async fn enable(
    db: &TenantTransaction,
    principal: &Principal,
    id: Uuid,
) -> Result<webhook_endpoint::Model, ApiError> {
    principal.require(Permission::ManageWebhooks)?;
    if !store::enable(db, id).await? {
        return Err(ApiError::not_found("webhook endpoint"));
    }
    find(db, principal, id).await
}

/// Redelivers the clinic's events from `from_event_id` on (each again, in order).
pub async fn replay(
    db: &TenantTransaction,
    principal: &Principal,
    id: Uuid,
    from_event_id: i64,
) -> Result<webhook_endpoint::Model, ApiError> {
    principal.require(Permission::ManageWebhooks)?;
    let latest = latest_event_id(db, db.tenant_id()).await?;
    if !(1..=latest + 1).contains(&from_event_id) {
        return Err(ApiError::bad_input(
            "fromEventId",
            format!("must be the id of an event your clinic has had (1 to {latest})"),
        ));
    }
    if !store::replay(db, id, from_event_id).await? {
        return Err(ApiError::not_found("webhook endpoint"));
    }
    find(db, principal, id).await
}

/// A new secret, returned this once; the current one keeps signing for `overlap_minutes`.
pub async fn rotate_secret(
    db: &TenantTransaction,
    principal: &Principal,
    vault: &WebhookVault,
    id: Uuid,
    overlap_minutes: i32,
) -> Result<(webhook_endpoint::Model, String), ApiError> {
    principal.require(Permission::ManageWebhooks)?;
    if !(0..=MAX_OVERLAP_MINUTES).contains(&overlap_minutes) {
        return Err(ApiError::bad_input(
            "overlapMinutes",
            format!("must be 0 to {MAX_OVERLAP_MINUTES}"),
        ));
    }
    let current = find(db, principal, id).await?;
    let (secret, sealed) = vault.mint(db.tenant_id(), id)?;
    let until = Utc::now() + Duration::minutes(overlap_minutes.into());
    store::rotate_secret(db, id, sealed, current.secret_ciphertext, until).await?;
    Ok((find(db, principal, id).await?, secret))
}
