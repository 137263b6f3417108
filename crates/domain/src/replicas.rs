//! Replicas on one PostgreSQL database hear each other's writes.
//!
//! A committed write to a system collection (flows, operations, permissions, users, and any
//! `directus_*` collection added later) is announced with `pg_notify` inside the write's own
//! transaction, so PostgreSQL delivers the notice when, and only if, the write commits.
//! Every replica listens on the channel with sqlx's `PgListener` and republishes what the
//! others wrote on its own change feed ([`ItemsService::subscribe`](crate::ItemsService)),
//! which the plan, the schedules, the token store and GraphQL subscriptions already follow
//! for local writes. Writes to user tables are not announced: nothing a replica keeps in
//! memory derives from them, and their hot paths (item operations in flows) stay one
//! statement shorter.
//!
//! Changes of queued runs ([`ItemsService::run_changes`](crate::ItemsService)) are announced
//! too, but not one notice per change: under load they come by the thousand a second, and
//! PostgreSQL serialises the commits that notify. Each replica gathers its runs' changes for
//! [`RUN_GATHER`] and announces them in one notice (or a few), outside any transaction, after
//! the changes committed; a replica behind on them drops the excess, as a lagging subscriber
//! does.
//!
//! Notifications are not queued for a listener that is away. When its connection drops, the
//! listener connects again and publishes [`Change::Missed`], and every follower reads its
//! state whole; until then the replica serves what it had.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::Accountability;
use crate::error::{Error, Result};
use crate::items::{Change, Mutation, MutationEvent, Origin, RunChange};

/// PostgreSQL refuses a payload of 8,000 bytes or more; a write naming more keys than fit
/// below this is announced in several notices.
const MAX_NOTICE: usize = 7_000;

/// How long a replica gathers its runs' changes before announcing them.
pub const RUN_GATHER: Duration = Duration::from_millis(50);

/// Run changes waiting to be announced; beyond it, changes are dropped.
const RUN_BACKLOG: usize = 16_384;

/// The longest wait between two attempts to listen again.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// This replica's place among the others.
pub struct Replicas {
    /// One channel per database schema, so that deployments (and parallel test schemas)
    /// sharing a PostgreSQL database do not hear each other.
    channel: String,
    /// Tells this replica's own notices apart: it published those changes when it wrote them.
    id: uuid::Uuid,
    /// The PostgreSQL backend of the listening connection, 0 while it is not connected.
    listener_pid: Arc<AtomicI32>,
    listener: tokio::task::AbortHandle,
    /// This replica's run changes, on their way to [`announce_runs`].
    runs: tokio::sync::mpsc::Sender<RunChange>,
    announcer: tokio::task::AbortHandle,
}

impl Drop for Replicas {
    fn drop(&mut self) {
        self.listener.abort();
        self.announcer.abort();
    }
}

/// One notice: what another replica's write changed, as much as followers read of it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Notice {
    replica: uuid::Uuid,
    collection: String,
    event: MutationEvent,
    keys: Vec<String>,
    /// The `flow` each payload names, when it names one: the one part of a payload a
    /// follower reads (an operation created in or moved to a flow).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    flows: Vec<Value>,
}

impl Replicas {
    /// Joins the replicas of `db` and starts listening to them; `None` on SQLite.
    pub async fn join(
        db: &DatabaseConnection,
        feed: broadcast::Sender<Change>,
        run_feed: broadcast::Sender<RunChange>,
    ) -> Result<Option<Arc<Self>>> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let channel = channel_of(db).await?;
        // A connection of its own, outside the pool: it is held for as long as the replica
        // runs, and must not take a slot that requests need.
        let options = (*db.get_postgres_connection_pool().connect_options())
            .clone()
            .application_name("flowline-listener");
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(options);
        let listener_pid = Arc::new(AtomicI32::new(0));
        let listener = listen(&pool, &channel, &listener_pid)
            .await
            .map_err(|err| Error::Internal(format!("listening to the other replicas: {err}")))?;
        let id = uuid::Uuid::new_v4();
        let task = tokio::spawn(follow(
            listener,
            pool,
            channel.clone(),
            id,
            listener_pid.clone(),
            feed,
            run_feed,
        ));
        let (runs, backlog) = tokio::sync::mpsc::channel(RUN_BACKLOG);
        let announcer = tokio::spawn(announce_runs(db.clone(), channel.clone(), id, backlog));
        Ok(Some(Arc::new(Replicas {
            channel,
            id,
            listener_pid,
            listener: task.abort_handle(),
            runs,
            announcer: announcer.abort_handle(),
        })))
    }

    /// The PostgreSQL backend pid of the listening connection (0 while reconnecting), for
    /// operators and tests that want to cut it.
    pub fn listener_pid(&self) -> i32 {
        self.listener_pid.load(Ordering::SeqCst)
    }

    /// Hands a committed change of a run to the announcer; dropped when it is far behind.
    pub(crate) fn announce_run(&self, change: RunChange) {
        let _ = self.runs.try_send(change);
    }

    /// Announces `mutations` inside `tx`: the notices leave when it commits.
    pub(crate) async fn announce(
        &self,
        tx: &DatabaseTransaction,
        mutations: &[Mutation],
    ) -> Result<()> {
        for mutation in mutations {
            if !mutation.collection.starts_with("directus_") {
                continue;
            }
            for notice in notices(self.id, mutation) {
                tx.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_notify($1, $2)",
                    [self.channel.clone().into(), notice.into()],
                ))
                .await?;
            }
        }
        Ok(())
    }
}

/// The channel of the schema `db` works in, named by PostgreSQL itself so that every
/// replica arrives at the same name. Channel names are identifiers (63 bytes at most), so
/// the schema is hashed rather than spelled out.
async fn channel_of(db: &DatabaseConnection) -> Result<String> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT 'flowline_' || left(md5(current_schema()), 16)",
        ))
        .await?
        .ok_or_else(|| Error::Internal("current_schema() answered no row".into()))?;
    Ok(row.try_get_by_index::<String>(0)?)
}

/// A listener on `channel`, with its backend pid recorded.
async fn listen(
    pool: &PgPool,
    channel: &str,
    pid: &AtomicI32,
) -> std::result::Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    let (backend,): (i32,) = sea_orm::sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(&mut listener)
        .await?;
    pid.store(backend, Ordering::SeqCst);
    Ok(listener)
}

/// Republishes the other replicas' notices until the service is dropped; after a lost
/// connection, listens again and publishes [`Change::Missed`].
async fn follow(
    mut listener: PgListener,
    pool: PgPool,
    channel: String,
    own: uuid::Uuid,
    pid: Arc<AtomicI32>,
    feed: broadcast::Sender<Change>,
    run_feed: broadcast::Sender<RunChange>,
) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                match serde_json::from_str::<Notice>(notification.payload()) {
                    Ok(notice) if notice.replica == own => {}
                    // Another replica's runs: for this replica's run subscriptions only.
                    Ok(notice) if notice.collection == crate::catalog::RUNS => {
                        if run_feed.receiver_count() > 0 {
                            for run in notice.keys {
                                let _ = run_feed.send(RunChange {
                                    event: notice.event,
                                    run,
                                });
                            }
                        }
                    }
                    Ok(notice) => {
                        let _ = feed.send(Change::Mutation(notice.into_mutation()));
                    }
                    Err(err) => {
                        tracing::warn!(%err, "an unreadable notice from another replica; reloading");
                        let _ = feed.send(Change::Missed);
                    }
                }
            }
            // The connection dropped, or PostgreSQL ended it: whatever was announced
            // meanwhile is gone. A fresh listener, then a full reload.
            Ok(None) | Err(_) => {
                pid.store(0, Ordering::SeqCst);
                drop(listener);
                tracing::warn!(
                    "lost the connection that hears the other replicas; listening again"
                );
                let mut wait = Duration::from_millis(50);
                listener = loop {
                    match listen(&pool, &channel, &pid).await {
                        Ok(listener) => break listener,
                        Err(err) => {
                            tracing::warn!(%err, ?wait, "listening to the other replicas failed; retrying");
                            tokio::time::sleep(wait).await;
                            wait = (wait * 2).min(MAX_RETRY);
                        }
                    }
                };
                tracing::info!(
                    "listening to the other replicas again; reloading what they may have changed"
                );
                let _ = feed.send(Change::Missed);
            }
        }
    }
}

/// Announces this replica's run changes, gathered over [`RUN_GATHER`], until the replica is
/// dropped. A run's changes keep their order; its creation comes before its updates.
async fn announce_runs(
    db: DatabaseConnection,
    channel: String,
    own: uuid::Uuid,
    mut backlog: tokio::sync::mpsc::Receiver<RunChange>,
) {
    let mut batch = Vec::new();
    while backlog.recv_many(&mut batch, RUN_BACKLOG).await > 0 {
        tokio::time::sleep(RUN_GATHER).await;
        while batch.len() < RUN_BACKLOG {
            match backlog.try_recv() {
                Ok(change) => batch.push(change),
                Err(_) => break,
            }
        }
        for event in [MutationEvent::Create, MutationEvent::Update] {
            let keys: Vec<String> = batch
                .iter()
                .filter(|c| c.event == event)
                .map(|c| c.run.clone())
                .collect();
            if keys.is_empty() {
                continue;
            }
            let mutation = Mutation {
                collection: crate::catalog::RUNS.to_string(),
                event,
                keys,
                payloads: Vec::new(),
                accountability: Accountability::system(),
                origin: Origin::default(),
                remote: false,
            };
            for notice in notices(own, &mutation) {
                let sent = db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "SELECT pg_notify($1, $2)",
                        [channel.clone().into(), notice.into()],
                    ))
                    .await;
                if let Err(err) = sent {
                    tracing::warn!(%err, "could not announce run changes to the other replicas");
                }
            }
        }
        batch.clear();
    }
}

/// The notices announcing `mutation`, each below [`MAX_NOTICE`] bytes.
fn notices(replica: uuid::Uuid, mutation: &Mutation) -> Vec<String> {
    let flows: Vec<Value> = mutation
        .payloads
        .iter()
        .filter_map(|payload| payload.get("flow"))
        .map(|flow| match flow {
            // A nested flow is named by its key; one without a key cannot be placed, and an
            // empty object says so (followers then read every flow).
            Value::Object(obj) => obj
                .get("id")
                .map_or_else(|| json!({}), |id| json!({"id": id})),
            other => other.clone(),
        })
        .collect();
    let mut out = Vec::new();
    let mut notice = Notice {
        replica,
        collection: mutation.collection.clone(),
        event: mutation.event,
        keys: Vec::new(),
        flows,
    };
    let base = serde_json::to_string(&notice).map_or(0, |s| s.len());
    if base > MAX_NOTICE {
        // Too many flows named to carry: a notice that names none, and no keys, still
        // tells followers which collection changed; its flows are read again whole.
        notice.flows = vec![json!({})];
    }
    let mut size = serde_json::to_string(&notice).map_or(0, |s| s.len());
    for key in &mutation.keys {
        let cost = key.len() + 4;
        if size + cost > MAX_NOTICE && !notice.keys.is_empty() {
            out.extend(serde_json::to_string(&notice).ok());
            notice.keys.clear();
            notice.flows.clear();
            size = serde_json::to_string(&notice).map_or(0, |s| s.len());
        }
        notice.keys.push(key.clone());
        size += cost;
    }
    out.extend(serde_json::to_string(&notice).ok());
    out
}

impl Notice {
    fn into_mutation(self) -> Mutation {
        Mutation {
            collection: self.collection,
            event: self.event,
            keys: self.keys,
            payloads: self
                .flows
                .into_iter()
                .map(|flow| json!({ "flow": flow }))
                .collect(),
            accountability: Accountability::system(),
            origin: Origin::default(),
            remote: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutation(keys: usize, payloads: Vec<Value>) -> Mutation {
        Mutation {
            collection: "directus_operations".into(),
            event: MutationEvent::Create,
            keys: (0..keys)
                .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
                .collect(),
            payloads,
            accountability: Accountability::system(),
            origin: Origin::default(),
            remote: false,
        }
    }

    #[test]
    fn a_notice_carries_the_keys_and_the_flows_named() {
        let id = uuid::Uuid::nil();
        let m = mutation(
            2,
            vec![
                json!({"flow": "f1", "options": {"big": "x"}}),
                json!({"flow": {"id": "f2", "name": "n"}}),
                json!({"flow": {"name": "inline"}}),
                json!({"key": "no flow"}),
            ],
        );
        let sent = notices(id, &m);
        assert_eq!(sent.len(), 1);
        let notice: Notice = serde_json::from_str(&sent[0]).expect("notice");
        assert_eq!(
            notice,
            Notice {
                replica: id,
                collection: "directus_operations".into(),
                event: MutationEvent::Create,
                keys: m.keys.clone(),
                flows: vec![json!("f1"), json!({"id": "f2"}), json!({})],
            }
        );
        let heard = notice.into_mutation();
        assert!(heard.remote);
        assert_eq!(heard.keys, m.keys);
        assert_eq!(
            heard.payloads,
            vec![
                json!({"flow": "f1"}),
                json!({"flow": {"id": "f2"}}),
                json!({"flow": {}})
            ]
        );
    }

    #[test]
    fn many_keys_are_split_over_notices_below_the_postgres_limit() {
        let m = mutation(1000, Vec::new());
        let sent = notices(uuid::Uuid::nil(), &m);
        assert!(sent.len() > 1);
        assert!(
            sent.iter().all(|n| n.len() <= MAX_NOTICE),
            "a notice is too long"
        );
        let keys: Vec<String> = sent
            .iter()
            .flat_map(|n| serde_json::from_str::<Notice>(n).expect("notice").keys)
            .collect();
        assert_eq!(keys, m.keys);
    }

    #[test]
    fn too_many_flows_to_name_ask_for_every_flow_to_be_read() {
        let payloads = (0..1000)
            .map(|i| json!({"flow": format!("{i:036}")}))
            .collect();
        let sent = notices(uuid::Uuid::nil(), &mutation(1000, payloads));
        assert!(sent.iter().all(|n| n.len() <= MAX_NOTICE));
        let first: Notice = serde_json::from_str(&sent[0]).expect("notice");
        assert_eq!(first.flows, vec![json!({})]);
    }
}
