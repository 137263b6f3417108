//! `event` flows of type `action`: run in the background after a write commits (and for
//! `server.start` / `server.stop`), with Directus's event names and meta
//! (flows-and-operations.md §3.1).

use domain::{Accountability, Mutation, MutationEvent};
use serde_json::{Value, json};

use crate::Engine;
use crate::plan::FlowPlan;
use crate::runner::Start;

/// Directus's name of an item event: `flows.create` for a system collection (prefix
/// dropped), `articles.items.create` for any other.
pub fn item_event(collection: &str, action: &str) -> String {
    match collection.strip_prefix("directus_") {
        Some(system) => format!("{system}.{action}"),
        None => format!("{collection}.items.{action}"),
    }
}

fn list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The events an `event` flow listens to, when its `type` is `kind`.
pub fn registered(flow: &FlowPlan, kind: &str) -> Vec<String> {
    if flow.trigger.as_deref() != Some("event") || flow.option_str("type") != Some(kind) {
        return Vec::new();
    }
    let collections = list(flow.options.get("collections"));
    let mut names = Vec::new();
    for scope in list(flow.options.get("scope")) {
        match scope.strip_prefix("items.") {
            Some(action @ ("create" | "update" | "delete")) => {
                // Without collections, an items scope registers nothing, as in Directus.
                names.extend(collections.iter().map(|c| item_event(c, action)));
            }
            _ => names.push(scope),
        }
    }
    names
}

/// The meta each action run gets as `$trigger`, one per emitted event.
fn metas(m: &Mutation) -> Vec<Value> {
    let event = item_event(&m.collection, m.event.as_str());
    match m.event {
        MutationEvent::Create => m
            .keys
            .iter()
            .zip(m.payloads.iter().chain(std::iter::repeat(&Value::Null)))
            .map(|(key, payload)| json!({"event": event, "payload": payload, "key": key, "collection": m.collection}))
            .collect(),
        MutationEvent::Update => vec![json!({
            "event": event,
            "payload": m.payloads.first().cloned().unwrap_or(Value::Null),
            "keys": m.keys,
            "collection": m.collection,
        })],
        MutationEvent::Delete => vec![json!({
            "event": event, "payload": m.keys, "keys": m.keys, "collection": m.collection,
        })],
    }
}

impl Engine {
    /// Starts the action flows listening to `event`, in the background; the handles let a
    /// caller wait for them (`server.stop`).
    pub async fn emit_action(
        &self,
        event: &str,
        meta: Value,
        accountability: Option<Accountability>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let plan = self.plan().await;
        let mut runs = Vec::new();
        for flow in plan.flows.values() {
            if !registered(flow, "action").iter().any(|name| name == event) {
                continue;
            }
            let engine = self.clone();
            let start = Start {
                flow: flow.clone(),
                at: None,
                trigger: meta.clone(),
                accountability: accountability.clone(),
                depth: 1,
            };
            runs.push(tokio::spawn(async move {
                engine.execute(start).await;
            }));
        }
        runs
    }

    /// The action events of a committed write.
    pub async fn dispatch_mutation(&self, m: &Mutation) {
        let event = item_event(&m.collection, m.event.as_str());
        for meta in metas(m) {
            // Action runs go on in the background.
            drop(
                self.emit_action(&event, meta, Some(m.accountability.clone()))
                    .await,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn flow(options: Value) -> FlowPlan {
        FlowPlan {
            id: "f".into(),
            name: "n".into(),
            trigger: Some("event".into()),
            accountability: None,
            options: options.as_object().cloned().unwrap_or_else(Map::new),
            root: None,
            ops: Vec::new(),
        }
    }

    #[test]
    fn names_follow_directus() {
        let f = flow(
            json!({"type": "action", "scope": ["items.create", "server.start"], "collections": "directus_flows, articles"}),
        );
        assert_eq!(
            registered(&f, "action"),
            ["flows.create", "articles.items.create", "server.start"]
        );
        assert!(registered(&f, "filter").is_empty());
        let none = flow(json!({"type": "action", "scope": "items.update"}));
        assert!(registered(&none, "action").is_empty());
    }
}
