//! The second flow API of our source documents (issue 7): flows as named, callable units
//! with declared inputs and outputs, served over the same store as the Directus API.
//!
//! - `GET /api/flows/` (`?name__iexact=`, `?group__iexact=`), `POST /api/flows/`
//! - `GET|PUT|DELETE /api/flows/<id>/`
//! - `GET /api/apps/<id>/status/`
//!
//! Every path answers with and without its trailing slash. Such a flow is a Directus flow
//! with trigger `operation`; its `input_fields` and `output_fields` live in its `options`
//! and its `group` is its folder's name. Bodies follow that API (Django REST framework
//! shapes: `{"detail": ...}`, `{"<field>": ["..."]}`), except that authentication fails as
//! everywhere else in flowline (Directus's 401 and 403). Every write goes through the
//! items service, so validation, transactions and activity logs apply as for Directus.

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::Accountability;
use domain::query::ReadNode;
use serde_json::{Map, Value, json};

use crate::app::{AppState, Payload};
use crate::auth;
use crate::error::ApiError;

const FLOWS: &str = "directus_flows";
const OPERATIONS: &str = "directus_operations";

/// The message of a name with characters other than ASCII letters, digits and `_`.
pub const INVALID_NAME: &str = "Invalid flow name. Flow name must contain only alphanumeric characters and the underscore character.";

/// The longest name `directus_flows.name` holds.
const MAX_NAME: usize = 255;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/flows", get(list).post(create))
        .route("/api/flows/", get(list).post(create))
        .route("/api/flows/{id}", get(show).put(update).delete(remove))
        .route("/api/flows/{id}/", get(show).put(update).delete(remove))
        .route("/api/apps/{id}/status", get(status))
        .route("/api/apps/{id}/status/", get(status))
}

/// One flow as this API sees it.
#[derive(Debug, Clone, PartialEq)]
struct FlowRow {
    id: String,
    name: String,
    status: Option<String>,
    options: Map<String, Value>,
    /// The folder's name.
    group: Option<String>,
    /// The first operation.
    operation: Option<String>,
    ops: Vec<OpRow>,
}

#[derive(Debug, Clone, PartialEq)]
struct OpRow {
    id: String,
    key: String,
    kind: String,
    resolve: Option<String>,
    reject: Option<String>,
}

fn text(row: &Value, key: &str) -> Option<String> {
    row.get(key).and_then(Value::as_str).map(str::to_string)
}

impl FlowRow {
    fn from_row(row: &Value) -> Option<Self> {
        let ops = row
            .get("operations")
            .and_then(Value::as_array)
            .map(|ops| {
                ops.iter()
                    .filter_map(|op| {
                        Some(OpRow {
                            id: text(op, "id")?,
                            key: text(op, "key").unwrap_or_default(),
                            kind: text(op, "type").unwrap_or_default(),
                            resolve: text(op, "resolve"),
                            reject: text(op, "reject"),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(FlowRow {
            id: text(row, "id")?,
            name: text(row, "name").unwrap_or_default(),
            status: text(row, "status"),
            options: row
                .get("options")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            group: row.get("folder").and_then(|f| text(f, "name")),
            operation: text(row, "operation"),
            ops,
        })
    }

    /// A declared field list; anything but a list of strings reads as empty.
    fn fields(&self, name: &str) -> Vec<Value> {
        match self.options.get(name) {
            Some(Value::Array(list)) => list.iter().filter(|v| v.is_string()).cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The canvas id: a UUID v5 over the flow's id, its first operation and, for every
    /// operation sorted by id, that operation's id, key, type, `resolve` and `reject`.
    ///
    /// It is stable over everything else: the flow's name, status, folder, options (the
    /// declared fields included), and its operations' names, positions and options. It
    /// changes when an operation is added, removed, re-keyed, retyped or relinked, or when
    /// the flow starts at another operation.
    fn canvas_id(&self) -> String {
        let mut ops: Vec<&OpRow> = self.ops.iter().collect();
        ops.sort_by(|a, b| a.id.cmp(&b.id));
        let graph = json!([
            "flowline-canvas-v1",
            self.id,
            self.operation,
            ops.iter()
                .map(|op| json!([op.id, op.key, op.kind, op.resolve, op.reject]))
                .collect::<Vec<_>>(),
        ]);
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, graph.to_string().as_bytes()).to_string()
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "input_fields": self.fields("input_fields"),
            "output_fields": self.fields("output_fields"),
            "canvas_id": self.canvas_id(),
        })
    }
}

/// `{"detail": message}` with a status.
fn detail(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"detail": message.into()}))).into_response()
}

fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not found.")
}

/// The caller; this API serves system collections, so only admins get further.
async fn admin(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Accountability, ApiError> {
    let acc = auth::accountability(&state.tokens, headers, query).await?;
    if !acc.admin {
        return Err(domain::Error::forbidden().into());
    }
    Ok(acc)
}

/// The read of flows with everything this API shows.
fn flow_node(state: &AppState) -> Result<ReadNode, ApiError> {
    let fields: Vec<String> = [
        "folder.name",
        "id",
        "name",
        "status",
        "options",
        "operation",
        "operations.id",
        "operations.key",
        "operations.type",
        "operations.resolve",
        "operations.reject",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut node = ReadNode::from_fields(&state.items.catalog(), FLOWS, &fields)?;
    node.args.limit = Some(-1);
    for select in node.select.iter_mut() {
        if let domain::query::Select::Relation { node: child, .. } = select {
            child.args.limit = Some(-1);
        }
    }
    Ok(node)
}

/// One flow, or `None` when no flow has this id.
async fn find(
    state: &AppState,
    acc: &Accountability,
    id: &str,
) -> Result<Option<FlowRow>, ApiError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Ok(None);
    }
    let node = flow_node(state)?;
    let rows = state.items.read_keys(acc, &node, &[id.to_string()]).await?;
    Ok(rows.first().and_then(FlowRow::from_row))
}

/// `GET /api/flows/`: every flow, filtered case-insensitively by name and folder name
/// (an empty filter value is ignored, as django-filter does), ordered by name then id.
async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let acc = admin(&state, &headers, query.as_deref()).await?;
    let filter = |name: &str| {
        query
            .as_deref()
            .and_then(|q| auth::url_query_value(q, name))
            .filter(|v| !v.is_empty())
            .map(|v| v.to_lowercase())
    };
    let name = filter("name__iexact");
    let group = filter("group__iexact");
    let node = flow_node(&state)?;
    let rows = state.items.read(&acc, &node).await?;
    let mut flows: Vec<FlowRow> = rows
        .iter()
        .filter_map(FlowRow::from_row)
        .filter(|f| name.as_ref().is_none_or(|n| f.name.to_lowercase() == *n))
        .filter(|f| {
            group.as_ref().is_none_or(|g| {
                f.group
                    .as_ref()
                    .is_some_and(|name| name.to_lowercase() == *g)
            })
        })
        .collect();
    flows.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    Ok(Json(Value::Array(flows.iter().map(FlowRow::to_json).collect())).into_response())
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let acc = admin(&state, &headers, query.as_deref()).await?;
    Ok(match find(&state, &acc, &id).await? {
        Some(flow) => Json(flow.to_json()).into_response(),
        None => not_found(),
    })
}

/// A client error answered in this API's shape: a status and its JSON body.
type Invalid = (StatusCode, Json<Value>);

/// A JSON object body, or the 400 answered for anything else.
fn object_body(body: &[u8]) -> Result<Map<String, Value>, Invalid> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                Json(json!({"detail": format!("JSON parse error - {e}")})),
            )
        })?
    };
    match value {
        Value::Object(obj) => Ok(obj),
        other => Err((
            StatusCode::BAD_REQUEST,
            Json(json!({"non_field_errors": [format!(
                "Invalid data. Expected a dictionary, but got {}.",
                type_name(&other)
            )]})),
        )),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Field errors collected the way Django REST framework reports them.
#[derive(Default)]
struct FieldErrors(Map<String, Value>);

impl FieldErrors {
    fn add(&mut self, field: &str, error: Value) {
        self.0.insert(field.to_string(), error);
    }

    fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err((StatusCode::BAD_REQUEST, Json(Value::Object(self.0))))
        }
    }
}

/// The flow name rules: a non-blank string of ASCII letters, digits and `_`.
fn check_name(value: Option<&Value>, required: bool, errors: &mut FieldErrors) -> Option<String> {
    let message = match value {
        None | Some(Value::Null) if !required => return None,
        None => "This field is required.",
        Some(Value::Null) => "This field may not be null.",
        Some(Value::String(s)) if s.is_empty() => "This field may not be blank.",
        Some(Value::String(s)) if s.chars().count() > MAX_NAME => {
            "Ensure this field has no more than 255 characters."
        }
        Some(Value::String(s)) if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            INVALID_NAME
        }
        Some(Value::String(s)) => return Some(s.clone()),
        Some(_) => "Not a valid string.",
    };
    errors.add("name", json!([message]));
    None
}

/// A declared field list: absent gives `None`, otherwise it must be a list of strings.
fn check_list(
    body: &Map<String, Value>,
    field: &str,
    errors: &mut FieldErrors,
) -> Option<Vec<Value>> {
    match body.get(field)? {
        Value::Array(list) => {
            let mut bad = Map::new();
            for (i, item) in list.iter().enumerate() {
                match item {
                    Value::String(s) if !s.is_empty() => {}
                    Value::String(_) => {
                        bad.insert(i.to_string(), json!(["This field may not be blank."]));
                    }
                    _ => {
                        bad.insert(i.to_string(), json!(["Not a valid string."]));
                    }
                }
            }
            if bad.is_empty() {
                Some(list.clone())
            } else {
                errors.add(field, Value::Object(bad));
                None
            }
        }
        Value::Null => {
            errors.add(field, json!(["This field may not be null."]));
            None
        }
        other => {
            errors.add(
                field,
                json!([format!(
                    "Expected a list of items but got type \"{}\".",
                    type_name(other)
                )]),
            );
            None
        }
    }
}

/// `POST /api/flows/`: creates an active flow with trigger `operation`; 201 with the flow
/// and a `Location` header naming it.
async fn create(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Payload(body): Payload,
) -> Result<Response, ApiError> {
    let acc = admin(&state, &headers, query.as_deref()).await?;
    let body = match object_body(&body) {
        Ok(body) => body,
        Err(invalid) => return Ok(invalid.into_response()),
    };
    let mut errors = FieldErrors::default();
    let name = check_name(body.get("name"), true, &mut errors);
    let inputs = check_list(&body, "input_fields", &mut errors);
    let outputs = check_list(&body, "output_fields", &mut errors);
    if let Err(invalid) = errors.into_result() {
        return Ok(invalid.into_response());
    }
    let item = json!({
        "name": name,
        "status": "active",
        "trigger": "operation",
        // A callable unit answers its last operation's result unless told otherwise, so
        // its declared outputs have something to keep.
        "options": {
            "input_fields": inputs.unwrap_or_default(),
            "output_fields": outputs.unwrap_or_default(),
            "return": "$last",
        },
    });
    let keys = state.items.create_many(&acc, FLOWS, vec![item]).await?;
    let id = keys
        .into_iter()
        .next()
        .ok_or_else(|| domain::Error::Internal("a created flow has no key".into()))?;
    let flow = find(&state, &acc, &id)
        .await?
        .ok_or_else(|| domain::Error::Internal(format!("created flow {id} not found")))?;
    let mut reply = (StatusCode::CREATED, Json(flow.to_json())).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/flows/{id}/")) {
        reply.headers_mut().insert(header::LOCATION, location);
    }
    Ok(reply)
}

/// `PUT /api/flows/<id>/`: replaces the declared lists given (and the name, when given);
/// the flow's other options are kept.
async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Payload(body): Payload,
) -> Result<Response, ApiError> {
    let acc = admin(&state, &headers, query.as_deref()).await?;
    let Some(flow) = find(&state, &acc, &id).await? else {
        return Ok(not_found());
    };
    let body = match object_body(&body) {
        Ok(body) => body,
        Err(invalid) => return Ok(invalid.into_response()),
    };
    let mut errors = FieldErrors::default();
    let name = check_name(body.get("name"), false, &mut errors);
    let inputs = check_list(&body, "input_fields", &mut errors);
    let outputs = check_list(&body, "output_fields", &mut errors);
    if let Err(invalid) = errors.into_result() {
        return Ok(invalid.into_response());
    }
    let mut data = Map::new();
    if let Some(name) = name {
        data.insert("name".into(), Value::from(name));
    }
    if inputs.is_some() || outputs.is_some() {
        let mut options = flow.options.clone();
        if let Some(inputs) = inputs {
            options.insert("input_fields".into(), Value::Array(inputs));
        }
        if let Some(outputs) = outputs {
            options.insert("output_fields".into(), Value::Array(outputs));
        }
        data.insert("options".into(), Value::Object(options));
    }
    if !data.is_empty() {
        state
            .items
            .update_many(&acc, FLOWS, vec![flow.id.clone()], Value::Object(data))
            .await?;
    }
    Ok(match find(&state, &acc, &flow.id).await? {
        Some(flow) => Json(flow.to_json()).into_response(),
        None => not_found(),
    })
}

/// The names of the other flows that run this one through a `trigger` operation, sorted
/// and without repeats.
async fn callers(
    state: &AppState,
    acc: &Accountability,
    id: &str,
) -> Result<Vec<String>, ApiError> {
    let fields: Vec<String> = ["options", "flow.id", "flow.name"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut node = ReadNode::from_fields(&state.items.catalog(), OPERATIONS, &fields)?;
    node.args.limit = Some(-1);
    node.args.filter = Some(json!({"type": {"_eq": "trigger"}}));
    let rows = state.items.read(acc, &node).await?;
    let mut names: Vec<String> = rows
        .iter()
        .filter(|op| {
            op.get("options")
                .and_then(|o| o.get("flow"))
                .and_then(Value::as_str)
                == Some(id)
        })
        .filter_map(|op| op.get("flow"))
        .filter(|flow| text(flow, "id").as_deref() != Some(id))
        .filter_map(|flow| text(flow, "name"))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// `DELETE /api/flows/<id>/`: 204, or 409 while other flows call it.
async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let acc = admin(&state, &headers, query.as_deref()).await?;
    let Some(flow) = find(&state, &acc, &id).await? else {
        return Ok(not_found());
    };
    let callers = callers(&state, &acc, &flow.id).await?;
    if !callers.is_empty() {
        return Ok(detail(
            StatusCode::CONFLICT,
            format!(
                "Cannot delete the Flow, because it is used by these apps/flows: {}",
                callers.join(",")
            ),
        ));
    }
    state.items.delete_many(&acc, FLOWS, vec![flow.id]).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/apps/<id>/status/`: `started` when active and loaded by the engine with a
/// trigger and a first operation, `stopped` when inactive, `not-deployed` otherwise.
async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let acc = admin(&state, &headers, query.as_deref()).await?;
    let Some(flow) = find(&state, &acc, &id).await? else {
        return Ok(not_found());
    };
    let status = match flow.status.as_deref() {
        Some("inactive") => "stopped",
        Some("active") => {
            let plan = state.engine.plan().await;
            let runnable = plan
                .flow(&flow.id)
                .is_some_and(|f| f.trigger.is_some() && f.root.is_some());
            if runnable { "started" } else { "not-deployed" }
        }
        _ => "not-deployed",
    };
    Ok(Json(json!({"status": status})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> FlowRow {
        FlowRow {
            id: "f".into(),
            name: "n".into(),
            status: Some("active".into()),
            options: Map::new(),
            group: None,
            operation: Some("a".into()),
            ops: vec![
                OpRow {
                    id: "b".into(),
                    key: "second".into(),
                    kind: "log".into(),
                    resolve: None,
                    reject: None,
                },
                OpRow {
                    id: "a".into(),
                    key: "first".into(),
                    kind: "transform".into(),
                    resolve: Some("b".into()),
                    reject: None,
                },
            ],
        }
    }

    #[test]
    fn canvas_id_ignores_order_names_and_options() {
        let one = flow();
        let mut two = flow();
        two.ops.reverse();
        two.name = "other".into();
        two.options.insert("input_fields".into(), json!(["x"]));
        assert_eq!(one.canvas_id(), two.canvas_id());
        let parsed = uuid::Uuid::parse_str(&one.canvas_id()).expect("uuid");
        assert_eq!(parsed.get_version_num(), 5);
    }

    #[test]
    fn canvas_id_follows_the_graph() {
        let one = flow();
        let mut relinked = flow();
        relinked.ops[1].resolve = None;
        let mut rekeyed = flow();
        rekeyed.ops[0].key = "renamed".into();
        let mut restarted = flow();
        restarted.operation = Some("b".into());
        for other in [relinked, rekeyed, restarted] {
            assert_ne!(one.canvas_id(), other.canvas_id());
        }
    }

    #[test]
    fn names_are_ascii_words() {
        let check = |v: Value| {
            let mut errors = FieldErrors::default();
            let name = check_name(Some(&v), true, &mut errors);
            (name, errors.0)
        };
        assert_eq!(
            check(json!("Good_name_1")).0.as_deref(),
            Some("Good_name_1")
        );
        for bad in ["bad name", "bad-name", "naïve", "a.b"] {
            let (name, errors) = check(json!(bad));
            assert_eq!(name, None);
            assert_eq!(Value::Object(errors), json!({"name": [INVALID_NAME]}));
        }
    }
}
