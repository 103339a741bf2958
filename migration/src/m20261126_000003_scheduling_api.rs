//! What the scheduling API needs: each provider's weekly working hours, and a mark on
//! appointments a ClinicAdmin booked outside them (so the audit trail shows the override).

use sea_orm_migration::prelude::*;

use crate::columns::flag;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    WorkingHours,
}

#[derive(DeriveIden)]
enum Appointments {
    Table,
    BookedOutsideHours,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    // [{"day": "Monday", "start": "09:00:00", "end": "17:00:00"}, …] in the clinic's
                    // time zone; written and validated by the scheduling module (WorkingHours).
                    .add_column(
                        ColumnDef::new(Users::WorkingHours)
                            .json_binary()
                            .not_null()
                            .default(Expr::cust("'[]'::jsonb"))
                            .check(Expr::cust("jsonb_typeof(working_hours) = 'array'")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Appointments::Table)
                    .add_column(flag(Appointments::BookedOutsideHours, false))
                    .to_owned(),
            )
            .await
    }
}
