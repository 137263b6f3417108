//! Places a flow's operations on the editor's grid after the MCP tools change them, so that
//! a flow a model built reads left to right in the app: resolve paths go right, reject paths
//! open a row below. Directus's automatic layout, written through the items service.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::tools::Ctx;

/// Where the first operation sits, and the step to the next column and row.
pub const ORIGIN: (i64, i64) = (19, 1);
const COLUMN: i64 = 18;
const ROW: i64 = 16;

/// One operation as the layout sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub resolve: Option<String>,
    pub reject: Option<String>,
    pub x: Option<i64>,
    pub y: Option<i64>,
}

/// Lays the flow out. The layout is cosmetic: a failure is logged, never reported to the
/// model, whose change has already been written.
pub async fn flow(ctx: &Ctx<'_>, flow: &str) {
    if let Err(err) = apply(ctx, flow).await {
        tracing::warn!(flow, %err, "could not lay out the flow's operations");
    }
}

async fn apply(ctx: &Ctx<'_>, flow: &str) -> Result<(), domain::Error> {
    let mut query = Map::new();
    query.insert("fields".into(), json!(["operation"]));
    let entry = super::tools::read_one(ctx, "directus_flows", flow, Some(&query))
        .await?
        .get("operation")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut query = Map::new();
    query.insert(
        "fields".into(),
        json!(["id", "resolve", "reject", "position_x", "position_y"]),
    );
    query.insert("filter".into(), json!({"flow": {"_eq": flow}}));
    query.insert("sort".into(), json!(["date_created", "id"]));
    query.insert("limit".into(), json!(-1));
    let rows = super::tools::read_query(ctx, "directus_operations", Some(&query)).await?;
    let text =
        |row: &Value, field: &str| row.get(field).and_then(Value::as_str).map(str::to_string);
    let nodes: Vec<Node> = rows
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| {
            Some(Node {
                id: text(row, "id")?,
                resolve: text(row, "resolve"),
                reject: text(row, "reject"),
                x: row.get("position_x").and_then(Value::as_i64),
                y: row.get("position_y").and_then(Value::as_i64),
            })
        })
        .collect();
    let moves: Vec<Value> = place(&nodes, entry.as_deref())
        .into_iter()
        .filter(|(id, at)| {
            nodes
                .iter()
                .any(|n| &n.id == id && (n.x, n.y) != (Some(at.0), Some(at.1)))
        })
        .map(|(id, (x, y))| json!({"id": id, "position_x": x, "position_y": y}))
        .collect();
    if !moves.is_empty() {
        ctx.state
            .items
            .update_batch(ctx.acc, "directus_operations", moves)
            .await?;
    }
    Ok(())
}

/// Every operation's grid position: depth first from the entry (resolve one column right on
/// the same row, reject one column right below everything placed so far), then each chain
/// nothing links to, then what only a loop reaches, in `nodes`' order.
pub fn place(nodes: &[Node], entry: Option<&str>) -> Vec<(String, (i64, i64))> {
    let by_id: HashMap<&str, &Node> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut placed: Vec<(String, (i64, i64))> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut rows: Option<i64> = None;

    fn walk(
        id: &str,
        depth: i64,
        row: i64,
        by_id: &HashMap<&str, &Node>,
        seen: &mut HashSet<String>,
        placed: &mut Vec<(String, (i64, i64))>,
        rows: &mut Option<i64>,
    ) {
        let Some(node) = by_id.get(id) else { return };
        if !seen.insert(id.to_string()) {
            return;
        }
        placed.push((
            id.to_string(),
            (ORIGIN.0 + COLUMN * depth, ORIGIN.1 + ROW * row),
        ));
        *rows = Some(rows.map_or(row, |r| r.max(row)));
        if let Some(next) = &node.resolve {
            walk(next, depth + 1, row, by_id, seen, placed, rows);
        }
        if let Some(next) = &node.reject {
            let below = rows.map_or(0, |r| r + 1);
            walk(next, depth + 1, below, by_id, seen, placed, rows);
        }
    }

    if let Some(entry) = entry {
        walk(entry, 0, 0, &by_id, &mut seen, &mut placed, &mut rows);
    }
    let targets: HashSet<&str> = nodes
        .iter()
        .flat_map(|n| [n.resolve.as_deref(), n.reject.as_deref()])
        .flatten()
        .collect();
    for node in nodes {
        if targets.contains(node.id.as_str()) || seen.contains(&node.id) {
            continue;
        }
        let row = rows.map_or(0, |r| r + 1);
        walk(&node.id, 0, row, &by_id, &mut seen, &mut placed, &mut rows);
    }
    let row = rows.map_or(0, |r| r + 1);
    let mut column = 0;
    for node in nodes {
        if seen.insert(node.id.clone()) {
            placed.push((
                node.id.clone(),
                (ORIGIN.0 + COLUMN * column, ORIGIN.1 + ROW * row),
            ));
            column += 1;
        }
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, resolve: Option<&str>, reject: Option<&str>) -> Node {
        Node {
            id: id.to_string(),
            resolve: resolve.map(str::to_string),
            reject: reject.map(str::to_string),
            x: None,
            y: None,
        }
    }

    fn at(placed: &[(String, (i64, i64))], id: &str) -> (i64, i64) {
        placed
            .iter()
            .find(|(n, _)| n == id)
            .map(|(_, p)| *p)
            .unwrap_or_else(|| panic!("{id} not placed"))
    }

    #[test]
    fn resolve_goes_right_and_reject_opens_a_row_below() {
        let nodes = vec![
            node("a", Some("b"), Some("c")),
            node("b", Some("d"), None),
            node("c", None, None),
            node("d", None, None),
            node("lone", None, None),
            node("x", Some("y"), None),
            node("y", Some("x"), None),
        ];
        let placed = place(&nodes, Some("a"));
        assert_eq!(at(&placed, "a"), (19, 1));
        assert_eq!(at(&placed, "b"), (37, 1));
        assert_eq!(at(&placed, "d"), (55, 1));
        assert_eq!(at(&placed, "c"), (37, 17));
        // A chain nothing links to starts a new row at the left.
        assert_eq!(at(&placed, "lone"), (19, 33));
        // A loop nothing enters is parked on the last row, left to right.
        assert_eq!(at(&placed, "x"), (19, 49));
        assert_eq!(at(&placed, "y"), (37, 49));
    }

    #[test]
    fn without_an_entry_the_first_free_chain_starts_at_the_origin() {
        let placed = place(&[node("a", None, None), node("b", None, None)], None);
        assert_eq!(placed, vec![("a".into(), (19, 1)), ("b".into(), (19, 17))]);
    }
}
