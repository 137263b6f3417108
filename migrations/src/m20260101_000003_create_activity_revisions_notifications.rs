//! Migration creating `directus_activity`, `directus_revisions` and `directus_notifications`.

use sea_orm_migration::prelude::*;

use crate::columns::{Dialect, foreign_key, increments, index, varchar};
use crate::tables::{DirectusActivity, DirectusNotifications, DirectusRevisions, DirectusUsers};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;

        // `user` has no foreign key, as in Directus: activity outlives its users.
        manager
            .create_table(
                Table::create()
                    .table(DirectusActivity::Table)
                    .col(increments(DirectusActivity::Id))
                    .col(varchar(DirectusActivity::Action, 45).not_null())
                    .col(d.uuid(DirectusActivity::User).null())
                    .col(d.timestamp_now(DirectusActivity::Timestamp).not_null())
                    .col(varchar(DirectusActivity::Ip, 50).null())
                    .col(ColumnDef::new(DirectusActivity::UserAgent).text().null())
                    .col(varchar(DirectusActivity::Collection, 64).not_null())
                    .col(varchar(DirectusActivity::Item, 255).not_null())
                    .col(varchar(DirectusActivity::Origin, 255).null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DirectusRevisions::Table)
                    .col(increments(DirectusRevisions::Id))
                    .col(
                        ColumnDef::new(DirectusRevisions::Activity)
                            .integer()
                            .not_null(),
                    )
                    .col(varchar(DirectusRevisions::Collection, 64).not_null())
                    .col(varchar(DirectusRevisions::Item, 255).not_null())
                    .col(d.json(DirectusRevisions::Data).null())
                    .col(d.json(DirectusRevisions::Delta).null())
                    .col(ColumnDef::new(DirectusRevisions::Parent).integer().null())
                    .foreign_key(&mut foreign_key(
                        "directus_revisions_activity_foreign",
                        (DirectusRevisions::Table, DirectusRevisions::Activity),
                        (DirectusActivity::Table, DirectusActivity::Id),
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .foreign_key(&mut foreign_key(
                        "directus_revisions_parent_foreign",
                        (DirectusRevisions::Table, DirectusRevisions::Parent),
                        (DirectusRevisions::Table, DirectusRevisions::Id),
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DirectusNotifications::Table)
                    .col(increments(DirectusNotifications::Id))
                    .col(d.timestamp_now(DirectusNotifications::Timestamp).null())
                    .col(
                        varchar(DirectusNotifications::Status, 255)
                            .null()
                            .default("inbox"),
                    )
                    .col(d.uuid(DirectusNotifications::Recipient).not_null())
                    .col(d.uuid(DirectusNotifications::Sender).null())
                    .col(varchar(DirectusNotifications::Subject, 255).not_null())
                    .col(ColumnDef::new(DirectusNotifications::Message).text().null())
                    .col(varchar(DirectusNotifications::Collection, 64).null())
                    .col(varchar(DirectusNotifications::Item, 255).null())
                    .foreign_key(&mut foreign_key(
                        "directus_notifications_recipient_foreign",
                        (
                            DirectusNotifications::Table,
                            DirectusNotifications::Recipient,
                        ),
                        (DirectusUsers::Table, DirectusUsers::Id),
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .foreign_key(&mut foreign_key(
                        "directus_notifications_sender_foreign",
                        (DirectusNotifications::Table, DirectusNotifications::Sender),
                        (DirectusUsers::Table, DirectusUsers::Id),
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .to_owned(),
            )
            .await?;

        let indexes = [
            index(
                "directus_activity_collection_item_index",
                DirectusActivity::Table,
                [DirectusActivity::Collection, DirectusActivity::Item],
            ),
            index(
                "directus_revisions_activity_index",
                DirectusRevisions::Table,
                [DirectusRevisions::Activity],
            ),
            index(
                "directus_revisions_parent_index",
                DirectusRevisions::Table,
                [DirectusRevisions::Parent],
            ),
            index(
                "directus_notifications_recipient_index",
                DirectusNotifications::Table,
                [DirectusNotifications::Recipient],
            ),
            index(
                "directus_notifications_sender_index",
                DirectusNotifications::Table,
                [DirectusNotifications::Sender],
            ),
        ];
        for statement in indexes {
            manager.create_index(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DirectusNotifications::Table.into_iden(),
            DirectusRevisions::Table.into_iden(),
            DirectusActivity::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
