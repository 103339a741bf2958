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
        /// The kind of room a visit of this type needs; null: none.
        pub room_kind: Option<String>,
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
        /// The clinic's cancellation reason it was cancelled for, if one was named.
        pub cancel_reason_id: Option<Uuid>,
        /// The type's price when booked.
        pub price: Decimal,
        /// Bumped by a trigger on every update: the optimistic-concurrency version.
        pub row_version: i64,
        /// Booked by a ClinicAdmin outside the provider's working hours.
        pub booked_outside_hours: bool,
        pub is_deleted: bool,
        /// The series `bookSeries` booked it in, if any.
        pub series_id: Option<Uuid>,
        /// Booked by a ClinicAdmin into the provider's time off or a clinic closure.
        pub booked_over_time_off: bool,
        /// Booked by a ClinicAdmin to start in the past (backdated).
        pub booked_in_the_past: bool,
        /// The ClinicAdmin's reason for an override; required with either flag above.
        pub override_reason: Option<String>,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
        /// The room the visit holds, if any: never double-booked, like the provider.
        pub room_id: Option<Uuid>,
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
        /// Booked, Rescheduled, StatusChanged, Cancelled or SlotFreed.
        pub kind: String,
        /// Null for SlotFreed, which names no patient.
        pub patient_id: Option<Uuid>,
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

pub mod time_off {
    use sea_orm::entity::prelude::*;

    /// A provider's time off, or (no provider) a closure of the whole clinic, as the instants
    /// `[starts_at, ends_at)`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "time_off")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Null for a clinic closure.
        pub provider_id: Option<Uuid>,
        pub starts_at: DateTimeWithTimeZone,
        pub ends_at: DateTimeWithTimeZone,
        pub reason: String,
        pub created_by: Option<Uuid>,
        pub is_deleted: bool,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod provider_day_hours {
    use sea_orm::entity::prelude::*;

    /// The hours a provider works on `day` instead of the weekly hours of its weekday, in the
    /// stored format of `users.working_hours` (`identity::read_stored_week`).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "provider_day_hours")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub provider_id: Uuid,
        pub day: Date,
        pub periods: Json,
        pub is_deleted: bool,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod appointment_series {
    use sea_orm::entity::prelude::*;

    /// What `bookSeries` was asked for; its occurrences are appointments naming it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "appointment_series")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub patient_id: Uuid,
        pub provider_id: Uuid,
        pub type_id: Uuid,
        pub first_start: DateTimeWithTimeZone,
        pub every_weeks: i32,
        /// Monday … Sunday, as `identity::DayOfWeek` names them in working hours.
        pub weekdays: Vec<String>,
        pub occurrences: i32,
        pub created_by: Option<Uuid>,
        pub created_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod cancellation_reason {
    use sea_orm::entity::prelude::*;

    /// One of a clinic's reasons for cancelling: a category and a label. Retired rather than
    /// removed, since the appointments cancelled for it still name it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "cancellation_reasons")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// A `CancellationCategory` name.
        pub category: String,
        pub label: String,
        pub retired_at: Option<DateTimeWithTimeZone>,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod cancellation_policy {
    use sea_orm::entity::prelude::*;

    /// An appointment type's cancellation policy: the window before the start (in hours, on the
    /// clinic's clock) inside which a patient's cancellation is late, and the fees.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "cancellation_policies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub appointment_type_id: Uuid,
        pub window_hours: i32,
        pub late_cancellation_fee: Decimal,
        pub no_show_fee: Decimal,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod waitlist_entry {
    use sea_orm::entity::prelude::*;

    /// A patient waiting for an earlier slot: with one provider (or any), for one type, inside
    /// `[earliest, latest)`. Removed or booked from, it is soft-deleted.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "waitlist_entries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub patient_id: Uuid,
        /// Null: any provider.
        pub provider_id: Option<Uuid>,
        pub type_id: Uuid,
        pub earliest: DateTimeWithTimeZone,
        pub latest: DateTimeWithTimeZone,
        pub notes: String,
        pub created_by: Option<Uuid>,
        /// The appointment booked from it, when it was.
        pub booked_appointment_id: Option<Uuid>,
        pub is_deleted: bool,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod room {
    use sea_orm::entity::prelude::*;

    /// One of the clinic's rooms; `kind` is what an appointment type can require. Removed, it is
    /// soft-deleted, and the appointments that held it still name it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rooms")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub kind: Option<String>,
        pub is_deleted: bool,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
