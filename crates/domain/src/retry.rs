//! A flow's `options.retry`: how often a failed step of a queued run is tried again before
//! the run follows the step's reject link. Directus has no retries; a flow without the option
//! rejects at once, as there.
//!
//! ```json
//! {"retry": {"attempts": 3, "backoff_ms": 1000, "max_backoff_ms": 60000}}
//! ```
//!
//! `attempts` counts every try, the first included. The wait before try `n + 1` is
//! `backoff_ms * 2^(n-1)`, at most `max_backoff_ms`, less a random part of up to half of it
//! (so that runs failing together do not retry together). A `Retry-After` answer waits as
//! long as it asks when that is longer, up to [`MAX_WAIT_MS`].

use std::time::Duration;

use serde_json::Value;

/// The longest wait between two tries, whatever a policy or a `Retry-After` asks.
pub const MAX_WAIT_MS: u64 = 3_600_000;
/// The most tries of one step.
pub const MAX_ATTEMPTS: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl RetryPolicy {
    /// Reads `options.retry`: `None` when absent or null; an error naming the problem for
    /// anything else that is not a valid policy, so that no option is silently ignored.
    pub fn parse(retry: Option<&Value>) -> Result<Option<RetryPolicy>, String> {
        let fields = match retry {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(fields)) => fields,
            Some(other) => {
                return Err(format!(
                    "options.retry must be an object such as {{\"attempts\": 3}}, not {other}"
                ));
            }
        };
        if let Some(unknown) = fields
            .keys()
            .find(|k| !matches!(k.as_str(), "attempts" | "backoff_ms" | "max_backoff_ms"))
        {
            return Err(format!(
                "options.retry has no \"{unknown}\"; it takes attempts, backoff_ms and max_backoff_ms"
            ));
        }
        let number = |name: &str, min: u64, max: u64| -> Result<Option<u64>, String> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => match value.as_u64() {
                    Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                    _ => Err(format!(
                        "options.retry.{name} must be a whole number from {min} to {max}, not {value}"
                    )),
                },
            }
        };
        let attempts = number("attempts", 1, MAX_ATTEMPTS)?
            .ok_or("options.retry.attempts is required (every try, the first included)")?;
        let backoff_ms = number("backoff_ms", 0, MAX_WAIT_MS)?.unwrap_or(1_000);
        let max_backoff_ms = number("max_backoff_ms", 0, MAX_WAIT_MS)?.unwrap_or(60_000);
        if max_backoff_ms < backoff_ms {
            return Err(format!(
                "options.retry.max_backoff_ms ({max_backoff_ms}) is below backoff_ms ({backoff_ms})"
            ));
        }
        Ok(Some(RetryPolicy {
            attempts: u32::try_from(attempts).unwrap_or(1),
            backoff_ms,
            max_backoff_ms,
        }))
    }

    /// The wait after failed try `tried` (1 for the first), given a random `jitter` in
    /// `[0, 1)` and the `Retry-After` the failure asked for, if any.
    pub fn wait(&self, tried: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let doubled = self
            .backoff_ms
            .saturating_mul(1u64 << tried.saturating_sub(1).min(40));
        let capped = doubled.min(self.max_backoff_ms);
        let jittered = capped - (capped as f64 * jitter.clamp(0.0, 1.0) / 2.0) as u64;
        let asked = retry_after.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Duration::from_millis(jittered.max(asked).min(MAX_WAIT_MS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_needs_its_attempts_and_takes_defaults_for_the_rest() {
        assert_eq!(RetryPolicy::parse(None), Ok(None));
        assert_eq!(RetryPolicy::parse(Some(&Value::Null)), Ok(None));
        assert_eq!(
            RetryPolicy::parse(Some(&json!({"attempts": 3}))),
            Ok(Some(RetryPolicy {
                attempts: 3,
                backoff_ms: 1_000,
                max_backoff_ms: 60_000
            }))
        );
        assert_eq!(
            RetryPolicy::parse(Some(
                &json!({"attempts": 5, "backoff_ms": 10, "max_backoff_ms": 40})
            )),
            Ok(Some(RetryPolicy {
                attempts: 5,
                backoff_ms: 10,
                max_backoff_ms: 40
            }))
        );
    }

    #[test]
    fn anything_else_is_refused_by_name() {
        for (retry, message) in [
            (
                json!(3),
                "options.retry must be an object such as {\"attempts\": 3}, not 3",
            ),
            (
                json!({}),
                "options.retry.attempts is required (every try, the first included)",
            ),
            (
                json!({"attempts": 0}),
                "options.retry.attempts must be a whole number from 1 to 100, not 0",
            ),
            (
                json!({"attempts": "3"}),
                "options.retry.attempts must be a whole number from 1 to 100, not \"3\"",
            ),
            (
                json!({"attempts": 2, "delay": 5}),
                "options.retry has no \"delay\"; it takes attempts, backoff_ms and max_backoff_ms",
            ),
            (
                json!({"attempts": 2, "backoff_ms": 500, "max_backoff_ms": 100}),
                "options.retry.max_backoff_ms (100) is below backoff_ms (500)",
            ),
        ] {
            assert_eq!(
                RetryPolicy::parse(Some(&retry)),
                Err(message.to_string()),
                "{retry}"
            );
        }
    }

    #[test]
    fn waits_double_up_to_the_cap_less_jitter_and_honour_retry_after() {
        let policy = RetryPolicy {
            attempts: 10,
            backoff_ms: 100,
            max_backoff_ms: 1_000,
        };
        let ms = |tried, jitter, after: Option<u64>| {
            policy
                .wait(tried, jitter, after.map(Duration::from_millis))
                .as_millis()
        };
        assert_eq!(
            [ms(1, 0.0, None), ms(2, 0.0, None), ms(3, 0.0, None)],
            [100, 200, 400]
        );
        assert_eq!(ms(5, 0.0, None), 1_000);
        assert_eq!(ms(40, 0.0, None), 1_000);
        // Jitter takes off up to half.
        assert_eq!(ms(2, 0.5, None), 150);
        assert_eq!(ms(2, 0.999_999, None), 101);
        // Retry-After wins when longer, even past the cap, up to an hour.
        assert_eq!(ms(1, 0.0, Some(2_000)), 2_000);
        assert_eq!(ms(3, 0.0, Some(10)), 400);
        assert_eq!(ms(1, 0.0, Some(10_000_000)), 3_600_000);
    }
}
