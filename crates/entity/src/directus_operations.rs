//! Entity for `directus_operations`: one step of a flow, chained by `resolve` and `reject`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "directus_operations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub name: Option<String>,
    /// Unique within the flow (`directus_operations_flow_key_unique`; a flowline
    /// rule, Directus does not enforce it).
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub key: String,
    /// The operation type, e.g. `log`, `condition`, `request`.
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub r#type: String,
    pub position_x: i32,
    pub position_y: i32,
    /// Operation options (`json` on PostgreSQL, JSON text on SQLite).
    #[sea_orm(nullable)]
    pub options: Option<Json>,
    /// The operation to run next on success.
    #[sea_orm(nullable, unique)]
    pub resolve: Option<Uuid>,
    /// The operation to run next on failure.
    #[sea_orm(nullable, unique)]
    pub reject: Option<Uuid>,
    #[sea_orm(indexed)]
    pub flow: Uuid,
    /// Kept as text: SQLite stores ISO-8601 UTC text, PostgreSQL `timestamptz`
    /// (read through a text cast); the domain layer normalises timestamps.
    /// Defaults to the current time.
    #[sea_orm(column_type = "TimestampWithTimeZone", nullable, select_as = "text")]
    pub date_created: Option<String>,
    pub user_created: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The flow the operation belongs to (`flow`, on delete cascade).
    #[sea_orm(
        belongs_to = "super::directus_flows::Entity",
        from = "Column::Flow",
        to = "super::directus_flows::Column::Id",
        on_delete = "Cascade",
        fk_name = "directus_operations_flow_foreign"
    )]
    Flow,
    /// The next operation on success (`resolve`, no on-delete action).
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::Resolve",
        to = "Column::Id",
        fk_name = "directus_operations_resolve_foreign"
    )]
    Resolve,
    /// The next operation on failure (`reject`, no on-delete action).
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::Reject",
        to = "Column::Id",
        fk_name = "directus_operations_reject_foreign"
    )]
    Reject,
    /// The creator (`user_created`, on delete set null).
    #[sea_orm(
        belongs_to = "super::directus_users::Entity",
        from = "Column::UserCreated",
        to = "super::directus_users::Column::Id",
        on_delete = "SetNull",
        fk_name = "directus_operations_user_created_foreign"
    )]
    UserCreated,
}

impl Related<super::directus_flows::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Flow.def()
    }
}

impl Related<super::directus_users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UserCreated.def()
    }
}

/// Follows `resolve` from an operation to the next one on success.
pub struct ResolveLink;

impl Linked for ResolveLink {
    type FromEntity = Entity;
    type ToEntity = Entity;

    fn link(&self) -> Vec<RelationDef> {
        vec![Relation::Resolve.def()]
    }
}

/// Follows `reject` from an operation to the next one on failure.
pub struct RejectLink;

impl Linked for RejectLink {
    type FromEntity = Entity;
    type ToEntity = Entity;

    fn link(&self) -> Vec<RelationDef> {
        vec![Relation::Reject.def()]
    }
}

impl ActiveModelBehavior for ActiveModel {}
