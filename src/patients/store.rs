//! Patient queries, all on the request's tenant transaction.

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::foundation::db::TenantTransaction;
use crate::patients::entity::patient;

/// A new patient's validated fields, with the PHI already sealed.
pub struct NewPatient {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub dob: NaiveDate,
    pub phi_data: Vec<u8>,
}

pub async fn insert(db: &TenantTransaction, new: NewPatient) -> Result<patient::Model, DbErr> {
    patient::ActiveModel {
        tenant_id: Set(new.tenant_id),
        id: Set(new.id),
        first_name: Set(new.first_name),
        last_name: Set(new.last_name),
        dob: Set(new.dob),
        phi_data: Set(Some(new.phi_data)),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<patient::Model>, DbErr> {
    patient::Entity::find()
        .filter(patient::Column::TenantId.eq(tenant_id))
        .filter(patient::Column::Id.eq(id))
        .filter(patient::Column::IsDeleted.eq(false))
        .one(db)
        .await
}

/// Which patients to list.
#[derive(Default)]
pub struct PatientFilter {
    /// A name prefix, matched against "last first" and "first last", ignoring case and accents.
    pub name_prefix: Option<String>,
    pub dob: Option<NaiveDate>,
}

/// A page of patients ordered by folded "last first" name, then id.
pub async fn list(
    db: &TenantTransaction,
    tenant_id: Uuid,
    filter: &PatientFilter,
    after: Option<&(String, Uuid)>,
    limit: u64,
) -> Result<Vec<patient::Model>, DbErr> {
    let mut query = patient::Entity::find()
        .filter(patient::Column::TenantId.eq(tenant_id))
        .filter(patient::Column::IsDeleted.eq(false));
    if let Some(prefix) = &filter.name_prefix {
        // A range rather than LIKE: the bounds are plain comparisons that a btree on the "C"
        // collation column answers even in a generic prepared plan. U+10FFFF sorts after every
        // character, so [p, p || U+10FFFF) is exactly the strings starting with p.
        query = query.filter(Expr::cust_with_values(
            "((search_name >= fold_name($1) and search_name < fold_name($1) || chr(1114111))
              or (search_name_first_last >= fold_name($1)
                  and search_name_first_last < fold_name($1) || chr(1114111)))",
            [prefix.clone()],
        ));
    }
    if let Some(dob) = filter.dob {
        query = query.filter(patient::Column::Dob.eq(dob));
    }
    if let Some((name, id)) = after {
        query = query.filter(
            Expr::tuple([
                Expr::col(patient::Column::SearchName),
                Expr::col(patient::Column::Id),
            ])
            .gt(Expr::tuple([Expr::val(name.clone()), Expr::val(*id)])),
        );
    }
    query
        .order_by_asc(patient::Column::SearchName)
        .order_by_asc(patient::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Changes to a patient; `None` keeps the current value.
#[derive(Default)]
pub struct PatientChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub dob: Option<NaiveDate>,
    pub phi_data: Option<Vec<u8>>,
}

/// Applies `changes`; false when no such patient is in the clinic.
pub async fn update(
    db: &TenantTransaction,
    tenant_id: Uuid,
    id: Uuid,
    changes: PatientChanges,
) -> Result<bool, DbErr> {
    let mut update = patient::Entity::update_many()
        .col_expr(patient::Column::UpdatedAt, Expr::cust("now()"))
        .filter(patient::Column::TenantId.eq(tenant_id))
        .filter(patient::Column::Id.eq(id))
        .filter(patient::Column::IsDeleted.eq(false));
    if let Some(first_name) = changes.first_name {
        update = update.col_expr(patient::Column::FirstName, Expr::value(first_name));
    }
    if let Some(last_name) = changes.last_name {
        update = update.col_expr(patient::Column::LastName, Expr::value(last_name));
    }
    if let Some(dob) = changes.dob {
        update = update.col_expr(patient::Column::Dob, Expr::value(dob));
    }
    if let Some(phi_data) = changes.phi_data {
        update = update.col_expr(patient::Column::PhiData, Expr::value(phi_data));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Soft-deletes a patient (the audit trigger records it as a Delete); false when there is none.
pub async fn soft_delete(db: &TenantTransaction, tenant_id: Uuid, id: Uuid) -> Result<bool, DbErr> {
    let result = patient::Entity::update_many()
        .col_expr(patient::Column::IsDeleted, Expr::value(true))
        .col_expr(patient::Column::UpdatedAt, Expr::cust("now()"))
        .filter(patient::Column::TenantId.eq(tenant_id))
        .filter(patient::Column::Id.eq(id))
        .filter(patient::Column::IsDeleted.eq(false))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
