//! What the billing API needs: how a payment was made, recorded on its journal entry.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum JournalEntries {
    Table,
    PaymentMethod,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(JournalEntries::Table)
                    .add_column(ColumnDef::new(JournalEntries::PaymentMethod).text().check(
                        Expr::cust(
                            "payment_method is null \
                             or payment_method in ('Cash', 'Card', 'Check', 'BankTransfer', 'Insurance')",
                        ),
                    ))
                    .to_owned(),
            )
            .await
    }
}
