//! Entity for `directus_revisions`: item snapshots and deltas recorded with activity.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "directus_revisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub activity: i32,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub collection: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub item: String,
    /// The item after the change (`json` on PostgreSQL, JSON text on SQLite).
    #[sea_orm(nullable)]
    pub data: Option<Json>,
    /// The changed fields only.
    #[sea_orm(nullable)]
    pub delta: Option<Json>,
    pub parent: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The activity this revision belongs to (`activity`, on delete cascade).
    #[sea_orm(
        belongs_to = "super::directus_activity::Entity",
        from = "Column::Activity",
        to = "super::directus_activity::Column::Id",
        on_delete = "Cascade",
        fk_name = "directus_revisions_activity_foreign"
    )]
    Activity,
    /// The parent revision (`parent`, on delete set null).
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::Parent",
        to = "Column::Id",
        on_delete = "SetNull",
        fk_name = "directus_revisions_parent_foreign"
    )]
    Parent,
}

impl Related<super::directus_activity::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Activity.def()
    }
}

/// Follows `parent` from a revision to its parent revision.
pub struct ParentLink;

impl Linked for ParentLink {
    type FromEntity = Entity;
    type ToEntity = Entity;

    fn link(&self) -> Vec<RelationDef> {
        vec![Relation::Parent.def()]
    }
}

impl ActiveModelBehavior for ActiveModel {}
