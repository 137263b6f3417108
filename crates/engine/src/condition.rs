//! The `condition` operation's filter check (operations-catalog.md §1).
//!
//! Directus runs `parseFilter(filter, accountability, {}, skipCoercion = true)` and then
//! `validatePayload(filter, chain, { requireAll: true })`: every leaf of the filter becomes a Joi schema that the
//! whole data chain is validated against, and every Joi error detail becomes a `FailedValidationError`. This
//! module reproduces that pipeline without Joi, step by step:
//!
//! 1. **parseFilter**: dynamic variables (`$NOW`, `$NOW(<±n unit>)`, the bare `$CURRENT_USER` / `$CURRENT_ROLE` /
//!    `$CURRENT_ROLES` from the trigger accountability; every `.field` form and `$CURRENT_POLICIES` give null), no
//!    coercion of `"true"` / `"false"` / `"null"`, several keys on one level become `_and`, and `_and` / `_or`
//!    nested under a field are moved up to the top.
//! 2. **validatePayload**: `_and` collects the errors of every branch; `_or` passes as soon as one branch passes and
//!    otherwise reports the errors of all branches.
//! 3. **injectFunctionResults**: `year(date)`, `count(items)`, ... keys get the function's result written into a
//!    copy of the data (lodash `get` / `set` paths, so the computed key sits next to its source field).
//! 4. **generateJoi**: only the first key of each nested level is looked at (parseFilter has made sure there is only
//!    one); nested objects are paths (a dot inside a key is **not** a path); every field on the way is required.
//! 5. **Joi validation**, with Joi's own quirks: `convert` is on (a numeric string passes a numeric comparison, a
//!    date string or a millisecond number passes a date comparison), `Joi.string()` refuses `""` for every string
//!    rule except `_regex`, `valid()` / `invalid()` compare primitives strictly and objects deeply.
//! 6. **joiValidationErrorItemToErrorExtensions** and **FailedValidationError**'s message constructor give the
//!    [`Failure`] values.
//!
//! Where Directus throws instead of reporting (schema construction asserts, `{}` filters, a `_regex` that is not a
//! valid pattern, an unknown `fn(...)` key, ...) the op rejects with a plain `Error`: that is
//! [`ConditionError::Invalid`].
//!
//! Deliberate departures from Directus (flowline fixes Directus bugs on purpose; each is repeated on the item it
//! concerns):
//! - `_nbetween` means "outside the range" (Directus builds `< a AND > b`, which nothing satisfies).
//! - A value of the wrong type (Joi `*.base`, `alternatives.types`, `number.unsafe`, `number.infinity`) is reported
//!   as `required`, as newer `@directus/validation` releases do, instead of the mapper crashing.
//! - `_contains` / `_icontains` / `_ncontains` on an array that fails are reported as `contains` / `icontains` /
//!   `ncontains` with the `substring`, where Directus's mapper throws `Couldn't extract validation error type…`
//!   (`array.includesRequiredUnknowns` / `array.excludes`) and the op rejects with a plain Error.
//! - `""` refused by a string rule (Joi `string.empty`) is reported as `nempty`.
//! - `_eq: 5` / `_neq: 5` (built as the pair `5`, `"5"`) are reported as `eq` / `neq` with the caller's operand, not as
//!   `in` / `nin` with both spellings.
//! - Dates in messages and extensions are ISO strings (`2024-01-01T00:00:00.000Z`), not JavaScript's
//!   `Date.prototype.toString()` text.
//! - The server's local time zone is taken to be UTC wherever JavaScript would use local time (date strings without
//!   an offset, `day()`, `weekday()`, `week()`, `$NOW(+1 day)` arithmetic).
//! - A date function (`year(...)`, ...) whose source is not a string yields an invalid date (NaN) instead of
//!   date-fns's `TypeError`, so the comparison fails with a normal [`Failure`].

use std::borrow::Cow;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use domain::js;
use regex::Regex;
use serde_json::{Map, Number, Value};

/// One failed check, as Directus's FailedValidationError.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// First path segment, e.g. "$trigger".
    pub field: String,
    /// The rest of the path, e.g. ["payload", "status"].
    pub path: Vec<String>,
    /// Joi-derived type: "required", "eq", "neq", "in", "nin", "lt", ..., as Directus names them.
    ///
    /// The full set: `required`, `eq`, `neq`, `in`, `nin`, `null`, `nnull`, `empty`, `nempty`, `lt`, `lte`, `gt`,
    /// `gte`, `contains`, `icontains`, `ncontains`, `starts_with`, `nstarts_with`, `istarts_with`, `nistarts_with`,
    /// `ends_with`, `nends_with`, `iends_with`, `niends_with`, `regex`.
    pub kind: String,
    /// Extra extensions: `valid`, `invalid`, `substring`, ... as Directus sets them.
    ///
    /// `valid` for `eq` / `in` / `lt` / `lte` / `gt` / `gte` (a date limit is its ISO string, Joi's `"now"` stays
    /// `"now"`), `invalid` for `neq` / `nin` and for `regex` (the tested value, as Directus reports it), `substring`
    /// for the contains and starts/ends-with families (for the latter the regex-escaped operand, as Directus
    /// extracts it from the pattern).
    pub extra: Map<String, Value>,
    /// Directus's message, e.g. `Validation failed for field "$trigger" at "payload.status". Value has to be "draft".`
    pub message: String,
}

/// Why a condition did not pass.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConditionError {
    /// The filter itself is unusable (e.g. `{}`); Directus rejects with a plain Error.
    #[error("{0}")]
    Invalid(String),
    /// The data failed the filter.
    #[error("validation failed")]
    Failed(Vec<Failure>),
}

/// Check `data` (the flow's data chain) against a condition `filter`, as the `condition` operation does.
///
/// `accountability`: the trigger's accountability object (`{"user":..., "role":..., "roles":[...]}`) or Null.
///
/// A null filter passes. `{}` (and any other filter Directus's Joi generator refuses) is
/// [`ConditionError::Invalid`].
pub fn check(filter: &Value, data: &Value, accountability: &Value) -> Result<(), ConditionError> {
    check_at(
        filter,
        data,
        accountability,
        Utc::now().timestamp_millis() as f64,
    )
}

/// [`check`] with a fixed "now" (milliseconds since the epoch).
fn check_at(
    filter: &Value,
    data: &Value,
    accountability: &Value,
    now: f64,
) -> Result<(), ConditionError> {
    if filter.is_null() {
        return Ok(());
    }
    let ctx = Ctx {
        acc: accountability,
        now,
    };
    let Some(parsed) = parse_filter(&Js::from_json(filter), &ctx)? else {
        return Ok(());
    };
    let data = Js::from_json(data);
    let errors = validate_payload(&parsed, &data, &ctx)?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConditionError::Failed(
            errors.into_iter().map(to_failure).collect(),
        ))
    }
}

fn invalid(msg: impl Into<String>) -> ConditionError {
    ConditionError::Invalid(msg.into())
}

struct Ctx<'a> {
    acc: &'a Value,
    now: f64,
}

// ---------------------------------------------------------------------------------------------------------------
// A JavaScript value: what the filter and the data are inside Directus (dates and NaN included).
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Js {
    Undefined,
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Js>),
    /// Keys in JavaScript order: array-index keys ascending first, then the others in insertion order.
    Obj(Vec<(String, Js)>),
    /// A valid `Date`, in milliseconds since the epoch.
    Date(f64),
}

const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
const MAX_TIME: f64 = 8.64e15;

impl Js {
    fn from_json(v: &Value) -> Js {
        match v {
            Value::Null => Js::Null,
            Value::Bool(b) => Js::Bool(*b),
            Value::Number(n) => Js::Num(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => Js::Str(s.clone()),
            Value::Array(a) => Js::Arr(a.iter().map(Js::from_json).collect()),
            Value::Object(m) => Js::Obj(
                js::key_order(m)
                    .into_iter()
                    .map(|(k, v)| (k.clone(), Js::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// `JSON.stringify` semantics (a date becomes its ISO string, NaN becomes null).
    fn to_json(&self) -> Value {
        match self {
            Js::Undefined | Js::Null => Value::Null,
            Js::Bool(b) => Value::Bool(*b),
            Js::Num(n) => num_json(*n),
            Js::Str(s) => Value::String(s.clone()),
            Js::Arr(a) => Value::Array(a.iter().map(Js::to_json).collect()),
            Js::Obj(o) => Value::Object(
                o.iter()
                    .filter(|(_, v)| !matches!(v, Js::Undefined))
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Js::Date(ms) => Value::String(iso_string(*ms)),
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Js::Undefined | Js::Null => false,
            Js::Bool(b) => *b,
            Js::Num(n) => js::number::truthy(*n),
            Js::Str(s) => !s.is_empty(),
            Js::Arr(_) | Js::Obj(_) | Js::Date(_) => true,
        }
    }

    /// `Object.entries` (null and undefined are ruled out by the callers).
    fn entries(&self) -> Vec<(String, Js)> {
        match self {
            Js::Obj(o) => o.clone(),
            Js::Arr(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone()))
                .collect(),
            Js::Str(s) => s
                .chars()
                .enumerate()
                .map(|(i, c)| (i.to_string(), Js::Str(c.to_string())))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `[Object.keys(x)[0], Object.values(x)[0]]`.
    fn first_entry(&self) -> Option<(String, Js)> {
        match self {
            Js::Obj(o) => o.first().map(|(k, v)| (k.clone(), v.clone())),
            Js::Arr(a) => a.first().map(|v| ("0".to_string(), v.clone())),
            Js::Str(s) => s
                .chars()
                .next()
                .map(|c| ("0".to_string(), Js::Str(c.to_string()))),
            _ => None,
        }
    }
}

fn num_json(n: f64) -> Value {
    if !n.is_finite() {
        return Value::Null;
    }
    if n.fract() == 0.0 && n.abs() < 9.2e18 {
        if n >= 0.0 {
            return Value::Number(Number::from(n as u64));
        }
        return Value::Number(Number::from(n as i64));
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

/// `String(x)`, except that a date gives its ISO string (JavaScript would give `Date.prototype.toString()`).
fn js_to_string(v: &Js) -> String {
    match v {
        Js::Undefined => "undefined".into(),
        Js::Null => "null".into(),
        Js::Bool(b) => b.to_string(),
        Js::Num(n) => js::number_string(*n),
        Js::Str(s) => s.clone(),
        Js::Arr(a) => a
            .iter()
            .map(|e| match e {
                Js::Undefined | Js::Null => String::new(),
                e => js_to_string(e),
            })
            .collect::<Vec<_>>()
            .join(","),
        Js::Obj(_) => "[object Object]".into(),
        Js::Date(ms) => iso_string(*ms),
    }
}

/// `Number(x)`.
fn js_to_number(v: &Js) -> f64 {
    match v {
        Js::Undefined | Js::Obj(_) => f64::NAN,
        Js::Null => 0.0,
        Js::Bool(b) => f64::from(u8::from(*b)),
        Js::Num(n) => *n,
        Js::Str(s) => js::string_to_number(s),
        Js::Arr(_) => js::string_to_number(&js_to_string(v)),
        Js::Date(ms) => *ms,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Dates.
// ---------------------------------------------------------------------------------------------------------------

/// `TimeClip`: an out-of-range time is an invalid date.
fn time_clip(t: f64) -> Option<f64> {
    if !t.is_finite() || t.abs() > MAX_TIME {
        return None;
    }
    Some(t.trunc() + 0.0)
}

/// `Date.prototype.toISOString()`.
fn iso_string(ms: f64) -> String {
    let Some(dt) = DateTime::<Utc>::from_timestamp_millis(ms as i64) else {
        return "Invalid Date".into();
    };
    let rest = dt.format("%m-%dT%H:%M:%S%.3fZ");
    let y = dt.year();
    if (0..=9999).contains(&y) {
        format!("{y:04}-{rest}")
    } else {
        let sign = if y < 0 { '-' } else { '+' };
        format!("{sign}{:06}-{rest}", y.abs())
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    match (
        NaiveDate::from_ymd_opt(ny, nm, 1),
        NaiveDate::from_ymd_opt(year, month, 1),
    ) {
        (Some(a), Some(b)) => (a - b).num_days() as u32,
        _ => 31,
    }
}

fn ymd_hms_ms(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, frac_ms: f64) -> Option<f64> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || mi > 59 || s > 59 {
        return None;
    }
    if h > 24 || (h == 24 && (mi != 0 || s != 0 || frac_ms != 0.0)) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y, mo, d)?;
    let day_start = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() as f64;
    Some(
        day_start
            + f64::from(h) * 3_600_000.0
            + f64::from(mi) * 60_000.0
            + f64::from(s) * 1000.0
            + frac_ms,
    )
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// Exactly `n` digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let s = self.b.get(self.i..self.i + n)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        std::str::from_utf8(s).ok()?.parse().ok()
    }
    fn digit_run(&mut self) -> &[u8] {
        let s = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        &self.b[s..self.i]
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
}

/// ISO 8601 as JavaScript's `Date` and date-fns's `parseISO` read it: `YYYY[-MM[-DD]]` or `YYYYMMDD` (or a signed
/// six-digit year), then optionally `T`/space + `HH[:mm[:ss[.fff]]]` (colons optional), then optionally `Z`,
/// `±HH`, `±HH:mm` or `±HHmm`. Without an offset the time is UTC (the server's local zone is taken to be UTC).
fn parse_iso(s: &str) -> Option<f64> {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let year: i32 = match c.peek()? {
        sign @ (b'+' | b'-') => {
            c.i += 1;
            let y = c.digits(6)? as i32;
            if sign == b'-' { -y } else { y }
        }
        _ => c.digits(4)? as i32,
    };
    let (mut month, mut day) = (1, 1);
    if c.eat(b'-') {
        month = c.digits(2)?;
        if c.eat(b'-') {
            day = c.digits(2)?;
        }
    } else if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        month = c.digits(2)?;
        day = c.digits(2)?;
    }
    let (mut h, mut mi, mut sec, mut frac) = (0, 0, 0, 0.0);
    let mut offset_min: i64 = 0;
    if matches!(c.peek(), Some(b'T' | b't' | b' '))
        && c.b.get(c.i + 1).is_some_and(u8::is_ascii_digit)
    {
        c.i += 1;
        h = c.digits(2)?;
        let colon = c.eat(b':');
        if colon || c.peek().is_some_and(|b| b.is_ascii_digit()) {
            mi = c.digits(2)?;
            let colon2 = c.eat(b':');
            if colon2 || c.peek().is_some_and(|b| b.is_ascii_digit()) {
                sec = c.digits(2)?;
                if c.eat(b'.') || c.eat(b',') {
                    let f = c.digit_run();
                    if f.is_empty() {
                        return None;
                    }
                    let text = format!("0.{}", std::str::from_utf8(f).ok()?);
                    frac = (text.parse::<f64>().ok()? * 1000.0).trunc();
                }
            }
        }
        while c.eat(b' ') {}
        match c.peek() {
            Some(b'Z' | b'z') => c.i += 1,
            Some(sign @ (b'+' | b'-')) => {
                c.i += 1;
                let oh = i64::from(c.digits(2)?);
                let om = if c.eat(b':') || c.peek().is_some_and(|b| b.is_ascii_digit()) {
                    i64::from(c.digits(2)?)
                } else {
                    0
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                offset_min = (oh * 60 + om) * if sign == b'-' { -1 } else { 1 };
            }
            _ => {}
        }
    } else if c.eat(b'Z') || c.eat(b'z') {
        // A bare date with `Z`.
    }
    if !c.done() {
        return None;
    }
    let ms = ymd_hms_ms(year, month, day, h, mi, sec, frac)? - (offset_min as f64) * 60_000.0;
    time_clip(ms)
}

/// `YYYY/MM/DD` or `MM/DD/YYYY`, optionally followed by ` HH:mm[:ss]` (V8's fallback parser accepts these).
fn parse_slash_date(s: &str) -> Option<f64> {
    let (date, time) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split('/').collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let num = |x: &str| -> Option<u32> {
        if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        x.parse().ok()
    };
    let (y, m, d) = if a.len() == 4 {
        (num(a)? as i32, num(b)?, num(c)?)
    } else {
        (num(c)? as i32, num(a)?, num(b)?)
    };
    let (mut h, mut mi, mut sec) = (0, 0, 0);
    if let Some(t) = time {
        let tp: Vec<&str> = t.split(':').collect();
        match tp.as_slice() {
            [th, tm] => {
                h = num(th)?;
                mi = num(tm)?;
            }
            [th, tm, ts] => {
                h = num(th)?;
                mi = num(tm)?;
                sec = num(ts)?;
            }
            _ => return None,
        }
    }
    time_clip(ymd_hms_ms(y, m, d, h, mi, sec, 0.0)?)
}

/// `new Date(string)` for a non-numeric string: ISO 8601, RFC 2822, or a slash date. Other formats V8's lenient
/// parser would accept (month names without a weekday, ...) are not recognised.
fn parse_date_string(s: &str) -> Option<f64> {
    let t = js::trim(s);
    if let Some(ms) = parse_iso(t) {
        return Some(ms);
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(t) {
        return time_clip(dt.timestamp_millis() as f64);
    }
    parse_slash_date(t)
}

/// Joi's date coercion of a value being validated (only numbers and strings are converted).
fn coerce_date(v: &Js) -> Option<f64> {
    match v {
        Js::Date(ms) => Some(*ms),
        Js::Num(n) => time_clip(*n),
        Js::Str(s) => {
            if s.chars().all(js::is_whitespace) {
                return None;
            }
            if is_plain_decimal(s) {
                return time_clip(s.parse::<f64>().ok()?);
            }
            parse_date_string(s)
        }
        _ => None,
    }
}

/// `/^[+-]?\d+(\.\d+)?$/`: Joi reads such a string as a millisecond timestamp.
fn is_plain_decimal(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// A date comparison limit: a fixed time, or Joi's `"now"` (the time of validation).
#[derive(Debug, Clone, Copy)]
enum Lim {
    Ms(f64),
    Now,
}

impl Lim {
    fn at(self, now: f64) -> f64 {
        match self {
            Lim::Ms(ms) => ms,
            Lim::Now => now,
        }
    }
    fn to_js(self) -> Js {
        match self {
            Lim::Ms(ms) => Js::Date(ms),
            Lim::Now => Js::Str("now".into()),
        }
    }
}

/// Joi's normalisation of a date rule argument (`internals.parse`); `None` makes Joi's assertion throw.
fn date_limit(v: Option<&Js>) -> Option<Lim> {
    match v? {
        Js::Str(s) if s == "now" => Some(Lim::Now),
        other @ (Js::Str(_) | Js::Num(_) | Js::Date(_)) => coerce_date(other).map(Lim::Ms),
        Js::Bool(b) => Some(Lim::Ms(f64::from(u8::from(*b)))),
        Js::Null => Some(Lim::Ms(0.0)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// parseFilter.
// ---------------------------------------------------------------------------------------------------------------

/// `parseFilter(filter, accountability, {}, skipCoercion = true)`; `None` is a null filter.
fn parse_filter(filter: &Js, ctx: &Ctx) -> Result<Option<Js>, ConditionError> {
    let parsed = parse_recursive(filter, ctx)?;
    if matches!(parsed, Js::Null) {
        return Ok(None);
    }
    shift_logical_operators_up(&parsed).map(Some)
}

fn parse_recursive(filter: &Js, ctx: &Ctx) -> Result<Js, ConditionError> {
    match filter {
        Js::Null | Js::Undefined => Ok(Js::Null),
        Js::Obj(_) | Js::Arr(_) | Js::Date(_) => {
            let mut filters = filter
                .entries()
                .into_iter()
                .map(|(k, v)| parse_entry(k, &v, ctx))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(match filters.len() {
                0 => Js::Obj(Vec::new()),
                1 => filters.pop().unwrap_or(Js::Null),
                _ => Js::Obj(vec![("_and".into(), Js::Arr(filters))]),
            })
        }
        other => Ok(Js::Obj(vec![("_eq".into(), dynamic(other, ctx))])),
    }
}

fn type_error_map(v: &Js) -> ConditionError {
    match v {
        Js::Null => invalid("Cannot read properties of null (reading 'map')"),
        Js::Undefined => invalid("Cannot read properties of undefined (reading 'map')"),
        _ => invalid("value.map is not a function"),
    }
}

fn parse_entry(key: String, value: &Js, ctx: &Ctx) -> Result<Js, ConditionError> {
    let parsed = match key.as_str() {
        "_or" | "_and" => {
            let Js::Arr(items) = value else {
                return Err(type_error_map(value));
            };
            Js::Arr(
                items
                    .iter()
                    .map(|f| parse_recursive(f, ctx))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        }
        "_in" | "_nin" | "_between" | "_nbetween" => {
            // isObject(value) ? Object.values(value) : value, then toArray (a string is split on commas), then
            // flatMap(parseDynamicVariable).
            let list: Vec<Js> = match value {
                Js::Obj(o) => o.iter().map(|(_, v)| v.clone()).collect(),
                Js::Date(_) => Vec::new(),
                Js::Str(s) => s.split(',').map(|p| Js::Str(p.to_string())).collect(),
                Js::Arr(a) => a.clone(),
                other => vec![other.clone()],
            };
            let mut out = Vec::with_capacity(list.len());
            for item in &list {
                match dynamic(item, ctx) {
                    Js::Arr(inner) => out.extend(inner),
                    other => out.push(other),
                }
            }
            Js::Arr(out)
        }
        "_intersects" | "_nintersects" | "_intersects_bbox" | "_nintersects_bbox" => {
            let v = match value {
                Js::Str(s) => match serde_json::from_str::<Value>(s) {
                    Ok(parsed) => Js::from_json(&parsed),
                    Err(e) => return Err(invalid(format!("Unexpected token in JSON: {e}"))),
                },
                other => other.clone(),
            };
            dynamic(&v, ctx)
        }
        "_json" => match value {
            Js::Null | Js::Undefined => {
                return Err(invalid("Cannot convert undefined or null to object"));
            }
            other => other.clone(),
        },
        k if k.starts_with('_') && k != "_none" && k != "_some" => dynamic(value, ctx),
        _ => parse_recursive(value, ctx)?,
    };
    Ok(Js::Obj(vec![(key, parsed)]))
}

/// `parseDynamicVariable`.
fn dynamic(v: &Js, ctx: &Ctx) -> Js {
    let Js::Str(s) = v else {
        return v.clone();
    };
    let now = DateTime::<Utc>::from_timestamp_millis(ctx.now as i64).unwrap_or_default();
    if let Some(at) = js::date::now_variable(s, now) {
        return at.map_or(Js::Undefined, |t| Js::Date(t.timestamp_millis() as f64));
    }
    let from_accountability = |name: &str, key: &str| -> Js {
        if s != name {
            // `$CURRENT_USER.<field>` and friends: no context is loaded for conditions.
            return Js::Null;
        }
        match ctx.acc.get(key) {
            None | Some(Value::Null) => Js::Null,
            Some(v) => Js::from_json(v),
        }
    };
    if s.starts_with("$CURRENT_USER") {
        return from_accountability("$CURRENT_USER", "user");
    }
    if s.starts_with("$CURRENT_ROLES") {
        return from_accountability("$CURRENT_ROLES", "roles");
    }
    if s.starts_with("$CURRENT_ROLE") {
        return from_accountability("$CURRENT_ROLE", "role");
    }
    if s.starts_with("$CURRENT_POLICIES") {
        return Js::Null;
    }
    v.clone()
}

fn is_logical(key: &str) -> bool {
    key == "_and" || key == "_or"
}

fn shift_logical_operators_up(filter: &Js) -> Result<Js, ConditionError> {
    if matches!(filter, Js::Null | Js::Undefined) {
        return Err(invalid("Cannot convert undefined or null to object"));
    }
    let Some((key, value)) = filter.first_entry() else {
        return Ok(filter.clone());
    };
    if is_logical(&key) {
        let Js::Arr(items) = value else {
            return Err(type_error_map(&value));
        };
        let shifted = items
            .iter()
            .map(shift_logical_operators_up)
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Js::Obj(vec![(key, Js::Arr(shifted))]));
    }
    if key.starts_with('_') {
        return Ok(filter.clone());
    }
    let child = shift_logical_operators_up(&value)?;
    let Some((child_key, child_value)) = child.first_entry() else {
        return Ok(Js::Obj(vec![(key, child)]));
    };
    if is_logical(&child_key) {
        let Js::Arr(items) = child_value else {
            return Err(type_error_map(&child_value));
        };
        let wrapped = items
            .into_iter()
            .map(|nested| Js::Obj(vec![(key.clone(), nested)]))
            .collect();
        return shift_logical_operators_up(&Js::Obj(vec![(child_key, Js::Arr(wrapped))]));
    }
    Ok(Js::Obj(vec![(key, child)]))
}

// ---------------------------------------------------------------------------------------------------------------
// validatePayload.
// ---------------------------------------------------------------------------------------------------------------

fn validate_payload(filter: &Js, data: &Js, ctx: &Ctx) -> Result<Vec<JoiErr>, ConditionError> {
    let first = match filter {
        Js::Null | Js::Undefined => {
            return Err(invalid("Cannot convert undefined or null to object"));
        }
        f => f.first_entry(),
    };
    match first {
        Some((key, subs)) if key == "_and" => {
            let Js::Arr(subs) = subs else {
                return Err(invalid("subValidation.map is not a function"));
            };
            let mut errors = Vec::new();
            for sub in &subs {
                errors.extend(validate_payload(sub, data, ctx)?);
            }
            Ok(errors)
        }
        Some((key, subs)) if key == "_or" => {
            let Js::Arr(subs) = subs else {
                return Err(invalid("subValidation.some is not a function"));
            };
            let mut swallowed = Vec::new();
            for sub in &subs {
                let errors = validate_payload(sub, data, ctx)?;
                if errors.is_empty() {
                    return Ok(Vec::new());
                }
                swallowed.extend(errors);
            }
            Ok(swallowed)
        }
        _ => {
            let data = inject_function_results(data, filter)?;
            let schema = generate_joi(filter)?;
            let mut out = Vec::new();
            run_key(&schema, &data, &mut Vec::new(), &mut out, ctx.now);
            Ok(out)
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// injectFunctionResults.
// ---------------------------------------------------------------------------------------------------------------

struct FnCall {
    /// Where the result goes (lodash path of the filter key).
    set_path: String,
    /// Where the source value is read (lodash path of the field between the parentheses).
    get_path: String,
    name: String,
}

fn collect_functions(filter: &Js, parent: Option<&str>, out: &mut Vec<FnCall>) {
    let Js::Obj(entries) = filter else {
        return;
    };
    for (key, value) in entries {
        let path = match parent {
            Some(p) => format!("{p}.{key}"),
            None => key.clone(),
        };
        if !key.starts_with('_') && matches!(value, Js::Obj(_)) {
            collect_functions(value, Some(&path), out);
        }
        if key.contains('(') && key.contains(')') {
            let name = key.split('(').next().unwrap_or_default();
            let Some(field) = js::text::parenthesised(key) else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let get_path = match parent {
                Some(p) => format!("{p}.{field}"),
                None => field.to_string(),
            };
            out.push(FnCall {
                set_path: path,
                get_path,
                name: name.to_string(),
            });
        }
    }
}

fn inject_function_results<'a>(data: &'a Js, filter: &Js) -> Result<Cow<'a, Js>, ConditionError> {
    let mut calls = Vec::new();
    collect_functions(filter, None, &mut calls);
    if calls.is_empty() {
        return Ok(Cow::Borrowed(data));
    }
    let mut out = data.clone();
    for call in calls {
        let source = lodash_get(&out, &call.get_path);
        let result = apply_function(&call.name, &source)?;
        let segments = lodash_path(&out, &call.set_path);
        lodash_set(&mut out, &segments, result);
    }
    Ok(Cow::Owned(out))
}

/// `functions[name](value)` from `@directus/utils`.
fn apply_function(name: &str, value: &Js) -> Result<Js, ConditionError> {
    if name == "count" {
        return Ok(match value {
            Js::Arr(a) => Js::Num(a.len() as f64),
            _ => Js::Null,
        });
    }
    if !matches!(
        name,
        "year" | "month" | "week" | "day" | "weekday" | "hour" | "minute" | "second"
    ) {
        return Err(invalid("functions[functionName] is not a function"));
    }
    // date-fns parseISO; a non-string source gives an invalid date here (date-fns throws a TypeError).
    let dt = match value {
        Js::Str(s) => parse_iso(s).and_then(|ms| DateTime::<Utc>::from_timestamp_millis(ms as i64)),
        _ => None,
    };
    let Some(dt) = dt else {
        return Ok(Js::Num(f64::NAN));
    };
    let n = match name {
        "year" => f64::from(dt.year()),
        "month" => f64::from(dt.month()),
        "week" => f64::from(week_of_year(dt.date_naive())),
        "day" => f64::from(dt.day()),
        "weekday" => f64::from(dt.weekday().num_days_from_sunday()),
        "hour" => f64::from(dt.hour()),
        "minute" => f64::from(dt.minute()),
        _ => f64::from(dt.second()),
    };
    Ok(Js::Num(n))
}

/// date-fns `getWeek` with its defaults (weeks start on Sunday, week 1 contains January 1st).
fn week_of_year(d: NaiveDate) -> u32 {
    fn start_of_week(d: NaiveDate) -> NaiveDate {
        d - chrono::Duration::days(i64::from(d.weekday().num_days_from_sunday()))
    }
    fn jan1(y: i32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, 1, 1)
    }
    let y = d.year();
    let (Some(this), Some(next), Some(prev)) = (jan1(y), jan1(y + 1), jan1(y - 1)) else {
        return 1;
    };
    let week_year_start = if d >= start_of_week(next) {
        start_of_week(next)
    } else if d >= start_of_week(this) {
        start_of_week(this)
    } else {
        start_of_week(prev)
    };
    let days = (start_of_week(d) - week_year_start).num_days();
    (days as f64 / 7.0).round() as u32 + 1
}

/// lodash `castPath`: a direct key of the root, a plain word, or `stringToPath`.
fn lodash_path(root: &Js, path: &str) -> Vec<String> {
    let plain = path.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let deep = path.contains('.') || (path.contains('[') && path.contains(']'));
    let own = matches!(root, Js::Obj(o) if o.iter().any(|(k, _)| k == path));
    if plain || !deep || own {
        return vec![path.to_string()];
    }
    string_to_path(path)
}

/// lodash `stringToPath`.
fn string_to_path(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    if chars.first() == Some(&'.') {
        out.push(String::new());
    }
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '['
            && let Some((seg, len)) = bracket_segment(&chars[i..])
        {
            out.push(seg);
            i += len;
            continue;
        }
        if c == '.' || c == '[' || c == ']' {
            // The empty-match alternative: `(?=(?:\.|\[\])(?:\.|\[\]|$))`.
            let here = &chars[i..];
            let first_len = if here.first() == Some(&'.') {
                Some(1)
            } else if here.starts_with(&['[', ']']) {
                Some(2)
            } else {
                None
            };
            if let Some(l) = first_len {
                let after = &here[l..];
                if after.is_empty() || after.first() == Some(&'.') || after.starts_with(&['[', ']'])
                {
                    out.push(String::new());
                }
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !matches!(chars[i], '.' | '[' | ']') {
            i += 1;
        }
        out.push(chars[start..i].iter().collect());
    }
    out
}

/// `\[(?:(-?\d+(?:\.\d+)?)|(["'])((?:(?!\2)[^\\]|\\.)*?)\2)\]` at the start of `chars`.
fn bracket_segment(chars: &[char]) -> Option<(String, usize)> {
    let mut i = 1;
    match chars.get(i)? {
        q @ ('"' | '\'') => {
            let q = *q;
            i += 1;
            let mut seg = String::new();
            loop {
                let c = *chars.get(i)?;
                if c == '\\' {
                    let n = *chars.get(i + 1)?;
                    // reEscapeChar: `\\(\\)?` → `$1`
                    if n == '\\' {
                        seg.push('\\');
                    } else {
                        seg.push(n);
                    }
                    i += 2;
                } else if c == q {
                    break;
                } else {
                    seg.push(c);
                    i += 1;
                }
            }
            i += 1;
            (chars.get(i) == Some(&']')).then(|| (seg, i + 1))
        }
        _ => {
            let start = i;
            if chars.get(i) == Some(&'-') {
                i += 1;
            }
            let ds = i;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            if i == ds {
                return None;
            }
            if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                i += 1;
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
            }
            (chars.get(i) == Some(&']')).then(|| (chars[start..i].iter().collect(), i + 1))
        }
    }
}

fn lodash_is_index(s: &str) -> bool {
    (s == "0" || (!s.starts_with('0') && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())))
        && s.parse::<f64>().is_ok_and(|n| n < MAX_SAFE)
}

/// lodash `get`.
fn lodash_get(root: &Js, path: &str) -> Js {
    let mut cur = root.clone();
    for seg in lodash_path(root, path) {
        cur = match &cur {
            Js::Obj(o) => o
                .iter()
                .find(|(k, _)| *k == seg)
                .map_or(Js::Undefined, |(_, v)| v.clone()),
            Js::Arr(a) if seg == "length" => Js::Num(a.len() as f64),
            Js::Arr(a) => {
                if lodash_is_index(&seg) {
                    seg.parse::<usize>()
                        .ok()
                        .and_then(|i| a.get(i))
                        .cloned()
                        .unwrap_or(Js::Undefined)
                } else {
                    Js::Undefined
                }
            }
            Js::Str(s) if seg == "length" => Js::Num(s.encode_utf16().count() as f64),
            _ => Js::Undefined,
        };
        if matches!(cur, Js::Undefined) {
            break;
        }
    }
    cur
}

/// lodash `set`: missing or primitive intermediates become `{}` (or `[]` before an index).
fn lodash_set(node: &mut Js, segments: &[String], value: Js) {
    let Some((key, rest)) = segments.split_first() else {
        return;
    };
    if key == "__proto__" || key == "constructor" || key == "prototype" {
        return;
    }
    if rest.is_empty() {
        assign(node, key, value);
        return;
    }
    let existing = match node {
        Js::Obj(o) => o.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()),
        Js::Arr(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)).cloned(),
        _ => None,
    };
    let mut child = match existing {
        Some(v @ (Js::Obj(_) | Js::Arr(_) | Js::Date(_))) => v,
        _ if rest.first().is_some_and(|r| lodash_is_index(r)) => Js::Arr(Vec::new()),
        _ => Js::Obj(Vec::new()),
    };
    lodash_set(&mut child, rest, value);
    assign(node, key, child);
}

fn assign(node: &mut Js, key: &str, value: Js) {
    match node {
        Js::Obj(o) => match o.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => o.push((key.to_string(), value)),
        },
        Js::Arr(a) if lodash_is_index(key) => {
            if let Ok(i) = key.parse::<usize>() {
                if i >= a.len() {
                    a.resize(i + 1, Js::Undefined);
                }
                a[i] = value;
            }
        }
        // A named property on an array, or a property on a primitive: not representable / a no-op.
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------------------------
// generateJoi: the schema of one (non-logical) filter.
// ---------------------------------------------------------------------------------------------------------------

/// `Joi.object({ [key]: rule.required() }).unknown()`.
#[derive(Debug)]
struct KeySchema {
    key: String,
    rule: Rule,
}

#[derive(Debug)]
enum Rule {
    Nested(Box<KeySchema>),
    Leaf(Leaf),
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    fn kind(self) -> &'static str {
        match self {
            Cmp::Gt => "gt",
            Cmp::Gte => "gte",
            Cmp::Lt => "lt",
            Cmp::Lte => "lte",
        }
    }
    fn test(self, v: f64, limit: f64) -> bool {
        match self {
            Cmp::Gt => v > limit,
            Cmp::Gte => v >= limit,
            Cmp::Lt => v < limit,
            Cmp::Lte => v <= limit,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum SubMode {
    Contains,
    IContains,
    NContains,
}

impl SubMode {
    fn kind(self) -> &'static str {
        match self {
            SubMode::Contains => "contains",
            SubMode::IContains => "icontains",
            SubMode::NContains => "ncontains",
        }
    }
    /// Whether `s` holds `sub` (case-insensitively for `IContains`).
    fn holds(self, s: &str, sub: &str) -> bool {
        match self {
            SubMode::IContains => s.to_lowercase().contains(&sub.to_lowercase()),
            _ => s.contains(sub),
        }
    }
}

#[derive(Debug)]
enum Affix {
    Prefix(String),
    Suffix(String),
    Insensitive(Regex),
}

#[derive(Debug)]
enum Leaf {
    /// No rule, only presence.
    Any,
    /// `valid(...)`: eq, in, null, empty, and `equal(true)` for non-string operands.
    Only(Vec<Js>),
    /// `invalid(...)`: neq, nin, nnull, nempty.
    Not(Vec<Js>),
    /// `_contains` / `_icontains` / `_ncontains`: a string, or an array of strings.
    Contains(SubMode, String),
    /// The starts/ends-with family (Joi named patterns).
    Affix {
        name: &'static str,
        affix: Affix,
        invert: bool,
        display: String,
    },
    Number(Vec<(Cmp, f64)>),
    Date(Vec<(Cmp, Lim)>),
    /// `_nbetween` on numbers: outside `[a, b]`.
    NotBetweenNumber(f64, f64),
    /// `_nbetween` on dates: outside `[a, b]`.
    NotBetweenDate(Lim, Lim),
    Regex(Regex),
}

fn generate_joi(filter: &Js) -> Result<KeySchema, ConditionError> {
    let shown = if filter.truthy() {
        filter.clone()
    } else {
        Js::Obj(Vec::new())
    };
    let Some((key, value)) = shown.first_entry() else {
        return Err(invalid(format!(
            "[generateJoi] Filter doesn't contain field key. Passed filter: {}",
            shown.to_json()
        )));
    };
    if !value.truthy() {
        return Err(invalid(format!(
            "[generateJoi] Filter doesn't contain filter rule. Passed filter: {}",
            shown.to_json()
        )));
    }
    if let Js::Obj(entries) = &value
        && entries.first().is_some_and(|(k, _)| !k.starts_with('_'))
    {
        return Ok(KeySchema {
            key,
            rule: Rule::Nested(Box::new(generate_joi(&value)?)),
        });
    }
    let leaf = match value.first_entry() {
        Some((operator, compare)) => build_leaf(&operator, &compare)?,
        None => Leaf::Any,
    };
    Ok(KeySchema {
        key,
        rule: Rule::Leaf(leaf),
    })
}

/// Joi's `valid` / `invalid` argument handling: `verifyFlat`, the `undefined` assertion, set semantics.
fn joi_values(values: Vec<Js>, method: &str) -> Result<Vec<Js>, ConditionError> {
    if values.iter().any(|v| matches!(v, Js::Arr(_))) {
        return Err(invalid(format!(
            "Method no longer accepts array arguments: {method}"
        )));
    }
    let mut out: Vec<Js> = Vec::with_capacity(values.len());
    for v in values {
        if matches!(v, Js::Undefined) {
            return Err(invalid("Cannot call allow/valid/invalid with undefined"));
        }
        if !out.iter().any(|o| same_value_zero(o, &v)) {
            out.push(v);
        }
    }
    Ok(out)
}

/// `Set.has` identity for primitives (objects are never the same value here).
fn same_value_zero(a: &Js, b: &Js) -> bool {
    match (a, b) {
        (Js::Null, Js::Null) => true,
        (Js::Bool(x), Js::Bool(y)) => x == y,
        (Js::Num(x), Js::Num(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Js::Str(x), Js::Str(y)) => x == y,
        _ => false,
    }
}

/// `_eq` / `_neq` values: the operand plus its number/string twin (`5` and `"5"`); `null`, `""`, `true` and
/// `false` have no twin.
fn loose_values(compare: &Js) -> Vec<Js> {
    let twin = match compare {
        Js::Num(n) => Some(Js::Str(js::number_string(*n))),
        Js::Null | Js::Bool(_) => None,
        Js::Str(s) if s.is_empty() => None,
        other => {
            let n = js_to_number(other);
            (!n.is_nan()).then_some(Js::Num(n))
        }
    };
    std::iter::once(compare.clone()).chain(twin).collect()
}

fn spread(compare: &Js) -> Vec<Js> {
    match compare {
        Js::Arr(a) => a.clone(),
        other => vec![other.clone()],
    }
}

/// `isDate` of the comparison operators: a `Date`, or anything `Number()` can't read.
fn compare_is_date(compare: &Js) -> bool {
    matches!(compare, Js::Date(_)) || js_to_number(compare).is_nan()
}

fn number_limit(v: Option<&Js>) -> Result<f64, ConditionError> {
    let n = v.map_or(f64::NAN, js_to_number);
    if n.is_nan() {
        return Err(invalid("limit must be a number or reference"));
    }
    Ok(n)
}

fn date_limit_or_err(v: Option<&Js>) -> Result<Lim, ConditionError> {
    date_limit(v).ok_or_else(|| invalid("date must have a valid date format or reference"))
}

/// `_between` / `_nbetween`: numeric when every bound is a safe number (and not a date).
fn range_bounds(compare: &Js) -> Result<Option<(f64, f64)>, ConditionError> {
    let Js::Arr(items) = compare else {
        return Err(invalid("compareValue.every is not a function"));
    };
    let numeric = items.iter().all(|v| {
        let n = if matches!(v, Js::Date(_)) {
            f64::NAN
        } else {
            js_to_number(v)
        };
        !n.is_nan() && n.abs() <= MAX_SAFE
    });
    if numeric {
        Ok(Some((
            number_limit(items.first())?,
            number_limit(items.get(1))?,
        )))
    } else {
        Ok(None)
    }
}

fn date_bounds(compare: &Js) -> Result<(Lim, Lim), ConditionError> {
    let items = spread(compare);
    Ok((
        date_limit_or_err(items.first())?,
        date_limit_or_err(items.get(1))?,
    ))
}

/// lodash `escapeRegExp`, then the escaping `RegExp.prototype.source` adds (`/` and line terminators): what
/// Directus's mapper cuts out of the pattern's `toString()` as `substring`.
fn escaped_pattern_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '^' | '$' | '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn build_leaf(operator: &str, compare: &Js) -> Result<Leaf, ConditionError> {
    Ok(match operator {
        "_eq" => Leaf::Only(joi_values(loose_values(compare), "valid")?),
        "_neq" => Leaf::Not(joi_values(loose_values(compare), "invalid")?),
        "_contains" | "_icontains" | "_ncontains" => match compare {
            Js::Str(s) => {
                let mode = match operator {
                    "_contains" => SubMode::Contains,
                    "_icontains" => SubMode::IContains,
                    _ => SubMode::NContains,
                };
                Leaf::Contains(mode, s.clone())
            }
            _ => Leaf::Only(vec![Js::Bool(true)]),
        },
        "_starts_with" | "_nstarts_with" | "_istarts_with" | "_nistarts_with" | "_ends_with"
        | "_nends_with" | "_iends_with" | "_niends_with" => match compare {
            Js::Str(s) => {
                let name: &'static str = match operator {
                    "_starts_with" => "starts_with",
                    "_nstarts_with" => "nstarts_with",
                    "_istarts_with" => "istarts_with",
                    "_nistarts_with" => "nistarts_with",
                    "_ends_with" => "ends_with",
                    "_nends_with" => "nends_with",
                    "_iends_with" => "iends_with",
                    _ => "niends_with",
                };
                let prefix = name.ends_with("starts_with");
                let insensitive = name.starts_with('i') || name.starts_with("ni");
                let affix = if insensitive {
                    let pattern = if prefix {
                        format!("(?i)^{}", regex::escape(s))
                    } else {
                        format!("(?i){}$", regex::escape(s))
                    };
                    Affix::Insensitive(Regex::new(&pattern).map_err(|e| invalid(e.to_string()))?)
                } else if prefix {
                    Affix::Prefix(s.clone())
                } else {
                    Affix::Suffix(s.clone())
                };
                Leaf::Affix {
                    name,
                    affix,
                    invert: name.starts_with('n'),
                    display: escaped_pattern_text(s),
                }
            }
            _ => Leaf::Only(vec![Js::Bool(true)]),
        },
        "_in" => {
            let values = joi_values(spread(compare), "valid")?;
            if values.is_empty() {
                Leaf::Any
            } else {
                Leaf::Only(values)
            }
        }
        "_nin" => {
            let values = joi_values(spread(compare), "invalid")?;
            if values.is_empty() {
                Leaf::Any
            } else {
                Leaf::Not(values)
            }
        }
        "_gt" | "_gte" | "_lt" | "_lte" => {
            let cmp = match operator {
                "_gt" => Cmp::Gt,
                "_gte" => Cmp::Gte,
                "_lt" => Cmp::Lt,
                _ => Cmp::Lte,
            };
            if compare_is_date(compare) {
                Leaf::Date(vec![(cmp, date_limit_or_err(Some(compare))?)])
            } else {
                Leaf::Number(vec![(cmp, number_limit(Some(compare))?)])
            }
        }
        "_null" => Leaf::Only(vec![Js::Null]),
        "_nnull" => Leaf::Not(vec![Js::Null]),
        "_empty" => Leaf::Only(vec![Js::Str(String::new())]),
        "_nempty" => Leaf::Not(vec![Js::Str(String::new())]),
        "_between" => match range_bounds(compare)? {
            Some((a, b)) => Leaf::Number(vec![(Cmp::Gte, a), (Cmp::Lte, b)]),
            None => {
                let (a, b) = date_bounds(compare)?;
                Leaf::Date(vec![(Cmp::Gte, a), (Cmp::Lte, b)])
            }
        },
        // Directus builds `less(a).greater(b)`, which no value satisfies when a < b (a bug). flowline implements
        // the intended meaning, "outside [a, b]", and reports a value inside the range the way Joi reports it
        // for Directus's schema: `lt a` and `gt b`.
        "_nbetween" => match range_bounds(compare)? {
            Some((a, b)) => Leaf::NotBetweenNumber(a, b),
            None => {
                let (a, b) = date_bounds(compare)?;
                Leaf::NotBetweenDate(a, b)
            }
        },
        "_regex" => match compare {
            Js::Null | Js::Undefined => Leaf::Only(vec![Js::Bool(true)]),
            other => {
                let source = js_to_string(other);
                let wrapped = matches!(other, Js::Str(s) if s.starts_with('/') && s.ends_with('/'));
                let source = if wrapped {
                    source
                        .get(1..source.len().saturating_sub(1))
                        .unwrap_or_default()
                        .to_string()
                } else {
                    source
                };
                let re = Regex::new(&js_regex_to_rust(&source))
                    .map_err(|e| invalid(format!("Invalid regular expression: /{source}/: {e}")))?;
                Leaf::Regex(re)
            }
        },
        // `_submitted` (only presence), `_some`, `_none`, `_ieq`, `_nieq`, `_nicontains`, `_json`, geo operators,
        // anything unknown: no rule.
        _ => Leaf::Any,
    })
}

/// A JavaScript `RegExp` source (no flags) as a `regex` crate pattern: ASCII `\d` / `\w` / `\b`, `.` without line
/// terminators, `\uXXXX`, `\cX`, empty classes, literal braces. Look-around and back-references are not supported
/// by the `regex` crate: such a pattern is [`ConditionError::Invalid`].
fn js_regex_to_rust(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 16);
    let mut in_class = false;
    let mut i = 0;
    let hex = |from: usize, n: usize| -> Option<u32> {
        let s: String = chars.get(from..from + n)?.iter().collect();
        if s.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(&s, 16).ok()
        } else {
            None
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                i += 1;
                let Some(&n) = chars.get(i) else {
                    out.push('\\');
                    break;
                };
                match n {
                    'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                    'D' => out.push_str(if in_class { "\\D" } else { "[^0-9]" }),
                    'w' => out.push_str(if in_class {
                        "0-9A-Za-z_"
                    } else {
                        "[0-9A-Za-z_]"
                    }),
                    'W' => out.push_str(if in_class { "\\W" } else { "[^0-9A-Za-z_]" }),
                    'b' => out.push_str(if in_class { "\\x08" } else { "(?-u:\\b)" }),
                    'B' if !in_class => out.push_str("(?-u:\\B)"),
                    'u' => match hex(i + 1, 4) {
                        Some(code) => {
                            out.push_str(&format!("\\x{{{code:X}}}"));
                            i += 4;
                        }
                        None => out.push('u'),
                    },
                    'x' => match hex(i + 1, 2) {
                        Some(code) => {
                            out.push_str(&format!("\\x{{{code:X}}}"));
                            i += 2;
                        }
                        None => out.push('x'),
                    },
                    'c' => match chars.get(i + 1) {
                        Some(l) if l.is_ascii_alphabetic() => {
                            out.push_str(&format!("\\x{{{:X}}}", (*l as u32) % 32));
                            i += 1;
                        }
                        _ => out.push_str("\\\\c"),
                    },
                    '0' if !chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                        out.push_str("\\x{0}")
                    }
                    n if n.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(n);
                    }
                    n => out.push_str(&regex::escape(&n.to_string())),
                }
            }
            '[' if !in_class => {
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("[^\\x{0}-\\x{10FFFF}]");
                    i += 2;
                    continue;
                }
                if chars.get(i + 1) == Some(&'^') && chars.get(i + 2) == Some(&']') {
                    out.push_str("[\\x{0}-\\x{10FFFF}]");
                    i += 3;
                    continue;
                }
                in_class = true;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            ']' => out.push_str("\\]"),
            '.' if !in_class => out.push_str("[^\\n\\r\\x{2028}\\x{2029}]"),
            '{' if !in_class => match quantifier_len(&chars[i..]) {
                Some(len) => {
                    out.extend(&chars[i..i + len]);
                    i += len;
                    continue;
                }
                None => out.push_str("\\{"),
            },
            '}' if !in_class => out.push_str("\\}"),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Length of a `{n}`, `{n,}` or `{n,m}` quantifier at the start of `chars`.
fn quantifier_len(chars: &[char]) -> Option<usize> {
    let mut i = 1;
    let s = i;
    while chars.get(i).is_some_and(char::is_ascii_digit) {
        i += 1;
    }
    if i == s {
        return None;
    }
    if chars.get(i) == Some(&',') {
        i += 1;
        while chars.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
    }
    (chars.get(i) == Some(&'}')).then_some(i + 1)
}

// ---------------------------------------------------------------------------------------------------------------
// Joi validation.
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug)]
struct JoiErr {
    path: Vec<String>,
    kind: ErrKind,
}

#[derive(Debug)]
enum ErrKind {
    /// `any.required`, or a value of the wrong type (`*.base`, `alternatives.types`, `number.unsafe`).
    Required,
    /// `string.empty`.
    Empty,
    /// `any.only`.
    Only(Vec<Js>),
    /// `any.invalid`.
    Invalid(Vec<Js>),
    /// `number.*` / `date.*` comparisons.
    Limit(Cmp, Js),
    /// The contains family.
    Substring(&'static str, String),
    /// `string.pattern.name` / `string.pattern.invert.name`.
    Pattern(&'static str, String),
    /// `string.pattern.base` (the tested value).
    Regex(String),
}

fn run_key(
    schema: &KeySchema,
    parent: &Js,
    path: &mut Vec<String>,
    out: &mut Vec<JoiErr>,
    now: f64,
) {
    path.push(schema.key.clone());
    let value = match parent {
        Js::Obj(o) => o.iter().find(|(k, _)| *k == schema.key).map(|(_, v)| v),
        _ => None,
    };
    match value {
        None | Some(Js::Undefined) => push(out, path, ErrKind::Required),
        Some(v) => match &schema.rule {
            Rule::Nested(child) => {
                if matches!(v, Js::Obj(_)) {
                    run_key(child, v, path, out, now);
                } else {
                    push(out, path, ErrKind::Required);
                }
            }
            Rule::Leaf(leaf) => check_leaf(leaf, v, path, out, now),
        },
    }
    path.pop();
}

fn push(out: &mut Vec<JoiErr>, path: &[String], kind: ErrKind) {
    out.push(JoiErr {
        path: path.to_vec(),
        kind,
    });
}

/// Joi's `valid` / `invalid` membership: primitives by `SameValueZero`, objects and arrays deeply.
fn joi_has(list: &[Js], v: &Js) -> bool {
    list.iter().any(|item| {
        same_value_zero(item, v) || (matches!(v, Js::Obj(_) | Js::Arr(_)) && deep_equal(item, v))
    })
}

/// Hoek's `deepEqual` for JSON-shaped values (object keys in any order).
fn deep_equal(a: &Js, b: &Js) -> bool {
    match (a, b) {
        (Js::Arr(x), Js::Arr(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_equal(p, q))
        }
        (Js::Obj(x), Js::Obj(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| k == k2 && deep_equal(v, v2)))
        }
        (Js::Date(x), Js::Date(y)) => x == y,
        _ => same_value_zero(a, b),
    }
}

/// Joi's number: a number, or a string it converts (`numberRx`, refused when the conversion loses digits).
fn coerce_number(v: &Js) -> Option<f64> {
    let n = match v {
        Js::Num(n) => *n,
        Js::Str(s) => {
            let t = js::trim(s);
            if !js::number::is_decimal_literal(t) {
                return None;
            }
            let n: f64 = t.parse().ok()?;
            let n = if n == 0.0 { 0.0 } else { n };
            if t.contains(['e', 'E']) {
                if significant_digits(t) != significant_digits(&js::number_string(n)) {
                    return None;
                }
            } else {
                let shown = js::number_string(n);
                if !shown.contains('e') && shown != normalize_decimal(t) {
                    return None;
                }
            }
            n
        }
        _ => return None,
    };
    if !n.is_finite() || n.abs() > MAX_SAFE {
        return None;
    }
    Some(n)
}

/// Joi's `extractSignificantDigits`.
fn significant_digits(s: &str) -> String {
    let mut t = s.to_string();
    if let Some(pos) = t.find(['e', 'E']) {
        let exp = &t[pos + 1..];
        let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            t.truncate(pos);
        }
    }
    if let Some(pos) = t.find('.') {
        t.remove(pos);
    }
    let t = t.trim_end_matches('0');
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    t.trim_start_matches('0').to_string()
}

/// Joi's `normalizeDecimal`.
fn normalize_decimal(s: &str) -> String {
    let mut t = s.strip_prefix('+').unwrap_or(s).to_string();
    // /\.0*$/
    if let Some(pos) = t.rfind('.')
        && t[pos + 1..].bytes().all(|b| b == b'0')
    {
        t.truncate(pos);
    }
    // /^(-?)\.([^\.]*)$/ → $10.$2
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => ("-", b.to_string()),
        None => ("", t.clone()),
    };
    let body = if body.starts_with('.') && !body[1..].contains('.') {
        format!("0{body}")
    } else {
        body
    };
    // /^(-?)0+([0-9])/ → $1$2
    let zeros = body.bytes().take_while(|b| *b == b'0').count();
    let body = if zeros > 0 && body.as_bytes().get(zeros).is_some_and(u8::is_ascii_digit) {
        body[zeros..].to_string()
    } else {
        body
    };
    let mut t = format!("{neg}{body}");
    if t.contains('.') && t.ends_with('0') {
        t = t.trim_end_matches('0').to_string();
    }
    if t == "-0" { "0".into() } else { t }
}

fn check_leaf(leaf: &Leaf, v: &Js, path: &[String], out: &mut Vec<JoiErr>, now: f64) {
    match leaf {
        Leaf::Any => {}
        Leaf::Only(values) => {
            if !joi_has(values, v) {
                push(out, path, ErrKind::Only(values.clone()));
            }
        }
        Leaf::Not(values) => {
            if joi_has(values, v) {
                push(out, path, ErrKind::Invalid(values.clone()));
            }
        }
        Leaf::Contains(mode, sub) => match v {
            Js::Str(s) if s.is_empty() => push(out, path, ErrKind::Empty),
            Js::Str(s) => {
                let ok = match mode {
                    SubMode::NContains => !s.contains(sub.as_str()),
                    m => m.holds(s, sub),
                };
                if !ok {
                    push(out, path, ErrKind::Substring(mode.kind(), sub.clone()));
                }
            }
            Js::Arr(items) => {
                let holds = |m: SubMode| {
                    items
                        .iter()
                        .any(|i| matches!(i, Js::Str(s) if !s.is_empty() && m.holds(s, sub)))
                };
                let ok = match mode {
                    SubMode::NContains => !holds(SubMode::Contains),
                    m => holds(*m),
                };
                if !ok {
                    push(out, path, ErrKind::Substring(mode.kind(), sub.clone()));
                }
            }
            _ => push(out, path, ErrKind::Required),
        },
        Leaf::Affix {
            name,
            affix,
            invert,
            display,
        } => match v {
            Js::Str(s) if s.is_empty() => push(out, path, ErrKind::Empty),
            Js::Str(s) => {
                let matched = match affix {
                    Affix::Prefix(p) => s.starts_with(p.as_str()),
                    Affix::Suffix(p) => s.ends_with(p.as_str()),
                    Affix::Insensitive(re) => re.is_match(s),
                };
                if matched == *invert {
                    push(out, path, ErrKind::Pattern(name, display.clone()));
                }
            }
            _ => push(out, path, ErrKind::Required),
        },
        Leaf::Number(rules) => match coerce_number(v) {
            Some(n) => {
                for (cmp, limit) in rules {
                    if !cmp.test(n, *limit) {
                        push(out, path, ErrKind::Limit(*cmp, Js::Num(*limit)));
                    }
                }
            }
            None => push(out, path, ErrKind::Required),
        },
        Leaf::Date(rules) => match coerce_date(v) {
            Some(ms) => {
                for (cmp, limit) in rules {
                    if !cmp.test(ms, limit.at(now)) {
                        push(out, path, ErrKind::Limit(*cmp, limit.to_js()));
                    }
                }
            }
            None => push(out, path, ErrKind::Required),
        },
        Leaf::NotBetweenNumber(a, b) => match coerce_number(v) {
            Some(n) => {
                if *a <= n && n <= *b {
                    push(out, path, ErrKind::Limit(Cmp::Lt, Js::Num(*a)));
                    push(out, path, ErrKind::Limit(Cmp::Gt, Js::Num(*b)));
                }
            }
            None => push(out, path, ErrKind::Required),
        },
        Leaf::NotBetweenDate(a, b) => match coerce_date(v) {
            Some(ms) => {
                if a.at(now) <= ms && ms <= b.at(now) {
                    push(out, path, ErrKind::Limit(Cmp::Lt, a.to_js()));
                    push(out, path, ErrKind::Limit(Cmp::Gt, b.to_js()));
                }
            }
            None => push(out, path, ErrKind::Required),
        },
        Leaf::Regex(re) => match v {
            Js::Str(s) => {
                if !re.is_match(s) {
                    push(out, path, ErrKind::Regex(s.clone()));
                }
            }
            _ => push(out, path, ErrKind::Required),
        },
    }
}

// ---------------------------------------------------------------------------------------------------------------
// joiValidationErrorItemToErrorExtensions + FailedValidationError's message.
// ---------------------------------------------------------------------------------------------------------------

/// Distinct entries of a `valids` / `invalids` list, a number and its string form counting once (so `_eq: 5`,
/// built as `5` and `"5"`, reads as `eq`).
fn distinct_count(values: &[Js]) -> usize {
    let mut seen: Vec<Js> = Vec::new();
    let mut objects = 0;
    for v in values {
        let key = match v {
            Js::Num(n) => Js::Str(js::number_string(*n)),
            Js::Obj(_) | Js::Arr(_) | Js::Date(_) => {
                objects += 1;
                continue;
            }
            other => other.clone(),
        };
        if !seen.iter().any(|s| same_value_zero(s, &key)) {
            seen.push(key);
        }
    }
    seen.len() + objects
}

fn quoted_list(values: &[Js]) -> String {
    values
        .iter()
        .map(|v| format!("\"{}\"", js_to_string(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_failure(err: JoiErr) -> Failure {
    let mut segments = err.path.into_iter();
    let field = segments.next().unwrap_or_default();
    let path: Vec<String> = segments.collect();
    let mut extra = Map::new();
    let (kind, sentence): (String, Option<String>) = match err.kind {
        ErrKind::Required => ("required".into(), Some("Value is required.".into())),
        ErrKind::Empty => ("nempty".into(), Some("Value can't be empty.".into())),
        ErrKind::Only(values) => {
            if distinct_count(&values) > 1 {
                let sentence = format!("Value has to be one of {}.", quoted_list(&values));
                extra.insert("valid".into(), Js::Arr(values).to_json());
                ("in".into(), Some(sentence))
            } else {
                match values.into_iter().next() {
                    None | Some(Js::Null) => ("null".into(), Some("Value has to be null.".into())),
                    Some(Js::Str(s)) if s.is_empty() => {
                        ("empty".into(), Some("Value has to be empty.".into()))
                    }
                    Some(v) => {
                        let sentence = format!("Value has to be \"{}\".", js_to_string(&v));
                        extra.insert("valid".into(), v.to_json());
                        ("eq".into(), Some(sentence))
                    }
                }
            }
        }
        ErrKind::Invalid(values) => {
            if distinct_count(&values) > 1 {
                let sentence = format!("Value can't be one of {}.", quoted_list(&values));
                extra.insert("invalid".into(), Js::Arr(values).to_json());
                ("nin".into(), Some(sentence))
            } else {
                match values.into_iter().next() {
                    None | Some(Js::Null) => ("nnull".into(), Some("Value can't be null.".into())),
                    Some(Js::Str(s)) if s.is_empty() => {
                        ("nempty".into(), Some("Value can't be empty.".into()))
                    }
                    Some(v) => {
                        let sentence = format!("Value can't be \"{}\".", js_to_string(&v));
                        extra.insert("invalid".into(), v.to_json());
                        ("neq".into(), Some(sentence))
                    }
                }
            }
        }
        ErrKind::Limit(cmp, limit) => {
            let shown = js_to_string(&limit);
            extra.insert("valid".into(), limit.to_json());
            let sentence = match cmp {
                Cmp::Lt => format!("Value has to be less than \"{shown}\"."),
                Cmp::Lte => format!("Value has to be less than or equal to \"{shown}\"."),
                Cmp::Gt => format!("Value has to be greater than \"{shown}\"."),
                Cmp::Gte => format!("Value has to be greater than or equal to \"{shown}\"."),
            };
            (cmp.kind().into(), Some(sentence))
        }
        ErrKind::Substring(kind, sub) => {
            let sentence = if kind == "ncontains" {
                format!("Value can't contain \"{sub}\".")
            } else {
                format!("Value has to contain \"{sub}\".")
            };
            extra.insert("substring".into(), Value::String(sub));
            (kind.into(), Some(sentence))
        }
        ErrKind::Pattern(kind, sub) => {
            // Directus's message constructor has no sentence for the starts/ends-with family.
            extra.insert("substring".into(), Value::String(sub));
            (kind.into(), None)
        }
        ErrKind::Regex(value) => {
            extra.insert("invalid".into(), Value::String(value));
            (
                "regex".into(),
                Some("Value doesn't have the correct format.".into()),
            )
        }
    };
    let at = if path.is_empty() {
        String::new()
    } else {
        format!(" at \"{}\"", path.join("."))
    };
    let mut message = format!("Validation failed for field \"{field}\"{at}.");
    if let Some(sentence) = sentence {
        message.push(' ');
        message.push_str(&sentence);
    }
    Failure {
        field,
        path,
        kind,
        extra,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2024-06-15T12:00:00.000Z
    const NOW: f64 = 1_718_452_800_000.0;
    const NOW_ISO: &str = "2024-06-15T12:00:00.000Z";

    fn run(filter: Value, data: Value) -> Result<(), ConditionError> {
        check_at(&filter, &data, &Value::Null, NOW)
    }

    fn run_as(filter: Value, data: Value, acc: Value) -> Result<(), ConditionError> {
        check_at(&filter, &data, &acc, NOW)
    }

    /// `{"$trigger": {"v": op}}` against `{"$trigger": {"v": value}}`.
    fn leaf(op: Value, value: Value) -> Result<(), ConditionError> {
        run(
            json!({"$trigger": {"v": op}}),
            json!({"$trigger": {"v": value}}),
        )
    }

    /// A failure at `$trigger` / `v`; `sentence` is what follows the first sentence (with its leading space).
    fn fv(kind: &str, extra: Value, sentence: &str) -> Failure {
        failure("$trigger", &["v"], kind, extra, sentence)
    }

    fn failure(field: &str, path: &[&str], kind: &str, extra: Value, sentence: &str) -> Failure {
        let at = if path.is_empty() {
            String::new()
        } else {
            format!(" at \"{}\"", path.join("."))
        };
        Failure {
            field: field.into(),
            path: path.iter().map(|s| s.to_string()).collect(),
            kind: kind.into(),
            extra: extra.as_object().cloned().unwrap_or_default(),
            message: format!("Validation failed for field \"{field}\"{at}.{sentence}"),
        }
    }

    fn failed(failures: Vec<Failure>) -> Result<(), ConditionError> {
        Err(ConditionError::Failed(failures))
    }

    fn required() -> Failure {
        fv("required", json!({}), " Value is required.")
    }

    /// Rows of `(operand filter, value, expected failure or None for a pass)`.
    fn table(rows: Vec<(Value, Value, Option<Failure>)>) {
        for (op, value, expected) in rows {
            let got = leaf(op.clone(), value.clone());
            let want = match expected {
                None => Ok(()),
                Some(f) => failed(vec![f]),
            };
            assert_eq!(got, want, "filter {op} on value {value}");
        }
    }

    fn invalid_msg(filter: Value, data: Value) -> String {
        match run(filter, data) {
            Err(ConditionError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    // ---- the catalogue's example, null and {} filters -----------------------------------------------------------

    #[test]
    fn catalogue_example_message() {
        let got = run(
            json!({"$trigger": {"payload": {"status": {"_eq": "draft"}}}}),
            json!({"$trigger": {"payload": {"status": "published"}}, "$last": null}),
        );
        let want = Failure {
            field: "$trigger".into(),
            path: vec!["payload".into(), "status".into()],
            kind: "eq".into(),
            extra: json!({"valid": "draft"}).as_object().cloned().unwrap_or_default(),
            message: r#"Validation failed for field "$trigger" at "payload.status". Value has to be "draft"."#.into(),
        };
        assert_eq!(got, failed(vec![want]));
        assert_eq!(
            run(
                json!({"$trigger": {"payload": {"status": {"_eq": "draft"}}}}),
                json!({"$trigger": {"payload": {"status": "draft"}}})
            ),
            Ok(())
        );
    }

    #[test]
    fn null_filter_passes_and_empty_filter_is_invalid() {
        assert_eq!(run(Value::Null, json!({})), Ok(()));
        assert_eq!(
            run(json!({}), json!({"$trigger": {}})),
            Err(ConditionError::Invalid(
                "[generateJoi] Filter doesn't contain field key. Passed filter: {}".into()
            ))
        );
        // `{}` inside an `_and` too.
        assert!(matches!(
            run(json!({"_and": [{}]}), json!({})),
            Err(ConditionError::Invalid(_))
        ));
        // A null sub-filter: shiftLogicalOperatorsUp throws.
        assert!(matches!(
            run(json!({"$trigger": null}), json!({})),
            Err(ConditionError::Invalid(_))
        ));
        // `_and` that is not a list.
        assert!(matches!(
            run(json!({"_and": {"a": 1}}), json!({})),
            Err(ConditionError::Invalid(_))
        ));
    }

    #[test]
    fn empty_logical_lists_pass() {
        assert_eq!(run(json!({"_and": []}), json!({})), Ok(()));
        assert_eq!(run(json!({"_or": []}), json!({})), Ok(()));
    }

    #[test]
    fn scalar_shorthand_is_eq() {
        assert_eq!(
            run(
                json!({"$trigger": {"status": "draft"}}),
                json!({"$trigger": {"status": "draft"}})
            ),
            Ok(())
        );
        assert_eq!(
            run(
                json!({"$trigger": {"status": 5}}),
                json!({"$trigger": {"status": "5"}})
            ),
            Ok(())
        );
    }

    // ---- required paths --------------------------------------------------------------------------------------------

    #[test]
    fn every_referenced_field_is_required() {
        // A missing leaf fails `required`, whatever the operator.
        for op in [
            json!({"_null": true}),
            json!({"_eq": null}),
            json!({"_neq": "x"}),
            json!({"_nnull": true}),
            json!({"_nin": ["a"]}),
            json!({"_empty": true}),
            json!({"_submitted": true}),
            json!({"_some": {"a": {"_eq": 1}}}),
        ] {
            assert_eq!(
                run(
                    json!({"$trigger": {"v": op.clone()}}),
                    json!({"$trigger": {}})
                ),
                failed(vec![required()]),
                "{op}"
            );
        }
        // A missing intermediate fails at the intermediate.
        assert_eq!(
            run(
                json!({"$trigger": {"payload": {"status": {"_eq": "a"}}}}),
                json!({"$trigger": {"query": {}}})
            ),
            failed(vec![failure(
                "$trigger",
                &["payload"],
                "required",
                json!({}),
                " Value is required."
            )])
        );
        // A missing first segment: the field alone, no " at".
        assert_eq!(
            run(json!({"step": {"_nnull": true}}), json!({"$trigger": {}})),
            failed(vec![failure(
                "step",
                &[],
                "required",
                json!({}),
                " Value is required."
            )])
        );
        // An intermediate that is not an object (null, array, string) is the wrong type: `required`.
        for bad in [json!(null), json!([{"status": "a"}]), json!("a")] {
            assert_eq!(
                run(
                    json!({"$trigger": {"payload": {"status": {"_eq": "a"}}}}),
                    json!({"$trigger": {"payload": bad}})
                ),
                failed(vec![failure(
                    "$trigger",
                    &["payload"],
                    "required",
                    json!({}),
                    " Value is required."
                )])
            );
        }
    }

    #[test]
    fn dot_notation_is_not_a_path() {
        let filter = json!({"$trigger": {"payload.status": {"_eq": "a"}}});
        assert_eq!(
            run(
                filter.clone(),
                json!({"$trigger": {"payload": {"status": "a"}}})
            ),
            failed(vec![failure(
                "$trigger",
                &["payload.status"],
                "required",
                json!({}),
                " Value is required."
            )])
        );
        assert_eq!(
            run(filter, json!({"$trigger": {"payload.status": "a"}})),
            Ok(())
        );
    }

    // ---- equality ---------------------------------------------------------------------------------------------------

    #[test]
    fn eq_table() {
        table(vec![
            // Loose number/string.
            (json!({"_eq": 5}), json!(5), None),
            (json!({"_eq": 5}), json!("5"), None),
            (json!({"_eq": "3"}), json!(3), None),
            (json!({"_eq": 5}), json!(5.0), None),
            (json!({"_eq": 1.5}), json!("1.5"), None),
            (json!({"_eq": " 5 "}), json!(5), None),
            (
                json!({"_eq": 5}),
                json!("5.0"),
                Some(fv("eq", json!({"valid": 5}), " Value has to be \"5\".")),
            ),
            (
                json!({"_eq": 5}),
                json!(6),
                Some(fv("eq", json!({"valid": 5}), " Value has to be \"5\".")),
            ),
            (
                json!({"_eq": "3"}),
                json!(4),
                Some(fv("eq", json!({"valid": "3"}), " Value has to be \"3\".")),
            ),
            // null, "", true, false match only themselves.
            (json!({"_eq": null}), json!(null), None),
            (
                json!({"_eq": null}),
                json!(""),
                Some(fv("null", json!({}), " Value has to be null.")),
            ),
            (
                json!({"_eq": null}),
                json!(0),
                Some(fv("null", json!({}), " Value has to be null.")),
            ),
            (json!({"_eq": ""}), json!(""), None),
            (
                json!({"_eq": ""}),
                json!(0),
                Some(fv("empty", json!({}), " Value has to be empty.")),
            ),
            (
                json!({"_eq": ""}),
                json!(null),
                Some(fv("empty", json!({}), " Value has to be empty.")),
            ),
            (json!({"_eq": true}), json!(true), None),
            (
                json!({"_eq": true}),
                json!(1),
                Some(fv(
                    "eq",
                    json!({"valid": true}),
                    " Value has to be \"true\".",
                )),
            ),
            (
                json!({"_eq": true}),
                json!("true"),
                Some(fv(
                    "eq",
                    json!({"valid": true}),
                    " Value has to be \"true\".",
                )),
            ),
            (
                json!({"_eq": false}),
                json!(0),
                Some(fv(
                    "eq",
                    json!({"valid": false}),
                    " Value has to be \"false\".",
                )),
            ),
            // No coercion of "true" / "false" / "null" in conditions.
            (
                json!({"_eq": "true"}),
                json!(true),
                Some(fv(
                    "eq",
                    json!({"valid": "true"}),
                    " Value has to be \"true\".",
                )),
            ),
            (
                json!({"_eq": "null"}),
                json!(null),
                Some(fv(
                    "eq",
                    json!({"valid": "null"}),
                    " Value has to be \"null\".",
                )),
            ),
            // Strings are case-sensitive; arrays never equal a scalar.
            (
                json!({"_eq": "a"}),
                json!("A"),
                Some(fv("eq", json!({"valid": "a"}), " Value has to be \"a\".")),
            ),
            (
                json!({"_eq": "a"}),
                json!(["a"]),
                Some(fv("eq", json!({"valid": "a"}), " Value has to be \"a\".")),
            ),
            // Objects compare deeply.
            (
                json!({"_eq": {"a": 1, "b": [1]}}),
                json!({"b": [1], "a": 1}),
                None,
            ),
        ]);
        // An array operand trips Joi's assertion: a plain Error.
        assert_eq!(
            invalid_msg(
                json!({"$trigger": {"v": {"_eq": [1]}}}),
                json!({"$trigger": {"v": 1}})
            ),
            "Method no longer accepts array arguments: valid"
        );
    }

    #[test]
    fn neq_table() {
        table(vec![
            (json!({"_neq": "a"}), json!("b"), None),
            (json!({"_neq": "a"}), json!(null), None),
            (
                json!({"_neq": "a"}),
                json!("a"),
                Some(fv("neq", json!({"invalid": "a"}), " Value can't be \"a\".")),
            ),
            (
                json!({"_neq": 5}),
                json!("5"),
                Some(fv("neq", json!({"invalid": 5}), " Value can't be \"5\".")),
            ),
            (
                json!({"_neq": "5"}),
                json!(5),
                Some(fv("neq", json!({"invalid": "5"}), " Value can't be \"5\".")),
            ),
            (json!({"_neq": 5}), json!(6), None),
            (
                json!({"_neq": null}),
                json!(null),
                Some(fv("nnull", json!({}), " Value can't be null.")),
            ),
            (json!({"_neq": null}), json!(0), None),
            (
                json!({"_neq": ""}),
                json!(""),
                Some(fv("nempty", json!({}), " Value can't be empty.")),
            ),
            (
                json!({"_neq": true}),
                json!(true),
                Some(fv(
                    "neq",
                    json!({"invalid": true}),
                    " Value can't be \"true\".",
                )),
            ),
        ]);
    }

    #[test]
    fn in_nin_table() {
        table(vec![
            (json!({"_in": ["a", "b"]}), json!("b"), None),
            (
                json!({"_in": ["a", "b"]}),
                json!("c"),
                Some(fv(
                    "in",
                    json!({"valid": ["a", "b"]}),
                    " Value has to be one of \"a\", \"b\".",
                )),
            ),
            // Strict: 5 is not in ["5"] (a one-element list reads as `eq`).
            (
                json!({"_in": ["5"]}),
                json!(5),
                Some(fv("eq", json!({"valid": "5"}), " Value has to be \"5\".")),
            ),
            (
                json!({"_in": [5]}),
                json!("5"),
                Some(fv("eq", json!({"valid": 5}), " Value has to be \"5\".")),
            ),
            (
                json!({"_in": [1, 2]}),
                json!(3),
                Some(fv(
                    "in",
                    json!({"valid": [1, 2]}),
                    " Value has to be one of \"1\", \"2\".",
                )),
            ),
            // A comma string is split.
            (json!({"_in": "a,b"}), json!("b"), None),
            (
                json!({"_in": "a,b"}),
                json!("a,b"),
                Some(fv(
                    "in",
                    json!({"valid": ["a", "b"]}),
                    " Value has to be one of \"a\", \"b\".",
                )),
            ),
            (
                json!({"_in": [null]}),
                json!("x"),
                Some(fv("null", json!({}), " Value has to be null.")),
            ),
            // An empty list adds no rule.
            (json!({"_in": []}), json!("x"), None),
            (json!({"_nin": ["a", "b"]}), json!("c"), None),
            (json!({"_nin": ["5"]}), json!(5), None),
            (
                json!({"_nin": ["a", "b"]}),
                json!("a"),
                Some(fv(
                    "nin",
                    json!({"invalid": ["a", "b"]}),
                    " Value can't be one of \"a\", \"b\".",
                )),
            ),
            (
                json!({"_nin": "a"}),
                json!("a"),
                Some(fv("neq", json!({"invalid": "a"}), " Value can't be \"a\".")),
            ),
            (
                json!({"_nin": [null]}),
                json!(null),
                Some(fv("nnull", json!({}), " Value can't be null.")),
            ),
            (json!({"_nin": []}), json!("x"), None),
        ]);
    }

    // ---- comparisons ------------------------------------------------------------------------------------------------

    #[test]
    fn number_comparison_table() {
        let gt5 = || {
            Some(fv(
                "gt",
                json!({"valid": 5}),
                " Value has to be greater than \"5\".",
            ))
        };
        table(vec![
            (json!({"_gt": 5}), json!(6), None),
            (json!({"_gt": 5}), json!(5), gt5()),
            (json!({"_gt": 5}), json!(4.5), gt5()),
            // Joi converts numeric strings; other strings, null, booleans are the wrong type.
            (json!({"_gt": 5}), json!("6"), None),
            (json!({"_gt": 5}), json!(" 6 "), None),
            (json!({"_gt": 5}), json!("4"), gt5()),
            (json!({"_gt": 5}), json!("abc"), Some(required())),
            (json!({"_gt": 5}), json!("6px"), Some(required())),
            (json!({"_gt": 5}), json!(null), Some(required())),
            (json!({"_gt": 5}), json!(true), Some(required())),
            (json!({"_gt": 5}), json!(1e300), Some(required())),
            // A numeric-string operand is numeric.
            (json!({"_gt": "5"}), json!(6), None),
            (json!({"_gt": "5"}), json!(5), gt5()),
            (json!({"_gte": 5}), json!(5), None),
            (
                json!({"_gte": 5}),
                json!(4),
                Some(fv(
                    "gte",
                    json!({"valid": 5}),
                    " Value has to be greater than or equal to \"5\".",
                )),
            ),
            (json!({"_lt": 5}), json!(4), None),
            (
                json!({"_lt": 5}),
                json!(5),
                Some(fv(
                    "lt",
                    json!({"valid": 5}),
                    " Value has to be less than \"5\".",
                )),
            ),
            (json!({"_lte": 5}), json!(5), None),
            (
                json!({"_lte": 0.5}),
                json!(0.6),
                Some(fv(
                    "lte",
                    json!({"valid": 0.5}),
                    " Value has to be less than or equal to \"0.5\".",
                )),
            ),
            (json!({"_lt": -1}), json!(-2), None),
        ]);
    }

    #[test]
    fn date_comparison_table() {
        let jan1 = "2024-01-01T00:00:00.000Z";
        table(vec![
            (json!({"_lt": "2024-01-01"}), json!("2023-12-31"), None),
            (
                json!({"_lt": "2024-01-01"}),
                json!("2023-12-31T23:59:59.999Z"),
                None,
            ),
            (
                json!({"_lt": "2024-01-01"}),
                json!("2024-01-01T00:00:00Z"),
                Some(fv(
                    "lt",
                    json!({"valid": jan1}),
                    &format!(" Value has to be less than \"{jan1}\"."),
                )),
            ),
            (json!({"_gte": "2024-01-01"}), json!("2024-01-01"), None),
            (
                json!({"_gte": "2024-01-01T00:00:00+02:00"}),
                json!("2023-12-31T23:00:00Z"),
                None,
            ),
            (
                json!({"_gt": "2024-01-01"}),
                json!("2024-01-01 00:00:01"),
                None,
            ),
            // A number is a millisecond timestamp, a string that isn't a date is the wrong type.
            (
                json!({"_gt": "2024-01-01"}),
                json!(1_718_452_800_000u64),
                None,
            ),
            (json!({"_gt": "2024-01-01"}), json!("1718452800000"), None),
            (
                json!({"_gt": "2024-01-01"}),
                json!("soon"),
                Some(required()),
            ),
            (json!({"_gt": "2024-01-01"}), json!(null), Some(required())),
            (
                json!({"_lte": "2024-01-01"}),
                json!("Tue, 02 Jan 2024 00:00:00 GMT"),
                Some(fv(
                    "lte",
                    json!({"valid": jan1}),
                    &format!(" Value has to be less than or equal to \"{jan1}\"."),
                )),
            ),
            // Joi's "now".
            (json!({"_gt": "now"}), json!("2999-01-01"), None),
            (
                json!({"_gt": "now"}),
                json!("2000-01-01"),
                Some(fv(
                    "gt",
                    json!({"valid": "now"}),
                    " Value has to be greater than \"now\".",
                )),
            ),
        ]);
        // An operand that is neither a number nor a date trips Joi's assertion.
        assert_eq!(
            invalid_msg(
                json!({"$trigger": {"v": {"_gt": "abc"}}}),
                json!({"$trigger": {"v": 1}})
            ),
            "date must have a valid date format or reference"
        );
    }

    #[test]
    fn between_table() {
        table(vec![
            (json!({"_between": [1, 10]}), json!(1), None),
            (json!({"_between": [1, 10]}), json!(10), None),
            (json!({"_between": [1, 10]}), json!("5"), None),
            (json!({"_between": "1,10"}), json!(5), None),
            (
                json!({"_between": [1, 10]}),
                json!(0),
                Some(fv(
                    "gte",
                    json!({"valid": 1}),
                    " Value has to be greater than or equal to \"1\".",
                )),
            ),
            (
                json!({"_between": [1, 10]}),
                json!(11),
                Some(fv(
                    "lte",
                    json!({"valid": 10}),
                    " Value has to be less than or equal to \"10\".",
                )),
            ),
            (json!({"_between": [1, 10]}), json!("x"), Some(required())),
            (
                json!({"_between": ["2024-01-01", "2024-12-31"]}),
                json!("2024-06-01"),
                None,
            ),
            (
                json!({"_between": ["2024-01-01", "2024-12-31"]}),
                json!("2025-06-01"),
                Some(fv(
                    "lte",
                    json!({"valid": "2024-12-31T00:00:00.000Z"}),
                    " Value has to be less than or equal to \"2024-12-31T00:00:00.000Z\".",
                )),
            ),
        ]);
        // Reversed bounds: both rules fail.
        assert_eq!(
            leaf(json!({"_between": [10, 1]}), json!(5)),
            failed(vec![
                fv(
                    "gte",
                    json!({"valid": 10}),
                    " Value has to be greater than or equal to \"10\"."
                ),
                fv(
                    "lte",
                    json!({"valid": 1}),
                    " Value has to be less than or equal to \"1\"."
                ),
            ])
        );
        // A single bound: Joi's assertion.
        assert_eq!(
            invalid_msg(
                json!({"$trigger": {"v": {"_between": [1]}}}),
                json!({"$trigger": {"v": 1}})
            ),
            "limit must be a number or reference"
        );
    }

    #[test]
    fn nbetween_means_outside_the_range() {
        table(vec![
            (json!({"_nbetween": [1, 10]}), json!(0), None),
            (json!({"_nbetween": [1, 10]}), json!(11), None),
            (json!({"_nbetween": [1, 10]}), json!("x"), Some(required())),
            (
                json!({"_nbetween": ["2024-01-01", "2024-12-31"]}),
                json!("2025-01-01"),
                None,
            ),
            (
                json!({"_nbetween": ["2024-01-01", "2024-12-31"]}),
                json!("2023-01-01"),
                None,
            ),
            // Reversed bounds: nothing lies between them.
            (json!({"_nbetween": [10, 1]}), json!(5), None),
        ]);
        assert_eq!(
            leaf(json!({"_nbetween": [1, 10]}), json!(5)),
            failed(vec![
                fv(
                    "lt",
                    json!({"valid": 1}),
                    " Value has to be less than \"1\"."
                ),
                fv(
                    "gt",
                    json!({"valid": 10}),
                    " Value has to be greater than \"10\"."
                ),
            ])
        );
        assert_eq!(
            leaf(
                json!({"_nbetween": ["2024-01-01", "2024-12-31"]}),
                json!("2024-06-01")
            ),
            failed(vec![
                fv(
                    "lt",
                    json!({"valid": "2024-01-01T00:00:00.000Z"}),
                    " Value has to be less than \"2024-01-01T00:00:00.000Z\"."
                ),
                fv(
                    "gt",
                    json!({"valid": "2024-12-31T00:00:00.000Z"}),
                    " Value has to be greater than \"2024-12-31T00:00:00.000Z\"."
                ),
            ])
        );
    }

    // ---- null / empty -----------------------------------------------------------------------------------------------

    #[test]
    fn null_and_empty_table() {
        let null = || Some(fv("null", json!({}), " Value has to be null."));
        let nnull = || Some(fv("nnull", json!({}), " Value can't be null."));
        table(vec![
            (json!({"_null": true}), json!(null), None),
            (json!({"_null": true}), json!("x"), null()),
            (json!({"_null": true}), json!(""), null()),
            // The operand does not matter.
            (json!({"_null": false}), json!(null), None),
            (json!({"_null": false}), json!("x"), null()),
            (json!({"_nnull": true}), json!("x"), None),
            (json!({"_nnull": true}), json!(0), None),
            (json!({"_nnull": true}), json!(null), nnull()),
            (json!({"_nnull": false}), json!(null), nnull()),
            (json!({"_empty": true}), json!(""), None),
            (
                json!({"_empty": true}),
                json!(null),
                Some(fv("empty", json!({}), " Value has to be empty.")),
            ),
            (
                json!({"_empty": true}),
                json!([]),
                Some(fv("empty", json!({}), " Value has to be empty.")),
            ),
            (json!({"_empty": false}), json!(""), None),
            (json!({"_nempty": true}), json!(null), None),
            (json!({"_nempty": true}), json!("x"), None),
            (
                json!({"_nempty": true}),
                json!(""),
                Some(fv("nempty", json!({}), " Value can't be empty.")),
            ),
        ]);
    }

    // ---- strings ----------------------------------------------------------------------------------------------------

    #[test]
    fn contains_table() {
        let c = |kind: &str, sub: &str| {
            let sentence = if kind == "ncontains" {
                format!(" Value can't contain \"{sub}\".")
            } else {
                format!(" Value has to contain \"{sub}\".")
            };
            Some(fv(kind, json!({"substring": sub}), &sentence))
        };
        let nempty = || Some(fv("nempty", json!({}), " Value can't be empty."));
        table(vec![
            (json!({"_contains": "world"}), json!("hello world"), None),
            (
                json!({"_contains": "world"}),
                json!("hello World"),
                c("contains", "world"),
            ),
            (
                json!({"_contains": "world"}),
                json!(["a", "my world"]),
                None,
            ),
            (
                json!({"_contains": "world"}),
                json!(["a", "b"]),
                c("contains", "world"),
            ),
            (
                json!({"_contains": "world"}),
                json!([]),
                c("contains", "world"),
            ),
            (
                json!({"_contains": "world"}),
                json!([{"world": 1}]),
                c("contains", "world"),
            ),
            (json!({"_contains": "world"}), json!(""), nempty()),
            (json!({"_contains": "1"}), json!(1), Some(required())),
            (json!({"_contains": "a"}), json!(null), Some(required())),
            (json!({"_contains": ""}), json!("x"), None),
            // A non-string operand: the value must be `true`.
            (json!({"_contains": 5}), json!(true), None),
            (
                json!({"_contains": 5}),
                json!("5"),
                Some(fv(
                    "eq",
                    json!({"valid": true}),
                    " Value has to be \"true\".",
                )),
            ),
            (json!({"_icontains": "WORLD"}), json!("hello world"), None),
            (json!({"_icontains": "world"}), json!(["HELLO WORLD"]), None),
            (
                json!({"_icontains": "x"}),
                json!("hello"),
                c("icontains", "x"),
            ),
            (
                json!({"_icontains": "x"}),
                json!(["a"]),
                c("icontains", "x"),
            ),
            (json!({"_ncontains": "x"}), json!("abc"), None),
            (json!({"_ncontains": "x"}), json!("aXc"), None),
            (
                json!({"_ncontains": "x"}),
                json!("axc"),
                c("ncontains", "x"),
            ),
            (json!({"_ncontains": "x"}), json!(["a", "b", ""]), None),
            (json!({"_ncontains": "x"}), json!([]), None),
            (
                json!({"_ncontains": "x"}),
                json!(["a", "xa"]),
                c("ncontains", "x"),
            ),
            (json!({"_ncontains": "x"}), json!(""), nempty()),
        ]);
    }

    #[test]
    fn starts_and_ends_with_table() {
        let p = |kind: &str, sub: &str| Some(fv(kind, json!({"substring": sub}), ""));
        table(vec![
            (json!({"_starts_with": "ab"}), json!("abc"), None),
            (
                json!({"_starts_with": "ab"}),
                json!("Abc"),
                p("starts_with", "ab"),
            ),
            (
                json!({"_starts_with": "ab"}),
                json!("cab"),
                p("starts_with", "ab"),
            ),
            (
                json!({"_starts_with": "ab"}),
                json!(""),
                Some(fv("nempty", json!({}), " Value can't be empty.")),
            ),
            (
                json!({"_starts_with": "ab"}),
                json!(["abc"]),
                Some(required()),
            ),
            (
                json!({"_starts_with": "a.b"}),
                json!("axb"),
                p("starts_with", "a\\.b"),
            ),
            (
                json!({"_starts_with": "a/b"}),
                json!("ab"),
                p("starts_with", "a\\/b"),
            ),
            (json!({"_starts_with": true}), json!(true), None),
            (json!({"_nstarts_with": "ab"}), json!("cab"), None),
            (
                json!({"_nstarts_with": "ab"}),
                json!("abc"),
                p("nstarts_with", "ab"),
            ),
            (json!({"_istarts_with": "AB"}), json!("abc"), None),
            (
                json!({"_istarts_with": "AB"}),
                json!("cab"),
                p("istarts_with", "AB"),
            ),
            (json!({"_nistarts_with": "AB"}), json!("cab"), None),
            (
                json!({"_nistarts_with": "AB"}),
                json!("abc"),
                p("nistarts_with", "AB"),
            ),
            (json!({"_ends_with": "yz"}), json!("xyz"), None),
            (
                json!({"_ends_with": "yz"}),
                json!("yzx"),
                p("ends_with", "yz"),
            ),
            (json!({"_nends_with": "yz"}), json!("yzx"), None),
            (
                json!({"_nends_with": "yz"}),
                json!("xyz"),
                p("nends_with", "yz"),
            ),
            (json!({"_iends_with": "YZ"}), json!("xyz"), None),
            (
                json!({"_iends_with": "YZ"}),
                json!("xy"),
                p("iends_with", "YZ"),
            ),
            (json!({"_niends_with": "YZ"}), json!("xy"), None),
            (
                json!({"_niends_with": "YZ"}),
                json!("XYZ"),
                p("niends_with", "YZ"),
            ),
        ]);
    }

    #[test]
    fn regex_table() {
        let bad = |v: &str| {
            Some(fv(
                "regex",
                json!({"invalid": v}),
                " Value doesn't have the correct format.",
            ))
        };
        table(vec![
            (json!({"_regex": "^a\\d+$"}), json!("a12"), None),
            (json!({"_regex": "^a\\d+$"}), json!("ab"), bad("ab")),
            // Case-sensitive, no flags.
            (json!({"_regex": "^A"}), json!("a"), bad("a")),
            // A `/…/` wrapper is stripped.
            (json!({"_regex": "/^a$/"}), json!("a"), None),
            (json!({"_regex": "/^a$/"}), json!("/a/"), bad("/a/")),
            // JavaScript's ASCII `\d` and `.` without line terminators.
            (
                json!({"_regex": "^\\d$"}),
                json!("\u{0661}"),
                bad("\u{0661}"),
            ),
            (json!({"_regex": "^a.b$"}), json!("a\nb"), bad("a\nb")),
            (json!({"_regex": "^a{2}$"}), json!("aa"), None),
            (json!({"_regex": "^a{x}$"}), json!("a{x}"), None),
            (json!({"_regex": "^\\u0041$"}), json!("A"), None),
            (json!({"_regex": "^[^]$"}), json!("\n"), None),
            (json!({"_regex": "a[]"}), json!("a"), bad("a")),
            (json!({"_regex": "\\bfoo\\b"}), json!("a foo b"), None),
            (json!({"_regex": "^[\\d.]+$"}), json!("1.5"), None),
            (json!({"_regex": "^\\/x$"}), json!("/x"), None),
            // `""` is allowed (min(0)); other types are not strings.
            (json!({"_regex": "^$"}), json!(""), None),
            (json!({"_regex": "1"}), json!(1), Some(required())),
            // A null operand: the value must be `true`.
            (json!({"_regex": null}), json!(true), None),
        ]);
        assert!(
            invalid_msg(
                json!({"$trigger": {"v": {"_regex": "("}}}),
                json!({"$trigger": {"v": "a"}})
            )
            .starts_with("Invalid regular expression: /(/")
        );
        // Look-around is valid JavaScript but unsupported here: a plain error too.
        assert!(matches!(
            leaf(json!({"_regex": "a(?=b)"}), json!("ab")),
            Err(ConditionError::Invalid(_))
        ));
    }

    // ---- presence-only operators ------------------------------------------------------------------------------------

    #[test]
    fn submitted_and_existence_only_operators() {
        for op in [
            json!({"_submitted": true}),
            json!({"_some": {"a": {"_eq": 1}}}),
            json!({"_none": {"a": {"_eq": 1}}}),
            json!({"_ieq": "abc"}),
            json!({"_nieq": "abc"}),
            json!({"_nicontains": "abc"}),
            json!({"_json": {"a": {"_eq": 1}}}),
            json!({"_intersects": {"type": "Point", "coordinates": [0, 0]}}),
            json!({"_intersects": "{\"type\":\"Point\"}"}),
            json!({"_whatever": 1}),
        ] {
            for value in [json!(null), json!("zzz"), json!(0), json!([])] {
                assert_eq!(leaf(op.clone(), value.clone()), Ok(()), "{op} on {value}");
            }
            assert_eq!(
                run(
                    json!({"$trigger": {"v": op.clone()}}),
                    json!({"$trigger": {}})
                ),
                failed(vec![required()]),
                "{op} on a missing field"
            );
        }
    }

    // ---- logical operators ------------------------------------------------------------------------------------------

    #[test]
    fn or_reports_every_branch_when_none_passes() {
        let filter = json!({"_or": [
            {"$trigger": {"a": {"_eq": 1}}},
            {"$trigger": {"b": {"_eq": 2}}},
        ]});
        assert_eq!(
            run(filter.clone(), json!({"$trigger": {"a": 0, "b": 2}})),
            Ok(())
        );
        assert_eq!(run(filter.clone(), json!({"$trigger": {"a": 1}})), Ok(()));
        assert_eq!(
            run(filter, json!({"$trigger": {"a": 0}})),
            failed(vec![
                failure(
                    "$trigger",
                    &["a"],
                    "eq",
                    json!({"valid": 1}),
                    " Value has to be \"1\"."
                ),
                failure(
                    "$trigger",
                    &["b"],
                    "required",
                    json!({}),
                    " Value is required."
                ),
            ])
        );
    }

    #[test]
    fn or_stops_at_the_first_passing_branch() {
        // The second branch would be a plain Error, but is never built.
        let filter = json!({"_or": [{"$trigger": {"a": {"_eq": 1}}}, {}]});
        assert_eq!(run(filter.clone(), json!({"$trigger": {"a": 1}})), Ok(()));
        assert!(matches!(
            run(filter, json!({"$trigger": {"a": 2}})),
            Err(ConditionError::Invalid(_))
        ));
    }

    #[test]
    fn and_collects_every_branch() {
        let filter = json!({"_and": [
            {"$trigger": {"a": {"_eq": 1}}},
            {"$trigger": {"b": {"_gt": 2}}},
            {"$last": {"_nnull": true}},
        ]});
        assert_eq!(
            run(
                filter.clone(),
                json!({"$trigger": {"a": 1, "b": 3}, "$last": 1})
            ),
            Ok(())
        );
        assert_eq!(
            run(filter, json!({"$trigger": {"a": 2, "b": 1}, "$last": null})),
            failed(vec![
                failure(
                    "$trigger",
                    &["a"],
                    "eq",
                    json!({"valid": 1}),
                    " Value has to be \"1\"."
                ),
                failure(
                    "$trigger",
                    &["b"],
                    "gt",
                    json!({"valid": 2}),
                    " Value has to be greater than \"2\"."
                ),
                failure("$last", &[], "nnull", json!({}), " Value can't be null."),
            ])
        );
    }

    #[test]
    fn several_keys_on_one_level_are_and() {
        assert_eq!(
            run(
                json!({"$trigger": {"a": {"_eq": 1}, "b": {"_eq": 2}}}),
                json!({"$trigger": {"a": 0, "b": 0}})
            ),
            failed(vec![
                failure(
                    "$trigger",
                    &["a"],
                    "eq",
                    json!({"valid": 1}),
                    " Value has to be \"1\"."
                ),
                failure(
                    "$trigger",
                    &["b"],
                    "eq",
                    json!({"valid": 2}),
                    " Value has to be \"2\"."
                ),
            ])
        );
        // Several operators on one field.
        let filter = json!({"$trigger": {"n": {"_gt": 1, "_lt": 5}}});
        assert_eq!(run(filter.clone(), json!({"$trigger": {"n": 3}})), Ok(()));
        assert_eq!(
            run(filter, json!({"$trigger": {"n": 7}})),
            failed(vec![failure(
                "$trigger",
                &["n"],
                "lt",
                json!({"valid": 5}),
                " Value has to be less than \"5\"."
            )])
        );
        // Top-level keys too.
        assert_eq!(
            run(
                json!({"$trigger": {"_nnull": true}, "$last": {"_null": true}}),
                json!({"$trigger": 1, "$last": 2})
            ),
            failed(vec![failure(
                "$last",
                &[],
                "null",
                json!({}),
                " Value has to be null."
            )])
        );
    }

    #[test]
    fn logical_operators_under_a_field_move_up() {
        let filter = json!({"$trigger": {"payload": {"_or": [
            {"status": {"_eq": "a"}},
            {"status": {"_eq": "b"}},
        ]}}});
        assert_eq!(
            run(
                filter.clone(),
                json!({"$trigger": {"payload": {"status": "b"}}})
            ),
            Ok(())
        );
        assert_eq!(
            run(filter, json!({"$trigger": {"payload": {"status": "c"}}})),
            failed(vec![
                failure(
                    "$trigger",
                    &["payload", "status"],
                    "eq",
                    json!({"valid": "a"}),
                    " Value has to be \"a\"."
                ),
                failure(
                    "$trigger",
                    &["payload", "status"],
                    "eq",
                    json!({"valid": "b"}),
                    " Value has to be \"b\"."
                ),
            ])
        );
        let filter = json!({"$trigger": {"_and": [{"a": {"_eq": 1}}, {"b": {"_eq": 2}}]}});
        assert_eq!(
            run(filter.clone(), json!({"$trigger": {"a": 1, "b": 2}})),
            Ok(())
        );
        assert_eq!(
            run(filter, json!({"$trigger": {"a": 1, "b": 3}})),
            failed(vec![failure(
                "$trigger",
                &["b"],
                "eq",
                json!({"valid": 2}),
                " Value has to be \"2\"."
            )])
        );
    }

    // ---- dynamic variables ------------------------------------------------------------------------------------------

    #[test]
    fn now_variables() {
        table(vec![
            (json!({"_lt": "$NOW"}), json!("2024-06-15T11:59:59Z"), None),
            (
                json!({"_lt": "$NOW"}),
                json!("2024-06-15T12:00:00Z"),
                Some(fv(
                    "lt",
                    json!({"valid": NOW_ISO}),
                    &format!(" Value has to be less than \"{NOW_ISO}\"."),
                )),
            ),
            (
                json!({"_gt": "$NOW(-1 day)"}),
                json!("2024-06-14T12:00:01Z"),
                None,
            ),
            (
                json!({"_gt": "$NOW(-1 day)"}),
                json!("2024-06-14T12:00:00Z"),
                Some(fv(
                    "gt",
                    json!({"valid": "2024-06-14T12:00:00.000Z"}),
                    " Value has to be greater than \"2024-06-14T12:00:00.000Z\".",
                )),
            ),
            (
                json!({"_gte": "$NOW(+2 hours)"}),
                json!("2024-06-15T14:00:00Z"),
                None,
            ),
            (
                json!({"_gte": "$NOW(2h)"}),
                json!("2024-06-15T13:59:59Z"),
                Some(fv(
                    "gte",
                    json!({"valid": "2024-06-15T14:00:00.000Z"}),
                    " Value has to be greater than or equal to \"2024-06-15T14:00:00.000Z\".",
                )),
            ),
            (
                json!({"_lte": "$NOW(3)"}),
                json!("2024-06-18T12:00:00Z"),
                None,
            ),
            (
                json!({"_between": ["$NOW(-1 week)", "$NOW(1 month)"]}),
                json!("2024-07-15T12:00:00Z"),
                None,
            ),
            (
                json!({"_between": ["$NOW(-1 week)", "$NOW(1 month)"]}),
                json!("2024-06-08T11:00:00Z"),
                Some(fv(
                    "gte",
                    json!({"valid": "2024-06-08T12:00:00.000Z"}),
                    " Value has to be greater than or equal to \"2024-06-08T12:00:00.000Z\".",
                )),
            ),
        ]);
        // A bad adjustment gives `undefined`, which Joi refuses in `valid()`.
        assert_eq!(
            invalid_msg(
                json!({"$trigger": {"v": {"_eq": "$NOW(soon)"}}}),
                json!({"$trigger": {"v": 1}})
            ),
            "Cannot call allow/valid/invalid with undefined"
        );
    }

    /// The shared `$NOW(...)` arithmetic on a time in milliseconds.
    fn adjust_date(now: f64, adjustment: &str) -> Option<f64> {
        let now = DateTime::<Utc>::from_timestamp_millis(now as i64)?;
        js::date::adjust_date(now, adjustment).map(|t| t.timestamp_millis() as f64)
    }

    #[test]
    fn adjust_date_units() {
        let at = |iso: &str| parse_iso(iso).unwrap_or(f64::NAN);
        let jan31 = at("2024-01-31T10:00:00Z");
        assert_eq!(
            adjust_date(jan31, "1 month"),
            Some(at("2024-02-29T10:00:00Z"))
        );
        assert_eq!(
            adjust_date(jan31, "-1 mo"),
            Some(at("2023-12-31T10:00:00Z"))
        );
        assert_eq!(
            adjust_date(jan31, "+1 year"),
            Some(at("2025-01-31T10:00:00Z"))
        );
        assert_eq!(adjust_date(jan31, "-2 y"), Some(at("2022-01-31T10:00:00Z")));
        assert_eq!(adjust_date(jan31, "1"), Some(at("2024-02-01T10:00:00Z")));
        assert_eq!(
            adjust_date(jan31, "2 weeks"),
            Some(at("2024-02-14T10:00:00Z"))
        );
        assert_eq!(
            adjust_date(jan31, "-30 MINUTES"),
            Some(at("2024-01-31T09:30:00Z"))
        );
        assert_eq!(adjust_date(jan31, "90s"), Some(at("2024-01-31T10:01:30Z")));
        assert_eq!(adjust_date(jan31, "1.5h"), Some(at("2024-01-31T11:30:00Z")));
        assert_eq!(adjust_date(jan31, "500ms"), Some(jan31 + 500.0));
        assert_eq!(adjust_date(jan31, "1 fortnight"), None);
        assert_eq!(adjust_date(jan31, " 1 day"), None);
    }

    #[test]
    fn accountability_variables() {
        let acc = json!({"user": "u1", "role": "r1", "roles": ["r1", "r2"], "admin": false});
        let f = |op: Value| json!({"$trigger": {"v": op}});
        let d = |v: Value| json!({"$trigger": {"v": v}});
        assert_eq!(
            run_as(
                f(json!({"_eq": "$CURRENT_USER"})),
                d(json!("u1")),
                acc.clone()
            ),
            Ok(())
        );
        assert_eq!(
            run_as(
                f(json!({"_eq": "$CURRENT_USER"})),
                d(json!("u2")),
                acc.clone()
            ),
            failed(vec![fv(
                "eq",
                json!({"valid": "u1"}),
                " Value has to be \"u1\"."
            )])
        );
        assert_eq!(
            run_as(
                f(json!({"_eq": "$CURRENT_ROLE"})),
                d(json!("r1")),
                acc.clone()
            ),
            Ok(())
        );
        assert_eq!(
            run_as(
                f(json!({"_in": "$CURRENT_ROLES"})),
                d(json!("r2")),
                acc.clone()
            ),
            Ok(())
        );
        assert_eq!(
            run_as(
                f(json!({"_in": ["x", "$CURRENT_ROLES"]})),
                d(json!("r1")),
                acc.clone()
            ),
            Ok(())
        );
        // `.field` forms and `$CURRENT_POLICIES` are null in conditions.
        assert_eq!(
            run_as(
                f(json!({"_eq": "$CURRENT_USER.email"})),
                d(json!(null)),
                acc.clone()
            ),
            Ok(())
        );
        assert_eq!(
            run_as(
                f(json!({"_eq": "$CURRENT_ROLE.name"})),
                d(json!(null)),
                acc.clone()
            ),
            Ok(())
        );
        assert_eq!(
            run_as(
                f(json!({"_eq": "$CURRENT_POLICIES"})),
                d(json!(null)),
                acc.clone()
            ),
            Ok(())
        );
        // No accountability: null.
        assert_eq!(
            run_as(
                f(json!({"_eq": "$CURRENT_USER"})),
                d(json!(null)),
                Value::Null
            ),
            Ok(())
        );
        assert_eq!(
            run_as(
                f(json!({"_nnull": true, "_eq": "$CURRENT_USER"})),
                d(json!("u1")),
                Value::Null
            ),
            failed(vec![fv("null", json!({}), " Value has to be null.")])
        );
    }

    // ---- functions --------------------------------------------------------------------------------------------------

    #[test]
    fn function_keys() {
        let data = json!({"$trigger": {"payload": {
            "date": "2024-03-05T10:20:30Z",
            "tags": ["a", "b"],
        }}});
        for (key, value) in [
            ("year(date)", 2024),
            ("month(date)", 3),
            ("week(date)", 10),
            ("day(date)", 5),
            ("weekday(date)", 2),
            ("hour(date)", 10),
            ("minute(date)", 20),
            ("second(date)", 30),
            ("count(tags)", 2),
        ] {
            let filter = json!({"$trigger": {"payload": {key: {"_eq": value}}}});
            assert_eq!(run(filter, data.clone()), Ok(()), "{key}");
        }
        assert_eq!(
            run(
                json!({"$trigger": {"payload": {"year(date)": {"_eq": 2023}}}}),
                data.clone()
            ),
            failed(vec![failure(
                "$trigger",
                &["payload", "year(date)"],
                "eq",
                json!({"valid": 2023}),
                " Value has to be \"2023\"."
            )])
        );
        assert_eq!(
            run(
                json!({"$trigger": {"payload": {"count(tags)": {"_gt": 2}}}}),
                data.clone()
            ),
            failed(vec![failure(
                "$trigger",
                &["payload", "count(tags)"],
                "gt",
                json!({"valid": 2}),
                " Value has to be greater than \"2\"."
            )])
        );
        // count() of a non-array is null.
        assert_eq!(
            run(
                json!({"$trigger": {"payload": {"count(date)": {"_null": true}}}}),
                data.clone()
            ),
            Ok(())
        );
        // A date function of something that isn't a date fails the comparison.
        assert_eq!(
            run(
                json!({"$trigger": {"payload": {"year(tags)": {"_gt": 2000}}}}),
                data.clone()
            ),
            failed(vec![failure(
                "$trigger",
                &["payload", "year(tags)"],
                "required",
                json!({}),
                " Value is required."
            )])
        );
        // Week numbering: weeks start on Sunday, week 1 holds January 1st.
        for (date, week) in [
            ("2023-12-31", 1),
            ("2024-01-06", 1),
            ("2024-01-07", 2),
            ("2024-12-29", 1),
            ("2022-01-01", 1),
            ("2021-12-25", 52),
        ] {
            let filter = json!({"$trigger": {"week(d)": {"_eq": week}}});
            assert_eq!(
                run(filter, json!({"$trigger": {"d": date}})),
                Ok(()),
                "{date}"
            );
        }
        // An unknown function is a TypeError in Directus.
        assert_eq!(
            invalid_msg(
                json!({"$trigger": {"foo(bar)": {"_eq": 1}}}),
                json!({"$trigger": {"bar": 1}})
            ),
            "functions[functionName] is not a function"
        );
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    #[test]
    fn javascript_number_strings() {
        for (n, s) in [
            (0.0, "0"),
            (100.0, "100"),
            (-5.5, "-5.5"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (1e21, "1e+21"),
            (1.5e22, "1.5e+22"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(js::number_string(n), s);
        }
        assert_eq!(js::string_to_number(" 0x1A "), 26.0);
        assert_eq!(js::string_to_number(""), 0.0);
        assert!(js::string_to_number("1_0").is_nan());
        assert!(js::string_to_number("inf").is_nan());
    }

    /// U+0085 is Unicode whitespace but not JavaScript's: Joi's `trim()` keeps it, so the text is
    /// no number (the condition used to trim it away with Rust's `char::is_whitespace`).
    #[test]
    fn next_line_is_not_javascript_whitespace() {
        assert_eq!(coerce_number(&Js::Str("\u{85}3".into())), None);
        assert_eq!(
            coerce_number(&Js::Str("\u{feff}3\u{2028}".into())),
            Some(3.0)
        );
        assert!(js_to_number(&Js::Str("\u{85}3".into())).is_nan());
    }

    #[test]
    fn joi_number_coercion() {
        assert_eq!(coerce_number(&Js::Str("010".into())), Some(10.0));
        assert_eq!(coerce_number(&Js::Str("1.50".into())), Some(1.5));
        assert_eq!(coerce_number(&Js::Str(".5".into())), Some(0.5));
        assert_eq!(coerce_number(&Js::Str("1e3".into())), Some(1000.0));
        assert_eq!(coerce_number(&Js::Str("-0".into())), Some(0.0));
        assert_eq!(coerce_number(&Js::Str("12345678901234567890".into())), None);
        assert_eq!(coerce_number(&Js::Str("0x10".into())), None);
    }

    #[test]
    fn lodash_paths() {
        assert_eq!(string_to_path("a.b[0].c"), vec!["a", "b", "0", "c"]);
        assert_eq!(string_to_path("a..b"), vec!["a", "", "b"]);
        assert_eq!(string_to_path("a[\"x.y\"]"), vec!["a", "x.y"]);
        let mut root = Js::Obj(vec![("a".into(), Js::Str("s".into()))]);
        lodash_set(&mut root, &string_to_path("a.b"), Js::Num(1.0));
        assert_eq!(root.to_json(), json!({"a": {"b": 1}}));
    }

    #[test]
    fn js_key_order_puts_indices_first() {
        // `{"b": ..., "0": ...}`: Object.keys gives "0" first, so "0" is the first `_and` branch.
        assert_eq!(
            run(json!({"b": {"_eq": 1}, "0": {"_eq": 2}}), json!({})),
            failed(vec![
                failure("0", &[], "required", json!({}), " Value is required."),
                failure("b", &[], "required", json!({}), " Value is required."),
            ])
        );
    }
}
