//! Entity for `flowline_schedule_ticks`: the ticks of schedule flows that a replica claimed.
//! The primary key (flow, tick) is what makes a tick run once across replicas: the one
//! insert that succeeds runs it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flowline_schedule_ticks")]
pub struct Model {
    /// The flow's id, as text.
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub flow: String,
    /// The tick's planned fire time, Unix milliseconds.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tick: i64,
    /// The replica that claimed it (its process id and host, for operators).
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub replica: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
