//! Runs a `ReadNode` tree: one SQL statement for the root rows, then one per relation level
//! (never one per row), with filter, search, sort and limits applied in SQL.

mod finish;
mod fold;
mod relations;
mod rows;
mod select;

use sea_orm::sea_query::SelectStatement;
use sea_orm::{ConnectionTrait, QueryResult};
use serde_json::Value;

use crate::catalog::Collection;
use crate::error::{Error, Result};
use crate::query::ReadNode;
use crate::statement::Scope;

use finish::*;
use fold::*;
use relations::*;
use rows::*;
pub use select::*;

/// Ids bound in one `IN (...)` list; larger batches are split.
const IN_CHUNK: usize = 500;

const ROW_NUMBER: &str = "__row_number";

/// The root rows of `node` with their relations attached, before they become objects.
async fn read_rows<'s>(
    db: &impl ConnectionTrait,
    scope: &Scope<'s>,
    node: &ReadNode,
    keys: Option<&[String]>,
    shape: Shape,
) -> Result<(&'s Collection, Rows)> {
    let coll = scope.collection(&node.collection)?;
    let alias = scope.next_alias();
    let mut stmt = base_select(scope, coll, &alias, &node.args)?;
    if let Some(keys) = keys {
        stmt.and_where(in_list(
            scope.backend,
            &alias,
            coll.primary_key,
            coll.pk_field().kind,
            keys,
        ));
    }
    apply_order(scope, coll, &alias, &node.args, &mut stmt)?;
    let limits = Limits::Whole(node.args.window());
    let mut rows = fetch(db, scope, coll, &alias, node, stmt, None, limits, shape).await?;
    attach_relations(db, scope, coll, node, &mut rows, 1, shape).await?;
    Ok((coll, rows))
}

/// Reads the rows `node` describes. `keys` narrows the root to those primary keys (for
/// by-id reads and for reading back written rows).
pub async fn read(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    node: &ReadNode,
    keys: Option<&[String]>,
) -> Result<Vec<Value>> {
    let (coll, rows) = read_rows(db, scope, node, keys, Shape::Values).await?;
    let finisher = Finisher::new(coll, node, &rows.names);
    Ok(rows
        .rows
        .into_iter()
        .map(|row| finisher.finish(row))
        .collect())
}

/// [`read`] written straight into a JSON array, for responses that only serialise the rows.
/// Related rows are written as JSON text as soon as they are read ([`Shape::Json`]).
///
/// Building a `serde_json::Map` per row cost a key `String` and a SipHash per cell, and
/// serialising it escaped every key again: together a sixth of a 25-flow REST list's
/// instructions. Here each row's keys are escaped once per request and the cells are
/// written in selection order, the order the map would have kept. Rows whose shape a map
/// would merge (function results nested under a shared key, repeated keys) go through
/// [`Finisher::finish`] as before.
pub async fn read_json(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    node: &ReadNode,
) -> Result<Vec<u8>> {
    let (coll, rows) = read_rows(db, scope, node, None, Shape::Json).await?;
    let finisher = Finisher::new(coll, node, &rows.names);
    let writing = finisher.keys_for(Shape::Json)?.unwrap_or(Writing::Finished);
    let mut out = Vec::with_capacity(2 + rows.rows.len() * 512);
    out.push(b'[');
    for (n, row) in rows.rows.into_iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        finisher.write_any(row, &writing, &mut out)?;
    }
    out.push(b']');
    Ok(out)
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<()> {
    serde_json::to_writer(out, value).map_err(|err| Error::Internal(err.to_string()))
}

/// A `(limit, offset)` window: no limit is `None`, no offset is 0.
pub type Window = (Option<u64>, u64);

/// Runs `stmt` with its window written into the SQL text as literal `LIMIT` and `OFFSET`.
///
/// sea-query binds them as parameters, and SQLite's planner reads a bound `LIMIT` and marks
/// the statement to expire whenever a parameter is bound again (`sqlite3VdbeSetVarmask`),
/// so every list request re-parsed and re-planned its statement: 4 to 7 % of a list's
/// server time. Two integers are safe to inline, and requests with the same window then
/// share one cached prepared statement. SQLite accepts an `OFFSET` only after a `LIMIT`, so
/// an offset without a limit (`limit: -1`) gets the largest one.
pub async fn query_window(
    db: &impl ConnectionTrait,
    stmt: &SelectStatement,
    (limit, offset): Window,
) -> Result<Vec<QueryResult>> {
    let mut built = db.get_database_backend().build(stmt);
    match limit {
        Some(limit) => built.sql.push_str(&format!(" LIMIT {limit}")),
        None if offset > 0 => built.sql.push_str(&format!(" LIMIT {}", i64::MAX)),
        None => {}
    }
    if offset > 0 {
        built.sql.push_str(&format!(" OFFSET {offset}"));
    }
    Ok(db.query_all_raw(built).await?)
}
