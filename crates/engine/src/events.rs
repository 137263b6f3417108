//! `event` flows of type `action`: run in the background after a write commits (and for
//! `server.start` / `server.stop`), with Directus's event names and meta
//! (flows-and-operations.md §3.1).

use domain::{Accountability, Mutation, MutationEvent};
use serde_json::{Value, json};

use crate::Engine;
use crate::plan::{FlowPlan, Trigger, TriggerKind};
use crate::runner::Start;

pub use domain::hooks::item_event;

/// The events an `event` flow listens to, when its `type` is `kind`.
pub fn registered<'a>(flow: &'a FlowPlan, kind: &str) -> &'a [String] {
    match &flow.trigger {
        Some(Trigger::Event(options)) if options.kind.as_deref() == Some(kind) => &options.events,
        _ => &[],
    }
}

/// The meta each action run gets as `$trigger`, one per emitted event. Keys are numbers
/// for integer keys, as the database holds them.
fn metas(m: &Mutation, key: impl Fn(&str) -> Value) -> Vec<Value> {
    let event = item_event(&m.collection, m.event.as_str());
    let keys: Vec<Value> = m.keys.iter().map(|k| key(k)).collect();
    match m.event {
        MutationEvent::Create => keys
            .iter()
            .zip(m.payloads.iter().chain(std::iter::repeat(&Value::Null)))
            .map(|(key, payload)| json!({"event": event, "payload": payload, "key": key, "collection": m.collection}))
            .collect(),
        MutationEvent::Update => vec![json!({
            "event": event,
            "payload": m.payloads.first().cloned().unwrap_or(Value::Null),
            "keys": keys,
            "collection": m.collection,
        })],
        MutationEvent::Delete => vec![json!({
            "event": event, "payload": keys, "keys": keys, "collection": m.collection,
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
        depth: usize,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let plan = self.plan().await;
        let mut runs = Vec::new();
        for flow in plan.flows.values() {
            if !registered(flow, "action").iter().any(|name| name == event) {
                continue;
            }
            let engine = self.clone();
            let start = Box::new(Start {
                flow: flow.clone(),
                at: None,
                trigger: meta.clone(),
                accountability: accountability.clone(),
                depth,
                tx: None,
                durable: None,
            });
            runs.push(tokio::spawn(async move {
                engine.execute(start).await;
            }));
        }
        runs
    }

    /// After a local write commits: the plan follows it, and the workers look for the action
    /// runs it queued.
    pub async fn dispatch_mutation(&self, m: &Mutation) {
        // Flows may have changed: the plan and the schedules follow at once, even when no
        // request comes to ask for the plan.
        self.plan().await;
        // Its action runs were queued inside its transaction
        // ([`Engine::queue_actions`]); the workers look for them now.
        if m.origin.emit_events {
            self.inner.queue_look();
        }
    }

    /// Writes with `emitEvents: false` start nothing; a write made by a flow starts its
    /// action flows one level deeper, so a flow that writes to the collection it listens to
    /// stops at the depth guard instead of looping (Directus loops until it falls over).
    ///
    /// Queues the action runs of `mutations` inside the transaction `tx` that writes them,
    /// so that the runs exist exactly when the write commits: a crash right after the commit
    /// loses none, and a rolled-back write starts none. Reads the plan as it is (it was
    /// brought up to date before the transaction began; a reload now would wait for the
    /// connection the transaction holds on SQLite).
    pub(crate) async fn queue_actions(
        &self,
        mutations: &[Mutation],
        tx: &sea_orm::DatabaseTransaction,
    ) -> domain::Result<()> {
        let plan = self.current();
        let catalog = self.items().catalog();
        for m in mutations.iter().filter(|m| m.origin.emit_events) {
            let event = item_event(&m.collection, m.event.as_str());
            let listening: Vec<_> = plan
                .flows
                .values()
                .filter(|flow| registered(flow, "action").contains(&event))
                .collect();
            if listening.is_empty() {
                continue;
            }
            let depth = m.origin.depth + 1;
            if depth > self.config().max_depth {
                tracing::warn!(
                    event = %event,
                    depth,
                    "action flows not started: flows writing to the collections they listen to reached FLOWS_MAX_DEPTH"
                );
                continue;
            }
            let coll = catalog.get(&m.collection);
            let key = |k: &str| coll.map_or_else(|| Value::from(k), |c| c.key_json(k));
            for meta in metas(m, key) {
                for flow in &listening {
                    let start = domain::runs::QueuedStart {
                        trigger: meta.clone(),
                        accountability: Some(m.accountability.clone()),
                        depth,
                    };
                    domain::runs::enqueue(tx, &flow.id, TriggerKind::Event.name(), &start).await?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(options: Value) -> FlowPlan {
        FlowPlan {
            id: "f".into(),
            name: "n".into(),
            trigger: Some(Trigger::parse("event", options)),
            accountability: None,
            returns: None,
            root: None,
            ops: Vec::new(),
            retry: None,
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
