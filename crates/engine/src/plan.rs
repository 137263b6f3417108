//! The immutable in-memory plan of every active flow: trigger, options and operations with
//! resolve/reject links turned into indices. Runs hold an `Arc` of the flow they started
//! with, so swapping in a new plan never disturbs them.

use std::collections::HashMap;
use std::sync::Arc;

use domain::query::ReadNode;
use domain::{Accountability, ItemsService};
use serde_json::{Map, Value};

/// One operation, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct OpPlan {
    pub id: String,
    pub key: String,
    pub kind: String,
    pub options: Value,
    pub resolve: Option<usize>,
    pub reject: Option<usize>,
}

/// One active flow.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowPlan {
    pub id: String,
    pub name: String,
    pub trigger: Option<String>,
    pub accountability: Option<String>,
    /// Trigger options; `null` in the database becomes `{}` (construct-flow-tree).
    pub options: Map<String, Value>,
    pub root: Option<usize>,
    pub ops: Vec<OpPlan>,
}

impl FlowPlan {
    pub fn option_str(&self, name: &str) -> Option<&str> {
        self.options.get(name).and_then(Value::as_str)
    }

    pub fn option_bool(&self, name: &str) -> bool {
        self.options
            .get(name)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The index of the operation with this id.
    pub fn op_index(&self, id: &str) -> Option<usize> {
        self.ops.iter().position(|op| op.id == id)
    }
}

/// Every active flow by id.
#[derive(Debug, Default)]
pub struct Plan {
    pub flows: HashMap<String, Arc<FlowPlan>>,
}

impl Plan {
    pub fn flow(&self, id: &str) -> Option<Arc<FlowPlan>> {
        self.flows.get(id).cloned()
    }
}

/// Why one flow could not be loaded; the others load regardless.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "flow {flow}: operation {op} points at {target}, which is not an operation of this flow"
    )]
    DanglingLink {
        flow: String,
        op: String,
        target: String,
    },
    #[error("flow {flow}: malformed row")]
    Malformed { flow: String },
}

fn text(row: &Value, key: &str) -> Option<String> {
    row.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Builds one flow's plan from its row with `operations.*`.
pub fn build_flow(row: &Value) -> Result<FlowPlan, LoadError> {
    let id = text(row, "id").ok_or_else(|| LoadError::Malformed { flow: "?".into() })?;
    let raw_ops = row
        .get("operations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut ops = Vec::with_capacity(raw_ops.len());
    let mut links = Vec::with_capacity(raw_ops.len());
    for op in &raw_ops {
        let op_id = text(op, "id").ok_or_else(|| LoadError::Malformed { flow: id.clone() })?;
        ops.push(OpPlan {
            id: op_id,
            key: text(op, "key").unwrap_or_default(),
            kind: text(op, "type").unwrap_or_default(),
            options: match op.get("options") {
                Some(Value::Null) | None => Value::Object(Map::new()),
                Some(v) => v.clone(),
            },
            resolve: None,
            reject: None,
        });
        links.push((text(op, "resolve"), text(op, "reject")));
    }
    let index: HashMap<String, usize> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| (op.id.clone(), i))
        .collect();
    for (i, (resolve, reject)) in links.into_iter().enumerate() {
        let find = |target: Option<String>| -> Result<Option<usize>, LoadError> {
            match target {
                None => Ok(None),
                Some(t) => {
                    index
                        .get(&t)
                        .copied()
                        .map(Some)
                        .ok_or_else(|| LoadError::DanglingLink {
                            flow: id.clone(),
                            op: ops[i].id.clone(),
                            target: t,
                        })
                }
            }
        };
        let (resolve, reject) = (find(resolve)?, find(reject)?);
        ops[i].resolve = resolve;
        ops[i].reject = reject;
    }
    let root = text(row, "operation").and_then(|first| index.get(&first).copied());
    Ok(FlowPlan {
        id,
        name: text(row, "name").unwrap_or_default(),
        trigger: text(row, "trigger"),
        accountability: text(row, "accountability"),
        options: row
            .get("options")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        root,
        ops,
    })
}

/// Loads every active flow. A flow that cannot load is skipped with a logged error.
pub async fn load(items: &ItemsService) -> Result<Plan, domain::Error> {
    let fields: Vec<String> = ["*", "operations.*"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut node = ReadNode::from_fields(&items.catalog(), "directus_flows", &fields)?;
    node.args.filter = Some(serde_json::json!({"status": {"_eq": "active"}}));
    node.args.limit = Some(-1);
    for select in node.select.iter_mut() {
        if let domain::query::Select::Relation { node: child, .. } = select {
            child.args.limit = Some(-1);
        }
    }
    let rows = items.read(&Accountability::system(), &node).await?;
    let mut plan = Plan::default();
    for row in &rows {
        match build_flow(row) {
            Ok(flow) => {
                plan.flows.insert(flow.id.clone(), Arc::new(flow));
            }
            Err(err) => tracing::error!(%err, "flow skipped"),
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn links_become_indices() -> Result<(), LoadError> {
        let row = json!({
            "id": "f", "name": "n", "trigger": "webhook", "accountability": null, "options": null,
            "operation": "a",
            "operations": [
                {"id": "b", "key": "second", "type": "log", "options": null, "resolve": null, "reject": null},
                {"id": "a", "key": "first", "type": "condition", "options": {"filter": {}}, "resolve": "b", "reject": null}
            ]
        });
        let flow = build_flow(&row)?;
        assert_eq!(flow.root, Some(1));
        assert_eq!(flow.ops[1].resolve, Some(0));
        assert_eq!(flow.ops[0].options, json!({}));
        assert!(flow.options.is_empty());
        Ok(())
    }

    #[test]
    fn a_dangling_link_skips_the_flow() {
        let row = json!({"id": "f", "operations": [{"id": "a", "key": "k", "type": "log", "resolve": "zzz"}]});
        assert!(matches!(
            build_flow(&row),
            Err(LoadError::DanglingLink { .. })
        ));
    }
}
