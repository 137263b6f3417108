//! Walking a flow: options rendered against the chain, each operation run, resolve or
//! reject followed, every step recorded (flows-and-operations.md §4-5).

use std::sync::Arc;
use std::time::Instant;

use domain::Accountability;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Engine;
use crate::error::Rejection;
use crate::ops::OpContext;
use crate::plan::FlowPlan;
use crate::{redact, template};

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
    pub steps: Vec<Step>,
    /// The last executed operation's status; `None` when none ran.
    pub last_status: Option<Status>,
    pub last_rejection: Option<Rejection>,
    /// Who ran it, handed back for the run's log so that no copy waits beside the run.
    pub accountability: Option<Accountability>,
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
}

pub async fn run(engine: &Engine, start: Box<Start>) -> Run {
    let Start {
        flow,
        at,
        trigger,
        accountability,
        depth,
        tx,
    } = *start;
    let mut chain = Map::new();
    chain.insert("$trigger".into(), trigger);
    // `$last` starts as the trigger, but the copy is made only once something may read it
    // (an operation that reads the chain or renders placeholders, or the end of the run).
    // Until then the slot holds `null`, keeping the chain's key order. A run that starts
    // with a sleep no longer holds its trigger twice while it waits: about 1 KiB per
    // in-flight run for a webhook's request.
    chain.insert("$last".into(), Value::Null);
    let mut last_is_trigger = true;
    chain.insert(
        "$accountability".into(),
        accountability
            .as_ref()
            .map(|a| serde_json::to_value(a).unwrap_or(Value::Null))
            .unwrap_or(Value::Null),
    );
    chain.insert("$env".into(), Value::Object(engine.config().env.clone()));
    // Kept as a `Value` so that each operation borrows the chain as it is: copying it per
    // operation made a chain of n operations cost O(n²).
    let mut chain = Value::Object(chain);
    let mut steps = Vec::new();
    let mut last_status = None;
    let mut last_rejection = None;
    let mut next = at.or(flow.root);
    // Each operation runs at most once per run unless the graph loops, which writes refuse;
    // the bound guards plans loaded from rows written behind flowline's back.
    let mut budget = flow.ops.len().saturating_mul(2).max(1);
    while let Some(index) = next {
        if budget == 0 {
            break;
        }
        budget -= 1;
        let Some(op) = flow.ops.get(index) else { break };
        let started = Instant::now();
        let started_at = domain::sql::format_timestamp(chrono::Utc::now());
        let Some(handler) = engine.registry().get(&op.kind) else {
            tracing::warn!(flow = %flow.id, op = %op.key, kind = %op.kind, "no operation of this type; the flow stops");
            put(&mut chain, &op.key, Value::Null);
            last_is_trigger = false;
            steps.push(Step {
                operation: op.id.text(),
                key: op.key.to_string(),
                status: Status::Unknown,
                options: Value::Null,
                output: Value::Null,
                started_at,
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            });
            last_status = Some(Status::Unknown);
            break;
        };
        if last_is_trigger && (handler.reads_chain() || op.options.has_placeholders()) {
            copy_trigger_to_last(&mut chain);
        }
        let data = &chain;
        // `log` renders against a redacted copy of the chain, so secrets never reach the log;
        // only it pays for a copy.
        let rendered = if op.kind == "log" {
            template::render_options(op.options.value(), &redact::secrets(data))
        } else {
            template::render_options(op.options.value(), data)
        };
        let (status, output, options) = match rendered {
            Err(err) => (
                Status::Reject,
                Err(Rejection::error(err.to_string())),
                Value::Null,
            ),
            Ok(options) => {
                let ctx = OpContext {
                    engine,
                    flow: &flow,
                    accountability: accountability.as_ref(),
                    data,
                    depth,
                    tx: tx.as_ref(),
                };
                let result = handler.run(options.clone(), &ctx).await;
                let status = if result.is_ok() {
                    Status::Resolve
                } else {
                    Status::Reject
                };
                (status, result, options)
            }
        };
        let value = match &output {
            Ok(v) => v.clone(),
            Err(rejection) => rejection.data.clone(),
        };
        put(&mut chain, &op.key, value.clone());
        last_is_trigger = false;
        last_rejection = output.err();
        steps.push(Step {
            operation: op.id.text(),
            key: op.key.to_string(),
            status,
            options,
            output: value,
            started_at,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        });
        last_status = Some(status);
        next = match status {
            Status::Resolve => op.resolve,
            _ => op.reject,
        }
        .map(|at| at as usize);
    }
    if last_is_trigger {
        copy_trigger_to_last(&mut chain);
    }
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
    }
}

/// Makes `$last` the trigger, as it is until the first operation has run.
fn copy_trigger_to_last(chain: &mut Value) {
    if let Value::Object(map) = chain {
        let trigger = map.get("$trigger").cloned().unwrap_or(Value::Null);
        map.insert("$last".into(), trigger);
    }
}

/// Enters an operation's value into the chain under its key and as `$last`.
fn put(chain: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = chain {
        map.insert(key.to_string(), value.clone());
        map.insert("$last".into(), value);
    }
}
