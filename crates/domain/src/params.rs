//! Directus's global query parameters (`fields`, `filter`, `search`, `sort`, `limit`,
//! `offset`, `page`, `meta`, `aggregate`, `groupBy`, `deep`, `alias`, `export`), checked
//! once and turned into the domain's read and aggregate requests. REST reads them from the
//! URL, `SEARCH` from its body, batch writes from their `query`.

use serde_json::{Map, Value};

use crate::aggregate::{AggregateQuery, FUNCTIONS};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::query::{ListArgs, ReadNode, Select};

/// The file formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Json,
    Csv,
    CsvUtf8,
    Xml,
    Yaml,
}

impl Export {
    pub fn extension(self) -> &'static str {
        match self {
            Export::Json => "json",
            Export::Csv | Export::CsvUtf8 => "csv",
            Export::Xml => "xml",
            Export::Yaml => "yaml",
        }
    }
}

/// A checked query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    pub fields: Vec<String>,
    pub args: ListArgs,
    /// `total_count`, `filter_count`.
    pub meta: Vec<String>,
    pub aggregate: Vec<(String, Vec<String>)>,
    pub group_by: Vec<String>,
    pub deep: Map<String, Value>,
    pub alias: Vec<(String, String)>,
    pub export: Option<Export>,
}

/// The parameters this module reads; anything else is ignored, as Directus does.
pub const KNOWN: &[&str] = &[
    "fields",
    "filter",
    "search",
    "sort",
    "limit",
    "offset",
    "page",
    "meta",
    "aggregate",
    "groupBy",
    "deep",
    "alias",
    "export",
    "version",
    "versionRaw",
    "backlink",
];

fn invalid(reason: impl Into<String>) -> Error {
    Error::query(reason)
}

/// A list parameter: a comma string (split outside parentheses) or an array of strings.
fn string_list(name: &str, value: &Value) -> Result<Vec<String>> {
    match value {
        Value::String(s) => Ok(split_commas(s)),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => out.extend(split_commas(s)),
                    _ => return Err(invalid(format!("\"{name}\" must be a string or array"))),
                }
            }
            Ok(out)
        }
        Value::Null => Ok(Vec::new()),
        _ => Err(invalid(format!("\"{name}\" must be a string or array"))),
    }
}

/// Splits on commas outside parentheses (`json(options, a.b),id`).
pub fn split_commas(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                let part = current.trim().to_string();
                if !part.is_empty() {
                    out.push(part);
                }
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    let part = current.trim().to_string();
    if !part.is_empty() {
        out.push(part);
    }
    out
}

fn check_parentheses(name: &str, entries: &[String]) -> Result<()> {
    for entry in entries {
        let mut depth = 0i32;
        for c in entry.chars() {
            match c {
                '(' => {
                    depth += 1;
                    if depth > 1 {
                        return Err(invalid(format!(
                            "Nested functions are not supported in \"{name}\""
                        )));
                    }
                }
                ')' => depth -= 1,
                _ => {}
            }
            if depth < 0 {
                return Err(invalid(format!(
                    "Missing opening parenthesis in \"{name}\""
                )));
            }
        }
        if depth != 0 {
            return Err(invalid(format!(
                "Missing closing parenthesis in \"{name}\""
            )));
        }
    }
    Ok(())
}

fn number(name: &str, value: &Value) -> Result<i64> {
    let n = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| invalid(format!("\"{name}\" must be a number")))
}

/// A JSON-valued parameter: a JSON string from the URL or an object.
fn json_param(name: &str, value: &Value, what: &str) -> Result<Value> {
    match value {
        Value::String(s) => serde_json::from_str(s)
            .map_err(|_| invalid(format!("Invalid JSON for {what} object")))
            .and_then(|v: Value| {
                if v.is_object() {
                    Ok(v)
                } else {
                    Err(invalid(format!("Invalid {what} object")))
                }
            }),
        Value::Object(_) => Ok(value.clone()),
        _ => Err(invalid(format!("\"{name}\" must be an object"))),
    }
}

/// Reads list arguments (`filter`, `sort`, `limit`, ...) from keys with an optional prefix
/// (`_` for `deep`).
fn list_args(query: &Map<String, Value>, prefix: &str) -> Result<ListArgs> {
    let get = |name: &str| query.get(&format!("{prefix}{name}"));
    let mut args = ListArgs::default();
    if let Some(v) = get("filter") {
        args.filter = Some(json_param("filter", v, "filter")?);
    }
    if let Some(v) = get("sort") {
        args.sort = string_list("sort", v)?;
        check_parentheses("sort", &args.sort)?;
    }
    if let Some(v) = get("limit") {
        let limit = number("limit", v)?;
        if limit < -1 {
            return Err(invalid("\"limit\" must be greater than or equal to -1"));
        }
        args.limit = Some(limit);
    }
    for (name, slot) in [("offset", &mut args.offset), ("page", &mut args.page)] {
        if let Some(v) = get(name) {
            let n = number(name, v)?;
            *slot =
                Some(u64::try_from(n).map_err(|_| {
                    invalid(format!("\"{name}\" must be greater than or equal to 0"))
                })?);
        }
    }
    if let Some(v) = get("search") {
        args.search = match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => return Err(invalid("\"search\" must be a string")),
        };
    }
    Ok(args)
}

/// Checks and converts a query object (URL parameters or a `SEARCH` body's `query`).
pub fn parse(query: &Map<String, Value>) -> Result<Params> {
    let mut params = Params {
        args: list_args(query, "")?,
        ..Params::default()
    };
    if let Some(v) = query.get("fields") {
        if !(v.is_string() || v.is_array()) {
            return Err(invalid("\"fields\" must be a string or array"));
        }
        params.fields = string_list("fields", v)?;
        check_parentheses("fields", &params.fields)?;
    }
    if let Some(v) = query.get("meta") {
        let meta = string_list("meta", v)?;
        for (i, m) in meta.iter().enumerate() {
            match m.as_str() {
                "*" => params.meta = vec!["total_count".into(), "filter_count".into()],
                "total_count" | "filter_count" => {
                    if !params.meta.contains(m) {
                        params.meta.push(m.clone());
                    }
                }
                _ => {
                    return Err(invalid(format!(
                        "\"meta[{i}]\" must be one of [total_count, filter_count]"
                    )));
                }
            }
        }
    }
    if let Some(v) = query.get("aggregate") {
        let obj = match v {
            Value::Object(obj) => obj.clone(),
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(obj)) => obj,
                _ => return Err(invalid("Invalid JSON for aggregate object")),
            },
            _ => return Err(invalid("\"aggregate\" must be an object")),
        };
        for (function, fields) in obj {
            if !FUNCTIONS.contains(&function.as_str()) {
                return Err(invalid(format!("\"aggregate.{function}\" is not allowed")));
            }
            params
                .aggregate
                .push((function, string_list("aggregate", &fields)?));
        }
    }
    if let Some(v) = query.get("groupBy") {
        params.group_by = string_list("groupBy", v)?;
        check_parentheses("groupBy", &params.group_by)?;
    }
    if let Some(v) = query.get("deep") {
        params.deep = json_param("deep", v, "deep")?
            .as_object()
            .cloned()
            .unwrap_or_default();
    }
    if let Some(v) = query.get("alias") {
        let obj = json_param("alias", v, "alias")?;
        for (alias, field) in obj.as_object().into_iter().flatten() {
            let Value::String(field) = field else {
                return Err(invalid("\"alias\" must be an object of strings"));
            };
            if alias.contains('.') || (field.contains('.') && !field.starts_with("json(")) {
                return Err(invalid("\"alias\" keys and values can't contain a period"));
            }
            params.alias.push((alias.clone(), field.clone()));
        }
    }
    if let Some(v) = query.get("export") {
        params.export = Some(match v.as_str() {
            Some("json") => Export::Json,
            Some("csv") => Export::Csv,
            Some("csv_utf8") => Export::CsvUtf8,
            Some("xml") => Export::Xml,
            Some("yaml") => Export::Yaml,
            _ => {
                return Err(invalid(
                    "\"export\" must be one of [csv, csv_utf8, json, xml, yaml]",
                ));
            }
        });
    }
    Ok(params)
}

impl Params {
    /// The read tree: `fields` (default `*`), `alias` and `deep` applied.
    pub fn read_node(&self, catalog: &Catalog, collection: &str) -> Result<ReadNode> {
        let coll = catalog
            .get(collection)
            .ok_or_else(|| Error::Internal(format!("unknown collection {collection}")))?;
        // As in Directus, an alias is read only where `fields` names it (`title`, `logs.key`)
        // or through a wildcard (`*` adds every alias, `*.x` adds `alias.x` for relations).
        let star = ["*".to_string()];
        let requested: &[String] = if self.fields.is_empty() {
            &star
        } else {
            &self.fields
        };
        let mut plain = Vec::new();
        let mut wanted: Vec<(&str, Vec<String>)> = self
            .alias
            .iter()
            .map(|(alias, _)| (alias.as_str(), Vec::new()))
            .collect();
        let mut selected = vec![false; wanted.len()];
        for entry in requested {
            let entry = entry.trim();
            let (head, rest) = match entry.split_once('.') {
                Some((head, rest)) if !head.contains('(') => (head, Some(rest)),
                _ => (entry, None),
            };
            if head == "*" {
                plain.push(entry.to_string());
                for (i, (_, field)) in self.alias.iter().enumerate() {
                    selected[i] = true;
                    let relational = coll.field(field).is_some_and(|f| f.relation.is_some());
                    if let (Some(rest), true) = (rest, relational) {
                        wanted[i].1.push(rest.to_string());
                    }
                }
            } else if let Some(i) = self.alias.iter().position(|(a, _)| a == head) {
                selected[i] = true;
                if let Some(rest) = rest {
                    wanted[i].1.push(rest.to_string());
                }
            } else {
                plain.push(entry.to_string());
            }
        }
        let mut node = if plain.is_empty() {
            ReadNode::new(collection)
        } else {
            ReadNode::from_fields(catalog, collection, &plain)?
        };
        for (i, ((alias, field), (_, rest))) in self.alias.iter().zip(&wanted).enumerate() {
            if !selected[i] {
                continue;
            }
            let paths: Vec<String> = if rest.is_empty() {
                vec![field.clone()]
            } else {
                rest.iter().map(|r| format!("{field}.{r}")).collect()
            };
            let aliased = ReadNode::from_fields(catalog, collection, &paths)?;
            for select in aliased.select {
                node.select.push(match select {
                    Select::Field { field, .. } => Select::Field {
                        field,
                        key: alias.clone(),
                    },
                    Select::Function {
                        function,
                        field,
                        path,
                        ..
                    } => Select::Function {
                        function,
                        field,
                        path,
                        key: vec![alias.clone()],
                    },
                    Select::Relation {
                        field, node: child, ..
                    } => Select::Relation {
                        field,
                        key: alias.clone(),
                        node: child,
                    },
                });
            }
        }
        node.args = self.args.clone();
        apply_deep(&mut node, &self.deep, 0)?;
        Ok(node)
    }

    /// Aggregate rows as REST and item operations answer them: group keys and functions
    /// side by side in one object, and `count(*)` as a bare number.
    pub fn flatten_aggregate(&self, rows: Vec<crate::aggregate::AggregateRow>) -> Vec<Value> {
        rows.into_iter()
            .map(|row| {
                let mut obj = row.group;
                for (function, value) in row.values {
                    let counts_all = self
                        .aggregate
                        .iter()
                        .any(|(f, fields)| *f == function && fields.iter().any(|x| x == "*"));
                    let value = match (counts_all, value) {
                        (true, Value::Object(mut inner)) if inner.len() == 1 => {
                            inner.remove("*").unwrap_or(Value::Null)
                        }
                        (_, v) => v,
                    };
                    obj.insert(function, value);
                }
                Value::Object(obj)
            })
            .collect()
    }

    /// The aggregate request, when `aggregate` was given.
    pub fn aggregate_query(&self) -> Option<AggregateQuery> {
        if self.aggregate.is_empty() {
            return None;
        }
        Some(AggregateQuery {
            functions: self.aggregate.clone(),
            group_by: self.group_by.clone(),
            args: self.args.clone(),
        })
    }
}

/// `deep[operations][_limit]=2`: list arguments for a nested relation, recursively.
fn apply_deep(node: &mut ReadNode, deep: &Map<String, Value>, depth: usize) -> Result<()> {
    if depth > crate::query::MAX_RELATIONAL_DEPTH {
        return Err(invalid("Max relational depth exceeded"));
    }
    for (field, spec) in deep {
        let Value::Object(spec) = spec else {
            return Err(invalid(format!("\"deep.{field}\" must be an object")));
        };
        for select in node.select.iter_mut() {
            // `deep` is keyed like the output (an alias names its own sub-query).
            if let Select::Relation {
                key, node: child, ..
            } = select
                && key == field
            {
                let args = list_args(spec, "_")?;
                child.args = ListArgs {
                    limit: args.limit.or(child.args.limit),
                    ..args
                };
                let nested: Map<String, Value> = spec
                    .iter()
                    .filter(|(k, _)| !k.starts_with('_'))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                apply_deep(child, &nested, depth + 1)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(v: Value) -> Result<Params> {
        parse(v.as_object().expect("object"))
    }

    #[test]
    fn url_strings_become_typed_arguments() -> Result<()> {
        let p = parse_json(
            json!({"limit": "2", "page": "2", "sort": "-name,id", "filter": "{\"name\":{\"_eq\":\"x\"}}"}),
        )?;
        assert_eq!(p.args.limit, Some(2));
        assert_eq!(p.args.page, Some(2));
        assert_eq!(p.args.sort, ["-name", "id"]);
        assert_eq!(p.args.filter, Some(json!({"name": {"_eq": "x"}})));
        Ok(())
    }

    #[test]
    fn bad_parameters_name_themselves() {
        let reason = |v: Value| parse_json(v).err().map(|e| e.to_string());
        assert_eq!(
            reason(json!({"limit": "abc"})).as_deref(),
            Some("Invalid query. \"limit\" must be a number.")
        );
        assert_eq!(
            reason(json!({"filter": "{oops"})).as_deref(),
            Some("Invalid query. Invalid JSON for filter object.")
        );
        assert_eq!(
            reason(json!({"meta": "foo"})).as_deref(),
            Some("Invalid query. \"meta[0]\" must be one of [total_count, filter_count].")
        );
        assert_eq!(
            reason(json!({"fields": "year(date(x))"})).as_deref(),
            Some("Invalid query. Nested functions are not supported in \"fields\".")
        );
        assert_eq!(
            reason(json!({"fields": "year(x"})).as_deref(),
            Some("Invalid query. Missing closing parenthesis in \"fields\".")
        );
        assert_eq!(
            reason(json!({"export": "pdf"})).as_deref(),
            Some("Invalid query. \"export\" must be one of [csv, csv_utf8, json, xml, yaml].")
        );
    }

    #[test]
    fn aliases_are_read_where_fields_name_them() -> Result<()> {
        let catalog = Catalog::system();
        let keys = |v: Value| -> Result<Vec<String>> {
            let node = parse_json(v)?.read_node(&catalog, "directus_flows")?;
            Ok(node
                .select
                .iter()
                .map(|s| match s {
                    Select::Field { key, .. } | Select::Relation { key, .. } => key.clone(),
                    Select::Function { key, .. } => key.join("."),
                })
                .collect())
        };
        assert_eq!(
            keys(json!({"fields": "id,title", "alias": {"title": "name"}}))?,
            ["id", "title"]
        );
        assert_eq!(
            keys(json!({"fields": "id", "alias": {"title": "name"}}))?,
            ["id"]
        );
        assert!(keys(json!({"alias": {"title": "name"}}))?.contains(&"title".to_string()));
        let node = parse_json(json!({
            "fields": "logs.key",
            "alias": {"logs": "operations"},
            "deep": {"logs": {"_limit": 1}},
        }))?
        .read_node(&catalog, "directus_flows")?;
        let [Select::Relation { field, key, node }] = node.select.as_slice() else {
            return Err(Error::Internal(format!(
                "unexpected selection {:?}",
                node.select
            )));
        };
        assert_eq!((field.as_str(), key.as_str()), ("operations", "logs"));
        assert_eq!(node.args.limit, Some(1));
        Ok(())
    }

    #[test]
    fn commas_inside_functions_do_not_split() {
        assert_eq!(
            split_commas("id, json(options, a.b),name"),
            ["id", "json(options, a.b)", "name"]
        );
    }
}
