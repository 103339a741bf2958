//! Column shapes the tables share, so each table reads as a list of what it holds.

use sea_orm_migration::prelude::*;

pub fn uuid_key<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .uuid()
        .not_null()
        .default(Expr::cust("gen_random_uuid()"))
        .take()
}

pub fn identity_key<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .extra("generated always as identity")
        .take()
}

pub fn text<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).text().not_null().take()
}

pub fn uuid<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().take()
}

pub fn money<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).decimal_len(18, 2).not_null().take()
}

pub fn flag<T: IntoIden>(name: T, default: bool) -> ColumnDef {
    ColumnDef::new(name)
        .boolean()
        .not_null()
        .default(default)
        .take()
}

pub fn timestamp_now<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .default(Expr::current_timestamp())
        .take()
}
