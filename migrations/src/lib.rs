//! Schema migrations for flowline's Directus-compatible system tables, for SQLite and PostgreSQL.
//!
//! [`Migrator`] is the single migrator for both backends: each migration asks the
//! [`SchemaManager`] for the connected backend and picks column types accordingly
//! (see the `columns` module). SQLite keeps uuids as lowercase hyphenated `char(36)`
//! text, timestamps as ISO-8601 UTC text and JSON as text, as Directus does;
//! PostgreSQL gets native `uuid`, `timestamp with time zone` and `json`.
//!
//! Foreign keys are declared inline in `CREATE TABLE`, because SQLite cannot add
//! them later with `ALTER TABLE`. Constraint and index names follow knex's scheme
//! (`<table>_<columns>_unique`, `<table>_<columns>_index`), as Directus's do.

use sea_orm_migration::prelude::*;

pub use sea_orm_migration::MigratorTrait;

mod columns;
mod m20260101_000001_create_users_and_roles;
mod m20260101_000002_create_flows_and_operations;
mod m20260101_000003_create_activity_revisions_notifications;
mod m20261123_000004_create_permissions;
mod m20261123_000005_flows_status_id_index;
mod m20261207_000006_create_schedule_ticks;
mod m20261207_000007_create_runs;
mod m20261207_000008_create_run_steps;
mod m20261207_000009_run_steps_keyed;
mod tables;

/// Runs flowline's migrations, in order, on SQLite or PostgreSQL.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_users_and_roles::Migration),
            Box::new(m20260101_000002_create_flows_and_operations::Migration),
            Box::new(m20260101_000003_create_activity_revisions_notifications::Migration),
            Box::new(m20261123_000004_create_permissions::Migration),
            Box::new(m20261123_000005_flows_status_id_index::Migration),
            Box::new(m20261207_000006_create_schedule_ticks::Migration),
            Box::new(m20261207_000007_create_runs::Migration),
            Box::new(m20261207_000008_create_run_steps::Migration),
            Box::new(m20261207_000009_run_steps_keyed::Migration),
        ]
    }
}
