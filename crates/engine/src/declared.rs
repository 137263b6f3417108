//! Declared inputs and outputs of flows run by the `trigger` operation: a flow's
//! `options.input_fields` and `options.output_fields` (lists of field names, set through
//! `/api/flows`). Without a non-empty list nothing is checked or filtered.

use serde_json::Value;

use crate::error::{DirectusError, Rejection};
use crate::plan::{FlowPlan, OperationOptions, Trigger};

/// The declarations of a flow; only `operation` flows have any.
pub(crate) fn of(flow: &FlowPlan) -> &OperationOptions {
    static NONE: OperationOptions = OperationOptions {
        input_fields: Vec::new(),
        output_fields: Vec::new(),
    };
    match &flow.trigger {
        Some(Trigger::Operation(declared)) => declared,
        _ => &NONE,
    }
}

/// Checks a payload against `input_fields`: it must be an object holding every declared
/// key. The first one missing rejects with Directus's `FAILED_VALIDATION` naming it.
pub(crate) fn check_input(declared: &OperationOptions, payload: &Value) -> Result<(), Rejection> {
    let object = payload.as_object();
    match declared
        .input_fields
        .iter()
        .find(|field| !object.is_some_and(|obj| obj.contains_key(&***field)))
    {
        None => Ok(()),
        Some(field) => {
            let mut err = DirectusError::new(
                "FAILED_VALIDATION",
                400,
                format!("Validation failed for field \"{field}\". Value is required."),
            );
            err.extensions.insert("field".into(), Value::from(&**field));
            err.extensions
                .insert("path".into(), Value::Array(Vec::new()));
            err.extensions
                .insert("type".into(), Value::from("required"));
            Err(Rejection::directus(err))
        }
    }
}

/// Keeps only the `output_fields` of an object a flow returns; other values pass as they are.
pub(crate) fn filter_output(declared: &OperationOptions, value: Value) -> Value {
    let fields = &declared.output_fields;
    match value {
        Value::Object(mut obj) if !fields.is_empty() => {
            obj.retain(|key, _| fields.iter().any(|field| **field == **key));
            Value::Object(obj)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn options(value: Value) -> OperationOptions {
        crate::options::parse(value)
    }

    #[test]
    fn a_missing_input_names_the_first_field() {
        let opts = options(json!({"input_fields": ["a", "b"]}));
        assert!(check_input(&opts, &json!({"a": 1, "b": null})).is_ok());
        let rejection = check_input(&opts, &json!({"a": 1})).expect_err("b is missing");
        assert_eq!(rejection.http.status, 400);
        assert_eq!(
            rejection.http.body,
            json!({"errors": [{
                "message": "Validation failed for field \"b\". Value is required.",
                "extensions": {"field": "b", "path": [], "type": "required", "code": "FAILED_VALIDATION"},
            }]})
        );
        assert_eq!(
            rejection.data,
            json!({"name": "DirectusError", "extensions": {"field": "b", "path": [], "type": "required"}, "code": "FAILED_VALIDATION", "status": 400})
        );
        let not_an_object = check_input(&opts, &json!([1])).expect_err("not an object");
        assert_eq!(
            not_an_object.http.body["errors"][0]["extensions"]["field"],
            "a"
        );
    }

    #[test]
    fn without_declarations_anything_passes() {
        for opts in [
            json!({}),
            json!({"input_fields": []}),
            json!({"input_fields": "a"}),
        ] {
            assert!(check_input(&options(opts), &Value::Null).is_ok());
        }
        let value = json!({"x": 1});
        assert_eq!(
            filter_output(&options(json!({"output_fields": []})), value.clone()),
            value
        );
    }

    #[test]
    fn outputs_keep_only_declared_keys() {
        let opts = options(json!({"output_fields": ["sum", "missing"]}));
        assert_eq!(
            filter_output(&opts, json!({"sum": 3, "extra": true})),
            json!({"sum": 3})
        );
        assert_eq!(filter_output(&opts, json!([1, 2])), json!([1, 2]));
        assert_eq!(filter_output(&opts, Value::Null), Value::Null);
    }
}
