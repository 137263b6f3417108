//! Migration creating `flowline_runs`: the durable queue of flow runs that nobody waits for
//! (async webhooks and manual triggers, schedules, action events). A run is written here
//! before it is acknowledged, claimed by a worker under a lease, and finished in place.
//!
//! Not a Directus table: Directus keeps such runs in memory and loses them with the process.

use sea_orm_migration::prelude::*;

use crate::columns::{index, varchar};

#[derive(DeriveIden)]
enum FlowlineRuns {
    Table,
    Id,
    Flow,
    Trigger,
    Status,
    Start,
    Attempts,
    LeaseOwner,
    LeaseUntil,
    EnqueuedAt,
    StartedAt,
    FinishedAt,
    Error,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let millis = |name: FlowlineRuns| ColumnDef::new(name).big_integer().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(FlowlineRuns::Table)
                    .col(varchar(FlowlineRuns::Id, 36).not_null().primary_key())
                    .col(varchar(FlowlineRuns::Flow, 64).not_null())
                    .col(varchar(FlowlineRuns::Trigger, 16).not_null())
                    .col(
                        varchar(FlowlineRuns::Status, 16)
                            .not_null()
                            .default("queued"),
                    )
                    // How the run starts, as JSON text: `$trigger`, the caller, the depth.
                    .col(ColumnDef::new(FlowlineRuns::Start).text().not_null())
                    .col(
                        ColumnDef::new(FlowlineRuns::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(varchar(FlowlineRuns::LeaseOwner, 64).null())
                    // Times are Unix milliseconds: compared and ordered the same on both
                    // backends, with no time zone to get wrong.
                    .col(millis(FlowlineRuns::LeaseUntil).null())
                    .col(millis(FlowlineRuns::EnqueuedAt).not_null())
                    .col(millis(FlowlineRuns::StartedAt).null())
                    .col(millis(FlowlineRuns::FinishedAt).null())
                    .col(ColumnDef::new(FlowlineRuns::Error).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "flowline_runs_status_enqueued_at_index",
                FlowlineRuns::Table,
                [FlowlineRuns::Status, FlowlineRuns::EnqueuedAt],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FlowlineRuns::Table).to_owned())
            .await
    }
}
