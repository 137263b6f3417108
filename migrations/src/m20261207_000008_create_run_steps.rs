//! Migration creating `flowline_run_steps`: the journal of a queued run's completed steps, so
//! that a run taken over after a crash resumes after its last completed step.

use sea_orm_migration::prelude::*;

use crate::columns::varchar;

#[derive(DeriveIden)]
enum FlowlineRunSteps {
    Table,
    Run,
    Seq,
    Operation,
    Key,
    Status,
    Output,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FlowlineRunSteps::Table)
                    .col(varchar(FlowlineRunSteps::Run, 36).not_null())
                    .col(ColumnDef::new(FlowlineRunSteps::Seq).integer().not_null())
                    .col(varchar(FlowlineRunSteps::Operation, 64).not_null())
                    .col(varchar(FlowlineRunSteps::Key, 255).not_null())
                    .col(varchar(FlowlineRunSteps::Status, 8).not_null())
                    // The value the step put into the data chain, as JSON text.
                    .col(ColumnDef::new(FlowlineRunSteps::Output).text().not_null())
                    .primary_key(
                        Index::create()
                            .col(FlowlineRunSteps::Run)
                            .col(FlowlineRunSteps::Seq),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FlowlineRunSteps::Table).to_owned())
            .await
    }
}
