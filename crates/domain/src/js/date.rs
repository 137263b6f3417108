//! `$NOW` and `$NOW(<±n unit>)`: Directus's `parseDynamicVariable` + `adjustDate` (date-fns
//! arithmetic), shared by REST / GraphQL filters and the `condition` operation so that one
//! filter names one instant everywhere.
//!
//! The server's local time zone is taken to be UTC, where JavaScript would use local time.

use chrono::{DateTime, Datelike, Months, TimeDelta, Utc};

/// Milliseconds on either side of the epoch a JavaScript `Date` can hold (`TimeClip`).
const MAX_TIME_MS: f64 = 8.64e15;

/// The instant a `$NOW...` operand names, read as Directus reads it:
/// - `None`: the text does not start with `$NOW`, so it is no variable;
/// - `Some(None)`: it does, but the adjustment is not one Directus understands (its `undefined`);
/// - `Some(Some(t))`: the instant.
///
/// Like Directus, only the prefix is checked (`$NOW` followed by anything without a parenthesised
/// adjustment is plain "now"), and the adjustment is the first non-empty `(...)` group.
pub fn now_variable(text: &str, now: DateTime<Utc>) -> Option<Option<DateTime<Utc>>> {
    if !text.starts_with("$NOW") {
        return None;
    }
    if text.contains('(')
        && text.contains(')')
        && let Some(adjustment) = super::text::parenthesised(text)
    {
        return Some(adjust_date(now, adjustment));
    }
    Some(Some(now))
}

/// `adjustDate(now, adjustment)`: an optional sign, an amount (fractions allowed), optional
/// spaces, then a unit (any case; none means days). `None` when the text is not of that form.
///
/// Units, as Directus spells them: `years|year|yrs|yr|y`, `months|month|mth|mo`,
/// `weeks|week|w`, `days|day|d`, `hours|hour|hrs|hr|h`, `minutes|minute|mins|min|m`,
/// `seconds|second|secs|sec|s`, `milliseconds|millisecond|msecs|msec|ms`.
///
/// Fractions follow date-fns: calendar units (days, weeks, months, years) move by whole steps
/// (the fraction is cut the way JavaScript's `setDate` / `setMonth` cut it), clock units move
/// by the exact number of milliseconds.
pub fn adjust_date(now: DateTime<Utc>, adjustment: &str) -> Option<DateTime<Utc>> {
    let (subtract, rest) = if let Some(r) = adjustment.strip_prefix('-') {
        (true, r)
    } else if let Some(r) = adjustment.strip_prefix('+') {
        (false, r)
    } else {
        (false, adjustment)
    };
    let (amount, unit) = split_amount(rest)?;
    let amount = if subtract { -amount } else { amount };
    let unit = unit.trim_start_matches(' ');
    let is = |names: &[&str]| names.iter().any(|n| unit.eq_ignore_ascii_case(n));
    if is(&["years", "year", "yrs", "yr", "y"]) {
        add_months(now, amount * 12.0)
    } else if is(&["months", "month", "mth", "mo"]) {
        add_months(now, amount)
    } else if is(&["weeks", "week", "w"]) {
        add_days(now, amount * 7.0)
    } else if unit.is_empty() || is(&["days", "day", "d"]) {
        add_days(now, amount)
    } else if is(&["hours", "hour", "hrs", "hr", "h"]) {
        add_millis(now, amount * 3_600_000.0)
    } else if is(&["minutes", "minute", "mins", "min", "m"]) {
        add_millis(now, amount * 60_000.0)
    } else if is(&["seconds", "second", "secs", "sec", "s"]) {
        add_millis(now, amount * 1000.0)
    } else if is(&["milliseconds", "millisecond", "msecs", "msec", "ms"]) {
        add_millis(now, amount)
    } else {
        None
    }
}

/// `-?(?:\d+)?\.?\d+` at the start of `s`: the amount and the text after it.
fn split_amount(s: &str) -> Option<(f64, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let dot = i < b.len() && b[i] == b'.';
    if dot {
        i += 1;
    }
    let frac_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let frac_digits = i - frac_start;
    if !((dot && frac_digits > 0) || (!dot && int_digits > 0)) {
        return None;
    }
    Some((s.get(..i)?.parse().ok()?, s.get(i..)?))
}

/// date-fns `addDays`: `setDate(getDate() + amount)`, whose argument JavaScript truncates.
fn add_days(now: DateTime<Utc>, amount: f64) -> Option<DateTime<Utc>> {
    let day = f64::from(now.day());
    let shift = whole((day + amount).trunc() - day)?;
    clip(now.checked_add_signed(TimeDelta::try_days(shift)?)?)
}

/// date-fns `addMonths`: `setMonth(getMonth() + amount + 1, 0)` finds the target month (the
/// argument truncated), whose length caps the day; the time of day is kept.
fn add_months(now: DateTime<Utc>, amount: f64) -> Option<DateTime<Utc>> {
    let month = f64::from(now.month0());
    let shift = whole((month + amount + 1.0).trunc() - 1.0 - month)?;
    let months = Months::new(u32::try_from(shift.unsigned_abs()).ok()?);
    let moved = if shift >= 0 {
        now.checked_add_months(months)?
    } else {
        now.checked_sub_months(months)?
    };
    clip(moved)
}

/// date-fns `addMilliseconds`: `new Date(time + amount)`, truncated to whole milliseconds.
fn add_millis(now: DateTime<Utc>, amount: f64) -> Option<DateTime<Utc>> {
    let ms = (now.timestamp_millis() as f64 + amount).trunc();
    if !ms.is_finite() || ms.abs() > MAX_TIME_MS {
        return None;
    }
    let whole_ms = DateTime::<Utc>::from_timestamp_millis(ms as i64)?;
    // Keep what lies below a millisecond, as `Date` arithmetic on a whole-ms "now" would.
    whole_ms.checked_add_signed(TimeDelta::nanoseconds(i64::from(
        now.timestamp_subsec_nanos() % 1_000_000,
    )))
}

/// A shift of whole steps, refused when it is beyond any representable date.
fn whole(shift: f64) -> Option<i64> {
    (shift.is_finite() && shift.abs() < 1e9).then_some(shift as i64)
}

/// `TimeClip`: a JavaScript `Date` holds at most 8.64e15 ms on either side of the epoch.
fn clip(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    ((t.timestamp_millis() as f64).abs() <= MAX_TIME_MS).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(iso: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(iso)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn adjusted(adjustment: &str) -> Option<String> {
        adjust_date(at("2024-01-31T10:00:00Z"), adjustment)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }

    #[test]
    fn years() {
        for unit in ["years", "year", "yrs", "yr", "y", "YEARS"] {
            assert_eq!(
                adjusted(&format!("+1 {unit}")).as_deref(),
                Some("2025-01-31T10:00:00.000Z"),
                "{unit}"
            );
        }
        assert_eq!(adjusted("-2y").as_deref(), Some("2022-01-31T10:00:00.000Z"));
        // 1.5 years is 18 months.
        assert_eq!(
            adjusted("1.5y").as_deref(),
            Some("2025-07-31T10:00:00.000Z")
        );
    }

    #[test]
    fn months() {
        for unit in ["months", "month", "mth", "mo", "Mo"] {
            // January 31st plus a month is the end of February (a leap year).
            assert_eq!(
                adjusted(&format!("1 {unit}")).as_deref(),
                Some("2024-02-29T10:00:00.000Z"),
                "{unit}"
            );
        }
        assert_eq!(
            adjusted("-1 mo").as_deref(),
            Some("2023-12-31T10:00:00.000Z")
        );
        // The target month is `trunc(getMonth() + amount + 1) - 1`: 1.9 months is one month.
        assert_eq!(
            adjusted("1.9 mo").as_deref(),
            Some("2024-02-29T10:00:00.000Z")
        );
    }

    #[test]
    fn weeks() {
        for unit in ["weeks", "week", "w"] {
            assert_eq!(
                adjusted(&format!("2 {unit}")).as_deref(),
                Some("2024-02-14T10:00:00.000Z"),
                "{unit}"
            );
        }
    }

    #[test]
    fn days() {
        for unit in ["days", "day", "d", ""] {
            assert_eq!(
                adjusted(&format!("1{unit}")).as_deref(),
                Some("2024-02-01T10:00:00.000Z"),
                "{unit}"
            );
        }
        assert_eq!(
            adjusted("-1 day").as_deref(),
            Some("2024-01-30T10:00:00.000Z")
        );
        // `setDate(31 + 1.5)` moves by one day.
        assert_eq!(
            adjusted("1.5 d").as_deref(),
            Some("2024-02-01T10:00:00.000Z")
        );
    }

    #[test]
    fn hours() {
        for unit in ["hours", "hour", "hrs", "hr", "h"] {
            assert_eq!(
                adjusted(&format!("+2 {unit}")).as_deref(),
                Some("2024-01-31T12:00:00.000Z"),
                "{unit}"
            );
        }
        assert_eq!(
            adjusted("1.5h").as_deref(),
            Some("2024-01-31T11:30:00.000Z")
        );
    }

    #[test]
    fn minutes() {
        for unit in ["minutes", "minute", "mins", "min", "m", "MINUTES"] {
            assert_eq!(
                adjusted(&format!("-30 {unit}")).as_deref(),
                Some("2024-01-31T09:30:00.000Z"),
                "{unit}"
            );
        }
    }

    #[test]
    fn seconds() {
        for unit in ["seconds", "second", "secs", "sec", "s"] {
            assert_eq!(
                adjusted(&format!("90{unit}")).as_deref(),
                Some("2024-01-31T10:01:30.000Z"),
                "{unit}"
            );
        }
        assert_eq!(
            adjusted(".5 s").as_deref(),
            Some("2024-01-31T10:00:00.500Z")
        );
    }

    #[test]
    fn milliseconds() {
        for unit in ["milliseconds", "millisecond", "msecs", "msec", "ms"] {
            assert_eq!(
                adjusted(&format!("500 {unit}")).as_deref(),
                Some("2024-01-31T10:00:00.500Z"),
                "{unit}"
            );
        }
        // A fraction of a millisecond is cut, as `new Date(t + 0.7)` cuts it.
        assert_eq!(
            adjusted("1.7ms").as_deref(),
            Some("2024-01-31T10:00:00.001Z")
        );
    }

    #[test]
    fn what_directus_refuses() {
        for text in [
            "1 fortnight",
            " 1 day",
            "1 day ",
            "- 1 day",
            "1.",
            ".",
            "",
            "days",
            "1 dayss",
            "1e3 ms",
        ] {
            assert_eq!(adjusted(text), None, "{text:?}");
        }
        // A second minus after the sign is part of the amount.
        assert_eq!(
            adjusted("+-1 d").as_deref(),
            Some("2024-01-30T10:00:00.000Z")
        );
        assert_eq!(adjusted("99999999999 y"), None);
    }

    #[test]
    fn the_variable_itself() {
        let now = at("2024-06-15T12:00:00Z");
        assert_eq!(now_variable("$CURRENT_USER", now), None);
        assert_eq!(now_variable("now", now), None);
        assert_eq!(now_variable("$NOW", now), Some(Some(now)));
        // Only the prefix counts, and an empty `()` is no adjustment.
        assert_eq!(now_variable("$NOWADAYS", now), Some(Some(now)));
        assert_eq!(now_variable("$NOW()", now), Some(Some(now)));
        assert_eq!(
            now_variable("$NOW(-1 day)", now),
            Some(Some(at("2024-06-14T12:00:00Z")))
        );
        assert_eq!(now_variable("$NOW(soon)", now), Some(None));
    }
}
