//! The `_cursor` of FHIR's `next` links, sealed. A GraphQL cursor encodes the sort key of the last
//! row seen, and a patient list's key is the patient's name: in a GraphQL body that stays in the
//! request, but a FHIR link is a URL, which proxies and access logs keep. So the cursor travels
//! encrypted and authenticated with the keys that seal API keys (the same on every instance,
//! rotated the same way), under a purpose of its own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::foundation::config::Secret;
use crate::foundation::keyring::{Keyring, KeyringError};
use crate::server::fhir::outcome::Outcome;

const PURPOSE: &[u8] = b"hpms fhir search cursor v1";

#[derive(Clone)]
pub struct CursorSeal(std::sync::Arc<Keyring>);

impl CursorSeal {
    pub fn from_config(config: &Secret) -> Result<CursorSeal, KeyringError> {
        Keyring::from_config("HPMS_API_KEY_ENCRYPTION_KEYS", PURPOSE, config)
            .map(|keyring| CursorSeal(std::sync::Arc::new(keyring)))
    }

    pub fn seal(&self, cursor: &str) -> String {
        self.0
            .seal(&[], cursor.as_bytes())
            .map(|sealed| URL_SAFE_NO_PAD.encode(sealed))
            .unwrap_or_default()
    }

    /// The GraphQL cursor a `_cursor` seals; BAD_USER_INPUT for one this server did not give.
    pub fn open(&self, sealed: &str) -> Result<String, Outcome> {
        URL_SAFE_NO_PAD
            .decode(sealed)
            .ok()
            .and_then(|bytes| self.0.open(&[], &bytes).ok())
            .and_then(|cursor| String::from_utf8(cursor).ok())
            .ok_or_else(|| {
                Outcome::bad_input("_cursor: not a cursor of this server; follow a next link")
            })
    }
}
