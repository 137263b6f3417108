//! Run logs: one `directus_activity` row per run when the flow's `accountability` is set,
//! plus a `directus_revisions` row holding the steps and the final chain when it is `all`,
//! and for a run that did not come from the queue a `flowline_runs` row (with its steps when
//! they are recorded), so that `/runs` shows logged synchronous runs beside queued ones.
//!
//! A run inside a filtered write logs on that write's transaction. Every other run hands its
//! log to the engine's [`Writer`], one task that commits all the logs queued meanwhile in one
//! transaction: on PostgreSQL each commit waits for a WAL flush, and one flush shared by the
//! runs of a moment instead of one per run is what lets busy webhooks scale. The run still
//! answers only once its rows are committed.

use domain::activity::{Activity, Revision};
use domain::{Accountability, ItemsService};
use sea_orm::{ConnectionTrait, TransactionSession, TransactionTrait};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::plan::FlowPlan;
use crate::redact;
use crate::runner::{Run, Status};

/// Most runs written in one transaction.
const BATCH: usize = 256;

/// Most runs waiting for the writer; beyond it, finished runs wait for room, so a flood
/// slows down instead of growing memory without bound.
const QUEUE: usize = 1024;

/// The rows of one run's log, built and redacted when the run ends.
pub(crate) struct Entry {
    flow: String,
    accountability: Option<Accountability>,
    /// The revision's data as JSON text (`accountability: all`); `None` logs the activity
    /// row only. Serialised by the run, not by the one writer task.
    revision: Option<String>,
    /// When the run ended: the activity row's timestamp.
    ended: chrono::DateTime<chrono::Utc>,
    /// Its `flowline_runs` row, for a run that did not come from the queue (whose row
    /// exists already).
    run: Option<domain::runs::Finished>,
}

/// Whether a run of `flow` ends with a revision holding its steps (`accountability: all`).
pub(crate) fn records_steps(flow: &FlowPlan) -> bool {
    flow.accountability.as_deref() == Some("all")
}

/// The log of a finished run, or `None` when the flow keeps none (`accountability: null`).
pub(crate) fn entry(
    flow: &FlowPlan,
    run: &Run,
    acc: Option<&Accountability>,
    env: &Map<String, Value>,
) -> Option<Entry> {
    flow.accountability.as_ref()?;
    let revision = records_steps(flow).then(|| revision_data(run, env).to_string());
    let ended = chrono::Utc::now();
    Some(Entry {
        flow: flow.id.clone(),
        accountability: acc.cloned(),
        revision,
        ended,
        run: (!run.queued).then(|| finished(flow, run, env, ended.timestamp_millis())),
    })
}

/// A synchronous run as a row of `flowline_runs`, its outputs redacted as in the revision.
fn finished(
    flow: &FlowPlan,
    run: &Run,
    env: &Map<String, Value>,
    ended: i64,
) -> domain::runs::Finished {
    let redacted = |value: &Value| {
        let mut value = value.clone();
        redact::redact_secrets(&mut value);
        redact::redact_env(&mut value, env);
        value
    };
    let steps = run
        .steps
        .iter()
        .map(|step| {
            let started = chrono::DateTime::parse_from_rfc3339(&step.started_at)
                .map_or(run.started_at, |at| at.timestamp_millis());
            domain::runs::JournalStep {
                operation: step.operation.clone(),
                key: step.key.clone(),
                resolved: step.status == Status::Resolve,
                output: redacted(&step.output),
                started_at: started,
                finished_at: started + step.duration_ms.round() as i64,
                attempts: 1,
            }
        })
        .collect();
    domain::runs::Finished {
        flow: flow.id.clone(),
        trigger: flow
            .trigger
            .as_ref()
            .map(|t| t.name().to_string())
            .unwrap_or_default(),
        resolved: run.last_status != Some(Status::Reject),
        started_at: run.started_at,
        finished_at: ended,
        error: match (&run.last_status, &run.last_rejection) {
            (Some(Status::Reject), Some(rejection)) => Some(redacted(&rejection.data).to_string()),
            _ => None,
        },
        steps,
    }
}

/// The steps, outputs and final chain, with secrets and `$env` values redacted: each
/// redacted in place in the one copy the log needs.
fn revision_data(run: &Run, env: &Map<String, Value>) -> Value {
    let steps: Vec<Value> = run
        .steps
        .iter()
        .map(|s| {
            let mut step = serde_json::to_value(s).unwrap_or(Value::Null);
            // Outputs are chain data: redacted like the chain.
            if let Some(output) = step.get_mut("output") {
                redact::redact_secrets(output);
            }
            step
        })
        .collect();
    let mut steps = Value::Array(steps);
    redact::redact_env(&mut steps, env);
    let mut data = Value::Object(run.chain.clone());
    redact::redact_secrets(&mut data);
    redact::redact_env(&mut data, env);
    json!({
        "steps": steps,
        "data": data,
    })
}

/// Writes one run's log on `db`: the pool, or the write transaction a filter flow runs in,
/// whose log then commits or rolls back with the write. Errors are logged, never surfaced,
/// as in Directus.
pub(crate) async fn write<C: ConnectionTrait + TransactionTrait>(db: &C, entry: &Entry) {
    if let Err(err) = insert(db, std::slice::from_ref(entry)).await {
        // Debug: the display of an internal error hides the database's detail.
        tracing::error!(flow = %entry.flow, ?err, "could not write the run log");
    }
}

/// Inserts the logs of `entries`, in order, in one transaction (a savepoint inside a
/// caller's transaction): readers never see an activity row without its revision, and all
/// the rows cost one commit. Activities go first, many per statement, and their ids (in the
/// order of `entries`) link the revisions.
async fn insert<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    entries: &[Entry],
) -> Result<(), domain::Error> {
    if let [only] = entries
        && only.revision.is_none()
        && only.run.is_none()
    {
        // One statement needs no transaction of its own.
        domain::activity::insert_activities(db, &[only.activity()]).await?;
        return Ok(());
    }
    let tx = db.begin().await?;
    let activities: Vec<Activity<'_>> = entries.iter().map(Entry::activity).collect();
    let ids = domain::activity::insert_activities(&tx, &activities).await?;
    let revisions: Vec<Revision<'_>> = entries
        .iter()
        .zip(ids)
        .filter_map(|(entry, id)| {
            entry.revision.as_ref().map(|data| Revision {
                activity: id,
                collection: "directus_flows",
                item: &entry.flow,
                data,
                delta: None,
            })
        })
        .collect();
    domain::activity::insert_revisions(&tx, &revisions).await?;
    let ended: Vec<&domain::runs::Finished> =
        entries.iter().filter_map(|e| e.run.as_ref()).collect();
    domain::runs::record(&tx, &ended).await?;
    tx.commit().await?;
    Ok(())
}

impl Entry {
    fn activity(&self) -> Activity<'_> {
        Activity {
            action: "run",
            acc: self.accountability.as_ref(),
            collection: "directus_flows",
            item: &self.flow,
            at: self.ended,
        }
    }
}

/// A run's log waiting for the writer, and how the writer tells the run it is committed.
struct Queued {
    entry: Entry,
    done: oneshot::Sender<()>,
}

/// The group-commit log writer: the sending end of its queue. The task ends when the engine
/// (the last sender) is dropped.
pub(crate) struct Writer {
    queue: mpsc::Sender<Queued>,
}

impl Writer {
    /// Starts the writer task on the current runtime. It writes through `items.writer()`,
    /// the one connection SQLite writes on, like every other write.
    pub(crate) fn start(items: ItemsService) -> Writer {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(drain(items, receiver));
        Writer { queue }
    }

    /// Queues a run's log and waits until the writer committed it (or gave up on it), so a
    /// run answers only after its log is in the database. Without the writer (the runtime it
    /// ran on is shutting down) the log is written here.
    pub(crate) async fn write(&self, items: &ItemsService, entry: Entry) {
        let (done, committed) = oneshot::channel();
        match self.queue.send(Queued { entry, done }).await {
            Ok(()) => {
                if committed.await.is_err() {
                    tracing::error!("the run log writer stopped before writing a run's log");
                }
            }
            // Boxed: a database write's future is kilobytes, and inlined it would size every
            // in-flight run's task, however rarely this path runs.
            Err(mpsc::error::SendError(queued)) => {
                Box::pin(write(&items.writer(), &queued.entry)).await;
            }
        }
    }
}

/// The writer task: takes everything queued (up to [`BATCH`] runs), writes it in one
/// transaction, then acknowledges every run of the batch.
async fn drain(items: ItemsService, mut receiver: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        let (entries, acks): (Vec<Entry>, Vec<oneshot::Sender<()>>) = batch
            .drain(..)
            .map(|queued| (queued.entry, queued.done))
            .unzip();
        write_batch(&items, &entries).await;
        for ack in acks {
            // A run whose caller went away no longer listens; its log is written all the same.
            let _ = ack.send(());
        }
    }
}

/// Writes a batch in one transaction; when that fails, writes each run's log on its own,
/// so that one bad row does not lose the other runs' logs.
async fn write_batch(items: &ItemsService, entries: &[Entry]) {
    let db = items.writer();
    if let [only] = entries {
        write(&db, only).await;
        return;
    }
    match insert(&db, entries).await {
        Ok(()) => tracing::trace!(runs = entries.len(), "run logs committed together"),
        Err(err) => {
            tracing::warn!(
                runs = entries.len(),
                ?err,
                "could not write run logs together; writing them one by one"
            );
            for entry in entries {
                write(&db, entry).await;
            }
        }
    }
}
