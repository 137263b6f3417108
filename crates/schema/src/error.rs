//! Domain errors as GraphQL errors: the message plus Directus's `extensions.code`.

use async_graphql::ErrorExtensions;

/// Converts a domain error; a validation failure reports its first field (GraphQL carries
/// one error per failed field resolver).
pub fn to_graphql(err: domain::Error) -> async_graphql::Error {
    let mut entries = err.entries();
    let (message, extensions) = if entries.is_empty() {
        (err.to_string(), serde_json::Map::new())
    } else {
        entries.swap_remove(0)
    };
    async_graphql::Error::new(message).extend_with(|_, ext| {
        for (key, value) in extensions {
            ext.set(
                key,
                async_graphql::Value::from_json(value).unwrap_or_default(),
            );
        }
    })
}
