//! flowline's domain: the collection catalogue, the Directus query language compiled to SQL,
//! and the items service through which every read and write goes. No GraphQL, no HTTP.

pub mod accountability;
pub mod activity;
pub mod aggregate;
pub mod catalog;
pub mod error;
pub mod filter;
mod flow_graph;
pub mod hooks;
pub mod introspect;
pub mod items;
pub mod js;
pub mod json_text;
pub mod params;
pub mod permissions;
pub mod query;
pub mod query_string;
pub mod read;
pub mod replicas;
pub mod retry;
pub mod runs;
pub mod schedule;
pub mod sql;
pub mod statement;
pub mod wire;

pub use accountability::Accountability;
pub use catalog::Catalog;
pub use error::{Error, Result};
pub use items::{Change, ItemsService, Mutation, MutationEvent, RunChange};
