//! `?export=json|csv|csv_utf8|xml|yaml`: a read answered as a file download.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::params::Export;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The download of `rows` from `collection`, named as Directus names it.
pub fn download(collection: &str, format: Export, rows: &Value) -> Result<Response, ApiError> {
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let filename = format!("{collection} {stamp}.{}", format.extension());
    let (content_type, body) = match format {
        Export::Json => ("application/json; charset=utf-8", to_json(rows)?),
        Export::Csv | Export::CsvUtf8 => {
            let csv = to_csv(rows);
            let csv = if format == Export::CsvUtf8 {
                format!("\u{feff}{csv}")
            } else {
                csv
            };
            ("text/csv; charset=utf-8", csv)
        }
        Export::Xml => ("text/xml; charset=utf-8", to_xml(rows)),
        Export::Yaml => (
            "text/yaml; charset=utf-8",
            serde_norway::to_string(rows).map_err(internal)?,
        ),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response())
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::Domain(domain::Error::Internal(err.to_string()))
}

fn rows_of(rows: &Value) -> Vec<&Value> {
    match rows {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// `JSON.stringify(rows, null, '\t')`, as Directus writes its JSON exports.
fn to_json(rows: &Value) -> Result<String, ApiError> {
    use serde::Serialize;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    rows.serialize(&mut ser).map_err(internal)?;
    String::from_utf8(out).map_err(internal)
}

/// Nested objects flatten to dotted columns (json2csv's `flatten` transform); arrays and
/// empty objects stay whole and are written as JSON.
fn flatten(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::Object(obj) if !obj.is_empty() || prefix.is_empty() => {
            for (k, v) in obj {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// A quoted CSV field; quotes inside are doubled.
fn csv_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A cell as json2csv writes it: text (and JSON for arrays and objects) quoted, numbers
/// and booleans bare, null empty.
fn csv_cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => csv_quote(s),
        Some(other) => csv_quote(&other.to_string()),
    }
}

/// The CSV Directus's exports write (json2csv): a quoted header of every column in order of
/// first appearance, one line per row, `\n` between lines and none at the end; nothing at
/// all for no rows.
fn to_csv(rows: &Value) -> String {
    let flat: Vec<Map<String, Value>> = rows_of(rows)
        .into_iter()
        .map(|row| {
            let mut out = Map::new();
            flatten("", row, &mut out);
            out
        })
        .collect();
    if flat.is_empty() {
        return String::new();
    }
    let mut columns: Vec<String> = Vec::new();
    for row in &flat {
        for key in row.keys() {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    let mut lines = Vec::with_capacity(flat.len() + 1);
    lines.push(
        columns
            .iter()
            .map(|c| csv_quote(c))
            .collect::<Vec<_>>()
            .join(","),
    );
    for row in &flat {
        lines.push(
            columns
                .iter()
                .map(|c| csv_cell(row.get(c)))
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    lines.join("\n")
}

fn xml_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => {}
        Value::Object(obj) => {
            for (k, v) in obj {
                let tag = xml_name(k);
                out.push_str(&format!("<{tag}>"));
                xml_value(v, out);
                out.push_str(&format!("</{tag}>"));
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str("<item>");
                xml_value(item, out);
                out.push_str("</item>");
            }
        }
        Value::String(s) => out.push_str(&quick_xml::escape::escape(s.as_str())),
        other => out.push_str(&other.to_string()),
    }
}

/// Element names must start with a letter or `_`; anything else becomes `_`.
fn xml_name(key: &str) -> String {
    key.chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_ascii_alphabetic()
                || c == '_'
                || (i > 0 && (c.is_ascii_digit() || c == '-' || c == '.'))
            {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn to_xml(rows: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<data>");
    for row in rows_of(rows) {
        out.push_str("<item>");
        xml_value(row, &mut out);
        out.push_str("</item>");
    }
    out.push_str("</data>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_flattens_nested_objects() {
        let rows = json!([
            {"id": "1", "flow": {"name": "a,\"b\""}, "options": null, "n": 5},
            {"id": "2", "extra": ["x"], "empty": {}, "ok": true},
        ]);
        assert_eq!(
            to_csv(&rows),
            "\"id\",\"flow.name\",\"options\",\"n\",\"extra\",\"empty\",\"ok\"\n\
             \"1\",\"a,\"\"b\"\"\",,5,,,\n\
             \"2\",,,,\"[\"\"x\"\"]\",\"{}\",true"
        );
        assert_eq!(to_csv(&json!([])), "");
    }

    #[test]
    fn json_is_tab_indented() -> Result<(), ApiError> {
        assert_eq!(
            to_json(&json!([{"a": [1], "b": {}}]))?,
            "[\n\t{\n\t\t\"a\": [\n\t\t\t1\n\t\t],\n\t\t\"b\": {}\n\t}\n]"
        );
        Ok(())
    }

    #[test]
    fn xml_escapes_text() {
        let rows = json!([{"name": "<a & b>"}]);
        assert_eq!(
            to_xml(&rows),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<data><item><name>&lt;a &amp; b&gt;</name></item></data>"
        );
    }
}
