//! Entity for `flowline_runs`: the durable run queue. A row is written before the run is
//! acknowledged and finished in place; `lease_owner` and `lease_until` say which replica
//! works on it and until when, so that a run whose replica died is taken over.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flowline_runs")]
pub struct Model {
    /// A uuid, as text on both backends.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(36))"
    )]
    pub id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub flow: String,
    /// How it was started: `webhook`, `manual`, `schedule` or `event`.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub trigger: String,
    /// `queued`, `running`, `resolved` or `rejected`.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub status: String,
    /// JSON text: `{"trigger": ..., "accountability": ..., "depth": n}`.
    #[sea_orm(column_type = "Text")]
    pub start: String,
    pub attempts: i32,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub lease_owner: Option<String>,
    /// Unix milliseconds, as every time of this table.
    pub lease_until: Option<i64>,
    pub enqueued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
