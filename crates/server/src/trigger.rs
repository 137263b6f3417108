//! `/flows/trigger/:id` (webhook and manual flows) and `/operations/trigger/:id`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::{params, query_string};
use engine::{TriggerReply, TriggerRequest};
use serde_json::{Map, Value};

use crate::app::{AppState, Payload};
use crate::auth;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/flows/trigger/{id}", get(flow_trigger).post(flow_trigger))
        .route("/operations/trigger/{id}", post(operation_trigger))
}

fn reply(reply: TriggerReply) -> Response {
    match reply {
        TriggerReply::Json(value) => Json(value).into_response(),
        TriggerReply::NoContent => StatusCode::NO_CONTENT.into_response(),
        TriggerReply::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "1")],
            Json(serde_json::json!({"errors": [{
                "message": "The run queue is full; try again shortly.",
                "extensions": {"code": "SERVICE_UNAVAILABLE"}
            }]})),
        )
            .into_response(),
        TriggerReply::Error(err) => {
            let status =
                StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, Json(err.body)).into_response()
        }
    }
}

/// A JSON body, or `{}` when there is none (Directus's body parser default).
fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.contains("json"));
    if body.iter().all(u8::is_ascii_whitespace) || !is_json {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::payload(format!("Invalid JSON body: {e}")))
}

fn header_map(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, value) in headers {
        let value = Value::from(String::from_utf8_lossy(value.as_bytes()).into_owned());
        match out.get_mut(name.as_str()) {
            // Repeated headers join as Node joins them.
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(value.as_str().unwrap_or_default());
            }
            _ => {
                out.insert(name.as_str().to_string(), value);
            }
        }
    }
    out
}

fn is_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok() && id.len() == 36
}

/// The client's address: the first `X-Forwarded-For` hop (Directus trusts proxies by
/// default), else the socket's peer.
pub struct ClientIp(Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip().to_string());
        Ok(ClientIp(forwarded.or(peer)))
    }
}

/// The request's caller, with the address, agent and origin flows see in `$accountability`.
pub(crate) async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    ip: ClientIp,
) -> Result<domain::Accountability, ApiError> {
    let mut acc = auth::accountability(&state.tokens, headers, query).await?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    acc.user_agent = header("user-agent");
    acc.origin = header("origin");
    acc.ip = ip.0;
    Ok(acc)
}

#[allow(clippy::too_many_arguments)]
async fn flow_trigger(
    State(state): State<AppState>,
    ip: ClientIp,
    method: Method,
    uri: Uri,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Payload(body): Payload,
) -> Result<Response, ApiError> {
    if !is_uuid(&id) {
        return Err(ApiError::RouteNotFound(uri.path().to_string()));
    }
    let raw = query.as_deref().unwrap_or_default();
    let parsed = query_string::parse(raw);
    // Directus sanitises the global query parameters on every route, triggers included.
    params::parse(parsed.as_object().unwrap_or(&Map::new()))?;
    let accountability = caller(&state, &headers, query.as_deref(), ip).await?;
    let body = if method == Method::POST {
        json_body(&headers, &body)?
    } else {
        Value::Object(Map::new())
    };
    let request = TriggerRequest {
        method: method.as_str().to_string(),
        path: format!("/trigger/{id}"),
        query: parsed,
        body,
        headers: header_map(&headers),
        accountability,
    };
    Ok(reply(state.engine.trigger_flow(&id, request).await))
}

async fn operation_trigger(
    State(state): State<AppState>,
    ip: ClientIp,
    uri: Uri,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Payload(body): Payload,
) -> Result<Response, ApiError> {
    if !is_uuid(&id) {
        return Err(ApiError::RouteNotFound(uri.path().to_string()));
    }
    let accountability = caller(&state, &headers, query.as_deref(), ip).await?;
    let body = json_body(&headers, &body)?;
    Ok(reply(
        state
            .engine
            .trigger_operation(&id, body, accountability)
            .await,
    ))
}
