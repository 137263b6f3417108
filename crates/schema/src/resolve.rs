//! The one resolver every generated object field uses: the root resolver has already read
//! the whole tree, so a field only picks its value out of its parent's JSON.

use async_graphql::dynamic::{FieldFuture, FieldValue, ResolverContext};
use async_graphql::{Name, Value};
use serde_json::Value as Json;

/// How a field's JSON value becomes a GraphQL value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Scalar,
    /// GraphQL `ID`s serialise as strings, whatever the key's storage.
    Id,
    Enum,
    Object,
    List,
}

/// Looks the value up under the field's response key (aliases), then its name.
fn pick<'a>(ctx: &ResolverContext<'a>, name: &str) -> async_graphql::Result<Option<&'a Json>> {
    let parent = ctx.parent_value.try_downcast_ref::<Json>()?;
    let key = ctx.ctx.item.node.response_key().node.as_str();
    Ok(parent.get(key).or_else(|| parent.get(name)))
}

/// The resolver of a generated field. It runs synchronously: the value is already in its
/// parent's JSON, so no future is boxed per field (a list of 25 flows with their operations
/// resolves about 250 fields), and scalars are copied straight into GraphQL values.
pub fn json_field(
    name: String,
    shape: Shape,
) -> impl for<'a> Fn(ResolverContext<'a>) -> FieldFuture<'a> + Send + Sync {
    move |ctx| match pick(&ctx, &name) {
        Ok(value) => FieldFuture::Value(value.filter(|v| !v.is_null()).and_then(|value| {
            Some(match shape {
                Shape::Scalar => FieldValue::value(const_value(value)),
                Shape::Id => FieldValue::value(match value {
                    Json::Number(n) => Value::String(n.to_string()),
                    other => const_value(other),
                }),
                Shape::Enum => {
                    FieldValue::value(Value::Enum(Name::new(value.as_str().unwrap_or_default())))
                }
                Shape::Object => FieldValue::borrowed_any(value),
                Shape::List => match value {
                    Json::Array(items) => FieldValue::list(items.iter().map(|item| {
                        if item.is_null() {
                            FieldValue::NULL
                        } else {
                            FieldValue::borrowed_any(item)
                        }
                    })),
                    _ => return None,
                },
            })
        })),
        Err(err) => FieldFuture::new(async move { Err::<Option<FieldValue<'_>>, _>(err) }),
    }
}

/// A JSON value as a GraphQL value, without a round trip through serde.
fn const_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => Value::Number(n.clone()),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(const_value).collect()),
        Json::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (Name::new(k), const_value(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_becomes_the_same_graphql_value_as_through_serde() {
        let json =
            json!({"a": [1, 2.5, -3, null, true], "b": {"c": "d"}, "e": 18446744073709551615u64});
        let direct = const_value(&json);
        let through_serde = Value::from_json(json).expect("convertible");
        assert_eq!(direct, through_serde);
    }
}
