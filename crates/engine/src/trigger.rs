//! HTTP triggers: `webhook` and `manual` flows on `/flows/trigger/:id`, and flowline's
//! `/operations/trigger/:id` (flows-and-operations.md §3.2, §3.5).

use domain::Accountability;
use serde_json::{Map, Value};

use crate::Engine;
use crate::error::{DirectusError, HttpError, Rejection};
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
    fn trigger_value(&self) -> Value {
        serde_json::json!({
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "method": self.method,
            "headers": self.headers,
        })
    }
}

/// What the HTTP layer answers.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerReply {
    /// 200 with the raw JSON (no `data` envelope).
    Json(Value),
    /// 204 with no body: a falsy result, or an async run.
    NoContent,
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

impl Engine {
    /// `GET|POST /flows/trigger/:id`.
    pub async fn trigger_flow(&self, id: &str, request: TriggerRequest) -> TriggerReply {
        let plan = self.plan().await;
        let Some(flow) = plan.flow(id) else {
            return forbidden();
        };
        let manual = match flow.trigger.as_deref() {
            Some("webhook") => {
                let method = flow.option_str("method").unwrap_or("GET");
                if !method.eq_ignore_ascii_case(&request.method) {
                    return forbidden();
                }
                false
            }
            Some("manual") if request.method == "POST" => {
                if let Err(reply) = manual_checks(&flow.options, &request) {
                    return reply;
                }
                true
            }
            _ => return forbidden(),
        };
        // Manual flows always answer `$last`; webhooks default to it.
        let return_option = if manual {
            Some("$last".to_string())
        } else {
            Some(flow.option_str("return").unwrap_or("$last").to_string())
        };
        let start = Start {
            trigger: request.trigger_value(),
            accountability: Some(request.accountability.clone()),
            flow: flow.clone(),
            at: None,
            depth: 1,
        };
        if flow.option_bool("async") {
            let engine = self.clone();
            tokio::spawn(async move {
                engine.execute(start).await;
            });
            return TriggerReply::NoContent;
        }
        let run = self.execute(start).await;
        if flow.option_bool("error_on_reject")
            && run.last_status == Some(Status::Reject)
            && let Some(rejection) = run.last_rejection
        {
            return TriggerReply::Error(*rejection.http);
        }
        respond(run.select(return_option.as_deref()))
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
        let found = plan
            .flows
            .values()
            .find_map(|flow| flow.op_index(id).map(|at| (flow.clone(), at)));
        let Some((flow, at)) = found else {
            return forbidden();
        };
        let return_option = flow.option_str("return").unwrap_or("$last").to_string();
        let run = self
            .execute(Start {
                flow,
                at: Some(at),
                trigger: body,
                accountability: Some(accountability),
                depth: 1,
            })
            .await;
        respond(run.select(Some(&return_option)))
    }
}

fn respond(result: Option<Value>) -> TriggerReply {
    match result {
        Some(value) if !falsy(&value) => TriggerReply::Json(value),
        _ => TriggerReply::NoContent,
    }
}

/// The manual trigger's checks, in Directus's order; each failure is a 403.
fn manual_checks(
    options: &Map<String, Value>,
    request: &TriggerRequest,
) -> Result<(), TriggerReply> {
    let collection = request
        .body
        .get("collection")
        .and_then(Value::as_str)
        .ok_or_else(forbidden)?;
    let collections: Vec<&str> = match options.get("collections") {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    if collections.is_empty() || !collections.contains(&collection) {
        return Err(forbidden());
    }
    let require_selection = options
        .get("requireSelection")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if require_selection {
        match request.body.get("keys") {
            Some(Value::Array(keys)) if !keys.is_empty() => {}
            _ => return Err(forbidden()),
        }
    }
    if !request.accountability.is_authenticated() {
        return Err(forbidden());
    }
    // Non-admins need read access to the collection; flowline has no permission rows yet
    // (they arrive with item permissions), so only admins may run manual flows for now.
    if !request.accountability.admin {
        return Err(forbidden());
    }
    Ok(())
}
