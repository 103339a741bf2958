//! Role-based access: who is acting, and what each role may do. Every resolver asks
//! `Principal::require` before touching data, so this table is the whole policy; the RBAC
//! matrix test walks it cell by cell. Where a rule can be said in SQL it is said there too
//! (audit log reads, SystemAdmin placement, onboarding).

use uuid::Uuid;

use crate::identity::Role;
use crate::platform::db::TenantScope;
use crate::platform::error::ApiError;

/// An authenticated user, as verified for the current request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
}

impl Principal {
    pub fn scope(&self) -> TenantScope {
        TenantScope {
            tenant_id: self.tenant_id,
            user_id: Some(self.user_id),
            role: self.role,
        }
    }

    /// FORBIDDEN unless the principal's role grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.may(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "your role ({}) may not {}",
                self.role.name(),
                permission.description()
            )))
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
    ManageAppointmentTypes,
    ManageWorkingHours,
    /// See appointments, free slots and who they are with.
    ReadSchedule,
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
            Permission::ManageAppointmentTypes => "manage appointment types",
            Permission::ManageWorkingHours => "set providers' working hours",
            Permission::ReadSchedule => "read the schedule",
            Permission::Book => "book, reschedule or cancel appointments",
            Permission::OverrideWorkingHours => "book outside a provider's working hours",
            Permission::RecordArrival => "record arrivals and no-shows",
            Permission::RecordVisit => "start or complete visits",
            Permission::ReadBilling => "read invoices",
            Permission::PostPayments => "post payments, refunds, write-offs or voids",
        }
    }
}

impl Role {
    /// The RBAC paragraph of DESIGN.md as a table: each role lists what it may do, so a new
    /// permission is granted to no one until added here. Deleting a patient hides their clinical
    /// history from everyone, so it is an administrator's act, not the front desk's.
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
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
                    | ManageAppointmentTypes
                    | ManageWorkingHours
                    | ReadSchedule
                    | Book
                    | OverrideWorkingHours
                    | RecordArrival
                    | RecordVisit
                    | ReadBilling
                    | PostPayments
            ),
            Role::Provider => matches!(
                permission,
                ReadPatients
                    | WritePatients
                    | ReadContact
                    | WriteContact
                    | ReadMedical
                    | WriteMedical
                    | ReadSchedule
                    | Book
                    | RecordArrival
                    | RecordVisit
            ),
            Role::BillingManager => matches!(
                permission,
                ReadPatients | ReadSchedule | ReadBilling | PostPayments
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
            ),
        }
    }
}
