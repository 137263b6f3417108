//! Entity for `directus_activity`: the audit log of actions on items.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "directus_activity")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// `create`, `update`, `delete`, `run`, `login`, ...
    #[sea_orm(column_type = "String(StringLen::N(45))")]
    pub action: String,
    /// The acting user. No foreign key, as in Directus: activity outlives users.
    #[sea_orm(nullable)]
    pub user: Option<Uuid>,
    /// Kept as text: SQLite stores ISO-8601 UTC text, PostgreSQL `timestamptz`
    /// (read through a text cast); the domain layer normalises timestamps.
    /// Defaults to the current time.
    #[sea_orm(column_type = "TimestampWithTimeZone", select_as = "text")]
    pub timestamp: String,
    #[sea_orm(column_type = "String(StringLen::N(50))", nullable)]
    pub ip: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub user_agent: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub collection: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub item: String,
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub origin: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Revisions recorded with this activity (`directus_revisions.activity`).
    #[sea_orm(has_many = "super::directus_revisions::Entity")]
    Revisions,
}

impl Related<super::directus_revisions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Revisions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
