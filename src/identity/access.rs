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
            ),
            Role::Provider => matches!(
                permission,
                ReadPatients
                    | WritePatients
                    | ReadContact
                    | WriteContact
                    | ReadMedical
                    | WriteMedical
            ),
            Role::BillingManager => matches!(permission, ReadPatients),
            Role::FrontDesk => matches!(
                permission,
                ReadPatients | WritePatients | ReadContact | WriteContact
            ),
        }
    }
}
