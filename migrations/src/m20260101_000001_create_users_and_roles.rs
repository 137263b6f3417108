//! Migration creating `directus_roles` and `directus_users`.

use sea_orm_migration::prelude::*;

use crate::columns::{Dialect, foreign_key, index, unique, varchar};
use crate::tables::{DirectusRoles, DirectusUsers};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let d = Dialect::of(manager)?;

        manager
            .create_table(
                Table::create()
                    .table(DirectusRoles::Table)
                    .col(d.uuid(DirectusRoles::Id).not_null().primary_key())
                    .col(varchar(DirectusRoles::Name, 255).not_null())
                    .col(varchar(DirectusRoles::Icon, 64).null())
                    .col(ColumnDef::new(DirectusRoles::Description).text().null())
                    .col(
                        ColumnDef::new(DirectusRoles::AdminAccess)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(DirectusRoles::AppAccess)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DirectusUsers::Table)
                    .col(d.uuid(DirectusUsers::Id).not_null().primary_key())
                    .col(varchar(DirectusUsers::FirstName, 50).null())
                    .col(varchar(DirectusUsers::LastName, 50).null())
                    .col(varchar(DirectusUsers::Email, 128).null())
                    .col(varchar(DirectusUsers::Password, 255).null())
                    .col(
                        varchar(DirectusUsers::Status, 16)
                            .not_null()
                            .default("active"),
                    )
                    .col(d.uuid(DirectusUsers::Role).null())
                    .col(varchar(DirectusUsers::Token, 255).null())
                    .col(d.timestamp(DirectusUsers::LastAccess).null())
                    .index(&mut unique(
                        "directus_users_email_unique",
                        [DirectusUsers::Email],
                    ))
                    .index(&mut unique(
                        "directus_users_token_unique",
                        [DirectusUsers::Token],
                    ))
                    .foreign_key(&mut foreign_key(
                        "directus_users_role_foreign",
                        (DirectusUsers::Table, DirectusUsers::Role),
                        (DirectusRoles::Table, DirectusRoles::Id),
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(index(
                "directus_users_role_index",
                DirectusUsers::Table,
                [DirectusUsers::Role],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DirectusUsers::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(DirectusRoles::Table).to_owned())
            .await
    }
}
