//! Backend-aware SQL pieces shared by filters, sorts, reads and writes: binding a JSON value
//! as a typed SQL value, decoding a column back to JSON, and the date and JSON functions that
//! SQLite and PostgreSQL spell differently.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Value as SqlValue};
use sea_orm::{DbBackend, QueryResult};
use serde_json::Value;

use crate::catalog::FieldKind;
use crate::error::{Error, Result};

/// `alias.column`, where every table of a statement gets its own alias (`t0`, `t1`, ...)
/// so that self-relations such as `resolve.resolve.key` never clash.
pub fn col(alias: &str, column: &str) -> Expr {
    Expr::col((Alias::new(alias), Alias::new(column)))
}

/// Renders a timestamp the way Directus does over JSON: UTC, milliseconds, `Z`.
pub fn format_timestamp(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Directus's `dateTime` rendering: no zone, seconds precision.
const DATE_TIME: &str = "%Y-%m-%dT%H:%M:%S";
const DATE: &str = "%Y-%m-%d";

/// Parses the date forms Directus accepts in filters and payloads.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(ts) = DateTime::parse_from_rfc3339(text) {
        return Some(ts.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
}

/// Binds a JSON value as the SQL value a column of `kind` stores. Errors name the field.
pub fn bind(backend: DbBackend, kind: FieldKind, field: &str, value: &Value) -> Result<SqlValue> {
    let bad = |what: &str| Error::query(format!("Invalid {what} value for field \"{field}\""));
    if value.is_null() {
        return Ok(null_of(backend, kind));
    }
    if has_nul(value) {
        return Err(Error::query(format!(
            "Value for field \"{field}\" can't contain NUL characters"
        )));
    }
    Ok(match kind {
        FieldKind::Uuid => {
            let text = scalar_text(value).ok_or_else(|| bad("uuid"))?;
            let id = uuid::Uuid::parse_str(&text).map_err(|_| bad("uuid"))?;
            uuid_value(backend, id)
        }
        FieldKind::String | FieldKind::Text | FieldKind::Hash => {
            SqlValue::String(Some(scalar_text(value).ok_or_else(|| bad("string"))?))
        }
        FieldKind::Integer | FieldKind::BigInteger => {
            let n = match value {
                Value::Number(n) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                }),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| bad("numeric"))?;
            SqlValue::BigInt(Some(n))
        }
        FieldKind::Float => {
            let n = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|f| f.is_finite())
            .ok_or_else(|| bad("numeric"))?;
            SqlValue::Double(Some(n))
        }
        FieldKind::Boolean => {
            let b = match value {
                Value::Bool(b) => *b,
                Value::String(s) if s == "true" || s == "1" => true,
                Value::String(s) if s == "false" || s == "0" => false,
                Value::Number(n) if n.as_i64() == Some(1) => true,
                Value::Number(n) if n.as_i64() == Some(0) => false,
                _ => return Err(bad("boolean")),
            };
            SqlValue::Bool(Some(b))
        }
        FieldKind::Json => json_value(backend, value),
        FieldKind::Timestamp => {
            let text = scalar_text(value).ok_or_else(|| bad("date"))?;
            let ts = parse_timestamp(&text).ok_or_else(|| bad("date"))?;
            timestamp_value(backend, ts)
        }
        FieldKind::DateTime => {
            let text = scalar_text(value).ok_or_else(|| bad("date"))?;
            let ts = parse_timestamp(&text).ok_or_else(|| bad("date"))?;
            match backend {
                DbBackend::Postgres => SqlValue::ChronoDateTime(Some(ts.naive_utc())),
                _ => SqlValue::String(Some(ts.naive_utc().format(DATE_TIME).to_string())),
            }
        }
        FieldKind::Date => {
            let text = scalar_text(value).ok_or_else(|| bad("date"))?;
            let day = parse_timestamp(&text)
                .ok_or_else(|| bad("date"))?
                .date_naive();
            match backend {
                DbBackend::Postgres => SqlValue::ChronoDate(Some(day)),
                _ => SqlValue::String(Some(day.format(DATE).to_string())),
            }
        }
        FieldKind::Decimal => {
            let text = match value {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.trim().to_string(),
                _ => return Err(bad("numeric")),
            };
            let number: sea_orm::prelude::Decimal = text
                .parse()
                .or_else(|_| sea_orm::prelude::Decimal::from_scientific(&text))
                .map_err(|_| bad("numeric"))?;
            match backend {
                DbBackend::Postgres => SqlValue::Decimal(Some(number)),
                // SQLite's NUMERIC affinity stores numeric text as a number.
                _ => SqlValue::String(Some(number.to_string())),
            }
        }
    })
}

/// Whether a JSON value holds a NUL character in any string or key: PostgreSQL can neither
/// store nor compare such text, so flowline refuses it on both backends.
pub fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// The text of a scalar JSON value (numbers and booleans as written).
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn uuid_value(backend: DbBackend, id: uuid::Uuid) -> SqlValue {
    match backend {
        DbBackend::Postgres => SqlValue::Uuid(Some(id)),
        _ => SqlValue::String(Some(id.to_string())),
    }
}

pub fn timestamp_value(backend: DbBackend, ts: DateTime<Utc>) -> SqlValue {
    match backend {
        DbBackend::Postgres => SqlValue::ChronoDateTimeUtc(Some(ts)),
        _ => SqlValue::String(Some(format_timestamp(ts))),
    }
}

pub fn json_value(backend: DbBackend, value: &Value) -> SqlValue {
    match backend {
        DbBackend::Postgres => SqlValue::Json(Some(Box::new(value.clone()))),
        _ => SqlValue::String(Some(value.to_string())),
    }
}

fn null_of(backend: DbBackend, kind: FieldKind) -> SqlValue {
    match (backend, kind) {
        (DbBackend::Postgres, FieldKind::Uuid) => SqlValue::Uuid(None),
        (DbBackend::Postgres, FieldKind::Timestamp) => SqlValue::ChronoDateTimeUtc(None),
        (DbBackend::Postgres, FieldKind::Json) => SqlValue::Json(None),
        (DbBackend::Postgres, FieldKind::DateTime) => SqlValue::ChronoDateTime(None),
        (DbBackend::Postgres, FieldKind::Date) => SqlValue::ChronoDate(None),
        (DbBackend::Postgres, FieldKind::Decimal) => SqlValue::Decimal(None),
        (_, FieldKind::Integer | FieldKind::BigInteger) => SqlValue::BigInt(None),
        (_, FieldKind::Float) => SqlValue::Double(None),
        (_, FieldKind::Boolean) => SqlValue::Bool(None),
        _ => SqlValue::String(None),
    }
}

/// Casts a column to text, so that text operators (`_contains` on an id) work on PostgreSQL.
pub fn as_text(backend: DbBackend, expr: Expr, kind: FieldKind) -> Expr {
    match (backend, kind) {
        (
            DbBackend::Postgres,
            FieldKind::Uuid
            | FieldKind::Json
            | FieldKind::Timestamp
            | FieldKind::DateTime
            | FieldKind::Date
            | FieldKind::Decimal,
        ) => expr.cast_as(Alias::new("TEXT")),
        _ => expr,
    }
}

/// The datetime functions of Directus (`year(date_created)`), as integers.
pub fn date_part(backend: DbBackend, expr: Expr, part: &str) -> Option<Expr> {
    let (pg, lite) = match part {
        "year" => ("YEAR", "%Y"),
        "month" => ("MONTH", "%m"),
        "week" => ("WEEK", "%W"),
        "day" => ("DAY", "%d"),
        "weekday" => ("DOW", "%w"),
        "hour" => ("HOUR", "%H"),
        "minute" => ("MINUTE", "%M"),
        "second" => ("SECOND", "%S"),
        _ => return None,
    };
    Some(match backend {
        // In UTC whatever the session's time zone, as the values are rendered; and
        // `EXTRACT(SECOND ...)` has a fraction, which a plain cast would round up.
        DbBackend::Postgres => custom(
            backend,
            format!("CAST(FLOOR(EXTRACT({pg} FROM ($1 AT TIME ZONE 'UTC'))) AS INTEGER)"),
            [expr],
        ),
        _ => custom(
            backend,
            format!("CAST(strftime('{lite}', $1) AS INTEGER)"),
            [expr],
        ),
    })
}

/// `count(json_field)`: the number of elements of an array or keys of an object.
pub fn json_count(backend: DbBackend, expr: Expr) -> Expr {
    match backend {
        DbBackend::Postgres => custom(
            backend,
            "(CASE json_typeof($1) WHEN 'array' THEN json_array_length($1) WHEN 'object' THEN (SELECT CAST(COUNT(*) AS INTEGER) FROM json_object_keys($1)) ELSE NULL END)",
            [expr],
        ),
        _ => custom(
            backend,
            "(CASE json_type($1) WHEN 'array' THEN json_array_length($1) WHEN 'object' THEN (SELECT COUNT(*) FROM json_each($1)) ELSE NULL END)",
            [expr],
        ),
    }
}

/// The segments of a dotted JSON path (`a.b`, `$.a.b`); only plain keys are accepted, since
/// they are written into the SQL text.
fn json_segments(path: &str) -> Result<Vec<&str>> {
    let segments: Vec<&str> = path
        .trim_start_matches("$.")
        .split('.')
        .filter(|s| !s.is_empty())
        .collect();
    let plain = |s: &&str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if segments.is_empty() || !segments.iter().all(plain) {
        return Err(Error::query(format!("Invalid JSON path \"{path}\"")));
    }
    Ok(segments)
}

/// Extracts the value at a dotted path of a JSON column as text (strings unquoted, numbers
/// and booleans as written, `NULL` when absent), alike on both backends, so that `_json`
/// compares a filter value's text with it.
pub fn json_path(backend: DbBackend, expr: Expr, path: &str) -> Result<Expr> {
    let segments = json_segments(path)?;
    Ok(match backend {
        DbBackend::Postgres => custom(
            backend,
            format!("($1 #>> '{{{}}}')", segments.join(",")),
            [expr],
        ),
        // `json_extract` answers numbers as numbers and booleans as 1/0; PostgreSQL's
        // `#>>` answers their text.
        _ => {
            let path = format!("'$.{}'", segments.join("."));
            custom(
                backend,
                format!(
                    "(CASE json_type($1, {path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                     ELSE CAST(json_extract($1, {path}) AS TEXT) END)"
                ),
                [expr],
            )
        }
    })
}

/// `json(field, path)` in `fields`: the JSON value at a path.
pub fn json_path_value(backend: DbBackend, expr: Expr, path: &str) -> Result<Expr> {
    let segments = json_segments(path)?;
    Ok(match backend {
        DbBackend::Postgres => custom(
            backend,
            format!("CAST(($1 #> '{{{}}}') AS TEXT)", segments.join(",")),
            [expr],
        ),
        _ => custom(
            backend,
            format!("json_quote(json_extract($1, '$.{}'))", segments.join(".")),
            [expr],
        ),
    })
}

/// A custom SQL snippet with `$1`, `$2`, ... standing for `exprs`, any number of times.
/// sea-query numbers placeholders only for PostgreSQL; for SQLite the snippet is rewritten
/// to positional `?` with the expressions repeated as needed.
pub fn custom(
    backend: DbBackend,
    template: impl Into<String>,
    exprs: impl IntoIterator<Item = Expr>,
) -> Expr {
    let template = template.into();
    let exprs: Vec<Expr> = exprs.into_iter().collect();
    if backend == DbBackend::Postgres {
        return Expr::cust_with_exprs(template, exprs);
    }
    let mut out = String::with_capacity(template.len());
    let mut ordered = Vec::new();
    let mut chars = template.chars().peekable();
    let mut in_literal = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_literal = !in_literal;
        }
        if c == '$' && !in_literal && chars.peek().is_some_and(char::is_ascii_digit) {
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            if let Some(expr) = digits
                .parse::<usize>()
                .ok()
                .and_then(|n| exprs.get(n.wrapping_sub(1)))
            {
                ordered.push(expr.clone());
                out.push('?');
                continue;
            }
            out.push('$');
            out.push_str(&digits);
            continue;
        }
        if c == '?' && !in_literal {
            // A literal question mark must not be taken for a placeholder.
            out.push_str("??");
            continue;
        }
        out.push(c);
    }
    Expr::cust_with_exprs(out, ordered)
}

/// Escapes `%`, `_` and `\` so that `_contains` matches the text literally.
pub fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// How a selected column is decoded back to JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode {
    Field(FieldKind),
    Integer,
    Float,
    /// JSON text produced by `json_path_value`.
    JsonText,
    /// An o2m relation's keys read inside the parent's statement, as the text of a JSON
    /// array: a typed array on PostgreSQL ([`crate::wire::key_array`]), JSON on SQLite.
    KeyArray,
}

/// Reads column `idx` of a row as the JSON value clients see.
pub fn decode(backend: DbBackend, row: &QueryResult, idx: usize, how: Decode) -> Result<Value> {
    let pg = backend == DbBackend::Postgres;
    if pg {
        if let Some(value) = crate::wire::decode_pg(row, idx, how) {
            return value;
        }
    } else if crate::wire::null_sqlite(row, idx) {
        return Ok(Value::Null);
    }
    let v = match how {
        Decode::Field(FieldKind::Uuid) if pg => row
            .try_get_by_index::<Option<uuid::Uuid>>(idx)?
            .map(|u| Value::from(u.to_string())),
        Decode::Field(FieldKind::Timestamp) if pg => row
            .try_get_by_index::<Option<DateTime<Utc>>>(idx)?
            .map(|t| Value::from(format_timestamp(t))),
        Decode::Field(FieldKind::Json) if pg => row.try_get_by_index::<Option<Value>>(idx)?,
        Decode::KeyArray if pg => Some(Value::String(crate::wire::key_array(row, idx)?)),
        Decode::KeyArray => row
            .try_get_by_index::<Option<String>>(idx)?
            .map(Value::from),
        Decode::Field(FieldKind::Json) | Decode::JsonText => row
            .try_get_by_index::<Option<String>>(idx)?
            .map(|s| serde_json::from_str(&s).unwrap_or(Value::String(s))),
        Decode::Field(FieldKind::Boolean) => {
            row.try_get_by_index::<Option<bool>>(idx)?.map(Value::from)
        }
        Decode::Field(FieldKind::Integer | FieldKind::BigInteger) | Decode::Integer => {
            match row.try_get_by_index::<Option<i64>>(idx) {
                Ok(v) => v.map(Value::from),
                Err(_) => match row.try_get_by_index::<Option<i32>>(idx) {
                    Ok(v) => v.map(Value::from),
                    Err(_) => row.try_get_by_index::<Option<i16>>(idx)?.map(Value::from),
                },
            }
        }
        Decode::Field(FieldKind::Float) | Decode::Float => {
            match row.try_get_by_index::<Option<f64>>(idx) {
                Ok(v) => v.map(float_json),
                Err(_) => match row.try_get_by_index::<Option<f32>>(idx) {
                    Ok(v) => v.map(|f| float_json(f64::from(f))),
                    Err(_) => row
                        .try_get_by_index::<Option<i64>>(idx)?
                        .map(|i| float_json(i as f64)),
                },
            }
        }
        Decode::Field(FieldKind::Decimal) if pg => row
            .try_get_by_index::<Option<sea_orm::prelude::Decimal>>(idx)?
            .map(|d| Value::from(d.to_string())),
        Decode::Field(FieldKind::Decimal) => {
            // SQLite hands back whatever storage class the value took.
            match row.try_get_by_index::<Option<i64>>(idx) {
                Ok(v) => v.map(|i| Value::from(i.to_string())),
                Err(_) => match row.try_get_by_index::<Option<f64>>(idx) {
                    Ok(v) => v.map(|f| Value::from(f.to_string())),
                    Err(_) => row
                        .try_get_by_index::<Option<String>>(idx)?
                        .map(Value::from),
                },
            }
        }
        Decode::Field(FieldKind::DateTime) if pg => row
            .try_get_by_index::<Option<NaiveDateTime>>(idx)?
            .map(|t| Value::from(t.format(DATE_TIME).to_string())),
        Decode::Field(FieldKind::Date) if pg => row
            .try_get_by_index::<Option<NaiveDate>>(idx)?
            .map(|d| Value::from(d.format(DATE).to_string())),
        Decode::Field(FieldKind::Hash) => row
            .try_get_by_index::<Option<String>>(idx)?
            .map(|_| Value::from("**********")),
        Decode::Field(_) => row
            .try_get_by_index::<Option<String>>(idx)?
            .map(Value::from),
    };
    Ok(v.unwrap_or(Value::Null))
}

/// Whole floats print as integers (`2` rather than `2.0`), as JavaScript does.
fn float_json(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_like_directus() {
        let ts = parse_timestamp("2026-01-02").expect("date");
        assert_eq!(format_timestamp(ts), "2026-01-02T00:00:00.000Z");
        let ts = parse_timestamp("2026-01-02T03:04:05.678+01:00").expect("rfc3339");
        assert_eq!(format_timestamp(ts), "2026-01-02T02:04:05.678Z");
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(like_escape("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
