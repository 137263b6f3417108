//! Migration replacing the index on `directus_flows (status)` with one on `(status, id)`.
//!
//! Lists are ordered by the primary key (it breaks ties in every sort), so a list filtered
//! on `status` found the matching rows through the old index and then sorted them all: with
//! 10,000 flows, a page of 25 inactive ones read and sorted 1,000 rows, 1.2 ms per query on
//! SQLite (bench/RESULTS.md). With the key in the index, the rows come out in key order and
//! the read stops after the page. The new index serves every lookup the old one did.

use sea_orm_migration::prelude::*;

use crate::columns::index;
use crate::tables::DirectusFlows;

const OLD: &str = "directus_flows_status_index";
const NEW: &str = "directus_flows_status_id_index";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(
            manager,
            NEW,
            [DirectusFlows::Status, DirectusFlows::Id],
            OLD,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, OLD, [DirectusFlows::Status], NEW).await
    }
}

/// Creates index `name` on `directus_flows (columns)`, then drops `old`: the table is
/// never without an index on `status`.
async fn replace(
    manager: &SchemaManager<'_>,
    name: &str,
    columns: impl IntoIterator<Item = DirectusFlows>,
    old: &str,
) -> Result<(), DbErr> {
    manager
        .create_index(index(name, DirectusFlows::Table, columns))
        .await?;
    manager
        .drop_index(
            Index::drop()
                .name(old)
                .table(DirectusFlows::Table)
                .to_owned(),
        )
        .await
}
