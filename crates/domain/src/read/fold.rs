//! Rows of a relation folded under their parents' keys.

use sea_orm::DbBackend;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, SubQueryStatement};
use serde_json::{Map, Value};

use crate::catalog::{Collection, Field, FieldKind, Relation};
use crate::error::Result;
use crate::query::{ListArgs, ReadNode, Select};
use crate::sql::{self, col};
use crate::statement::Scope;
use crate::wire;

use super::*;

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
pub(super) fn folded_keys(
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
pub(super) fn folded_rows(
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
pub(super) struct RowsFold<'a> {
    pub(super) target: &'a Collection,
    pub(super) foreign_field: &'static str,
    pub(super) fields: Vec<(&'a str, &'static str, FieldKind)>,
    pub(super) limit: Option<u64>,
}

/// When [`folded_rows`] reads `field` inside the parent's statement.
pub(super) fn rows_fold<'a>(
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
pub(super) fn fold_target<'a>(
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

pub(super) fn insert_path(obj: &mut Map<String, Value>, key: &[String], value: Value) {
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

pub(super) fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
