//! `event` flows of type `filter`: run inside a write's transaction, in order, before the
//! write happens. A flow's return value replaces the payload; a run whose last operation
//! rejected aborts the write with that error (flows-and-operations.md §3.1).

use std::sync::{Arc, Weak};

use domain::hooks::FilterHooks;
use domain::items::Origin;
use domain::{Accountability, Error};
use futures_util::future::BoxFuture;
use sea_orm::DatabaseTransaction;
use serde_json::{Map, Value};

use crate::events::registered;
use crate::runner::{self, Start, Status};
use crate::{Engine, Inner, runlog};

/// The engine as the items service sees it; weak, so the service does not keep the engine
/// alive.
pub(crate) struct Hooks {
    pub(crate) engine: Weak<Inner>,
}

impl FilterHooks for Hooks {
    fn prepare(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(inner) = self.engine.upgrade() {
                Engine { inner }.plan().await;
            }
        })
    }

    fn queue_actions<'a>(
        &'a self,
        mutations: &'a [domain::Mutation],
        tx: &'a DatabaseTransaction,
    ) -> BoxFuture<'a, domain::Result<()>> {
        Box::pin(async move {
            let Some(inner) = self.engine.upgrade() else {
                return Ok(());
            };
            Engine { inner }.queue_actions(mutations, tx).await
        })
    }

    fn filter<'a>(
        &'a self,
        event: &'a str,
        payload: Value,
        meta: Map<String, Value>,
        accountability: &'a Accountability,
        origin: Origin,
        tx: &'a Arc<DatabaseTransaction>,
    ) -> BoxFuture<'a, domain::Result<Value>> {
        Box::pin(async move {
            let Some(inner) = self.engine.upgrade() else {
                return Ok(payload);
            };
            let engine = Engine { inner };
            engine
                .run_filters(event, payload, meta, accountability, origin, tx)
                .await
        })
    }
}

impl Engine {
    /// Runs every filter flow registered for `event`, ordered by flow id so that the order
    /// is the same on every replica (Directus follows its load order, which is unspecified).
    async fn run_filters(
        &self,
        event: &str,
        mut payload: Value,
        meta: Map<String, Value>,
        accountability: &Accountability,
        origin: Origin,
        tx: &Arc<DatabaseTransaction>,
    ) -> domain::Result<Value> {
        // Brought up to date by `prepare`, before the transaction began: reloading here
        // would need a second connection while the write holds the first.
        let plan = self.current();
        let mut flows: Vec<_> = plan
            .flows
            .values()
            .filter(|flow| registered(flow, "filter").iter().any(|name| name == event))
            .cloned()
            .collect();
        if flows.is_empty() {
            return Ok(payload);
        }
        flows.sort_by(|a, b| a.id.cmp(&b.id));
        let depth = origin.depth + 1;
        let max = self.config().max_depth;
        if depth > max {
            return Err(Error::Rejected {
                status: 400,
                entries: vec![(
                    format!(
                        "Flows triggered flows {max} levels deep; flowline stops here so that a flow writing to the collection it listens to cannot run forever."
                    ),
                    Map::from_iter([("code".to_string(), Value::from("FLOW_DEPTH_EXCEEDED"))]),
                )],
            });
        }
        for flow in flows {
            let mut trigger = Map::new();
            trigger.insert("payload".into(), payload.clone());
            trigger.insert("event".into(), Value::from(event));
            trigger.extend(meta.clone());
            let return_option = flow.returns.clone();
            let run = runner::run(
                self,
                Box::new(Start {
                    flow: flow.clone(),
                    at: None,
                    trigger: Value::Object(trigger),
                    accountability: Some(accountability.clone()),
                    depth,
                    tx: Some(tx.clone()),
                    durable: None,
                }),
            )
            .await;
            if let Some(entry) =
                runlog::entry(&flow, &run, Some(accountability), &self.config().env)
            {
                runlog::write(&**tx, &entry).await;
            }
            if run.last_status == Some(Status::Reject)
                && let Some(rejection) = &run.last_rejection
            {
                let http = rejection
                    .http
                    .as_ref()
                    .clone()
                    .for_caller(accountability.admin);
                return Err(rejected(http.status, &http.body));
            }
            match run.select(return_option.as_deref()) {
                Ok(Some(value)) => payload = value,
                Ok(None) => {}
                Err(err) => {
                    return Err(Error::Rejected {
                        status: 500,
                        entries: vec![(
                            err.to_string(),
                            Map::from_iter([(
                                "code".to_string(),
                                Value::from("INTERNAL_SERVER_ERROR"),
                            )]),
                        )],
                    });
                }
            }
        }
        Ok(payload)
    }

    /// Lets the items service run this engine's filter flows.
    pub(crate) fn install_filters(&self) {
        self.items().set_filter_hooks(Arc::new(Hooks {
            engine: Arc::downgrade(&self.inner),
        }));
    }
}

/// A flow's HTTP error as the domain's refusal.
fn rejected(status: u16, body: &Value) -> Error {
    let entries = body
        .get("errors")
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    let message = e
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    let extensions = e
                        .get("extensions")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    (message, extensions)
                })
                .collect()
        })
        .unwrap_or_default();
    Error::Rejected { status, entries }
}
