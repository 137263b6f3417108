//! The per-flow mail rate limit (`RATE_LIMITER_EMAIL_FLOWS_*`): a fixed window per flow id,
//! in memory, like Directus's `RateLimiterMemory` without Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::MailRateLimit;
use crate::error::DirectusError;

/// Mails counted per flow in the current window. Each flow's window starts with its first
/// mail and lasts `duration`; expired windows are dropped on every consume, so the map holds
/// at most the flows that mailed within the last `duration`.
#[derive(Default)]
pub(super) struct Limiter {
    windows: Mutex<HashMap<String, Window>>,
}

struct Window {
    started: Instant,
    used: u32,
}

impl Limiter {
    /// Counts one mail of `key` (a flow id) and says whether it may go: false once the
    /// window's `points` are spent (the caller then rejects with [`exceeded`]). A refused
    /// mail is not counted; the window still ends `duration` after its first mail.
    pub(super) fn consume(&self, key: &str, limit: &MailRateLimit, now: Instant) -> bool {
        // The map stays consistent across a panic elsewhere: every update is one assignment.
        let mut windows = match self.windows.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        windows.retain(|_, w| now.saturating_duration_since(w.started) < limit.duration);
        let window = windows.entry(key.to_string()).or_insert(Window {
            started: now,
            used: 0,
        });
        if window.used >= limit.points {
            return false;
        }
        window.used += 1;
        true
    }
}

/// Directus's `EmailLimitExceededError`: status 429, extensions `points`, `duration` (the
/// configured seconds) and `message` when one is configured.
///
/// Directus formats the default message with `ms(duration)`, which reads the seconds as
/// milliseconds ("Limit 1 mails per 60 ms."); flowline keeps the sentence but states the
/// window truthfully ("Limit 1 mails per 1 minute."), because the message is what a person
/// reads and the numbers stay available, unchanged, in `extensions`.
pub(super) fn exceeded(limit: &MailRateLimit) -> DirectusError {
    let message = limit.message.clone().unwrap_or_else(|| {
        format!(
            "Email sending limit exceeded. Limit {} mails per {}.",
            limit.points,
            long_duration(limit.duration)
        )
    });
    let mut err = DirectusError::new("EMAIL_LIMIT_EXCEEDED", 429, message);
    err.extensions.insert("points".into(), json!(limit.points));
    err.extensions
        .insert("duration".into(), json!(limit.duration.as_secs()));
    if let Some(custom) = &limit.message {
        err.extensions.insert("message".into(), json!(custom));
    }
    err
}

/// The `ms` package's long format: the largest unit the span reaches, rounded, plural from
/// 1.5 units on ("1 minute", "2 minutes", "90 ms").
fn long_duration(span: Duration) -> String {
    let ms = span.as_millis() as f64;
    const SECOND: f64 = 1000.0;
    const UNITS: [(f64, &str); 4] = [
        (86_400.0 * SECOND, "day"),
        (3_600.0 * SECOND, "hour"),
        (60.0 * SECOND, "minute"),
        (SECOND, "second"),
    ];
    for (unit, name) in UNITS {
        if ms >= unit {
            let plural = if ms >= unit * 1.5 { "s" } else { "" };
            return format!("{} {name}{plural}", (ms / unit).round());
        }
    }
    format!("{ms} ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(points: u32, secs: u64) -> MailRateLimit {
        MailRateLimit {
            points,
            duration: Duration::from_secs(secs),
            message: None,
        }
    }

    #[test]
    fn a_window_allows_its_points_per_flow_then_refuses() {
        let limiter = Limiter::default();
        let l = limit(2, 60);
        let t0 = Instant::now();
        assert!(limiter.consume("a", &l, t0));
        assert!(limiter.consume("a", &l, t0));
        assert!(!limiter.consume("a", &l, t0));
        let err = exceeded(&l);
        assert_eq!(
            (err.code.as_str(), err.status, err.message.as_str()),
            (
                "EMAIL_LIMIT_EXCEEDED",
                429,
                "Email sending limit exceeded. Limit 2 mails per 1 minute."
            )
        );
        assert_eq!(
            serde_json::Value::Object(err.extensions),
            json!({"points": 2, "duration": 60})
        );
        assert!(limiter.consume("b", &l, t0));
        // The window ends `duration` after its first mail.
        assert!(!limiter.consume("a", &l, t0 + Duration::from_secs(59)));
        assert!(limiter.consume("a", &l, t0 + Duration::from_secs(60)));
    }

    #[test]
    fn expired_windows_are_pruned() {
        let limiter = Limiter::default();
        let l = limit(1, 10);
        let t0 = Instant::now();
        for i in 0..100 {
            assert!(limiter.consume(&format!("flow{i}"), &l, t0));
        }
        assert!(limiter.consume("late", &l, t0 + Duration::from_secs(11)));
        let windows = limiter.windows.lock().expect("lock");
        assert_eq!(windows.len(), 1);
    }

    #[test]
    fn a_configured_message_replaces_the_default_and_is_an_extension() {
        let l = MailRateLimit {
            message: Some("Slow down".into()),
            ..limit(1, 1)
        };
        let err = exceeded(&l);
        assert_eq!(err.message, "Slow down");
        assert_eq!(
            serde_json::Value::Object(err.extensions),
            json!({"points": 1, "duration": 1, "message": "Slow down"})
        );
    }

    #[test]
    fn durations_read_like_the_ms_package() {
        let cases = [
            (Duration::from_millis(90), "90 ms"),
            (Duration::from_secs(1), "1 second"),
            (Duration::from_secs(45), "45 seconds"),
            (Duration::from_secs(60), "1 minute"),
            (Duration::from_secs(89), "1 minute"),
            (Duration::from_secs(90), "2 minutes"),
            (Duration::from_secs(3600), "1 hour"),
            (Duration::from_secs(86_400 * 3), "3 days"),
        ];
        for (span, text) in cases {
            assert_eq!(long_duration(span), text, "{span:?}");
        }
    }
}
