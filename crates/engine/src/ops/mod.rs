//! The operation registry: one trait, one module per Directus operation type.

mod basic;
mod exec;
mod items;
mod jwt;
mod mail;
mod request;
mod trigger;

use std::collections::HashMap;
use std::sync::Arc;

use domain::Accountability;
use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::Engine;
use crate::error::Rejection;
use crate::plan::FlowPlan;

pub use request::{DenyList, client as request_client};

/// What an operation sees besides its rendered options.
pub struct OpContext<'a> {
    pub engine: &'a Engine,
    pub flow: &'a Arc<FlowPlan>,
    /// The trigger's caller; `None` for schedules and system events.
    pub accountability: Option<&'a Accountability>,
    /// The data chain so far.
    pub data: &'a Value,
    /// How many flows deep this run is (1 for a flow started by a trigger).
    pub depth: usize,
    /// The write transaction a filter flow runs inside, where its item operations go.
    pub tx: Option<&'a Arc<sea_orm::DatabaseTransaction>>,
    /// For a queued run: where this step is journaled.
    pub journal: Option<StepJournal<'a>>,
}

/// The journal place of a queued run's step ([`crate::runner::Durable`]).
pub struct StepJournal<'a> {
    pub run: &'a str,
    pub seq: i32,
    /// The step's operation.
    pub op: &'a crate::plan::OpPlan,
    /// When an earlier attempt of the run stopped while this step was waiting: when it was
    /// due (unix milliseconds).
    pub waiting_until: Option<i64>,
}

impl OpContext<'_> {
    /// The items service as this run reaches it: inside the filtered write when there is one.
    pub fn items(&self) -> domain::ItemsService {
        match self.tx {
            Some(tx) => self.engine.items().in_transaction(tx.clone()),
            None => self.engine.items().clone(),
        }
    }
}

/// A Directus operation type. `run` resolves with the value that enters the chain under
/// the operation's key, or rejects with the chain value of the error.
pub trait Operation: Send + Sync {
    /// The Directus `type` string (`log`, `condition`, ...).
    fn id(&self) -> &'static str;

    /// Whether `run` may read the data chain (`ctx.data`) beyond its rendered options. A run
    /// copies the trigger into `$last` only before an operation that may read it (see
    /// `runner::run`), so an operation that never does says so.
    fn reads_chain(&self) -> bool {
        true
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>>;
}

/// Every operation flowline knows, by type.
#[derive(Clone)]
pub struct Registry {
    ops: HashMap<&'static str, Arc<dyn Operation>>,
}

impl Registry {
    /// The built-in operations.
    pub fn builtin() -> Self {
        let list: Vec<Arc<dyn Operation>> = vec![
            Arc::new(basic::Condition),
            Arc::new(basic::Transform),
            Arc::new(basic::Log),
            Arc::new(basic::Sleep),
            Arc::new(basic::ThrowError),
            Arc::new(request::Request),
            Arc::new(trigger::TriggerFlow),
            Arc::new(jwt::JsonWebToken),
            Arc::new(items::ItemCreate),
            Arc::new(items::ItemRead),
            Arc::new(items::ItemUpdate),
            Arc::new(items::ItemDelete),
            Arc::new(items::Notification),
            Arc::new(mail::Mail::default()),
            Arc::new(exec::Exec),
        ];
        Registry {
            ops: list.into_iter().map(|op| (op.id(), op)).collect(),
        }
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn Operation>> {
        self.ops.get(kind).cloned()
    }

    /// Every type name, for tests that other lists follow the registry.
    #[cfg(test)]
    pub(crate) fn kinds(&self) -> Vec<&'static str> {
        self.ops.keys().copied().collect()
    }
}

/// Directus's `optionToObject`: a string is parsed as JSON (invalid JSON rejects), anything
/// else passes through.
pub fn option_to_object(value: &Value) -> Result<Value, Rejection> {
    match value {
        Value::String(s) => serde_json::from_str(s).map_err(|e| Rejection::error(format!("{e}"))),
        other => Ok(other.clone()),
    }
}

/// [`option_to_object`] for an option the caller owns: nothing is copied.
pub fn option_into_object(value: Value) -> Result<Value, Rejection> {
    match value {
        Value::String(s) => serde_json::from_str(&s).map_err(|e| Rejection::error(format!("{e}"))),
        other => Ok(other),
    }
}

/// Directus's `optionToString`: objects become JSON text, a missing value `"undefined"`.
pub fn option_to_string(value: Option<&Value>) -> String {
    match value {
        None => "undefined".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) => "null".to_string(),
        Some(other) => other.to_string(),
    }
}
