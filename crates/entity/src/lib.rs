//! sea-orm entities for flowline's Directus-compatible system tables.
//!
//! The domain layer's generic query engine is the read/write path for these
//! tables; these entities give typed access to them and document the schema that
//! the `migration` crate creates (column types, nullability, uniqueness, foreign
//! keys and their on-delete actions).
//!
//! One module per table, each with a `Model`, a `Relation` and an
//! `ActiveModelBehavior`; [`prelude`] re-exports the entities.
//!
//! Storage differs between the two backends, and the entities follow PostgreSQL:
//! - uuids are [`sea_orm::prelude::Uuid`]. PostgreSQL stores native `uuid`;
//!   SQLite stores lowercase hyphenated `char(36)` text (as Directus does), which
//!   sea-orm's `Uuid` does not read or write (it binds and decodes 16-byte
//!   blobs), so on SQLite go through the domain query engine for rows with uuids.
//! - timestamps are `String`: SQLite keeps ISO-8601 UTC text and PostgreSQL
//!   `timestamp with time zone`, which the entities select through a text cast
//!   (`select_as = "text"`; PostgreSQL's text looks like
//!   `2026-11-23 02:49:08.123+00`). Writing or filtering on one from an entity
//!   works on SQLite only (PostgreSQL rejects text for `timestamptz`): leave them
//!   unset to take the database default. The domain layer normalises timestamps.
//!   On SQLite, `ActiveModel::insert`/`update` read the row back with
//!   `RETURNING`, where SQLite names that cast `CAST(...)` rather than the
//!   column, so a timestamp comes back missing; use `Entity::insert(..).exec()`
//!   or `update_many()` and then `find` there.
//! - JSON is [`sea_orm::prelude::Json`]: `json` on PostgreSQL, text on SQLite.

pub mod directus_activity;
pub mod directus_flows;
pub mod directus_folders;
pub mod directus_notifications;
pub mod directus_operations;
pub mod directus_revisions;
pub mod directus_roles;
pub mod directus_users;
pub mod flowline_run_steps;
pub mod flowline_runs;
pub mod flowline_schedule_ticks;
pub mod prelude;
