//! The flow runtime: the loaded plan of active flows (swapped atomically on every change),
//! the runner, the operation registry, templating, conditions, HTTP triggers and run logs.

pub mod condition;
mod declared;
pub mod error;
pub mod events;
mod filters;
pub mod ops;
mod options;
pub mod plan;
pub mod queue;
mod redact;
mod row_id;
mod runlog;
pub mod runner;
mod schedule;
pub mod template;
pub mod trigger;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use domain::{Accountability, Change, ItemsService, Mutation};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};
use tokio::sync::{Mutex, broadcast};

pub use error::{DirectusError, HttpError, Rejection};
pub use ops::DenyList;
pub use plan::{FlowPlan, Plan};
pub use queue::{QueueConfig, QueueFull};
pub use runner::{Run, Start, Status};
pub use trigger::{TriggerReply, TriggerRequest};

/// Engine settings, parsed once by the server.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `$env`: the allow-listed environment variables (`FLOWS_ENV_ALLOW_LIST`).
    pub env: Map<String, Value>,
    /// Flows triggering flows stop at this depth (Directus has no limit and loops forever).
    pub max_depth: usize,
    /// Most child runs of one `trigger` operation at once.
    pub trigger_concurrency: usize,
    /// Addresses the `request` operation refuses (`IMPORT_IP_DENY_LIST`).
    pub deny_list: DenyList,
    /// How long GET webhook answers are cached (`CACHE_ENABLED` with `CACHE_TTL`); `None`
    /// turns caching off, the default.
    pub cache_ttl: Option<std::time::Duration>,
    /// Limits of the `exec` operation's sandbox.
    pub script: ScriptLimits,
    /// How the `mail` operation sends.
    pub mail: MailConfig,
    /// The durable run queue's workers.
    pub queue: QueueConfig,
}

/// `FLOWS_RUN_SCRIPT_MAX_MEMORY` and `FLOWS_RUN_SCRIPT_TIMEOUT`: a script that needs more
/// rejects instead of starving the server.
#[derive(Debug, Clone)]
pub struct ScriptLimits {
    /// Heap limit of one run's JavaScript runtime, in bytes (Directus: 32 MB).
    pub max_memory: usize,
    /// Applied separately to evaluating the script and to awaiting its exported function.
    pub timeout: std::time::Duration,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_memory: 32 * 1024 * 1024,
            timeout: std::time::Duration::from_millis(10_000),
        }
    }
}

/// The SMTP transport and sender of the `mail` operation (`EMAIL_*`), plus the per-flow rate
/// limit (`RATE_LIMITER_EMAIL_FLOWS_*`).
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `EMAIL_FROM`: the sender address of every mail.
    pub from: String,
    /// The project name shown as the sender's name when a flow sets no `fromName`.
    pub project_name: String,
    /// `EMAIL_SMTP_HOST`; `None` leaves mail unconfigured, and the operation then logs that it
    /// could not send (as Directus does with a failing transport) instead of rejecting.
    pub smtp_host: Option<String>,
    /// `EMAIL_SMTP_PORT` (default 587, or 465 when `secure`).
    pub smtp_port: Option<u16>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<String>,
    /// `EMAIL_SMTP_SECURE`: implicit TLS from the first byte; otherwise plain SMTP, upgraded with
    /// STARTTLS when the server offers it.
    pub smtp_secure: bool,
    /// `EMAIL_TEMPLATES_PATH`: a folder of `<name>.liquid` templates, looked up before the
    /// built-in ones.
    pub templates_path: Option<std::path::PathBuf>,
    /// `RATE_LIMITER_EMAIL_FLOWS_*`: at most `points` mails per flow per `duration`; `None`
    /// when the limiter is off (the default, as in Directus).
    pub rate_limit: Option<MailRateLimit>,
}

/// A fixed-window limit on mails per flow.
#[derive(Debug, Clone)]
pub struct MailRateLimit {
    pub points: u32,
    pub duration: std::time::Duration,
    /// `RATE_LIMITER_EMAIL_FLOWS_ERROR_MESSAGE`, replacing the default message.
    pub message: Option<String>,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            from: "no-reply@example.com".to_string(),
            project_name: "Directus".to_string(),
            smtp_host: None,
            smtp_port: None,
            smtp_user: None,
            smtp_password: None,
            smtp_secure: false,
            templates_path: None,
            rate_limit: None,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            env: Map::new(),
            max_depth: 32,
            trigger_concurrency: 16,
            deny_list: DenyList::default_list(),
            cache_ttl: None,
            script: ScriptLimits::default(),
            mail: MailConfig::default(),
            queue: QueueConfig::default(),
        }
    }
}

pub(crate) struct Inner {
    items: ItemsService,
    config: EngineConfig,
    registry: ops::Registry,
    http: reqwest::Client,
    plan: RwLock<Arc<Plan>>,
    changes: Mutex<Follower>,
    cache: trigger::ResponseCache,
    schedules: schedule::Schedules,
    /// Commits the logs of runs outside a write's transaction together.
    runlog: runlog::Writer,
    queue: queue::Queue,
}

/// Follows committed writes for [`Engine::plan`]: the receiver, and what it heard that the
/// plan does not reflect yet.
struct Follower {
    changes: broadcast::Receiver<Change>,
    pending: Pending,
}

/// The flows to read again before the plan is current.
#[derive(Default)]
struct Pending {
    /// Read every flow again: events were missed, or a change could not be placed.
    full: bool,
    /// Flows named by the changes.
    flows: HashSet<String>,
    /// Changed operations whose flow must be looked up in the plan (deletes, and updates
    /// that do not move the operation).
    operations: HashSet<String>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        !self.full && self.flows.is_empty() && self.operations.is_empty()
    }

    fn note_change(&mut self, change: &Change) {
        match change {
            Change::Mutation(m) => self.note(m),
            Change::Missed => self.full = true,
        }
    }

    fn note(&mut self, m: &Mutation) {
        match m.collection.as_str() {
            "directus_flows" => self.flows.extend(m.keys.iter().cloned()),
            "directus_operations" => {
                // An operation's own flow, from the plan; created and moved operations also
                // name their (new) flow in the payload.
                self.operations.extend(m.keys.iter().cloned());
                for payload in &m.payloads {
                    match payload.get("flow") {
                        None | Some(Value::Null) => {}
                        Some(flow) => match flow_key(flow) {
                            Some(id) => {
                                self.flows.insert(id);
                            }
                            None => self.full = true,
                        },
                    }
                }
            }
            _ => {}
        }
    }
}

/// The key of a relation value in a payload: the key itself, or a nested object's `id`.
fn flow_key(value: &Value) -> Option<String> {
    match value {
        Value::Object(obj) => obj.get("id").and_then(domain::items::key_text),
        other => domain::items::key_text(other),
    }
}

/// The running engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    /// Loads every active flow and starts following changes.
    pub async fn new(items: ItemsService, config: EngineConfig) -> Result<Self, domain::Error> {
        let changes = items.subscribe();
        let started = std::time::Instant::now();
        let plan = plan::load(&items).await?;
        tracing::debug!(
            flows = plan.flows.len(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "plan loaded"
        );
        // Names this process in schedule claims and run leases, for operators.
        let replica = format!(
            "pid {} {}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let schedules = schedule::Schedules::new(replica.clone());
        let runlog = runlog::Writer::start(items.clone());
        let config_queue = config.queue.clone();
        let engine = Engine {
            inner: Arc::new(Inner {
                http: ops::request_client(&config.deny_list),
                items,
                config,
                registry: ops::Registry::builtin(),
                plan: RwLock::new(Arc::new(plan)),
                changes: Mutex::new(Follower {
                    changes,
                    pending: Pending::default(),
                }),
                cache: trigger::ResponseCache::default(),
                schedules,
                runlog,
                queue: queue::Queue::new(config_queue, replica),
            }),
        };
        let current = engine.current();
        engine
            .inner
            .schedules
            .sync(&current, Arc::downgrade(&engine.inner));
        schedule::watch(&engine);
        queue::start(&engine).await?;
        engine.install_filters();
        // Runs go on in the background.
        drop(
            engine
                .emit_action(
                    "server.start",
                    serde_json::json!({"event": "server.start"}),
                    None,
                    1,
                )
                .await,
        );
        Ok(engine)
    }

    /// Stops every schedule for good: the first step of a graceful shutdown, so that a
    /// stopping replica claims no more ticks and the others run them.
    pub fn stop_schedules(&self) {
        self.inner.schedules.stop();
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub fn items(&self) -> &ItemsService {
        &self.inner.items
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn cache(&self) -> &trigger::ResponseCache {
        &self.inner.cache
    }

    pub(crate) fn registry(&self) -> &ops::Registry {
        &self.inner.registry
    }

    pub(crate) fn current(&self) -> Arc<Plan> {
        match self.inner.plan.read() {
            Ok(plan) => plan.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The current plan, brought up to date first when flows or operations changed since
    /// the last look, so a trigger right after an API write already sees it. Only the flows
    /// a change touched are read again; the others are shared with the previous plan.
    pub async fn plan(&self) -> Arc<Plan> {
        let mut follower = self.inner.changes.lock().await;
        let Follower { changes, pending } = &mut *follower;
        loop {
            match changes.try_recv() {
                Ok(change) => pending.note_change(&change),
                Err(broadcast::error::TryRecvError::Lagged(_)) => pending.full = true,
                Err(_) => break,
            }
        }
        if pending.is_empty() {
            return self.current();
        }
        let current = self.current();
        let started = std::time::Instant::now();
        let full = pending.full;
        let next = if pending.full {
            plan::load(&self.inner.items).await
        } else {
            let mut ids = std::mem::take(&mut pending.flows);
            ids.extend(current.flows_of_operations(&pending.operations));
            let wanted: Vec<String> = ids.iter().cloned().collect();
            let loaded = plan::load_some(&self.inner.items, &wanted).await;
            pending.flows = ids;
            loaded.map(|loaded| current.patched(&pending.flows, loaded))
        };
        match next {
            Ok(plan) => {
                tracing::debug!(
                    full,
                    flows = pending.flows.len(),
                    ms = started.elapsed().as_secs_f64() * 1000.0,
                    "plan reloaded"
                );
                *pending = Pending::default();
                let plan = Arc::new(plan);
                match self.inner.plan.write() {
                    Ok(mut slot) => *slot = plan.clone(),
                    Err(poisoned) => *poisoned.into_inner() = plan.clone(),
                }
                self.inner
                    .schedules
                    .sync(&plan, Arc::downgrade(&self.inner));
                plan
            }
            Err(err) => {
                // The changes stay pending: the next look tries again.
                tracing::error!(%err, "reloading flows failed; the previous plan stays");
                current
            }
        }
    }

    /// Runs a flow and writes its log; answers once the log is committed.
    ///
    /// An async run's task is as large as the largest state of this future, and it keeps
    /// that size while the run sleeps: so the log is written by a boxed future, whose
    /// database and queue futures would otherwise have made every task half as large again.
    pub fn execute(&self, start: Box<Start>) -> impl Future<Output = Run> + Send + '_ {
        let flow = start.flow.clone();
        let tx = start.tx.clone();
        // Chained rather than awaited in one async fn, whose layout kept the run's future
        // and the log's state side by side instead of in the same bytes.
        runner::run(self, start).then(move |run| async move {
            if let Some(entry) = runlog::entry(
                &flow,
                &run,
                run.accountability.as_ref(),
                &self.inner.config.env,
            ) {
                self.write_log(entry, tx).await;
            }
            run
        })
    }

    fn write_log(
        &self,
        entry: runlog::Entry,
        tx: Option<Arc<sea_orm::DatabaseTransaction>>,
    ) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            match tx {
                // Inside a filtered write the log joins its transaction.
                Some(tx) => {
                    runlog::write(&self.inner.items.in_transaction(tx).writer(), &entry).await
                }
                // Otherwise it shares a commit with the logs of concurrent runs.
                None => self.inner.runlog.write(&self.inner.items, entry).await,
            }
        })
    }

    /// Runs a flow with trigger `operation` for the `trigger` operation; answers the child's
    /// `return` selection (null without one, or for a missing or inactive flow).
    pub async fn run_operation_flow(
        &self,
        id: &str,
        payload: Value,
        accountability: Option<Accountability>,
        depth: usize,
        tx: Option<Arc<sea_orm::DatabaseTransaction>>,
    ) -> Result<Value, Rejection> {
        // Inside a filtered write the plan was refreshed before the transaction began; a
        // reload now would wait for the connection the write holds.
        let plan = if tx.is_some() {
            self.current()
        } else {
            self.plan().await
        };
        let Some(flow) = plan
            .flow(id)
            .filter(|f| f.kind() == Some(plan::TriggerKind::Operation))
        else {
            tracing::warn!(flow = %id, "trigger operation: no active flow with an operation trigger");
            return Ok(Value::Null);
        };
        // Declared inputs must all be in the payload; declared outputs filter the answer.
        let declared = declared::of(&flow);
        declared::check_input(declared, &payload)?;
        let declared_flow = flow.clone();
        let return_option = flow.returns.clone();
        let run = self
            .execute(Box::new(Start {
                flow,
                at: None,
                trigger: payload,
                accountability,
                depth,
                tx,
                durable: None,
            }))
            .await;
        let value = run
            .select(return_option.as_deref())
            .map_err(|err| Rejection::error(err.to_string()))?
            .unwrap_or(Value::Null);
        Ok(declared::filter_output(declared::of(&declared_flow), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::MutationEvent;
    use serde_json::json;

    fn mutation(
        collection: &str,
        event: MutationEvent,
        keys: &[&str],
        payloads: Vec<Value>,
    ) -> Mutation {
        Mutation {
            collection: collection.into(),
            event,
            keys: keys.iter().map(|k| k.to_string()).collect(),
            payloads,
            accountability: Accountability::system(),
            origin: domain::items::Origin::default(),
            remote: false,
        }
    }

    #[test]
    fn pending_changes_name_the_flows_to_read_again() {
        let mut pending = Pending::default();
        pending.note(&mutation(
            "articles",
            MutationEvent::Create,
            &["1"],
            vec![json!({})],
        ));
        assert!(pending.is_empty());
        pending.note(&mutation(
            "directus_flows",
            MutationEvent::Delete,
            &["f1"],
            vec![],
        ));
        pending.note(&mutation(
            "directus_operations",
            MutationEvent::Update,
            &["o1", "o2"],
            vec![json!({"flow": "f2"}), json!({"options": {}})],
        ));
        pending.note(&mutation(
            "directus_operations",
            MutationEvent::Create,
            &["o3"],
            vec![json!({"flow": {"id": "f3"}})],
        ));
        let mut flows: Vec<&String> = pending.flows.iter().collect();
        flows.sort();
        assert_eq!(flows, ["f1", "f2", "f3"]);
        assert_eq!(pending.operations.len(), 3);
        assert!(!pending.full);
        // A flow written inline without a key cannot be placed: read everything.
        pending.note(&mutation(
            "directus_operations",
            MutationEvent::Create,
            &["o4"],
            vec![json!({"flow": {"name": "inline"}})],
        ));
        assert!(pending.full);
    }
}
