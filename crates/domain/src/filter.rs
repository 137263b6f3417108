//! The Directus filter language (`{"name": {"_eq": "x"}}`, `_and`, `_or`, relational paths,
//! `_some` / `_none`, functions such as `year(date_created)`) compiled to one SQL expression.
//! REST, GraphQL, permissions and item operations all filter through here.

use sea_orm::DbBackend;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query as Select};
use serde_json::{Map, Value};

use crate::catalog::{Collection, Field, FieldKind, Relation};
use crate::error::{Error, Result};
use crate::sql::{self, col};
use crate::statement::Scope;

/// Filters nest at most this deep (objects inside objects); deeper documents are refused
/// before any SQL is built, so a hostile filter cannot exhaust the stack or the planner.
pub const MAX_FILTER_DEPTH: usize = 24;

/// Compiles `filter` against `coll`, whose table is aliased `alias` in the statement.
pub fn compile(scope: &Scope, coll: &Collection, alias: &str, filter: &Value) -> Result<Expr> {
    compile_node(scope, coll, alias, filter, 0, true)
}

fn compile_node(
    scope: &Scope,
    coll: &Collection,
    alias: &str,
    filter: &Value,
    depth: usize,
    top_level: bool,
) -> Result<Expr> {
    if depth > MAX_FILTER_DEPTH {
        return Err(Error::query("Max filter depth exceeded"));
    }
    let obj = filter
        .as_object()
        .ok_or_else(|| Error::query("Invalid filter object"))?;
    let mut parts = Vec::new();
    for (key, value) in obj {
        let expr = match key.as_str() {
            "_and" | "_or" => {
                let items = value
                    .as_array()
                    .ok_or_else(|| Error::query(format!("\"{key}\" has to be an array")))?;
                let exprs = items
                    .iter()
                    .map(|item| compile_node(scope, coll, alias, item, depth + 1, top_level))
                    .collect::<Result<Vec<_>>>()?;
                if key == "_and" {
                    all(exprs)
                } else {
                    any(exprs)
                }
            }
            _ if key.starts_with('_') => {
                return Err(Error::query(format!(
                    "Invalid filter key \"{key}\" at the root of a filter"
                )));
            }
            _ => compile_field(scope, coll, alias, key, value, depth + 1, top_level)?,
        };
        parts.push(expr);
    }
    Ok(all(parts))
}

/// `TRUE` for an empty list, else the conjunction.
fn all(exprs: Vec<Expr>) -> Expr {
    exprs
        .into_iter()
        .reduce(|a, b| a.and(b))
        .unwrap_or_else(|| Expr::cust("1 = 1"))
}

fn any(exprs: Vec<Expr>) -> Expr {
    exprs
        .into_iter()
        .reduce(|a, b| a.or(b))
        .unwrap_or_else(|| Expr::cust("1 = 0"))
}

/// A function applied to a field: `year(date_created)`, `count(operations)`.
pub struct FieldFunction<'a> {
    pub function: String,
    pub field: &'a Field,
}

/// Splits `fn(field)` (REST) into its parts; `None` when the key is a plain field name.
pub fn split_function(key: &str) -> Option<(&str, &str)> {
    let open = key.find('(')?;
    let inner = key[open + 1..].strip_suffix(')')?;
    Some((&key[..open], inner.trim()))
}

/// The SQL expression of a function over a field, and the output type it has.
pub fn function_expr(
    scope: &Scope,
    coll: &Collection,
    alias: &str,
    function: &str,
    field: &Field,
) -> Result<Expr> {
    let backend = scope.backend;
    let invalid = || {
        Error::query(format!(
            "Function \"{function}\" can't be used on field \"{}\"",
            field.name
        ))
    };
    match (&field.relation, field.kind, function) {
        (
            Some(Relation::OneToMany {
                target,
                foreign_field,
            }),
            _,
            "count",
        ) => {
            let target = scope.collection(target)?;
            let child = scope.next_alias();
            let mut sub = Select::select();
            sub.expr(Expr::cust("COUNT(*)"))
                .from_as(Alias::new(target.name), Alias::new(&child))
                .and_where(
                    col(&child, foreign_field)
                        .equals((Alias::new(alias), Alias::new(coll.primary_key))),
                );
            Ok(Expr::SubQuery(
                None,
                Box::new(sea_orm::sea_query::SubQueryStatement::SelectStatement(sub)),
            ))
        }
        (None, FieldKind::Json, "count") => Ok(sql::json_count(backend, col(alias, field.name))),
        (None, kind, part) if kind.is_temporal() => {
            sql::date_part(backend, col(alias, field.name), part).ok_or_else(invalid)
        }
        _ => Err(invalid()),
    }
}

fn compile_field(
    scope: &Scope,
    coll: &Collection,
    alias: &str,
    key: &str,
    value: &Value,
    depth: usize,
    top_level: bool,
) -> Result<Expr> {
    // REST form `year(date_created)` and GraphQL form `date_created_func: {year: ...}`.
    if let Some((function, field_name)) = split_function(key) {
        let field = scope.field(coll, field_name)?;
        let expr = function_expr(scope, coll, alias, function, field)?;
        return compile_operators(scope, expr, FieldKind::Integer, key, value, depth);
    }
    if let Some(base) = key.strip_suffix("_func")
        && coll.field(key).is_none()
        && let Some(field) = coll.field(base)
    {
        let funcs = value
            .as_object()
            .ok_or_else(|| Error::query("Invalid filter object"))?;
        let mut parts = Vec::new();
        for (function, ops) in funcs {
            let expr = function_expr(scope, coll, alias, function, field)?;
            parts.push(compile_operators(
                scope,
                expr,
                FieldKind::Integer,
                function,
                ops,
                depth + 1,
            )?);
        }
        return Ok(all(parts));
    }
    let field = scope.field(coll, key)?;
    let obj = value
        .as_object()
        .ok_or_else(|| Error::query("Invalid filter object"))?;
    match &field.relation {
        Some(Relation::ManyToOne { target }) => {
            let (ops, nested) = split_operators(obj);
            let mut parts = Vec::new();
            if !ops.is_empty() {
                parts.push(compile_operators(
                    scope,
                    col(alias, field.name),
                    field.kind,
                    field.name,
                    &Value::Object(ops),
                    depth,
                )?);
            }
            if !nested.is_empty() {
                let target = scope.collection(target)?;
                let child = scope.next_alias();
                let cond = compile_node(
                    scope,
                    target,
                    &child,
                    &Value::Object(nested),
                    depth + 1,
                    false,
                )?;
                // LEFT JOIN semantics, as Directus joins m2o relations: a row without a
                // related row is matched against a related row of nulls, so that
                // `operation: {id: {_null: true}}` finds the flows without one.
                let unit = scope.next_alias();
                let mut one = Select::select();
                one.expr(Expr::cust("1"));
                let mut sub = Select::select();
                sub.expr(Expr::cust("1"))
                    .from_subquery(one, Alias::new(&unit))
                    .join_as(
                        JoinType::LeftJoin,
                        Alias::new(target.name),
                        Alias::new(&child),
                        col(&child, target.primary_key)
                            .equals((Alias::new(alias), Alias::new(field.name))),
                    )
                    .and_where(cond);
                parts.push(Expr::exists(sub));
            }
            Ok(all(parts))
        }
        Some(Relation::OneToMany {
            target,
            foreign_field,
        }) => {
            let target = scope.collection(target)?;
            let (quantifier, inner) = match (obj.get("_some"), obj.get("_none")) {
                (Some(inner), None) if obj.len() == 1 => (true, inner.clone()),
                (None, Some(inner)) if obj.len() == 1 => (false, inner.clone()),
                (None, None) => (true, value.clone()),
                _ => return Err(Error::query("Invalid filter object")),
            };
            if (obj.contains_key("_some") || obj.contains_key("_none")) && !top_level {
                return Err(Error::query(
                    "\"_some\" can only be used with top level relational alias field",
                ));
            }
            let child = scope.next_alias();
            let cond = compile_node(scope, target, &child, &inner, depth + 1, false)?;
            let mut sub = Select::select();
            sub.expr(Expr::cust("1"))
                .from_as(Alias::new(target.name), Alias::new(&child))
                .and_where(
                    col(&child, foreign_field)
                        .equals((Alias::new(alias), Alias::new(coll.primary_key))),
                )
                .and_where(cond);
            Ok(if quantifier {
                Expr::exists(sub)
            } else {
                Expr::not_exists(sub)
            })
        }
        None => compile_operators(
            scope,
            col(alias, field.name),
            field.kind,
            field.name,
            value,
            depth,
        ),
    }
}

fn split_operators(obj: &Map<String, Value>) -> (Map<String, Value>, Map<String, Value>) {
    obj.iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(k, _)| k.starts_with('_'))
}

/// Which operators each field type accepts (Directus's `getFilterOperatorsForType`, widened
/// for ids to the text operators that GraphQL's `id_filter_operators` advertises).
fn allowed(kind: FieldKind, op: &str) -> bool {
    const TEXT: &[&str] = &[
        "_contains",
        "_ncontains",
        "_icontains",
        "_starts_with",
        "_nstarts_with",
        "_istarts_with",
        "_nistarts_with",
        "_ends_with",
        "_nends_with",
        "_iends_with",
        "_niends_with",
        "_eq",
        "_neq",
        "_empty",
        "_nempty",
        "_null",
        "_nnull",
        "_in",
        "_nin",
    ];
    const NUMBER: &[&str] = &[
        "_eq",
        "_neq",
        "_lt",
        "_lte",
        "_gt",
        "_gte",
        "_between",
        "_nbetween",
        "_null",
        "_nnull",
        "_in",
        "_nin",
    ];
    match kind {
        FieldKind::Uuid | FieldKind::String | FieldKind::Text => TEXT.contains(&op),
        FieldKind::Integer | FieldKind::BigInteger | FieldKind::Float | FieldKind::Decimal => {
            NUMBER.contains(&op)
        }
        FieldKind::Timestamp | FieldKind::DateTime | FieldKind::Date => {
            NUMBER.contains(&op) || matches!(op, "_empty" | "_nempty")
        }
        FieldKind::Json => matches!(op, "_null" | "_nnull" | "_json"),
        FieldKind::Boolean => matches!(op, "_eq" | "_neq" | "_null" | "_nnull"),
        FieldKind::Hash => matches!(op, "_null" | "_nnull" | "_empty" | "_nempty"),
    }
}

/// Compiles `{"_op": value, ...}` applied to `expr`, a value of `kind`.
fn compile_operators(
    scope: &Scope,
    expr: Expr,
    kind: FieldKind,
    name: &str,
    value: &Value,
    depth: usize,
) -> Result<Expr> {
    if depth > MAX_FILTER_DEPTH {
        return Err(Error::query("Max filter depth exceeded"));
    }
    let ops = value
        .as_object()
        .ok_or_else(|| Error::query("Invalid filter object"))?;
    let mut parts = Vec::new();
    for (op, operand) in ops {
        if !op.starts_with('_') {
            return Err(Error::unknown_field(op, name, "filter"));
        }
        if !allowed(kind, op) {
            return Err(Error::query(format!(
                "\"{}\" field type does not contain the \"{op}\" filter operator",
                kind.directus_name()
            )));
        }
        let operand = scope.resolve_variables(operand);
        if sql::has_nul(&operand) {
            return Err(Error::query(format!(
                "\"{op}\" can't compare with NUL characters"
            )));
        }
        parts.push(compile_operator(
            scope,
            expr.clone(),
            kind,
            name,
            op,
            &operand,
        )?);
    }
    Ok(all(parts))
}

/// REST sends every value as text: `"true"`, `"false"` and `"null"` mean the JSON values.
fn normalize(operand: &Value) -> Value {
    match operand {
        Value::String(s) if s == "true" => Value::Bool(true),
        Value::String(s) if s == "false" => Value::Bool(false),
        Value::String(s) if s == "null" || s == "NULL" => Value::Null,
        other => other.clone(),
    }
}

fn flag(op: &str, operand: &Value) -> Result<bool> {
    match normalize(operand) {
        Value::Bool(b) => Ok(b),
        Value::Null => Ok(true),
        Value::String(s) if s.is_empty() => Ok(true),
        _ => Err(Error::query(format!("\"{op}\" has to be a boolean"))),
    }
}

fn list(op: &str, operand: &Value) -> Result<Vec<Value>> {
    let items = match operand {
        Value::Array(items) => items.clone(),
        Value::String(s) => s.split(',').map(|p| Value::from(p.trim())).collect(),
        Value::Number(_) => vec![operand.clone()],
        _ => Vec::new(),
    };
    if items.is_empty() {
        return Err(Error::query(format!(
            "\"{op}\" has to be an array of values"
        )));
    }
    if items.len() > 10_000 {
        return Err(Error::query(format!("\"{op}\" has too many values")));
    }
    Ok(items)
}

fn compile_operator(
    scope: &Scope,
    expr: Expr,
    kind: FieldKind,
    name: &str,
    op: &str,
    operand: &Value,
) -> Result<Expr> {
    let backend = scope.backend;
    let bind = |v: &Value| -> Result<Expr> { Ok(Expr::val(sql::bind(backend, kind, name, v)?)) };
    let scalar = |v: &Value| -> Result<Value> {
        let v = normalize(v);
        match &v {
            Value::String(s) if s.is_empty() => Err(Error::query(format!(
                "You can't filter for an empty string in \"{op}\". Use \"_empty\" or \"_nempty\" instead"
            ))),
            Value::Array(_) | Value::Object(_) => Err(Error::query(format!(
                "\"{op}\" has to be a primitive value"
            ))),
            _ => Ok(v),
        }
    };
    // An id that is not a UUID cannot equal any stored id: compare as text rather than fail.
    let id_as_text = |v: &Value| {
        kind == FieldKind::Uuid
            && v.as_str()
                .is_some_and(|s| uuid::Uuid::parse_str(s).is_err())
    };
    Ok(match op {
        "_eq" | "_neq" => {
            let v = scalar(operand)?;
            let e = if Value::is_null(&v) {
                expr.clone().is_null()
            } else if id_as_text(&v) {
                sql::as_text(backend, expr.clone(), kind).eq(Expr::val(sql::scalar_text(&v)))
            } else {
                expr.clone().eq(bind(&v)?)
            };
            if op == "_neq" {
                if Value::is_null(&v) {
                    expr.is_not_null()
                } else {
                    // NULL rows count as "not equal", as users expect.
                    e.not().or(expr.is_null())
                }
            } else {
                e
            }
        }
        "_lt" | "_lte" | "_gt" | "_gte" => {
            let v = bind(&scalar(operand)?)?;
            match op {
                "_lt" => expr.lt(v),
                "_lte" => expr.lte(v),
                "_gt" => expr.gt(v),
                _ => expr.gte(v),
            }
        }
        "_in" | "_nin" => {
            let items = list(op, operand)?;
            let mut values = Vec::with_capacity(items.len());
            for item in &items {
                let item = normalize(item);
                if id_as_text(&item) {
                    continue;
                }
                values.push(bind(&item)?);
            }
            let matched = if values.is_empty() {
                Expr::cust("1 = 0")
            } else {
                let template = format!(
                    "$1 IN ({})",
                    (2..values.len() + 2)
                        .map(|i| format!("${i}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                sql::custom(
                    backend,
                    template,
                    std::iter::once(expr.clone()).chain(values),
                )
            };
            if op == "_in" {
                matched
            } else {
                matched.not().or(expr.is_null())
            }
        }
        "_between" | "_nbetween" => {
            let items = list(op, operand)?;
            if items.len() != 2 {
                return Err(Error::query(format!(
                    "\"{op}\" has to be a list of two values"
                )));
            }
            let (a, b) = (bind(&normalize(&items[0]))?, bind(&normalize(&items[1]))?);
            if op == "_between" {
                expr.between(a, b)
            } else {
                expr.not_between(a, b)
            }
        }
        "_null" | "_nnull" => {
            let on = flag(op, operand)?;
            if (op == "_null") == on {
                expr.is_null()
            } else {
                expr.is_not_null()
            }
        }
        "_empty" | "_nempty" => {
            let on = flag(op, operand)?;
            let text = sql::as_text(backend, expr.clone(), kind);
            let empty = expr.is_null().or(text.eq(""));
            if (op == "_empty") == on {
                empty
            } else {
                empty.not()
            }
        }
        "_json" => {
            let paths = operand
                .as_object()
                .ok_or_else(|| Error::query("\"_json\" has to be an object"))?;
            let mut parts = Vec::new();
            for (path, ops) in paths {
                let target = sql::json_path(backend, expr.clone(), path)?;
                let ops = ops
                    .as_object()
                    .ok_or_else(|| Error::query("Invalid filter object"))?;
                for (inner_op, value) in ops {
                    parts.push(json_compare(backend, target.clone(), inner_op, value)?);
                }
            }
            all(parts)
        }
        _ => {
            let v = scalar(operand)?;
            let text = sql::scalar_text(&v)
                .ok_or_else(|| Error::query(format!("\"{op}\" has to be a string")))?;
            let negate = op.starts_with("_n") && op != "_nempty";
            let insensitive = op.trim_start_matches("_n").starts_with('i') || op.starts_with("_i");
            let base = op
                .trim_start_matches('_')
                .trim_start_matches('n')
                .trim_start_matches('i');
            let target = sql::as_text(backend, expr.clone(), kind);
            let matched = text_match(backend, target, base, &text, insensitive)?;
            if negate {
                matched.not().or(expr.is_null())
            } else {
                matched
            }
        }
    })
}

/// `_contains`, `_starts_with` and `_ends_with`, case-sensitive unless `insensitive`.
/// SQLite's `LIKE` ignores ASCII case and refuses patterns over 50,000 bytes, so SQLite
/// uses `instr`/`substr` (with `LOWER` on both sides when insensitive).
fn text_match(
    backend: DbBackend,
    target: Expr,
    base: &str,
    text: &str,
    insensitive: bool,
) -> Result<Expr> {
    let escaped = sql::like_escape(text);
    let pattern = match base {
        "contains" => format!("%{escaped}%"),
        "starts_with" => format!("{escaped}%"),
        "ends_with" => format!("%{escaped}"),
        _ => return Err(Error::query(format!("Unknown filter operator \"_{base}\""))),
    };
    if backend == DbBackend::Postgres {
        let template = if insensitive {
            "LOWER($1) LIKE LOWER($2) ESCAPE '\\'"
        } else {
            "$1 LIKE $2 ESCAPE '\\'"
        };
        return Ok(sql::custom(backend, template, [target, Expr::val(pattern)]));
    }
    let (target, text) = if insensitive {
        (
            sql::custom(backend, "LOWER($1)", [target]),
            sql::custom(backend, "LOWER($1)", [Expr::val(text)]),
        )
    } else {
        (target, Expr::val(text))
    };
    Ok(match base {
        "contains" => sql::custom(backend, "instr($1, $2) > 0", [target, text]),
        "starts_with" => sql::custom(backend, "substr($1, 1, length($2)) = $2", [target, text]),
        _ => sql::custom(backend, "substr($1, -length($2)) = $2", [target, text]),
    })
}

/// Compares a JSON path's scalar with a filter value (`_json: {"a.b": {"_eq": 1}}`).
fn json_compare(backend: DbBackend, target: Expr, op: &str, value: &Value) -> Result<Expr> {
    let text = |v: &Value| -> Result<Expr> {
        sql::scalar_text(v)
            .map(Expr::val)
            .ok_or_else(|| Error::query(format!("\"{op}\" has to be a primitive value")))
    };
    Ok(match op {
        "_eq" => target.eq(text(value)?),
        "_neq" => target.clone().ne(text(value)?).or(target.is_null()),
        "_null" => target.is_null(),
        "_nnull" => target.is_not_null(),
        "_contains" => sql::custom(
            backend,
            "CAST($1 AS TEXT) LIKE $2 ESCAPE '\\'",
            [
                target,
                Expr::val(format!(
                    "%{}%",
                    sql::like_escape(&sql::scalar_text(value).unwrap_or_default())
                )),
            ],
        ),
        _ => {
            return Err(Error::query(format!(
                "\"json\" field type does not contain the \"{op}\" filter operator"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_split_into_name_and_field() {
        assert_eq!(
            split_function("year(date_created)"),
            Some(("year", "date_created"))
        );
        assert_eq!(
            split_function("count( operations )"),
            Some(("count", "operations"))
        );
        assert_eq!(split_function("name"), None);
    }

    #[test]
    fn operator_table_follows_directus() {
        assert!(allowed(FieldKind::String, "_icontains"));
        assert!(!allowed(FieldKind::String, "_gt"));
        assert!(allowed(FieldKind::Integer, "_between"));
        assert!(!allowed(FieldKind::Json, "_eq"));
        assert!(!allowed(FieldKind::String, "_ieq"));
    }
}
