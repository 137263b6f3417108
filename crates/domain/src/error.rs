//! The domain's error type, and the one place it is mapped to Directus error codes,
//! HTTP statuses and the `{"errors":[...]}` body shape.

use serde_json::{Map, Value, json};

/// One field that failed validation; several may be reported together.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldViolation {
    pub field: String,
    /// Directus's validation type: `required`, `in`, `unique`, `type`, ...
    pub kind: &'static str,
    pub message: String,
    /// Extra extensions such as `valid` for `in`.
    pub extra: Map<String, Value>,
}

impl FieldViolation {
    pub fn required(field: &str) -> Self {
        FieldViolation {
            field: field.to_string(),
            kind: "required",
            message: format!("Validation failed for field \"{field}\". Value is required."),
            extra: Map::new(),
        }
    }

    pub fn one_of(field: &str, allowed: &[&str]) -> Self {
        let mut extra = Map::new();
        extra.insert("valid".into(), json!(allowed));
        FieldViolation {
            field: field.to_string(),
            kind: "in",
            message: format!(
                "Validation failed for field \"{field}\". Value has to be one of {}.",
                allowed.join(", ")
            ),
            extra,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing items, unknown fields and missing permissions all look the same to clients,
    /// as in Directus, so that ids cannot be probed.
    #[error("{}", .0.as_deref().unwrap_or("You don't have permission to access this."))]
    Forbidden(Option<String>),
    #[error("Invalid query. {0}.")]
    InvalidQuery(String),
    #[error("Invalid payload. {0}.")]
    InvalidPayload(String),
    #[error("Validation failed.")]
    FailedValidation(Vec<FieldViolation>),
    #[error(
        "Value \"{value}\" for field \"{field}\" in collection \"{collection}\" has to be unique."
    )]
    RecordNotUnique {
        collection: String,
        field: String,
        value: String,
    },
    #[error(
        "Invalid foreign key \"{value}\" for field \"{field}\" in collection \"{collection}\"."
    )]
    InvalidForeignKey {
        collection: String,
        field: String,
        value: String,
    },
    #[error("Value for field \"{field}\" in collection \"{collection}\" is too long.")]
    ValueTooLong { collection: String, field: String },
    #[error("Numeric value for field \"{field}\" in collection \"{collection}\" is out of range.")]
    ValueOutOfRange { collection: String, field: String },
    #[error("Invalid user credentials.")]
    InvalidCredentials,
    /// Detail is logged, never shown to clients.
    #[error("An unexpected error occurred.")]
    Internal(String),
    /// A filter flow refused the write. Its error reaches the client as the flow made it:
    /// a Directus error keeps its status and code, failed conditions stay one entry each.
    #[error("{}", .entries.first().map_or("The write was rejected by a flow.", |e| e.0.as_str()))]
    Rejected {
        status: u16,
        entries: Vec<(String, Map<String, Value>)>,
    },
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        Error::Internal(err.to_string())
    }
}

impl Error {
    pub fn forbidden() -> Self {
        Error::Forbidden(None)
    }

    /// `You don't have permission to access field "x" in collection "c" or it does not exist.`
    pub fn unknown_field(field: &str, collection: &str, queried_in: &str) -> Self {
        Error::Forbidden(Some(format!(
            "You don't have permission to access field \"{field}\" in collection \"{collection}\" or it does not exist. Queried in {queried_in}."
        )))
    }

    /// Directus's answer to a payload naming fields the caller may not write.
    pub fn forbidden_fields(fields: &[&str], collection: &str) -> Self {
        let names: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
        Error::Forbidden(Some(if names.len() == 1 {
            format!(
                "You don't have permission to access field {} in collection \"{collection}\" or it does not exist.",
                names[0]
            )
        } else {
            format!(
                "You don't have permission to access fields {} in collection \"{collection}\" or they do not exist.",
                names.join(", ")
            )
        }))
    }

    pub fn query(reason: impl Into<String>) -> Self {
        Error::InvalidQuery(reason.into())
    }

    pub fn payload(reason: impl Into<String>) -> Self {
        Error::InvalidPayload(reason.into())
    }

    pub fn code(&self) -> &str {
        match self {
            Error::Rejected { entries, .. } => entries
                .first()
                .and_then(|(_, ext)| ext.get("code"))
                .and_then(Value::as_str)
                .unwrap_or("INTERNAL_SERVER_ERROR"),
            Error::Forbidden(_) => "FORBIDDEN",
            Error::InvalidQuery(_) => "INVALID_QUERY",
            Error::InvalidPayload(_) => "INVALID_PAYLOAD",
            Error::FailedValidation(_) => "FAILED_VALIDATION",
            Error::RecordNotUnique { .. } => "RECORD_NOT_UNIQUE",
            Error::InvalidForeignKey { .. } => "INVALID_FOREIGN_KEY",
            Error::ValueTooLong { .. } => "VALUE_TOO_LONG",
            Error::ValueOutOfRange { .. } => "VALUE_OUT_OF_RANGE",
            Error::InvalidCredentials => "INVALID_CREDENTIALS",
            Error::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Error::Forbidden(_) => 403,
            Error::InvalidCredentials => 401,
            Error::Internal(_) => 500,
            Error::Rejected { status, .. } => *status,
            _ => 400,
        }
    }

    /// The entries of Directus's `errors` array: `{message, extensions: {..., code}}`.
    /// A validation failure gives one entry per field, as Directus does.
    pub fn entries(&self) -> Vec<(String, Map<String, Value>)> {
        let code = self.code().to_string();
        let with_code = |mut ext: Map<String, Value>| {
            ext.insert("code".into(), Value::from(code.clone()));
            ext
        };
        match self {
            Error::Rejected { entries, .. } => entries.clone(),
            Error::FailedValidation(violations) => violations
                .iter()
                .map(|v| {
                    let mut ext = Map::new();
                    ext.insert("field".into(), Value::from(v.field.clone()));
                    ext.insert("path".into(), json!([]));
                    ext.insert("type".into(), Value::from(v.kind));
                    ext.extend(v.extra.clone());
                    (v.message.clone(), with_code(ext))
                })
                .collect(),
            Error::InvalidQuery(reason) | Error::InvalidPayload(reason) => {
                let mut ext = Map::new();
                ext.insert("reason".into(), Value::from(reason.clone()));
                vec![(self.to_string(), with_code(ext))]
            }
            Error::RecordNotUnique {
                collection,
                field,
                value,
            }
            | Error::InvalidForeignKey {
                collection,
                field,
                value,
            } => {
                let mut ext = Map::new();
                ext.insert("collection".into(), Value::from(collection.clone()));
                ext.insert("field".into(), Value::from(field.clone()));
                ext.insert("value".into(), Value::from(value.clone()));
                vec![(self.to_string(), with_code(ext))]
            }
            Error::ValueTooLong { collection, field }
            | Error::ValueOutOfRange { collection, field } => {
                let mut ext = Map::new();
                ext.insert("collection".into(), Value::from(collection.clone()));
                ext.insert("field".into(), Value::from(field.clone()));
                vec![(self.to_string(), with_code(ext))]
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                vec![(self.to_string(), with_code(Map::new()))]
            }
            _ => vec![(self.to_string(), with_code(Map::new()))],
        }
    }

    /// The whole REST error body.
    pub fn body(&self) -> Value {
        let errors: Vec<Value> = self
            .entries()
            .into_iter()
            .map(|(message, extensions)| json!({"message": message, "extensions": extensions}))
            .collect();
        json!({ "errors": errors })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
