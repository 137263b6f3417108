//! Conditions (placeholder until the full module lands; being written now).

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub field: String,
    pub path: Vec<String>,
    pub kind: String,
    pub extra: Map<String, Value>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConditionError {
    #[error("{0}")]
    Invalid(String),
    #[error("validation failed")]
    Failed(Vec<Failure>),
}

pub fn check(
    _filter: &Value,
    _data: &Value,
    _accountability: &Value,
) -> Result<(), ConditionError> {
    Ok(())
}
