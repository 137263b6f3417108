//! Filter hooks: what runs inside a write's transaction before it happens, and may rewrite
//! its payload or refuse it. The flow engine implements them; the items service only knows
//! this trait, so the domain stays free of the runtime.

use std::sync::{Arc, OnceLock};

use futures_util::future::BoxFuture;
use sea_orm::DatabaseTransaction;
use serde_json::{Map, Value};

use crate::accountability::Accountability;
use crate::error::Result;
use crate::items::Origin;

/// Directus's name of an item event: `flows.create` for a system collection (prefix
/// dropped), `articles.items.create` for any other.
pub fn item_event(collection: &str, action: &str) -> String {
    match collection.strip_prefix("directus_") {
        Some(system) => format!("{system}.{action}"),
        None => format!("{collection}.items.{action}"),
    }
}

/// Runs the filter flows of an event.
pub trait FilterHooks: Send + Sync {
    /// Called before a write opens its transaction, so the hooks can bring their state up
    /// to date on their own connection (SQLite has one, held by the transaction after).
    fn prepare(&self) -> BoxFuture<'_, ()>;

    /// Queues the runs of the action flows that listen to `mutations`, inside the write's
    /// transaction `tx`: they exist exactly when the write commits.
    fn queue_actions<'a>(
        &'a self,
        mutations: &'a [crate::items::Mutation],
        tx: &'a DatabaseTransaction,
    ) -> BoxFuture<'a, Result<()>>;

    /// Runs the filter flows of `event` in order, inside the write's transaction `tx`, and
    /// answers the payload to write (each flow's return value replaces it), or the error
    /// that aborts the write.
    fn filter<'a>(
        &'a self,
        event: &'a str,
        payload: Value,
        meta: Map<String, Value>,
        accountability: &'a Accountability,
        origin: Origin,
        tx: &'a Arc<DatabaseTransaction>,
    ) -> BoxFuture<'a, Result<Value>>;
}

/// The slot the engine fills once it has started; shared by every clone of the service.
pub type HookSlot = Arc<OnceLock<Arc<dyn FilterHooks>>>;
