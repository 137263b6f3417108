//! The MCP endpoint `/mcp`: AI clients (Claude, Cursor, any MCP client) list, change and
//! run flows through the tools `system-prompt`, `flows`, `trigger-flow` and `operations`,
//! as they do on Directus 12.
//!
//! Every message in and out is one of `rmcp`'s protocol model types (the official Rust SDK),
//! but the transport is written here rather than taken from its `StreamableHttpService`:
//! Directus answers a stateless subset of Streamable HTTP (one JSON reply per POST, no
//! sessions, no SSE) with rules of its own, checked in its order after REST's
//! authentication (a missing `Accept` or one without `text/event-stream` passes, anonymous
//! callers get a bearer challenge, a GET gets 405), where the service answers 406 or 415
//! first and would need its own layer for the rest. Every read and write of a tool goes
//! through the items service, and `trigger-flow` through the engine's manual-trigger path,
//! exactly as REST and GraphQL do.

mod layout;
mod protocol;
mod registry;
mod schema;
mod tools;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::app::{AppState, Payload};
use crate::error::ApiError;
use crate::trigger::ClientIp;

/// The MCP settings. Directus reads them from its settings row on every request; flowline
/// takes them from its configuration (`MCP_*`), fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct McpConfig {
    /// On by default; off, the route is not served at all.
    pub enabled: bool,
    /// Off by default: `action: "delete"` is refused.
    pub allow_deletes: bool,
    pub system_prompt_enabled: bool,
    /// Replaces the built-in guidance of `system-prompt`; `None` keeps it.
    pub system_prompt: Option<String>,
    /// Links to flows are made under this address (`PUBLIC_URL`).
    pub public_url: String,
}

impl Default for McpConfig {
    fn default() -> Self {
        McpConfig {
            enabled: true,
            allow_deletes: false,
            system_prompt_enabled: true,
            system_prompt: None,
            public_url: "/".to_string(),
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mcp", get(endpoint).post(endpoint))
        .route("/mcp/", get(endpoint).post(endpoint))
}

/// One request, through Directus's steps in its order: the body, the caller, the bearer
/// challenge, `Accept`, then the JSON-RPC message. (Directus's `mcp_enabled` setting would
/// come after the caller; `MCP_ENABLED` decides whether the route exists at all.)
async fn endpoint(
    State(state): State<AppState>,
    ip: ClientIp,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Payload(body): Payload,
) -> Result<Response, ApiError> {
    let message = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice::<Value>(&body).map_err(|e| ApiError::payload(e.to_string()))?)
    };
    let accountability = crate::trigger::caller(&state, &headers, query.as_deref(), ip).await?;
    if !accountability.is_authenticated() && !accountability.admin {
        return Ok(challenge(&state.mcp.public_url));
    }
    // Clients probe `GET /mcp` for a server-sent event stream; there is none, and 405 tells
    // them to carry on without it. Directus answers a GET that accepts JSON with a 500.
    if method == Method::GET || !accepts_json(&headers) {
        return Ok(StatusCode::METHOD_NOT_ALLOWED.into_response());
    }
    // Any value but `registry` means the default listing, as in Directus.
    let registry = query
        .as_deref()
        .and_then(|q| crate::auth::url_query_value(q, "tool_mode"))
        .is_some_and(|mode| mode == "registry");
    let ctx = tools::Ctx {
        state: &state,
        acc: &accountability,
        registry,
    };
    Ok(protocol::handle(&ctx, message).await)
}

/// 401 with the bearer challenge MCP clients follow to find how to sign in.
fn challenge(public_url: &str) -> Response {
    let base = public_url.trim_end_matches('/');
    let value = format!(
        "Bearer resource_metadata=\"{base}/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:access\""
    );
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response.headers_mut().insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("WWW-Authenticate"),
    );
    response
}

/// Whether `Accept` admits JSON, as Express's `req.accepts`: a missing header or a
/// wildcard passes, a media type with `q=0` does not.
fn accepts_json(headers: &HeaderMap) -> bool {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return true;
    }
    values.iter().flat_map(|v| v.split(',')).any(|entry| {
        let mut parts = entry.split(';');
        let kind = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused && matches!(kind.as_str(), "application/json" | "application/*" | "*/*")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: Option<&str>) -> bool {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(header::ACCEPT, HeaderValue::from_str(value).expect("value"));
        }
        accepts_json(&headers)
    }

    #[test]
    fn accept_admits_json_as_express_does() {
        assert!(accept(None));
        assert!(accept(Some("*/*")));
        assert!(accept(Some("application/json, text/event-stream")));
        assert!(accept(Some("text/event-stream;q=0.5, application/*")));
        assert!(!accept(Some("text/event-stream")));
        assert!(!accept(Some("application/json;q=0")));
    }
}
