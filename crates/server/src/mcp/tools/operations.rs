//! The `operations` tool: create, read, update and delete operations through the items
//! service of `directus_operations`, as `/operations` does, keeping the grid laid out.

use serde_json::{Map, Value, json};

use super::{Ctx, Outcome, ToolError};
use crate::mcp::layout;
use crate::mcp::schema;

const OPERATIONS: &str = "directus_operations";

pub async fn run(ctx: &Ctx<'_>, args: Map<String, Value>) -> Outcome {
    let input = super::crud(&args, schema::operation())?;
    let items = &ctx.state.items;
    match input.action {
        "create" => {
            let mut data = input.data.unwrap_or_default();
            let placed = has(&data, "position_x") && has(&data, "position_y");
            if !placed {
                if has(&data, "position_x") || has(&data, "position_y") {
                    return Err(ToolError::payload(schema::message(&[
                        "Provide both `position_x` and `position_y`, or omit both for automatic layout at \"data\"".to_string(),
                    ])));
                }
                data["position_x"] = Value::from(layout::ORIGIN.0);
                data["position_y"] = Value::from(layout::ORIGIN.1);
            }
            let flow = data.get("flow").and_then(Value::as_str).map(str::to_string);
            let key = items
                .create_many(ctx.acc, OPERATIONS, vec![data])
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| ToolError::from(domain::Error::forbidden()))?;
            if let (false, Some(flow)) = (placed, flow) {
                layout::flow(ctx, &flow).await;
            }
            Ok(Some(super::read_one(ctx, OPERATIONS, &key, None).await?))
        }
        "read" => Ok(Some(
            super::read_query(ctx, OPERATIONS, input.query.as_ref()).await?,
        )),
        "update" => {
            let key = input.key.unwrap_or_default();
            let data = input.data.unwrap_or_default();
            let current = super::read_one(
                ctx,
                OPERATIONS,
                &key,
                Some(&fields(&["flow", "resolve", "reject"])),
            )
            .await?;
            let from = current
                .get("flow")
                .and_then(Value::as_str)
                .map(str::to_string);
            let to = data.get("flow").and_then(Value::as_str).map(str::to_string);
            let moved = to.is_some() && to != from;
            if moved && linked(ctx, &key, &current, &data).await? {
                return Err(ToolError::payload(
                    "Cannot move a linked operation to another flow. Clear its resolve/reject and any references to it first",
                ));
            }
            items
                .update_many(ctx.acc, OPERATIONS, vec![key.clone()], data.clone())
                .await?;
            let positioned = has(&data, "position_x") || has(&data, "position_y");
            let relinked = has(&data, "resolve") || has(&data, "reject");
            if !positioned && (relinked || moved) {
                if let Some(flow) = to.as_ref().or(from.as_ref()) {
                    layout::flow(ctx, flow).await;
                }
                if let (true, Some(from)) = (moved, &from) {
                    layout::flow(ctx, from).await;
                }
            }
            Ok(Some(
                super::read_one(ctx, OPERATIONS, &key, input.query.as_ref()).await?,
            ))
        }
        _ => {
            super::deletes_allowed(ctx)?;
            let key = input.key.unwrap_or_default();
            let flow = super::read_one(ctx, OPERATIONS, &key, Some(&fields(&["flow"])))
                .await
                .ok()
                .and_then(|op| op.get("flow").and_then(Value::as_str).map(str::to_string));
            items
                .delete_many(ctx.acc, OPERATIONS, vec![key.clone()])
                .await?;
            if let Some(flow) = flow {
                layout::flow(ctx, &flow).await;
            }
            Ok(Some(Value::from(key)))
        }
    }
}

fn has(data: &Value, field: &str) -> bool {
    data.get(field).is_some()
}

fn fields(names: &[&str]) -> Map<String, Value> {
    let mut query = Map::new();
    query.insert("fields".into(), json!(names));
    query
}

/// Whether the operation is part of a chain: it links onward (with the values being
/// written, else the stored ones), another operation links to it, or a flow starts with it.
async fn linked(
    ctx: &Ctx<'_>,
    key: &str,
    current: &Value,
    data: &Value,
) -> Result<bool, ToolError> {
    let onward = ["resolve", "reject"].iter().any(|field| {
        let value = data.get(*field).or_else(|| current.get(*field));
        value.is_some_and(|v| !v.is_null())
    });
    if onward {
        return Ok(true);
    }
    let mut pointing = fields(&["id"]);
    pointing.insert(
        "filter".into(),
        json!({"_or": [{"resolve": {"_eq": key}}, {"reject": {"_eq": key}}]}),
    );
    pointing.insert("limit".into(), json!(1));
    let by_operation = super::read_query(ctx, OPERATIONS, Some(&pointing)).await?;
    if by_operation.as_array().is_some_and(|rows| !rows.is_empty()) {
        return Ok(true);
    }
    let mut starting = fields(&["id"]);
    starting.insert("filter".into(), json!({"operation": {"_eq": key}}));
    starting.insert("limit".into(), json!(1));
    let by_flow = super::read_query(ctx, "directus_flows", Some(&starting)).await?;
    Ok(by_flow.as_array().is_some_and(|rows| !rows.is_empty()))
}
