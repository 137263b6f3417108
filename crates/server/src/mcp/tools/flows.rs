//! The `flows` tool: create, read, update and delete flows through the items service of
//! `directus_flows`, as `/flows` does; nested operations are laid out on the grid.

use serde_json::{Map, Value};

use super::{Ctx, Outcome, ToolError};
use crate::mcp::layout;
use crate::mcp::schema;

const FLOWS: &str = "directus_flows";

pub async fn run(ctx: &Ctx<'_>, args: Map<String, Value>) -> Outcome {
    let input = super::crud(&args, schema::flow())?;
    match input.action {
        "create" => {
            let mut data = input.data.unwrap_or_default();
            let nested = stamp_positions(&mut data);
            let keys = ctx
                .state
                .items
                .create_many(ctx.acc, FLOWS, vec![data])
                .await?;
            let key = keys
                .into_iter()
                .next()
                .ok_or_else(|| ToolError::from(domain::Error::forbidden()))?;
            if nested {
                layout::flow(ctx, &key).await;
            }
            Ok(Some(super::read_one(ctx, FLOWS, &key, None).await?))
        }
        "read" => Ok(Some(
            super::read_query(ctx, FLOWS, input.query.as_ref()).await?,
        )),
        "update" => {
            let key = input.key.unwrap_or_default();
            let mut data = input.data.unwrap_or_default();
            let nested = stamp_positions(&mut data);
            ctx.state
                .items
                .update_many(ctx.acc, FLOWS, vec![key.clone()], data)
                .await?;
            if nested {
                layout::flow(ctx, &key).await;
            }
            Ok(Some(
                super::read_one(ctx, FLOWS, &key, input.query.as_ref()).await?,
            ))
        }
        _ => {
            super::deletes_allowed(ctx)?;
            let key = input.key.unwrap_or_default();
            ctx.state
                .items
                .delete_many(ctx.acc, FLOWS, vec![key.clone()])
                .await?;
            Ok(Some(Value::from(key)))
        }
    }
}

/// New nested operations (those without an `id`) start on the grid's origin unless they
/// say where; answers whether operations were sent, so that the flow is laid out after.
fn stamp_positions(data: &mut Value) -> bool {
    let Some(Value::Array(operations)) = data.get_mut("operations") else {
        return false;
    };
    for op in operations.iter_mut() {
        if let Value::Object(op) = op
            && !op.contains_key("id")
        {
            op.entry("position_x")
                .or_insert_with(|| Value::from(layout::ORIGIN.0));
            op.entry("position_y")
                .or_insert_with(|| Value::from(layout::ORIGIN.1));
        }
    }
    true
}

/// The flow's page in the app, when the data is one flow (or a list of exactly one).
pub fn url(public_url: &str, data: &Value) -> Option<String> {
    let one = match data {
        Value::Array(list) if list.len() == 1 => &list[0],
        Value::Array(_) => return None,
        other => other,
    };
    let id = match one.get("id")? {
        Value::String(id) => id.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(format!(
        "{}/admin/settings/flows/{id}",
        public_url.trim_end_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn links_join_the_public_url() {
        let one = json!({"id": "f"});
        assert_eq!(url("/", &one).as_deref(), Some("/admin/settings/flows/f"));
        assert_eq!(
            url("https://x.io/base/", &json!([one])).as_deref(),
            Some("https://x.io/base/admin/settings/flows/f")
        );
        assert_eq!(url("/", &json!([{"id": "a"}, {"id": "b"}])), None);
        assert_eq!(url("/", &json!([{"name": "no id"}])), None);
        assert_eq!(url("/", &json!("a-key")), None);
    }
}
