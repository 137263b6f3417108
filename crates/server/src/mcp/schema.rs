//! The tools' input shapes, written once: each gives the JSON Schema `tools/list` shows and
//! the validation `tools/call` applies, with Directus's messages (zod 4 and
//! zod-validation-error), so that a model's mistake reads the same on both servers.

use serde_json::{Map, Value, json};

/// A value's expected shape.
#[derive(Debug, Clone)]
pub enum Shape {
    Str,
    Num,
    Bool,
    /// `T` or `null`.
    Nullable(Box<Shape>),
    /// One of these strings; the description, when given, is shown in the schema.
    Enum(&'static [&'static str], Option<&'static str>),
    Array(Box<Shape>),
    /// An object with any keys and values.
    Record,
    /// An object with string values.
    StringRecord,
    /// A number or a string (ids and keys).
    NumOrStr,
    /// An object of known optional properties; unknown keys are dropped, not refused.
    Object(Vec<(&'static str, Shape)>),
    /// A shape with a description shown in the schema.
    Described(&'static str, Box<Shape>),
    /// A shape with a default shown in the schema.
    Defaulted(Value, Box<Shape>),
}

/// One tool input's properties, in order, and which are required.
pub struct Input {
    pub properties: Vec<(&'static str, Shape)>,
    pub required: &'static [&'static str],
}

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

impl Input {
    /// The input as a TypeScript type.
    pub fn type_text(&self) -> String {
        object_text(&self.properties, self.required)
    }

    /// The root JSON Schema: strict, with `required` left out when empty.
    pub fn json_schema(&self) -> Map<String, Value> {
        let mut root = Map::new();
        root.insert("$schema".into(), Value::from(DRAFT));
        root.insert("type".into(), Value::from("object"));
        root.insert("properties".into(), properties(&self.properties));
        if !self.required.is_empty() {
            root.insert("required".into(), json!(self.required));
        }
        root.insert("additionalProperties".into(), Value::Bool(false));
        root
    }
}

/// `inner`'s schema with `key` placed first, as zod places descriptions and defaults.
fn first(key: &str, value: Value, inner: &Shape) -> Value {
    let mut out = Map::new();
    out.insert(key.into(), value);
    if let Value::Object(rest) = inner.json_schema() {
        out.extend(rest);
    }
    Value::Object(out)
}

fn object_text(props: &[(&'static str, Shape)], required: &[&str]) -> String {
    let fields: Vec<String> = props
        .iter()
        .map(|(name, shape)| {
            let optional = if required.contains(name) { "" } else { "?" };
            format!("{name}{optional}: {}", shape.type_text())
        })
        .collect();
    if fields.is_empty() {
        "{}".into()
    } else {
        format!("{{ {} }}", fields.join("; "))
    }
}

fn properties(props: &[(&'static str, Shape)]) -> Value {
    Value::Object(
        props
            .iter()
            .map(|(name, shape)| (name.to_string(), shape.json_schema()))
            .collect(),
    )
}

impl Shape {
    fn json_schema(&self) -> Value {
        match self {
            Shape::Str => json!({"type": "string"}),
            Shape::Num => json!({"type": "number"}),
            Shape::Bool => json!({"type": "boolean"}),
            Shape::Nullable(inner) => json!({"anyOf": [inner.json_schema(), {"type": "null"}]}),
            Shape::Enum(values, description) => {
                let mut out = Map::new();
                if let Some(description) = description {
                    out.insert("description".into(), Value::from(*description));
                }
                out.insert("type".into(), Value::from("string"));
                out.insert("enum".into(), json!(values));
                Value::Object(out)
            }
            Shape::Array(items) => json!({"type": "array", "items": items.json_schema()}),
            Shape::Record => json!({
                "type": "object",
                "propertyNames": {"type": "string"},
                "additionalProperties": {},
            }),
            Shape::StringRecord => json!({
                "type": "object",
                "propertyNames": {"type": "string"},
                "additionalProperties": {"type": "string"},
            }),
            Shape::NumOrStr => json!({"anyOf": [{"type": "number"}, {"type": "string"}]}),
            Shape::Object(props) => json!({
                "type": "object",
                "properties": properties(props),
                "additionalProperties": false,
            }),
            Shape::Described(text, inner) => first("description", Value::from(*text), inner),
            Shape::Defaulted(value, inner) => first("default", value.clone(), inner),
        }
    }

    /// The shape as a TypeScript type, as the registry's `search` shows inputs.
    fn type_text(&self) -> String {
        match self {
            Shape::Str => "string".into(),
            Shape::Num => "number".into(),
            Shape::Bool => "boolean".into(),
            Shape::Nullable(inner) => format!("{} | null", inner.type_text()),
            Shape::Enum(values, _) => values
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(" | "),
            Shape::Array(items) => match **items {
                Shape::Nullable(_) | Shape::NumOrStr | Shape::Enum(..) => {
                    format!("({})[]", items.type_text())
                }
                _ => format!("{}[]", items.type_text()),
            },
            Shape::Record => "Record<string, unknown>".into(),
            Shape::StringRecord => "Record<string, string>".into(),
            Shape::NumOrStr => "number | string".into(),
            Shape::Object(props) => object_text(props, &[]),
            Shape::Described(_, inner) | Shape::Defaulted(_, inner) => inner.type_text(),
        }
    }

    /// Checks `value` at `path`; answers the value with unknown object keys dropped, or
    /// pushes the issues found.
    fn check(&self, value: Option<&Value>, path: &str, issues: &mut Vec<String>) -> Value {
        match (self, value) {
            (Shape::Nullable(_), Some(Value::Null)) => Value::Null,
            (
                Shape::Nullable(inner) | Shape::Described(_, inner) | Shape::Defaulted(_, inner),
                _,
            ) => inner.check(value, path, issues),
            (Shape::Str, Some(v @ Value::String(_)))
            | (Shape::Num, Some(v @ Value::Number(_)))
            | (Shape::Bool, Some(v @ Value::Bool(_)))
            | (Shape::NumOrStr, Some(v @ (Value::Number(_) | Value::String(_)))) => v.clone(),
            (Shape::Enum(values, _), v) => match v {
                Some(Value::String(s)) if values.contains(&s.as_str()) => Value::from(s.clone()),
                _ => {
                    let options: Vec<String> = values.iter().map(|o| format!("\"{o}\"")).collect();
                    issues.push(format!(
                        "Invalid option: expected one of {}{}",
                        options.join("|"),
                        at(path)
                    ));
                    Value::Null
                }
            },
            (Shape::Array(items), Some(Value::Array(list))) => Value::Array(
                list.iter()
                    .enumerate()
                    .map(|(i, item)| items.check(Some(item), &format!("{path}[{i}]"), issues))
                    .collect(),
            ),
            (Shape::Record, Some(v @ Value::Object(_))) => v.clone(),
            (Shape::StringRecord, Some(Value::Object(map))) => {
                for (key, item) in map {
                    if !item.is_string() {
                        issues.push(expected("string", Some(item), &join(path, key)));
                    }
                }
                Value::Object(map.clone())
            }
            (Shape::Object(props), Some(Value::Object(map))) => {
                let mut out = Map::new();
                for (name, shape) in props {
                    if let Some(item) = map.get(*name) {
                        let checked = shape.check(Some(item), &join(path, name), issues);
                        out.insert(name.to_string(), checked);
                    }
                }
                Value::Object(out)
            }
            (Shape::NumOrStr, v) => {
                issues.push(format!(
                    "{} or {}",
                    expected("number", v, path),
                    expected("string", v, path)
                ));
                Value::Null
            }
            (shape, v) => {
                issues.push(expected(shape.type_name(), v, path));
                Value::Null
            }
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Shape::Str | Shape::Enum(..) => "string",
            Shape::Num => "number",
            Shape::Bool => "boolean",
            Shape::Array(_) => "array",
            Shape::Record | Shape::StringRecord => "record",
            Shape::Object(_) => "object",
            Shape::Nullable(inner) | Shape::Described(_, inner) | Shape::Defaulted(_, inner) => {
                inner.type_name()
            }
            Shape::NumOrStr => "number",
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at \"{path}\"")
    }
}

fn expected(kind: &str, got: Option<&Value>, path: &str) -> String {
    let got = match got {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::String(_)) => "string",
        Some(Value::Number(_)) => "number",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    };
    format!("Invalid input: expected {kind}, received {got}{}", at(path))
}

/// A strict root object: `props` checked in order (those in `required` must be present),
/// then any key it does not name refused.
pub fn check_root(
    props: &[(&'static str, Shape)],
    required: &[&str],
    args: &Map<String, Value>,
    issues: &mut Vec<String>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, shape) in props {
        match args.get(*name) {
            None if !required.contains(name) => {}
            value => {
                let checked = shape.check(value, name, issues);
                if value.is_some() {
                    out.insert(name.to_string(), checked);
                }
            }
        }
    }
    let unknown: Vec<String> = args
        .keys()
        .filter(|k| !props.iter().any(|(name, _)| name == k))
        .map(|k| format!("\"{k}\""))
        .collect();
    match unknown.len() {
        0 => {}
        1 => issues.push(format!("Unrecognized key: {}", unknown[0])),
        _ => issues.push(format!("Unrecognized keys: {}", unknown.join(", "))),
    }
    out
}

/// The validation message of a list of issues.
pub fn message(issues: &[String]) -> String {
    format!("Validation error: {}", issues.join("; "))
}

/// The `query` object of the `flows` and `operations` tools: Directus's query parameters.
pub fn query() -> Shape {
    let strings = || Shape::Array(Box::new(Shape::Str));
    Shape::Object(vec![
        ("fields", strings()),
        ("sort", strings()),
        ("filter", Shape::Record),
        ("limit", Shape::Num),
        ("offset", Shape::Num),
        ("page", Shape::Num),
        ("search", Shape::Str),
        ("deep", Shape::Record),
        ("alias", Shape::StringRecord),
        (
            "aggregate",
            Shape::Object(vec![
                ("count", strings()),
                ("sum", strings()),
                ("avg", strings()),
                ("min", strings()),
                ("max", strings()),
            ]),
        ),
        ("backlink", Shape::Bool),
        ("version", Shape::Str),
        ("versionRaw", Shape::Bool),
        ("export", Shape::Str),
        ("groupBy", strings()),
    ])
}

fn nullable(shape: Shape) -> Shape {
    Shape::Nullable(Box::new(shape))
}

/// An operation as the tools accept it.
pub fn operation() -> Shape {
    Shape::Object(vec![
        ("id", Shape::Str),
        ("name", nullable(Shape::Str)),
        ("key", Shape::Str),
        ("type", Shape::Str),
        ("position_x", Shape::Num),
        ("position_y", Shape::Num),
        ("options", Shape::Record),
        ("resolve", nullable(Shape::Str)),
        ("reject", nullable(Shape::Str)),
        ("flow", Shape::Str),
        ("date_created", Shape::Str),
        ("user_created", Shape::Str),
    ])
}

/// A flow as the tools accept it, nested operations included.
pub fn flow() -> Shape {
    Shape::Object(vec![
        ("id", Shape::Str),
        ("name", Shape::Str),
        ("icon", nullable(Shape::Str)),
        ("color", nullable(Shape::Str)),
        ("description", nullable(Shape::Str)),
        ("status", Shape::Enum(&["active", "inactive"], None)),
        (
            "trigger",
            Shape::Enum(
                &["event", "schedule", "operation", "webhook", "manual"],
                None,
            ),
        ),
        ("options", nullable(Shape::Record)),
        ("operation", nullable(Shape::Str)),
        ("operations", Shape::Array(Box::new(operation()))),
        ("date_created", Shape::Str),
        ("user_created", Shape::Str),
        ("accountability", Shape::Enum(&["all", "activity"], None)),
        ("folder", nullable(Shape::Str)),
    ])
}

pub const ACTIONS: &[&str] = &["create", "read", "update", "delete"];

/// The `action` property of `flows` and `operations`.
pub fn action() -> Shape {
    Shape::Enum(ACTIONS, Some("The operation to perform"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(props: Vec<(&'static str, Shape)>, required: &[&str], args: Value) -> Vec<String> {
        let mut issues = Vec::new();
        let args = args.as_object().cloned().unwrap_or_default();
        check_root(&props, required, &args, &mut issues);
        issues
    }

    #[test]
    fn messages_follow_zod() {
        assert_eq!(
            root(
                vec![("id", Shape::NumOrStr), ("collection", Shape::Str)],
                &["id", "collection"],
                json!({"flowId": "x", "collection": "a"})
            ),
            vec![
                "Invalid input: expected number, received undefined at \"id\" or Invalid input: expected string, received undefined at \"id\"",
                "Unrecognized key: \"flowId\"",
            ]
        );
        assert_eq!(
            root(
                vec![("data", flow())],
                &["data"],
                json!({"data": {"status": "draft"}, "a": 1, "b": 2})
            ),
            vec![
                "Invalid option: expected one of \"active\"|\"inactive\" at \"data.status\"",
                "Unrecognized keys: \"a\", \"b\"",
            ]
        );
        assert_eq!(
            root(
                vec![("headers", Shape::Record)],
                &[],
                json!({"headers": [1]})
            ),
            vec!["Invalid input: expected record, received array at \"headers\""]
        );
        assert_eq!(
            root(
                vec![("data", flow())],
                &[],
                json!({"data": {"operations": [{"key": 1}]}})
            ),
            vec!["Invalid input: expected string, received number at \"data.operations[0].key\""]
        );
    }

    #[test]
    fn unknown_keys_inside_objects_are_dropped() {
        let mut issues = Vec::new();
        let args = json!({"data": {"name": "x", "nope": 1}});
        let out = check_root(
            &[("data", flow())],
            &[],
            args.as_object().expect("object"),
            &mut issues,
        );
        assert!(issues.is_empty());
        assert_eq!(Value::Object(out), json!({"data": {"name": "x"}}));
    }
}
