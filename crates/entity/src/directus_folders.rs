//! Entity for `directus_folders`: the folder tree that flows can be filed in.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "directus_folders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub name: String,
    pub parent: Option<Uuid>,
    /// Defaults to `files`.
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub r#type: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The parent folder (`parent`, on delete set null).
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::Parent",
        to = "Column::Id",
        on_delete = "SetNull",
        fk_name = "directus_folders_parent_foreign"
    )]
    Parent,
    /// Flows filed in this folder (`directus_flows.folder`).
    #[sea_orm(has_many = "super::directus_flows::Entity")]
    Flows,
}

impl Related<super::directus_flows::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Flows.def()
    }
}

/// Follows `parent` from a folder to its parent folder.
pub struct ParentLink;

impl Linked for ParentLink {
    type FromEntity = Entity;
    type ToEntity = Entity;

    fn link(&self) -> Vec<RelationDef> {
        vec![Relation::Parent.def()]
    }
}

impl ActiveModelBehavior for ActiveModel {}
