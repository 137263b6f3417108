//! The items service: every read and write of a collection, whichever API asks. Writes
//! validate, run in one transaction (a batch is all or nothing), keep the flow graph sound
//! and announce what changed once committed.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query as Sql};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseExecutor, DatabaseTransaction, DbBackend, DbErr,
    SqlErr, TransactionTrait,
};
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use crate::accountability::Accountability;
use crate::aggregate::{self, AggregateQuery, AggregateRow};
use crate::catalog::{Catalog, Collection, Field, FieldKind, Managed, Relation};
use crate::error::{Error, FieldViolation, Result};
use crate::flow_graph;
use crate::hooks::{FilterHooks, HookSlot, item_event};
use crate::permissions::{Action, Grants};
use crate::query::{ListArgs, ReadNode};
use crate::read::{self, in_list};
use crate::sql::{self, col};
use crate::statement::Scope;

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

    /// What a reader may see: its grants (loaded once per call; admins skip the query), the
    /// catalogue narrowed to readable fields, and the tree with row filters attached.
    /// Admins read the tree as given: it is copied only to attach row filters.
    async fn read_view<'n>(
        &self,
        acc: &Accountability,
        node: &'n ReadNode,
    ) -> Result<ReadView<'n>> {
        let grants = self.grants(acc).await?;
        let full = self.catalog();
        let node = if grants.is_all() {
            Cow::Borrowed(node)
        } else {
            let mut node = node.clone();
            guard_tree(&grants, &mut node)?;
            Cow::Owned(node)
        };
        Ok(ReadView {
            readable: grants.readable(&full),
            full,
            node,
        })
    }

    /// The caller's grants; admins bypass permissions.
    pub async fn grants(&self, acc: &Accountability) -> Result<Grants> {
        Grants::load(&self.executor(), acc).await
    }

    /// The catalogue as `acc` may read it: `fields=*` expands to readable fields only.
    pub async fn readable_catalog(&self, acc: &Accountability) -> Result<Catalog> {
        Ok(self.grants(acc).await?.readable(&self.catalog()))
    }

    pub async fn read(&self, acc: &Accountability, node: &ReadNode) -> Result<Vec<Value>> {
        let view = self.read_view(acc, node).await?;
        let scope = Scope::guarded(self.backend(), &view.readable, &view.full, acc);
        read::read(&self.executor(), &scope, &view.node, None).await
    }

    /// [`ItemsService::read`] as the JSON text of the rows' array, for responses that only
    /// serialise them ([`read::read_json`]).
    pub async fn read_json(&self, acc: &Accountability, node: &ReadNode) -> Result<Vec<u8>> {
        let view = self.read_view(acc, node).await?;
        let scope = Scope::guarded(self.backend(), &view.readable, &view.full, acc);
        read::read_json(&self.executor(), &scope, &view.node).await
    }

    /// Reads the given keys in the order given; unknown keys are left out.
    pub async fn read_keys(
        &self,
        acc: &Accountability,
        node: &ReadNode,
        keys: &[String],
    ) -> Result<Vec<Value>> {
        let view = self.read_view(acc, node).await?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let coll = lookup(&view.full, &node.collection)?;
        let scope = Scope::guarded(self.backend(), &view.readable, &view.full, acc);
        let mut node = view.node.into_owned();
        node.args.limit = Some(-1);
        node.args.offset = None;
        node.args.page = None;
        // Input order wins over any sort, so the key must be read to reorder.
        let pk = coll.primary_key.to_string();
        let probe = format!("\u{2}{pk}");
        node.select.push(crate::query::Select::Field {
            field: pk.clone(),
            key: probe.clone(),
        });
        let mut rows = Vec::new();
        for chunk in keys.chunks(500) {
            rows.extend(read::read(&self.executor(), &scope, &node, Some(chunk)).await?);
        }
        let mut by_key: std::collections::HashMap<String, Value> = rows
            .into_iter()
            .filter_map(|mut row| {
                let key = row
                    .as_object_mut()?
                    .remove(&probe)
                    .as_ref()
                    .and_then(key_text)?;
                Some((key, row))
            })
            .collect();
        let ordered = keys.iter().filter_map(|key| by_key.remove(key)).collect();
        Ok(ordered)
    }

    /// Reads back written keys: in input order unless the request sorts (flowline keeps
    /// input order where Directus answers in key order), with the request's filter and
    /// window applied.
    pub async fn read_written(
        &self,
        acc: &Accountability,
        node: &ReadNode,
        keys: &[String],
    ) -> Result<Vec<Value>> {
        if node.args.sort.is_empty() {
            let mut rows = self.read_keys(acc, node, keys).await?;
            let (limit, offset) = node.args.window();
            let offset = usize::try_from(offset).unwrap_or(usize::MAX);
            rows = rows.into_iter().skip(offset).collect();
            if let (Some(limit), Some(_)) = (limit, node.args.limit) {
                rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            }
            return Ok(rows);
        }
        let view = self.read_view(acc, node).await?;
        let scope = Scope::guarded(self.backend(), &view.readable, &view.full, acc);
        let mut rows = Vec::new();
        for chunk in keys.chunks(500) {
            rows.extend(read::read(&self.executor(), &scope, &view.node, Some(chunk)).await?);
        }
        Ok(rows)
    }

    pub async fn aggregate(
        &self,
        acc: &Accountability,
        collection: &str,
        query: &AggregateQuery,
    ) -> Result<Vec<AggregateRow>> {
        let grants = self.grants(acc).await?;
        let full = self.catalog();
        let readable = grants.readable(&full);
        let coll = lookup(&readable, collection)?;
        let mut query = query.clone();
        query.args.guard = grants
            .get(collection, Action::Read)?
            .and_then(|g| g.filter.clone());
        let scope = Scope::guarded(self.backend(), &readable, &full, acc);
        aggregate::aggregate(&self.executor(), &scope, coll, &query).await
    }

    /// How many rows match `args`' filter and search (limits ignored): `meta.filter_count`,
    /// or with default arguments `meta.total_count`.
    pub async fn count(
        &self,
        acc: &Accountability,
        collection: &str,
        args: &ListArgs,
    ) -> Result<u64> {
        let query = AggregateQuery {
            functions: vec![("countAll".to_string(), Vec::new())],
            group_by: Vec::new(),
            args: ListArgs {
                filter: args.filter.clone(),
                search: args.search.clone(),
                ..ListArgs::default()
            },
        };
        let rows = self.aggregate(acc, collection, &query).await?;
        Ok(rows
            .first()
            .and_then(|r| r.values.get("countAll"))
            .and_then(Value::as_u64)
            .unwrap_or(0))
    }

    /// The keys a query selects (its own limit applies, default 100, as Directus).
    pub async fn keys_by_query(
        &self,
        acc: &Accountability,
        collection: &str,
        args: &ListArgs,
    ) -> Result<Vec<String>> {
        let catalog = self.catalog();
        let coll = lookup(&catalog, collection)?;
        let mut node = ReadNode::new(collection);
        node.args = args.clone();
        node.select.push(crate::query::Select::Field {
            field: coll.primary_key.to_string(),
            key: coll.primary_key.to_string(),
        });
        let rows = self.read(acc, &node).await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.get(coll.primary_key).and_then(key_text))
            .collect())
    }

    pub async fn create_many(
        &self,
        acc: &Accountability,
        collection: &str,
        items: Vec<Value>,
    ) -> Result<Vec<String>> {
        let catalog = self.catalog();
        let (coll, grants) = self
            .prepare_write(&catalog, acc, collection, items.len())
            .await?;
        let hooks = self.filter_hooks(coll, "create").await;
        self.transaction(&catalog, &grants, acc, |w, tx| {
            Box::pin(async move {
                let mut keys = Vec::with_capacity(items.len());
                for item in items {
                    let item = match &hooks {
                        Some((hooks, event)) => {
                            let mut meta = Map::new();
                            meta.insert("collection".into(), Value::from(coll.name));
                            hooks.filter(event, item, meta, w.acc, w.origin, tx).await?
                        }
                        None => item,
                    };
                    keys.push(w.create(tx, coll, item).await?);
                }
                Ok(keys)
            })
        })
        .await
    }

    pub async fn update_many(
        &self,
        acc: &Accountability,
        collection: &str,
        keys: Vec<String>,
        data: Value,
    ) -> Result<Vec<String>> {
        let catalog = self.catalog();
        let (coll, grants) = self
            .prepare_write(&catalog, acc, collection, keys.len())
            .await?;
        if !data.is_object() {
            return Err(Error::payload("\"data\" must be of type object"));
        }
        let hooks = self.filter_hooks(coll, "update").await;
        self.transaction(&catalog, &grants, acc, |w, tx| {
            Box::pin(async move {
                let data = match &hooks {
                    Some((hooks, event)) => {
                        let mut meta = Map::new();
                        meta.insert(
                            "keys".into(),
                            keys.iter().map(|k| coll.key_json(k)).collect(),
                        );
                        meta.insert("collection".into(), Value::from(coll.name));
                        hooks.filter(event, data, meta, w.acc, w.origin, tx).await?
                    }
                    None => data,
                };
                for key in &keys {
                    w.update(tx, coll, key, data.clone()).await?;
                }
                Ok(keys)
            })
        })
        .await
    }

    /// Each item carries its own key (`[{id, ...}, ...]`).
    pub async fn update_batch(
        &self,
        acc: &Accountability,
        collection: &str,
        items: Vec<Value>,
    ) -> Result<Vec<String>> {
        let catalog = self.catalog();
        let (coll, grants) = self
            .prepare_write(&catalog, acc, collection, items.len())
            .await?;
        let hooks = self.filter_hooks(coll, "update").await;
        self.transaction(&catalog, &grants, acc, |w, tx| {
            Box::pin(async move {
                let mut keys = Vec::with_capacity(items.len());
                for item in items {
                    let Value::Object(mut obj) = item else {
                        return Err(Error::payload("Items in update have to be objects"));
                    };
                    let key = obj
                        .remove(coll.primary_key)
                        .as_ref()
                        .and_then(key_text)
                        .ok_or_else(|| Error::payload("Item in update misses primary key"))?;
                    let data = match &hooks {
                        Some((hooks, event)) => {
                            let mut meta = Map::new();
                            meta.insert("keys".into(), Value::from(vec![coll.key_json(&key)]));
                            meta.insert("collection".into(), Value::from(coll.name));
                            hooks
                                .filter(event, Value::Object(obj), meta, w.acc, w.origin, tx)
                                .await?
                        }
                        None => Value::Object(obj),
                    };
                    w.update(tx, coll, &key, data).await?;
                    keys.push(key);
                }
                Ok(keys)
            })
        })
        .await
    }

    pub async fn delete_many(
        &self,
        acc: &Accountability,
        collection: &str,
        keys: Vec<String>,
    ) -> Result<Vec<String>> {
        let catalog = self.catalog();
        let (coll, grants) = self
            .prepare_write(&catalog, acc, collection, keys.len())
            .await?;
        let hooks = self.filter_hooks(coll, "delete").await;
        self.transaction(&catalog, &grants, acc, |w, tx| {
            Box::pin(async move {
                if let Some((hooks, event)) = &hooks {
                    // A delete filter can refuse the delete; its return value is not used,
                    // as in Directus.
                    let mut meta = Map::new();
                    meta.insert("collection".into(), Value::from(coll.name));
                    hooks
                        .filter(
                            event,
                            keys.iter().map(|k| coll.key_json(k)).collect(),
                            meta,
                            w.acc,
                            w.origin,
                            tx,
                        )
                        .await?;
                }
                w.delete(tx, coll, &keys, true).await?;
                Ok(keys)
            })
        })
        .await
    }

    /// The filter hooks to run for a write, when events are on and a flow listens.
    async fn filter_hooks(
        &self,
        coll: &Collection,
        action: &str,
    ) -> Option<(Arc<dyn FilterHooks>, String)> {
        if !self.origin.emit_events {
            return None;
        }
        let hooks = self.hooks.get()?;
        // Inside another transaction (a filter flow's write, a queued run's item step) the
        // plan was brought up to date before it began; a reload now would ask the pool for a
        // connection while this one is held, which on SQLite is the only writer.
        if self.tx.is_none() {
            hooks.prepare().await;
        }
        Some((hooks.clone(), item_event(coll.name, action)))
    }

    /// Lets the flow engine run filter flows inside writes; set once, at engine start.
    pub fn set_filter_hooks(&self, hooks: Arc<dyn FilterHooks>) {
        // A second engine over the same service keeps the first one's hooks.
        let _ = self.hooks.set(hooks);
    }

    /// What every write checks first: a bounded batch, a writable collection, and the
    /// caller's grants (checked per item by the writer).
    async fn prepare_write<'c>(
        &self,
        catalog: &'c Catalog,
        acc: &Accountability,
        collection: &str,
        len: usize,
    ) -> Result<(&'c Collection, Grants)> {
        check_batch(len)?;
        let coll = lookup(catalog, collection)?;
        if !coll.writable {
            return Err(Error::forbidden());
        }
        Ok((coll, self.grants(acc).await?))
    }

    async fn transaction<'s, T, F>(
        &'s self,
        catalog: &'s Catalog,
        grants: &'s Grants,
        acc: &'s Accountability,
        body: F,
    ) -> Result<T>
    where
        F: for<'w> FnOnce(
            &'w mut Writer<'s>,
            &'w Arc<DatabaseTransaction>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T>> + Send + 'w>,
        >,
        T: Send,
    {
        // Action runs are queued with the write from the plan as it is: bring it up to date
        // first, unless this write is nested in another's transaction (which did so, and
        // whose connection a reload would wait for).
        if self.origin.emit_events
            && self.tx.is_none()
            && let Some(hooks) = self.hooks.get()
        {
            hooks.prepare().await;
        }
        let tx = Arc::new(self.writer().begin().await?);
        let mut writer = Writer {
            catalog,
            grants,
            acc,
            origin: self.origin,
            backend: self.backend(),
            changes: Changes::default(),
        };
        let result = body(&mut writer, &tx).await;
        let result = match result {
            Ok(value) => flow_graph::check(&*tx, self.backend(), &writer.changes.flows)
                .await
                .map(|()| value),
            Err(err) => Err(err),
        };
        // Filter flows may hold clones while they run; all are gone once they finished.
        let Ok(tx) = Arc::try_unwrap(tx) else {
            return Err(Error::Internal(
                "the write's transaction is still in use after its filter flows".into(),
            ));
        };
        let result = match (result, self.hooks.get()) {
            (Ok(value), Some(hooks)) if !writer.changes.mutations.is_empty() => hooks
                .queue_actions(&writer.changes.mutations, &tx)
                .await
                .map(|()| value),
            (result, _) => result,
        };
        // Announced inside the transaction: PostgreSQL delivers the notices on commit, and
        // drops them with a rollback.
        let result = match (result, &self.replicas) {
            (Ok(value), Some(replicas)) => replicas
                .announce(&tx, &writer.changes.mutations)
                .await
                .map(|()| value),
            (result, _) => result,
        };
        match result {
            Ok(value) => {
                tx.commit().await.map_err(translate)?;
                for mutation in writer.changes.mutations {
                    // Nobody listening is fine.
                    let _ = self.mutations.send(Change::Mutation(mutation));
                }
                Ok(value)
            }
            Err(err) => {
                tx.rollback().await?;
                Err(err)
            }
        }
    }
}

/// A read prepared for one caller.
struct ReadView<'n> {
    readable: Catalog,
    full: Catalog,
    node: Cow<'n, ReadNode>,
}

/// Checks that every collection of the tree may be read and attaches its row filter.
fn guard_tree(grants: &Grants, node: &mut ReadNode) -> Result<()> {
    if grants.is_all() {
        return Ok(());
    }
    node.args.guard = grants
        .get(&node.collection, Action::Read)?
        .and_then(|g| g.filter.clone());
    for select in &mut node.select {
        if let crate::query::Select::Relation { node: child, .. } = select {
            guard_tree(grants, child)?;
        }
    }
    Ok(())
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

/// One transaction's writes.
struct Writer<'s> {
    catalog: &'s Catalog,
    grants: &'s Grants,
    acc: &'s Accountability,
    origin: Origin,
    backend: DbBackend,
    changes: Changes,
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

impl<'s> Writer<'s> {
    fn collection(&self, name: &str) -> Result<&'s Collection> {
        self.catalog
            .get(name)
            .ok_or_else(|| Error::Internal(format!("unknown collection {name}")))
    }

    async fn exists(&self, tx: &DatabaseTransaction, coll: &Collection, key: &str) -> Result<bool> {
        let mut stmt = Sql::select();
        stmt.expr(Expr::cust("1"))
            .from_as(Alias::new(coll.name), Alias::new("t0"))
            .and_where(in_list(
                self.backend,
                "t0",
                coll.primary_key,
                coll.pk_field().kind,
                &[key.to_string()],
            ))
            .limit(1);
        Ok(tx.query_one(&stmt).await?.is_some())
    }

    /// Creates one item (and the related items nested in it); answers its key.
    fn create<'a>(
        &'a mut self,
        tx: &'a DatabaseTransaction,
        coll: &'a Collection,
        item: Value,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let Value::Object(mut obj) = item else {
                return Err(Error::payload(format!(
                    "Items in \"{}\" have to be objects",
                    coll.name
                )));
            };
            let grant = self.grants.get(coll.name, Action::Create)?;
            check_fields(coll, grant, &obj)?;
            let given = match obj.get(coll.primary_key).and_then(key_text) {
                Some(key) => {
                    self.bind(coll, coll.pk_field(), &Value::from(key.clone()))
                        .map_err(|_| {
                            Error::payload(format!(
                                "Invalid {} value for field \"{}\"",
                                coll.pk_field().kind.directus_name(),
                                coll.primary_key
                            ))
                        })?;
                    if self.exists(tx, coll, &key).await? {
                        return Err(Error::RecordNotUnique {
                            collection: coll.name.to_string(),
                            field: coll.primary_key.to_string(),
                            value: key,
                        });
                    }
                    Some(key)
                }
                None if coll.generated_key => None,
                // System collections generate uuid keys as Directus's `uuid` special does;
                // a user table's key comes from its default or from the client.
                None if !coll.is_user() && coll.pk_field().kind == FieldKind::Uuid => {
                    Some(uuid::Uuid::new_v4().to_string())
                }
                None => {
                    return Err(Error::FailedValidation(vec![FieldViolation::required(
                        coll.primary_key,
                    )]));
                }
            };
            match &given {
                Some(key) => {
                    obj.insert(coll.primary_key.to_string(), Value::from(key.clone()));
                }
                None => {
                    obj.remove(coll.primary_key);
                }
            }
            for field in &coll.fields {
                match field.managed {
                    Managed::DateCreated => {
                        obj.insert(
                            field.name.to_string(),
                            Value::from(sql::format_timestamp(chrono::Utc::now())),
                        );
                    }
                    Managed::UserCreated => {
                        obj.insert(
                            field.name.to_string(),
                            self.acc.user.clone().map_or(Value::Null, Value::from),
                        );
                    }
                    Managed::No => {}
                }
            }
            let deferred = self
                .resolve_relations(tx, coll, &mut obj, given.as_deref())
                .await?;
            let violations = validate(coll, &obj, true);
            if !violations.is_empty() {
                return Err(Error::FailedValidation(violations));
            }
            self.check_references(tx, coll, &obj, given.as_deref().unwrap_or_default())
                .await?;
            let mut columns = Vec::new();
            let mut values = Vec::new();
            for field in coll.columns() {
                if let Some(value) = obj.get(field.name) {
                    columns.push(Alias::new(field.name));
                    values.push(Expr::val(self.bind(coll, field, value)?));
                }
            }
            let mut stmt = Sql::insert();
            stmt.into_table(Alias::new(coll.name))
                .columns(columns)
                .values(values)
                .map_err(|e| Error::Internal(e.to_string()))?;
            let key = match given {
                Some(key) => {
                    tx.execute(&stmt).await.map_err(translate)?;
                    key
                }
                None => {
                    if obj.is_empty() {
                        // `INSERT INTO t () VALUES ()` is not SQL: every column defaulted.
                        stmt = Sql::insert();
                        stmt.into_table(Alias::new(coll.name)).or_default_values();
                    }
                    stmt.returning_col(Alias::new(coll.primary_key));
                    let row = tx
                        .query_one(&stmt)
                        .await
                        .map_err(translate)?
                        .ok_or_else(|| Error::Internal("insert returned no key".into()))?;
                    let key = sql::decode(
                        self.backend,
                        &row,
                        0,
                        sql::Decode::Field(coll.pk_field().kind),
                    )?;
                    obj.insert(coll.primary_key.to_string(), key.clone());
                    key_text(&key)
                        .ok_or_else(|| Error::Internal("insert returned a null key".into()))?
                }
            };
            if let Some(guard) = grant.and_then(|g| g.filter.as_ref()) {
                // The new row must be one the caller's filter allows.
                self.check_guard(tx, coll, std::slice::from_ref(&key), guard)
                    .await?;
            }
            self.touch(coll, &obj, &key);
            self.changes.record(
                coll.name,
                MutationEvent::Create,
                &key,
                Some(Value::Object(obj.clone())),
                self.acc,
                self.origin,
            );
            self.log(tx, coll, MutationEvent::Create, &key, Some(&obj))
                .await?;
            self.write_children(tx, &key, deferred, false).await?;
            Ok(key)
        })
    }

    /// Updates one item; a key that matches nothing changes nothing (Directus answers it
    /// like a success).
    fn update<'a>(
        &'a mut self,
        tx: &'a DatabaseTransaction,
        coll: &'a Collection,
        key: &'a str,
        data: Value,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let Value::Object(mut obj) = data else {
                return Err(Error::payload("\"data\" must be of type object"));
            };
            let grant = self.grants.get(coll.name, Action::Update)?;
            check_fields(coll, grant, &obj)?;
            if !self.exists(tx, coll, key).await? {
                // Admins may update nothing; others learn no more than Directus tells them.
                return if self.grants.is_all() {
                    Ok(())
                } else {
                    Err(Error::forbidden())
                };
            }
            if let Some(guard) = grant.and_then(|g| g.filter.as_ref()) {
                self.check_guard(tx, coll, &[key.to_string()], guard)
                    .await?;
            }
            obj.remove(coll.primary_key);
            for field in &coll.fields {
                if field.managed != Managed::No {
                    obj.remove(field.name);
                }
            }
            let deferred = self
                .resolve_relations(tx, coll, &mut obj, Some(key))
                .await?;
            let violations = validate(coll, &obj, false);
            if !violations.is_empty() {
                return Err(Error::FailedValidation(violations));
            }
            self.check_references(tx, coll, &obj, key).await?;
            if coll.name == "directus_operations" {
                // The flow it belongs to before the change must be re-checked too: moving an
                // operation out may leave pointers of that flow leading outside it.
                if let Some(flow) = self.operation_flow(tx, key).await? {
                    self.changes.flows.insert(flow);
                }
            }
            let mut stmt = Sql::update();
            stmt.table(Alias::new(coll.name));
            let mut any = false;
            for field in coll.columns() {
                if let Some(value) = obj.get(field.name) {
                    stmt.value(
                        Alias::new(field.name),
                        Expr::val(self.bind(coll, field, value)?),
                    );
                    any = true;
                }
            }
            if any {
                stmt.and_where(
                    Expr::col(Alias::new(coll.primary_key)).eq(Expr::val(sql::bind(
                        self.backend,
                        coll.pk_field().kind,
                        coll.primary_key,
                        &Value::from(key),
                    )?)),
                );
                tx.execute(&stmt).await.map_err(translate)?;
            }
            self.touch(coll, &obj, key);
            self.changes.record(
                coll.name,
                MutationEvent::Update,
                key,
                Some(Value::Object(obj.clone())),
                self.acc,
                self.origin,
            );
            self.log(tx, coll, MutationEvent::Update, key, Some(&obj))
                .await?;
            self.write_children(tx, key, deferred, true).await?;
            Ok(())
        })
    }

    /// Deletes items; whatever still points at them is cleared (nullable references) or
    /// deleted with them (required ones, such as an operation's flow).
    ///
    /// `checked` writes need the caller's delete permission; the cascades a delete causes
    /// do not, as the database's own `ON DELETE` rules would not ask either.
    fn delete<'a>(
        &'a mut self,
        tx: &'a DatabaseTransaction,
        coll: &'a Collection,
        keys: &'a [String],
        checked: bool,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let grant = if checked {
                self.grants.get(coll.name, Action::Delete)?
            } else {
                None
            };
            // Non-admins may only delete rows that all exist (and match their filter).
            let requested = keys.iter().collect::<HashSet<_>>().len();
            let keys: Vec<String> = keys
                .iter()
                .filter(|k| {
                    coll.pk_field().kind != FieldKind::Uuid || uuid::Uuid::parse_str(k).is_ok()
                })
                .cloned()
                .collect();
            if checked && !self.grants.is_all() && keys.len() < requested {
                return Err(Error::forbidden());
            }
            if keys.is_empty() {
                return Ok(());
            }
            // Only rows that exist are announced and logged.
            let mut existing = Sql::select();
            existing
                .expr(col("t0", coll.primary_key))
                .from_as(Alias::new(coll.name), Alias::new("t0"))
                .and_where(in_list(
                    self.backend,
                    "t0",
                    coll.primary_key,
                    coll.pk_field().kind,
                    &keys,
                ));
            let keys = read_keys(tx, self.backend, coll, existing).await?;
            if checked && !self.grants.is_all() && keys.len() < requested {
                return Err(Error::forbidden());
            }
            if keys.is_empty() {
                return Ok(());
            }
            if let Some(guard) = grant.and_then(|g| g.filter.as_ref()) {
                self.check_guard(tx, coll, &keys, guard).await?;
            }
            let catalog = self.catalog;
            for other in catalog.collections() {
                for field in other.columns() {
                    if field.m2o_target() != Some(coll.name) {
                        continue;
                    }
                    let cond = in_list(self.backend, "t0", field.name, field.kind, &keys);
                    if field.not_null {
                        let mut stmt = Sql::select();
                        stmt.expr(col("t0", other.primary_key))
                            .from_as(Alias::new(other.name), Alias::new("t0"))
                            .and_where(cond);
                        let dependants = read_keys(tx, self.backend, other, stmt).await?;
                        let dependants: Vec<String> = dependants
                            .into_iter()
                            .filter(|k| !(other.name == coll.name && keys.contains(k)))
                            .collect();
                        if !dependants.is_empty() {
                            self.delete(tx, other, &dependants, false).await?;
                        }
                    } else {
                        let mut stmt = Sql::update();
                        stmt.table(Alias::new(other.name))
                            .value(
                                Alias::new(field.name),
                                Expr::val(sql::bind(
                                    self.backend,
                                    field.kind,
                                    field.name,
                                    &Value::Null,
                                )?),
                            )
                            .and_where(in_list(
                                self.backend,
                                other.name,
                                field.name,
                                field.kind,
                                &keys,
                            ));
                        tx.execute(&stmt).await.map_err(translate)?;
                    }
                }
            }
            let mut stmt = Sql::delete();
            stmt.from_table(Alias::new(coll.name)).and_where(in_list(
                self.backend,
                coll.name,
                coll.primary_key,
                coll.pk_field().kind,
                &keys,
            ));
            tx.execute(&stmt).await.map_err(translate)?;
            for key in &keys {
                self.changes.record(
                    coll.name,
                    MutationEvent::Delete,
                    key,
                    None,
                    self.acc,
                    self.origin,
                );
                self.log(tx, coll, MutationEvent::Delete, key, None).await?;
            }
            Ok(())
        })
    }

    /// Refuses the write unless every key's row matches the caller's row filter.
    async fn check_guard(
        &self,
        tx: &DatabaseTransaction,
        coll: &Collection,
        keys: &[String],
        guard: &Value,
    ) -> Result<()> {
        let scope = Scope::new(self.backend, self.catalog, self.acc);
        let alias = scope.next_alias();
        let mut stmt = Sql::select();
        stmt.expr(col(&alias, coll.primary_key))
            .from_as(Alias::new(coll.name), Alias::new(&alias))
            .and_where(in_list(
                self.backend,
                &alias,
                coll.primary_key,
                coll.pk_field().kind,
                keys,
            ))
            .and_where(crate::filter::compile(&scope, coll, &alias, guard)?);
        let allowed = read_keys(tx, self.backend, coll, stmt).await?;
        if allowed.len() == keys.len() {
            Ok(())
        } else {
            Err(Error::forbidden())
        }
    }

    /// Records a write as Directus does, in the write's transaction: an activity row
    /// (`create`, `update`, `delete`) and, except for deletes, a revision holding the full
    /// row (`data`) and the fields written (`delta`).
    async fn log(
        &self,
        tx: &DatabaseTransaction,
        coll: &Collection,
        event: MutationEvent,
        key: &str,
        written: Option<&Map<String, Value>>,
    ) -> Result<()> {
        let backend = self.backend;
        let activity =
            crate::activity::insert(tx, event.as_str(), Some(self.acc), coll.name, key).await?;
        let Some(written) = written else {
            return Ok(());
        };
        let mut node = ReadNode::new(coll.name);
        for field in coll.columns() {
            node.select.push(crate::query::Select::Field {
                field: field.name.to_string(),
                key: field.name.to_string(),
            });
        }
        let scope = Scope::new(backend, self.catalog, self.acc);
        let data = read::read(tx, &scope, &node, Some(&[key.to_string()]))
            .await?
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        let delta: Map<String, Value> = written
            .iter()
            .filter(|(name, _)| coll.field(name).is_some_and(Field::has_column))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        crate::activity::insert_revision(
            tx,
            activity,
            coll.name,
            key,
            &data,
            &Value::Object(delta),
        )
        .await?;
        Ok(())
    }

    async fn operation_flow(&self, tx: &DatabaseTransaction, key: &str) -> Result<Option<String>> {
        let coll = self.collection("directus_operations")?;
        let mut stmt = Sql::select();
        stmt.expr(col("t0", "flow"))
            .from_as(Alias::new(coll.name), Alias::new("t0"))
            .and_where(in_list(
                self.backend,
                "t0",
                "id",
                FieldKind::Uuid,
                &[key.to_string()],
            ));
        Ok(read_keys(tx, self.backend, coll, stmt)
            .await?
            .into_iter()
            .next())
    }

    /// Remembers which flows' graphs this write may have changed.
    fn touch(&mut self, coll: &Collection, obj: &Map<String, Value>, key: &str) {
        match coll.name {
            "directus_flows" => {
                self.changes.flows.insert(key.to_string());
            }
            "directus_operations" => {
                if let Some(flow) = obj.get("flow").and_then(key_text) {
                    self.changes.flows.insert(flow);
                }
            }
            _ => {}
        }
    }

    fn bind(
        &self,
        coll: &Collection,
        field: &Field,
        value: &Value,
    ) -> Result<sea_orm::sea_query::Value> {
        sql::bind(self.backend, field.kind, field.name, value)
            .map_err(|err| match err {
                Error::InvalidQuery(reason) => Error::FailedValidation(vec![FieldViolation {
                    field: field.name.to_string(),
                    kind: "type",
                    message: format!("Validation failed for field \"{}\". {reason}.", field.name),
                    extra: Map::new(),
                }]),
                other => other,
            })
            .and_then(|v| {
                if let (Some(max), Value::String(s)) = (field.max_length, value)
                    && s.chars().count() > max
                {
                    return Err(Error::ValueTooLong {
                        collection: coll.name.to_string(),
                        field: field.name.to_string(),
                    });
                }
                let decimal_overflows = field.numeric.is_some_and(|(precision, scale)| {
                    let text = match value {
                        Value::Number(n) => n.to_string(),
                        Value::String(s) => s.trim().to_string(),
                        _ => return false,
                    };
                    let whole = text
                        .trim_start_matches(['-', '+'])
                        .split(['.', 'e', 'E'])
                        .next()
                        .unwrap_or_default()
                        .trim_start_matches('0')
                        .len();
                    whole > precision.saturating_sub(scale) as usize
                });
                let integer_overflows = field.kind == FieldKind::Integer
                    && value
                        .as_i64()
                        .or_else(|| value.as_f64().map(|f| f as i64))
                        .is_some_and(|n| i32::try_from(n).is_err());
                if decimal_overflows || integer_overflows {
                    return Err(Error::ValueOutOfRange {
                        collection: coll.name.to_string(),
                        field: field.name.to_string(),
                    });
                }
                Ok(v)
            })
    }

    /// Replaces nested m2o objects by the keys of the rows they create or link, and takes
    /// o2m arrays out of the payload to be written once the parent exists.
    async fn resolve_relations(
        &mut self,
        tx: &DatabaseTransaction,
        coll: &Collection,
        obj: &mut Map<String, Value>,
        _key: Option<&str>,
    ) -> Result<Vec<(&'s Field, Value)>> {
        let mut deferred = Vec::new();
        let names: Vec<String> = obj.keys().cloned().collect();
        for name in names {
            let Some(field) = self.collection(coll.name)?.field(&name) else {
                // Unknown payload fields are ignored, as Directus does.
                obj.remove(&name);
                continue;
            };
            match &field.relation {
                Some(Relation::ManyToOne { target }) => {
                    if let Some(Value::Object(nested)) = obj.get(&name).cloned() {
                        let target = self.collection(target)?;
                        let key = self.upsert_related(tx, target, nested).await?;
                        obj.insert(name.clone(), Value::from(key));
                    }
                }
                Some(Relation::OneToMany { .. }) => {
                    if let Some(value) = obj.remove(&name)
                        && !Value::is_null(&value)
                    {
                        deferred.push((field, value));
                    }
                }
                None => {}
            }
        }
        Ok(deferred)
    }

    /// A nested object links the row with its key when that row exists (updating it with
    /// any other fields given), and creates a new row otherwise.
    async fn upsert_related(
        &mut self,
        tx: &DatabaseTransaction,
        target: &'s Collection,
        mut nested: Map<String, Value>,
    ) -> Result<String> {
        if let Some(key) = nested.get(target.primary_key).and_then(key_text)
            && self.exists(tx, target, &key).await?
        {
            nested.remove(target.primary_key);
            if !nested.is_empty() {
                if !target.writable {
                    return Err(Error::forbidden());
                }
                self.update(tx, target, &key, Value::Object(nested)).await?;
            }
            return Ok(key);
        }
        if !target.writable {
            return Err(Error::forbidden());
        }
        self.create(tx, target, Value::Object(nested)).await
    }

    /// Writes o2m children: scalars link existing rows, objects with a known key update them,
    /// other objects create them. On update the list replaces the set: children left out are
    /// deleted (Directus's `one_deselect_action: delete` for operations) or unlinked.
    /// The detailed form `{create, update, delete}` changes only what it names.
    async fn write_children(
        &mut self,
        tx: &DatabaseTransaction,
        key: &str,
        deferred: Vec<(&'s Field, Value)>,
        replace: bool,
    ) -> Result<()> {
        for (field, value) in deferred {
            let Some(Relation::OneToMany {
                target,
                foreign_field,
            }) = &field.relation
            else {
                continue;
            };
            let target = self.collection(target)?;
            if !target.writable {
                return Err(Error::forbidden());
            }
            let (items, deletes, replace) = match value {
                Value::Array(items) => (items, Vec::new(), replace),
                Value::Object(mut detail) => {
                    let mut items = Vec::new();
                    for part in ["create", "update"] {
                        if let Some(Value::Array(list)) = detail.remove(part) {
                            items.extend(list);
                        }
                    }
                    let deletes = match detail.remove("delete") {
                        Some(Value::Array(list)) => list.iter().filter_map(key_text).collect(),
                        _ => Vec::new(),
                    };
                    (items, deletes, false)
                }
                _ => {
                    return Err(Error::payload(format!(
                        "\"{}\" has to be an array",
                        field.name
                    )));
                }
            };
            check_batch(items.len())?;
            let mut kept = Vec::new();
            for item in items {
                let child_key = match item {
                    Value::Object(mut obj) => {
                        obj.insert(foreign_field.to_string(), Value::from(key));
                        match obj.get(target.primary_key).and_then(key_text) {
                            Some(existing) if self.exists(tx, target, &existing).await? => {
                                self.update(tx, target, &existing, Value::Object(obj))
                                    .await?;
                                existing
                            }
                            _ => self.create(tx, target, Value::Object(obj)).await?,
                        }
                    }
                    other => {
                        let existing = key_text(&other).ok_or_else(|| {
                            Error::payload(format!("Invalid item in \"{}\"", field.name))
                        })?;
                        if !self.exists(tx, target, &existing).await? {
                            return Err(Error::InvalidForeignKey {
                                collection: target.name.to_string(),
                                field: target.primary_key.to_string(),
                                value: existing,
                            });
                        }
                        let mut link = Map::new();
                        link.insert(foreign_field.to_string(), Value::from(key));
                        self.update(tx, target, &existing, Value::Object(link))
                            .await?;
                        existing
                    }
                };
                kept.push(child_key);
            }
            let mut removed = deletes;
            if replace {
                let mut stmt = Sql::select();
                let fk = target
                    .field(foreign_field)
                    .ok_or_else(|| Error::Internal("o2m foreign key missing".into()))?;
                stmt.expr(col("t0", target.primary_key))
                    .from_as(Alias::new(target.name), Alias::new("t0"))
                    .and_where(in_list(
                        self.backend,
                        "t0",
                        foreign_field,
                        fk.kind,
                        &[key.to_string()],
                    ));
                for child in read_keys(tx, self.backend, target, stmt).await? {
                    if !kept.contains(&child) {
                        removed.push(child);
                    }
                }
            }
            if !removed.is_empty() {
                self.delete(tx, target, &removed, true).await?;
            }
        }
        Ok(())
    }

    /// Foreign keys must name existing rows, and unique references must stay unique:
    /// checked here so that clients get Directus's codes with the field and value.
    async fn check_references(
        &self,
        tx: &DatabaseTransaction,
        coll: &Collection,
        obj: &Map<String, Value>,
        key: &str,
    ) -> Result<()> {
        for field in coll.columns() {
            let Some(value) = obj.get(field.name).and_then(key_text) else {
                continue;
            };
            if let Some(target) = field.m2o_target() {
                let target = self.collection(target)?;
                let valid = uuid::Uuid::parse_str(&value).is_ok()
                    || target.pk_field().kind != FieldKind::Uuid;
                if !valid || !self.exists(tx, target, &value).await? {
                    return Err(Error::InvalidForeignKey {
                        collection: coll.name.to_string(),
                        field: field.name.to_string(),
                        value,
                    });
                }
            }
            if field.unique {
                let mut stmt = Sql::select();
                stmt.expr(Expr::cust("1"))
                    .from_as(Alias::new(coll.name), Alias::new("t0"))
                    .and_where(in_list(
                        self.backend,
                        "t0",
                        field.name,
                        field.kind,
                        std::slice::from_ref(&value),
                    ))
                    .and_where(
                        in_list(
                            self.backend,
                            "t0",
                            coll.primary_key,
                            coll.pk_field().kind,
                            &[key.to_string()],
                        )
                        .not(),
                    )
                    .limit(1);
                if tx.query_one(&stmt).await?.is_some() {
                    return Err(Error::RecordNotUnique {
                        collection: coll.name.to_string(),
                        field: field.name.to_string(),
                        value,
                    });
                }
            }
        }
        if coll.name == "directus_operations" {
            flow_graph::check_key_unique(tx, self.backend, obj, key).await?;
        }
        if coll.name == "directus_permissions"
            && let (Some(Value::String(target)), Some(filter @ Value::Object(_))) =
                (obj.get("collection"), obj.get("permissions"))
            && let Some(target) = self.catalog.get(target)
        {
            // A filter that cannot compile would break every later read of that role:
            // refuse it now, with the reason.
            let scope = Scope::new(self.backend, self.catalog, self.acc);
            crate::filter::compile(&scope, target, "t0", filter).map_err(|err| {
                Error::payload(format!("\"permissions\" is not a valid filter: {err}"))
            })?;
        }
        Ok(())
    }
}

/// A payload may only name fields the grant lists (fields unknown to the collection are
/// dropped later, as Directus ignores them).
fn check_fields(
    coll: &Collection,
    grant: Option<&crate::permissions::Grant>,
    obj: &Map<String, Value>,
) -> Result<()> {
    let Some(grant) = grant else { return Ok(()) };
    let hidden: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|name| coll.field(name).is_some() && !grant.allows_field(name))
        .collect();
    if hidden.is_empty() {
        Ok(())
    } else {
        Err(Error::forbidden_fields(&hidden, coll.name))
    }
}

/// Reads the first column of each row as key text.
pub(crate) async fn read_keys(
    tx: &impl ConnectionTrait,
    backend: DbBackend,
    coll: &Collection,
    stmt: sea_orm::sea_query::SelectStatement,
) -> Result<Vec<String>> {
    let rows = tx.query_all(&stmt).await?;
    let kind = coll.pk_field().kind;
    let mut keys = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(key) = key_text(&sql::decode(backend, row, 0, sql::Decode::Field(kind))?) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// Payload checks that need no database: required fields, enums, JSON shapes.
fn validate(coll: &Collection, obj: &Map<String, Value>, creating: bool) -> Vec<FieldViolation> {
    let mut violations = Vec::new();
    for field in coll.columns() {
        let value = obj.get(field.name);
        let missing = match value {
            None => creating && !field.has_default,
            Some(v) => v.is_null(),
        };
        if field.not_null && missing {
            violations.push(FieldViolation::required(field.name));
            continue;
        }
        let Some(value) = value.filter(|v| !v.is_null()) else {
            continue;
        };
        if let Some(allowed) = field.allowed
            && !value.as_str().is_some_and(|s| allowed.contains(&s))
        {
            violations.push(FieldViolation::one_of(field.name, allowed));
        }
        if field.name == "options" && field.kind == FieldKind::Json && !value.is_object() {
            violations.push(FieldViolation {
                field: field.name.to_string(),
                kind: "type",
                message: format!(
                    "Validation failed for field \"{}\". Value has to be an object.",
                    field.name
                ),
                extra: Map::new(),
            });
        }
        if coll.name == "directus_permissions" {
            let shape = match field.name {
                "permissions" if !value.is_object() => Some("Value has to be an object"),
                "fields"
                    if !value
                        .as_array()
                        .is_some_and(|list| list.iter().all(Value::is_string)) =>
                {
                    Some("Value has to be an array of field names")
                }
                _ => None,
            };
            if let Some(shape) = shape {
                violations.push(FieldViolation {
                    field: field.name.to_string(),
                    kind: "type",
                    message: format!("Validation failed for field \"{}\". {shape}.", field.name),
                    extra: Map::new(),
                });
            }
        }
        if coll.name == "directus_flows" && field.name == "accountability" {
            let ok = value
                .as_str()
                .is_some_and(|s| ACCOUNTABILITY.contains(&s) || uuid::Uuid::parse_str(s).is_ok());
            if !ok {
                violations.push(FieldViolation::one_of(field.name, ACCOUNTABILITY));
            }
        }
    }
    violations
}

/// `directus_flows.accountability`: the logging switch (`all`, `activity`) plus the values
/// older Directus docs print (`$trigger`, `$public`, `$full`, or a role id), which log like
/// `activity`.
pub const ACCOUNTABILITY: &[&str] = &["all", "activity", "$trigger", "$public", "$full"];

#[cfg(test)]
mod tests {
    use super::*;
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
