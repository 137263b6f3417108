//! `schedule` flows: one task per active schedule flow, kept in step with the plan whenever
//! flows change, so saving, deactivating or deleting a schedule flow takes effect without a
//! restart, on every replica.
//!
//! Each task reads the wall clock to find its next tick and sleeps towards it in naps of at
//! most [`MAX_NAP`], so a schedule neither drifts nor stops however long the server runs
//! (Directus's timers overflow after about 25 days), and a clock that is stepped is noticed
//! within a nap. At the tick, the replica claims it in the database
//! ([`domain::schedule::claim_tick`]); every replica plans the same ticks, and only the one
//! whose claim lands runs it. A replica that is down claims nothing, so the others run its
//! share. Times are UTC.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::Utc;
use domain::schedule::Schedule;
use serde_json::Value;

use crate::Engine;
use crate::plan::{Plan, ScheduleOptions, Trigger, TriggerKind};

/// The longest single sleep towards a tick.
const MAX_NAP: Duration = Duration::from_secs(30);

/// How often this replica forgets old claims, and how old they must be.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
const KEEP_CLAIMS: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The running schedule tasks by flow id, with the expression each was built from.
pub struct Schedules {
    jobs: Mutex<HashMap<String, Job>>,
    /// Set by [`Schedules::stop`]: no task starts again.
    stopped: AtomicBool,
    /// Names this replica in its claims.
    replica: String,
    last_prune: Mutex<Option<std::time::Instant>>,
}

struct Job {
    cron: String,
    task: tokio::task::AbortHandle,
}

impl Drop for Job {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Schedules {
    pub fn new(replica: String) -> Self {
        Schedules {
            jobs: Mutex::new(HashMap::new()),
            stopped: AtomicBool::new(false),
            replica,
            last_prune: Mutex::new(None),
        }
    }

    /// Starts, replaces and stops tasks so that exactly the plan's active schedule flows run.
    pub fn sync(&self, plan: &Plan, engine: Weak<crate::Inner>) {
        let mut wanted: HashMap<String, (String, Schedule)> = HashMap::new();
        if !self.stopped.load(Ordering::SeqCst) {
            for flow in plan.flows.values() {
                let Some(Trigger::Schedule(ScheduleOptions {
                    cron: Some(cron), ..
                })) = &flow.trigger
                else {
                    continue;
                };
                match domain::schedule::normalize(cron).and_then(|six| {
                    let schedule = Schedule::parse(&six)?;
                    Ok((six, schedule))
                }) {
                    Ok(found) => {
                        wanted.insert(flow.id.clone(), found);
                    }
                    Err(err) => tracing::warn!(flow = %flow.id, %err, "schedule not started"),
                }
            }
        }
        let mut jobs = match self.jobs.lock() {
            Ok(jobs) => jobs,
            Err(poisoned) => poisoned.into_inner(),
        };
        jobs.retain(|id, job| wanted.get(id).is_some_and(|(cron, _)| *cron == job.cron));
        for (id, (cron, schedule)) in wanted {
            if jobs.contains_key(&id) {
                continue;
            }
            let task = tokio::spawn(tick_loop(id.clone(), schedule, engine.clone()));
            jobs.insert(
                id,
                Job {
                    cron,
                    task: task.abort_handle(),
                },
            );
        }
    }

    /// Stops every schedule for good (graceful shutdown): ticks already running finish,
    /// no new tick is claimed.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        match self.jobs.lock() {
            Ok(mut jobs) => jobs.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }

    /// Whether this replica should forget old claims now.
    fn prune_due(&self) -> bool {
        let mut last = match self.last_prune.lock() {
            Ok(last) => last,
            Err(poisoned) => poisoned.into_inner(),
        };
        if last.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
            return false;
        }
        *last = Some(std::time::Instant::now());
        true
    }
}

/// Sleeps to each tick of `flow` and runs the ticks this replica claims.
async fn tick_loop(flow_id: String, schedule: Schedule, engine: Weak<crate::Inner>) {
    loop {
        let Some(tick) = schedule.next_after(Utc::now()) else {
            tracing::warn!(flow = %flow_id, "the schedule never fires again");
            return;
        };
        loop {
            let left = (tick - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            if left.is_zero() {
                break;
            }
            tokio::time::sleep(left.min(MAX_NAP)).await;
        }
        let Some(inner) = engine.upgrade() else {
            return;
        };
        let engine = Engine { inner };
        let schedules = &engine.inner.schedules;
        let db = engine.items().db();
        if schedules.prune_due()
            && let Err(err) = domain::schedule::prune_ticks(db, tick - KEEP_CLAIMS).await
        {
            tracing::warn!(%err, "could not forget old schedule claims");
        }
        // The flow may have changed or stopped since this tick was planned (the watcher
        // keeps the plan current).
        let plan = engine.current();
        let Some(flow) = plan
            .flow(&flow_id)
            .filter(|f| f.kind() == Some(TriggerKind::Schedule))
        else {
            continue;
        };
        // The claim and the queued run commit together: a tick is run once, and a replica
        // that dies after claiming it leaves a queued run for the others, not a lost tick.
        match claim_and_queue(&engine, &flow, tick).await {
            Ok(true) => engine.inner.queue_wake(),
            // Another replica runs this tick.
            Ok(false) => {}
            Err(err) => {
                tracing::error!(flow = %flow_id, %err, "could not claim a schedule tick; skipped");
            }
        }
    }
}

async fn claim_and_queue(
    engine: &Engine,
    flow: &crate::plan::FlowPlan,
    tick: chrono::DateTime<Utc>,
) -> Result<bool, domain::Error> {
    use sea_orm::TransactionTrait;
    let tx = engine.items().db().begin().await?;
    let won =
        domain::schedule::claim_tick(&tx, &flow.id, tick, &engine.inner.schedules.replica).await?;
    if won {
        let start = domain::runs::QueuedStart {
            trigger: Value::Null,
            accountability: None,
            depth: 1,
        };
        domain::runs::enqueue(&tx, &flow.id, TriggerKind::Schedule.name(), &start).await?;
    }
    tx.commit().await?;
    Ok(won)
}

/// Follows committed changes in the background: schedules follow edits at once, even when
/// no request arrives to trigger a reload, action flows run after each local write, and
/// another replica's writes reach the plan as soon as they are heard.
pub fn watch(engine: &Engine) {
    let weak: Weak<crate::Inner> = Arc::downgrade(&engine.inner);
    let mut changes = engine.items().subscribe();
    tokio::spawn(async move {
        loop {
            let change = match changes.recv().await {
                Ok(change) => Some(change),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                // Lagged: some events were missed; reload to be safe.
                Err(_) => None,
            };
            let Some(inner) = weak.upgrade() else { return };
            let engine = Engine { inner };
            match change {
                // Action flows run after the commit, on the replica that wrote; `plan`
                // reloads first when flows changed, which also re-syncs the schedules.
                Some(domain::Change::Mutation(m)) if !m.remote => {
                    engine.dispatch_mutation(&m).await
                }
                _ => {
                    engine.plan().await;
                }
            }
        }
    });
}
