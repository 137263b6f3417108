//! JSON-RPC over one POST: which messages are answered, and how. Every message in and out
//! is one of `rmcp`'s protocol model types, so the wire format is the SDK's.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CustomNotification, CustomRequest, EmptyObject, ErrorCode, ErrorData,
    Implementation, InitializeRequestParams, InitializeResult, JsonObject, JsonRpcError,
    JsonRpcMessage, JsonRpcResponse, JsonRpcVersion2_0, ListToolsResult, PromptsCapability,
    ProtocolVersion, ServerCapabilities, ToolsCapability,
};
use serde::Serialize;
use serde_json::Value;

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

/// Directus's code for prompt requests while no prompts collection is set.
const NO_PROMPTS: ErrorCode = ErrorCode(1001);

/// A message from the client: any method, parsed further once it is known.
type Incoming = JsonRpcMessage<CustomRequest, JsonObject, CustomNotification>;

/// Answers one message: a JSON reply for a request, 202 for anything else.
pub async fn handle(ctx: &Ctx<'_>, message: Option<Value>) -> Response {
    let message = message.and_then(|m| serde_json::from_value::<Incoming>(m).ok());
    match message {
        Some(JsonRpcMessage::Request(request)) => {
            let id = request.id;
            let CustomRequest { method, params, .. } = request.request;
            match dispatch(ctx, &method, params).await {
                Ok(result) => json_reply(
                    StatusCode::OK,
                    &JsonRpcResponse {
                        jsonrpc: JsonRpcVersion2_0,
                        id,
                        result,
                    },
                ),
                Err(error) => json_reply(StatusCode::OK, &JsonRpcError::new(Some(id), error)),
            }
        }
        // Notifications and the client's own responses need no answer. Directus leaves every
        // one but `notifications/initialized` hanging until the client gives up; the
        // specification asks for 202.
        Some(JsonRpcMessage::Notification(_) | JsonRpcMessage::Response(_))
        | Some(JsonRpcMessage::Error(_)) => StatusCode::ACCEPTED.into_response(),
        // Not one JSON-RPC message (a batch, a bare value, a GET's empty body). Directus
        // throws and answers 500; the JSON-RPC error is what the protocol prescribes.
        None => json_reply(
            StatusCode::BAD_REQUEST,
            &JsonRpcError::new(
                None,
                ErrorData::new(ErrorCode::INVALID_REQUEST, "Invalid Request", None),
            ),
        ),
    }
}

/// One request's result as JSON, or its JSON-RPC error.
async fn dispatch(ctx: &Ctx<'_>, method: &str, params: Option<Value>) -> Result<Value, ErrorData> {
    match method {
        "initialize" => {
            let params: InitializeRequestParams = parse(params)?;
            to_json(initialize(&params.protocol_version))
        }
        "ping" => to_json(EmptyObject {}),
        "tools/list" => {
            // No pagination: the list is short, and a cursor is ignored.
            let listed = if ctx.registry {
                super::registry::list()
            } else {
                tools::list(ctx)
            };
            let mut result = ListToolsResult::with_all_items(listed);
            result.result_type = None;
            to_json(result)
        }
        "tools/call" => {
            let params: CallToolRequestParams = parse(params)?;
            let arguments = params.arguments.map(Value::Object);
            let result = if ctx.registry {
                super::registry::call(ctx, &params.name, arguments.as_ref()).await
            } else {
                tools::call(ctx, &params.name, arguments.as_ref()).await
            };
            to_json(result)
        }
        // flowline has no user collections to keep prompts in: the answer is always the
        // one Directus gives while its `mcp_prompts_collection` setting is empty.
        "prompts/list" | "prompts/get" => Err(ErrorData::new(
            NO_PROMPTS,
            format!(
                "MCP error {}: A prompts collection must be set in settings",
                NO_PROMPTS.0
            ),
            None,
        )),
        _ => Err(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            "Method not found",
            None,
        )),
    }
}

/// A known method's parameters. Malformed ones keep Directus's code (-32603) with a
/// message of our own (Directus prints its validator's issue list as JSON).
fn parse<T: serde::de::DeserializeOwned>(params: Option<Value>) -> Result<T, ErrorData> {
    let params = params.unwrap_or(Value::Null);
    serde_json::from_value(params).map_err(|err| {
        ErrorData::new(
            ErrorCode::INTERNAL_ERROR,
            format!("Invalid params: {err}"),
            None,
        )
    })
}

fn to_json(result: impl Serialize) -> Result<Value, ErrorData> {
    serde_json::to_value(result)
        .map_err(|err| ErrorData::new(ErrorCode::INTERNAL_ERROR, err.to_string(), None))
}

fn initialize(asked: &ProtocolVersion) -> InitializeResult {
    let known = VERSIONS.contains(&asked.as_str());
    let version = if known {
        asked.clone()
    } else {
        ProtocolVersion::V_2025_11_25
    };
    let mut capabilities = ServerCapabilities::default();
    capabilities.tools = Some(ToolsCapability::default());
    capabilities.prompts = Some(PromptsCapability::default());
    InitializeResult::new(capabilities)
        .with_protocol_version(version)
        .with_server_info(Implementation::new(SERVER_NAME, SERVER_VERSION))
}

fn json_reply(status: StatusCode, body: &impl Serialize) -> Response {
    let text = serde_json::to_string(body).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}
