//! The SeaORM entity of `audit_logs` (written only by database triggers and `record_read()`).

pub mod audit_log {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_logs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i64,
        /// The row's place in its clinic's hash chain (1, 2, 3, …): the clinic's order of
        /// writing, which the ids are not on Citus.
        pub chain_seq: i64,
        pub entity_name: String,
        pub entity_id: String,
        pub user_id: Option<Uuid>,
        /// The partner's API key that acted, if one did.
        pub api_key_id: Option<Uuid>,
        pub action: String,
        pub old_values: Option<Json>,
        pub new_values: Option<Json>,
        pub occurred_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
