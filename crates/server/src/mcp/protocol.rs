//! JSON-RPC over one POST: which messages are answered, and how.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::tools::{self, Ctx};

/// The name and version Directus announces; clients that key on them see the same.
const SERVER_NAME: &str = "directus-mcp";
const SERVER_VERSION: &str = "0.1.0";

/// The protocol versions echoed back to a client that asks for one of them; any other gets
/// the newest, as Directus's SDK answers.
const VERSIONS: &[&str] = &[
    "2025-11-25",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
    "2024-10-07",
];

const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_REQUEST: i64 = -32600;
const INTERNAL_ERROR: i64 = -32603;
/// Directus's code for prompt requests while no prompts collection is set.
const NO_PROMPTS: i64 = 1001;

/// Answers one message: a JSON reply for a request, 202 for anything else.
pub async fn handle(ctx: &Ctx<'_>, message: Option<Value>) -> Response {
    let Some(Value::Object(message)) = message else {
        return invalid_request();
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid_request();
    }
    let id = message
        .get("id")
        .filter(|id| id.is_string() || id.is_number());
    let method = message.get("method").and_then(Value::as_str);
    match (method, id) {
        (Some(method), Some(id)) => {
            let params = message.get("params");
            let answer = dispatch(ctx, method, params).await;
            json_reply(match answer {
                Ok(result) => json!({"result": result, "jsonrpc": "2.0", "id": id}),
                Err((code, text)) => {
                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": text}})
                }
            })
        }
        // Notifications and the client's own responses need no answer. Directus leaves every
        // one but `notifications/initialized` hanging until the client gives up; the
        // specification asks for 202.
        (Some(_), None) => accepted(),
        (None, Some(_)) if message.contains_key("result") || message.contains_key("error") => {
            accepted()
        }
        _ => invalid_request(),
    }
}

/// One request's result, or its JSON-RPC error `(code, message)`.
async fn dispatch(
    ctx: &Ctx<'_>,
    method: &str,
    params: Option<&Value>,
) -> Result<Value, (i64, String)> {
    match method {
        "initialize" => Ok(initialize(params)),
        "ping" => Ok(json!({})),
        // No pagination: the list is short, and a cursor is ignored.
        "tools/list" => Ok(json!({"tools": tools::list(ctx)})),
        "tools/call" => {
            let Some(Value::Object(params)) = params else {
                return Err(bad_params("\"params\" must be an object"));
            };
            let Some(name) = params.get("name").and_then(Value::as_str) else {
                return Err(bad_params("\"params.name\" must be a string"));
            };
            Ok(tools::call(ctx, name, params.get("arguments")).await)
        }
        // flowline has no user collections to keep prompts in: the answer is always the
        // one Directus gives while its `mcp_prompts_collection` setting is empty.
        "prompts/list" | "prompts/get" => Err((
            NO_PROMPTS,
            format!("MCP error {NO_PROMPTS}: A prompts collection must be set in settings"),
        )),
        _ => Err((METHOD_NOT_FOUND, "Method not found".to_string())),
    }
}

/// Malformed parameters of a known method: Directus's code, with a message of our own
/// (Directus prints the validator's issue list as JSON).
fn bad_params(reason: &str) -> (i64, String) {
    (INTERNAL_ERROR, format!("Invalid params: {reason}"))
}

fn initialize(params: Option<&Value>) -> Value {
    let asked = params
        .and_then(|p| p.get("protocolVersion"))
        .and_then(Value::as_str)
        .filter(|v| VERSIONS.contains(v));
    let version = asked.unwrap_or(VERSIONS[0]);
    let mut result = Map::new();
    result.insert("protocolVersion".into(), Value::from(version));
    result.insert("capabilities".into(), json!({"tools": {}, "prompts": {}}));
    result.insert(
        "serverInfo".into(),
        json!({"name": SERVER_NAME, "version": SERVER_VERSION}),
    );
    Value::Object(result)
}

fn json_reply(body: Value) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body.to_string(),
    )
        .into_response()
}

fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

/// A body that is not one JSON-RPC message (a batch, a bare value, a GET's empty body).
/// Directus throws and answers 500; the JSON-RPC error is what the protocol prescribes.
fn invalid_request() -> Response {
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": INVALID_REQUEST, "message": "Invalid Request"}});
    let mut response = json_reply(body);
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}
