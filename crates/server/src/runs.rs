//! `POST /runs/:id/cancel`: stops a queued or running run. Reading runs goes through the
//! generic collection routes (`/runs`, `runs` in GraphQL); this is their one action.
//!
//! Only admins cancel, as only admins manage flows; a run that already ended is refused
//! with 400 rather than silently left as it was.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::post;
use domain::runs::Cancel;

use crate::app::{AppState, Payload};
use crate::auth;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/runs/{id}/cancel", post(cancel))
}

/// Answers the cancelled run as `GET /runs/:id` would, with the request's `fields`.
async fn cancel(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let acc = auth::accountability(&state.tokens, &headers, query.as_deref()).await?;
    if !acc.admin {
        return Err(domain::Error::forbidden().into());
    }
    match state.engine.cancel_run(&id).await? {
        Cancel::Missing => Err(domain::Error::forbidden().into()),
        Cancel::Ended(status) => Err(domain::Error::payload(format!(
            "Run \"{id}\" already ended ({status}); only a queued, running or retrying run can be cancelled"
        ))
        .into()),
        Cancel::Cancelled { .. } => {
            crate::rest::collection_item(
                domain::catalog::RUNS,
                State(state),
                Method::GET,
                uri,
                RawQuery(query),
                headers,
                Path(id),
                Payload(Default::default()),
            )
            .await
        }
    }
}
