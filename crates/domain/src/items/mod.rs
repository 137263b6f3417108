//! The items service: every read and write of a collection, whichever API asks. Writes
//! validate, run in one transaction (a batch is all or nothing), keep the flow graph sound
//! and announce what changed once committed.

mod reads;
mod writer;
mod writes;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use sea_orm::{
    DatabaseConnection, DatabaseExecutor, DatabaseTransaction, DbBackend, DbErr, SqlErr,
};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::accountability::Accountability;
use crate::catalog::{Catalog, Collection};
use crate::error::{Error, Result};
use crate::hooks::HookSlot;

pub(crate) use reads::read_keys;
use writer::*;

/// What a committed write changed; subscriptions and the flow engine listen to these.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    pub collection: String,
    pub event: MutationEvent,
    pub keys: Vec<String>,
    /// What was written, one entry per key: the created item, or the update's data.
    /// Empty for deletes.
    pub payloads: Vec<Value>,
    /// Who wrote it.
    pub accountability: Accountability,
    /// Whether event flows hear of it, and at which flow depth it was written.
    pub origin: Origin,
    /// Written through another replica and heard over PostgreSQL (`crate::replicas`). Its
    /// action flows ran on the replica that wrote it; here it only brings state up to date
    /// (the plan, schedules, tokens, GraphQL subscriptions). A remote mutation carries the
    /// keys, and of its payloads only the `flow` an operation names; its accountability is
    /// the system's.
    pub remote: bool,
}

/// What the change feed ([`ItemsService::subscribe`]) carries.
///
/// Nearly every change is a mutation, and the feed's slots hold a whole `Change` either way:
/// boxing the mutation would add an allocation per write and save no memory.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A committed write, from this process or from another replica.
    Mutation(Mutation),
    /// Changes may have been missed (the connection that hears other replicas dropped and
    /// was opened again): whoever keeps state derived from the database reads it all again.
    Missed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MutationEvent {
    Create,
    Update,
    Delete,
}

impl MutationEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            MutationEvent::Create => "create",
            MutationEvent::Update => "update",
            MutationEvent::Delete => "delete",
        }
    }
}

/// A queued run was created or changed (its status, or a step journaled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunChange {
    pub event: MutationEvent,
    /// The run's id.
    pub run: String,
}

/// The most rows one write request may touch; larger batches are refused up front.
pub const MAX_BATCH: usize = 10_000;

#[derive(Clone)]
pub struct ItemsService {
    /// Where writes go (and reads, without a read pool).
    db: DatabaseConnection,
    /// Connections for reads outside a transaction. SQLite serves one writer at a time, so
    /// its main pool has one connection; in WAL mode other connections may read meanwhile,
    /// and reads need not queue behind writes and each other. `None` reads through `db`.
    reads: Option<DatabaseConnection>,
    /// Swapped whole when introspection finds the user's tables changed; every call works
    /// on the snapshot it started with.
    catalog: Arc<RwLock<Catalog>>,
    /// One introspection at a time, and at most one per [`REFRESH_INTERVAL`] for names
    /// that turn out not to exist.
    refresh: Arc<tokio::sync::Mutex<Option<std::time::Instant>>>,
    mutations: broadcast::Sender<Change>,
    /// Changes of queued runs ([`crate::runs`]), kept off the change feed: under load they
    /// come by the thousand a second, and the feed's readers (the plan, the tokens) reload
    /// everything when they fall behind.
    runs: broadcast::Sender<RunChange>,
    /// Set on PostgreSQL: announces this process's writes to the other replicas.
    replicas: Option<Arc<crate::replicas::Replicas>>,
    hooks: HookSlot,
    /// The write transaction a filter flow runs in: its item operations read and write
    /// there (as savepoints), as Directus hands filter hooks the write's `database`. On
    /// SQLite this is also what keeps them from waiting on the connection the write holds.
    tx: Option<Arc<DatabaseTransaction>>,
    /// How writes made through this handle announce themselves.
    origin: Origin,
}

/// Who is writing, beyond the caller: whether the write emits events (item operations with
/// `emitEvents: false` do not) and how deep in flows triggering flows it happens, so that a
/// flow writing to the collection it listens to stops at the depth guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub emit_events: bool,
    /// 0 for API requests; a flow's depth for its item operations.
    pub depth: usize,
}

impl Default for Origin {
    fn default() -> Self {
        Origin {
            emit_events: true,
            depth: 0,
        }
    }
}

/// How long an introspection that found nothing new keeps answering unknown names alone.
const REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Collects what a transaction changed, announced only after it commits.
#[derive(Default)]
struct Changes {
    mutations: Vec<Mutation>,
    /// Flows whose operation graph must be re-checked before commit.
    flows: HashSet<String>,
}

impl Changes {
    fn record(
        &mut self,
        collection: &str,
        event: MutationEvent,
        key: &str,
        payload: Option<Value>,
        acc: &Accountability,
        origin: Origin,
    ) {
        if let Some(last) = self.mutations.last_mut()
            && last.collection == collection
            && last.event == event
        {
            last.keys.push(key.to_string());
            last.payloads.extend(payload);
            return;
        }
        self.mutations.push(Mutation {
            collection: collection.to_string(),
            event,
            keys: vec![key.to_string()],
            payloads: payload.into_iter().collect(),
            accountability: acc.clone(),
            origin,
            remote: false,
        });
    }
}

impl ItemsService {
    pub fn new(db: DatabaseConnection, catalog: Catalog) -> Self {
        let (mutations, _) = broadcast::channel(1024);
        let (runs, _) = broadcast::channel(1024);
        ItemsService {
            db,
            reads: None,
            catalog: Arc::new(RwLock::new(catalog)),
            refresh: Arc::default(),
            mutations,
            runs,
            replicas: None,
            hooks: HookSlot::default(),
            tx: None,
            origin: Origin::default(),
        }
    }

    /// The same service, writing with another origin (item operations of flows).
    pub fn with_origin(&self, origin: Origin) -> Self {
        ItemsService {
            origin,
            ..self.clone()
        }
    }

    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The same service, working inside `tx`.
    pub fn in_transaction(&self, tx: Arc<DatabaseTransaction>) -> Self {
        ItemsService {
            tx: Some(tx),
            ..self.clone()
        }
    }

    /// The same service, reading through `reads` outside transactions. Only statements that
    /// never write may go there: a deferred SQLite transaction that starts reading on one
    /// connection and then writes fails with `SQLITE_BUSY` when another connection wrote
    /// meanwhile, which no busy timeout cures; writes stay on the one writer.
    pub fn with_read_pool(self, reads: DatabaseConnection) -> Self {
        ItemsService {
            reads: Some(reads),
            ..self
        }
    }

    /// Where reads go: the enclosing transaction when there is one (filter flows read what
    /// the write they run in changed), else the read pool.
    pub fn executor(&self) -> DatabaseExecutor<'_> {
        match (&self.tx, &self.reads) {
            (Some(tx), _) => DatabaseExecutor::Transaction(tx),
            (None, Some(reads)) => DatabaseExecutor::Connection(reads),
            (None, None) => DatabaseExecutor::Connection(&self.db),
        }
    }

    /// Where writes go: the enclosing transaction when there is one (as savepoints), else
    /// the writer.
    pub fn writer(&self) -> DatabaseExecutor<'_> {
        match &self.tx {
            Some(tx) => DatabaseExecutor::Transaction(tx),
            None => DatabaseExecutor::Connection(&self.db),
        }
    }

    /// The catalogue as it is now.
    pub fn catalog(&self) -> Catalog {
        match self.catalog.read() {
            Ok(catalog) => catalog.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the user's tables from the database again and swaps the catalogue.
    pub async fn refresh_catalog(&self) -> Result<Catalog> {
        let tables = crate::introspect::user_tables(&self.executor()).await?;
        let next = self.catalog().with_user_tables(tables);
        match self.catalog.write() {
            Ok(mut slot) => *slot = next.clone(),
            Err(poisoned) => *poisoned.into_inner() = next.clone(),
        }
        Ok(next)
    }

    /// The user collection `name`, introspecting again when it is not known yet (a table
    /// created after start). System collections and unknown names answer `FORBIDDEN`, as
    /// Directus's `/items/:collection` does.
    pub async fn user_collection(&self, name: &str) -> Result<&'static str> {
        let known = |catalog: &Catalog| catalog.get(name).filter(|c| c.is_user()).map(|c| c.name);
        if let Some(found) = known(&self.catalog()) {
            return Ok(found);
        }
        if crate::catalog::is_system_name(name) || name.len() > 64 {
            return Err(Error::forbidden());
        }
        let mut last = self.refresh.lock().await;
        // Someone else may have refreshed while this call waited.
        if let Some(found) = known(&self.catalog()) {
            return Ok(found);
        }
        if last.is_some_and(|at| at.elapsed() < REFRESH_INTERVAL) {
            return Err(Error::forbidden());
        }
        let catalog = self.refresh_catalog().await?;
        let found = known(&catalog);
        if found.is_none() {
            *last = Some(std::time::Instant::now());
        }
        found.ok_or_else(Error::forbidden)
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Committed changes, in commit order: this process's, and on PostgreSQL those of every
    /// other replica (marked [`Mutation::remote`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.mutations.subscribe()
    }

    /// Changes of queued runs, as they happen: this process's, and on PostgreSQL those of
    /// the other replicas (gathered, so some tens of milliseconds later).
    pub fn run_changes(&self) -> broadcast::Receiver<RunChange> {
        self.runs.subscribe()
    }

    /// Tells [`ItemsService::run_changes`]'s readers, here and on the other replicas, that
    /// run `run` changed (committed); nothing is built here while nobody listens.
    pub fn publish_run_change(&self, event: MutationEvent, run: &str) {
        if let Some(replicas) = &self.replicas {
            replicas.announce_run(RunChange {
                event,
                run: run.to_string(),
            });
        }
        if self.runs.receiver_count() > 0 {
            let _ = self.runs.send(RunChange {
                event,
                run: run.to_string(),
            });
        }
    }

    /// The same service, sharing its changes with every other replica on the same
    /// PostgreSQL database (`crate::replicas`); on SQLite, which one process owns, the
    /// service as it is. Answers once this replica listens, so that no write committed
    /// after it returns goes unheard.
    pub async fn replicated(self) -> Result<Self> {
        let Some(replicas) =
            crate::replicas::Replicas::join(&self.db, self.mutations.clone(), self.runs.clone())
                .await?
        else {
            return Ok(self);
        };
        Ok(ItemsService {
            replicas: Some(replicas),
            ..self
        })
    }

    /// How this replica shares changes with the others; `None` on SQLite.
    pub fn replicas(&self) -> Option<&crate::replicas::Replicas> {
        self.replicas.as_deref()
    }
}

fn lookup<'c>(catalog: &'c Catalog, name: &str) -> Result<&'c Collection> {
    catalog
        .get(name)
        .ok_or_else(|| Error::Internal(format!("unknown collection {name}")))
}

fn check_batch(len: usize) -> Result<()> {
    if len > MAX_BATCH {
        return Err(Error::payload(format!(
            "A batch may hold at most {MAX_BATCH} items"
        )));
    }
    Ok(())
}

/// The text of a key as given in a payload (uuid strings or integers).
pub fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Maps database constraint errors that validation did not catch first to Directus codes.
fn translate(err: DbErr) -> Error {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(detail)) => Error::RecordNotUnique {
            collection: String::new(),
            field: detail,
            value: String::new(),
        },
        Some(SqlErr::ForeignKeyConstraintViolation(detail)) => Error::InvalidForeignKey {
            collection: String::new(),
            field: detail,
            value: String::new(),
        },
        _ => Error::from(err),
    }
}

/// `directus_flows.accountability`: the logging switch (`all`, `activity`) plus the values
/// older Directus docs print (`$trigger`, `$public`, `$full`, or a role id), which log like
/// `activity`.
pub const ACCOUNTABILITY: &[&str] = &["all", "activity", "$trigger", "$public", "$full"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldViolation;
    use serde_json::json;

    fn flows() -> Collection {
        Catalog::system()
            .get("directus_flows")
            .cloned()
            .expect("flows")
    }

    #[test]
    fn create_requires_name_only() {
        let coll = flows();
        let obj = json!({"status": "weird", "trigger": "bogus"});
        let violations = validate(&coll, obj.as_object().expect("object"), true);
        let fields: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.field.as_str(), v.kind))
            .collect();
        assert_eq!(
            fields,
            [("name", "required"), ("status", "in"), ("trigger", "in")]
        );
    }

    #[test]
    fn explicit_null_on_a_defaulted_column_is_refused() {
        let coll = flows();
        let obj = json!({"status": null});
        let violations = validate(&coll, obj.as_object().expect("object"), false);
        assert_eq!(violations, vec![FieldViolation::required("status")]);
    }
}
