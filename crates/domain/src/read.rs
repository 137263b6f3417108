//! Runs a `ReadNode` tree: one SQL statement for the root rows, then one per relation level
//! (never one per row), with filter, search, sort and limits applied in SQL.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Order, Query as Sql, SelectStatement, SubQueryStatement,
    WindowStatement,
};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult};
use serde_json::{Map, Value};

use crate::catalog::{Collection, Field, FieldKind, Relation};
use crate::error::{Error, Result};
use crate::filter::{self, split_function};
use crate::query::{ListArgs, MAX_RELATIONAL_DEPTH, ReadNode, Select};
use crate::sql::{self, Decode, col};
use crate::statement::Scope;
use crate::{json_text, wire};

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

/// `SELECT ... FROM coll AS alias WHERE <filter> AND <search>`, without columns.
pub fn base_select(
    scope: &Scope<'_>,
    coll: &Collection,
    alias: &str,
    args: &ListArgs,
) -> Result<SelectStatement> {
    args.validate()?;
    let mut stmt = Sql::select();
    stmt.from_as(Alias::new(coll.name), Alias::new(alias));
    if let Some(filter) = &args.filter {
        stmt.and_where(filter::compile(scope, coll, alias, filter)?);
    }
    if let Some(guard) = &args.guard {
        let guard_scope = scope.for_guard();
        let full = guard_scope.collection(coll.name)?;
        stmt.and_where(filter::compile(&guard_scope, full, alias, guard)?);
    }
    if let Some(search) = args
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if search.contains('\0') {
            return Err(Error::query("\"search\" can't contain NUL characters"));
        }
        stmt.and_where(search_condition(scope.backend, coll, alias, search));
    }
    Ok(stmt)
}

/// Directus's `search`: a case-insensitive contains over text fields, equality on numeric
/// fields when the term is a number and on uuid fields when it is a uuid.
fn search_condition(backend: DbBackend, coll: &Collection, alias: &str, term: &str) -> Expr {
    let pattern = format!("%{}%", sql::like_escape(&term.to_lowercase()));
    let mut parts: Vec<Expr> = Vec::new();
    for field in coll.columns() {
        let column = col(alias, field.name);
        match field.kind {
            // SQLite refuses LIKE patterns over 50,000 bytes; `instr` has no such limit.
            FieldKind::String | FieldKind::Text => parts.push(match backend {
                DbBackend::Postgres => sql::custom(
                    backend,
                    "LOWER($1) LIKE $2 ESCAPE '\\'",
                    [column, Expr::val(pattern.clone())],
                ),
                _ => sql::custom(
                    backend,
                    "instr(LOWER($1), LOWER($2)) > 0",
                    [column, Expr::val(term)],
                ),
            }),
            FieldKind::Integer | FieldKind::BigInteger => {
                if let Ok(n) = term.parse::<i64>() {
                    parts.push(column.eq(n));
                }
            }
            FieldKind::Float => {
                if let Ok(n) = term.parse::<f64>() {
                    parts.push(column.eq(n));
                }
            }
            FieldKind::Uuid => {
                if let Ok(id) = uuid::Uuid::parse_str(term) {
                    parts.push(column.eq(Expr::val(sql::uuid_value(backend, id))));
                }
            }
            _ => {}
        }
    }
    parts
        .into_iter()
        .reduce(|a, b| a.or(b))
        .unwrap_or_else(|| Expr::cust("1 = 0"))
}

/// The SQL expression of a sort entry: `name`, `-name`, `operation.key`, `year(date_created)`.
pub fn sort_expr(scope: &Scope<'_>, coll: &Collection, alias: &str, path: &str) -> Result<Expr> {
    if let Some((function, field)) = split_function(path) {
        let field = scope.field(coll, field)?;
        return filter::function_expr(scope, coll, alias, function, field);
    }
    let mut segments = path.split('.');
    let head = segments.next().unwrap_or_default();
    let rest: Vec<&str> = segments.collect();
    if rest.len() > MAX_RELATIONAL_DEPTH {
        return Err(Error::query("Max relational depth exceeded"));
    }
    let field = scope.field(coll, head)?;
    if rest.is_empty() {
        if !field.has_column() {
            return Err(Error::query(format!(
                "Can't sort by alias field \"{head}\""
            )));
        }
        return Ok(col(alias, field.name));
    }
    let Some(target) = field.m2o_target() else {
        return Err(Error::unknown_field(&rest.join("."), coll.name, "root"));
    };
    // Sorting by a field of an m2o relation: a correlated scalar subquery.
    let target = scope.collection(target)?;
    let child = scope.next_alias();
    let inner = sort_expr(scope, target, &child, &rest.join("."))?;
    let mut sub = Sql::select();
    sub.expr(inner)
        .from_as(Alias::new(target.name), Alias::new(&child))
        .and_where(
            col(&child, target.primary_key).equals((Alias::new(alias), Alias::new(field.name))),
        );
    Ok(Expr::SubQuery(
        None,
        Box::new(SubQueryStatement::SelectStatement(sub)),
    ))
}

fn sort_terms(
    scope: &Scope<'_>,
    coll: &Collection,
    alias: &str,
    args: &ListArgs,
) -> Result<Vec<(Expr, Order)>> {
    let mut terms = Vec::new();
    for entry in &args.sort {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let (path, order) = match entry.strip_prefix('-') {
            Some(path) => (path, Order::Desc),
            None => (entry, Order::Asc),
        };
        terms.push((sort_expr(scope, coll, alias, path)?, order));
    }
    // The primary key breaks ties, so that pages never overlap or skip rows.
    terms.push((col(alias, coll.primary_key), Order::Asc));
    Ok(terms)
}

fn apply_order(
    scope: &Scope<'_>,
    coll: &Collection,
    alias: &str,
    args: &ListArgs,
    stmt: &mut SelectStatement,
) -> Result<()> {
    for (expr, order) in sort_terms(scope, coll, alias, args)? {
        stmt.order_by_expr(expr, order);
    }
    Ok(())
}

/// Which of a statement's matching rows it returns.
#[derive(Clone, Copy)]
enum Limits {
    /// Every one (the targets of an m2o, read by key).
    All,
    /// A window over the whole result.
    Whole(Window),
    /// A window over each parent's rows (an o2m read grouped by its foreign key).
    PerParent(Window),
}

/// Where one column of the statement goes in the row.
enum Slot {
    /// A field's column.
    Column,
    /// A function's result, at its output path.
    Function(Vec<String>),
    /// The keys of an o2m read inside the statement (see [`folded_keys`]).
    Folded,
    /// The rows of an o2m written as JSON inside the statement (see [`folded_rows`]): as JSON
    /// text from SQLite, as a typed array read with this layout from PostgreSQL.
    FoldedRows(Option<wire::RowLayout>),
}

struct Output {
    slot: Slot,
    decode: Decode,
}

/// One row as read, before it becomes the client's object. Columns are kept by position
/// rather than in a map under internal names: a list of 25 flows with their operations
/// would otherwise allocate a key per cell and hash it twice.
struct Row {
    /// The field columns, in the order of [`Rows::names`].
    columns: Vec<Cell>,
    /// Function results (`count(operations)`, `year(date_created)`) at their output paths.
    functions: Map<String, Value>,
    /// The o2m relations read in the same statement, in selection order: key lists, or
    /// rows as JSON text.
    folded: std::vec::IntoIter<Cell>,
    /// The relations attached so far, in the order of the selection's relations.
    relations: Vec<Cell>,
}

/// Column `idx`, a JSON field's, in a read written as JSON: its stored text copied when
/// that is what serialising its value writes, else decoded as any column.
fn json_cell(backend: DbBackend, row: &QueryResult, idx: usize) -> Result<Cell> {
    match wire::json_text(row, idx) {
        wire::JsonText::Null => return Ok(Cell::Value(Value::Null)),
        wire::JsonText::Text(text) => {
            let mut out = Vec::with_capacity(text.len());
            if json_text::compact_into(text, &mut out) {
                return Ok(Cell::Json(out));
            }
        }
        wire::JsonText::Other => {}
    }
    Ok(Cell::Value(sql::decode(
        backend,
        row,
        idx,
        Decode::Field(FieldKind::Json),
    )?))
}

/// What the rows of a read become: values for callers that work on them, JSON text for
/// responses that only serialise them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Values,
    /// Related rows are written as JSON text when they are read, instead of becoming a
    /// `serde_json::Map` each (a key `String` and a SipHash per cell) to be serialised and
    /// dropped with their parent: on a 25-flow GraphQL list with each flow's operations that
    /// was a sixth of the request.
    Json,
}

/// A column of a row, or a relation attached to it, in the read's [`Shape`].
#[derive(Clone)]
enum Cell {
    Value(Value),
    /// JSON text, exactly what serialising the value would write: related rows as they were
    /// read, or a JSON column copied as stored ([`json_text::compact_into`]) where parsing
    /// it built a map only to serialise and drop it.
    Json(Vec<u8>),
}

impl Cell {
    fn into_value(self) -> Value {
        match self {
            Cell::Value(value) => value,
            // Written or checked by this module: always JSON.
            Cell::Json(text) => serde_json::from_slice(&text).unwrap_or(Value::Null),
        }
    }

    fn take(&mut self) -> Value {
        std::mem::replace(self, Cell::Value(Value::Null)).into_value()
    }

    fn to_value(&self) -> Value {
        self.clone().into_value()
    }

    /// The cell as a key to join on ([`id_text`]).
    fn id_text(&self) -> Option<String> {
        match self {
            Cell::Value(value) => id_text(value),
            Cell::Json(_) => id_text(&self.to_value()),
        }
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Cell::Value(value) => write_value(out, value),
            Cell::Json(text) => {
                out.extend_from_slice(text);
                Ok(())
            }
        }
    }
}

/// The rows of one statement and the fields their columns hold.
struct Rows {
    names: Vec<&'static str>,
    rows: Vec<Row>,
    /// Per entry of the node's selection: whether the statement read that relation itself
    /// ([`folded_keys`], [`folded_rows`]), so that its rows are in [`Row::folded`].
    folded: Vec<bool>,
}

/// Where the column of `name` is, when the statement read it.
fn position(names: &[&str], name: &str) -> Option<usize> {
    names.iter().position(|n| *n == name)
}

/// Adds the selected columns to `stmt`, runs it and decodes each row. Columns needed only
/// to join a relation are read too, and `finish` leaves them out of the output.
/// `parent` is the foreign key an o2m read groups its rows by (always read).
#[allow(clippy::too_many_arguments)]
async fn fetch(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    coll: &Collection,
    alias: &str,
    node: &ReadNode,
    mut stmt: SelectStatement,
    parent: Option<&str>,
    limits: Limits,
    shape: Shape,
) -> Result<Rows> {
    let backend = scope.backend;
    let mut outputs: Vec<Output> = Vec::new();
    let mut names: Vec<&'static str> = Vec::new();
    let mut push = |stmt: &mut SelectStatement, expr: Expr, slot: Slot, decode: Decode| {
        let name = format!("c{}", outputs.len());
        stmt.expr_as(expr, Alias::new(name));
        outputs.push(Output { slot, decode });
    };
    // The key and every selected m2o column are always read: relations are joined on them.
    let mut wanted: Vec<&str> = vec![coll.primary_key];
    if let Some(fk) = parent {
        wanted.push(fk);
    }
    for select in &node.select {
        match select {
            Select::Field { field, .. } => wanted.push(field),
            Select::Relation { field, .. } => {
                let f = scope.field(coll, field)?;
                if f.has_column() {
                    wanted.push(f.name);
                }
            }
            Select::Function { .. } => {}
        }
    }
    let mut seen = HashSet::new();
    for name in wanted {
        if !seen.insert(name) {
            continue;
        }
        let field = scope.field(coll, name)?;
        if !field.has_column() {
            continue;
        }
        names.push(field.name);
        push(
            &mut stmt,
            col(alias, field.name),
            Slot::Column,
            Decode::Field(field.kind),
        );
    }
    let mut folded_relations = vec![false; node.select.len()];
    for (select, folded) in node.select.iter().zip(folded_relations.iter_mut()) {
        let Select::Relation { field, node, .. } = select else {
            continue;
        };
        let field = scope.field(coll, field)?;
        *folded = true;
        if let Some(expr) = folded_keys(scope, coll, alias, field, node)? {
            push(&mut stmt, expr, Slot::Folded, Decode::KeyArray);
        } else if shape == Shape::Json
            && let Some((expr, layout)) = folded_rows(scope, coll, alias, field, node)?
        {
            push(
                &mut stmt,
                expr,
                Slot::FoldedRows(layout),
                Decode::Field(FieldKind::Text),
            );
        } else {
            *folded = false;
        }
    }
    for select in &node.select {
        if let Select::Function {
            function,
            field,
            path,
            key,
        } = select
        {
            let f = scope.field(coll, field)?;
            let (expr, decode) = match (function.as_str(), path) {
                ("json", Some(path)) if f.kind == FieldKind::Json => (
                    sql::json_path_value(backend, col(alias, f.name), path)?,
                    Decode::JsonText,
                ),
                ("json", _) => {
                    return Err(Error::query(format!(
                        "Function \"json\" needs a JSON field and a path, got \"{field}\""
                    )));
                }
                _ => (
                    filter::function_expr(scope, coll, alias, function, f)?,
                    Decode::Integer,
                ),
            };
            push(&mut stmt, expr, Slot::Function(key.clone()), decode);
        }
    }
    let (stmt, whole) = match (parent, limits) {
        (Some(fk), Limits::PerParent((limit, offset))) => {
            let mut window = WindowStatement::partition_by((Alias::new(alias), Alias::new(fk)));
            for (expr, order) in sort_terms(scope, coll, alias, &node.args)? {
                window.order_by_expr(expr, order);
            }
            stmt.expr_window_as(Expr::cust("ROW_NUMBER()"), window, Alias::new(ROW_NUMBER));
            let mut outer = Sql::select();
            let w = scope.next_alias();
            for i in 0..outputs.len() {
                outer.column((Alias::new(&w), Alias::new(format!("c{i}"))));
            }
            outer.from_subquery(stmt, Alias::new(&w));
            let rn = col(&w, ROW_NUMBER);
            if offset > 0 {
                outer.and_where(rn.clone().gt(offset as i64));
            }
            if let Some(limit) = limit {
                outer.and_where(rn.clone().lte((offset + limit) as i64));
            }
            outer.order_by_expr(rn, Order::Asc);
            (outer, (None, 0))
        }
        (_, Limits::Whole(window)) => (stmt, window),
        _ => (stmt, (None, 0)),
    };
    let rows = query_window(db, &stmt, whole).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut columns = Vec::with_capacity(names.len());
        let mut functions = Map::new();
        let mut folded = Vec::new();
        for (idx, output) in outputs.iter().enumerate() {
            if let (Slot::Column, Shape::Json, Decode::Field(FieldKind::Json)) =
                (&output.slot, shape, output.decode)
            {
                columns.push(json_cell(backend, row, idx)?);
                continue;
            }
            if let Slot::FoldedRows(Some(layout)) = &output.slot {
                folded.push(Cell::Json(wire::row_array(row, idx, layout)?.into_bytes()));
                continue;
            }
            let value = sql::decode(backend, row, idx, output.decode)?;
            match &output.slot {
                Slot::Column => columns.push(Cell::Value(value)),
                Slot::Function(key) => insert_path(&mut functions, key, value),
                Slot::Folded | Slot::FoldedRows(_) => {
                    let text = match value {
                        Value::String(text) => text,
                        _ => "[]".to_string(),
                    };
                    folded.push(match shape {
                        Shape::Json => Cell::Json(text.into_bytes()),
                        Shape::Values => Cell::Value(
                            serde_json::from_str(&text).unwrap_or(Value::Array(Vec::new())),
                        ),
                    });
                }
            }
        }
        out.push(Row {
            columns,
            functions,
            folded: folded.into_iter(),
            relations: Vec::new(),
        });
    }
    Ok(Rows {
        names,
        rows: out,
        folded: folded_relations,
    })
}

/// The keys of an o2m relation as one array column of the parent's statement, when
/// the relation is read as bare keys with no arguments of its own: what `*` shows for an
/// o2m alias (`"operations": ["<id>", ...]`), so on every default REST list.
///
/// A correlated subquery on the indexed foreign key replaces the second statement the
/// relation would otherwise cost, which was 14 % of a 25-flow list's instructions on
/// SQLite (statement built, run and decoded row by row). The array comes as JSON text from
/// SQLite and as a typed array from PostgreSQL ([`Decode::KeyArray`]); a response written as
/// JSON ([`Shape::Json`]) copies the text as it is. The keys come in primary-key order, as
/// the separate statement sorts them. Keys of other kinds than text, uuid and integers, and
/// any filter, sort, search, window or permission rule on the relation, keep the separate
/// statement.
fn folded_keys(
    scope: &Scope<'_>,
    coll: &Collection,
    alias: &str,
    field: &Field,
    child: &ReadNode,
) -> Result<Option<Expr>> {
    let Some((target, foreign_field)) = fold_target(scope, coll, field, child)? else {
        return Ok(None);
    };
    let inner = scope.next_alias();
    let key = col(&inner, target.primary_key);
    let mut sub = base_select(scope, target, &inner, &child.args)?;
    sub.and_where(
        col(&inner, foreign_field).equals((Alias::new(alias), Alias::new(coll.primary_key))),
    );
    let nest = |sub| Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(sub)));
    Ok(Some(match scope.backend {
        // A typed array ([`wire::key_array`] writes it as JSON): `to_json(key)::text` per
        // key in a `string_agg` was a quarter of PostgreSQL's time on a 25-flow list, and
        // an array built from an ordered subquery keeps that order.
        DbBackend::Postgres => {
            // Text and integer keys are cast to one element type each, so that the array
            // reads the same whatever the column was declared as (`varchar`, `smallint`...).
            let element = match target.pk_field().kind {
                FieldKind::Integer | FieldKind::BigInteger => {
                    sql::custom(scope.backend, "CAST($1 AS bigint)", [key.clone()])
                }
                FieldKind::String => sql::custom(scope.backend, "CAST($1 AS text)", [key.clone()]),
                _ => key.clone(),
            };
            sub.expr(element).order_by_expr(key, Order::Asc);
            sql::custom(scope.backend, "ARRAY($1)", [nest(sub)])
        }
        // Written as serde_json writes the array, so a response can take the text as it is.
        _ => {
            sub.expr(sql::custom(
                scope.backend,
                "json_group_array($1 ORDER BY $1)",
                [key],
            ));
            nest(sub)
        }
    }))
}

/// The rows of an o2m relation as one column of the parent's statement, when the response
/// only serialises them ([`Shape::Json`]): `{ flows { operations { key type } } }`. SQLite
/// writes each row as JSON text exactly as [`Finisher::write`] would; PostgreSQL answers an
/// array of text arrays that [`wire::row_array`] writes so.
///
/// A correlated subquery on the indexed foreign key replaces the relation's own statement:
/// one round trip instead of two, and no per-cell decoding of the related rows, which were
/// most of a GraphQL list of flows with their operations. It applies when the relation
/// takes only a limit (its rows in primary-key order, as the separate statement sorts
/// them), selects only columns whose JSON is their text, quoted or bare (text, uuids,
/// integers: not JSON, dates, floats, decimals or booleans, which flowline formats itself),
/// under plain identifiers, and no permission rule narrows it.
fn folded_rows(
    scope: &Scope<'_>,
    coll: &Collection,
    alias: &str,
    field: &Field,
    child: &ReadNode,
) -> Result<Option<(Expr, Option<wire::RowLayout>)>> {
    let Some(fold) = rows_fold(scope, coll, field, child)? else {
        return Ok(None);
    };
    // What `base_select` checks for the separate statement.
    child.args.validate()?;
    let quote = |name: &str| format!("\"{name}\"");
    let inner = quote(&scope.next_alias());
    let cell = |column: &str| format!("{inner}.{}", quote(column));
    let key = cell(fold.target.primary_key);
    let limit = fold
        .limit
        .map(|n| format!(" LIMIT {n}"))
        .unwrap_or_default();
    let from = format!(
        "FROM {table} AS {inner} WHERE {fk} = {parent}.{parent_key} ORDER BY {key}{limit}",
        table = quote(fold.target.name),
        fk = cell(fold.foreign_field),
        parent = quote(alias),
        parent_key = quote(coll.primary_key),
    );
    if scope.backend == DbBackend::Postgres {
        // One text array per row, in an array of rows, written as JSON by
        // [`wire::row_array`]: building each object as text with `to_json` per cell cost
        // PostgreSQL a third more time per 25-flow list.
        let cells: Vec<String> = fold
            .fields
            .iter()
            .map(|(_, column, _)| format!("CAST({} AS text)", cell(column)))
            .collect();
        let layout = wire::RowLayout::new(fold.fields.iter().map(|&(key, _, kind)| {
            (
                key,
                matches!(kind, FieldKind::Integer | FieldKind::BigInteger),
            )
        }));
        let sql = format!("ARRAY(SELECT ARRAY[{}] {from})", cells.join(", "));
        return Ok(Some((Expr::cust(sql), Some(layout))));
    }
    let mut object = String::new();
    for (n, (key, column, _)) in fold.fields.iter().enumerate() {
        let sep = if n == 0 { "" } else { ", " };
        object.push_str(&format!("{sep}'{key}', {}", cell(column)));
    }
    let rows = quote(&scope.next_alias());
    let sql = format!(
        "(SELECT '[' || COALESCE(group_concat({rows}.\"j\", ',' ORDER BY {rows}.\"o\"), '') || ']' \
         FROM (SELECT json_object({object}) AS \"j\", {key} AS \"o\" {from}) AS {rows})",
    );
    Ok(Some((Expr::cust(sql), None)))
}

/// What [`folded_rows`] writes: the related collection, its foreign key, the rows' keys,
/// columns and column kinds in selection order, and how many rows per parent.
struct RowsFold<'a> {
    target: &'a Collection,
    foreign_field: &'static str,
    fields: Vec<(&'a str, &'static str, FieldKind)>,
    limit: Option<u64>,
}

/// When [`folded_rows`] reads `field` inside the parent's statement.
fn rows_fold<'a>(
    scope: &Scope<'a>,
    coll: &Collection,
    field: &Field,
    child: &'a ReadNode,
) -> Result<Option<RowsFold<'a>>> {
    let Some(Relation::OneToMany { foreign_field, .. }) = field.relation else {
        return Ok(None);
    };
    let args = &child.args;
    let windowed_only = args.filter.is_none()
        && args.sort.is_empty()
        && matches!(args.offset, None | Some(0))
        && args.page.is_none()
        && args.search.is_none()
        && args.guard.is_none();
    if child.keys_only || child.select.is_empty() || !windowed_only {
        return Ok(None);
    }
    let plain_name = |name: &str| {
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    let target = scope.collection(&child.collection)?;
    let keyed = |kind: FieldKind| {
        matches!(
            kind,
            FieldKind::Uuid | FieldKind::String | FieldKind::Integer | FieldKind::BigInteger
        )
    };
    if !keyed(target.pk_field().kind)
        || !keyed(coll.pk_field().kind)
        || ![
            target.name,
            coll.name,
            target.primary_key,
            coll.primary_key,
            foreign_field,
        ]
        .into_iter()
        .all(plain_name)
    {
        return Ok(None);
    }
    let mut fields = Vec::with_capacity(child.select.len());
    for select in &child.select {
        let Select::Field { field, key } = select else {
            return Ok(None);
        };
        let Some(found) = target.field(field) else {
            return Ok(None);
        };
        let written_as_is = matches!(
            found.kind,
            FieldKind::Uuid
                | FieldKind::String
                | FieldKind::Text
                | FieldKind::Integer
                | FieldKind::BigInteger
        );
        if !found.has_column()
            || !written_as_is
            || !plain_name(key)
            || !plain_name(found.name)
            || fields.iter().any(|(seen, _, _)| seen == key)
        {
            return Ok(None);
        }
        fields.push((key.as_str(), found.name, found.kind));
    }
    Ok(Some(RowsFold {
        target,
        foreign_field,
        fields,
        limit: args.window().0,
    }))
}

/// The related collection and its foreign key when [`folded_keys`] reads `field` inside the
/// parent's statement.
fn fold_target<'a>(
    scope: &Scope<'a>,
    coll: &Collection,
    field: &Field,
    child: &ReadNode,
) -> Result<Option<(&'a Collection, &'static str)>> {
    let Some(Relation::OneToMany { foreign_field, .. }) = field.relation else {
        return Ok(None);
    };
    let bare = ListArgs {
        limit: Some(-1),
        ..ListArgs::default()
    };
    if !child.keys_only || child.args != bare {
        return Ok(None);
    }
    let target = scope.collection(&child.collection)?;
    let plain = |kind: FieldKind| {
        matches!(
            kind,
            FieldKind::Uuid | FieldKind::String | FieldKind::Integer | FieldKind::BigInteger
        )
    };
    if !plain(target.pk_field().kind) || !plain(coll.pk_field().kind) {
        return Ok(None);
    }
    Ok(Some((target, foreign_field)))
}

fn insert_path(obj: &mut Map<String, Value>, key: &[String], value: Value) {
    match key {
        [] => {}
        [last] => {
            obj.insert(last.clone(), value);
        }
        [head, rest @ ..] => {
            let entry = obj
                .entry(head.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn key_values(backend: DbBackend, kind: FieldKind, ids: &[String]) -> Vec<Expr> {
    ids.iter()
        .filter_map(|id| match kind {
            FieldKind::Uuid => uuid::Uuid::parse_str(id)
                .ok()
                .map(|u| Expr::val(sql::uuid_value(backend, u))),
            FieldKind::Integer | FieldKind::BigInteger => id.parse::<i64>().ok().map(Expr::val),
            _ => Some(Expr::val(id.clone())),
        })
        .collect()
}

/// `alias.column IN (ids)`, typed for the column.
pub fn in_list(
    backend: DbBackend,
    alias: &str,
    column: &str,
    kind: FieldKind,
    ids: &[String],
) -> Expr {
    let values = key_values(backend, kind, ids);
    if values.is_empty() {
        return Expr::cust("1 = 0");
    }
    col(alias, column).is_in(values)
}

/// The rows of `target` whose `foreign_field` is one of `parents`, at most the node's
/// limit per parent after skipping its offset, each parent's rows in the node's sort order.
///
/// A per-parent limit needs a `ROW_NUMBER() OVER (PARTITION BY ...)` window, which makes the
/// database number and sort the rows twice. Usually parents have fewer children than the
/// limit (a flow's few operations against the default 100), so without an offset the plain
/// sorted statement is tried first, capped at `limit` rows per parent in all: when it
/// returns no more than that, it holds every matching row, and keeping each parent's first
/// `limit` rows gives the window's answer; when it fills up, the windowed statement
/// answers instead, and the extra work was at most one answer of the window's size.
async fn fetch_children<C: ConnectionTrait>(
    db: &C,
    scope: &Scope<'_>,
    target: &Collection,
    child: &ReadNode,
    (foreign_field, fk_kind): (&str, FieldKind),
    parents: &[String],
    shape: Shape,
) -> Result<Rows> {
    let select = |alias: &str| -> Result<SelectStatement> {
        let mut stmt = base_select(scope, target, alias, &child.args)?;
        stmt.and_where(in_list(
            scope.backend,
            alias,
            foreign_field,
            fk_kind,
            parents,
        ));
        Ok(stmt)
    };
    let (limit, offset) = child.args.window();
    if offset == 0 {
        let alias = scope.next_alias();
        let mut stmt = select(&alias)?;
        apply_order(scope, target, &alias, &child.args, &mut stmt)?;
        let cap = limit.map(|limit| limit.saturating_mul(parents.len() as u64));
        let whole = (cap.map(|cap| cap.saturating_add(1)), 0);
        let mut rows = fetch(
            db,
            scope,
            target,
            &alias,
            child,
            stmt,
            Some(foreign_field),
            Limits::Whole(whole),
            shape,
        )
        .await?;
        match (limit, cap) {
            (None, _) | (_, None) => return Ok(rows),
            (Some(limit), Some(cap)) if rows.rows.len() as u64 <= cap => {
                if rows.rows.len() as u64 > limit {
                    let fk = position(&rows.names, foreign_field);
                    let mut seen: HashMap<String, u64> = HashMap::new();
                    rows.rows.retain(|row| {
                        let Some(parent) = fk.and_then(|fk| row.columns[fk].id_text()) else {
                            return true;
                        };
                        let n = seen.entry(parent).or_default();
                        *n += 1;
                        *n <= limit
                    });
                }
                return Ok(rows);
            }
            _ => {}
        }
    }
    let alias = scope.next_alias();
    let stmt = select(&alias)?;
    fetch(
        db,
        scope,
        target,
        &alias,
        child,
        stmt,
        Some(foreign_field),
        Limits::PerParent((limit, offset)),
        shape,
    )
    .await
}

/// Loads every relation of `node` for all `rows` at once and nests the results.
fn attach_relations<'a, C: ConnectionTrait + Sync>(
    db: &'a C,
    scope: &'a Scope<'a>,
    coll: &'a Collection,
    node: &'a ReadNode,
    rows: &'a mut Rows,
    depth: usize,
    shape: Shape,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
    Box::pin(async move {
        if rows.rows.is_empty() {
            return Ok(());
        }
        for (n, select) in node.select.iter().enumerate() {
            let Select::Relation {
                field, node: child, ..
            } = select
            else {
                continue;
            };
            if depth > MAX_RELATIONAL_DEPTH {
                return Err(Error::query("Max relational depth exceeded"));
            }
            let f = scope.field(coll, field)?;
            if rows.folded.get(n).copied().unwrap_or(false) {
                for row in rows.rows.iter_mut() {
                    let folded = row
                        .folded
                        .next()
                        .unwrap_or(Cell::Value(Value::Array(Vec::new())));
                    row.relations.push(folded);
                }
                continue;
            }
            let target = scope.collection(&child.collection)?;
            match &f.relation {
                Some(Relation::ManyToOne { .. }) => {
                    let at = position(&rows.names, f.name);
                    let ids: Vec<String> = rows
                        .rows
                        .iter()
                        .filter_map(|r| at.and_then(|at| r.columns[at].id_text()))
                        .collect::<HashSet<_>>()
                        .into_iter()
                        .collect();
                    let mut by_id: HashMap<String, Cell> = HashMap::new();
                    for chunk in ids.chunks(IN_CHUNK) {
                        let alias = scope.next_alias();
                        let mut stmt = base_select(scope, target, &alias, &child.args)?;
                        stmt.and_where(in_list(
                            scope.backend,
                            &alias,
                            target.primary_key,
                            target.pk_field().kind,
                            chunk,
                        ));
                        let mut found = fetch(
                            db,
                            scope,
                            target,
                            &alias,
                            child,
                            stmt,
                            None,
                            Limits::All,
                            shape,
                        )
                        .await?;
                        attach_relations(db, scope, target, child, &mut found, depth + 1, shape)
                            .await?;
                        let finisher = Finisher::new(target, child, &found.names);
                        let keys = finisher.keys_for(shape)?;
                        let pk = position(&found.names, target.primary_key);
                        for row in found.rows {
                            if let Some(id) = pk.and_then(|pk| row.columns[pk].id_text()) {
                                let attached = match &keys {
                                    Some(writing) => {
                                        let mut text = Vec::new();
                                        finisher.write_any(row, writing, &mut text)?;
                                        Cell::Json(text)
                                    }
                                    None => Cell::Value(finisher.finish(row)),
                                };
                                by_id.insert(id, attached);
                            }
                        }
                    }
                    for row in rows.rows.iter_mut() {
                        let value = at
                            .and_then(|at| row.columns[at].id_text())
                            .and_then(|id| by_id.get(&id).cloned())
                            .unwrap_or(Cell::Value(Value::Null));
                        row.relations.push(value);
                    }
                }
                Some(Relation::OneToMany { foreign_field, .. }) => {
                    let at = position(&rows.names, coll.primary_key);
                    let ids: Vec<String> = rows
                        .rows
                        .iter()
                        .filter_map(|r| at.and_then(|at| r.columns[at].id_text()))
                        .collect();
                    let fk_field = scope.field(target, foreign_field)?;
                    let mut by_parent: HashMap<String, Vec<Value>> = HashMap::new();
                    // [`Shape::Json`]: each parent's related rows as `{..},{..}`.
                    let mut written: HashMap<String, Vec<u8>> = HashMap::new();
                    for chunk in ids.chunks(IN_CHUNK) {
                        let mut found = fetch_children(
                            db,
                            scope,
                            target,
                            child,
                            (foreign_field, fk_field.kind),
                            chunk,
                            shape,
                        )
                        .await?;
                        attach_relations(db, scope, target, child, &mut found, depth + 1, shape)
                            .await?;
                        let finisher = Finisher::new(target, child, &found.names);
                        let keys = finisher.keys_for(shape)?;
                        let fk = position(&found.names, foreign_field);
                        for row in found.rows {
                            let Some(parent) = fk.and_then(|fk| row.columns[fk].id_text()) else {
                                continue;
                            };
                            match &keys {
                                Some(writing) => {
                                    let text = written.entry(parent).or_default();
                                    if !text.is_empty() {
                                        text.push(b',');
                                    }
                                    finisher.write_any(row, writing, text)?;
                                }
                                None => by_parent
                                    .entry(parent)
                                    .or_default()
                                    .push(finisher.finish(row)),
                            }
                        }
                    }
                    for row in rows.rows.iter_mut() {
                        let id = at.and_then(|at| row.columns[at].id_text());
                        let attached = if shape == Shape::Json {
                            let items = id.and_then(|id| written.remove(&id)).unwrap_or_default();
                            let mut text = Vec::with_capacity(items.len() + 2);
                            text.push(b'[');
                            text.extend_from_slice(&items);
                            text.push(b']');
                            Cell::Json(text)
                        } else {
                            let items = id.and_then(|id| by_parent.remove(&id)).unwrap_or_default();
                            Cell::Value(Value::Array(items))
                        };
                        row.relations.push(attached);
                    }
                }
                None => return Err(Error::unknown_field(field, coll.name, "root")),
            }
        }
        Ok(())
    })
}

/// How a node's rows are written as JSON.
enum Writing {
    /// Cell by cell, after these keys ([`Finisher::written_keys`]).
    Keys(Vec<Vec<u8>>),
    /// Through the value [`Finisher::finish`] builds.
    Finished,
}

/// How the rows of one node become the client's objects, worked out once per statement.
struct Finisher<'n> {
    node: &'n ReadNode,
    /// `keys_only`: where the primary key is.
    key: Option<usize>,
    /// Per selection entry: for a field, its column and whether a later entry reads the
    /// same column (then it is copied, else moved).
    fields: Vec<Option<(usize, bool)>>,
}

impl<'n> Finisher<'n> {
    fn new(coll: &Collection, node: &'n ReadNode, names: &[&str]) -> Self {
        let mut fields: Vec<Option<(usize, bool)>> = node
            .select
            .iter()
            .map(|select| match select {
                Select::Field { field, .. } => position(names, field).map(|at| (at, false)),
                _ => None,
            })
            .collect();
        let mut used = HashSet::new();
        for entry in fields.iter_mut().rev().flatten() {
            entry.1 = !used.insert(entry.0);
        }
        Finisher {
            node,
            key: position(names, coll.primary_key),
            fields,
        }
    }

    /// Each selection entry's key as JSON text followed by `:`, when [`Finisher::write`] can
    /// write the rows: a plain object whose keys are all distinct and none a function's.
    fn written_keys(&self) -> Result<Option<Vec<Vec<u8>>>> {
        if self.node.keys_only {
            return Ok(None);
        }
        let mut seen = HashSet::new();
        let mut keys = Vec::with_capacity(self.node.select.len());
        for select in &self.node.select {
            let key = match select {
                Select::Field { key, .. } | Select::Relation { key, .. } => key,
                Select::Function { .. } => return Ok(None),
            };
            if !seen.insert(key.as_str()) {
                return Ok(None);
            }
            let mut text = Vec::with_capacity(key.len() + 3);
            write_value(&mut text, &Value::String(key.clone()))?;
            text.push(b':');
            keys.push(text);
        }
        Ok(Some(keys))
    }

    /// How rows of this node are written in `shape`: `None` for [`Shape::Values`].
    fn keys_for(&self, shape: Shape) -> Result<Option<Writing>> {
        if shape == Shape::Values {
            return Ok(None);
        }
        Ok(Some(match self.written_keys()? {
            Some(keys) => Writing::Keys(keys),
            None => Writing::Finished,
        }))
    }

    /// Writes a row as JSON, straight from its cells when it can.
    fn write_any(&self, row: Row, writing: &Writing, out: &mut Vec<u8>) -> Result<()> {
        match writing {
            Writing::Keys(keys) => self.write(row, keys, out),
            Writing::Finished => write_value(out, &self.finish(row)),
        }
    }

    /// Writes the object [`Finisher::finish`] would build, as JSON, given
    /// [`Finisher::written_keys`].
    fn write(&self, row: Row, keys: &[Vec<u8>], out: &mut Vec<u8>) -> Result<()> {
        out.push(b'{');
        let mut relations = row.relations.into_iter();
        for (n, ((select, field), key)) in self
            .node
            .select
            .iter()
            .zip(&self.fields)
            .zip(keys)
            .enumerate()
        {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            match select {
                Select::Field { .. } => match *field {
                    Some((at, _)) => row.columns[at].write(out)?,
                    None => out.extend_from_slice(b"null"),
                },
                Select::Relation { .. } => match relations.next() {
                    Some(attached) => attached.write(out)?,
                    None => out.extend_from_slice(b"null"),
                },
                // `written_keys` leaves nodes with functions to `finish`.
                Select::Function { .. } => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// Builds the client-visible object: the selection in its order, internal columns
    /// dropped.
    fn finish(&self, mut row: Row) -> Value {
        if self.node.keys_only {
            return self
                .key
                .map(|at| row.columns[at].take())
                .unwrap_or(Value::Null);
        }
        // Sized up front: growing the map rehashes every key already in it.
        let mut out = Map::with_capacity(self.node.select.len());
        let mut relations = row.relations.into_iter();
        for (select, field) in self.node.select.iter().zip(&self.fields) {
            match select {
                Select::Field { key, .. } => {
                    let value = match *field {
                        Some((at, true)) => row.columns[at].to_value(),
                        Some((at, false)) => row.columns[at].take(),
                        None => Value::Null,
                    };
                    out.insert(key.clone(), value);
                }
                Select::Relation { key, .. } => {
                    let value = relations.next().map_or(Value::Null, Cell::into_value);
                    out.insert(key.clone(), value);
                }
                Select::Function { key, .. } => {
                    if let Some(head) = key.first()
                        && let Some(value) = row.functions.get(head)
                    {
                        match out.get_mut(head) {
                            Some(Value::Object(existing)) => {
                                if let Value::Object(more) = value {
                                    existing.extend(more.clone());
                                }
                            }
                            _ => {
                                out.insert(head.clone(), value.clone());
                            }
                        }
                    }
                }
            }
        }
        Value::Object(out)
    }
}
