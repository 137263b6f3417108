//! The HTTP face of errors: Directus's status codes and `{"errors": [...]}` bodies.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answered to a client; domain errors map through their own codes.
#[derive(Debug)]
pub enum ApiError {
    Domain(domain::Error),
    RouteNotFound(String),
    /// GraphQL syntax and validation errors, each `{message, locations}`.
    GraphqlValidation(Vec<Value>),
}

impl From<domain::Error> for ApiError {
    fn from(err: domain::Error) -> Self {
        ApiError::Domain(err)
    }
}

impl ApiError {
    pub fn payload(reason: impl Into<String>) -> Self {
        ApiError::Domain(domain::Error::payload(reason))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Domain(err) => (err.status(), err.body()),
            ApiError::RouteNotFound(path) => (
                404,
                json!({"errors": [{
                    "message": format!("Route {path} doesn't exist."),
                    "extensions": {"path": path, "code": "ROUTE_NOT_FOUND"},
                }]}),
            ),
            ApiError::GraphqlValidation(errors) => (
                400,
                json!({"errors": [{
                    "message": "GraphQL validation error.",
                    "extensions": {"errors": errors, "code": "GRAPHQL_VALIDATION"},
                }]}),
            ),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(body)).into_response()
    }
}
