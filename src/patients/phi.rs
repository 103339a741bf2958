//! Encryption of patients' protected health information: `patients.phi_data` is sealed by the
//! platform keyring (AES-256-GCM, format in `foundation::keyring`) under `HPMS_PHI_KEYS`, bound
//! to the clinic's and patient's ids, so ciphertext copied into another row or clinic fails to
//! open. What is sealed is the JSON of `StoredPhiV1`, a format of its own: the API's `Contact`
//! and `Medical` may be renamed freely, and what was written years ago still reads back.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::foundation::config::Secret;
use crate::foundation::keyring::{self, Keyring, KeyringError};
use crate::patients::model::{Contact, Medical, PhiDocument};

/// The sealed document, version 1 (the format written since the first release):
/// `{"contact": {"phone", "email", "address"}, "medical": {"allergies", "medications",
/// "notes"}}`, each value a string or null. A missing section or value reads as empty, as it did
/// when it was written that way. Every name is spelled out here so that no change to the API's
/// types changes what is read back; a version 2 would add a `"version": 2` member and a type of
/// its own, and this one keeps reading what is already stored.
#[derive(Serialize, Deserialize)]
struct StoredPhiV1 {
    #[serde(rename = "contact", default)]
    contact: StoredContactV1,
    #[serde(rename = "medical", default)]
    medical: StoredMedicalV1,
}

#[derive(Serialize, Deserialize, Default)]
struct StoredContactV1 {
    #[serde(rename = "phone", default)]
    phone: Option<String>,
    #[serde(rename = "email", default)]
    email: Option<String>,
    #[serde(rename = "address", default)]
    address: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct StoredMedicalV1 {
    #[serde(rename = "allergies", default)]
    allergies: Option<String>,
    #[serde(rename = "medications", default)]
    medications: Option<String>,
    #[serde(rename = "notes", default)]
    notes: Option<String>,
}

impl From<&PhiDocument> for StoredPhiV1 {
    fn from(document: &PhiDocument) -> Self {
        let (contact, medical) = (document.contact.clone(), document.medical.clone());
        StoredPhiV1 {
            contact: StoredContactV1 {
                phone: contact.phone,
                email: contact.email,
                address: contact.address,
            },
            medical: StoredMedicalV1 {
                allergies: medical.allergies,
                medications: medical.medications,
                notes: medical.notes,
            },
        }
    }
}

impl From<StoredPhiV1> for PhiDocument {
    fn from(stored: StoredPhiV1) -> Self {
        PhiDocument {
            contact: Contact {
                phone: stored.contact.phone,
                email: stored.contact.email,
                address: stored.contact.address,
            },
            medical: Medical {
                allergies: stored.medical.allergies,
                medications: stored.medical.medications,
                notes: stored.medical.notes,
            },
        }
    }
}

/// Why a stored document could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum PhiError {
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    #[error("the decrypted PHI document is not a stored document: {0}")]
    Format(#[from] serde_json::Error),
}

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

    /// `document` as `patients.phi_data` stores it for that clinic's patient.
    pub fn seal_document(
        &self,
        tenant_id: Uuid,
        patient_id: Uuid,
        document: &PhiDocument,
    ) -> Result<Vec<u8>, PhiError> {
        let plaintext = serde_json::to_vec(&StoredPhiV1::from(document))?;
        Ok(self.seal(tenant_id, patient_id, &plaintext)?)
    }

    /// The document stored in `patients.phi_data` for that clinic's patient.
    pub fn open_document(
        &self,
        tenant_id: Uuid,
        patient_id: Uuid,
        stored: &[u8],
    ) -> Result<PhiDocument, PhiError> {
        let plaintext = self.open(tenant_id, patient_id, stored)?;
        Ok(serde_json::from_slice::<StoredPhiV1>(&plaintext)?.into())
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

    #[test]
    fn an_old_document_without_a_section_still_reads() {
        let stored: StoredPhiV1 = serde_json::from_str(r#"{"contact":{"phone":"1"}}"#).unwrap();
        let document = PhiDocument::from(stored);
        assert_eq!(document.contact.phone.as_deref(), Some("1"));
        assert_eq!(document.medical, Medical::default());
    }

    /// A value sealed by the code before the stored format had a type of its own
    /// (`tests/fixtures/phi_document_v1.json`): it must open, and read back field for field,
    /// for as long as such rows can exist. Resealing it writes the same plaintext.
    #[test]
    fn a_document_sealed_by_the_first_release_still_opens_field_for_field() {
        use base64::Engine;
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/phi_document_v1.json"))
                .unwrap();
        let text = |name: &str| fixture[name].as_str().unwrap().to_owned();
        let ring = PhiKeyring::from_config(&Secret::from(text("phi_keys"))).unwrap();
        let tenant = Uuid::parse_str(&text("tenant_id")).unwrap();
        let patient = Uuid::parse_str(&text("patient_id")).unwrap();
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(text("sealed_base64"))
            .unwrap();

        let document = ring.open_document(tenant, patient, &sealed).unwrap();

        assert_eq!(
            document,
            PhiDocument {
                contact: Contact {
                    phone: Some("+1 555 0100".to_owned()),
                    email: Some("ada@example.org".to_owned()),
                    address: None,
                },
                medical: Medical {
                    allergies: Some("penicillin; latex".to_owned()),
                    medications: None,
                    notes: Some("prefers morning visits — Zoë".to_owned()),
                },
            }
        );
        let resealed = ring.seal_document(tenant, patient, &document).unwrap();
        let plaintext = ring.open(tenant, patient, &resealed).unwrap();
        assert_eq!(
            String::from_utf8(plaintext).unwrap(),
            text("plaintext_as_written")
        );
    }
}
