//! `schedule` flows on tokio-cron-scheduler: one job per active schedule flow, kept in step
//! with the plan whenever flows change, so saving, deactivating or deleting a schedule flow
//! takes effect without a restart.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use serde_json::Value;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::Engine;
use crate::plan::Plan;
use crate::runner::Start;

/// The registered jobs by flow id, with the expression each was built from.
pub struct Schedules {
    scheduler: JobScheduler,
    jobs: Mutex<HashMap<String, (String, uuid::Uuid)>>,
}

impl Schedules {
    pub async fn start() -> Result<Self, tokio_cron_scheduler::JobSchedulerError> {
        let scheduler = JobScheduler::new().await?;
        scheduler.start().await?;
        Ok(Schedules {
            scheduler,
            jobs: Mutex::new(HashMap::new()),
        })
    }

    /// Adds, replaces and removes jobs so that exactly the plan's active schedule flows run.
    pub async fn sync(&self, plan: &Plan, engine: Weak<crate::Inner>) {
        let mut wanted: HashMap<String, String> = HashMap::new();
        for flow in plan.flows.values() {
            if flow.trigger.as_deref() != Some("schedule") {
                continue;
            }
            let Some(cron) = flow.options.get("cron").and_then(Value::as_str) else {
                continue;
            };
            match domain::schedule::normalize(cron) {
                Ok(six) => {
                    wanted.insert(flow.id.clone(), six);
                }
                Err(err) => tracing::warn!(flow = %flow.id, %err, "schedule not registered"),
            }
        }
        let mut jobs = self.jobs.lock().await;
        let stale: Vec<String> = jobs
            .iter()
            .filter(|(id, (cron, _))| wanted.get(*id) != Some(cron))
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            if let Some((_, job)) = jobs.remove(&id)
                && let Err(err) = self.scheduler.remove(&job).await
            {
                tracing::error!(flow = %id, %err, "could not remove a schedule");
            }
        }
        for (id, cron) in wanted {
            if jobs.contains_key(&id) {
                continue;
            }
            let flow_id = id.clone();
            let weak = engine.clone();
            let job = Job::new_async(cron.as_str(), move |_, _| {
                let flow_id = flow_id.clone();
                let weak = weak.clone();
                Box::pin(async move {
                    let Some(inner) = weak.upgrade() else { return };
                    let engine = Engine { inner };
                    // The watcher keeps the plan current; the flow may have changed or stopped
                    // since this tick was planned.
                    let plan = engine.current();
                    let Some(flow) = plan
                        .flow(&flow_id)
                        .filter(|f| f.trigger.as_deref() == Some("schedule"))
                    else {
                        return;
                    };
                    engine
                        .execute(Box::new(Start {
                            flow,
                            at: None,
                            trigger: Value::Null,
                            accountability: None,
                            depth: 1,
                            tx: None,
                        }))
                        .await;
                })
            });
            match job {
                Ok(job) => match self.scheduler.add(job).await {
                    Ok(uuid) => {
                        jobs.insert(id, (cron, uuid));
                    }
                    Err(err) => tracing::error!(flow = %id, %err, "could not add a schedule"),
                },
                Err(err) => tracing::error!(flow = %id, %err, "could not build a schedule"),
            }
        }
    }
}

/// Follows committed changes in the background: schedules follow edits at once, even when
/// no request arrives to trigger a reload, and action flows run after each write.
pub fn watch(engine: &Engine) {
    let weak: Weak<crate::Inner> = Arc::downgrade(&engine.inner);
    let mut changes = engine.items().subscribe();
    tokio::spawn(async move {
        loop {
            let mutation = match changes.recv().await {
                Ok(m) => Some(m),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                // Lagged: some events were missed; reload to be safe.
                Err(_) => None,
            };
            let Some(inner) = weak.upgrade() else { return };
            let engine = Engine { inner };
            match mutation {
                // Action flows run after the commit; `plan` reloads first when flows changed,
                // which also re-syncs the schedules.
                Some(m) => engine.dispatch_mutation(&m).await,
                None => {
                    engine.plan().await;
                }
            }
        }
    });
}
