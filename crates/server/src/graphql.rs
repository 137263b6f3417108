//! `/graphql/system`: queries over POST and GET, GraphiQL for browsers, subscriptions over
//! WebSocket, with Directus's status codes for errors.

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use domain::Accountability;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::app::AppState;
use crate::auth;
use crate::error::ApiError;

/// Everything on `/graphql/system` needs an admin; anyone else is refused before the
/// document is even parsed.
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

pub async fn post(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let acc = admin(&state, &headers, query.as_deref()).await?;
    let request: async_graphql::Request = serde_json::from_slice(&body)
        .map_err(|e| ApiError::payload(format!("Invalid JSON body: {e}")))?;
    Ok(execute(&state, request, acc).await)
}

pub async fn get(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    protocol: Result<GraphQLProtocol, StatusCode>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    if let (Ok(upgrade), Ok(protocol)) = (upgrade, protocol) {
        return Ok(subscribe(state, headers, query, protocol, upgrade).await);
    }
    let raw = query.as_deref().unwrap_or_default();
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let graphql_query = auth::url_query_value(raw, "query");
    if wants_html && graphql_query.is_none() {
        return Ok(graphiql(raw));
    }
    let acc = admin(&state, &headers, query.as_deref()).await?;
    let Some(graphql_query) = graphql_query else {
        return Err(ApiError::GraphqlValidation(vec![
            json!({"message": "Must provide query string."}),
        ]));
    };
    let mut request = async_graphql::Request::new(graphql_query);
    if let Some(name) = auth::url_query_value(raw, "operationName") {
        request = request.operation_name(name);
    }
    if let Some(vars) = auth::url_query_value(raw, "variables") {
        let vars: Value = serde_json::from_str(&vars)
            .map_err(|e| domain::Error::query(format!("Invalid JSON for variables: {e}")))?;
        request = request.variables(async_graphql::Variables::from_json(vars));
    }
    Ok(execute(&state, request, acc).await)
}

/// GraphiQL pointed at this endpoint; a token given in the page's URL is passed along.
fn graphiql(raw_query: &str) -> Response {
    let token = auth::url_query_value(raw_query, "access_token");
    let suffix = token
        .map(|t| {
            format!(
                "?access_token={}",
                form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()
            )
        })
        .unwrap_or_default();
    let endpoint = format!("/graphql/system{suffix}");
    let html = GraphiQLSource::build()
        .endpoint(&endpoint)
        .subscription_endpoint(&endpoint)
        .title("flowline GraphiQL")
        .finish();
    // The template HTML-escapes the endpoint although it sits in a script, where entities
    // stay literal; the token is URL-encoded already, so only its `=` needs restoring.
    Html(html.replace("access_token&#x3D;", "access_token=")).into_response()
}

/// Runs a request and shapes the answer as Directus does: syntax and validation errors are
/// a 400 `GRAPHQL_VALIDATION`, resolver errors ride along with `data` in a 200.
async fn execute(
    state: &AppState,
    mut request: async_graphql::Request,
    acc: Accountability,
) -> Response {
    // A plain document ([`schema::Plain`]) is answered without the executor, from the plan
    // kept for the same text when there is one. Any other is parsed once: the document
    // stays in the request for the executor, which reports a document that does not parse.
    let plain = request.variables.is_empty() && request.extensions.is_empty();
    let operation_name = request.operation_name.clone();
    let cached = plain
        .then(|| state.plans.get(&request.query, operation_name.as_deref()))
        .flatten();
    if let Some(plan) = &cached
        && let Some(body) = plan.answer(&state.items, &acc).await
    {
        return json_body(body);
    }
    let mut root_keys = Vec::new();
    let mut planned = None;
    if let Ok(doc) = request.parsed_query() {
        root_keys = schema::document::root_keys(doc, operation_name.as_deref());
        if plain && cached.is_none() {
            planned = schema::Plain::plan(&state.schema_catalog, doc, operation_name.as_deref());
        }
    }
    if let Some(plan) = planned {
        let plan = Arc::new(plan);
        state
            .plans
            .insert(&request.query, operation_name.as_deref(), Arc::clone(&plan));
        if let Some(body) = plan.answer(&state.items, &acc).await {
            return json_body(body);
        }
    }
    let mut response = state.schema.execute(request.data(acc)).await;
    if let async_graphql::Value::Object(data) = &mut response.data
        && data.len() > 1
    {
        let mut finished = std::mem::take(data);
        for key in &root_keys {
            if let Some(value) = finished.shift_remove(key) {
                data.insert(key.clone(), value);
            }
        }
        data.extend(finished);
    }
    let is_validation = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    if is_validation {
        let errors = response
            .errors
            .iter()
            .map(|e| {
                let mut obj = json!({"message": e.message});
                if !e.locations.is_empty() {
                    obj["locations"] = json!(
                        e.locations
                            .iter()
                            .map(|l| json!({"line": l.line, "column": l.column}))
                            .collect::<Vec<_>>()
                    );
                }
                obj
            })
            .collect();
        return ApiError::GraphqlValidation(errors).into_response();
    }
    // Every error carries a code, as Directus's do. The response is serialised as it is,
    // not through a `serde_json::Value` copy: on a list that copy and its second
    // serialisation cost a fifth of the request.
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "INTERNAL_SERVER_ERROR");
        }
    }
    (StatusCode::OK, Json(response)).into_response()
}

/// A body written as JSON text already.
fn json_body(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Subscriptions: the token comes from the query string or the connection's init payload
/// (`{"access_token": ...}` or `{"headers": {"Authorization": "Bearer ..."}}`).
async fn subscribe(
    state: AppState,
    headers: HeaderMap,
    query: Option<String>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let initial = auth::accountability(&state.tokens, &headers, query.as_deref()).await;
    let schema = state.schema.clone();
    let tokens = state.tokens.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload: Value| async move {
                    let token = payload
                        .get("access_token")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .or_else(|| {
                            let auth = payload
                                .get("headers")?
                                .as_object()?
                                .iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))?
                                .1
                                .as_str()?;
                            auth.split_once(' ').map(|(_, t)| t.trim().to_string())
                        });
                    let acc = match token {
                        Some(token) => tokens.lookup(&token).await.ok_or_else(|| {
                            async_graphql::Error::new("Invalid user credentials.")
                        })?,
                        None => initial.map_err(|e| async_graphql::Error::new(e.to_string()))?,
                    };
                    if !acc.admin {
                        return Err(async_graphql::Error::new(
                            "You don't have permission to access this.",
                        ));
                    }
                    let mut data = async_graphql::Data::default();
                    data.insert(acc);
                    Ok(data)
                })
                .serve()
        })
}
