//! Sealing secrets at rest with AES-256-GCM under keys from configuration, never from the
//! database. Used for patients' PHI and for partners' API keys, each with its own keys and its
//! own label, so ciphertext of one purpose never opens as the other.
//!
//! Stored format:
//!
//! ```text
//! [1: format version = 1][1: key id length n][n: key id][12: nonce][ciphertext + 16-byte tag]
//! ```
//!
//! A fresh random nonce per write; the key id names the key that sealed the value, so new writes
//! use the active key while values sealed under older keys stay readable until rewritten. The
//! caller binds the value to where it is stored (clinic and row ids) as associated data:
//! ciphertext copied into another row fails to open instead of yielding someone else's data.

use aes_gcm::aead::{Aead, Generate, Key, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::foundation::config::Secret;

const FORMAT_VERSION: u8 = 1;
const NONCE_BYTES: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(
        "{setting} must be a comma-separated list of `key-id:base64-of-32-bytes`, active key first: {why}"
    )]
    BadConfiguration { setting: &'static str, why: String },
    #[error("a sealed value is not in a format this server knows")]
    UnknownFormat,
    #[error("a sealed value was sealed with key `{0}`, which is not configured")]
    UnknownKey(String),
    #[error("a sealed value failed authentication (tampered, or copied from another row)")]
    Unauthentic,
    #[error("encryption failed")]
    Encryption,
}

/// The configured keys of one purpose; the first seals new writes.
pub struct Keyring {
    label: &'static [u8],
    keys: Vec<(String, Aes256Gcm)>,
}

impl Keyring {
    /// Parses `id:base64key[,id:base64key…]` from the setting named `setting`; `label` names the
    /// purpose and is authenticated with every value.
    pub fn from_config(
        setting: &'static str,
        label: &'static [u8],
        config: &Secret,
    ) -> Result<Keyring, KeyringError> {
        let bad = |why: &str| KeyringError::BadConfiguration {
            setting,
            why: why.to_owned(),
        };
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
        Ok(Keyring { label, keys })
    }

    /// A new random key in configuration syntax, for development secrets and tests.
    pub fn generate_config_entry(id: &str) -> String {
        format!("{id}:{}", STANDARD.encode(Key::<Aes256Gcm>::generate()))
    }

    /// Seals `plaintext` under the active key, bound to `context` (where it is stored).
    pub fn seal(&self, context: &[&[u8]], plaintext: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let (key_id, cipher) = &self.keys[0];
        let nonce = Nonce::generate();
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &self.associated_data(context),
                },
            )
            .map_err(|_| KeyringError::Encryption)?;
        let mut stored = header(key_id);
        stored.reserve(NONCE_BYTES + sealed.len());
        stored.extend_from_slice(&nonce);
        stored.extend_from_slice(&sealed);
        Ok(stored)
    }

    /// Opens a value sealed by `seal` with the same `context`.
    pub fn open(&self, context: &[&[u8]], stored: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let (key_id, rest) = split_header(stored)?;
        if rest.len() < NONCE_BYTES {
            return Err(KeyringError::UnknownFormat);
        }
        let (nonce, sealed) = rest.split_at(NONCE_BYTES);
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| *id == key_id)
            .ok_or_else(|| KeyringError::UnknownKey(key_id.into_owned()))?;
        let nonce = Nonce::try_from(nonce).map_err(|_| KeyringError::UnknownFormat)?;
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: &self.associated_data(context),
                },
            )
            .map_err(|_| KeyringError::Unauthentic)
    }

    fn associated_data(&self, context: &[&[u8]]) -> Vec<u8> {
        [&[self.label][..], context].concat().concat()
    }

    /// The id of the key that seals new writes.
    pub fn active_key_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Whether a key of that id is configured.
    pub fn holds(&self, key_id: &str) -> bool {
        self.keys.iter().any(|(id, _)| id == key_id)
    }
}

/// The bytes every value sealed under `key_id` starts with: a stored column can be searched for
/// values sealed under a key without knowing the format.
pub fn header(key_id: &str) -> Vec<u8> {
    let mut header = Vec::with_capacity(2 + key_id.len());
    header.push(FORMAT_VERSION);
    header.push(key_id.len() as u8);
    header.extend_from_slice(key_id.as_bytes());
    header
}

/// The id of the key a stored value was sealed under; `stored` may be cut right after the header.
pub fn sealed_key_id(stored: &[u8]) -> Result<String, KeyringError> {
    split_header(stored).map(|(key_id, _)| key_id.into_owned())
}

fn split_header(stored: &[u8]) -> Result<(std::borrow::Cow<'_, str>, &[u8]), KeyringError> {
    let [version, id_length, rest @ ..] = stored else {
        return Err(KeyringError::UnknownFormat);
    };
    if *version != FORMAT_VERSION || rest.len() < *id_length as usize {
        return Err(KeyringError::UnknownFormat);
    }
    let (key_id, rest) = rest.split_at(*id_length as usize);
    Ok((String::from_utf8_lossy(key_id), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL: &[u8] = b"hpms/test/v1";

    fn keyring(config: &str) -> Keyring {
        Keyring::from_config("TEST_KEYS", LABEL, &Secret::from(config.to_owned())).unwrap()
    }

    #[test]
    fn sealed_data_opens_only_in_its_own_context_and_purpose() {
        let entry = Keyring::generate_config_entry("k1");
        let ring = keyring(&entry);
        let sealed = ring
            .seal(&[b"tenant", b"row-1"], b"allergic to penicillin")
            .unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"penicillin"));
        assert_eq!(
            ring.open(&[b"tenant", b"row-1"], &sealed).unwrap(),
            b"allergic to penicillin"
        );
        assert!(matches!(
            ring.open(&[b"tenant", b"row-2"], &sealed),
            Err(KeyringError::Unauthentic)
        ));
        let other_purpose =
            Keyring::from_config("OTHER", b"hpms/other/v1", &Secret::from(entry)).unwrap();
        assert!(matches!(
            other_purpose.open(&[b"tenant", b"row-1"], &sealed),
            Err(KeyringError::Unauthentic)
        ));
    }

    #[test]
    fn each_write_uses_a_fresh_nonce() {
        let ring = keyring(&Keyring::generate_config_entry("k1"));
        assert_ne!(
            ring.seal(&[b"row"], b"same").unwrap(),
            ring.seal(&[b"row"], b"same").unwrap()
        );
    }

    #[test]
    fn rotation_keeps_values_sealed_under_an_older_key_readable() {
        let old_entry = Keyring::generate_config_entry("2026-01");
        let sealed = keyring(&old_entry).seal(&[b"row"], b"old").unwrap();
        let rotated = keyring(&format!(
            "{},{old_entry}",
            Keyring::generate_config_entry("2026-11")
        ));
        assert_eq!(rotated.open(&[b"row"], &sealed).unwrap(), b"old");
        let resealed = rotated.seal(&[b"row"], b"new").unwrap();
        assert_eq!(sealed_key_id(&resealed).unwrap(), "2026-11");
        assert!(resealed.starts_with(&header(rotated.active_key_id())));
        assert_eq!(sealed_key_id(&sealed).unwrap(), "2026-01");
        assert!(rotated.holds("2026-01") && !rotated.holds("2027-01"));
        assert!(matches!(
            sealed_key_id(b"\x00\xff"),
            Err(KeyringError::UnknownFormat)
        ));
        let without_old = keyring(&Keyring::generate_config_entry("2026-11"));
        assert!(matches!(
            without_old.open(&[b"row"], &sealed),
            Err(KeyringError::UnknownKey(id)) if id == "2026-01"
        ));
    }

    #[test]
    fn bad_configuration_is_refused_naming_the_setting() {
        for config in ["", "k1", "k1:notbase64!", "k1:AAAA", "bad id:AAAA"] {
            let error = Keyring::from_config("TEST_KEYS", LABEL, &Secret::from(config.to_owned()))
                .err()
                .unwrap_or_else(|| panic!("{config} was accepted"));
            assert!(
                error.to_string().starts_with("TEST_KEYS must be"),
                "{error}"
            );
        }
    }
}
