//! The small operations: `condition`, `transform`, `log`, `sleep`, `throw-error`.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::{OpContext, Operation, option_to_object, option_to_string};
use crate::condition::{self, ConditionError};
use crate::error::{DirectusError, Rejection};

/// Passes (resolving with null) when the chain satisfies `filter`; otherwise rejects with one
/// `FAILED_VALIDATION` error per failure.
pub struct Condition;

impl Operation for Condition {
    fn id(&self) -> &'static str {
        "condition"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let filter = options.get("filter").cloned().unwrap_or(Value::Null);
            let acc = ctx
                .accountability
                .map(|a| serde_json::to_value(a).unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            match condition::check(&filter, ctx.data, &acc) {
                Ok(()) => Ok(Value::Null),
                Err(ConditionError::Invalid(message)) => Err(Rejection::error(message)),
                Err(ConditionError::Failed(failures)) => Err(Rejection::many(
                    failures
                        .into_iter()
                        .map(|f| {
                            let mut err = DirectusError::new("FAILED_VALIDATION", 400, f.message);
                            err.extensions.insert("field".into(), json!(f.field));
                            err.extensions.insert("path".into(), json!(f.path));
                            err.extensions.insert("type".into(), json!(f.kind));
                            err.extensions.extend(f.extra);
                            err
                        })
                        .collect(),
                )),
            }
        })
    }
}

/// Returns its `json` option, parsed when it is a string.
pub struct Transform;

impl Operation for Transform {
    fn id(&self) -> &'static str {
        "transform"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        _ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move { option_to_object(options.get("json").unwrap_or(&Value::Null)) })
    }
}

/// Writes `message` to the log at info level (rendered against a redacted chain).
pub struct Log;

impl Operation for Log {
    fn id(&self) -> &'static str {
        "log"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let message = option_to_string(options.get("message"));
            tracing::info!(target: "flowline::flows", flow = %ctx.flow.id, "{message}");
            Ok(Value::Null)
        })
    }
}

/// Waits `milliseconds` (NaN or absent: at once).
///
/// In a queued run the sleep journals when it is due before it waits, so that the run,
/// resumed after a crash or a hand-over, waits only the time left rather than all of it again.
pub struct Sleep;

impl Operation for Sleep {
    fn id(&self) -> &'static str {
        "sleep"
    }

    fn reads_chain(&self) -> bool {
        false
    }

    fn run<'a>(
        &'a self,
        options: Value,
        ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        // Read before the future is built, so that a sleeping run does not hold its options.
        let ms = match options.get("milliseconds") {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
            Some(Value::String(s)) => s.trim().parse::<f64>().unwrap_or(0.0),
            _ => 0.0,
        };
        drop(options);
        let ms = if ms.is_finite() && ms > 0.0 { ms } else { 0.0 };
        Box::pin(async move {
            let wait = match &ctx.journal {
                Some(journal) => {
                    let now = domain::runs::now_ms();
                    let until = match journal.waiting_until {
                        Some(until) => until,
                        None if ms > 0.0 => {
                            // Whole milliseconds: a fraction left over is not worth a column.
                            let until = now.saturating_add(ms.ceil() as i64);
                            if let Err(err) = domain::runs::journal_wait(
                                ctx.engine.items().db(),
                                journal.run,
                                journal.seq,
                                &journal.op.id.text(),
                                &journal.op.key,
                                now,
                                until,
                            )
                            .await
                            {
                                // The run still sleeps; resumed, it would wait all of it again.
                                tracing::warn!(run = journal.run, %err, "could not journal a sleep");
                            } else {
                                ctx.engine
                                    .items()
                                    .publish_run_change(domain::MutationEvent::Update, journal.run);
                            }
                            until
                        }
                        None => now,
                    };
                    Duration::from_millis(until.saturating_sub(now).max(0) as u64)
                }
                None => Duration::from_secs_f64(ms / 1000.0),
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            Ok(Value::Null)
        })
    }
}

/// Always rejects with a Directus error of the given code, status and message.
pub struct ThrowError;

impl Operation for ThrowError {
    fn id(&self) -> &'static str {
        "throw-error"
    }

    fn run<'a>(
        &'a self,
        options: Value,
        _ctx: &'a OpContext<'a>,
    ) -> BoxFuture<'a, Result<Value, Rejection>> {
        Box::pin(async move {
            let code = options
                .get("code")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .unwrap_or("INTERNAL_SERVER_ERROR")
                .to_uppercase();
            let status = match options.get("status") {
                Some(Value::Number(n)) => n.as_f64().map(|f| f.trunc() as i64),
                Some(Value::String(s)) => {
                    let digits: String = s
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '-')
                        .collect();
                    digits.parse::<i64>().ok()
                }
                _ => None,
            }
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..600).contains(s))
            .unwrap_or(500);
            let message = options
                .get("message")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
                .unwrap_or("An unexpected error occurred.");
            Err(Rejection::directus(DirectusError::new(
                &code, status, message,
            )))
        })
    }
}
