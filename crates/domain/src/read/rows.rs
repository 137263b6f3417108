//! One statement of a read: its rows fetched and decoded into cells.

use std::collections::HashSet;

use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Order, Query as Sql, SelectStatement, WindowStatement,
};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult};
use serde_json::{Map, Value};

use crate::catalog::{Collection, FieldKind};
use crate::error::{Error, Result};
use crate::filter::{self};
use crate::query::{ReadNode, Select};
use crate::sql::{self, Decode, col};
use crate::statement::Scope;
use crate::{json_text, wire};

use super::*;

/// Which of a statement's matching rows it returns.
#[derive(Clone, Copy)]
pub(super) enum Limits {
    /// Every one (the targets of an m2o, read by key).
    All,
    /// A window over the whole result.
    Whole(Window),
    /// A window over each parent's rows (an o2m read grouped by its foreign key).
    PerParent(Window),
}

/// Where one column of the statement goes in the row.
pub(super) enum Slot {
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

pub(super) struct Output {
    pub(super) slot: Slot,
    pub(super) decode: Decode,
}

/// One row as read, before it becomes the client's object. Columns are kept by position
/// rather than in a map under internal names: a list of 25 flows with their operations
/// would otherwise allocate a key per cell and hash it twice.
pub(super) struct Row {
    /// The field columns, in the order of [`Rows::names`].
    pub(super) columns: Vec<Cell>,
    /// Function results (`count(operations)`, `year(date_created)`) at their output paths.
    pub(super) functions: Map<String, Value>,
    /// The o2m relations read in the same statement, in selection order: key lists, or
    /// rows as JSON text.
    pub(super) folded: std::vec::IntoIter<Cell>,
    /// The relations attached so far, in the order of the selection's relations.
    pub(super) relations: Vec<Cell>,
}

/// Column `idx`, a JSON field's, in a read written as JSON: its stored text copied when
/// that is what serialising its value writes, else decoded as any column.
pub(super) fn json_cell(backend: DbBackend, row: &QueryResult, idx: usize) -> Result<Cell> {
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
pub(super) enum Shape {
    Values,
    /// Related rows are written as JSON text when they are read, instead of becoming a
    /// `serde_json::Map` each (a key `String` and a SipHash per cell) to be serialised and
    /// dropped with their parent: on a 25-flow GraphQL list with each flow's operations that
    /// was a sixth of the request.
    Json,
}

/// A column of a row, or a relation attached to it, in the read's [`Shape`].
#[derive(Clone)]
pub(super) enum Cell {
    Value(Value),
    /// JSON text, exactly what serialising the value would write: related rows as they were
    /// read, or a JSON column copied as stored ([`json_text::compact_into`]) where parsing
    /// it built a map only to serialise and drop it.
    Json(Vec<u8>),
}

impl Cell {
    pub(super) fn into_value(self) -> Value {
        match self {
            Cell::Value(value) => value,
            // Written or checked by this module: always JSON.
            Cell::Json(text) => serde_json::from_slice(&text).unwrap_or(Value::Null),
        }
    }

    pub(super) fn take(&mut self) -> Value {
        std::mem::replace(self, Cell::Value(Value::Null)).into_value()
    }

    pub(super) fn to_value(&self) -> Value {
        self.clone().into_value()
    }

    /// The cell as a key to join on ([`id_text`]).
    pub(super) fn id_text(&self) -> Option<String> {
        match self {
            Cell::Value(value) => id_text(value),
            Cell::Json(_) => id_text(&self.to_value()),
        }
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> Result<()> {
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
pub(super) struct Rows {
    pub(super) names: Vec<&'static str>,
    pub(super) rows: Vec<Row>,
    /// Per entry of the node's selection: whether the statement read that relation itself
    /// ([`folded_keys`], [`folded_rows`]), so that its rows are in [`Row::folded`].
    pub(super) folded: Vec<bool>,
}

/// Where the column of `name` is, when the statement read it.
pub(super) fn position(names: &[&str], name: &str) -> Option<usize> {
    names.iter().position(|n| *n == name)
}

/// Adds the selected columns to `stmt`, runs it and decodes each row. Columns needed only
/// to join a relation are read too, and `finish` leaves them out of the output.
/// `parent` is the foreign key an o2m read groups its rows by (always read).
#[allow(clippy::too_many_arguments)]
pub(super) async fn fetch(
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
