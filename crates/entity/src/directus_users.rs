//! Entity for `directus_users`: accounts that own flows and receive notifications.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "directus_users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(50))", nullable)]
    pub first_name: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(50))", nullable)]
    pub last_name: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable, unique)]
    pub email: Option<String>,
    /// Password hash, never the password itself.
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub password: Option<String>,
    /// Defaults to `active`.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub status: String,
    pub role: Option<Uuid>,
    /// Static API token.
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable, unique)]
    pub token: Option<String>,
    /// Kept as text: SQLite stores ISO-8601 UTC text, PostgreSQL `timestamptz`
    /// (read through a text cast); the domain layer normalises timestamps.
    #[sea_orm(column_type = "TimestampWithTimeZone", nullable, select_as = "text")]
    pub last_access: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The user's role (`role`, on delete set null).
    #[sea_orm(
        belongs_to = "super::directus_roles::Entity",
        from = "Column::Role",
        to = "super::directus_roles::Column::Id",
        on_delete = "SetNull",
        fk_name = "directus_users_role_foreign"
    )]
    Role,
    /// Flows this user created (`directus_flows.user_created`).
    #[sea_orm(
        has_many = "super::directus_flows::Entity",
        via_rel = "Relation::UserCreated"
    )]
    Flows,
    /// Operations this user created (`directus_operations.user_created`).
    #[sea_orm(
        has_many = "super::directus_operations::Entity",
        via_rel = "Relation::UserCreated"
    )]
    Operations,
    /// Notifications addressed to this user (`directus_notifications.recipient`).
    #[sea_orm(
        has_many = "super::directus_notifications::Entity",
        via_rel = "Relation::Recipient"
    )]
    NotificationsReceived,
    /// Notifications this user sent (`directus_notifications.sender`).
    #[sea_orm(
        has_many = "super::directus_notifications::Entity",
        via_rel = "Relation::Sender"
    )]
    NotificationsSent,
}

impl Related<super::directus_roles::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Role.def()
    }
}

impl Related<super::directus_flows::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Flows.def()
    }
}

impl Related<super::directus_operations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Operations.def()
    }
}

/// A user's notifications are the ones addressed to them; use
/// [`Relation::NotificationsSent`] for the ones they sent.
impl Related<super::directus_notifications::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::NotificationsReceived.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
