//! SeaORM entities of the scheduling tables; `graphql.rs` decides what a client sees.

pub mod appointment_type {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "appointment_types")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub duration_minutes: i32,
        pub price: Decimal,
        pub is_deleted: bool,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod appointment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "appointments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub patient_id: Uuid,
        pub provider_id: Uuid,
        pub type_id: Uuid,
        pub start_time: DateTimeWithTimeZone,
        pub end_time: DateTimeWithTimeZone,
        pub status: String,
        pub cancel_reason: Option<String>,
        /// Why it was cancelled, as a category (null on appointments cancelled before categories).
        pub cancel_reason_category: Option<String>,
        /// The type's price when booked.
        pub price: Decimal,
        /// Bumped by a trigger on every update: the optimistic-concurrency version.
        pub row_version: i64,
        /// Booked by a ClinicAdmin outside the provider's working hours.
        pub booked_outside_hours: bool,
        pub is_deleted: bool,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
    }

    /// What an appointment refers to, within its clinic: a page of appointments reads them in
    /// the same query (`store::list_appointments_with_references`).
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "crate::patients::entity::patient::Entity",
            from = "(Column::TenantId, Column::PatientId)",
            to = "(crate::patients::entity::patient::Column::TenantId, crate::patients::entity::patient::Column::Id)"
        )]
        Patient,
        #[sea_orm(
            belongs_to = "super::appointment_type::Entity",
            from = "(Column::TenantId, Column::TypeId)",
            to = "(super::appointment_type::Column::TenantId, super::appointment_type::Column::Id)"
        )]
        Type,
    }

    impl Related<crate::patients::entity::patient::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Patient.def()
        }
    }

    impl Related<super::appointment_type::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Type.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod appointment_event {
    use sea_orm::entity::prelude::*;

    /// One change of an appointment (booking, reschedule, status change, cancellation), as
    /// schema.sql records it; `id` is the clinic's own event number, in commit order. Ids, times
    /// and statuses: no names or contact details.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "appointment_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i64,
        pub appointment_id: Uuid,
        pub provider_id: Uuid,
        pub old_status: Option<String>,
        pub new_status: String,
        pub occurred_at: DateTimeWithTimeZone,
        /// Booked, Rescheduled, StatusChanged or Cancelled.
        pub kind: String,
        pub patient_id: Uuid,
        pub type_id: Uuid,
        /// The appointment's times after the change.
        pub starts_at: DateTimeWithTimeZone,
        pub ends_at: DateTimeWithTimeZone,
        /// The times before a reschedule; null for any other kind.
        pub previous_starts_at: Option<DateTimeWithTimeZone>,
        pub previous_ends_at: Option<DateTimeWithTimeZone>,
        /// A cancellation's category and reason; null for any other kind.
        pub cancel_reason_category: Option<String>,
        pub cancel_reason: Option<String>,
        /// User, ApiKey or System: who made the change.
        pub actor_kind: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
