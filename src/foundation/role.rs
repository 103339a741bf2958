use async_graphql::Enum;

/// The static roles of the `roles` table. The database receives the role's name as `app.role`
/// (policies such as the tenants table's key on it), so names here and in SQL must agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enum)]
pub enum Role {
    /// Platform operator: onboards clinics and their first ClinicAdmin; sees no PHI.
    SystemAdmin,
    /// Manages a clinic's users, appointment types, API keys, and reads its audit log.
    ClinicAdmin,
    /// Clinical work: patients including medical PHI, own schedule, status changes.
    Provider,
    /// Invoices, payments, refunds and voids; patient names but no PHI.
    BillingManager,
    /// Demographics and contact details, booking; no medical PHI, no billing writes.
    FrontDesk,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::SystemAdmin,
        Role::ClinicAdmin,
        Role::Provider,
        Role::BillingManager,
        Role::FrontDesk,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::SystemAdmin => "SystemAdmin",
            Role::ClinicAdmin => "ClinicAdmin",
            Role::Provider => "Provider",
            Role::BillingManager => "BillingManager",
            Role::FrontDesk => "FrontDesk",
        }
    }

    /// The role's primary key in the `roles` table.
    pub fn id(self) -> i16 {
        match self {
            Role::SystemAdmin => 1,
            Role::ClinicAdmin => 2,
            Role::Provider => 3,
            Role::BillingManager => 4,
            Role::FrontDesk => 5,
        }
    }

    pub fn from_id(id: i16) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.id() == id)
    }

    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == name)
    }
}
