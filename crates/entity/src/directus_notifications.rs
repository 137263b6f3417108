//! Entity for `directus_notifications`: messages to users, e.g. from a flow's notify operation.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "directus_notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Kept as text: SQLite stores ISO-8601 UTC text, PostgreSQL `timestamptz`
    /// (read through a text cast); the domain layer normalises timestamps.
    /// Defaults to the current time.
    #[sea_orm(column_type = "TimestampWithTimeZone", nullable, select_as = "text")]
    pub timestamp: Option<String>,
    /// `inbox` (the default) or `archived`.
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub status: Option<String>,
    pub recipient: Uuid,
    pub sender: Option<Uuid>,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub subject: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub message: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub collection: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub item: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The addressee (`recipient`, on delete cascade).
    #[sea_orm(
        belongs_to = "super::directus_users::Entity",
        from = "Column::Recipient",
        to = "super::directus_users::Column::Id",
        on_delete = "Cascade",
        fk_name = "directus_notifications_recipient_foreign"
    )]
    Recipient,
    /// The sender (`sender`, on delete set null).
    #[sea_orm(
        belongs_to = "super::directus_users::Entity",
        from = "Column::Sender",
        to = "super::directus_users::Column::Id",
        on_delete = "SetNull",
        fk_name = "directus_notifications_sender_foreign"
    )]
    Sender,
}

/// A notification's user is its recipient; use [`Relation::Sender`] for the sender.
impl Related<super::directus_users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Recipient.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
