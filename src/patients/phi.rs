//! Encryption of patients' protected health information: `patients.phi_data` is sealed by the
//! platform keyring (AES-256-GCM, format in `platform::keyring`) under `HPMS_PHI_KEYS`, bound to
//! the clinic's and patient's ids, so ciphertext copied into another row or clinic fails to open.

use uuid::Uuid;

use crate::foundation::config::Secret;
use crate::foundation::keyring::{self, Keyring, KeyringError};

const PURPOSE: &[u8] = b"hpms/patients.phi_data/v1";

/// The configured PHI keys; the first seals new writes.
pub struct PhiKeyring(Keyring);

impl PhiKeyring {
    /// Parses `HPMS_PHI_KEYS`: `id:base64key[,id:base64key…]`.
    pub fn from_config(config: &Secret) -> Result<PhiKeyring, KeyringError> {
        Keyring::from_config("HPMS_PHI_KEYS", PURPOSE, config).map(PhiKeyring)
    }

    /// A new random key in configuration syntax.
    pub fn generate_config_entry(id: &str) -> String {
        Keyring::generate_config_entry(id)
    }

    pub fn seal(
        &self,
        tenant_id: Uuid,
        patient_id: Uuid,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KeyringError> {
        self.0
            .seal(&[tenant_id.as_bytes(), patient_id.as_bytes()], plaintext)
    }

    pub fn open(
        &self,
        tenant_id: Uuid,
        patient_id: Uuid,
        stored: &[u8],
    ) -> Result<Vec<u8>, KeyringError> {
        self.0
            .open(&[tenant_id.as_bytes(), patient_id.as_bytes()], stored)
    }

    /// The id of the key that seals new writes.
    pub fn active_key_id(&self) -> &str {
        self.0.active_key_id()
    }

    /// The bytes every value sealed under the active key starts with.
    pub fn active_header(&self) -> Vec<u8> {
        keyring::header(self.0.active_key_id())
    }

    pub fn holds(&self, key_id: &str) -> bool {
        self.0.holds(key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_phi_opens_only_for_its_own_clinic_and_patient() {
        let ring = PhiKeyring::from_config(&Secret::from(PhiKeyring::generate_config_entry("k1")))
            .unwrap();
        let (tenant, patient, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let sealed = ring.seal(tenant, patient, b"allergic").unwrap();
        assert_eq!(ring.open(tenant, patient, &sealed).unwrap(), b"allergic");
        assert!(matches!(
            ring.open(tenant, other, &sealed),
            Err(KeyringError::Unauthentic)
        ));
        assert!(matches!(
            ring.open(other, patient, &sealed),
            Err(KeyringError::Unauthentic)
        ));
    }
}
