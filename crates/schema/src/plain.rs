//! The commonest documents answered without async-graphql's executor: one query of list
//! fields with literal arguments and plain selections, such as
//! `{ flows(limit: 25) { id name operations { key type } } }`.
//!
//! The executor resolves every field of every row through its own future and then
//! serialises a tree of GraphQL values: for a 25-flow list with its operations that was
//! about half of the request. Here the document becomes the same read trees the resolvers
//! build ([`selection::node`]) and the rows are written as JSON text by the domain, as REST
//! lists are. Anything outside that shape (variables, fragments, directives, filters,
//! functions, `__typename`, mutations, errors) goes to the executor, so each answer here is
//! one the executor would give byte for byte; the e2e suite compares the two.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_graphql::Value;
use async_graphql::parser::types::{ExecutableDocument, Field, OperationType, Selection};
use domain::catalog::{Catalog, Collection, FieldKind, Relation};
use domain::query::ReadNode;
use domain::{Accountability, ItemsService};

use crate::document;
use crate::selection::{self, Parsed, Selected};
use crate::{MAX_COMPLEXITY, MAX_DEPTH};

/// The list arguments answered here; `filter` is left to the executor, which validates its
/// input object against the schema.
const ARGUMENTS: [&str; 5] = ["limit", "offset", "page", "sort", "search"];

/// A document the executor would answer with rows only, planned as one read per root field.
#[derive(Debug)]
pub struct Plain {
    roots: Vec<(String, ReadNode)>,
}

impl Plain {
    /// The plan of `doc`, or `None` when the executor must answer it (including every
    /// document it would refuse).
    pub fn plan(
        catalog: &Catalog,
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
    ) -> Option<Plain> {
        // Validation covers every operation of a document, not only the one that runs.
        if !doc.fragments.is_empty() || doc.operations.iter().count() != 1 {
            return None;
        }
        let operation = document::operation(doc, operation_name)?;
        if operation.ty != OperationType::Query
            || !operation.variable_definitions.is_empty()
            || !operation.directives.is_empty()
        {
            return None;
        }
        let mut budget = Budget::default();
        let mut keys = HashSet::new();
        let mut roots = Vec::new();
        for item in &operation.selection_set.node.items {
            let Selection::Field(field) = &item.node else {
                return None;
            };
            let field = &field.node;
            let name = field.name.node.as_str();
            let coll = catalog.by_root(name)?;
            let key = field.response_key().node.as_str();
            if !keys.insert(key) || !field.directives.is_empty() || !literal_arguments(field) {
                return None;
            }
            budget.selection(catalog, coll, field, 1)?;
            let parsed = Parsed(field);
            let pairs = parsed.arguments().ok()?;
            let args =
                selection::list_args(pairs.iter().map(|(n, v)| (n.as_str(), v.clone()))).ok()?;
            let node = selection::node(catalog, coll, &parsed, args).ok()?;
            roots.push((key.to_string(), node));
        }
        (!roots.is_empty()).then_some(Plain { roots })
    }

    /// The response body, `{"data":{...}}`; `None` when a read fails, so that the executor
    /// reports the error in its own shape.
    pub async fn answer(&self, items: &ItemsService, acc: &Accountability) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(b"{\"data\":{");
        for (n, (key, node)) in self.roots.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, key).ok()?;
            out.push(b':');
            let rows = items.read_json(acc, node).await.ok()?;
            out.extend_from_slice(&rows);
        }
        out.extend_from_slice(b"}}");
        Some(out)
    }
}

/// Most plans kept by a [`PlainCache`]; when full it starts again empty, so a stream of
/// one-off documents cannot grow it nor crowd out for long the few a client repeats.
const CACHED_PLANS: usize = 256;

/// Documents longer than this are planned per request and never kept.
const CACHED_TEXT: usize = 8 * 1024;

/// The plans of plain documents by their text and operation name, so that a client that
/// sends the same document again (every generated client does) skips the parse and the
/// planning, about a fifth of a short list's cost. Plans depend only on the document and
/// the schema's catalogue, which is fixed for the server's life; the caller's right to run
/// them is checked per request before the cache is asked.
#[derive(Default)]
pub struct PlainCache {
    plans: Mutex<Plans>,
}

/// The kept plans: per document text, one per operation name it was run as.
#[derive(Default)]
struct Plans {
    by_text: HashMap<Box<str>, Vec<Named>>,
    count: usize,
}

/// A plan and the operation name it answers.
type Named = (Option<Box<str>>, Arc<Plain>);

impl PlainCache {
    /// The plan kept for `query` run as `operation_name`.
    pub fn get(&self, query: &str, operation_name: Option<&str>) -> Option<Arc<Plain>> {
        let plans = self.plans.lock().ok()?;
        plans
            .by_text
            .get(query)?
            .iter()
            .find(|(name, _)| name.as_deref() == operation_name)
            .map(|(_, plan)| Arc::clone(plan))
    }

    /// Whether a plan of `query` would be kept: longer documents are planned per request.
    fn keeps(&self, query: &str) -> bool {
        query.len() <= CACHED_TEXT
    }

    /// Keeps `plan` for later requests of the same document.
    pub fn insert(&self, query: &str, operation_name: Option<&str>, plan: Arc<Plain>) {
        if !self.keeps(query) {
            return;
        }
        let Ok(mut plans) = self.plans.lock() else {
            return;
        };
        if plans.count >= CACHED_PLANS {
            *plans = Plans::default();
        }
        let names = plans.by_text.entry(query.into()).or_default();
        if names
            .iter()
            .any(|(name, _)| name.as_deref() == operation_name)
        {
            return;
        }
        names.push((operation_name.map(Into::into), plan));
        plans.count += 1;
    }

    /// How many plans are kept.
    pub fn len(&self) -> usize {
        self.plans.lock().map_or(0, |plans| plans.count)
    }

    /// Whether no plan is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a root field's arguments are literals the list arguments' types accept:
/// `Int` within 32 bits, `String`, `[String]` (a single string is coerced) or `null`, each
/// named once.
fn literal_arguments(field: &Field) -> bool {
    let mut seen = HashSet::new();
    field.arguments.iter().all(|(name, value)| {
        let name = name.node.as_str();
        let Some(value) = value.node.clone().into_const() else {
            return false;
        };
        let accepted = match name {
            "limit" | "offset" | "page" => match &value {
                Value::Number(n) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                Value::Null => true,
                _ => false,
            },
            "sort" => match &value {
                Value::List(items) => items.iter().all(|item| matches!(item, Value::String(_))),
                Value::String(_) | Value::Null => true,
                _ => false,
            },
            "search" => matches!(value, Value::String(_) | Value::Null),
            _ => false,
        };
        accepted && ARGUMENTS.contains(&name) && seen.insert(name)
    })
}

/// Walks a selection, refusing what the executor should answer, and counts it against the
/// schema's limits with room to spare (the executor reports documents over them).
#[derive(Default)]
struct Budget {
    fields: usize,
}

impl Budget {
    fn selection(
        &mut self,
        catalog: &Catalog,
        coll: &Collection,
        field: &Field,
        depth: usize,
    ) -> Option<()> {
        let items = &field.selection_set.node.items;
        if items.is_empty() || depth > MAX_DEPTH / 2 {
            return None;
        }
        let mut keys = HashSet::new();
        for item in items {
            let Selection::Field(sub) = &item.node else {
                return None;
            };
            let sub = &sub.node;
            self.fields += 1;
            if self.fields > MAX_COMPLEXITY / 2
                || !sub.arguments.is_empty()
                || !sub.directives.is_empty()
                || !keys.insert(sub.response_key().node.as_str())
            {
                return None;
            }
            let found = coll.field(sub.name.node.as_str())?;
            match &found.relation {
                // Keys serialise as strings in GraphQL; the rows hold numeric keys as numbers.
                None if found.name == coll.primary_key => {
                    let textual = matches!(found.kind, FieldKind::Uuid | FieldKind::String);
                    (textual && sub.selection_set.node.items.is_empty()).then_some(())?
                }
                None => sub.selection_set.node.items.is_empty().then_some(())?,
                Some(Relation::ManyToOne { target } | Relation::OneToMany { target, .. }) => {
                    let target = catalog.get(target)?;
                    self.selection(catalog, target, sub, depth + 1)?
                }
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn plan(query: &str, operation_name: Option<&str>) -> Option<Plain> {
        let doc = parse_query(query).expect("parses");
        Plain::plan(&Catalog::system(), &doc, operation_name)
    }

    #[test]
    fn plain_lists_are_answered_without_the_executor() {
        for query in [
            "{ flows(limit: 25) { id name status operations { key type } } }",
            "query Named { f: flows(sort: \"-name\", offset: 2) { id } operations { id flow { name } } }",
            "{ flows(sort: [\"name\", \"id\"], search: \"x\", page: 2, limit: null) { name } }",
        ] {
            assert!(plan(query, None).is_some(), "{query}");
        }
        assert!(plan("query Named { flows { id } }", Some("Named")).is_some());
    }

    #[test]
    fn everything_else_goes_to_the_executor() {
        for query in [
            "mutation { delete_flows_item(id: \"x\") { id } }",
            "query ($n: Int) { flows(limit: $n) { id } }",
            "{ flows(filter: { status: { _eq: \"active\" } }) { id } }",
            "{ flows(limit: 2.5) { id } }",
            "{ flows(limit: 99999999999) { id } }",
            "{ flows(limit: \"5\") { id } }",
            "{ flows(limit: 1, limit: 2) { id } }",
            "{ flows(nope: 1) { id } }",
            "{ flows { id id } }",
            "{ flows { id: name id } }",
            "{ flows { __typename id } }",
            "{ __typename }",
            "{ flows { nope } }",
            "{ flows { id { x } } }",
            "{ flows { operations } }",
            "{ flows { operations(limit: 1) { id } } }",
            "{ flows { date_created_func { year } } }",
            "{ flows { id @include(if: true) } }",
            "{ flows { ...F } } fragment F on directus_flows { id }",
            "{ flows { ... on directus_flows { id } } }",
            "{ flows_by_id(id: \"x\") { id } }",
            "{ flows_aggregated { countAll } }",
            "{ flows { id } flows { name } }",
            "{ activity { id } }",
            "query A { flows { id } } query B { flows { id } }",
        ] {
            assert!(plan(query, None).is_none(), "{query}");
        }
        assert!(plan("{ flows { id } }", Some("Named")).is_none());
        assert!(
            plan(
                "query A { flows { id } } query B { flows { nope } }",
                Some("A")
            )
            .is_none()
        );
        assert!(plan("query Named { flows { id } }", Some("Other")).is_none());
    }

    #[test]
    fn deep_or_wide_selections_are_left_to_the_executor_limits() {
        let deep = format!(
            "{{ operations {}id{} }}",
            "{ flow { operations ".repeat(5),
            " } }".repeat(5)
        );
        assert!(plan(&deep, None).is_none());
        let wide = format!(
            "{{ flows {{ {} }} }}",
            (0..MAX_COMPLEXITY)
                .map(|n| format!("a{n}: id"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(plan(&wide, None).is_none());
    }

    #[test]
    fn kept_plans_are_found_by_text_and_operation_name() {
        let cache = PlainCache::default();
        let query = "query Named { flows { id } }";
        assert!(cache.get(query, None).is_none());
        let plan = Arc::new(plan(query, None).expect("plain"));
        cache.insert(query, None, Arc::clone(&plan));
        cache.insert(query, None, Arc::clone(&plan));
        assert_eq!(cache.len(), 1);
        assert!(
            cache
                .get(query, None)
                .is_some_and(|kept| Arc::ptr_eq(&kept, &plan))
        );
        assert!(cache.get(query, Some("Named")).is_none());
        assert!(cache.get("query Named { flows { id }}", None).is_none());
        cache.insert(query, Some("Named"), Arc::clone(&plan));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(query, Some("Named")).is_some());
    }

    #[test]
    fn the_cache_is_bounded_in_plans_and_in_text() {
        let cache = PlainCache::default();
        let plan = Arc::new(plan("{ flows { id } }", None).expect("plain"));
        let long = format!("{{ flows {{ id }} }}{}", " ".repeat(CACHED_TEXT));
        assert!(!cache.keeps(&long));
        cache.insert(&long, None, Arc::clone(&plan));
        assert!(cache.is_empty());
        for n in 0..CACHED_PLANS {
            cache.insert(
                &format!("{{ flows(limit: {n}) {{ id }} }}"),
                None,
                Arc::clone(&plan),
            );
        }
        assert_eq!(cache.len(), CACHED_PLANS);
        assert!(cache.get("{ flows(limit: 0) { id } }", None).is_some());
        // Full: the next document starts a new cache.
        cache.insert("{ operations { id } }", None, Arc::clone(&plan));
        assert_eq!(cache.len(), 1);
        assert!(cache.get("{ flows(limit: 0) { id } }", None).is_none());
        assert!(cache.get("{ operations { id } }", None).is_some());
    }
}
