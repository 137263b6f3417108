//! Migration creating `flowline_schedule_ticks`: one row per tick of a schedule flow that a
//! replica claimed, so that replicas sharing a database run each tick once.
//!
//! Not a Directus table (hence the `flowline_` prefix, and no entry in the catalogue):
//! Directus runs every tick on every instance unless Redis is configured.

use sea_orm_migration::prelude::*;

use crate::columns::varchar;

#[derive(DeriveIden)]
enum FlowlineScheduleTicks {
    Table,
    Flow,
    Tick,
    Replica,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FlowlineScheduleTicks::Table)
                    // Text, not a uuid column: the row outlives nothing (no foreign key to
                    // the flow) and reads the same on both backends.
                    .col(varchar(FlowlineScheduleTicks::Flow, 64).not_null())
                    // The tick's fire time in Unix milliseconds: the same number on every
                    // replica, whatever its time zone or timestamp format.
                    .col(
                        ColumnDef::new(FlowlineScheduleTicks::Tick)
                            .big_integer()
                            .not_null(),
                    )
                    .col(varchar(FlowlineScheduleTicks::Replica, 64).not_null())
                    .primary_key(
                        Index::create()
                            .col(FlowlineScheduleTicks::Flow)
                            .col(FlowlineScheduleTicks::Tick),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(crate::columns::index(
                "flowline_schedule_ticks_tick_index",
                FlowlineScheduleTicks::Table,
                [FlowlineScheduleTicks::Tick],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FlowlineScheduleTicks::Table).to_owned())
            .await
    }
}
