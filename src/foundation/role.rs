use async_graphql::Enum;

/// The static roles of the `roles` table. The database receives the role's name as `app.role`
/// (policies such as the tenants table's key on it), so names here and in SQL must agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enum)]
pub enum Role {
    /// Platform operator: onboards clinics and their first ClinicAdmin; sees no PHI.
    SystemAdmin,
    /// Runs one clinic: may do everything its other roles may, and alone manages its users,
    /// appointment types, working hours and API keys, deletes patients, books outside working
    /// hours and reads the audit log.
    ClinicAdmin,
    /// Clinical work: patients including contact details and medical PHI, the clinic's schedule,
    /// booking, arrivals and visits; no billing.
    Provider,
    /// Reads invoices and the schedule, and posts payments, refunds, write-offs and voids; sees
    /// patient names and dates of birth but no contact details or medical PHI.
    BillingManager,
    /// Patients' demographics and contact details, booking, arrivals and no-shows, and reading
    /// invoices; no medical PHI, no payments.
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
