//! The `trigger-flow` tool: runs an active manual flow as the flow's button in the app does,
//! through the same engine path as `POST /flows/trigger/:id`.

use engine::{TriggerReply, TriggerRequest};
use serde_json::{Map, Value, json};

use super::{Ctx, Outcome, ToolError};
use crate::mcp::schema::{self, Shape};

fn properties() -> Vec<(&'static str, Shape)> {
    vec![
        ("id", Shape::NumOrStr),
        ("collection", Shape::Str),
        ("keys", Shape::Array(Box::new(Shape::NumOrStr))),
        ("headers", Shape::Record),
        ("query", Shape::Record),
        ("data", Shape::Record),
    ]
}

const REQUIRED: &[&str] = &["id", "collection"];

pub fn input() -> schema::Input {
    schema::Input {
        properties: properties(),
        required: REQUIRED,
    }
}

pub async fn run(ctx: &Ctx<'_>, args: Map<String, Value>) -> Outcome {
    let mut args = super::validate(&properties(), REQUIRED, &args)?;
    let id = match args.get("id") {
        Some(Value::String(id)) => id.clone(),
        _ => return Err(forbidden()),
    };
    let options = manual_flow_options(ctx, &id).await?;
    let data = match args.remove("data") {
        Some(Value::Object(data)) => data,
        _ => Map::new(),
    };
    if let Some(missing) = missing_required(&options, &data) {
        return Err(ToolError::payload(format!(
            "Required field \"{missing}\" is missing"
        )));
    }
    // The body the flow's button sends: the collection and the selected keys, then the
    // confirmation form's values, which may override them.
    let mut body = Map::new();
    body.insert(
        "collection".into(),
        args.remove("collection").unwrap_or(Value::Null),
    );
    if let Some(keys) = args.remove("keys") {
        body.insert("keys".into(), keys);
    }
    body.extend(data);
    let object = |value: Option<Value>| match value {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let request = TriggerRequest {
        method: "POST".to_string(),
        path: format!("/trigger/{id}"),
        query: Value::Object(object(args.remove("query"))),
        body: Value::Object(body),
        headers: object(args.remove("headers")),
        accountability: ctx.acc.clone(),
    };
    match ctx.state.engine.trigger_flow(&id, request).await {
        TriggerReply::Json(value) => Ok(Some(value)),
        // An async run, or a run whose `$last` is empty. The engine answers nothing for
        // every falsy `$last` (REST's 204), so `false`, `0` and `""` read as no data here
        // where Directus would show them.
        TriggerReply::NoContent => Ok(None),
        TriggerReply::Busy => Err(ToolError {
            message: "The run queue is full; try again shortly.".to_string(),
            code: Some("SERVICE_UNAVAILABLE".to_string()),
        }),
        TriggerReply::Error(err) => {
            let entry = &err.body["errors"][0];
            Err(ToolError {
                message: entry["message"]
                    .as_str()
                    .unwrap_or("An unexpected error occurred.")
                    .to_string(),
                code: entry["extensions"]["code"].as_str().map(str::to_string),
            })
        }
    }
}

fn forbidden() -> ToolError {
    ToolError::from(domain::Error::forbidden())
}

/// The options of an active manual flow the caller may read. Every other flow (missing,
/// inactive, another trigger, unreadable) is `FORBIDDEN`, as Directus answers: webhook
/// flows are run by their URL, not by this tool.
async fn manual_flow_options(ctx: &Ctx<'_>, id: &str) -> Result<Map<String, Value>, ToolError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(forbidden());
    }
    let mut query = Map::new();
    query.insert("fields".into(), json!(["options"]));
    query.insert(
        "filter".into(),
        json!({"_and": [
            {"id": {"_eq": id}},
            {"status": {"_eq": "active"}},
            {"trigger": {"_eq": "manual"}},
        ]}),
    );
    let rows = match super::read_query(ctx, "directus_flows", Some(&query)).await {
        Ok(rows) => rows,
        Err(domain::Error::Forbidden(_)) => return Err(forbidden()),
        Err(err) => return Err(err.into()),
    };
    let flow = rows
        .as_array()
        .and_then(|rows| rows.first())
        .ok_or_else(forbidden)?;
    Ok(match flow.get("options") {
        Some(Value::Object(options)) => options.clone(),
        _ => Map::new(),
    })
}

/// The first field of the flow's confirmation form that is required and not in `data`.
fn missing_required(options: &Map<String, Value>, data: &Map<String, Value>) -> Option<String> {
    options
        .get("fields")?
        .as_array()?
        .iter()
        .filter(|field| field["meta"]["required"] == Value::Bool(true))
        .filter_map(|field| field.get("field").and_then(Value::as_str))
        .find(|name| !data.contains_key(*name))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_missing_required_field_is_named() {
        let options = json!({"fields": [
            {"field": "note", "meta": {"required": false}},
            {"field": "author", "meta": {"required": true}},
            {"field": "reason", "meta": {"required": true}},
        ]});
        let options = options.as_object().cloned().unwrap_or_default();
        let data = json!({"reason": "x"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(missing_required(&options, &data).as_deref(), Some("author"));
        assert_eq!(missing_required(&Map::new(), &data), None);
    }
}
