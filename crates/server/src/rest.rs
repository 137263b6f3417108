//! REST routes for every collection with a root name (`/flows`, `/operations`): the same
//! items service and query layer as GraphQL, with Directus's envelopes and batch forms.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use domain::params::{self, Params};
use domain::{Accountability, query_string};
use serde_json::{Map, Value, json};

use crate::app::{AppState, Payload};
use crate::auth;
use crate::error::ApiError;
use crate::export;

/// The routes of every collection that has a root name.
pub fn routes(catalog: &domain::Catalog) -> Router<AppState> {
    let mut router = Router::new();
    for coll in catalog.collections() {
        let Some(root) = coll.root else { continue };
        let name = coll.name;
        router = router
            .route(
                &format!("/{root}"),
                any(move |state, method, uri, query, headers, body| {
                    collection_root(name, state, method, uri, query, headers, body)
                }),
            )
            .route(
                &format!("/{root}/{{id}}"),
                any(move |state, method, uri, query, headers, path, body| {
                    collection_item(name, state, method, uri, query, headers, path, body)
                }),
            );
        if let Some(singular) = root.strip_suffix('s') {
            // The Directus docs print `PATCH /operation/:id`; serve it as an alias.
            router = router.route(
                &format!("/{singular}/{{id}}"),
                any(
                    move |state, method: Method, uri: Uri, query, headers, path, body| async move {
                        if method != Method::PATCH {
                            return Err(ApiError::RouteNotFound(uri.path().to_string()));
                        }
                        collection_item(name, state, method, uri, query, headers, path, body).await
                    },
                ),
            );
        }
    }
    router
        .route(
            "/items/{collection}",
            any(
                |state: State<AppState>,
                 method,
                 uri,
                 query: RawQuery,
                 headers: HeaderMap,
                 Path(name): Path<String>,
                 body| async move {
                    let collection = user_collection(&state, &name, &query, &headers).await?;
                    collection_root(collection, state, method, uri, query, headers, body).await
                },
            ),
        )
        .route(
            "/items/{collection}/{id}",
            any(
                |state: State<AppState>,
                 method,
                 uri,
                 query: RawQuery,
                 headers: HeaderMap,
                 Path((name, id)): Path<(String, String)>,
                 body| async move {
                    let collection = user_collection(&state, &name, &query, &headers).await?;
                    collection_item(
                        collection,
                        state,
                        method,
                        uri,
                        query,
                        headers,
                        Path(id),
                        body,
                    )
                    .await
                },
            ),
        )
}

/// The user table behind `/items/:collection`. The caller is authenticated first (a bad
/// token is a 401 whatever the name); system collections and unknown names are a 403, as
/// in Directus.
async fn user_collection(
    state: &AppState,
    name: &str,
    query: &RawQuery,
    headers: &HeaderMap,
) -> Result<&'static str, ApiError> {
    auth::accountability(&state.tokens, headers, query.0.as_deref()).await?;
    Ok(state.items.user_collection(name).await?)
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| ApiError::payload(format!("Invalid JSON body: {e}")))
}

fn url_params(query: Option<&str>) -> Result<Params, ApiError> {
    let parsed = query_string::parse(query.unwrap_or_default());
    let map = parsed.as_object().cloned().unwrap_or_default();
    Ok(params::parse(&map)?)
}

/// `{"data": ...}` with `meta` when asked for; a falsy result answers 204, as Directus's
/// `respond` middleware does for writes whose rows can't be read back.
fn envelope(data: Value, meta: Option<Value>) -> Response {
    let mut body = Map::new();
    body.insert("data".into(), data);
    if let Some(meta) = meta {
        body.insert("meta".into(), meta);
    }
    Json(Value::Object(body)).into_response()
}

/// [`envelope`] around rows already written as JSON text ([`domain::ItemsService::read_json`]).
fn json_envelope(data: &[u8], meta: Option<Value>) -> Response {
    let mut body = Vec::with_capacity(data.len() + 64);
    body.extend_from_slice(b"{\"data\":");
    body.extend_from_slice(data);
    if let Some(meta) = meta {
        body.extend_from_slice(b",\"meta\":");
        body.extend_from_slice(meta.to_string().as_bytes());
    }
    body.push(b'}');
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

struct Ctx {
    state: AppState,
    acc: Accountability,
    collection: &'static str,
    params: Params,
}

impl Ctx {
    async fn new(
        collection: &'static str,
        state: AppState,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<Self, ApiError> {
        // Directus authenticates before it sanitizes the query: a bad token wins.
        let acc = auth::accountability(&state.tokens, headers, query).await?;
        let params = url_params(query)?;
        Ok(Ctx {
            state,
            acc,
            collection,
            params,
        })
    }

    /// Reads a list with these parameters (aggregates, meta and export included).
    async fn list(&self, params: &Params) -> Result<Response, ApiError> {
        let items = &self.state.items;
        let data = if let Some(query) = params.aggregate_query() {
            let rows = items.aggregate(&self.acc, self.collection, &query).await?;
            Value::Array(params.flatten_aggregate(rows))
        } else {
            let catalog = items.readable_catalog(&self.acc).await?;
            let node = params.read_node(&catalog, self.collection)?;
            if params.export.is_none() {
                // The common case: rows written straight into the body.
                let rows = items.read_json(&self.acc, &node).await?;
                return Ok(json_envelope(&rows, self.meta(params).await?));
            }
            Value::Array(items.read(&self.acc, &node).await?)
        };
        if let Some(format) = params.export {
            return export::download(self.collection, format, &data);
        }
        Ok(envelope(data, self.meta(params).await?))
    }

    /// `meta=total_count,filter_count`, `None` when not asked for.
    async fn meta(&self, params: &Params) -> Result<Option<Value>, ApiError> {
        if params.meta.is_empty() {
            return Ok(None);
        }
        let mut meta = Map::new();
        for entry in &params.meta {
            let args = if entry == "filter_count" {
                params.args.clone()
            } else {
                Default::default()
            };
            let n = self
                .state
                .items
                .count(&self.acc, self.collection, &args)
                .await?;
            meta.insert(entry.clone(), json!(n));
        }
        Ok(Some(Value::Object(meta)))
    }

    /// Reads written rows back with the request's parameters.
    async fn read_back(&self, keys: &[String], many: bool) -> Result<Response, ApiError> {
        let catalog = self.state.items.readable_catalog(&self.acc).await?;
        let mut node = match self.params.read_node(&catalog, self.collection) {
            Err(domain::Error::Forbidden(_)) => return Ok(no_content()),
            other => other?,
        };
        if !many {
            node.args = Default::default();
        }
        // A write the caller may not read back is still a success: 204, as Directus's
        // controllers answer when the read-back is forbidden.
        let rows = match self.state.items.read_written(&self.acc, &node, keys).await {
            Err(domain::Error::Forbidden(_)) => return Ok(no_content()),
            other => other?,
        };
        if many {
            return Ok(envelope(Value::Array(rows), None));
        }
        Ok(match rows.into_iter().next() {
            Some(row) => envelope(row, None),
            None => no_content(),
        })
    }

    /// Keys selected by a batch body's `query` (its own limit applies, default 100).
    async fn keys_by_query(&self, query: &Value) -> Result<Vec<String>, ApiError> {
        let Value::Object(query) = query else {
            return Err(ApiError::payload("\"query\" must be of type object"));
        };
        let params = params::parse(query)?;
        Ok(self
            .state
            .items
            .keys_by_query(&self.acc, self.collection, &params.args)
            .await?)
    }
}

fn collection_is_user(ctx: &Ctx) -> bool {
    ctx.state
        .items
        .catalog()
        .get(ctx.collection)
        .is_some_and(domain::catalog::Collection::is_user)
}

fn keys_of(value: &Value, what: &str) -> Result<Vec<String>, ApiError> {
    let Value::Array(items) = value else {
        return Err(ApiError::payload(format!("\"{what}\" must be an array")));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, k)| match k {
            Value::String(_) | Value::Number(_) => {
                Ok(domain::items::key_text(k).unwrap_or_default())
            }
            _ => Err(ApiError::payload(format!(
                "\"{what}[{i}]\" must be one of [string, number]"
            ))),
        })
        .collect()
}

/// The `{keys, data}` / `{query, data}` body of a batch update, checked as Directus's
/// `validateBatch` does with Joi: the declared keys first (`keys`, `query`, `data`, in
/// that order), then unknown keys, then exactly one of `keys` and `query`.
fn batch_update_body(body: &Map<String, Value>) -> Result<(), ApiError> {
    if let Some(keys) = body.get("keys") {
        keys_of(keys, "keys")?;
    }
    if let Some(query) = body.get("query")
        && !query.is_object()
    {
        return Err(ApiError::payload("\"query\" must be of type object"));
    }
    match body.get("data") {
        None => return Err(ApiError::payload("\"data\" is required")),
        Some(Value::Object(_)) => {}
        Some(_) => return Err(ApiError::payload("\"data\" must be of type object")),
    }
    for key in body.keys() {
        if !matches!(key.as_str(), "keys" | "query" | "data") {
            return Err(ApiError::payload(format!("\"{key}\" is not allowed")));
        }
    }
    match (body.contains_key("keys"), body.contains_key("query")) {
        (false, false) => Err(ApiError::payload(
            "\"value\" must contain at least one of [query, keys]",
        )),
        (true, true) => Err(ApiError::payload(
            "\"value\" contains a conflict between exclusive peers [query, keys]",
        )),
        _ => Ok(()),
    }
}

async fn collection_root(
    collection: &'static str,
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Payload(body): Payload,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(collection, state, query.as_deref(), &headers).await?;
    let items = &ctx.state.items;
    match method.as_str() {
        "GET" => ctx.list(&ctx.params).await,
        "SEARCH" => {
            let body = parse_body(&body)?;
            let params = match &body {
                Value::Null => ctx.params.clone(),
                Value::Object(obj) => {
                    for key in obj.keys() {
                        if !matches!(key.as_str(), "query" | "keys") {
                            return Err(ApiError::payload(format!("\"{key}\" is not allowed")));
                        }
                    }
                    match obj.get("query") {
                        Some(Value::Object(query)) => params::parse(query)?,
                        Some(_) => {
                            return Err(ApiError::payload("\"query\" must be of type object"));
                        }
                        None => ctx.params.clone(),
                    }
                }
                _ => return Err(ApiError::payload("\"value\" must be of type object")),
            };
            ctx.list(&params).await
        }
        "POST" => match parse_body(&body)? {
            Value::Array(list) => {
                let keys = items.create_many(&ctx.acc, collection, list).await?;
                ctx.read_back(&keys, true).await
            }
            obj @ Value::Object(_) => {
                let keys = items.create_many(&ctx.acc, collection, vec![obj]).await?;
                ctx.read_back(&keys, false).await
            }
            _ => Err(ApiError::payload(
                "\"value\" must be of type object or array",
            )),
        },
        "PATCH" => match parse_body(&body)? {
            Value::Array(list) => {
                let keys = items.update_batch(&ctx.acc, collection, list).await?;
                ctx.read_back(&keys, true).await
            }
            Value::Object(obj) => {
                batch_update_body(&obj)?;
                let keys = match (obj.get("keys"), obj.get("query")) {
                    (Some(keys), _) => keys_of(keys, "keys")?,
                    (_, Some(query)) => ctx.keys_by_query(query).await?,
                    _ => Vec::new(),
                };
                let data = obj.get("data").cloned().unwrap_or(Value::Null);
                let keys = items.update_many(&ctx.acc, collection, keys, data).await?;
                ctx.read_back(&keys, true).await
            }
            _ => Err(ApiError::payload(
                "\"value\" must be of type object or array",
            )),
        },
        "DELETE" => {
            let keys = match parse_body(&body)? {
                list @ Value::Array(_) => keys_of(&list, "value")?,
                Value::Object(obj) if obj.contains_key("keys") => keys_of(&obj["keys"], "keys")?,
                Value::Object(obj) if obj.contains_key("query") => {
                    ctx.keys_by_query(&obj["query"]).await?
                }
                // On `/items`, Directus's batch check answers an object without keys or a
                // query; on system routes it crashes with a 500, and flowline names both forms.
                Value::Object(_) if collection_is_user(&ctx) => {
                    return Err(ApiError::payload(
                        "\"value\" must contain at least one of [query, keys]",
                    ));
                }
                _ => {
                    return Err(ApiError::payload(
                        "\"value\" must be an array of keys or contain one of [keys, query]",
                    ));
                }
            };
            items.delete_many(&ctx.acc, collection, keys).await?;
            Ok(no_content())
        }
        _ => Err(ApiError::RouteNotFound(uri.path().to_string())),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn collection_item(
    collection: &'static str,
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Path(id): Path<String>,
    Payload(body): Payload,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(collection, state, query.as_deref(), &headers).await?;
    let items = &ctx.state.items;
    match method.as_str() {
        "GET" => {
            let catalog = items.readable_catalog(&ctx.acc).await?;
            let node = ctx.params.read_node(&catalog, collection)?;
            let mut node = node;
            node.args = Default::default();
            let rows = items
                .read_keys(&ctx.acc, &node, std::slice::from_ref(&id))
                .await?;
            let row = rows
                .into_iter()
                .next()
                .ok_or_else(domain::Error::forbidden)?;
            if let Some(format) = ctx.params.export {
                return export::download(collection, format, &row);
            }
            Ok(envelope(row, None))
        }
        "PATCH" => {
            let data = parse_body(&body)?;
            if !data.is_object() {
                return Err(ApiError::payload("\"value\" must be of type object"));
            }
            let keys = items
                .update_many(&ctx.acc, collection, vec![id], data)
                .await?;
            ctx.read_back(&keys, false).await
        }
        "DELETE" => {
            items.delete_many(&ctx.acc, collection, vec![id]).await?;
            Ok(no_content())
        }
        _ => Err(ApiError::RouteNotFound(uri.path().to_string())),
    }
}
