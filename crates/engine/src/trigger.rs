//! HTTP triggers: `webhook` and `manual` flows on `/flows/trigger/:id`, and flowline's
//! `/operations/trigger/:id` (flows-and-operations.md §3.2, §3.5).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use domain::Accountability;
use serde_json::{Map, Value};

use crate::Engine;
use crate::error::{DirectusError, HttpError, Rejection};
use crate::plan::{FlowPlan, ManualOptions, Trigger, TriggerKind, WebhookOptions};
use crate::queue::QueueFull;
use crate::runner::{Start, Status};

/// An HTTP request that starts a flow; `$trigger` is built from it.
#[derive(Debug, Clone)]
pub struct TriggerRequest {
    pub method: String,
    /// Router-relative, as Directus gives it: `/trigger/<id>`.
    pub path: String,
    pub query: Value,
    pub body: Value,
    /// Lower-cased header names.
    pub headers: Map<String, Value>,
    pub accountability: Accountability,
}

impl TriggerRequest {
    /// `$trigger` and the caller, the request's parts moved rather than copied: a copy of
    /// the headers stayed in memory beside the run's until the request's handler returned.
    fn into_trigger(self) -> (Value, Accountability) {
        let mut map = Map::with_capacity(5);
        map.insert("path".into(), Value::String(self.path));
        map.insert("query".into(), self.query);
        map.insert("body".into(), self.body);
        map.insert("method".into(), Value::String(self.method));
        map.insert("headers".into(), Value::Object(self.headers));
        (Value::Object(map), self.accountability)
    }
}

/// What the HTTP layer answers.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerReply {
    /// 200 with the raw JSON (no `data` envelope).
    Json(Value),
    /// 204 with no body: a falsy result, or an async run (queued).
    NoContent,
    /// An async run refused because the run queue is full: the caller should retry later
    /// (503 with `Retry-After`).
    Busy,
    Error(HttpError),
}

fn forbidden() -> TriggerReply {
    TriggerReply::Error(
        *Rejection::directus(DirectusError::new(
            "FORBIDDEN",
            403,
            "You don't have permission to access this.",
        ))
        .http,
    )
}

/// JavaScript truthiness of a JSON result: `null`, `false`, `0` and `""` answer 204.
fn falsy(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Cached GET webhook answers, keyed as Directus keys its response cache.
#[derive(Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<String, (Instant, TriggerReply)>>,
}

/// The cache holds at most this many answers; expired ones are dropped first.
const CACHE_CAPACITY: usize = 10_000;

impl ResponseCache {
    fn get(&self, key: &str) -> Option<TriggerReply> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((expires, reply)) if *expires > Instant::now() => Some(reply.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn put(&self, key: String, reply: TriggerReply, ttl: std::time::Duration) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_CAPACITY {
            let now = Instant::now();
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now() + ttl, reply));
    }
}

/// The cache key: flow, caller, the global query parameters, and only the raw parameters
/// named in `cacheQueryParams` (others share one cached answer, as in Directus).
fn cache_key(flow: &FlowPlan, options: &WebhookOptions, request: &TriggerRequest) -> String {
    let listed = &options.cache_query_params;
    let mut parts = Map::new();
    if let Value::Object(query) = &request.query {
        for (name, value) in query {
            if domain::params::KNOWN.contains(&name.as_str())
                || listed.iter().any(|listed| **listed == **name)
            {
                parts.insert(name.clone(), value.clone());
            }
        }
    }
    format!(
        "{}|{}|{}",
        flow.id,
        request.accountability.user.as_deref().unwrap_or(""),
        Value::Object(parts)
    )
}

impl Engine {
    /// `GET|POST /flows/trigger/:id`, with GET answers cached when caching is on and the
    /// flow's `cacheEnabled` is not false.
    pub async fn trigger_flow(&self, id: &str, request: TriggerRequest) -> TriggerReply {
        let cacheable = match (self.config().cache_ttl, request.method.as_str()) {
            (Some(ttl), "GET") => {
                let plan = self.plan().await;
                plan.flow(id).and_then(|f| match &f.trigger {
                    Some(Trigger::Webhook(options)) if options.cache_enabled => {
                        Some((cache_key(&f, options, &request), ttl))
                    }
                    _ => None,
                })
            }
            _ => None,
        };
        if let Some((key, _)) = &cacheable
            && let Some(hit) = self.cache().get(key)
        {
            return hit;
        }
        let reply = self.trigger_flow_uncached(id, request).await;
        if let Some((key, ttl)) = cacheable
            && !matches!(reply, TriggerReply::Error(_))
        {
            self.cache().put(key, reply.clone(), ttl);
        }
        reply
    }

    async fn trigger_flow_uncached(&self, id: &str, request: TriggerRequest) -> TriggerReply {
        let plan = self.plan().await;
        let Some(flow) = plan.flow(id) else {
            return forbidden();
        };
        let (kind, run_async, error_on_reject) = match &flow.trigger {
            Some(Trigger::Webhook(options)) => {
                if !options.method().eq_ignore_ascii_case(&request.method) {
                    return forbidden();
                }
                (
                    TriggerKind::Webhook,
                    options.run_async,
                    options.error_on_reject,
                )
            }
            Some(Trigger::Manual(options)) if request.method == "POST" => {
                if let Err(reply) = manual_checks(options, &request) {
                    return reply;
                }
                if !request.accountability.admin
                    && !self
                        .may_read_selection(&request.body, &request.accountability)
                        .await
                {
                    return forbidden();
                }
                (
                    TriggerKind::Manual,
                    options.run_async,
                    options.error_on_reject,
                )
            }
            _ => return forbidden(),
        };
        // Manual flows always answer `$last`; webhooks default to it.
        let return_option = match kind {
            TriggerKind::Manual => "$last",
            _ => flow.returns.as_deref().unwrap_or("$last"),
        };
        let admin = request.accountability.admin;
        let (trigger, accountability) = request.into_trigger();
        if run_async {
            let start = domain::runs::QueuedStart {
                trigger,
                accountability: Some(accountability),
                depth: 1,
            };
            return match self.enqueue(&flow, kind.name(), start).await {
                Ok(Ok(())) => TriggerReply::NoContent,
                Ok(Err(QueueFull)) => TriggerReply::Busy,
                Err(err) => {
                    tracing::error!(flow = %flow.id, %err, "could not queue a run");
                    TriggerReply::Error(
                        Rejection::error("The run could not be queued".to_string())
                            .http
                            .for_caller(admin),
                    )
                }
            };
        }
        let start = Box::new(Start {
            trigger,
            accountability: Some(accountability),
            flow: flow.clone(),
            at: None,
            depth: 1,
            tx: None,
            durable: None,
        });
        let run = self.execute(start).await;
        if error_on_reject
            && run.last_status == Some(Status::Reject)
            && let Some(rejection) = run.last_rejection
        {
            return TriggerReply::Error(rejection.http.for_caller(admin));
        }
        respond(run.select(Some(return_option)), admin)
    }

    /// `POST /operations/trigger/:id`: runs the operation's flow from that operation with the
    /// body as `$trigger`; the caller must be an admin. Directus documents this route but
    /// has none; flowline answers like a synchronous webhook.
    pub async fn trigger_operation(
        &self,
        id: &str,
        body: Value,
        accountability: Accountability,
    ) -> TriggerReply {
        if !accountability.admin {
            return forbidden();
        }
        let plan = self.plan().await;
        let id = crate::plan::RowId::new(id);
        let found = plan
            .flows
            .values()
            .find_map(|flow| flow.op_index(&id).map(|at| (flow.clone(), at)));
        let Some((flow, at)) = found else {
            return forbidden();
        };
        let return_option = flow.returns.as_deref().unwrap_or("$last").to_string();
        let run = self
            .execute(Box::new(Start {
                flow,
                at: Some(at),
                trigger: body,
                accountability: Some(accountability),
                depth: 1,
                tx: None,
                durable: None,
            }))
            .await;
        respond(run.select(Some(&return_option)), true)
    }
}

fn respond(
    result: Result<Option<Value>, crate::template::TemplateError>,
    admin: bool,
) -> TriggerReply {
    match result {
        Ok(Some(value)) if !falsy(&value) => TriggerReply::Json(value),
        Err(err) => TriggerReply::Error(Rejection::error(err.to_string()).http.for_caller(admin)),
        _ => TriggerReply::NoContent,
    }
}

/// The manual trigger's checks, in Directus's order; each failure is a 403.
fn manual_checks(options: &ManualOptions, request: &TriggerRequest) -> Result<(), TriggerReply> {
    let collection = request
        .body
        .get("collection")
        .and_then(Value::as_str)
        .ok_or_else(forbidden)?;
    if !options.collections.iter().any(|c| **c == *collection) {
        return Err(forbidden());
    }
    if options.require_selection {
        match request.body.get("keys") {
            Some(Value::Array(keys)) if !keys.is_empty() => {}
            _ => return Err(forbidden()),
        }
    }
    if !request.accountability.is_authenticated() {
        return Err(forbidden());
    }
    // Non-admins also need to read what they run the flow on: see
    // `Engine::may_read_selection`.
    Ok(())
}

impl Engine {
    /// A non-admin may run a manual flow on a collection they may read, and only on items
    /// they may read (Directus reads each key through the items service, as the caller).
    async fn may_read_selection(&self, body: &Value, acc: &Accountability) -> bool {
        let Some(collection) = body.get("collection").and_then(Value::as_str) else {
            return false;
        };
        let items = self.items();
        let Ok(grants) = items.grants(acc).await else {
            return false;
        };
        if grants
            .get(collection, domain::permissions::Action::Read)
            .is_err()
        {
            return false;
        }
        let keys: Vec<String> = match body.get("keys") {
            Some(Value::Array(keys)) => keys.iter().filter_map(domain::items::key_text).collect(),
            _ => return true,
        };
        if keys.is_empty() {
            return true;
        }
        let catalog = grants.readable(&items.catalog());
        let Some(pk) = catalog.get(collection).map(|c| c.primary_key.to_string()) else {
            return false;
        };
        let Ok(node) = domain::query::ReadNode::from_fields(&catalog, collection, &[pk]) else {
            return false;
        };
        let mut wanted = keys.clone();
        wanted.sort();
        wanted.dedup();
        match items.read_keys(acc, &node, &wanted).await {
            Ok(rows) => rows.len() == wanted.len(),
            Err(_) => false,
        }
    }
}
