//! Entity for `directus_flows`: a flow's trigger, options and first operation.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "directus_flows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub name: String,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub icon: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub color: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// `active` (the default) or `inactive`.
    #[sea_orm(column_type = "String(StringLen::N(255))", indexed)]
    pub status: String,
    /// `event`, `schedule`, `webhook`, `operation` or `manual`.
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub trigger: Option<String>,
    /// `all` (the default), `activity` or null.
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub accountability: Option<String>,
    /// Trigger options (`json` on PostgreSQL, JSON text on SQLite).
    #[sea_orm(nullable)]
    pub options: Option<Json>,
    /// The first operation to run. Unique; no foreign key, as in Directus.
    #[sea_orm(nullable, unique)]
    pub operation: Option<Uuid>,
    /// Kept as text: SQLite stores ISO-8601 UTC text, PostgreSQL `timestamptz`
    /// (read through a text cast); the domain layer normalises timestamps.
    /// Defaults to the current time.
    #[sea_orm(column_type = "TimestampWithTimeZone", nullable, select_as = "text")]
    pub date_created: Option<String>,
    pub user_created: Option<Uuid>,
    pub folder: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The flow's operations (`directus_operations.flow`).
    #[sea_orm(
        has_many = "super::directus_operations::Entity",
        via_rel = "Relation::Flow"
    )]
    Operations,
    /// The first operation (`operation`); the database has no foreign key for it.
    #[sea_orm(
        belongs_to = "super::directus_operations::Entity",
        from = "Column::Operation",
        to = "super::directus_operations::Column::Id",
        skip_fk
    )]
    Operation,
    /// The creator (`user_created`, on delete set null).
    #[sea_orm(
        belongs_to = "super::directus_users::Entity",
        from = "Column::UserCreated",
        to = "super::directus_users::Column::Id",
        on_delete = "SetNull",
        fk_name = "directus_flows_user_created_foreign"
    )]
    UserCreated,
    /// The folder the flow is filed in (`folder`, on delete set null).
    #[sea_orm(
        belongs_to = "super::directus_folders::Entity",
        from = "Column::Folder",
        to = "super::directus_folders::Column::Id",
        on_delete = "SetNull",
        fk_name = "directus_flows_folder_foreign"
    )]
    Folder,
}

/// A flow's operations are all operations whose `flow` is this flow; use
/// [`Relation::Operation`] for the first one.
impl Related<super::directus_operations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Operations.def()
    }
}

impl Related<super::directus_users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UserCreated.def()
    }
}

impl Related<super::directus_folders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Folder.def()
    }
}

/// Follows `operation` from a flow to its first operation.
pub struct FirstOperationLink;

impl Linked for FirstOperationLink {
    type FromEntity = Entity;
    type ToEntity = super::directus_operations::Entity;

    fn link(&self) -> Vec<RelationDef> {
        vec![Relation::Operation.def()]
    }
}

impl ActiveModelBehavior for ActiveModel {}
