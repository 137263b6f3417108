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
        Export::Json => (
            "application/json; charset=utf-8",
            serde_json::to_string_pretty(rows).map_err(internal)?,
        ),
        Export::Csv | Export::CsvUtf8 => {
            let csv = to_csv(rows)?;
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

/// Nested objects flatten to dotted columns; arrays are written as JSON.
fn flatten(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::Object(obj) => {
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

fn to_csv(rows: &Value) -> Result<String, ApiError> {
    let flat: Vec<Map<String, Value>> = rows_of(rows)
        .into_iter()
        .map(|row| {
            let mut out = Map::new();
            flatten("", row, &mut out);
            out
        })
        .collect();
    let mut columns: Vec<String> = Vec::new();
    for row in &flat {
        for key in row.keys() {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&columns).map_err(internal)?;
    for row in &flat {
        let record: Vec<String> = columns
            .iter()
            .map(|c| match row.get(c) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            })
            .collect();
        writer.write_record(&record).map_err(internal)?;
    }
    let bytes = writer.into_inner().map_err(internal)?;
    String::from_utf8(bytes).map_err(internal)
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
    fn csv_flattens_nested_objects() -> Result<(), ApiError> {
        let rows = json!([{"id": "1", "flow": {"name": "a,b"}, "options": null}, {"id": "2", "extra": [1]}]);
        assert_eq!(
            to_csv(&rows)?,
            "id,flow.name,options,extra\n1,\"a,b\",,\n2,,,[1]\n"
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
