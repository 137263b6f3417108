//! A read request in the shape both APIs produce: list arguments plus a tree of what to
//! select. REST builds it from `fields=...`, GraphQL from its selection set.

use serde_json::Value;

use crate::catalog::{Catalog, Collection, Relation};
use crate::error::{Error, Result};
use crate::filter::split_function;

/// Directus's `QUERY_LIMIT_DEFAULT`.
pub const DEFAULT_LIMIT: i64 = 100;
/// Relations nest at most this deep in `fields`, filters and sorts (`MAX_RELATIONAL_DEPTH`).
pub const MAX_RELATIONAL_DEPTH: usize = 10;

/// `filter`, `sort`, `limit`, `offset`, `page` and `search`: the arguments every list
/// (root or nested) takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListArgs {
    pub filter: Option<Value>,
    pub sort: Vec<String>,
    /// `None` means the default (100); `-1` means all rows.
    pub limit: Option<i64>,
    pub offset: Option<u64>,
    pub page: Option<u64>,
    pub search: Option<String>,
    /// A permission's row filter, AND-ed in by the items service. It is compiled against the
    /// whole catalogue, because it may name fields the caller itself cannot read.
    pub guard: Option<Value>,
}

impl ListArgs {
    /// The effective `(limit, offset)`; `page` overrides `offset` as in Directus
    /// (`offset = limit * (page - 1)`).
    pub fn window(&self) -> (Option<u64>, u64) {
        let limit = match self.limit {
            Some(-1) => None,
            Some(n) if n >= 0 => Some(n as u64),
            _ => Some(DEFAULT_LIMIT as u64),
        };
        let offset = match (self.page, limit) {
            (Some(page), Some(limit)) if page > 0 => limit * (page - 1),
            _ => self.offset.unwrap_or(0),
        };
        (limit, offset)
    }

    /// Checks the numeric arguments the way Directus's query validation does.
    pub fn validate(&self) -> Result<()> {
        if let Some(limit) = self.limit
            && limit < -1
        {
            return Err(Error::query(
                "\"limit\" must be greater than or equal to -1",
            ));
        }
        Ok(())
    }
}

/// One thing selected at a level of the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Select {
    /// A column, written to the output under `key`.
    Field { field: String, key: String },
    /// `year(date_created)`, `count(options)`, `count(operations)`, `json(options, a.b)`,
    /// written at the nested output path `key` (`["date_created_func", "year"]` for GraphQL,
    /// `["date_created_year"]` for REST).
    Function {
        function: String,
        field: String,
        path: Option<String>,
        key: Vec<String>,
    },
    /// A related collection read with its own arguments and selection.
    Relation {
        field: String,
        key: String,
        node: Box<ReadNode>,
    },
}

/// What to read from one collection.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadNode {
    pub collection: String,
    pub args: ListArgs,
    pub select: Vec<Select>,
    /// Render each row as its bare primary key: what `*` shows for an o2m alias
    /// (`"operations": ["<id>", ...]`).
    pub keys_only: bool,
}

impl ReadNode {
    pub fn new(collection: &str) -> Self {
        ReadNode {
            collection: collection.to_string(),
            args: ListArgs::default(),
            select: Vec::new(),
            keys_only: false,
        }
    }

    /// Builds the tree for REST's `fields` list (`*`, `a,b`, `rel.*`, `*.*`,
    /// `year(date_created)`, `operations.resolve.key`). An empty list means `*`.
    pub fn from_fields(catalog: &Catalog, collection: &str, fields: &[String]) -> Result<Self> {
        let coll = catalog
            .get(collection)
            .ok_or_else(|| Error::Internal(format!("unknown collection {collection}")))?;
        let paths: Vec<Vec<String>> = if fields.is_empty() {
            vec![vec!["*".to_string()]]
        } else {
            fields
                .iter()
                .filter(|f| !f.trim().is_empty())
                .map(|f| split_path(f.trim()))
                .collect()
        };
        let mut node = ReadNode::new(collection);
        for path in &paths {
            if path.len() > MAX_RELATIONAL_DEPTH + 1 {
                return Err(Error::query("Max relational depth exceeded"));
            }
            add_path(catalog, coll, &mut node, path)?;
        }
        Ok(node)
    }

    /// The relation selected under `key`, created when absent.
    fn relation_mut(&mut self, field: &str, target: &str) -> &mut ReadNode {
        let pos = self
            .select
            .iter()
            .position(|s| matches!(s, Select::Relation { key, .. } if key == field));
        let idx = match pos {
            Some(idx) => idx,
            None => {
                self.select.push(Select::Relation {
                    field: field.to_string(),
                    key: field.to_string(),
                    node: Box::new(ReadNode::new(target)),
                });
                self.select.len() - 1
            }
        };
        match &mut self.select[idx] {
            Select::Relation { node, .. } => node,
            _ => unreachable_node(),
        }
    }

    fn has_key(&self, wanted: &str) -> bool {
        self.select.iter().any(|s| match s {
            Select::Field { key, .. } | Select::Relation { key, .. } => key == wanted,
            Select::Function { key, .. } => key.first().is_some_and(|k| k == wanted),
        })
    }
}

#[allow(clippy::panic)]
fn unreachable_node() -> ! {
    // `relation_mut` only indexes entries it has just matched or pushed as relations.
    panic!("relation entry expected")
}

/// Splits `a.b.c` on dots outside parentheses (`json(options, a.b)` stays whole).
fn split_path(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in path.chars() {
        match c {
            '(' => {
                depth += 1;
                current.push(c);
            }
            ')' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            '.' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

fn add_path(
    catalog: &Catalog,
    coll: &Collection,
    node: &mut ReadNode,
    path: &[String],
) -> Result<()> {
    let Some((head, rest)) = path.split_first() else {
        return Ok(());
    };
    if head == "*" {
        for field in &coll.fields {
            match (&field.relation, rest.is_empty()) {
                (Some(Relation::OneToMany { .. }), true) => {
                    add_path(catalog, coll, node, &[field.name.to_string()])?;
                }
                (Some(_), false) => {
                    let mut sub = vec![field.name.to_string()];
                    sub.extend(rest.iter().cloned());
                    add_path(catalog, coll, node, &sub)?;
                }
                // `*.*` keeps every plain field of this level too.
                (Some(Relation::ManyToOne { .. }), true) | (None, _)
                    if !node.has_key(field.name) =>
                {
                    node.select.push(Select::Field {
                        field: field.name.to_string(),
                        key: field.name.to_string(),
                    })
                }
                _ => {}
            }
        }
        return Ok(());
    }
    if let Some((function, inner)) = split_function(head) {
        if !rest.is_empty() {
            return Err(Error::query(
                "Functions can't be followed by a path in \"fields\"",
            ));
        }
        if inner.contains('(') {
            return Err(Error::query(
                "Nested functions are not supported in \"fields\"",
            ));
        }
        let (field, json_path) = match inner.split_once(',') {
            Some((f, p)) => (f.trim(), Some(p.trim().to_string())),
            None => (inner, None),
        };
        coll.field(field)
            .ok_or_else(|| Error::unknown_field(field, coll.name, "root"))?;
        node.select.push(Select::Function {
            function: function.to_string(),
            field: field.to_string(),
            key: vec![format!("{field}_{function}")],
            path: json_path,
        });
        return Ok(());
    }
    if head.contains('(') || head.contains(')') {
        return Err(Error::query("Missing closing parenthesis in \"fields\""));
    }
    let field = coll
        .field(head)
        .ok_or_else(|| Error::unknown_field(head, coll.name, "root"))?;
    match (&field.relation, rest.is_empty()) {
        (Some(Relation::ManyToOne { target }), false)
        | (Some(Relation::OneToMany { target, .. }), false) => {
            let target_coll = catalog
                .get(target)
                .ok_or_else(|| Error::Internal(format!("unknown collection {target}")))?;
            let child = node.relation_mut(field.name, target);
            child.keys_only = false;
            add_path(catalog, target_coll, child, rest)
        }
        (Some(Relation::OneToMany { target, .. }), true) => {
            // A bare o2m alias lists the related keys, as Directus does.
            let target_coll = catalog
                .get(target)
                .ok_or_else(|| Error::Internal(format!("unknown collection {target}")))?;
            if node.has_key(head) {
                return Ok(());
            }
            let child = node.relation_mut(field.name, target);
            child.keys_only = true;
            child.args.limit = Some(-1);
            add_path(
                catalog,
                target_coll,
                child,
                &[target_coll.primary_key.to_string()],
            )
        }
        (_, false) => Err(Error::unknown_field(&rest[0], coll.name, "root")),
        (_, true) => {
            if !node.has_key(head) {
                node.select.push(Select::Field {
                    field: head.clone(),
                    key: head.clone(),
                });
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(list: &[&str]) -> Result<ReadNode> {
        let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        ReadNode::from_fields(&Catalog::system(), "directus_flows", &list)
    }

    #[test]
    fn star_selects_every_column_and_o2m_keys() -> Result<()> {
        let node = fields(&["*"])?;
        let keys: Vec<&str> = node
            .select
            .iter()
            .map(|s| match s {
                Select::Field { key, .. } | Select::Relation { key, .. } => key.as_str(),
                Select::Function { .. } => "fn",
            })
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "name",
                "icon",
                "color",
                "description",
                "status",
                "trigger",
                "accountability",
                "options",
                "operation",
                "date_created",
                "user_created",
                "folder",
                "operations"
            ]
        );
        Ok(())
    }

    #[test]
    fn nested_paths_share_one_relation_node() -> Result<()> {
        let node = fields(&["id", "operations.key", "operations.resolve.key"])?;
        assert_eq!(node.select.len(), 2);
        Ok(())
    }

    #[test]
    fn unknown_fields_are_forbidden() {
        let err = fields(&["nope"]).expect_err("unknown");
        assert_eq!(err.code(), "FORBIDDEN");
        assert_eq!(
            err.to_string(),
            "You don't have permission to access field \"nope\" in collection \"directus_flows\" or it does not exist. Queried in root."
        );
    }

    #[test]
    fn page_overrides_offset() {
        let args = ListArgs {
            limit: Some(2),
            page: Some(2),
            offset: Some(9),
            ..Default::default()
        };
        assert_eq!(args.window(), (Some(2), 2));
        let all = ListArgs {
            limit: Some(-1),
            ..Default::default()
        };
        assert_eq!(all.window(), (None, 0));
    }
}
