//! Relations attached to the rows read: one statement per relation level, never one per row.

use std::collections::{HashMap, HashSet};

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::SelectStatement;
use serde_json::Value;

use crate::catalog::{Collection, FieldKind, Relation};
use crate::error::{Error, Result};
use crate::query::{MAX_RELATIONAL_DEPTH, ReadNode, Select};
use crate::statement::Scope;

use super::*;

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
pub(super) async fn fetch_children<C: ConnectionTrait>(
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
pub(super) fn attach_relations<'a, C: ConnectionTrait + Sync>(
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
