//! The small operations: `condition`, `transform`, `log`, `sleep`, `throw-error`.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::{OpContext, Operation, option_into_object, option_to_string};
use crate::condition::{self, ConditionError};
use crate::error::{DirectusError, Rejection};
use crate::options::{parse, present, text};

/// `condition`'s options: the filter, kept as JSON for the condition module to read.
#[derive(Debug, Default, PartialEq, Deserialize)]
struct ConditionOptions {
    #[serde(default)]
    filter: Value,
}

/// `transform`'s options: the value to answer, parsed when it is text.
#[derive(Debug, Default, PartialEq, Deserialize)]
struct TransformOptions {
    #[serde(default)]
    json: Value,
}

/// `log`'s options: `None` when the message is absent, which logs `undefined`.
#[derive(Debug, Default, PartialEq, Deserialize)]
struct LogOptions {
    #[serde(default, deserialize_with = "present")]
    message: Option<Value>,
}

/// `sleep`'s options: how long to wait, in milliseconds.
#[derive(Debug, Default, PartialEq, Deserialize)]
struct SleepOptions {
    #[serde(default, deserialize_with = "milliseconds")]
    milliseconds: f64,
}

/// A number, or text read as one (`Number(x)` in Directus); anything else, or text that
/// is not a number, is no wait at all.
fn milliseconds<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse::<f64>().unwrap_or(0.0),
        _ => 0.0,
    })
}

/// `throw-error`'s options; each falls back to Directus's default when empty or unusable.
#[derive(Debug, Default, PartialEq, Deserialize)]
struct ThrowErrorOptions {
    #[serde(default, deserialize_with = "text")]
    code: Option<Box<str>>,
    #[serde(default, deserialize_with = "http_status")]
    status: Option<u16>,
    #[serde(default, deserialize_with = "text")]
    message: Option<Box<str>>,
}

/// `parseInt(status)`: a number's integer part, or the leading digits of text; only a
/// status between 100 and 599 is kept.
fn http_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64().map(|f| f.trunc() as i64),
        Value::String(s) => {
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
    .filter(|s| (100..600).contains(s)))
}

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
            let ConditionOptions { filter } = parse(options);
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
        Box::pin(async move { option_into_object(parse::<TransformOptions>(options).json) })
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
            let message = option_to_string(parse::<LogOptions>(options).message.as_ref());
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
        let ms = parse::<SleepOptions>(options).milliseconds;
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
            let options: ThrowErrorOptions = parse(options);
            let code = options
                .code
                .as_deref()
                .filter(|c| !c.is_empty())
                .unwrap_or("INTERNAL_SERVER_ERROR")
                .to_uppercase();
            let status = options.status.unwrap_or(500);
            let message = options
                .message
                .as_deref()
                .filter(|m| !m.is_empty())
                .unwrap_or("An unexpected error occurred.");
            Err(Rejection::directus(DirectusError::new(
                &code, status, message,
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_odd_options_fall_back_as_directus_does() {
        assert_eq!(parse::<ConditionOptions>(json!({})).filter, Value::Null);
        assert_eq!(parse::<TransformOptions>(json!([1])).json, Value::Null);
        assert_eq!(parse::<LogOptions>(json!({})).message, None);
        assert_eq!(
            parse::<LogOptions>(json!({"message": null})).message,
            Some(Value::Null)
        );
        for (given, ms) in [
            (json!({"milliseconds": 25}), 25.0),
            (json!({"milliseconds": " 12.5 "}), 12.5),
            (json!({"milliseconds": "soon"}), 0.0),
            (json!({"milliseconds": [5]}), 0.0),
            (json!({}), 0.0),
        ] {
            assert_eq!(parse::<SleepOptions>(given).milliseconds, ms);
        }
        for (given, status) in [
            (json!(422), Some(422)),
            (json!(404.9), Some(404)),
            (json!(" 418abc"), Some(418)),
            (json!("abc"), None),
            (json!(99), None),
            (json!(-400), None),
            (json!(true), None),
        ] {
            let options = parse::<ThrowErrorOptions>(json!({"status": given}));
            assert_eq!(options.status, status);
        }
        let odd = parse::<ThrowErrorOptions>(json!({"code": 5, "message": ["m"]}));
        assert_eq!((odd.code, odd.message), (None, None));
    }
}
