//! Invariants of a flow's operation graph that Directus leaves to chance: operation keys are
//! unique within a flow, `resolve`, `reject` and a flow's `operation` stay inside the flow,
//! and no chain of resolve/reject comes back on itself.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Alias, Order, Query as Sql};
use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::{Map, Value};

use crate::catalog::FieldKind;
use crate::error::{Error, FieldViolation, Result};
use crate::items::key_text;
use crate::read::in_list;
use crate::sql::{self, Decode, col};

struct Operation {
    flow: String,
    key: String,
    resolve: Option<String>,
    reject: Option<String>,
}

fn violation(field: &str, kind: &'static str, message: String) -> Error {
    Error::FailedValidation(vec![FieldViolation {
        field: field.to_string(),
        kind,
        message: format!("Validation failed for field \"{field}\". {message}"),
        extra: Map::new(),
    }])
}

async fn text_rows(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    stmt: &sea_orm::sea_query::SelectStatement,
    kinds: &[FieldKind],
) -> Result<Vec<Vec<Option<String>>>> {
    let rows = db.query_all(stmt).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut values = Vec::with_capacity(kinds.len());
        for (idx, kind) in kinds.iter().enumerate() {
            values.push(key_text(&sql::decode(
                backend,
                row,
                idx,
                Decode::Field(*kind),
            )?));
        }
        out.push(values);
    }
    Ok(out)
}

/// Refuses a second operation with the same key in one flow (the Directus docs promise
/// this; Directus itself does not check it). `obj` is the payload about to be written.
pub async fn check_key_unique(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    obj: &Map<String, Value>,
    id: &str,
) -> Result<()> {
    let (mut flow, mut key) = (
        obj.get("flow").and_then(key_text),
        obj.get("key").and_then(key_text),
    );
    if flow.is_none() && key.is_none() {
        return Ok(());
    }
    if flow.is_none() || key.is_none() {
        let mut stmt = Sql::select();
        stmt.expr(col("o", "flow"))
            .expr(col("o", "key"))
            .from_as(Alias::new("directus_operations"), Alias::new("o"))
            .and_where(in_list(
                backend,
                "o",
                "id",
                FieldKind::Uuid,
                &[id.to_string()],
            ));
        if let Some(row) = text_rows(db, backend, &stmt, &[FieldKind::Uuid, FieldKind::String])
            .await?
            .into_iter()
            .next()
        {
            flow = flow.or(row[0].clone());
            key = key.or(row[1].clone());
        }
    }
    let (Some(flow), Some(key)) = (flow, key) else {
        return Ok(());
    };
    let mut stmt = Sql::select();
    stmt.expr(col("o", "id"))
        .from_as(Alias::new("directus_operations"), Alias::new("o"))
        .and_where(in_list(
            backend,
            "o",
            "flow",
            FieldKind::Uuid,
            std::slice::from_ref(&flow),
        ))
        .and_where(in_list(
            backend,
            "o",
            "key",
            FieldKind::String,
            std::slice::from_ref(&key),
        ))
        .and_where(in_list(backend, "o", "id", FieldKind::Uuid, &[id.to_string()]).not());
    use sea_orm::sea_query::ExprTrait;
    if !text_rows(db, backend, &stmt, &[FieldKind::Uuid])
        .await?
        .is_empty()
    {
        return Err(Error::RecordNotUnique {
            collection: "directus_operations".into(),
            field: "key".into(),
            value: key,
        });
    }
    Ok(())
}

/// Checks every flow in `flows` after a transaction's writes, before it commits.
pub async fn check(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    flows: &HashSet<String>,
) -> Result<()> {
    if flows.is_empty() {
        return Ok(());
    }
    let mut flow_ids: Vec<String> = flows.iter().cloned().collect();
    flow_ids.sort();
    let mut operations: HashMap<String, Operation> = HashMap::new();
    for chunk in flow_ids.chunks(500) {
        let mut stmt = Sql::select();
        stmt.expr(col("o", "id"))
            .expr(col("o", "flow"))
            .expr(col("o", "key"))
            .expr(col("o", "resolve"))
            .expr(col("o", "reject"))
            .from_as(Alias::new("directus_operations"), Alias::new("o"))
            .and_where(in_list(backend, "o", "flow", FieldKind::Uuid, chunk));
        let kinds = [
            FieldKind::Uuid,
            FieldKind::Uuid,
            FieldKind::String,
            FieldKind::Uuid,
            FieldKind::Uuid,
        ];
        for row in text_rows(db, backend, &stmt, &kinds).await? {
            let mut row = row.into_iter();
            let (Some(Some(id)), Some(Some(flow)), Some(Some(key)), Some(resolve), Some(reject)) =
                (row.next(), row.next(), row.next(), row.next(), row.next())
            else {
                continue;
            };
            operations.insert(
                id,
                Operation {
                    flow,
                    key,
                    resolve,
                    reject,
                },
            );
        }
    }
    // Targets outside the loaded flows belong to another flow by construction. Operations
    // are checked in key order, so that the same data always reports the same violation.
    let mut ids: Vec<&String> = operations.keys().collect();
    ids.sort();
    for id in ids {
        let Some(op) = operations.get(id) else {
            continue;
        };
        for (field, target) in [("resolve", &op.resolve), ("reject", &op.reject)] {
            if let Some(target) = target {
                let same = operations.get(target).is_some_and(|t| t.flow == op.flow);
                if !same {
                    return Err(violation(
                        field,
                        "flow",
                        format!(
                            "Operation \"{}\" can only lead to operations of its own flow; \"{target}\" is not one.",
                            op.key
                        ),
                    ));
                }
            }
        }
        if let Some((cycle_at, field)) = find_cycle(&operations, id) {
            return Err(violation(
                field,
                "cycle",
                format!(
                    "The resolve and reject links of operation \"{cycle_at}\" lead back to it; flows must not loop."
                ),
            ));
        }
    }
    for chunk in flow_ids.chunks(500) {
        let mut stmt = Sql::select();
        stmt.expr(col("f", "id"))
            .expr(col("f", "operation"))
            .from_as(Alias::new("directus_flows"), Alias::new("f"))
            .and_where(in_list(backend, "f", "id", FieldKind::Uuid, chunk))
            .order_by_expr(col("f", "id"), Order::Asc);
        for row in text_rows(db, backend, &stmt, &[FieldKind::Uuid, FieldKind::Uuid]).await? {
            if let [Some(flow), Some(first)] = row.as_slice() {
                let inside = operations.get(first).is_some_and(|op| &op.flow == flow);
                if !inside {
                    return Err(violation(
                        "operation",
                        "flow",
                        format!("The first operation \"{first}\" has to belong to this flow."),
                    ));
                }
            }
        }
    }
    check_options(db, backend, &flow_ids).await
}

/// A `schedule` flow's `cron` must parse (Directus saves any text and never runs it), and
/// any flow's `retry` must be a policy ([`crate::retry::RetryPolicy`]).
async fn check_options(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    flow_ids: &[String],
) -> Result<()> {
    for chunk in flow_ids.chunks(500) {
        let mut stmt = Sql::select();
        stmt.expr(col("f", "options"))
            .expr(col("f", "trigger"))
            .from_as(Alias::new("directus_flows"), Alias::new("f"))
            .and_where(in_list(backend, "f", "id", FieldKind::Uuid, chunk));
        for row in db.query_all(&stmt).await? {
            let options = sql::decode(backend, &row, 0, Decode::Field(FieldKind::Json))?;
            let trigger: Option<String> = row.try_get_by_index(1)?;
            crate::retry::RetryPolicy::parse(options.get("retry")).map_err(Error::payload)?;
            if trigger.as_deref() != Some("schedule") {
                continue;
            }
            match options.get("cron") {
                None | Some(Value::Null) => {}
                Some(Value::String(cron)) => {
                    crate::schedule::normalize(cron).map_err(Error::payload)?;
                }
                Some(other) => {
                    return Err(Error::payload(format!(
                        "\"{other}\" is not a valid cron expression"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Follows resolve/reject from `start`; answers the key of an operation reached twice on
/// one path, and the link (`resolve` or `reject`) that led back to it.
fn find_cycle(
    operations: &HashMap<String, Operation>,
    start: &str,
) -> Option<(String, &'static str)> {
    // Iterative DFS with an explicit path, so a long chain cannot overflow the stack.
    let mut on_path: HashSet<&str> = HashSet::new();
    let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
    on_path.insert(start);
    while let Some((node, next)) = stack.last_mut() {
        let op = operations.get(*node)?;
        let succ = [&op.resolve, &op.reject];
        if *next >= succ.len() {
            on_path.remove(*node);
            stack.pop();
            continue;
        }
        let field = if *next == 0 { "resolve" } else { "reject" };
        let target = succ[*next].as_deref();
        *next += 1;
        if let Some(target) = target {
            if on_path.contains(target) {
                return operations.get(target).map(|t| (t.key.clone(), field));
            }
            if operations.contains_key(target) {
                on_path.insert(target);
                stack.push((target, 0));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(flow: &str, key: &str, resolve: Option<&str>, reject: Option<&str>) -> Operation {
        Operation {
            flow: flow.into(),
            key: key.into(),
            resolve: resolve.map(Into::into),
            reject: reject.map(Into::into),
        }
    }

    #[test]
    fn a_loop_through_reject_is_found() {
        let mut ops = HashMap::new();
        ops.insert("a".to_string(), op("f", "a", Some("b"), None));
        ops.insert("b".to_string(), op("f", "b", None, Some("a")));
        assert_eq!(find_cycle(&ops, "a"), Some(("a".to_string(), "reject")));
    }

    #[test]
    fn branches_that_merge_are_not_a_loop() {
        let mut ops = HashMap::new();
        ops.insert("a".to_string(), op("f", "a", Some("b"), Some("c")));
        ops.insert("b".to_string(), op("f", "b", Some("d"), None));
        ops.insert("c".to_string(), op("f", "c", None, Some("d")));
        ops.insert("d".to_string(), op("f", "d", None, None));
        assert_eq!(find_cycle(&ops, "a"), None);
    }
}
