//! Domain errors as GraphQL errors: the message plus Directus's `extensions.code`.

use async_graphql::ErrorExtensions;
use serde_json::{Map, Value};

fn entry(message: String, extensions: Map<String, Value>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| {
        for (key, value) in extensions {
            ext.set(
                key,
                async_graphql::Value::from_json(value).unwrap_or_default(),
            );
        }
    })
}

/// Converts a domain error to one GraphQL error; a validation failure reports its first
/// field (see `to_graphql_all` for every field).
pub fn to_graphql(err: domain::Error) -> async_graphql::Error {
    let mut entries = err.entries();
    if entries.is_empty() {
        return entry(err.to_string(), Map::new());
    }
    let (message, extensions) = entries.swap_remove(0);
    entry(message, extensions)
}

/// Every entry of a domain error as its own GraphQL error: a validation failure gives one
/// error per failed field, as Directus's REST API answers it.
pub fn to_graphql_all(err: domain::Error) -> Vec<async_graphql::Error> {
    let entries = err.entries();
    if entries.is_empty() {
        return vec![entry(err.to_string(), Map::new())];
    }
    entries
        .into_iter()
        .map(|(message, extensions)| entry(message, extensions))
        .collect()
}
