//! Role-based access: who is acting, what each role may do, and what a partner's key may do. Every resolver asks
//! `Principal::require` before touching data, so this table is the whole policy; the RBAC
//! matrix test walks it cell by cell. Where a rule can be said in SQL it is said there too
//! (audit log reads, SystemAdmin placement, onboarding).

use uuid::Uuid;

use async_graphql::Enum;

use crate::foundation::db::TenantScope;
use crate::foundation::error::ApiError;
use crate::foundation::role::Role;

/// Who is acting on a request, as verified for it: a user (bearer token) or a partner system
/// (API key), always within one clinic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: Uuid,
    pub actor: Actor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    User {
        id: Uuid,
        role: Role,
    },
    /// A partner system. It acts for no user, so it holds no role: its scopes grant it a few
    /// permissions, none of which shows medical data or changes anything.
    ApiKey {
        id: Uuid,
        scopes: ApiKeyScopes,
    },
}

impl Principal {
    pub fn user(tenant_id: Uuid, user_id: Uuid, role: Role) -> Principal {
        Principal {
            tenant_id,
            actor: Actor::User { id: user_id, role },
        }
    }

    pub fn scope(&self) -> TenantScope {
        let (user_id, role, api_key_id) = match self.actor {
            Actor::User { id, role } => (Some(id), Some(role), None),
            Actor::ApiKey { id, .. } => (None, None, Some(id)),
        };
        TenantScope {
            tenant_id: self.tenant_id,
            user_id,
            role,
            api_key_id,
        }
    }

    pub fn may(&self, permission: Permission) -> bool {
        match self.actor {
            Actor::User { role, .. } => role.may(permission),
            Actor::ApiKey { scopes, .. } => scopes.may(permission),
        }
    }

    /// FORBIDDEN unless the principal's role (or, for an API key, its scopes) grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.may(permission) {
            return Ok(());
        }
        let who = match self.actor {
            Actor::User { role, .. } => format!("your role ({})", role.name()),
            Actor::ApiKey { .. } => "this API key".to_owned(),
        };
        Err(ApiError::forbidden(format!(
            "{who} may not {}",
            permission.description()
        )))
    }

    /// The signed-in user acting, or FORBIDDEN for an API key (which acts for no user).
    /// The acting user's role; `None` for an API key.
    pub fn role(&self) -> Option<Role> {
        match self.actor {
            Actor::User { role, .. } => Some(role),
            Actor::ApiKey { .. } => None,
        }
    }

    pub fn user_id(&self) -> Result<Uuid, ApiError> {
        match self.actor {
            Actor::User { id, .. } => Ok(id),
            Actor::ApiKey { .. } => Err(ApiError::forbidden(
                "an API key acts for no user; sign in as a user for this",
            )),
        }
    }
}

/// Something a role may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    ManageClinics,
    ManageUsers,
    ReadAuditLog,
    /// Names and dates of birth: the demographics everyone in a clinic works with.
    ReadPatients,
    /// Create patients and change their demographics.
    WritePatients,
    DeletePatients,
    ReadContact,
    WriteContact,
    ReadMedical,
    WriteMedical,
    /// Read the earlier versions of patients' contact and medical data.
    ReadPhiHistory,
    /// Take time-boxed access to the medical data of a patient outside one's care, with a reason.
    BreakGlass,
    /// Review the clinic's break-glass grants.
    ReviewBreakGlass,
    /// Assign providers to patients' care and end assignments.
    ManageCareTeams,
    ManageAppointmentTypes,
    ManageWorkingHours,
    /// See free slots, appointment types and the clinic's providers: the whole schedule.
    ReadSchedule,
    /// See appointments, and the provider and type each names.
    ReadAppointments,
    /// See the names of the patients of appointments reached through an appointment (not by
    /// browsing or searching patients, which is `ReadPatients`).
    ReadAppointmentPatients,
    /// Book, reschedule and cancel appointments.
    Book,
    /// Book outside a provider's working hours.
    OverrideWorkingHours,
    /// Record that a patient arrived or did not show up.
    RecordArrival,
    /// Start and complete visits.
    RecordVisit,
    /// See invoices, their ledger and receivables.
    ReadBilling,
    /// Record payments, refunds, write-offs and voids.
    PostPayments,
    /// Issue, list and revoke the clinic's API keys.
    ManageApiKeys,
    /// Follow appointment status changes (subscription or polling); ids and statuses, no PHI.
    FollowAppointmentEvents,
    /// Register, re-enable and replay the clinic's webhook endpoints and read their delivery log.
    ManageWebhooks,
    /// Enter and remove providers' time off.
    ManageTimeOff,
    /// Enter and remove closures of the whole clinic.
    ManageClosures,
    /// Book into a provider's time off or a clinic closure.
    OverrideTimeOff,
    /// Book an appointment that starts in the past.
    Backdate,
    /// Keep the clinic's list of cancellation reasons and the appointment types' cancellation
    /// policies (window, late-cancellation and no-show fees).
    ManageCancellationRules,
    /// Count the clinic's cancellations by category and reason.
    ReadCancellationReport,
    /// Add patients to the waitlist for an earlier slot, remove them, and see whom a freed slot
    /// fits.
    ManageWaitlist,
    /// Add, rename and remove the clinic's rooms and say what kind each is.
    ManageRooms,
}

impl Permission {
    fn description(self) -> &'static str {
        match self {
            Permission::ManageClinics => "manage clinics",
            Permission::ManageUsers => "manage users",
            Permission::ReadAuditLog => "read the audit log",
            Permission::ReadPatients => "read patients",
            Permission::WritePatients => "create or change patients",
            Permission::DeletePatients => "delete patients",
            Permission::ReadContact => "read patients' contact details",
            Permission::WriteContact => "change patients' contact details",
            Permission::ReadMedical => "read patients' medical information",
            Permission::WriteMedical => "change patients' medical information",
            Permission::ReadPhiHistory => "read the history of patients' contact and medical data",
            Permission::BreakGlass => "break glass to read a patient's medical data",
            Permission::ReviewBreakGlass => "review break-glass access",
            Permission::ManageCareTeams => "assign providers to patients' care",
            Permission::ManageAppointmentTypes => "manage appointment types",
            Permission::ManageWorkingHours => "set providers' working hours",
            Permission::ReadSchedule => "read the schedule",
            Permission::ReadAppointments => "read appointments",
            Permission::ReadAppointmentPatients => "read the patients of appointments",
            Permission::Book => "book, reschedule or cancel appointments",
            Permission::OverrideWorkingHours => "book outside a provider's working hours",
            Permission::RecordArrival => "record arrivals and no-shows",
            Permission::RecordVisit => "start or complete visits",
            Permission::ReadBilling => "read invoices",
            Permission::PostPayments => "post payments, refunds, write-offs or voids",
            Permission::ManageApiKeys => "manage API keys",
            Permission::FollowAppointmentEvents => "follow appointment status changes",
            Permission::ManageWebhooks => "manage webhooks",
            Permission::ManageTimeOff => "enter or remove providers' time off",
            Permission::ManageClosures => "enter or remove clinic closures",
            Permission::OverrideTimeOff => "book into time off or a closure",
            Permission::Backdate => "book an appointment that starts in the past",
            Permission::ManageCancellationRules => {
                "change cancellation reasons or cancellation policies"
            }
            Permission::ReadCancellationReport => "read the cancellation report",
            Permission::ManageWaitlist => "manage the waitlist",
            Permission::ManageRooms => "manage the clinic's rooms",
        }
    }
}

impl Role {
    /// The RBAC paragraph of DESIGN.md as a table: each role lists what it may do, so a new
    /// permission is granted to no one until added here. Deleting a patient hides their clinical
    /// history from everyone, so it is an administrator's act, not the front desk's.
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        match permission {
            // Reading appointments is part of reading the schedule, and a patient reached
            // through an appointment part of reading patients.
            ReadAppointments => return self.may(ReadSchedule),
            ReadAppointmentPatients => return self.may(ReadPatients),
            _ => {}
        }
        match self {
            Role::SystemAdmin => matches!(permission, ManageClinics),
            Role::ClinicAdmin => matches!(
                permission,
                ManageUsers
                    | ReadAuditLog
                    | ReadPatients
                    | WritePatients
                    | DeletePatients
                    | ReadContact
                    | WriteContact
                    | ReadMedical
                    | WriteMedical
                    | ReadPhiHistory
                    | ReviewBreakGlass
                    | ManageCareTeams
                    | ManageAppointmentTypes
                    | ManageWorkingHours
                    | ReadSchedule
                    | Book
                    | OverrideWorkingHours
                    | RecordArrival
                    | RecordVisit
                    | ReadBilling
                    | PostPayments
                    | ManageApiKeys
                    | FollowAppointmentEvents
                    | ManageWebhooks
                    | ManageTimeOff
                    | ManageClosures
                    | OverrideTimeOff
                    | Backdate
                    | ManageCancellationRules
                    | ReadCancellationReport
                    | ManageWaitlist
                    | ManageRooms
            ),
            Role::Provider => matches!(
                permission,
                ReadPatients
                    | WritePatients
                    | ReadContact
                    | WriteContact
                    | ReadMedical
                    | WriteMedical
                    | ReadPhiHistory
                    | BreakGlass
                    | ReadSchedule
                    | Book
                    | RecordArrival
                    | RecordVisit
                    | FollowAppointmentEvents
                    | ManageTimeOff
                    | ManageWaitlist
            ),
            Role::BillingManager => matches!(
                permission,
                ReadPatients
                    | ReadSchedule
                    | ReadBilling
                    | PostPayments
                    | FollowAppointmentEvents
                    | ReadCancellationReport
            ),
            Role::FrontDesk => matches!(
                permission,
                ReadPatients
                    | WritePatients
                    | ReadContact
                    | WriteContact
                    | ReadSchedule
                    | Book
                    | RecordArrival
                    | ReadBilling
                    | FollowAppointmentEvents
                    | ManageTimeOff
                    | ManageWaitlist
            ),
        }
    }
}

/// What a key may do, least privilege: grant a partner only the scopes it needs. Every scope
/// reads and none writes; no scope reads medical data, dates of birth, invoices or the audit
/// log, and every PHI read by a key is audited as a Read naming the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ApiKeyScope {
    /// Follow appointment changes: the `appointmentStatusChanged` subscription and the
    /// `appointmentEvents` query (ids, times and statuses, no names or contact details).
    AppointmentEvents,
    /// Read appointments (`appointment`, `appointments`) and the provider and type each names.
    /// Not the patient (PATIENT_CONTACT), free slots, the providers list or appointment types.
    Appointments,
    /// Read the name and contact details (phone, email, address) of the patient of an
    /// appointment, through `Appointment.patient`: what a reminder service needs, with
    /// APPOINTMENTS to reach the appointments. Never medical data or the date of birth, and
    /// never by browsing or searching patients. Each patient's contact details read are audited.
    PatientContact,
}

impl ApiKeyScope {
    const ALL: [ApiKeyScope; 3] = [
        ApiKeyScope::AppointmentEvents,
        ApiKeyScope::Appointments,
        ApiKeyScope::PatientContact,
    ];

    /// The name stored in `tenant_api_keys.scopes` (schema.sql checks the same list).
    pub fn name(self) -> &'static str {
        match self {
            ApiKeyScope::AppointmentEvents => "AppointmentEvents",
            ApiKeyScope::Appointments => "Appointments",
            ApiKeyScope::PatientContact => "PatientContact",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            ApiKeyScope::AppointmentEvents => permission == FollowAppointmentEvents,
            ApiKeyScope::Appointments => permission == ReadAppointments,
            ApiKeyScope::PatientContact => {
                matches!(permission, ReadAppointmentPatients | ReadContact)
            }
        }
    }
}

/// A set of scopes, small enough to copy with the principal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApiKeyScopes(u8);

impl ApiKeyScopes {
    /// The known scopes among stored names (an unknown name grants nothing).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> ApiKeyScopes {
        let names: Vec<&str> = names.into_iter().collect();
        ApiKeyScopes(
            ApiKeyScope::ALL
                .into_iter()
                .filter(|scope| names.contains(&scope.name()))
                .fold(0, |bits, scope| bits | scope.bit()),
        )
    }

    pub fn list(self) -> Vec<ApiKeyScope> {
        ApiKeyScope::ALL
            .into_iter()
            .filter(|scope| self.0 & scope.bit() != 0)
            .collect()
    }

    pub fn may(self, permission: Permission) -> bool {
        self.list()
            .into_iter()
            .any(|scope| scope.grants(permission))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_grant_only_their_permissions() {
        let scopes = ApiKeyScopes::from_names(["AppointmentEvents", "Unknown"]);
        assert_eq!(scopes.list(), vec![ApiKeyScope::AppointmentEvents]);
        assert!(scopes.may(Permission::FollowAppointmentEvents));
        assert!(!scopes.may(Permission::ReadPatients));
        assert!(!ApiKeyScopes::default().may(Permission::FollowAppointmentEvents));
    }

    #[test]
    fn no_scope_reads_medical_data_or_changes_anything() {
        use Permission::*;
        let every = ApiKeyScopes::from_names(ApiKeyScope::ALL.map(ApiKeyScope::name));
        assert_eq!(every.list(), ApiKeyScope::ALL);
        for permission in [
            ManageClinics,
            ManageUsers,
            ReadAuditLog,
            ReadPatients,
            WritePatients,
            DeletePatients,
            WriteContact,
            ReadMedical,
            WriteMedical,
            ManageAppointmentTypes,
            ManageWorkingHours,
            ReadSchedule,
            Book,
            OverrideWorkingHours,
            RecordArrival,
            RecordVisit,
            ReadBilling,
            PostPayments,
            ManageApiKeys,
            ManageWebhooks,
            ManageCancellationRules,
            ReadCancellationReport,
        ] {
            assert!(!every.may(permission), "no key may {permission:?}");
        }
        for permission in [
            FollowAppointmentEvents,
            ReadAppointments,
            ReadAppointmentPatients,
            ReadContact,
        ] {
            assert!(every.may(permission), "some scope grants {permission:?}");
        }
    }

    #[test]
    fn roles_read_appointments_with_the_schedule_and_their_patients_with_patients() {
        use Permission::*;
        for role in [
            Role::SystemAdmin,
            Role::ClinicAdmin,
            Role::Provider,
            Role::BillingManager,
            Role::FrontDesk,
        ] {
            assert_eq!(role.may(ReadAppointments), role.may(ReadSchedule));
            assert_eq!(role.may(ReadAppointmentPatients), role.may(ReadPatients));
        }
    }
}
