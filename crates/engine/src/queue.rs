//! Workers of the durable run queue ([`domain::runs`]): every run that nobody waits for is
//! written to the queue before it is acknowledged, and run from there.
//!
//! Each replica claims queued runs in batches as its worker slots free up
//! ([`QueueConfig::concurrency`]), so a burst waits its turn instead of every run competing
//! for the database pool at once; it renews the leases of the runs it holds, and a run whose
//! lease runs out (its replica died) is claimed again by whichever replica looks next,
//! including this process after a restart. A run taken over resumes after the last step its
//! journal holds ([`crate::runner::Durable`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use domain::runs::{self, Claimed, QueuedStart, RunStatus};
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};

use crate::Engine;
use crate::plan::FlowPlan;
use crate::runner::{Durable, Start, Status};

/// Settings of the queue (`FLOW_RUNS_*`).
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Runs this replica works on at once.
    pub concurrency: usize,
    /// Queued runs beyond which new async calls are refused (503) rather than accepted.
    pub bound: u64,
    /// How long a claim holds without renewal: a run whose replica died waits this long
    /// before another takes it over.
    pub lease: Duration,
    /// How often an idle worker looks for runs other replicas queued.
    pub poll: Duration,
    /// How long ended runs are kept before they are deleted; `None` keeps them.
    pub retention: Option<Duration>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            concurrency: 512,
            bound: 100_000,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(250),
            retention: Some(Duration::from_secs(14 * 24 * 3600)),
        }
    }
}

/// Refused: the queue holds [`QueueConfig::bound`] runs already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

pub(crate) struct Queue {
    config: QueueConfig,
    /// Names this replica in leases.
    owner: String,
    slots: Arc<Semaphore>,
    wake: Notify,
    stopping: AtomicBool,
    /// The runs this replica works on, to renew their leases and stop them on shutdown.
    running: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    /// Queued runs, as last counted plus what this replica queued since.
    queued: AtomicU64,
    /// Runs may have been queued without passing through `queued` (a write's action runs):
    /// the next renewal counts the queue again. Always set with other replicas around.
    recount: AtomicBool,
    /// Async calls' runs on their way to the database ([`take_in`]).
    intake: mpsc::Sender<Intake>,
    /// The receiving end, until [`start`] hands it to its task.
    intake_rx: Mutex<Option<mpsc::Receiver<Intake>>>,
    /// Completed steps of queued runs on their way to the journal ([`journal_steps`]).
    pub(crate) journal: mpsc::Sender<Journaled>,
    journal_rx: Mutex<Option<mpsc::Receiver<Journaled>>>,
}

/// A run an async call queues, and how the caller learns it is committed.
struct Intake {
    flow: String,
    trigger: String,
    /// [`QueuedStart`] as JSON text, written by the caller rather than the one intake task.
    start: String,
    done: oneshot::Sender<Result<String, String>>,
}

/// Most runs written in one statement by the intake.
const INTAKE_BATCH: usize = 512;

/// What the journal writer ([`journal_steps`]) records, and how the run learns it is
/// committed.
pub(crate) struct Journaled {
    pub(crate) entry: Entry,
    pub(crate) done: oneshot::Sender<Result<(), String>>,
}

pub(crate) enum Entry {
    /// A completed step of a run under way.
    Step {
        run: String,
        seq: i32,
        step: runs::JournalStep,
    },
    /// How a run ended: after its last step's entry, which its run waited for.
    Finish(runs::Ending),
}

impl Queue {
    pub(crate) fn new(config: QueueConfig, owner: String) -> Self {
        let (intake, intake_rx) = mpsc::channel(INTAKE_BATCH * 4);
        let (journal, journal_rx) = mpsc::channel(INTAKE_BATCH * 4);
        Queue {
            intake,
            intake_rx: Mutex::new(Some(intake_rx)),
            journal,
            journal_rx: Mutex::new(Some(journal_rx)),
            slots: Arc::new(Semaphore::new(config.concurrency.max(1))),
            owner,
            config,
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
            running: Mutex::new(HashMap::new()),
            queued: AtomicU64::new(0),
            recount: AtomicBool::new(false),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, tokio::task::AbortHandle>> {
        match self.running.lock() {
            Ok(running) => running,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl crate::Inner {
    /// Tells the workers that a run was queued by other means than [`Engine::enqueue`].
    pub(crate) fn queue_wake(&self) {
        self.queue.queued.fetch_add(1, Ordering::Relaxed);
        self.queue_look();
    }

    /// Tells the workers that runs may have been queued (a write's action runs, whose
    /// number the next count of the queue says).
    pub(crate) fn queue_look(&self) {
        self.queue.recount.store(true, Ordering::Relaxed);
        self.queue.wake.notify_one();
    }
}

impl Engine {
    /// The name this replica holds leases under.
    pub(crate) fn replica(&self) -> &str {
        &self.inner.queue.owner
    }

    /// Queues a run of `flow` (started by `trigger`); answers once it is in the database.
    pub async fn enqueue(
        &self,
        flow: &FlowPlan,
        trigger: &str,
        start: QueuedStart,
    ) -> Result<Result<(), QueueFull>, domain::Error> {
        let queue = &self.inner.queue;
        if queue.queued.load(Ordering::Relaxed) >= queue.config.bound {
            return Ok(Err(QueueFull));
        }
        let start =
            serde_json::to_string(&start).map_err(|e| domain::Error::Internal(e.to_string()))?;
        let (done, committed) = oneshot::channel();
        let intake = Intake {
            flow: flow.id.clone(),
            trigger: trigger.to_string(),
            start,
            done,
        };
        let id = match queue.intake.send(intake).await {
            Ok(()) => committed
                .await
                .map_err(|_| domain::Error::Internal("the run intake stopped".into()))?
                .map_err(domain::Error::Internal)?,
            // No intake task (its runtime is shutting down): written here.
            Err(mpsc::error::SendError(intake)) => runs::enqueue_many(
                self.items().db(),
                &[runs::NewRun {
                    flow: &intake.flow,
                    trigger: &intake.trigger,
                    start: &intake.start,
                }],
            )
            .await?
            .pop()
            .ok_or_else(|| domain::Error::Internal("a queued run got no id".into()))?,
        };
        self.items()
            .publish_run_change(domain::MutationEvent::Create, &id);
        queue.queued.fetch_add(1, Ordering::Relaxed);
        queue.wake.notify_one();
        Ok(Ok(()))
    }

    /// Cancels run `id` if it has not ended: a queued run never starts, and one under way
    /// stops where it is, at once on this replica, at its next lease renewal (a third of
    /// [`QueueConfig::lease`]) on another.
    pub async fn cancel_run(&self, id: &str) -> Result<runs::Cancel, domain::Error> {
        let queue = &self.inner.queue;
        let outcome = runs::cancel(self.items().db(), id).await?;
        if let runs::Cancel::Cancelled { owner } = &outcome {
            match owner {
                None => {
                    let _ = queue
                        .queued
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                            Some(n.saturating_sub(1))
                        });
                }
                Some(owner) if *owner == queue.owner => {
                    if let Some(task) = queue.running().remove(id) {
                        task.abort();
                    }
                }
                Some(_) => {}
            }
            self.items()
                .publish_run_change(domain::MutationEvent::Update, id);
        }
        Ok(outcome)
    }

    /// Stops claiming runs, lets the ones under way finish for at most `grace`, then stops
    /// the rest and hands them back to the queue, where another replica (or this one after
    /// its restart) takes them at once.
    pub async fn stop_queue(&self, grace: Duration) {
        let queue = &self.inner.queue;
        queue.stopping.store(true, Ordering::SeqCst);
        queue.wake.notify_waiters();
        let deadline = tokio::time::Instant::now() + grace;
        while !queue.running().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let unfinished: Vec<_> = queue.running().drain().map(|(_, task)| task).collect();
        for task in &unfinished {
            task.abort();
        }
        match runs::release(self.items().db(), &queue.owner).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(runs = n, "handed unfinished runs back to the queue"),
            Err(err) => {
                tracing::error!(%err, "could not hand runs back; their leases expire instead")
            }
        }
    }
}

/// Starts the claiming loop and the lease renewal of `engine`'s queue.
///
/// On SQLite this process is the file's one server ([`domain::runs::release_all`] runs at
/// start), so every run is queued through it: the claiming loop wakes when this process
/// queues a run and never polls. On PostgreSQL it also polls, for runs other replicas queued
/// and leases that ran out.
pub(crate) async fn start(engine: &Engine) -> Result<(), domain::Error> {
    let sqlite = engine.items().backend() == sea_orm::DbBackend::Sqlite;
    if sqlite {
        let taken = runs::release_all(engine.items().db()).await?;
        if taken > 0 {
            tracing::info!(
                runs = taken,
                "runs left running by the previous process are queued again"
            );
        }
    }
    engine
        .inner
        .queue
        .queued
        .store(runs::queued(engine.items().db()).await?, Ordering::Relaxed);
    if let Some(receiver) = take_receiver(&engine.inner.queue.intake_rx) {
        tokio::spawn(take_in(intake_connection(engine.items().db()), receiver));
    }
    if let Some(receiver) = take_receiver(&engine.inner.queue.journal_rx) {
        tokio::spawn(journal_steps(
            engine.items().clone(),
            engine.inner.queue.owner.clone(),
            receiver,
        ));
    }
    let weak = Arc::downgrade(&engine.inner);
    tokio::spawn(claim_loop(
        weak.clone(),
        (!sqlite).then_some(engine.inner.queue.config.poll),
    ));
    tokio::spawn(renew_loop(weak));
    Ok(())
}

/// Where the intake writes: on PostgreSQL a connection of its own, so that acknowledgements
/// never wait behind the workers' journal and finish writes for a slot of the pool; on
/// SQLite, whose one writing connection every write shares, the pool.
fn intake_connection(db: &sea_orm::DatabaseConnection) -> sea_orm::DatabaseConnection {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return db.clone();
    }
    let options = (*db.get_postgres_connection_pool().connect_options())
        .clone()
        .application_name("flowline-intake");
    let pool = sea_orm::sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options);
    sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
}

/// The intake: writes the runs that async calls queue, all those waiting in one statement,
/// so that a burst of calls shares one commit (and one disk flush) instead of paying one
/// each; every caller is answered once its run is committed. Ends when the engine is dropped.
async fn take_in(db: sea_orm::DatabaseConnection, mut receiver: mpsc::Receiver<Intake>) {
    let mut batch = Vec::with_capacity(INTAKE_BATCH);
    while receiver.recv_many(&mut batch, INTAKE_BATCH).await > 0 {
        let new: Vec<runs::NewRun<'_>> = batch
            .iter()
            .map(|run| runs::NewRun {
                flow: &run.flow,
                trigger: &run.trigger,
                start: &run.start,
            })
            .collect();
        let written = runs::enqueue_many(&db, &new).await;
        drop(new);
        match written {
            Ok(ids) => {
                for (run, id) in batch.drain(..).zip(ids) {
                    // A caller that went away no longer listens; its run is queued anyway.
                    let _ = run.done.send(Ok(id));
                }
            }
            Err(err) => {
                tracing::error!(runs = batch.len(), %err, "could not queue runs");
                for run in batch.drain(..) {
                    let _ = run.done.send(Err(err.to_string()));
                }
            }
        }
    }
}

/// Hands `entry` to the journal writer ([`journal_steps`]) and answers once it is committed.
pub(crate) async fn record(engine: &Engine, entry: Entry) -> Result<(), domain::Error> {
    let queue = &engine.inner.queue;
    let (done, committed) = oneshot::channel();
    match queue.journal.send(Journaled { entry, done }).await {
        Ok(()) => committed
            .await
            .map_err(|_| domain::Error::Internal("the journal writer stopped".into()))?
            .map_err(domain::Error::Internal),
        // No writer task (its runtime is shutting down): written here.
        Err(mpsc::error::SendError(journaled)) => {
            write_journal(engine.items().db(), &queue.owner, [&journaled.entry]).await
        }
    }
}

/// The journal writer: the completed steps and the endings of every run under way, all
/// those waiting in one transaction, so that the runs of a moment share one commit; each run
/// goes on once its entry is committed. (A step that writes items commits its entry with its
/// write instead.)
async fn journal_steps(
    items: domain::ItemsService,
    owner: String,
    mut receiver: mpsc::Receiver<Journaled>,
) {
    let mut batch = Vec::with_capacity(INTAKE_BATCH);
    while receiver.recv_many(&mut batch, INTAKE_BATCH).await > 0 {
        let outcome = write_journal(items.db(), &owner, batch.iter().map(|j| &j.entry))
            .await
            .map_err(|err| err.to_string());
        if let Err(err) = &outcome {
            tracing::error!(entries = batch.len(), %err, "could not journal steps");
        }
        for journaled in batch.drain(..) {
            let _ = journaled.done.send(outcome.clone());
        }
    }
}

async fn write_journal<'a>(
    db: &sea_orm::DatabaseConnection,
    owner: &str,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<(), domain::Error> {
    use sea_orm::TransactionTrait;
    let mut steps = Vec::new();
    let mut endings = Vec::new();
    for entry in entries {
        match entry {
            Entry::Step { run, seq, step } => steps.push((run.as_str(), *seq, step)),
            Entry::Finish(ending) => endings.push(ending),
        }
    }
    if endings.is_empty() {
        // One statement commits on its own.
        return runs::journal_steps(db, &steps).await;
    }
    let tx = db.begin().await?;
    runs::journal_steps(&tx, &steps).await?;
    runs::finish_many(&tx, owner, &endings).await?;
    Ok(tx.commit().await?)
}

/// How often ended runs past their retention are looked for.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// A writer's receiving end, handed out once to the task that drains it.
fn take_receiver<T>(slot: &Mutex<Option<mpsc::Receiver<T>>>) -> Option<mpsc::Receiver<T>> {
    match slot.lock() {
        Ok(mut slot) => slot.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    }
}

/// Most runs claimed in one statement.
const BATCH: usize = 64;

async fn claim_loop(weak: Weak<crate::Inner>, poll: Option<Duration>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let engine = Engine { inner };
        let queue = &engine.inner.queue;
        if queue.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut slots) = queue.slots.clone().acquire_owned().await else {
            return;
        };
        let more = queue.slots.available_permits().min(BATCH - 1);
        if more > 0
            && let Ok(extra) = queue.slots.clone().try_acquire_many_owned(more as u32)
        {
            slots.merge(extra);
        }
        let wanted = slots.num_permits() as u64;
        let lease = i64::try_from(queue.config.lease.as_millis()).unwrap_or(i64::MAX);
        let claimed = match runs::claim(engine.items().db(), &queue.owner, lease, wanted).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::error!(%err, "claiming queued runs failed; trying again");
                Vec::new()
            }
        };
        let got = claimed.len() as u64;
        let _ = queue
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(got))
            });
        if claimed.is_empty() {
            drop(slots);
            let wake = queue.wake.notified();
            match poll {
                Some(poll) => {
                    tokio::select! {
                        () = wake => {}
                        () = tokio::time::sleep(poll) => {}
                    }
                }
                None => wake.await,
            }
            continue;
        }
        for run in claimed {
            let Some(slot) = slots.split(1) else { break };
            engine
                .items()
                .publish_run_change(domain::MutationEvent::Update, &run.id);
            let id = run.id.clone();
            let worker = engine.clone();
            let mut running = queue.running();
            let task = tokio::spawn(async move {
                work(&worker, run).await;
                drop(slot);
            });
            running.insert(id, task.abort_handle());
        }
    }
}

/// Runs one claimed run and records how it ended. A run claimed again (its earlier attempt
/// died) resumes after the last step its journal holds.
async fn work(engine: &Engine, run: Claimed) {
    let queue = &engine.inner.queue;
    let db = engine.items().db();
    let journal = if run.attempts > 1 {
        match runs::journal(db, &run.id).await {
            Ok(journal) => journal,
            Err(err) => {
                tracing::error!(run = %run.id, %err, "could not read a run's journal; it waits for another attempt");
                queue.running().remove(&run.id);
                return;
            }
        }
    } else {
        runs::Journal::default()
    };
    let plan = engine.plan().await;
    let (status, error) = match plan.flow(&run.flow) {
        Some(flow) => {
            let ended = engine
                .execute(Box::new(Start {
                    flow,
                    at: None,
                    trigger: run.start.trigger,
                    accountability: run.start.accountability,
                    depth: run.start.depth,
                    tx: None,
                    durable: Some(Box::new(Durable {
                        run: run.id.clone(),
                        journal,
                    })),
                }))
                .await;
            if ended.interrupted {
                // Its journal could not be written: queued again, to resume from it.
                if let Err(err) = runs::release_one(db, &run.id, &queue.owner).await {
                    tracing::error!(run = %run.id, %err, "could not queue a stopped run again; its lease expires instead");
                }
                queue.running().remove(&run.id);
                queue.wake.notify_one();
                return;
            }
            match ended.last_status {
                Some(Status::Reject) => (
                    RunStatus::Rejected,
                    ended.last_rejection.map(|r| r.data.to_string()),
                ),
                _ => (RunStatus::Resolved, None),
            }
        }
        // Deleted or deactivated since it was queued: it no longer runs, as Directus runs
        // only active flows.
        None => (
            RunStatus::Rejected,
            Some("the flow is no longer active".to_string()),
        ),
    };
    let ending = runs::Ending {
        run: run.id.clone(),
        status,
        error,
    };
    match record(engine, Entry::Finish(ending)).await {
        Ok(()) => engine
            .items()
            .publish_run_change(domain::MutationEvent::Update, &run.id),
        Err(err) => {
            tracing::error!(run = %run.id, %err, "could not record a finished run; it may run again")
        }
    }
    queue.running().remove(&run.id);
}

/// Renews the leases of the runs this replica holds, and counts the queue again (runs other
/// replicas and writes queued), every third of a lease.
async fn renew_loop(weak: Weak<crate::Inner>) {
    // With other replicas, runs are queued behind this one's back: count every time. On
    // SQLite an idle server queries nothing.
    let shared = match weak.upgrade() {
        Some(inner) => inner.items.backend() != sea_orm::DbBackend::Sqlite,
        None => return,
    };
    let mut last_prune: Option<std::time::Instant> = None;
    loop {
        let period = {
            let Some(inner) = weak.upgrade() else { return };
            (inner.queue.config.lease / 3).max(Duration::from_millis(100))
        };
        tokio::time::sleep(period).await;
        let Some(inner) = weak.upgrade() else { return };
        let engine = Engine { inner };
        let queue = &engine.inner.queue;
        let ids: Vec<String> = queue.running().keys().cloned().collect();
        let lease = i64::try_from(queue.config.lease.as_millis()).unwrap_or(i64::MAX);
        let db = engine.items().db();
        if let Err(err) = runs::renew(db, &queue.owner, ids.clone(), lease).await {
            tracing::error!(%err, "renewing run leases failed");
        }
        // Runs cancelled through another replica, or taken over after a lease ran out
        // (this process stalled): they stop here.
        match runs::lost(db, &queue.owner, ids).await {
            Ok(lost) => {
                let mut running = queue.running();
                for id in lost {
                    if let Some(task) = running.remove(&id) {
                        task.abort();
                    }
                }
            }
            Err(err) => tracing::warn!(%err, "checking held runs failed"),
        }
        if let Some(retention) = queue.config.retention
            && last_prune.is_none_or(|at| at.elapsed() >= retention.min(PRUNE_EVERY))
        {
            last_prune = Some(std::time::Instant::now());
            let before = domain::runs::now_ms()
                .saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
            match runs::prune(db, before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(runs = n, "deleted runs past their retention"),
                Err(err) => tracing::warn!(%err, "deleting old runs failed"),
            }
        }
        if !shared && !queue.recount.swap(false, Ordering::Relaxed) {
            continue;
        }
        match runs::queued(engine.items().db()).await {
            Ok(n) => queue.queued.store(n, Ordering::Relaxed),
            Err(err) => tracing::warn!(%err, "counting queued runs failed"),
        }
    }
}
