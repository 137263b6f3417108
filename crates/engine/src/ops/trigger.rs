//! `trigger`: runs another flow (trigger `operation`) once, or once per array element in
//! parallel, serial or batch mode, answering results in input order.

use futures_util::future::BoxFuture;
use futures_util::{StreamExt, stream};
use serde_json::Value;

use super::{OpContext, Operation, option_to_object};
use crate::error::{DirectusError, Rejection};

pub struct TriggerFlow;

impl Operation for TriggerFlow {
    fn id(&self) -> &'static str {
        "trigger"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let engine = ctx.engine;
            let max = engine.config().max_depth;
            if ctx.depth >= max {
                return Err(Rejection::directus(DirectusError::new(
                    "FLOW_DEPTH_EXCEEDED",
                    400,
                    format!(
                        "Flows triggered flows {max} levels deep; flowline stops here so that flows that trigger each other cannot run forever."
                    ),
                )));
            }
            let target = options
                .get("flow")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let payload = match options.get("payload") {
                None => Value::Null,
                Some(v) => option_to_object(v)?,
            };
            let mode = options
                .get("iterationMode")
                .and_then(Value::as_str)
                .unwrap_or("");
            // Each child runs as its own task: nested runs awaited inline would poll one
            // inside the other, and 32 levels of flows overflow a worker thread's stack.
            let run_one = |element: Value| {
                let target = target.clone();
                let engine = engine.clone();
                let accountability = ctx.accountability.cloned();
                let depth = ctx.depth + 1;
                let tx = ctx.tx.cloned();
                async move {
                    tokio::spawn(async move {
                        engine
                            .run_operation_flow(&target, element, accountability, depth, tx)
                            .await
                    })
                    .await
                    .unwrap_or_else(|err| {
                        Err(Rejection::error(format!(
                            "the triggered flow failed: {err}"
                        )))
                    })
                }
            };
            let Value::Array(items) = payload else {
                return run_one(payload).await;
            };
            let limit = engine.config().trigger_concurrency.max(1);
            let results: Vec<Result<Value, Rejection>> = match mode {
                "" | "parallel" => {
                    stream::iter(items)
                        .map(run_one)
                        .buffered(limit)
                        .collect()
                        .await
                }
                "serial" => stream::iter(items).then(run_one).collect().await,
                "batch" => {
                    let size = options
                        .get("batchSize")
                        .and_then(|v| {
                            v.as_u64()
                                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        })
                        .filter(|n| *n > 0)
                        .unwrap_or(10) as usize;
                    let mut out = Vec::with_capacity(items.len());
                    for chunk in items.chunks(size) {
                        let part: Vec<_> = stream::iter(chunk.to_vec())
                            .map(run_one)
                            .buffered(size.min(limit))
                            .collect()
                            .await;
                        out.extend(part);
                    }
                    out
                }
                // Any other mode: the whole array is one run's `$trigger`, as in Directus.
                _ => vec![run_one(Value::Array(items)).await],
            };
            if !matches!(mode, "" | "parallel" | "serial" | "batch") {
                return results.into_iter().next().unwrap_or(Ok(Value::Null));
            }
            results
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        })
    }
}
