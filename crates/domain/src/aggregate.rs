//! `aggregate` and `groupBy`: counts, sums, averages, minima and maxima computed in SQL.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, Order};
use serde_json::{Map, Value};

use crate::catalog::{Collection, Relation};
use crate::error::{Error, Result};
use crate::filter::{self, split_function};
use crate::query::ListArgs;
use crate::read::base_select;
use crate::sql::{self, Decode, col};
use crate::statement::Scope;

/// The functions Directus accepts in `aggregate`.
pub const FUNCTIONS: &[&str] = &[
    "count",
    "countDistinct",
    "countAll",
    "sum",
    "sumDistinct",
    "avg",
    "avgDistinct",
    "min",
    "max",
];

/// What to aggregate: `{count: ["*"]}`, `{sum: ["position_x"]}`, grouped by `group_by`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AggregateQuery {
    pub functions: Vec<(String, Vec<String>)>,
    pub group_by: Vec<String>,
    pub args: ListArgs,
}

/// One result row: the group's values, and per function either a number (`countAll`,
/// `count: *`) or an object of numbers per field.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRow {
    pub group: Map<String, Value>,
    pub values: Map<String, Value>,
}

/// The output key of a group entry: `trigger`, or `date_created_year` for `year(date_created)`.
pub fn group_key(entry: &str) -> String {
    match split_function(entry) {
        Some((function, field)) => format!("{field}_{function}"),
        None => entry.to_string(),
    }
}

pub async fn aggregate(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    coll: &Collection,
    query: &AggregateQuery,
) -> Result<Vec<AggregateRow>> {
    let backend = scope.backend;
    let alias = scope.next_alias();
    let mut stmt = base_select(scope, coll, &alias, &query.args)?;
    let mut decoders: Vec<(bool, String, Option<String>, Decode)> = Vec::new();
    let mut index = 0usize;
    let mut group_exprs = Vec::new();
    for entry in &query.group_by {
        let expr = match split_function(entry) {
            Some((function, field)) => {
                let f = scope.field(coll, field)?;
                (
                    filter::function_expr(scope, coll, &alias, function, f)?,
                    Decode::Integer,
                )
            }
            None => {
                let f = scope.field(coll, entry)?;
                if !f.has_column() {
                    return Err(Error::query(format!(
                        "Can't group by alias field \"{entry}\""
                    )));
                }
                (col(&alias, f.name), Decode::Field(f.kind))
            }
        };
        stmt.expr_as(expr.0.clone(), Alias::new(format!("a{index}")));
        index += 1;
        stmt.add_group_by([expr.0.clone()]);
        group_exprs.push(expr.0);
        decoders.push((true, group_key(entry), None, expr.1));
    }
    for (function, fields) in &query.functions {
        if !FUNCTIONS.contains(&function.as_str()) {
            return Err(Error::query(format!(
                "Unknown aggregate function \"{function}\""
            )));
        }
        if function == "countAll" {
            stmt.expr_as(Expr::cust("COUNT(*)"), Alias::new(format!("a{index}")));
            index += 1;
            decoders.push((false, function.clone(), None, Decode::Integer));
            continue;
        }
        for field in fields {
            let (expr, decode) = if field == "*" {
                if !function.starts_with("count") {
                    return Err(Error::query(format!(
                        "\"{function}\" needs a field, not \"*\""
                    )));
                }
                (Expr::cust("COUNT(*)"), Decode::Integer)
            } else {
                let f = scope.field(coll, field)?;
                let column = match &f.relation {
                    Some(Relation::OneToMany { .. }) => col(&alias, coll.primary_key),
                    _ => col(&alias, f.name),
                };
                let float = match backend {
                    sea_orm::DbBackend::Postgres => "DOUBLE PRECISION",
                    _ => "REAL",
                };
                let numeric = |sql_fn: &str| -> Result<(Expr, Decode)> {
                    if !f.kind.is_numeric() {
                        return Err(Error::query(format!(
                            "Function \"{function}\" can't be used on field \"{field}\""
                        )));
                    }
                    Ok((
                        sql::custom(
                            backend,
                            format!("CAST({sql_fn} AS {float})"),
                            [column.clone()],
                        ),
                        Decode::Float,
                    ))
                };
                match function.as_str() {
                    "count" => (
                        sql::custom(backend, "COUNT($1)", [column.clone()]),
                        Decode::Integer,
                    ),
                    "countDistinct" => (
                        sql::custom(backend, "COUNT(DISTINCT $1)", [column.clone()]),
                        Decode::Integer,
                    ),
                    "sum" => numeric("SUM($1)")?,
                    "sumDistinct" => numeric("SUM(DISTINCT $1)")?,
                    "avg" => numeric("AVG($1)")?,
                    "avgDistinct" => numeric("AVG(DISTINCT $1)")?,
                    "min" => numeric("MIN($1)")?,
                    _ => numeric("MAX($1)")?,
                }
            };
            stmt.expr_as(expr, Alias::new(format!("a{index}")));
            index += 1;
            let field_key = if field == "*" {
                None
            } else {
                Some(field.clone())
            };
            decoders.push((false, function.clone(), field_key, decode));
        }
    }
    if index == 0 {
        return Err(Error::query("Nothing to aggregate"));
    }
    // Without groups the answer is one row: no window applies.
    let mut window = (None, 0);
    if !query.group_by.is_empty() {
        for entry in &query.args.sort {
            let (path, order) = match entry.strip_prefix('-') {
                Some(p) => (p, Order::Desc),
                None => (entry.as_str(), Order::Asc),
            };
            let pos = query
                .group_by
                .iter()
                .position(|g| g == path)
                .ok_or_else(|| {
                    Error::query(format!(
                        "Can't sort by \"{path}\" when it is not in \"groupBy\""
                    ))
                })?;
            stmt.order_by_expr(group_exprs[pos].clone(), order);
        }
        for expr in &group_exprs {
            stmt.order_by_expr(expr.clone(), Order::Asc);
        }
        window = query.args.window();
    }
    let rows = crate::read::query_window(db, &stmt, window).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut group = Map::new();
        let mut values = Map::new();
        for (idx, (is_group, name, field, decode)) in decoders.iter().enumerate() {
            let value = sql::decode(backend, row, idx, *decode)?;
            if *is_group {
                group.insert(name.clone(), value);
                continue;
            }
            match field {
                None => {
                    values.insert(name.clone(), value);
                }
                Some(field) => {
                    let entry = values
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(inner) = entry {
                        inner.insert(field.clone(), value);
                    }
                }
            }
        }
        out.push(AggregateRow { group, values });
    }
    Ok(out)
}
