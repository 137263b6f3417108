//! Entity for `flowline_run_steps`: the journal of a queued run's completed steps, in order.
//! A step whose operation writes items is journaled in the transaction of that write.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flowline_run_steps")]
pub struct Model {
    /// The run (`flowline_runs.id`).
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(36))"
    )]
    pub run: String,
    /// 0 for the run's first step.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    /// The operation's id, as text.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub operation: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub key: String,
    /// `resolve` or `reject`: which link the run followed.
    #[sea_orm(column_type = "String(StringLen::N(8))")]
    pub status: String,
    /// JSON text of the value the step put into the chain.
    #[sea_orm(column_type = "Text")]
    pub output: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
