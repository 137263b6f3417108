//! `trigger`: runs another flow (trigger `operation`) once, or once per array element in
//! parallel, serial or batch mode, answering results in input order.

use futures_util::future::BoxFuture;
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{OpContext, Operation, option_into_object};
use crate::error::{DirectusError, Rejection};
use crate::options::{parse, present, text};

/// The `trigger` operation's options (operations-catalog.md §15).
#[derive(Debug, Default, PartialEq, Deserialize)]
struct TriggerOptions {
    /// The target flow's id; a missing one runs nothing and answers `null`.
    #[serde(default, deserialize_with = "text")]
    flow: Option<Box<str>>,
    /// `None` when absent; text is parsed as JSON when the operation runs.
    #[serde(default, deserialize_with = "present")]
    payload: Option<Value>,
    /// `parallel`, `serial` or `batch`; empty or absent means parallel, and any other
    /// text runs the whole array once.
    #[serde(default, rename = "iterationMode", deserialize_with = "text")]
    iteration_mode: Option<Box<str>>,
    /// Elements per batch: a positive integer or its text, 10 otherwise.
    #[serde(default, rename = "batchSize", deserialize_with = "batch_size")]
    batch_size: Option<u64>,
}

fn batch_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .filter(|n| *n > 0))
}

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
            let options: TriggerOptions = parse(options);
            let target = options.flow.as_deref().unwrap_or_default().to_string();
            let payload = match options.payload {
                None => Value::Null,
                Some(v) => option_into_object(v)?,
            };
            let mode = options.iteration_mode.as_deref().unwrap_or("");
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
                    let size = options.batch_size.unwrap_or(10) as usize;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modes_and_batch_sizes_fall_back_as_directus_does() {
        let none: TriggerOptions = parse(json!({}));
        assert_eq!(none, TriggerOptions::default());
        let given: TriggerOptions = parse(json!({
            "flow": "f", "payload": null, "iterationMode": "batch", "batchSize": "3"
        }));
        assert_eq!(given.flow.as_deref(), Some("f"));
        assert_eq!(given.payload, Some(Value::Null));
        assert_eq!(given.iteration_mode.as_deref(), Some("batch"));
        assert_eq!(given.batch_size, Some(3));
        for odd in [json!(0), json!(-2), json!("x"), json!(2.5), json!(null)] {
            let options: TriggerOptions = parse(json!({"batchSize": odd, "flow": 7}));
            assert_eq!((options.batch_size, options.flow), (None, None));
        }
    }
}
