//! SeaORM entities of the webhook tables (schema.sql); `graphql.rs` decides what a client sees.

pub mod webhook_endpoint {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_endpoints")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub url: String,
        pub description: String,
        /// Stored event kinds: Booked, Rescheduled, StatusChanged, Cancelled, SlotFreed.
        pub event_kinds: Vec<String>,
        pub secret_ciphertext: Vec<u8>,
        pub previous_secret_ciphertext: Option<Vec<u8>>,
        pub previous_secret_expires_at: Option<DateTimeWithTimeZone>,
        /// Enabled or Disabled.
        pub state: String,
        pub disabled_reason: Option<String>,
        pub disabled_at: Option<DateTimeWithTimeZone>,
        /// The last event delivered (or passed over as a kind it does not want).
        pub last_event_id: i64,
        /// Consecutive failed attempts of the event after `last_event_id`.
        pub attempts: i32,
        pub failing_since: Option<DateTimeWithTimeZone>,
        pub next_attempt_at: DateTimeWithTimeZone,
        pub lease_owner: Option<Uuid>,
        pub lease_expires_at: Option<DateTimeWithTimeZone>,
        pub created_by: Option<Uuid>,
        pub is_deleted: bool,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod webhook_delivery {
    use sea_orm::entity::prelude::*;

    /// One delivery attempt.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key)]
        pub id: i64,
        pub endpoint_id: Uuid,
        pub event_id: i64,
        pub webhook_id: String,
        pub attempt: i32,
        pub attempted_at: DateTimeWithTimeZone,
        pub status_code: Option<i32>,
        pub latency_ms: i32,
        pub succeeded: bool,
        pub error: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
