//! Encryption of patients' protected health information (AES-256-GCM).
//!
//! Stored format of `patients.phi_data`:
//!
//! ```text
//! [1: format version = 1][1: key id length n][n: key id][12: nonce][ciphertext + 16-byte tag]
//! ```
//!
//! A fresh random nonce per write; the key id names the key that sealed the row, so new writes
//! use the active key while rows sealed under older keys stay readable until rewritten. The
//! clinic's and patient's ids are authenticated as associated data: ciphertext copied into
//! another row, or another clinic, fails to open instead of yielding someone else's record.
//! Keys come from configuration only (`HPMS_PHI_KEYS`), never from the database.

use aes_gcm::aead::{Aead, Generate, Key, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use uuid::Uuid;

use crate::platform::config::Secret;

const FORMAT_VERSION: u8 = 1;
const NONCE_BYTES: usize = 12;
const ASSOCIATED_DATA_LABEL: &[u8] = b"hpms/patients.phi_data/v1";

#[derive(Debug, thiserror::Error)]
pub enum PhiError {
    #[error(
        "HPMS_PHI_KEYS must be a comma-separated list of `key-id:base64-of-32-bytes`, active key first: {0}"
    )]
    BadConfiguration(String),
    #[error("stored PHI is not in a format this server knows")]
    UnknownFormat,
    #[error("stored PHI was sealed with key `{0}`, which is not configured")]
    UnknownKey(String),
    #[error("stored PHI failed authentication (tampered, or copied from another row)")]
    Unauthentic,
    #[error("encryption failed")]
    Encryption,
}

/// The configured keys; the first seals new writes.
pub struct PhiKeyring {
    keys: Vec<(String, Aes256Gcm)>,
}

impl PhiKeyring {
    /// Parses `id:base64key[,id:base64key…]`.
    pub fn from_config(config: &Secret) -> Result<PhiKeyring, PhiError> {
        let bad = |why: &str| PhiError::BadConfiguration(why.to_owned());
        let mut keys = Vec::new();
        for entry in config.expose().split(',').map(str::trim) {
            let (id, encoded) = entry
                .split_once(':')
                .ok_or_else(|| bad("an entry has no `:`"))?;
            let id_is_valid = (1..=32).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !id_is_valid {
                return Err(bad("a key id must be 1 to 32 of A-Z a-z 0-9 . _ -"));
            }
            if keys.iter().any(|(existing, _)| existing == id) {
                return Err(bad("a key id appears twice"));
            }
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|_| bad("a key is not base64"))?;
            let key = Key::<Aes256Gcm>::try_from(bytes.as_slice())
                .map_err(|_| bad("a key is not 32 bytes"))?;
            keys.push((id.to_owned(), Aes256Gcm::new(&key)));
        }
        if keys.is_empty() {
            return Err(bad("no keys"));
        }
        Ok(PhiKeyring { keys })
    }

    /// A new random key in configuration syntax, for `make run`'s development secrets.
    pub fn generate_config_entry(id: &str) -> String {
        format!("{id}:{}", STANDARD.encode(Key::<Aes256Gcm>::generate()))
    }

    pub fn seal(
        &self,
        tenant_id: Uuid,
        patient_id: Uuid,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, PhiError> {
        let (key_id, cipher) = &self.keys[0];
        let nonce = Nonce::generate();
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &associated_data(tenant_id, patient_id),
                },
            )
            .map_err(|_| PhiError::Encryption)?;
        let mut stored = Vec::with_capacity(2 + key_id.len() + NONCE_BYTES + sealed.len());
        stored.push(FORMAT_VERSION);
        stored.push(key_id.len() as u8);
        stored.extend_from_slice(key_id.as_bytes());
        stored.extend_from_slice(&nonce);
        stored.extend_from_slice(&sealed);
        Ok(stored)
    }

    pub fn open(
        &self,
        tenant_id: Uuid,
        patient_id: Uuid,
        stored: &[u8],
    ) -> Result<Vec<u8>, PhiError> {
        let [version, id_length, rest @ ..] = stored else {
            return Err(PhiError::UnknownFormat);
        };
        if *version != FORMAT_VERSION || rest.len() < *id_length as usize + NONCE_BYTES {
            return Err(PhiError::UnknownFormat);
        }
        let (key_id, rest) = rest.split_at(*id_length as usize);
        let (nonce, sealed) = rest.split_at(NONCE_BYTES);
        let key_id = String::from_utf8_lossy(key_id);
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| *id == key_id)
            .ok_or_else(|| PhiError::UnknownKey(key_id.into_owned()))?;
        let nonce = Nonce::try_from(nonce).map_err(|_| PhiError::UnknownFormat)?;
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: &associated_data(tenant_id, patient_id),
                },
            )
            .map_err(|_| PhiError::Unauthentic)
    }
}

fn associated_data(tenant_id: Uuid, patient_id: Uuid) -> Vec<u8> {
    [
        ASSOCIATED_DATA_LABEL,
        tenant_id.as_bytes(),
        patient_id.as_bytes(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring(config: &str) -> PhiKeyring {
        PhiKeyring::from_config(&Secret::from(config.to_owned())).unwrap()
    }

    #[test]
    fn sealed_data_opens_only_for_its_own_row() {
        let ring = keyring(&PhiKeyring::generate_config_entry("k1"));
        let (tenant, patient, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let sealed = ring
            .seal(tenant, patient, b"allergic to penicillin")
            .unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"penicillin"));
        assert_eq!(
            ring.open(tenant, patient, &sealed).unwrap(),
            b"allergic to penicillin"
        );
        assert!(matches!(
            ring.open(tenant, other, &sealed),
            Err(PhiError::Unauthentic)
        ));
        assert!(matches!(
            ring.open(other, patient, &sealed),
            Err(PhiError::Unauthentic)
        ));
    }

    #[test]
    fn each_write_uses_a_fresh_nonce() {
        let ring = keyring(&PhiKeyring::generate_config_entry("k1"));
        let (tenant, patient) = (Uuid::new_v4(), Uuid::new_v4());
        assert_ne!(
            ring.seal(tenant, patient, b"same").unwrap(),
            ring.seal(tenant, patient, b"same").unwrap()
        );
    }

    #[test]
    fn rotation_keeps_rows_sealed_under_an_older_key_readable() {
        let old_entry = PhiKeyring::generate_config_entry("2026-01");
        let (tenant, patient) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = keyring(&old_entry).seal(tenant, patient, b"old").unwrap();
        let rotated = keyring(&format!(
            "{},{old_entry}",
            PhiKeyring::generate_config_entry("2026-11")
        ));
        assert_eq!(rotated.open(tenant, patient, &sealed).unwrap(), b"old");
        assert_eq!(
            &rotated.seal(tenant, patient, b"new").unwrap()[2..9],
            b"2026-11"
        );
        let without_old = keyring(&PhiKeyring::generate_config_entry("2026-11"));
        assert!(matches!(
            without_old.open(tenant, patient, &sealed),
            Err(PhiError::UnknownKey(id)) if id == "2026-01"
        ));
    }

    #[test]
    fn bad_configuration_is_refused() {
        for config in ["", "k1", "k1:notbase64!", "k1:AAAA", "bad id:AAAA"] {
            assert!(
                PhiKeyring::from_config(&Secret::from(config.to_owned())).is_err(),
                "{config}"
            );
        }
    }
}
