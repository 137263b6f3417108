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

pub fn json_field(
    name: String,
    shape: Shape,
) -> impl for<'a> Fn(ResolverContext<'a>) -> FieldFuture<'a> + Send + Sync {
    move |ctx| {
        let name = name.clone();
        FieldFuture::new(async move {
            let Some(value) = pick(&ctx, &name)?.filter(|v| !v.is_null()) else {
                return Ok(None);
            };
            Ok(Some(match shape {
                Shape::Scalar => FieldValue::value(Value::from_json(value.clone())?),
                Shape::Id => FieldValue::value(match value {
                    Json::Number(n) => Value::String(n.to_string()),
                    other => Value::from_json(other.clone())?,
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
                    _ => return Ok(None),
                },
            }))
        })
    }
}
