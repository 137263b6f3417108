//! Cells read from the driver's row as the bytes it received, for the hot read path.
//!
//! sea-orm's `try_get_by_index` checks the column's type against the Rust type's list of
//! compatible ones on every cell (a few hundred instructions on PostgreSQL), and turns a
//! `NULL` into an error carrying a formatted column name before `Option` makes it `None`:
//! on a 25-flow REST list on PostgreSQL that was a fifth of the request. Here a cell is
//! read once by its actual type. Anything unexpected (an unknown type, text rather than
//! binary format) answers `None`, and [`crate::sql::decode`] takes its general path.

use chrono::DateTime;
use sea_orm::QueryResult;
use sea_orm::sqlx::postgres::{PgRow, PgValueFormat, PgValueRef};
use sea_orm::sqlx::{Row as _, TypeInfo as _, ValueRef as _};
use serde_json::Value;

use crate::catalog::FieldKind;
use crate::error::{Error, Result};
use crate::sql::{Decode, format_timestamp};

/// PostgreSQL type oids (`pg_type.dat`) read here.
mod oid {
    pub const BOOL: u32 = 16;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const JSON: u32 = 114;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

/// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01T00:00:00Z.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A JSON column's stored text, borrowed from the row.
pub enum JsonText<'r> {
    Null,
    Text(&'r str),
    /// Not a JSON or text value this module reads: decode it the general way.
    Other,
}

/// The text of JSON column `idx`: PostgreSQL's `json` as stored, `jsonb` in its text form,
/// SQLite's text column as it is.
pub fn json_text(row: &QueryResult, idx: usize) -> JsonText<'_> {
    if let Some(pg) = row.try_as_pg_row() {
        let Some(raw) = binary_cell(pg, idx) else {
            return JsonText::Other;
        };
        let Some(raw) = raw else {
            return JsonText::Null;
        };
        let Ok(bytes) = raw.as_bytes() else {
            return JsonText::Other;
        };
        let text = match pg_oid(&raw) {
            Some(oid::JSON) => bytes,
            // jsonb's binary form is a version byte, 1, and the text.
            Some(oid::JSONB) => match bytes.split_first() {
                Some((1, text)) => text,
                _ => return JsonText::Other,
            },
            _ => return JsonText::Other,
        };
        return std::str::from_utf8(text).map_or(JsonText::Other, JsonText::Text);
    }
    if let Some(sqlite) = row.try_as_sqlite_row() {
        return match sqlite.try_get::<Option<&str>, _>(idx) {
            Ok(Some(text)) => JsonText::Text(text),
            Ok(None) => JsonText::Null,
            Err(_) => JsonText::Other,
        };
    }
    JsonText::Other
}

/// Column `idx` of a PostgreSQL row as [`crate::sql::decode`] would answer it, when the
/// column's actual type is one read here; `None` sends the caller to the general path.
pub fn decode_pg(row: &QueryResult, idx: usize, how: Decode) -> Option<Result<Value>> {
    let pg = row.try_as_pg_row()?;
    let Some(raw) = binary_cell(pg, idx)? else {
        return Some(Ok(Value::Null));
    };
    let oid = pg_oid(&raw)?;
    let bytes = raw.as_bytes().ok()?;
    let text = || std::str::from_utf8(bytes).ok();
    let value = match (how, oid) {
        (Decode::Field(FieldKind::Hash), oid::TEXT | oid::VARCHAR | oid::BPCHAR) => {
            Value::from("**********")
        }
        (
            Decode::Field(FieldKind::String | FieldKind::Text),
            oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME,
        ) => Value::String(text()?.to_owned()),
        (Decode::Field(FieldKind::Uuid), oid::UUID) => {
            let id = uuid::Uuid::from_slice(bytes).ok()?;
            let mut buf = uuid::Uuid::encode_buffer();
            Value::String(id.hyphenated().encode_lower(&mut buf).to_owned())
        }
        (Decode::Field(FieldKind::Timestamp), oid::TIMESTAMPTZ) => {
            let micros = i64::from_be_bytes(bytes.try_into().ok()?);
            let at = DateTime::from_timestamp_micros(micros.checked_add(PG_EPOCH_MICROS)?)?;
            Value::String(format_timestamp(at))
        }
        (Decode::Field(FieldKind::Boolean), oid::BOOL) => match bytes {
            [b] => Value::Bool(*b != 0),
            _ => return None,
        },
        (
            Decode::Field(FieldKind::Integer | FieldKind::BigInteger) | Decode::Integer,
            oid::INT2 | oid::INT4 | oid::INT8,
        ) => Value::from(match bytes.len() {
            2 => i64::from(i16::from_be_bytes(bytes.try_into().ok()?)),
            4 => i64::from(i32::from_be_bytes(bytes.try_into().ok()?)),
            8 => i64::from_be_bytes(bytes.try_into().ok()?),
            _ => return None,
        }),
        (Decode::Field(FieldKind::Json), oid::JSON | oid::JSONB) => {
            let JsonText::Text(text) = json_text(row, idx) else {
                return None;
            };
            serde_json::from_str(text).ok()?
        }
        _ => return None,
    };
    Some(Ok(value))
}

/// `NULL` in column `idx` of a SQLite row, answered before the general path formats an
/// error for it.
pub fn null_sqlite(row: &QueryResult, idx: usize) -> bool {
    row.try_as_sqlite_row()
        .and_then(|sqlite| sqlite.try_get_raw(idx).ok())
        .is_some_and(|raw| raw.is_null())
}

/// A PostgreSQL array of keys (uuid, text or integers, no `NULL`s: primary keys) as the
/// text serde_json writes for the same keys decoded one by one.
pub fn key_array(row: &QueryResult, idx: usize) -> Result<String> {
    array_column(row, idx, "keys", array_json)
}

/// Array column `idx` of a PostgreSQL row written as JSON by `json` from its binary bytes;
/// `NULL` is an empty array.
fn array_column(
    row: &QueryResult,
    idx: usize,
    what: &str,
    json: impl FnOnce(&[u8]) -> Option<String>,
) -> Result<String> {
    let unreadable = || Error::Internal(format!("column {idx} is not an array of {what}"));
    let pg = row.try_as_pg_row().ok_or_else(unreadable)?;
    let Some(raw) = binary_cell(pg, idx).ok_or_else(unreadable)? else {
        return Ok("[]".to_string());
    };
    let bytes = raw.as_bytes().map_err(|_| unreadable())?;
    json(bytes).ok_or_else(unreadable)
}

/// The next big-endian 32-bit word of a binary array.
fn word(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let four: [u8; 4] = bytes.get(*at..at.checked_add(4)?)?.try_into().ok()?;
    *at += 4;
    Some(u32::from_be_bytes(four))
}

/// The header of PostgreSQL's binary array (`array_send`) of `RANK` dimensions: the number
/// of dimensions, a has-nulls flag, the element type, then each dimension's length and
/// lower bound. Answers the element type and the lengths; an empty array has no dimensions,
/// and its lengths are zero. Each element follows as a length and bytes.
fn array_header<const RANK: usize>(bytes: &[u8], at: &mut usize) -> Option<(u32, [u32; RANK])> {
    let dims = word(bytes, at)?;
    let _has_nulls = word(bytes, at)?;
    let element = word(bytes, at)?;
    let mut lengths = [0; RANK];
    match usize::try_from(dims).ok()? {
        0 => {}
        rank if rank == RANK => {
            for length in &mut lengths {
                *length = word(bytes, at)?;
                let _lower = word(bytes, at)?;
            }
        }
        _ => return None,
    }
    Some((element, lengths))
}

/// Room for an array's JSON, sized from the bytes received rather than from the counts its
/// header claims: a malformed header claiming billions of elements would otherwise ask for
/// that much memory before the first element is found missing. The JSON of uuids, integers
/// and plain text is about twice their binary form.
fn json_capacity(bytes: &[u8]) -> usize {
    bytes.len().saturating_mul(2).saturating_add(2)
}

/// A one-dimensional array of keys ([`key_array`]).
fn array_json(bytes: &[u8]) -> Option<String> {
    let mut at = 0;
    let (element, [count]) = array_header::<1>(bytes, &mut at)?;
    let mut out = String::with_capacity(json_capacity(bytes));
    out.push('[');
    for n in 0..count {
        if n > 0 {
            out.push(',');
        }
        let len = usize::try_from(word(bytes, &mut at)?).ok()?;
        let cell = bytes.get(at..at.checked_add(len)?)?;
        at += len;
        match element {
            oid::UUID => {
                let id = uuid::Uuid::from_slice(cell).ok()?;
                out.push('"');
                out.push_str(
                    id.hyphenated()
                        .encode_lower(&mut uuid::Uuid::encode_buffer()),
                );
                out.push('"');
            }
            oid::INT2 => out.push_str(&i16::from_be_bytes(cell.try_into().ok()?).to_string()),
            oid::INT4 => out.push_str(&i32::from_be_bytes(cell.try_into().ok()?).to_string()),
            oid::INT8 => out.push_str(&i64::from_be_bytes(cell.try_into().ok()?).to_string()),
            oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME => {
                out.push_str(&serde_json::to_string(std::str::from_utf8(cell).ok()?).ok()?);
            }
            _ => return None,
        }
    }
    (at == bytes.len()).then_some(())?;
    out.push(']');
    Some(out)
}

/// The keys of the objects a [`row_array`] writes, each with whether its column is an
/// integer (written bare) rather than text (written as a JSON string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowLayout {
    /// Each key as written before its value (`"key":`), and whether the value is a number.
    fields: Vec<(String, bool)>,
}

impl RowLayout {
    pub fn new<'a>(fields: impl IntoIterator<Item = (&'a str, bool)>) -> Self {
        RowLayout {
            fields: fields
                .into_iter()
                .map(|(key, number)| {
                    let mut written = serde_json::to_string(key).unwrap_or_default();
                    written.push(':');
                    (written, number)
                })
                .collect(),
        }
    }
}

/// A PostgreSQL array of rows, each a `text[]` of the layout's columns
/// (`ARRAY(SELECT ARRAY[CAST(a AS text), ...] ...)`), as the JSON array of objects
/// serde_json writes for the same rows decoded one by one.
pub fn row_array(row: &QueryResult, idx: usize, layout: &RowLayout) -> Result<String> {
    array_column(row, idx, "rows", |bytes| rows_json(bytes, layout))
}

/// [`row_array`] on the array's bytes: two dimensions (rows, then the layout's columns) of
/// text, or none for no rows.
fn rows_json(bytes: &[u8], layout: &RowLayout) -> Option<String> {
    let mut at = 0;
    let (element, [rows, columns]) = array_header::<2>(bytes, &mut at)?;
    if rows > 0 && (element != oid::TEXT || usize::try_from(columns).ok()? != layout.fields.len()) {
        return None;
    }
    let mut out = String::with_capacity(json_capacity(bytes));
    out.push('[');
    for n in 0..rows {
        out.push_str(if n == 0 { "{" } else { ",{" });
        for (c, (key, number)) in layout.fields.iter().enumerate() {
            if c > 0 {
                out.push(',');
            }
            out.push_str(key);
            // A `NULL` element's length is -1.
            let len = word(bytes, &mut at)?;
            if len == u32::MAX {
                out.push_str("null");
                continue;
            }
            let len = usize::try_from(len).ok()?;
            let cell = std::str::from_utf8(bytes.get(at..at.checked_add(len)?)?).ok()?;
            at += len;
            if *number {
                // An integer's text is its JSON.
                let digits = cell.strip_prefix('-').unwrap_or(cell);
                let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
                valid.then_some(())?;
                out.push_str(cell);
            } else {
                out.push_str(&serde_json::to_string(cell).ok()?);
            }
        }
        out.push('}');
    }
    (at == bytes.len()).then_some(())?;
    out.push(']');
    Some(out)
}

/// The cell in binary format: `Some(None)` for `NULL`, `None` when it cannot be read so.
fn binary_cell(row: &PgRow, idx: usize) -> Option<Option<PgValueRef<'_>>> {
    let raw = row.try_get_raw(idx).ok()?;
    if raw.is_null() {
        return Some(None);
    }
    (raw.format() == PgValueFormat::Binary).then_some(Some(raw))
}

fn pg_oid(raw: &PgValueRef<'_>) -> Option<u32> {
    let info = raw.type_info();
    // Domains and arrays of these are left to the general path.
    if info.is_null() {
        return None;
    }
    info.oid().map(|oid| oid.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-dimensional array as `array_send` writes it.
    fn array(element: u32, cells: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        let dims: u32 = if cells.is_empty() { 0 } else { 1 };
        for word in [dims, 0, element] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        if !cells.is_empty() {
            out.extend_from_slice(&(cells.len() as u32).to_be_bytes());
            out.extend_from_slice(&1u32.to_be_bytes());
        }
        for cell in cells {
            out.extend_from_slice(&(cell.len() as u32).to_be_bytes());
            out.extend_from_slice(cell);
        }
        out
    }

    #[test]
    fn key_arrays_read_as_the_keys_serialise() {
        let a = uuid::Uuid::parse_str("0E000001-0000-4000-8000-00000000000A").expect("uuid");
        let b = uuid::Uuid::nil();
        assert_eq!(
            array_json(&array(oid::UUID, &[a.as_bytes(), b.as_bytes()])).as_deref(),
            Some(format!("[\"{a}\",\"{b}\"]").as_str())
        );
        assert_eq!(
            array_json(&array(
                oid::INT4,
                &[&7i32.to_be_bytes(), &(-3i32).to_be_bytes()]
            ))
            .as_deref(),
            Some("[7,-3]")
        );
        assert_eq!(
            array_json(&array(oid::INT8, &[&i64::MAX.to_be_bytes()])).as_deref(),
            Some("[9223372036854775807]")
        );
        assert_eq!(
            array_json(&array(oid::INT2, &[&5i16.to_be_bytes()])).as_deref(),
            Some("[5]")
        );
        assert_eq!(
            array_json(&array(
                oid::TEXT,
                &[b"plain", "quote \" back \\ é\n".as_bytes()]
            ))
            .as_deref(),
            Some(r#"["plain","quote \" back \\ é\n"]"#)
        );
        assert_eq!(array_json(&array(oid::UUID, &[])).as_deref(), Some("[]"));
    }

    #[test]
    fn malformed_arrays_are_refused() {
        let good = array(oid::INT4, &[&1i32.to_be_bytes()]);
        assert_eq!(array_json(&good[..good.len() - 1]), None, "cut short");
        let mut longer = good.clone();
        longer.push(0);
        assert_eq!(array_json(&longer), None, "trailing bytes");
        // A NULL element (length -1), a short integer, an element type not read here, two
        // dimensions.
        let mut null = array(oid::INT4, &[]);
        null[3] = 1;
        null.extend_from_slice(&1u32.to_be_bytes());
        null.extend_from_slice(&1u32.to_be_bytes());
        null.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(array_json(&null), None);
        assert_eq!(array_json(&array(oid::INT4, &[&[1, 2]])), None);
        assert_eq!(array_json(&array(oid::BOOL, &[&[1]])), None);
        let mut two = good;
        two[3] = 2;
        assert_eq!(array_json(&two), None);
    }

    /// An array of rows as `array_send` writes `ARRAY(SELECT ARRAY[...] ...)`: text cells,
    /// `None` for `NULL`.
    fn rows(cells: &[&[Option<&str>]]) -> Vec<u8> {
        let mut out = Vec::new();
        let columns = cells.first().map_or(0, |row| row.len()) as u32;
        let dims: u32 = if cells.is_empty() { 0 } else { 2 };
        for word in [dims, 0, oid::TEXT] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        if !cells.is_empty() {
            for word in [cells.len() as u32, 1, columns, 1] {
                out.extend_from_slice(&word.to_be_bytes());
            }
        }
        for cell in cells.iter().flat_map(|row| row.iter()) {
            match cell {
                Some(text) => {
                    out.extend_from_slice(&(text.len() as u32).to_be_bytes());
                    out.extend_from_slice(text.as_bytes());
                }
                None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
            }
        }
        out
    }

    #[test]
    fn row_arrays_read_as_the_rows_serialise() {
        let layout = RowLayout::new([("key", false), ("sort", true), ("type", false)]);
        let bytes = rows(&[
            &[Some("a"), Some("-12"), Some("log")],
            &[Some("quote \" back \\ é\n\u{1}"), None, None],
        ]);
        let expected = serde_json::json!([
            {"key": "a", "sort": -12, "type": "log"},
            {"key": "quote \" back \\ é\n\u{1}", "sort": null, "type": null},
        ]);
        assert_eq!(
            rows_json(&bytes, &layout),
            Some(serde_json::to_string(&expected).expect("json"))
        );
        assert_eq!(rows_json(&rows(&[]), &layout).as_deref(), Some("[]"));
    }

    #[test]
    fn malformed_row_arrays_are_refused() {
        let layout = RowLayout::new([("key", false), ("sort", true)]);
        let good = rows(&[&[Some("a"), Some("1")]]);
        assert!(rows_json(&good, &layout).is_some());
        assert_eq!(
            rows_json(&good[..good.len() - 1], &layout),
            None,
            "cut short"
        );
        let mut longer = good.clone();
        longer.push(0);
        assert_eq!(rows_json(&longer, &layout), None, "trailing bytes");
        let one_column = RowLayout::new([("key", false)]);
        assert_eq!(rows_json(&good, &one_column), None, "another width");
        for not_integer in ["", "-", "1.5", "1e3", " 1"] {
            let bytes = rows(&[&[Some("a"), Some(not_integer)]]);
            assert_eq!(rows_json(&bytes, &layout), None, "{not_integer:?}");
        }
        let mut varchar = good.clone();
        varchar[8..12].copy_from_slice(&oid::VARCHAR.to_be_bytes());
        assert_eq!(rows_json(&varchar, &layout), None, "element type");
        let mut flat = good;
        flat[3] = 1;
        assert_eq!(rows_json(&flat, &layout), None, "one dimension");
        // A header that claims more rows than there are bytes is refused, not believed.
        let mut claims = rows(&[&[Some("a"), Some("1")]]);
        claims[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(rows_json(&claims, &layout), None, "claimed rows");
        let mut keys = array(oid::INT4, &[&1i32.to_be_bytes()]);
        keys[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(array_json(&keys), None, "claimed keys");
    }
}
