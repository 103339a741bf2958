//! The SeaORM entity of `invoices`; journal entries and ledger lines are read and written with
//! plain SQL in `store.rs` (their transaction-id column has no SeaORM type, and they are only
//! ever inserted and summed).

pub mod invoice {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invoices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub appointment_id: Uuid,
        pub total_amount: Decimal,
        pub status: String,
        /// An `InvoiceKind` name: a visit, or a late-cancellation or no-show fee.
        pub kind: String,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
