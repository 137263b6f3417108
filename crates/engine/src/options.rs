//! Typed trigger and operation options, and the lenient readers they are built with.
//!
//! Directus reads options loosely: a value of the wrong type is as good as a missing one,
//! and lists may be JSON arrays or comma-separated text. The readers here never fail on a
//! shape, so that every flow that ran before typing still runs, with the same defaults; an
//! option that could not be used at all is refused where it always was (a cron at write
//! time, a retry policy at plan time).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Text only when the value is a string; anything else reads as absent.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<str>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s.into_boxed_str()),
        _ => None,
    })
}

/// Any value, `null` included, as given: `None` only when the key is absent (with
/// `#[serde(default)]`), as JavaScript tells `undefined` from `null`.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// `true` only for JSON `true`: Directus tests these flags for truth, and flowline never
/// took `"true"` or `1` for one.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Value::deserialize(d)? == Value::Bool(true))
}

/// `false` only for JSON `false`, for flags that are on unless turned off.
pub(crate) fn flag_on<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Value::deserialize(d)? != Value::Bool(false))
}

pub(crate) fn on() -> bool {
    true
}

/// A list of names: an array (its strings, as they are) or comma-separated text (trimmed,
/// empty names dropped), as the App stores tag inputs either way.
pub(crate) fn names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Box<str>>, D::Error> {
    Ok(listed(Value::deserialize(d)?, false))
}

/// [`names`], keeping empty names of comma-separated text.
pub(crate) fn names_keep_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Box<str>>, D::Error> {
    Ok(listed(Value::deserialize(d)?, true))
}

/// The strings of an array; anything else, text included, lists nothing.
pub(crate) fn array_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Box<str>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => strings(items),
        _ => Vec::new(),
    })
}

fn strings(items: Vec<Value>) -> Vec<Box<str>> {
    items
        .into_iter()
        .filter_map(|item| match item {
            Value::String(s) => Some(s.into_boxed_str()),
            _ => None,
        })
        .collect()
}

fn listed(value: Value, keep_empty: bool) -> Vec<Box<str>> {
    match value {
        Value::Array(items) => strings(items),
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|name| keep_empty || !name.is_empty())
            .map(Box::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// Options as a struct: anything but an object (`null` included) gives the defaults, as
/// the untyped reads found no key in it.
pub(crate) fn parse<T: for<'de> Deserialize<'de> + Default>(options: Value) -> T {
    match options {
        Value::Object(map) => {
            serde_json::from_value(Value::Object(map)).unwrap_or_else(|err| {
                // The readers accept every shape, so this is a bug in a struct's attributes.
                tracing::error!(%err, "options could not be read; defaults used");
                T::default()
            })
        }
        _ => T::default(),
    }
}

/// A `webhook` trigger's options (flows-and-operations.md §3.2).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WebhookOptions {
    /// The one HTTP method the flow answers; `GET` by default.
    #[serde(default, deserialize_with = "text")]
    pub method: Option<Box<str>>,
    /// Queue the run and answer 204 at once.
    #[serde(default, rename = "async", deserialize_with = "flag")]
    pub run_async: bool,
    /// Answer a rejected run with its error instead of the selected value.
    #[serde(default, deserialize_with = "flag")]
    pub error_on_reject: bool,
    /// Cache GET answers when the server caches; only `false` turns it off.
    #[serde(default = "on", rename = "cacheEnabled", deserialize_with = "flag_on")]
    pub cache_enabled: bool,
    /// The raw query parameters that tell cached answers apart.
    #[serde(
        default,
        rename = "cacheQueryParams",
        deserialize_with = "names_keep_empty"
    )]
    pub cache_query_params: Vec<Box<str>>,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            method: None,
            run_async: false,
            error_on_reject: false,
            cache_enabled: true,
            cache_query_params: Vec::new(),
        }
    }
}

impl WebhookOptions {
    pub fn method(&self) -> &str {
        self.method.as_deref().unwrap_or("GET")
    }
}

/// A `manual` trigger's options (flows-and-operations.md §3.5).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ManualOptions {
    /// The collections the flow may be run on; none means it runs nowhere.
    #[serde(default, deserialize_with = "names")]
    pub collections: Vec<Box<str>>,
    /// Whether a run needs selected keys; on unless `false`.
    #[serde(
        default = "on",
        rename = "requireSelection",
        deserialize_with = "flag_on"
    )]
    pub require_selection: bool,
    #[serde(default, rename = "async", deserialize_with = "flag")]
    pub run_async: bool,
    #[serde(default, deserialize_with = "flag")]
    pub error_on_reject: bool,
}

impl Default for ManualOptions {
    fn default() -> Self {
        ManualOptions {
            collections: Vec::new(),
            require_selection: true,
            run_async: false,
            error_on_reject: false,
        }
    }
}

/// A `schedule` trigger's options: the cron text, checked when it is written and again
/// when its task is started (a bad one is logged and not started).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ScheduleOptions {
    #[serde(default, deserialize_with = "text")]
    pub cron: Option<Box<str>>,
}

/// An `event` trigger's options as stored (flows-and-operations.md §3.1).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
struct StoredEventOptions {
    /// `action` or `filter`.
    #[serde(default, rename = "type", deserialize_with = "text")]
    kind: Option<Box<str>>,
    #[serde(default, deserialize_with = "names")]
    scope: Vec<Box<str>>,
    #[serde(default, deserialize_with = "names")]
    collections: Vec<Box<str>>,
}

/// An `event` trigger: its kind and the event names it listens to, worked out once per
/// plan rather than for every write that looks for listeners.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventOptions {
    /// `action` or `filter`; anything else listens to nothing.
    pub kind: Option<Box<str>>,
    pub events: Vec<String>,
}

impl EventOptions {
    pub fn parse(options: Value) -> Self {
        let stored: StoredEventOptions = parse(options);
        let mut events = Vec::new();
        for scope in stored.scope {
            match scope.strip_prefix("items.") {
                Some(action @ ("create" | "update" | "delete")) => {
                    // Without collections, an items scope registers nothing, as in Directus.
                    events.extend(
                        stored
                            .collections
                            .iter()
                            .map(|c| domain::hooks::item_event(c, action)),
                    );
                }
                _ => events.push(scope.into_string()),
            }
        }
        EventOptions {
            kind: stored.kind,
            events,
        }
    }
}

/// An `operation` trigger's options: the inputs a caller must give and the outputs it
/// gets back (`/api/flows`); an empty list declares nothing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OperationOptions {
    #[serde(default, deserialize_with = "array_names")]
    pub input_fields: Vec<Box<str>>,
    #[serde(default, deserialize_with = "array_names")]
    pub output_fields: Vec<Box<str>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn webhook_defaults_and_odd_shapes() {
        let none: WebhookOptions = parse(Value::Null);
        assert_eq!(none, WebhookOptions::default());
        assert_eq!(none.method(), "GET");
        assert!(none.cache_enabled);
        let odd: WebhookOptions = parse(json!({
            "method": 5, "async": "true", "error_on_reject": 1,
            "cacheEnabled": "no", "cacheQueryParams": "a, ,b"
        }));
        assert_eq!(odd.method(), "GET");
        assert!(!odd.run_async && !odd.error_on_reject && odd.cache_enabled);
        assert_eq!(odd.cache_query_params, ["a".into(), "".into(), "b".into()]);
        let set: WebhookOptions = parse(json!({
            "method": "post", "async": true, "error_on_reject": true,
            "cacheEnabled": false, "cacheQueryParams": ["x", 1, "y"]
        }));
        assert_eq!(set.method(), "post");
        assert!(set.run_async && set.error_on_reject && !set.cache_enabled);
        assert_eq!(set.cache_query_params, ["x".into(), "y".into()]);
    }

    #[test]
    fn manual_needs_a_selection_unless_told_otherwise() {
        let none: ManualOptions = parse(json!("not an object"));
        assert!(none.require_selection && none.collections.is_empty());
        let odd: ManualOptions = parse(json!({"requireSelection": null, "collections": "a, ,b,"}));
        assert!(odd.require_selection);
        assert_eq!(odd.collections, ["a".into(), "b".into()]);
        let off: ManualOptions = parse(json!({"requireSelection": false, "collections": {"a": 1}}));
        assert!(!off.require_selection && off.collections.is_empty());
    }

    #[test]
    fn schedule_and_operation_take_only_their_types() {
        let cron: ScheduleOptions = parse(json!({"cron": 5}));
        assert_eq!(cron.cron, None);
        let cron: ScheduleOptions = parse(json!({"cron": "* * * * *"}));
        assert_eq!(cron.cron.as_deref(), Some("* * * * *"));
        let declared: OperationOptions =
            parse(json!({"input_fields": "a", "output_fields": ["b", 2]}));
        assert!(declared.input_fields.is_empty());
        assert_eq!(declared.output_fields, ["b".into()]);
    }

    #[test]
    fn event_names_follow_directus() {
        let opts = EventOptions::parse(json!({
            "type": "action",
            "scope": ["items.create", "server.start"],
            "collections": "directus_flows, articles"
        }));
        assert_eq!(opts.kind.as_deref(), Some("action"));
        assert_eq!(
            opts.events,
            ["flows.create", "articles.items.create", "server.start"]
        );
        let none = EventOptions::parse(json!({"type": "action", "scope": "items.update"}));
        assert!(none.events.is_empty());
        assert_eq!(EventOptions::parse(json!({"type": 1})).kind, None);
    }
}
