//! Migration creating `directus_folders`, `directus_flows` and `directus_operations`.

use sea_orm_migration::prelude::*;

use crate::columns::{Dialect, foreign_key, index, unique, varchar};
use crate::tables::{DirectusFlows, DirectusFolders, DirectusOperations, DirectusUsers};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;

        manager
            .create_table(
                Table::create()
                    .table(DirectusFolders::Table)
                    .col(d.uuid(DirectusFolders::Id).not_null().primary_key())
                    .col(varchar(DirectusFolders::Name, 255).not_null())
                    .col(d.uuid(DirectusFolders::Parent).null())
                    .col(
                        varchar(DirectusFolders::Type, 255)
                            .not_null()
                            .default("files"),
                    )
                    .foreign_key(&mut foreign_key(
                        "directus_folders_parent_foreign",
                        (DirectusFolders::Table, DirectusFolders::Parent),
                        (DirectusFolders::Table, DirectusFolders::Id),
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .to_owned(),
            )
            .await?;

        // `operation` (the first operation) is unique but, as in Directus, has no
        // foreign key: flows and operations reference each other.
        manager
            .create_table(
                Table::create()
                    .table(DirectusFlows::Table)
                    .col(d.uuid(DirectusFlows::Id).not_null().primary_key())
                    .col(varchar(DirectusFlows::Name, 255).not_null())
                    .col(varchar(DirectusFlows::Icon, 64).null())
                    .col(varchar(DirectusFlows::Color, 255).null())
                    .col(ColumnDef::new(DirectusFlows::Description).text().null())
                    .col(
                        varchar(DirectusFlows::Status, 255)
                            .not_null()
                            .default("active"),
                    )
                    .col(varchar(DirectusFlows::Trigger, 255).null())
                    .col(
                        varchar(DirectusFlows::Accountability, 255)
                            .null()
                            .default("all"),
                    )
                    .col(d.json(DirectusFlows::Options).null())
                    .col(d.uuid(DirectusFlows::Operation).null())
                    .col(d.timestamp_now(DirectusFlows::DateCreated).null())
                    .col(d.uuid(DirectusFlows::UserCreated).null())
                    .col(d.uuid(DirectusFlows::Folder).null())
                    .index(&mut unique(
                        "directus_flows_operation_unique",
                        [DirectusFlows::Operation],
                    ))
                    .foreign_key(&mut foreign_key(
                        "directus_flows_user_created_foreign",
                        (DirectusFlows::Table, DirectusFlows::UserCreated),
                        (DirectusUsers::Table, DirectusUsers::Id),
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .foreign_key(&mut foreign_key(
                        "directus_flows_folder_foreign",
                        (DirectusFlows::Table, DirectusFlows::Folder),
                        (DirectusFolders::Table, DirectusFolders::Id),
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .to_owned(),
            )
            .await?;

        // `resolve` and `reject` are unique, so their unique constraints' indexes
        // also serve as their foreign-key indexes.
        manager
            .create_table(
                Table::create()
                    .table(DirectusOperations::Table)
                    .col(d.uuid(DirectusOperations::Id).not_null().primary_key())
                    .col(varchar(DirectusOperations::Name, 255).null())
                    .col(varchar(DirectusOperations::Key, 255).not_null())
                    .col(varchar(DirectusOperations::Type, 255).not_null())
                    .col(
                        ColumnDef::new(DirectusOperations::PositionX)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DirectusOperations::PositionY)
                            .integer()
                            .not_null(),
                    )
                    .col(d.json(DirectusOperations::Options).null())
                    .col(d.uuid(DirectusOperations::Resolve).null())
                    .col(d.uuid(DirectusOperations::Reject).null())
                    .col(d.uuid(DirectusOperations::Flow).not_null())
                    .col(d.timestamp_now(DirectusOperations::DateCreated).null())
                    .col(d.uuid(DirectusOperations::UserCreated).null())
                    .index(&mut unique(
                        "directus_operations_resolve_unique",
                        [DirectusOperations::Resolve],
                    ))
                    .index(&mut unique(
                        "directus_operations_reject_unique",
                        [DirectusOperations::Reject],
                    ))
                    // Not in Directus: flowline requires operation keys to be unique per flow.
                    .index(&mut unique(
                        "directus_operations_flow_key_unique",
                        [DirectusOperations::Flow, DirectusOperations::Key],
                    ))
                    .foreign_key(&mut foreign_key(
                        "directus_operations_resolve_foreign",
                        (DirectusOperations::Table, DirectusOperations::Resolve),
                        (DirectusOperations::Table, DirectusOperations::Id),
                        None,
                    ))
                    .foreign_key(&mut foreign_key(
                        "directus_operations_reject_foreign",
                        (DirectusOperations::Table, DirectusOperations::Reject),
                        (DirectusOperations::Table, DirectusOperations::Id),
                        None,
                    ))
                    .foreign_key(&mut foreign_key(
                        "directus_operations_flow_foreign",
                        (DirectusOperations::Table, DirectusOperations::Flow),
                        (DirectusFlows::Table, DirectusFlows::Id),
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .foreign_key(&mut foreign_key(
                        "directus_operations_user_created_foreign",
                        (DirectusOperations::Table, DirectusOperations::UserCreated),
                        (DirectusUsers::Table, DirectusUsers::Id),
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .to_owned(),
            )
            .await?;

        let indexes = [
            index(
                "directus_folders_parent_index",
                DirectusFolders::Table,
                [DirectusFolders::Parent],
            ),
            index(
                "directus_flows_status_index",
                DirectusFlows::Table,
                [DirectusFlows::Status],
            ),
            index(
                "directus_flows_user_created_index",
                DirectusFlows::Table,
                [DirectusFlows::UserCreated],
            ),
            index(
                "directus_flows_folder_index",
                DirectusFlows::Table,
                [DirectusFlows::Folder],
            ),
            index(
                "directus_operations_flow_index",
                DirectusOperations::Table,
                [DirectusOperations::Flow],
            ),
            index(
                "directus_operations_user_created_index",
                DirectusOperations::Table,
                [DirectusOperations::UserCreated],
            ),
        ];
        for statement in indexes {
            manager.create_index(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DirectusOperations::Table.into_iden(),
            DirectusFlows::Table.into_iden(),
            DirectusFolders::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
