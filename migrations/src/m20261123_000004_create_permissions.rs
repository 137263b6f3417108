//! Migration creating `directus_permissions`: what a role (or the public, role null) may do
//! with a collection.

use sea_orm_migration::prelude::*;

use crate::columns::{Dialect, foreign_key, increments, index, varchar};
use crate::tables::{DirectusPermissions, DirectusRoles};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;
        manager
            .create_table(
                Table::create()
                    .table(DirectusPermissions::Table)
                    .col(increments(DirectusPermissions::Id))
                    .col(d.uuid(DirectusPermissions::Role).null())
                    .col(varchar(DirectusPermissions::Collection, 64).not_null())
                    .col(varchar(DirectusPermissions::Action, 10).not_null())
                    .col(d.json(DirectusPermissions::Permissions).null())
                    .col(d.json(DirectusPermissions::Fields).null())
                    .foreign_key(&mut foreign_key(
                        "directus_permissions_role_foreign",
                        (DirectusPermissions::Table, DirectusPermissions::Role),
                        (DirectusRoles::Table, DirectusRoles::Id),
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "directus_permissions_role_collection_index",
                DirectusPermissions::Table,
                [DirectusPermissions::Role, DirectusPermissions::Collection],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DirectusPermissions::Table).to_owned())
            .await
    }
}
