//! Entity for `flowline_run_steps`: the journal of a queued run's steps, in order. A step
//! whose operation writes items is journaled in the transaction of that write; a `sleep`
//! journals when it is due before it starts waiting, so that a resumed run waits only the
//! time left.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flowline_run_steps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The run (`flowline_runs.id`).
    #[sea_orm(column_type = "String(StringLen::N(36))")]
    pub run: String,
    /// 0 for the run's first step; `(run, seq)` is unique.
    pub seq: i32,
    /// The operation's id, as text.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub operation: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub key: String,
    /// `resolve` or `reject` (which link the run followed), or `waiting` while a sleep is
    /// under way.
    #[sea_orm(column_type = "String(StringLen::N(8))")]
    pub status: String,
    /// The value the step put into the chain (`json` on PostgreSQL; `null` is NULL).
    #[sea_orm(column_type = "Json", nullable)]
    pub output: Option<Json>,
    /// Unix milliseconds, as in `flowline_runs`.
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// When a waiting sleep is due.
    pub wait_until: Option<i64>,
    /// Tries the step took (more than 1 under a flow's `options.retry`).
    pub attempts: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
