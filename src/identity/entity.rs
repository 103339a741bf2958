//! SeaORM entities of the identity tables. Not GraphQL types: `graphql.rs` chooses what to show,
//! so a new column (a password hash, say) never reaches the API by accident.

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub username: String,
        pub password_hash: String,
        pub role_id: i16,
        pub is_active: bool,
        /// Goes up with every password change; tokens of older versions are refused.
        pub credential_version: i32,
        pub is_deleted: bool,
        pub created_at: DateTimeWithTimeZone,
        pub updated_at: DateTimeWithTimeZone,
        /// A provider's weekly hours, as `scheduling::WorkingHours` writes them.
        pub working_hours: Json,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod tenant {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub slug: String,
        pub is_active: bool,
        pub is_platform: bool,
        pub time_zone: String,
        pub created_at: DateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod api_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenant_api_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        /// The public part of the key (`hpms_<clinic id><key id>`), shown in listings.
        pub key_prefix: String,
        /// The secret part, sealed by `ApiKeyVault`.
        pub secret_ciphertext: Vec<u8>,
        pub scopes: Vec<String>,
        pub created_by: Option<Uuid>,
        pub created_at: DateTimeWithTimeZone,
        pub last_used_at: Option<DateTimeWithTimeZone>,
        pub revoked_at: Option<DateTimeWithTimeZone>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
