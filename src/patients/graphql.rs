//! Patients over GraphQL. Names and dates of birth are plain columns; contact details and
//! medical information are decrypted only when a role allowed to see that section asks for it,
//! and every such read is audited.

use std::sync::{Arc, OnceLock};

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::foundation::access::Permission;
use crate::foundation::error::ApiError;
use crate::foundation::global_id::node_id;
use crate::foundation::input::optional_line;
use crate::foundation::paging::{PageRequest, connection};
use crate::foundation::session::{Session, session};
use crate::patients::care_team;
use crate::patients::care_team_graphql::care_policy;
use crate::patients::entity::{patient, patient_phi_version};
use crate::patients::history::{self, PhiSection};
use crate::patients::model::{Contact, Medical, PhiDocument, date_of_birth, person_name};
use crate::patients::phi::{PhiError, PhiKeyring};
use crate::patients::store::{self, NewPatient, PatientChanges, PatientFilter};

/// The entity name PHI reads are audited under (the table's name, as the audit trigger uses).
const AUDITED_ENTITY: &str = "patients";

pub struct Patient {
    model: patient::Model,
    /// Decrypted at most once per request, however many PHI fields are asked for.
    document: OnceLock<Option<PhiDocument>>,
}

impl Patient {
    pub fn new(model: patient::Model) -> Patient {
        Patient {
            model,
            document: OnceLock::new(),
        }
    }

    fn document(&self, ctx: &Context<'_>) -> Result<&PhiDocument, ApiError> {
        let keyring = keyring(ctx)?;
        self.document
            .get_or_init(|| {
                open_document(keyring, &self.model)
                    .inspect_err(|error| {
                        tracing::error!(patient_id = %self.model.id, %error, "PHI does not decrypt");
                    })
                    .ok()
            })
            .as_ref()
            .ok_or_else(|| {
                ApiError::internal_with(
                    "this patient's protected data could not be decrypted; the incident is logged",
                )
            })
    }

    /// Decrypts the `section` that `permission` guards, audits the read and returns the
    /// document.
    fn read_section(
        &self,
        ctx: &Context<'_>,
        permission: Permission,
        section: &'static str,
    ) -> Result<&PhiDocument, ApiError> {
        let session = session(ctx)?;
        session.require(permission)?;
        let document = self.document(ctx)?;
        session.record_read(AUDITED_ENTITY, section, self.model.id);
        Ok(document)
    }
}

fn open_document(keyring: &PhiKeyring, model: &patient::Model) -> Result<PhiDocument, PhiError> {
    match &model.phi_data {
        None => Ok(PhiDocument::default()),
        Some(sealed) => keyring.open_document(model.tenant_id, model.id, sealed),
    }
}

/// A person registered with the clinic. Names and date of birth are shown to every role that
/// may read patients (ClinicAdmin, Provider, BillingManager, FrontDesk); `contact` and `medical`
/// are encrypted PHI, decrypted only for the roles allowed each, and every such read is audited.
/// An API key with scope PATIENT_CONTACT reaches a patient only through `Appointment.patient`
/// and sees the names and `contact` alone.
#[Object]
impl Patient {
    /// The patient's id, stable for the life of the record.
    async fn id(&self) -> Uuid {
        self.model.id
    }

    /// The patient's global id, for `node(id:)` (Relay's object identification); opaque.
    pub async fn node_id(&self) -> ID {
        node_id::<Patient>(self.model.id)
    }

    /// Given name as entered (trimmed, one line, at most 100 characters). Audited: a request's
    /// patients whose names or dates of birth it showed are one `Read` row (`shown: ["identity"]`).
    async fn first_name(&self, ctx: &Context<'_>) -> Result<&str, ApiError> {
        session(ctx)?.record_identity_read(self.model.id);
        Ok(&self.model.first_name)
    }

    /// Family name as entered (trimmed, one line, at most 100 characters). Audited as `firstName`.
    async fn last_name(&self, ctx: &Context<'_>) -> Result<&str, ApiError> {
        session(ctx)?.record_identity_read(self.model.id);
        Ok(&self.model.last_name)
    }

    /// Date of birth: a calendar date (YYYY-MM-DD) with no time or time zone. Every role that
    /// reads patients; FORBIDDEN for an API key, which needs only names and contact details.
    /// Audited as `firstName`.
    async fn date_of_birth(&self, ctx: &Context<'_>) -> Result<NaiveDate, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadPatients)?;
        session.record_identity_read(self.model.id);
        Ok(self.model.dob)
    }

    /// Phone, email, address. FrontDesk, Provider, ClinicAdmin and API keys with scope
    /// PATIENT_CONTACT; each read is audited (naming the key, for a key). For other roles, a
    /// FORBIDDEN error and no value.
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>, ApiError> {
        Ok(Some(
            self.read_section(ctx, Permission::ReadContact, "contact")?
                .contact
                .clone(),
        ))
    }

    /// Allergies, medications, notes. ClinicAdmin, and a Provider for the patients in their care
    /// (an appointment with them within the care window, or assigned to them) or after
    /// `breakGlass`; each read is audited. For others and every API key, a FORBIDDEN error and
    /// no value.
    async fn medical(&self, ctx: &Context<'_>) -> Result<Option<Medical>, ApiError> {
        care_team::require_medical_access(
            session(ctx)?,
            care_policy(ctx)?,
            Permission::ReadMedical,
            self.model.id,
        )
        .await?;
        Ok(Some(
            self.read_section(ctx, Permission::ReadMedical, "medical")?
                .medical
                .clone(),
        ))
    }

    /// The earlier versions of the patient's contact and medical data, newest first: one per
    /// change, each as it was before that change (version 1 is what the patient was registered
    /// with). ClinicAdmin, and a Provider as for `medical`; each read is audited
    /// (`shown: ["history"]`).
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<PatientVersion>, ApiError> {
        let session = session(ctx)?;
        care_team::require_medical_access(
            session,
            care_policy(ctx)?,
            Permission::ReadPhiHistory,
            self.model.id,
        )
        .await?;
        let keyring = keyring(ctx)?;
        let versions = history::versions(session.db(), session.tenant_id(), self.model.id)
            .await?
            .into_iter()
            .map(|version| PatientVersion::open(keyring, version))
            .collect::<Result<Vec<_>, _>>()?;
        session.record_read(AUDITED_ENTITY, "history", self.model.id);
        Ok(versions)
    }

    /// When the patient was registered (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at.into()
    }

    /// When the patient's names, date of birth, contact or medical details last changed (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at.into()
    }
}

pub struct PatientVersion {
    model: patient_phi_version::Model,
    document: PhiDocument,
}

impl PatientVersion {
    fn open(keyring: &PhiKeyring, model: patient_phi_version::Model) -> Result<Self, ApiError> {
        let document = match &model.phi_data {
            None => PhiDocument::default(),
            Some(sealed) => keyring
                .open_document(model.tenant_id, model.patient_id, sealed)
                .map_err(|error| {
                    tracing::error!(patient_id = %model.patient_id, version = model.version, %error,
                        "an earlier PHI version does not decrypt");
                    ApiError::internal_with(
                        "an earlier version of this patient's protected data could not be \
                         decrypted; the incident is logged",
                    )
                })?,
        };
        Ok(PatientVersion { model, document })
    }
}

/// One earlier version of a patient's contact and medical data, as it was until a change
/// replaced it.
#[Object]
impl PatientVersion {
    /// 1 for the data the patient was registered with, one more for each later change.
    async fn version(&self) -> i32 {
        self.model.version
    }

    /// When a change replaced this version (UTC).
    async fn superseded_at(&self) -> DateTime<Utc> {
        self.model.superseded_at.into()
    }

    /// The user whose change replaced it; null for the platform's own work.
    async fn superseded_by(&self) -> Option<Uuid> {
        self.model.superseded_by
    }

    /// The sections the change replaced.
    async fn changed_sections(&self) -> Vec<PhiSection> {
        self.model
            .changed_sections
            .iter()
            .filter_map(|name| PhiSection::from_stored(name))
            .collect()
    }

    /// The contact details as they were.
    async fn contact(&self) -> &Contact {
        &self.document.contact
    }

    /// The medical information as it was.
    async fn medical(&self) -> &Medical {
        &self.document.medical
    }
}

/// A patient's contact details, stored encrypted. Given as a whole: a field left out, null or
/// blank is recorded as no value. FrontDesk, Provider and ClinicAdmin may set it.
#[derive(InputObject)]
pub struct ContactInput {
    /// Phone number: digits, spaces and + - ( ) . / only, at most 40 characters.
    pub phone: Option<String>,
    /// Email address like name@example.org, at most 254 characters.
    pub email: Option<String>,
    /// Postal address; line breaks allowed, at most 500 characters.
    pub address: Option<String>,
}

/// A patient's medical information, stored encrypted. Given as a whole: a field left out, null
/// or blank is recorded as no value. Provider and ClinicAdmin only.
#[derive(InputObject)]
pub struct MedicalInput {
    /// Known allergies, free text with line breaks, at most 2,000 characters.
    pub allergies: Option<String>,
    /// Current medications, free text with line breaks, at most 2,000 characters.
    pub medications: Option<String>,
    /// Clinical notes, free text with line breaks, at most 10,000 characters.
    pub notes: Option<String>,
}

/// A new patient. Names and date of birth are required; contact and medical details are
/// optional and each needs a role allowed to change them.
#[derive(InputObject)]
pub struct CreatePatientInput {
    /// Given name: one line, trimmed, 1 to 100 characters.
    pub first_name: String,
    /// Family name: one line, trimmed, 1 to 100 characters.
    pub last_name: String,
    /// A calendar date (YYYY-MM-DD, no time zone), not before 1900-01-01 and not in the future.
    pub date_of_birth: NaiveDate,
    /// Needs a role that may change contact details.
    pub contact: Option<ContactInput>,
    /// Needs a role that may change medical information.
    pub medical: Option<MedicalInput>,
}

/// Fields left out keep their value; a section given replaces that whole section.
#[derive(InputObject)]
pub struct UpdatePatientInput {
    /// The patient to change; NOT_FOUND if unknown, deleted or another clinic's.
    pub id: Uuid,
    /// New given name (one line, 1 to 100 characters); left out or null keeps the current one.
    pub first_name: Option<String>,
    /// New family name (one line, 1 to 100 characters); left out or null keeps the current one.
    pub last_name: Option<String>,
    /// New calendar date of birth (1900-01-01 to today); left out or null keeps the current one.
    pub date_of_birth: Option<NaiveDate>,
    /// Replaces all contact details (FrontDesk, Provider, ClinicAdmin; FORBIDDEN for others);
    /// left out or null keeps them.
    pub contact: Option<ContactInput>,
    /// Replaces all medical information (Provider, ClinicAdmin; FORBIDDEN for others); left out
    /// or null keeps it.
    pub medical: Option<MedicalInput>,
}

impl ContactInput {
    fn parse(&self, field: &str) -> Result<Contact, ApiError> {
        Contact::parse(
            field,
            self.phone.as_deref(),
            self.email.as_deref(),
            self.address.as_deref(),
        )
    }
}

impl MedicalInput {
    fn parse(&self, field: &str) -> Result<Medical, ApiError> {
        Medical::parse(
            field,
            self.allergies.as_deref(),
            self.medications.as_deref(),
            self.notes.as_deref(),
        )
    }
}

/// Checks the section permissions for what the input touches, then validates it.
fn parse_sections(
    session: &Session,
    contact: Option<&ContactInput>,
    medical: Option<&MedicalInput>,
) -> Result<(Option<Contact>, Option<Medical>), ApiError> {
    if contact.is_some() {
        session.require(Permission::WriteContact)?;
    }
    if medical.is_some() {
        session.require(Permission::WriteMedical)?;
    }
    Ok((
        contact.map(|c| c.parse("input.contact")).transpose()?,
        medical.map(|m| m.parse("input.medical")).transpose()?,
    ))
}

fn seal(
    keyring: &PhiKeyring,
    tenant_id: Uuid,
    patient_id: Uuid,
    document: &PhiDocument,
) -> Result<Vec<u8>, ApiError> {
    keyring
        .seal_document(tenant_id, patient_id, document)
        .map_err(|e| ApiError::internal_from(&e))
}

fn keyring<'a>(ctx: &Context<'a>) -> Result<&'a Arc<PhiKeyring>, ApiError> {
    ctx.data::<Arc<PhiKeyring>>()
        .map_err(|_| ApiError::internal())
}

/// The clinic's live patient `id`, for those who may read patients (`patient(id:)` and `node`).
pub async fn find_patient(session: &Session, id: Uuid) -> Result<Option<Patient>, ApiError> {
    session.require(Permission::ReadPatients)?;
    Ok(store::find(session.db(), session.tenant_id(), id)
        .await?
        .map(Patient::new))
}

#[derive(Default)]
pub struct PatientsQuery;

#[Object]
impl PatientsQuery {
    /// One patient of the clinic; NOT_FOUND for unknown, deleted and other clinics' ids alike.
    /// ClinicAdmin, Provider, BillingManager and FrontDesk.
    async fn patient(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The patient's id.")] id: Uuid,
    ) -> Result<Patient, ApiError> {
        find_patient(session(ctx)?, id)
            .await?
            .ok_or_else(|| ApiError::not_found("patient"))
    }

    /// The clinic's patients by last name, then first name. `search` matches the start of the
    /// name in either order ("lov", "ada lov", "lovelace a"), ignoring case and accents.
    /// Deleted patients are never listed. ClinicAdmin, Provider, BillingManager and FrontDesk.
    #[graphql(complexity = "crate::foundation::paging::complexity(first, child_complexity)")]
    async fn patients(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The start of the patient's name, first or last name first, at most 100 characters; null or blank lists all."
        )]
        search: Option<String>,
        #[graphql(desc = "Only patients born on this calendar date (YYYY-MM-DD).")]
        date_of_birth: Option<NaiveDate>,
        #[graphql(desc = "How many patients to return: 1 to 100; 20 if null.")] first: Option<i32>,
        #[graphql(
            desc = "The opaque `endCursor` of the previous page, for the page after it; null for the first page."
        )]
        after: Option<String>,
    ) -> Result<Connection<String, Patient>, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::ReadPatients)?;
        let page = PageRequest::<(String, Uuid)>::new(first, after.as_deref())?;
        let filter = PatientFilter {
            name_prefix: optional_line("search", search.as_deref(), 100)?,
            dob: date_of_birth,
        };
        let models = store::list(
            session.db(),
            session.tenant_id(),
            &filter,
            page.after.as_ref(),
            page.limit(),
        )
        .await?;
        let node = ctx.look_ahead().field("edges").field("node");
        if node.field("medical").exists() || node.field("history").exists() {
            care_team::prime(session, models.iter().map(|model| model.id)).await?;
        }
        let rows = models
            .into_iter()
            .map(|model| ((model.search_name.clone(), model.id), Patient::new(model)))
            .collect();
        Ok(connection(&page, rows))
    }
}

#[derive(Default)]
pub struct PatientsMutation;

#[Object]
impl PatientsMutation {
    /// Registers a patient. FrontDesk, Provider, ClinicAdmin (medical: Provider, ClinicAdmin).
    async fn create_patient(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new patient's details.")] input: CreatePatientInput,
    ) -> Result<Patient, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::WritePatients)?;
        let first_name = person_name("input.firstName", &input.first_name)?;
        let last_name = person_name("input.lastName", &input.last_name)?;
        let dob = date_of_birth("input.dateOfBirth", input.date_of_birth)?;
        let (contact, medical) =
            parse_sections(session, input.contact.as_ref(), input.medical.as_ref())?;
        let document = PhiDocument {
            contact: contact.unwrap_or_default(),
            medical: medical.unwrap_or_default(),
        };
        let tenant_id = session.principal.tenant_id;
        let id = Uuid::new_v4();
        let phi_data = seal(keyring(ctx)?, tenant_id, id, &document)?;
        let model = store::insert(
            session.db(),
            NewPatient {
                tenant_id,
                id,
                first_name,
                last_name,
                dob,
                phi_data,
            },
        )
        .await?;
        Ok(Patient::new(model))
    }

    /// Changes a patient. Same roles as `createPatient`.
    async fn update_patient(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The patient and the details to change.")] input: UpdatePatientInput,
    ) -> Result<Patient, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::WritePatients)?;
        let mut changes = PatientChanges {
            first_name: input
                .first_name
                .as_deref()
                .map(|name| person_name("input.firstName", name))
                .transpose()?,
            last_name: input
                .last_name
                .as_deref()
                .map(|name| person_name("input.lastName", name))
                .transpose()?,
            dob: input
                .date_of_birth
                .map(|dob| date_of_birth("input.dateOfBirth", dob))
                .transpose()?,
            phi_data: None,
        };
        let (contact, medical) =
            parse_sections(session, input.contact.as_ref(), input.medical.as_ref())?;
        let existing = store::find(session.db(), session.tenant_id(), input.id)
            .await?
            .ok_or_else(|| ApiError::not_found("patient"))?;
        if contact.is_some() || medical.is_some() {
            // The untouched section is carried over without being shown to the caller.
            let keyring = keyring(ctx)?;
            let mut document =
                open_document(keyring, &existing).map_err(|e| ApiError::internal_from(&e))?;
            let before = document.clone();
            if let Some(contact) = contact {
                document.contact = contact;
            }
            if let Some(medical) = medical {
                document.medical = medical;
            }
            let changed = history::changed_sections(&before, &document);
            if !changed.is_empty() {
                history::keep_superseded(session.db(), &existing, &changed).await?;
            }
            changes.phi_data = Some(seal(keyring, existing.tenant_id, existing.id, &document)?);
        }
        if !store::update(session.db(), session.tenant_id(), input.id, changes).await? {
            return Err(ApiError::not_found("patient"));
        }
        store::find(session.db(), session.tenant_id(), input.id)
            .await?
            .map(Patient::new)
            .ok_or_else(|| ApiError::not_found("patient"))
    }

    /// Removes a patient from every list and lookup; the row stays for the audit trail.
    /// ClinicAdmin only. Returns the id.
    async fn delete_patient(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The patient to delete; NOT_FOUND if unknown, already deleted or another clinic's."
        )]
        id: Uuid,
    ) -> Result<Uuid, ApiError> {
        let session = session(ctx)?;
        session.require(Permission::DeletePatients)?;
        if !store::soft_delete(session.db(), session.tenant_id(), id).await? {
            return Err(ApiError::not_found("patient"));
        }
        Ok(id)
    }
}
