//! Walking a flow: options rendered against the chain, each operation run, resolve or
//! reject followed, every step recorded (flows-and-operations.md §4-5).

use std::sync::Arc;
use std::time::Instant;

use domain::Accountability;
use sea_orm::TransactionTrait;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Engine;
use crate::error::{Rejection, Retry};
use crate::ops::{OpContext, Operation, StepJournal};
use crate::plan::{FlowPlan, OpPlan};
use crate::{redact, runlog, template};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Resolve,
    Reject,
    Unknown,
}

/// One executed operation, as logged in a revision (with timing Directus lacks).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub operation: String,
    pub key: String,
    pub status: Status,
    pub options: Value,
    /// What the operation put into the chain (its result, or its error data). Directus
    /// logs only the final chain; flowline keeps each step's output too.
    pub output: Value,
    pub started_at: String,
    pub duration_ms: f64,
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Run {
    pub chain: Map<String, Value>,
    /// Empty unless the flow logs revisions (`accountability: all`), their only reader.
    pub steps: Vec<Step>,
    /// The last executed operation's status; `None` when none ran.
    pub last_status: Option<Status>,
    pub last_rejection: Option<Rejection>,
    /// Who ran it, handed back for the run's log so that no copy waits beside the run.
    pub accountability: Option<Accountability>,
    /// A queued run whose journal could not be written stopped there: it is to be resumed
    /// from its journal, not recorded as finished.
    pub interrupted: bool,
    /// A run from the queue, which has its `flowline_runs` row already.
    pub queued: bool,
    /// When it started, in unix milliseconds; 0 when nothing records it (a flow that logs
    /// no runs).
    pub started_at: i64,
}

impl Run {
    /// The value selected by a flow's `return` option (§5.3): `$all`, a path, or nothing.
    /// An invalid path (deeper than the limit, bad syntax) is an error, as Directus's
    /// lookup throws there.
    pub fn select(
        &self,
        return_option: Option<&str>,
    ) -> Result<Option<Value>, template::TemplateError> {
        match return_option {
            Some("$all") => Ok(Some(Value::Object(self.chain.clone()))),
            Some(path) if !path.is_empty() => {
                template::get_path(&Value::Object(self.chain.clone()), path)
            }
            _ => Ok(None),
        }
    }
}

/// Where a run starts and with what.
///
/// Runs take it boxed: an async fn keeps its arguments in its future beside the futures it
/// moves them into, so a `Start` passed by value was stored once per level (the spawned
/// task, `Engine::execute`, `run`) in every in-flight run's task.
pub struct Start {
    pub flow: Arc<FlowPlan>,
    /// The first operation; the flow's root when `None`.
    pub at: Option<usize>,
    pub trigger: Value,
    pub accountability: Option<Accountability>,
    pub depth: usize,
    /// The write transaction a filter flow runs inside; `None` elsewhere.
    pub tx: Option<Arc<sea_orm::DatabaseTransaction>>,
    /// For a run from the queue: where its steps are journaled, and those it completed in an
    /// earlier attempt.
    pub durable: Option<Box<Durable>>,
}

/// A queued run's journal ([`domain::runs`]). Each completed step is journaled; a step that
/// writes items (`item-create`, `item-update`, `item-delete`) commits its write and its
/// journal entry in one transaction, so a resumed run never repeats it. Other steps with
/// outside effects may run again when a crash falls between the effect and the journal.
pub struct Durable {
    pub run: String,
    /// What an earlier attempt journaled: its completed steps are replayed into the chain,
    /// not run again, and a sleep it was in waits only the time it had left.
    pub journal: domain::runs::Journal,
}

/// Operations whose failure another try may change: not a condition that does not hold, nor
/// an error thrown on purpose.
fn retries(kind: &str) -> bool {
    !matches!(kind, "condition" | "throw-error")
}

/// Waits `wait` before a failed step's next try, the run marked `retrying` meanwhile.
async fn wait_to_retry(engine: &Engine, run: &str, wait: std::time::Duration) {
    let db = engine.items().db();
    let owner = engine.replica();
    for retrying in [true, false] {
        match domain::runs::set_retrying(db, run, owner, retrying).await {
            Ok(()) => engine
                .items()
                .publish_run_change(domain::MutationEvent::Update, run),
            Err(err) => tracing::warn!(run, %err, "could not record a retry"),
        }
        if retrying {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Operations whose effect is a write to this database.
fn writes_items(kind: &str) -> bool {
    matches!(kind, "item-create" | "item-update" | "item-delete")
}

pub async fn run(engine: &Engine, start: Box<Start>) -> Run {
    // Moved out inside a block so that the box is freed now, not when the run ends: an
    // async fn keeps a moved-from box allocated until its scope closes.
    let Start {
        flow,
        at,
        trigger,
        accountability,
        depth,
        tx,
        mut durable,
    } = {
        let start = start;
        *start
    };
    let queued = durable.is_some();
    // Read only by the run's row in `flowline_runs`: queued runs and runs whose flow logs.
    let run_started = if queued || flow.accountability.is_some() {
        domain::runs::now_ms()
    } else {
        0
    };
    // Room for every operation's key besides the four run entries: a chain that grew by
    // doubling held up to twice its entries (112 bytes each) while a run slept.
    let mut chain = Map::with_capacity(4 + flow.ops.len());
    // `$last` and `$accountability`, and `$trigger` when the first operation does not read
    // the chain, are filled only once something may read it (see [`Deferred`]); until then
    // their slots hold `null`, keeping the chain's key order.
    let first = at.or(flow.root);
    let (trigger, trigger_text) =
        match waits_unread(engine, &flow, first).then(|| serde_json::to_string(&trigger)) {
            Some(Ok(text)) => {
                // Dropped here: a shadowed binding would live, and hold its memory, to the end.
                drop(trigger);
                (Value::Null, Some(text))
            }
            _ => (trigger, None),
        };
    chain.insert("$trigger".into(), trigger);
    chain.insert("$last".into(), Value::Null);
    chain.insert("$accountability".into(), Value::Null);
    chain.insert("$env".into(), Value::Object(engine.config().env.clone()));
    let mut deferred = Deferred {
        trigger: trigger_text.map(String::into_boxed_str),
        last: true,
        accountability: accountability.is_some(),
    };
    // Kept as a `Value` so that each operation borrows the chain as it is: copying it per
    // operation made a chain of n operations cost O(n²).
    let mut chain = Value::Object(chain);
    // Steps are read only by the revision a flow with `accountability: all` writes; other
    // runs skip their copies of each operation's options and output.
    let record = runlog::records_steps(&flow);
    let mut steps = Vec::new();
    let mut last_status = None;
    let mut last_rejection = None;
    let mut next = first;
    let mut interrupted = false;
    // A resumed run: its completed steps enter the chain as they ended, and it goes on from
    // where the last one led. A step whose operation was since deleted ends the run there.
    let mut seq: i32 = 0;
    let mut waiting = durable.as_mut().and_then(|d| d.journal.waiting.take());
    if let Some(resumed) = durable.as_ref().filter(|d| !d.journal.done.is_empty()) {
        deferred.fill(&mut chain, accountability.as_ref());
        for step in &resumed.journal.done {
            put(&mut chain, &step.key, step.output.clone());
            let status = if step.resolved {
                Status::Resolve
            } else {
                Status::Reject
            };
            last_status = Some(status);
            next = flow
                .ops
                .iter()
                .find(|op| *op.key == *step.key)
                .and_then(|op| match status {
                    Status::Resolve => op.resolve,
                    _ => op.reject,
                })
                .map(|at| at as usize);
            seq += 1;
        }
        deferred.last = false;
    }
    // Each operation runs at most once per run unless the graph loops, which writes refuse;
    // the bound guards plans loaded from rows written behind flowline's back.
    let mut budget = flow.ops.len().saturating_mul(2).max(1);
    'steps: while let Some(index) = next {
        if budget == 0 {
            break;
        }
        budget -= 1;
        let Some(op) = flow.ops.get(index) else { break };
        let started = Instant::now();
        let started_at = record.then(|| domain::sql::format_timestamp(chrono::Utc::now()));
        let started_ms = durable.as_ref().map(|_| domain::runs::now_ms());
        let step = |status, options, output| Step {
            operation: op.id.text(),
            key: op.key.to_string(),
            status,
            options,
            output,
            started_at: started_at.unwrap_or_default(),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        };
        let Some(handler) = engine.registry().get(&op.kind) else {
            tracing::warn!(flow = %flow.id, op = %op.key, kind = %op.kind, "no operation of this type; the flow stops");
            put(&mut chain, &op.key, Value::Null);
            deferred.last = false;
            if record {
                steps.push(step(Status::Unknown, Value::Null, Value::Null));
            }
            last_status = Some(Status::Unknown);
            break;
        };
        if op_reads_chain(&*handler, op) {
            deferred.fill(&mut chain, accountability.as_ref());
        }
        let data = &chain;
        // `log` renders against a redacted copy of the chain, so secrets never reach the log;
        // only it pays for a copy.
        let rendered = if op.kind == "log" {
            template::render_options(op.options.value(), &redact::secrets(data))
        } else {
            template::render_options(op.options.value(), data)
        };
        let mut own_tx: Option<Arc<sea_orm::DatabaseTransaction>> = None;
        let (status, output, options, tries) = match rendered {
            Err(err) => (
                Status::Reject,
                Err(Rejection::error(err.to_string())),
                Value::Null,
                1,
            ),
            Ok(options) => {
                // A queued run of a flow with `options.retry` tries a failed step again.
                let policy = flow
                    .retry
                    .filter(|_| durable.is_some() && tx.is_none() && retries(&op.kind));
                let mut tries: u32 = 0;
                let mut pending = Some(options);
                loop {
                    tries += 1;
                    let last_try = policy.is_none_or(|p| tries >= p.attempts);
                    let options = if last_try {
                        pending.take()
                    } else {
                        pending.clone()
                    }
                    .unwrap_or(Value::Null);
                    // A queued run's item write gets a transaction of its own, which its
                    // journal entry joins below.
                    if durable.is_some() && tx.is_none() && writes_items(&op.kind) {
                        // Boxed, as the journal below: their futures would otherwise enlarge
                        // every run's task, durable or not, for the whole of the run.
                        // The plan is brought up to date first: inside the transaction, the
                        // write's filter flows read it as it is.
                        let begun = Box::pin(async {
                            engine.plan().await;
                            engine.items().db().begin().await
                        });
                        match begun.await {
                            Ok(own) => own_tx = Some(Arc::new(own)),
                            Err(err) => {
                                tracing::error!(flow = %flow.id, %err, "could not open a step's transaction; the run stops here");
                                interrupted = true;
                                break 'steps;
                            }
                        }
                    }
                    let ctx = OpContext {
                        engine,
                        flow: &flow,
                        accountability: accountability.as_ref(),
                        data,
                        depth,
                        tx: own_tx.as_ref().or(tx.as_ref()),
                        journal: durable.as_ref().map(|d| StepJournal {
                            run: &d.run,
                            seq,
                            op,
                            // Only the step the earlier attempt was in when it stopped.
                            waiting_until: waiting
                                .take()
                                .filter(|w| w.operation == op.id.text())
                                .map(|w| w.until),
                        }),
                    };
                    let (result, options) = if record {
                        (handler.run(options.clone(), &ctx).await, options)
                    } else {
                        (handler.run(options, &ctx).await, Value::Null)
                    };
                    match (&result, policy, &durable) {
                        (Err(rejection), Some(policy), Some(durable))
                            if !last_try && rejection.retry != Retry::Never =>
                        {
                            // Its write, if any, is undone; the next try opens another.
                            own_tx = None;
                            let asked = match rejection.retry {
                                Retry::After(wait) => Some(wait),
                                _ => None,
                            };
                            let wait = policy.wait(tries, rand::random::<f64>(), asked);
                            Box::pin(wait_to_retry(engine, &durable.run, wait)).await;
                        }
                        _ => {
                            let status = if result.is_ok() {
                                Status::Resolve
                            } else {
                                Status::Reject
                            };
                            break (status, result, options, tries);
                        }
                    }
                }
            }
        };
        let value = match output {
            Ok(v) => {
                last_rejection = None;
                v
            }
            Err(rejection) => {
                let data = rejection.data.clone();
                last_rejection = Some(rejection);
                data
            }
        };
        if let Some(durable) = &durable {
            let entry = domain::runs::JournalStep {
                operation: op.id.text(),
                key: op.key.to_string(),
                resolved: status == Status::Resolve,
                output: value.clone(),
                started_at: started_ms.unwrap_or_default(),
                finished_at: domain::runs::now_ms(),
                attempts: i32::try_from(tries).unwrap_or(i32::MAX),
            };
            if let Err(err) =
                Box::pin(journal(engine, &durable.run, seq, entry, own_tx.take())).await
            {
                tracing::error!(flow = %flow.id, %err, "could not journal a step; the run stops and resumes later");
                interrupted = true;
                break;
            }
            engine
                .items()
                .publish_run_change(domain::MutationEvent::Update, &durable.run);
            seq += 1;
        }
        if record {
            put(&mut chain, &op.key, value.clone());
            steps.push(step(status, options, value));
        } else {
            put(&mut chain, &op.key, value);
        }
        deferred.last = false;
        last_status = Some(status);
        next = match status {
            Status::Resolve => op.resolve,
            _ => op.reject,
        }
        .map(|at| at as usize);
    }
    deferred.fill(&mut chain, accountability.as_ref());
    let chain = match chain {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    Run {
        chain,
        steps,
        last_status,
        last_rejection,
        accountability,
        interrupted,
        queued,
        started_at: run_started,
    }
}

/// Journals a queued run's step: inside `own` (the step's item write) when it has one, which
/// then commits, so the write and its entry exist together or not at all.
async fn journal(
    engine: &Engine,
    run: &str,
    seq: i32,
    entry: domain::runs::JournalStep,
    own: Option<Arc<sea_orm::DatabaseTransaction>>,
) -> Result<(), domain::Error> {
    let Some(own) = own else {
        // Shared with the steps other runs complete meanwhile: one commit for them all.
        let step = crate::queue::Entry::Step {
            run: run.to_string(),
            seq,
            step: entry,
        };
        return crate::queue::record(engine, step).await;
    };
    let own = Arc::try_unwrap(own).map_err(|_| {
        domain::Error::Internal("a step's transaction is still in use after the step".into())
    })?;
    match domain::runs::journal_step(&own, run, seq, &entry).await {
        Ok(()) => Ok(own.commit().await?),
        Err(err) => {
            let _ = own.rollback().await;
            Err(err)
        }
    }
}

/// The chain entries a run fills only once something may read the chain (an operation that
/// reads it or renders placeholders, or the end of the run). A run that starts with a sleep
/// holds none of them as JSON values while it waits: its trigger as values was about 1.4 KiB
/// (a webhook's request with its headers) against 200 bytes as text, `$last` as a second
/// copy of it as much again, `$accountability` another 1 KiB.
struct Deferred {
    /// `$trigger` as JSON text, kept so while the first operation does not read the chain.
    trigger: Option<Box<str>>,
    /// `$last` is still the trigger: no operation has run yet.
    last: bool,
    /// `$accountability` is still to be written from the run's caller.
    accountability: bool,
}

impl Deferred {
    fn fill(&mut self, chain: &mut Value, accountability: Option<&Accountability>) {
        let Value::Object(map) = chain else { return };
        if let Some(text) = self.trigger.take() {
            // The text is serde_json's own writing of a value, so it reads back the same.
            let trigger = serde_json::from_str(&text).unwrap_or(Value::Null);
            map.insert("$trigger".into(), trigger);
        }
        if std::mem::take(&mut self.last) {
            let trigger = map.get("$trigger").cloned().unwrap_or(Value::Null);
            map.insert("$last".into(), trigger);
        }
        if std::mem::take(&mut self.accountability) {
            let value = accountability
                .and_then(|a| serde_json::to_value(a).ok())
                .unwrap_or(Value::Null);
            map.insert("$accountability".into(), value);
        }
    }
}

/// Whether the run starts with an operation that does not read the chain, such as a sleep:
/// only then is keeping the trigger as text worth its writing and reading back.
fn waits_unread(engine: &Engine, flow: &FlowPlan, first: Option<usize>) -> bool {
    let Some(op) = first.and_then(|at| flow.ops.get(at)) else {
        return false;
    };
    engine
        .registry()
        .get(&op.kind)
        .is_some_and(|handler| !op_reads_chain(&*handler, op))
}

fn op_reads_chain(handler: &dyn Operation, op: &OpPlan) -> bool {
    handler.reads_chain() || op.options.has_placeholders()
}

/// Enters an operation's value into the chain under its key and as `$last`.
fn put(chain: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = chain {
        map.insert(key.to_string(), value.clone());
        map.insert("$last".into(), value);
    }
}
