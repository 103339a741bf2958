//! Partner API keys. A key reads `hpms_<clinic id><key id>_<secret>`: the ids (32 hex digits
//! each) are public and find the row by its primary key; the secret (32 random bytes, base64url) is shown once when
//! the key is issued and stored only sealed (AES-256-GCM under `HPMS_API_KEY_ENCRYPTION_KEYS`,
//! bound to the clinic and key ids). A presented key is checked by opening the stored secret and
//! comparing in constant time; revoked keys and keys of deactivated clinics are not found.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::foundation::access::{Actor, ApiKeyScopes, Principal};
use crate::foundation::config::Secret;
use crate::foundation::db::{PreAuthentication, TenantTransaction};
use crate::foundation::error::ApiError;
use crate::foundation::keyring::{Keyring, KeyringError};
use crate::identity::store;

const KEY_PREFIX: &str = "hpms_";
const SECRET_BYTES: usize = 32;
const PURPOSE: &[u8] = b"hpms/tenant_api_keys.secret/v1";
/// The one answer to every bad key, so a caller learns nothing about why.
const INVALID_KEY: &str = "invalid or revoked API key";

/// A key just issued: `key` is shown to the administrator once and never stored.
pub struct MintedKey {
    pub id: Uuid,
    pub key: String,
    pub prefix: String,
    pub sealed_secret: Vec<u8>,
}

/// Seals and checks API-key secrets with the keys from configuration.
pub struct ApiKeyVault(Keyring);

impl ApiKeyVault {
    pub fn from_config(config: &Secret) -> Result<ApiKeyVault, KeyringError> {
        Keyring::from_config("HPMS_API_KEY_ENCRYPTION_KEYS", PURPOSE, config).map(ApiKeyVault)
    }

    /// A new key for the clinic `tenant_id`.
    pub fn mint(&self, tenant_id: Uuid) -> Result<MintedKey, ApiError> {
        let id = Uuid::new_v4();
        let mut secret = [0u8; SECRET_BYTES];
        getrandom::fill(&mut secret).map_err(|error| ApiError::internal_from(&error))?;
        let sealed_secret = self
            .0
            .seal(&context(&tenant_id, &id), &secret)
            .map_err(|error| ApiError::internal_from(&error))?;
        let prefix = format!("{KEY_PREFIX}{}{}", tenant_id.simple(), id.simple());
        Ok(MintedKey {
            id,
            key: format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(secret)),
            prefix,
            sealed_secret,
        })
    }

    /// The principal a presented key stands for, or UNAUTHENTICATED. Runs before any clinic is
    /// known, through `find_api_key()` in schema.sql.
    pub async fn authenticate(
        &self,
        pool: &PreAuthentication,
        presented: &str,
    ) -> Result<Principal, ApiError> {
        let invalid = rejected_key;
        let (tenant_id, id, secret) = parse(presented).ok_or_else(invalid)?;
        let stored = store::find_api_key(pool, tenant_id, id)
            .await?
            .ok_or_else(invalid)?;
        let expected = self
            .0
            .open(&context(&tenant_id, &id), &stored.sealed_secret)
            .map_err(|error| ApiError::internal_from(&error))?;
        if !bool::from(expected.ct_eq(&secret)) {
            return Err(invalid());
        }
        Ok(Principal {
            tenant_id,
            actor: Actor::ApiKey {
                id,
                scopes: ApiKeyScopes::from_names(stored.scopes.iter().map(String::as_str)),
            },
        })
    }
}

/// The answer to every rejected key: malformed, unknown, revoked, or of a deactivated clinic.
pub fn rejected_key() -> ApiError {
    ApiError::unauthenticated(INVALID_KEY)
}

/// Whether the key `id` of the principal's clinic is still live (not revoked, clinic active).
pub async fn key_is_current(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<bool, ApiError> {
    Ok(store::api_key_is_live(db, tenant_id, id).await?)
}

/// What a sealed secret is bound to: its clinic and its key.
fn context<'a>(tenant_id: &'a Uuid, key_id: &'a Uuid) -> [&'a [u8]; 2] {
    [tenant_id.as_bytes(), key_id.as_bytes()]
}

/// The clinic id, key id and secret of a well-formed key.
fn parse(presented: &str) -> Option<(Uuid, Uuid, Vec<u8>)> {
    let (ids, secret) = presented.trim().strip_prefix(KEY_PREFIX)?.split_once('_')?;
    if ids.len() != 64 || !ids.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let (tenant_id, id) = ids.split_at(32);
    let secret = URL_SAFE_NO_PAD.decode(secret).ok()?;
    (secret.len() == SECRET_BYTES).then_some((
        Uuid::try_parse(tenant_id).ok()?,
        Uuid::try_parse(id).ok()?,
        secret,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> ApiKeyVault {
        ApiKeyVault::from_config(&Secret::from(Keyring::generate_config_entry("k1"))).unwrap()
    }

    #[test]
    fn a_minted_key_parses_back_to_its_id_and_opens_only_for_its_clinic() {
        let vault = vault();
        let tenant = Uuid::new_v4();
        let minted = vault.mint(tenant).unwrap();
        assert!(minted.key.starts_with(&format!("{}_", minted.prefix)));
        let (tenant_id, id, secret) = parse(&minted.key).unwrap();
        assert_eq!((tenant_id, id), (tenant, minted.id));
        let opened = vault
            .0
            .open(&context(&tenant, &id), &minted.sealed_secret)
            .unwrap();
        assert_eq!(opened, secret);
        assert!(
            vault
                .0
                .open(&context(&Uuid::new_v4(), &id), &minted.sealed_secret)
                .is_err()
        );
        assert_ne!(vault.mint(tenant).unwrap().key, minted.key);
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        let key = vault().mint(Uuid::new_v4()).unwrap().key;
        for bad in [
            "",
            "hpms_",
            &key[..key.len() - 1],
            &key.replacen("hpms_", "hpmz_", 1),
            &format!("{key}A"),
            "hpms_0123_abc",
            &key.replacen('_', "-", 2),
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
