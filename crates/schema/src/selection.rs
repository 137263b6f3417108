//! A GraphQL selection set turned into the domain's read tree, so that one query reads
//! exactly the requested columns and each relation level in one statement.

use async_graphql::dynamic::ResolverContext;
use async_graphql::parser::types::{Field, Selection};
use async_graphql::{Name, Positioned, SelectionField, Value};
use domain::aggregate::AggregateQuery;
use domain::catalog::{Catalog, Collection};
use domain::query::{ListArgs, MAX_RELATIONAL_DEPTH, ReadNode, Select};
use domain::{Error, Result};
use serde_json::Value as Json;

/// A selected field, as the executor hands it to a resolver or as a parsed document holds
/// it: the read tree is built the same way from either ([`crate::plain`] answers simple
/// documents without the executor).
pub trait Selected<'a>: Sized {
    fn name(&self) -> &'a str;
    fn alias(&self) -> Option<&'a str>;
    fn arguments(&self) -> Result<Vec<(Name, Value)>>;
    fn children(&self) -> impl Iterator<Item = Self>;

    fn response_key(&self) -> String {
        self.alias().unwrap_or(self.name()).to_string()
    }
}

impl<'a> Selected<'a> for SelectionField<'a> {
    fn name(&self) -> &'a str {
        SelectionField::name(self)
    }

    fn alias(&self) -> Option<&'a str> {
        SelectionField::alias(self)
    }

    fn arguments(&self) -> Result<Vec<(Name, Value)>> {
        SelectionField::arguments(self).map_err(|e| Error::query(e.message))
    }

    fn children(&self) -> impl Iterator<Item = Self> {
        self.selection_set()
    }
}

/// A field of a parsed document whose arguments are literals and whose selection holds
/// fields only (fragments are left to the executor, which expands them).
#[derive(Clone, Copy)]
pub struct Parsed<'a>(pub &'a Field);

impl<'a> Selected<'a> for Parsed<'a> {
    fn name(&self) -> &'a str {
        self.0.name.node.as_str()
    }

    fn alias(&self) -> Option<&'a str> {
        self.0.alias.as_ref().map(|alias| alias.node.as_str())
    }

    fn arguments(&self) -> Result<Vec<(Name, Value)>> {
        self.0
            .arguments
            .iter()
            .map(|(name, value)| {
                let value =
                    value.node.clone().into_const().ok_or_else(|| {
                        Error::query(format!("\"{}\" must be a literal", name.node))
                    })?;
                Ok((name.node.clone(), value))
            })
            .collect()
    }

    fn children(&self) -> impl Iterator<Item = Self> {
        self.0
            .selection_set
            .node
            .items
            .iter()
            .filter_map(|item: &'a Positioned<Selection>| match &item.node {
                Selection::Field(field) => Some(Parsed(&field.node)),
                _ => None,
            })
    }
}

/// The list arguments from name/value pairs (root arguments or a nested field's).
pub fn list_args<'a>(pairs: impl Iterator<Item = (&'a str, Value)>) -> Result<ListArgs> {
    let mut args = ListArgs::default();
    for (name, value) in pairs {
        let json = value.into_json().map_err(|e| Error::query(e.to_string()))?;
        if json.is_null() {
            continue;
        }
        let int = |j: &Json| {
            j.as_i64()
                .ok_or_else(|| Error::query(format!("\"{name}\" must be a number")))
        };
        let unsigned = |j: &Json| {
            j.as_u64().ok_or_else(|| {
                Error::query(format!("\"{name}\" must be greater than or equal to 0"))
            })
        };
        match name {
            "filter" => args.filter = Some(json),
            "sort" => {
                // GraphQL coerces one value given for a list type into a list of one;
                // async-graphql's dynamic schema passes the bare value through.
                let items = match &json {
                    Json::Array(items) => items.clone(),
                    other => vec![other.clone()],
                };
                args.sort = items
                    .iter()
                    .filter_map(Json::as_str)
                    .flat_map(|s| s.split(','))
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "limit" => args.limit = Some(int(&json)?),
            "offset" => args.offset = Some(unsigned(&json)?),
            "page" => args.page = Some(unsigned(&json)?),
            "search" => args.search = json.as_str().map(str::to_string),
            _ => {}
        }
    }
    args.validate()?;
    Ok(args)
}

/// The list arguments of the field being resolved.
pub fn root_args(ctx: &ResolverContext<'_>) -> Result<ListArgs> {
    let pairs = ctx
        .args
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_value().clone()));
    list_args(pairs)
}

/// Builds the read tree for `field`'s selection set over `coll`.
pub fn node<'a>(
    catalog: &Catalog,
    coll: &Collection,
    field: &impl Selected<'a>,
    args: ListArgs,
) -> Result<ReadNode> {
    build(catalog, coll, field, args, 0)
}

fn build<'a>(
    catalog: &Catalog,
    coll: &Collection,
    field: &impl Selected<'a>,
    args: ListArgs,
    depth: usize,
) -> Result<ReadNode> {
    if depth > MAX_RELATIONAL_DEPTH {
        return Err(Error::query("Max relational depth exceeded"));
    }
    let mut node = ReadNode::new(coll.name);
    node.args = args;
    for sub in field.children() {
        let name = sub.name();
        if name.starts_with("__") {
            continue;
        }
        let key = sub.response_key();
        if let Some(f) = coll.field(name) {
            match f.relation.as_ref() {
                Some(relation) => {
                    let target = match relation {
                        domain::catalog::Relation::ManyToOne { target }
                        | domain::catalog::Relation::OneToMany { target, .. } => *target,
                    };
                    let target = catalog
                        .get(target)
                        .ok_or_else(|| Error::Internal(format!("unknown collection {target}")))?;
                    let pairs = sub.arguments()?;
                    let args = list_args(pairs.iter().map(|(n, v)| (n.as_str(), v.clone())))?;
                    let child = build(catalog, target, &sub, args, depth + 1)?;
                    node.select.push(Select::Relation {
                        field: name.to_string(),
                        key,
                        node: Box::new(child),
                    });
                }
                None => node.select.push(Select::Field {
                    field: name.to_string(),
                    key,
                }),
            }
            continue;
        }
        if let Some(base) = name.strip_suffix("_func")
            && coll.field(base).is_some()
        {
            for function in sub.children() {
                let fname = function.name();
                if fname.starts_with("__") {
                    continue;
                }
                let path = function
                    .arguments()?
                    .into_iter()
                    .find(|(n, _)| n.as_str() == "path")
                    .and_then(|(_, v)| v.into_json().ok())
                    .and_then(|j| j.as_str().map(str::to_string));
                node.select.push(Select::Function {
                    function: fname.to_string(),
                    field: base.to_string(),
                    path,
                    key: vec![key.clone(), function.response_key()],
                });
            }
            continue;
        }
        return Err(Error::unknown_field(name, coll.name, "root"));
    }
    Ok(node)
}

/// The aggregate functions and fields selected under `{collection}_aggregated`.
pub fn aggregate(
    field: &SelectionField<'_>,
    args: ListArgs,
    group_by: Vec<String>,
) -> AggregateQuery {
    let mut functions: Vec<(String, Vec<String>)> = Vec::new();
    for sub in field.selection_set() {
        let name = sub.name();
        match name {
            "group" | "__typename" => {}
            "countAll" => functions.push((name.to_string(), Vec::new())),
            _ => {
                let fields: Vec<String> = sub
                    .selection_set()
                    .map(|f| f.name().to_string())
                    .filter(|f| !f.starts_with("__"))
                    .collect();
                if let Some(existing) = functions.iter_mut().find(|(f, _)| f == name) {
                    existing.1.extend(fields);
                } else {
                    functions.push((name.to_string(), fields));
                }
            }
        }
    }
    for (_, fields) in functions.iter_mut() {
        fields.sort();
        fields.dedup();
    }
    functions.retain(|(name, fields)| name == "countAll" || !fields.is_empty());
    if functions.is_empty() {
        // Only `group` asked for: count anyway, so that the grouping query is valid.
        functions.push(("countAll".to_string(), Vec::new()));
    }
    AggregateQuery {
        functions,
        group_by,
        args,
    }
}
