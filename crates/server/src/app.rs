//! The application: shared state and the router.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use domain::{Catalog, ItemsService};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;

use crate::auth::TokenStore;
use crate::error::ApiError;
use crate::graphql;

#[derive(Clone)]
pub struct AppState {
    pub items: ItemsService,
    pub schema: async_graphql::dynamic::Schema,
    /// The catalogue the schema was built from: plain documents are planned against it
    /// ([`schema::Plain`]).
    pub schema_catalog: Catalog,
    /// The plans of plain documents already seen.
    pub plans: std::sync::Arc<schema::PlainCache>,
    pub tokens: TokenStore,
    pub max_payload: usize,
    pub engine: engine::Engine,
    /// The MCP endpoint's settings ([`AppState::with_mcp`]).
    pub mcp: crate::mcp::McpConfig,
    /// On SQLite, the lock that makes this process the file's one server; released when the
    /// last clone of the state is dropped.
    _owner: Option<std::sync::Arc<std::fs::File>>,
}

impl AppState {
    /// Builds the state over a migrated database.
    pub async fn new(
        db: DatabaseConnection,
        max_payload: usize,
        engine_config: engine::EngineConfig,
    ) -> anyhow::Result<Self> {
        let owner = crate::db::own_sqlite_file(&db)?;
        Self::owning(db, owner, max_payload, engine_config).await
    }

    /// Builds the state over a migrated database whose SQLite lock the caller already took
    /// ([`crate::db::open_owned`]).
    pub async fn owning(
        db: DatabaseConnection,
        owner: Option<std::fs::File>,
        max_payload: usize,
        engine_config: engine::EngineConfig,
    ) -> anyhow::Result<Self> {
        let owner = owner.map(std::sync::Arc::new);
        let catalog = Catalog::system();
        let mut items = ItemsService::new(db.clone(), catalog.clone());
        if let Some(reads) = crate::db::read_pool(&db).await? {
            items = items.with_read_pool(reads);
        }
        // Before anything follows the change feed: from here on, no other replica's write
        // goes unheard.
        let items = items.replicated().await?;
        // The user's tables are served under /items; /graphql/system describes only ours.
        items.refresh_catalog().await?;
        let schema = schema::build(&catalog, Some(items.clone()))?;
        let tokens = TokenStore::default();
        tokens.reload(&db).await?;
        tokens.follow(&items);
        let engine = engine::Engine::new(items.clone(), engine_config).await?;
        Ok(AppState {
            engine,
            items,
            schema,
            schema_catalog: catalog,
            plans: std::sync::Arc::default(),
            tokens,
            max_payload,
            mcp: crate::mcp::McpConfig::default(),
            _owner: owner,
        })
    }

    /// The same state with these MCP settings.
    pub fn with_mcp(mut self, mcp: crate::mcp::McpConfig) -> Self {
        self.mcp = mcp;
        self
    }
}

/// A request body read up to the configured size; larger or unreadable bodies are a 400
/// `INVALID_PAYLOAD`, as Directus answers (not 413).
pub struct Payload(pub Bytes);

impl FromRequest<AppState> for Payload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        use http_body_util::BodyExt;
        let limit = state.max_payload;
        let too_large = || ApiError::payload(format!("Request body is larger than {limit} bytes"));
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut body = req.into_body();
        if declared.is_some_and(|len| len > limit) {
            discard(body).await;
            return Err(too_large());
        }
        // Read through a borrow, so that what is left of a body found too large on the way
        // can still be discarded.
        match http_body_util::Limited::new(&mut body, limit)
            .collect()
            .await
        {
            Ok(collected) => Ok(Payload(collected.to_bytes())),
            Err(_) => {
                discard(body).await;
                Err(too_large())
            }
        }
    }
}

/// Most bytes of a refused body read and thrown away, and for how long.
const DISCARD_MAX: usize = 64 * 1024 * 1024;
const DISCARD_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads a refused body to its end before the refusal is sent. A server that answers and
/// closes while the client is still sending resets the connection, and most clients then
/// report the reset instead of the 400 waiting in their receive buffer. Bounded in bytes and
/// time, so that a client that sends without end is cut off (and then does see a reset).
async fn discard(mut body: axum::body::Body) {
    use http_body_util::BodyExt;
    let _ = tokio::time::timeout(DISCARD_FOR, async move {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |data| data.len());
            if seen > DISCARD_MAX {
                return;
            }
        }
    })
    .await;
}

pub fn router(state: AppState) -> Router {
    // Switched off, `/mcp` is an unknown route, as in Directus with `MCP_ENABLED=false`.
    let mcp = if state.mcp.enabled {
        crate::mcp::routes()
    } else {
        Router::new()
    };
    Router::new()
        .merge(crate::rest::routes(&state.items.catalog().system_only()))
        .merge(crate::trigger::routes())
        .merge(crate::flow_api::routes())
        .merge(crate::runs::routes())
        .merge(mcp)
        .route("/graphql/system", get(graphql::get).post(graphql_post))
        .route("/server/ping", get(ping))
        .route("/server/health", get(health))
        .route("/server/specs/oas", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(state)
}

async fn graphql_post(
    state: State<AppState>,
    query: axum::extract::RawQuery,
    headers: axum::http::HeaderMap,
    Payload(body): Payload,
) -> Result<Response, ApiError> {
    graphql::post(state, query, headers, body).await
}

/// `pong` as `text/html`, exactly as Directus answers.
async fn ping() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], "pong").into_response()
}

async fn health(State(state): State<AppState>) -> Response {
    match state.items.db().execute_unprepared("SELECT 1").await {
        Ok(_) => Json(json!({"status": "ok"})).into_response(),
        Err(err) => {
            tracing::error!(%err, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "error"})),
            )
                .into_response()
        }
    }
}

async fn openapi(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(crate::openapi::document(
        &state.items.catalog().system_only(),
    ))
}

/// Unknown routes: Directus authenticates before routing, so a bad token is a 401 even
/// here; otherwise 404 `ROUTE_NOT_FOUND`.
async fn not_found(
    State(state): State<AppState>,
    uri: Uri,
    headers: axum::http::HeaderMap,
) -> ApiError {
    if let Err(err) = crate::auth::accountability(&state.tokens, &headers, uri.query()).await {
        return err.into();
    }
    ApiError::RouteNotFound(uri.path().to_string())
}
