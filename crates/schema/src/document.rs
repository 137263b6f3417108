//! What the server reads of a parsed document before or after the executor runs it.

use std::collections::HashSet;

use async_graphql::Name;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};

/// The operation the executor runs for `operation_name`, as it picks it; `None` where it
/// answers with an error instead.
pub fn operation<'d>(
    doc: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(operation), None) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| &operation.node)
        }
        _ => None,
    }
}

/// The response keys of the operation's root fields, in the document's order, fragments
/// expanded.
///
/// async-graphql resolves the root fields of a query concurrently and keeps them in the
/// order they finish, so two lists on PostgreSQL came back in either order; GraphQL (and
/// Directus, on graphql-js) answers them in the order they were asked for, and the server
/// puts them back in it.
pub fn root_keys(doc: &ExecutableDocument, operation_name: Option<&str>) -> Vec<Name> {
    let mut keys = Vec::new();
    if let Some(operation) = operation(doc, operation_name) {
        collect(
            doc,
            &operation.selection_set.node,
            &mut keys,
            &mut HashSet::new(),
        );
    }
    keys
}

fn collect(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    keys: &mut Vec<Name>,
    spread: &mut HashSet<Name>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.clone();
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            Selection::FragmentSpread(fragment) => {
                let name = &fragment.node.fragment_name.node;
                // A fragment spreading itself is refused by validation; never loop on it.
                if spread.insert(name.clone())
                    && let Some(found) = doc.fragments.get(name)
                {
                    collect(doc, &found.node.selection_set.node, keys, spread);
                }
            }
            Selection::InlineFragment(inline) => {
                collect(doc, &inline.node.selection_set.node, keys, spread)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn keys(query: &str, operation_name: Option<&str>) -> Vec<String> {
        let doc = parse_query(query).expect("parses");
        root_keys(&doc, operation_name)
            .into_iter()
            .map(|k| k.to_string())
            .collect()
    }

    #[test]
    fn root_keys_follow_the_document_through_fragments() {
        assert_eq!(
            keys(
                "{ b: flows { id } ...F ... on Query { c: flows { id } b: flows { id } } } \
                 fragment F on Query { a: operations { id } ...F }",
                None
            ),
            ["b", "a", "c"]
        );
        assert_eq!(
            keys(
                "query X { x: flows { id } } query Y { y: flows { id } }",
                Some("Y")
            ),
            ["y"]
        );
        assert!(keys("query X { x: flows { id } }", Some("Z")).is_empty());
        assert!(keys("{ x: flows { id } }", Some("X")).is_empty());
    }
}
