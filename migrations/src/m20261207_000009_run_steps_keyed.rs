//! Migration giving `flowline_run_steps` a key of its own, each step's timing and tries, so that
//! the journal is served as a collection (`/runs` with `steps`) and a resumed `sleep` knows
//! when it was due.
//!
//! The catalogue serves collections with a one-column key, and the journal's was
//! `(run, seq)`: the table is rebuilt with a `bigserial` id (a busy queue writes thousands of
//! steps a second, so 32 bits would run out), the pair kept unique, and the rows journaled so
//! far copied over, so that runs in flight across the upgrade still resume.

use sea_orm_migration::prelude::*;

use crate::columns::{Dialect, unique, varchar};

#[derive(DeriveIden)]
enum FlowlineRunSteps {
    Table,
    Id,
    Run,
    Seq,
    Operation,
    Key,
    Status,
    Output,
    StartedAt,
    FinishedAt,
    WaitUntil,
    Attempts,
}

#[derive(DeriveIden)]
enum Previous {
    #[sea_orm(iden = "flowline_run_steps_unkeyed")]
    Table,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .rename_table(
                Table::rename()
                    .table(FlowlineRunSteps::Table, Previous::Table)
                    .to_owned(),
            )
            .await?;
        let dialect = Dialect::of(manager)?;
        let millis = |name: FlowlineRunSteps| ColumnDef::new(name).big_integer().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(FlowlineRunSteps::Table)
                    .col(
                        ColumnDef::new(FlowlineRunSteps::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(varchar(FlowlineRunSteps::Run, 36).not_null())
                    .col(ColumnDef::new(FlowlineRunSteps::Seq).integer().not_null())
                    .col(varchar(FlowlineRunSteps::Operation, 64).not_null())
                    .col(varchar(FlowlineRunSteps::Key, 255).not_null())
                    // `resolve`, `reject`, or `waiting` while a sleep is under way.
                    .col(varchar(FlowlineRunSteps::Status, 8).not_null())
                    // `json` on PostgreSQL, so that it is served as JSON (`null` is NULL).
                    .col(dialect.json(FlowlineRunSteps::Output).null())
                    // Unix milliseconds, as in `flowline_runs`.
                    .col(millis(FlowlineRunSteps::StartedAt).null())
                    .col(millis(FlowlineRunSteps::FinishedAt).null())
                    .col(millis(FlowlineRunSteps::WaitUntil).null())
                    // Tries the step took, under the flow's retry policy.
                    .col(
                        ColumnDef::new(FlowlineRunSteps::Attempts)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .index(&mut unique(
                        "flowline_run_steps_run_seq_unique",
                        [FlowlineRunSteps::Run, FlowlineRunSteps::Seq],
                    ))
                    .to_owned(),
            )
            .await?;
        let output = match dialect {
            Dialect::Postgres => "CAST(NULLIF(output, 'null') AS json)",
            Dialect::Sqlite => "NULLIF(output, 'null')",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO flowline_run_steps (run, seq, operation, key, status, output) \
                 SELECT run, seq, operation, key, status, {output} FROM flowline_run_steps_unkeyed \
                 ORDER BY run, seq"
            ))
            .await?;
        manager
            .drop_table(Table::drop().table(Previous::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FlowlineRunSteps::Table).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FlowlineRunSteps::Table)
                    .col(varchar(FlowlineRunSteps::Run, 36).not_null())
                    .col(ColumnDef::new(FlowlineRunSteps::Seq).integer().not_null())
                    .col(varchar(FlowlineRunSteps::Operation, 64).not_null())
                    .col(varchar(FlowlineRunSteps::Key, 255).not_null())
                    .col(varchar(FlowlineRunSteps::Status, 8).not_null())
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
}
