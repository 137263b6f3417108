//! The tool catalogue and the path of every `tools/call`: find the tool, check who may use
//! it, validate its input, run it, and wrap the result in Directus's envelope.

use std::sync::Arc;

use domain::Accountability;
use rmcp::model::{CallToolResult, ContentBlock, Tool as ToolInfo, ToolAnnotations};
use serde_json::{Map, Value};

use super::schema;
use crate::app::AppState;

mod flows;
mod operations;
mod system_prompt;
mod trigger_flow;

/// What a tool runs with: the application and the caller, whose permissions apply.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub acc: &'a Accountability,
    /// The registry listing (`?tool_mode=registry`) instead of the default one.
    pub registry: bool,
}

/// A tool's failure as the model reads it: `[{"error": message, "code": code}]`.
#[derive(Debug)]
pub struct ToolError {
    pub message: String,
    /// Left out of the envelope when the error has none, as Directus leaves it out for
    /// plain errors.
    pub code: Option<String>,
}

impl ToolError {
    /// Directus's `INVALID_PAYLOAD`: "Invalid payload. <reason>."
    pub fn payload(reason: impl Into<String>) -> Self {
        ToolError::from(domain::Error::payload(reason))
    }
}

impl From<domain::Error> for ToolError {
    /// The first entry of the REST error body, so a tool's failure reads as the same write
    /// through REST would.
    fn from(err: domain::Error) -> Self {
        if let domain::Error::Internal(detail) = &err {
            tracing::error!(%detail, "MCP tool failed");
        }
        match err.entries().into_iter().next() {
            Some((message, ext)) => ToolError {
                message,
                code: ext.get("code").and_then(Value::as_str).map(str::to_string),
            },
            None => ToolError {
                message: err.to_string(),
                code: Some(err.code().to_string()),
            },
        }
    }
}

/// A tool's data (`None` when it has none: an async run, a null result).
pub type Outcome = Result<Option<Value>, ToolError>;

/// The tools, in the order Directus lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    SystemPrompt,
    Flows,
    TriggerFlow,
    Operations,
}

const TOOLS: &[Tool] = &[
    Tool::SystemPrompt,
    Tool::Flows,
    Tool::TriggerFlow,
    Tool::Operations,
];

impl Tool {
    /// The tool of that name, whether or not the caller may see it.
    pub fn named(name: &str) -> Option<Tool> {
        TOOLS.iter().copied().find(|tool| tool.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Tool::SystemPrompt => "system-prompt",
            Tool::Flows => "flows",
            Tool::TriggerFlow => "trigger-flow",
            Tool::Operations => "operations",
        }
    }

    /// Changing flows is for administrators; running one and reading the guidance is for
    /// anyone signed in, with their own permissions.
    fn admin_only(self) -> bool {
        matches!(self, Tool::Flows | Tool::Operations)
    }

    pub fn description(self) -> &'static str {
        match self {
            Tool::SystemPrompt => system_prompt::DESCRIPTION,
            Tool::Flows => include_str!("descriptions/flows.md"),
            Tool::TriggerFlow => include_str!("descriptions/trigger-flow.md"),
            Tool::Operations => include_str!("descriptions/operations.md"),
        }
    }

    /// Titles as Directus shows them, so that clients list the tools the same way on both;
    /// the tools that delete are marked so.
    fn annotations(self) -> ToolAnnotations {
        let title = match self {
            Tool::SystemPrompt => "Directus - System Prompt",
            Tool::Flows => "Directus - Flows",
            Tool::TriggerFlow => "Directus - Trigger Flow",
            Tool::Operations => "Directus - Operations",
        };
        let destructive = matches!(self, Tool::Flows | Tool::Operations).then_some(true);
        ToolAnnotations::from_raw(Some(title.to_string()), None, destructive, None, None)
    }

    pub fn input(self) -> schema::Input {
        match self {
            Tool::SystemPrompt => schema::Input {
                properties: Vec::new(),
                required: &[],
            },
            Tool::Flows => crud_input(schema::flow()),
            Tool::Operations => crud_input(schema::operation()),
            Tool::TriggerFlow => trigger_flow::input(),
        }
    }

    /// Whether the caller sees the tool: admin-only tools are hidden from other users, and
    /// `system-prompt` from everyone while it is switched off.
    fn visible(self, ctx: &Ctx<'_>) -> bool {
        match self {
            Tool::SystemPrompt => ctx.state.mcp.system_prompt_enabled,
            tool => !tool.admin_only() || ctx.acc.admin,
        }
    }
}

/// The listed input of `flows` and `operations`: every action's properties together.
fn crud_input(data: schema::Shape) -> schema::Input {
    schema::Input {
        properties: vec![
            ("action", schema::action()),
            ("query", schema::query()),
            ("data", data),
            ("key", schema::Shape::Str),
        ],
        required: &["action"],
    }
}

/// `tools/list`: the tools this caller may use.
pub fn list(ctx: &Ctx<'_>) -> Vec<ToolInfo> {
    TOOLS
        .iter()
        .filter(|tool| tool.visible(ctx))
        .map(|tool| {
            let mut info = ToolInfo::new(
                tool.name(),
                tool.description(),
                Arc::new(tool.input().json_schema()),
            );
            info.annotations = Some(tool.annotations());
            info
        })
        .collect()
}

/// `tools/call`: the result object, an error envelope included (tool failures are results
/// the model reads, not JSON-RPC errors).
pub async fn call(ctx: &Ctx<'_>, name: &str, arguments: Option<&Value>) -> CallToolResult {
    let Some(tool) = Tool::named(name).filter(|t| *t != Tool::SystemPrompt || t.visible(ctx))
    else {
        return failure(ToolError::payload(format!(
            "\"{name}\" doesn't exist in the toolset"
        )));
    };
    if !tool.visible(ctx) {
        return failure(ToolError {
            message: "You must be an admin to access this tool".to_string(),
            code: Some("FORBIDDEN".to_string()),
        });
    }
    let (outcome, url) = run(ctx, tool, arguments).await;
    match outcome {
        Ok(data) => envelope(data.map(|data| ("raw", data)), url),
        Err(err) => failure(err),
    }
}

/// The tools this caller may see and use, in order.
pub fn visible(ctx: &Ctx<'_>) -> Vec<Tool> {
    TOOLS.iter().copied().filter(|t| t.visible(ctx)).collect()
}

/// Runs a tool the caller may use: its input checked, its data, and the flow's page when
/// there is one.
pub async fn run(
    ctx: &Ctx<'_>,
    tool: Tool,
    arguments: Option<&Value>,
) -> (Outcome, Option<String>) {
    if tool == Tool::SystemPrompt {
        // It takes no input; whatever the client sent is ignored.
        return (system_prompt::run(ctx), None);
    }
    let Some(Value::Object(args)) = arguments else {
        return (
            Err(ToolError::payload("\"arguments\" must be an object")),
            None,
        );
    };
    let args = coerce(args.clone());
    let outcome = match tool {
        Tool::Flows => flows::run(ctx, args).await,
        Tool::Operations => operations::run(ctx, args).await,
        Tool::TriggerFlow => trigger_flow::run(ctx, args).await,
        Tool::SystemPrompt => system_prompt::run(ctx),
    };
    let url = match (&outcome, tool) {
        (Ok(Some(data)), Tool::Flows) => flows::url(&ctx.state.mcp.public_url, data),
        _ => None,
    };
    (outcome, url)
}

/// Models often send objects as JSON text; those are parsed before validation, and text
/// that is not JSON stays text (and fails validation).
fn coerce(mut args: Map<String, Value>) -> Map<String, Value> {
    for key in ["data", "keys", "query", "headers"] {
        if let Some(Value::String(text)) = args.get(key)
            && let Ok(parsed) = serde_json::from_str::<Value>(text)
        {
            args.insert(key.to_string(), parsed);
        }
    }
    args
}

/// Checks a tool's input against its strict root shape; the cleaned input, or the
/// `INVALID_PAYLOAD` naming every issue.
pub fn validate(
    props: &[(&'static str, schema::Shape)],
    required: &[&str],
    args: &Map<String, Value>,
) -> Result<Map<String, Value>, ToolError> {
    let mut issues = Vec::new();
    let out = schema::check_root(props, required, args, &mut issues);
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(ToolError::payload(schema::message(&issues)))
    }
}

/// A success: `{<key>: data, "url"?: link}` as the text of one item (`raw` in the default
/// listing, `data` in the registry), or no item at all when there is no data.
pub fn envelope(data: Option<(&str, Value)>, url: Option<String>) -> CallToolResult {
    match data {
        None | Some((_, Value::Null)) => result(Vec::new(), None),
        Some((key, data)) => {
            let mut body = Map::new();
            body.insert(key.into(), data);
            if let Some(url) = url {
                body.insert("url".into(), Value::from(url));
            }
            let text = Value::Object(body).to_string();
            result(vec![ContentBlock::text(text)], None)
        }
    }
}

/// The error list `[entry]` as the text of one item, with `isError`.
pub fn error_result(entry: Map<String, Value>) -> CallToolResult {
    let text = Value::Array(vec![Value::Object(entry)]).to_string();
    result(vec![ContentBlock::text(text)], Some(true))
}

fn failure(err: ToolError) -> CallToolResult {
    let mut entry = Map::new();
    entry.insert("error".into(), Value::from(err.message));
    if let Some(code) = err.code {
        entry.insert("code".into(), Value::from(code));
    }
    error_result(entry)
}

/// A result as Directus words it: no `isError` on success, and no `resultType` (a field of
/// protocol versions Directus does not speak).
fn result(content: Vec<ContentBlock>, is_error: Option<bool>) -> CallToolResult {
    let mut result = CallToolResult::success(content);
    result.is_error = is_error;
    result.result_type = None;
    result
}

/// Shared by `flows` and `operations`: the validated input of one action.
pub struct Crud {
    pub action: &'static str,
    pub query: Option<Map<String, Value>>,
    pub data: Option<Value>,
    pub key: Option<String>,
}

/// Validates the input of `flows` or `operations`: the action chooses which other
/// properties are allowed and required (Directus's discriminated union).
pub fn crud(args: &Map<String, Value>, data: schema::Shape) -> Result<Crud, ToolError> {
    let action = args
        .get("action")
        .and_then(Value::as_str)
        .and_then(|a| schema::ACTIONS.iter().copied().find(|known| *known == a));
    let Some(action) = action else {
        return Err(ToolError::payload(schema::message(&[
            "Invalid input at \"action\"".to_string(),
        ])));
    };
    let key = || ("key", schema::Shape::Str);
    let query = || ("query", schema::query());
    let (props, required): (Vec<_>, &[&str]) = match action {
        "create" => (vec![("data", data)], &["data"]),
        "read" => (vec![query()], &[]),
        "update" => (vec![key(), ("data", data), query()], &["key", "data"]),
        _ => (vec![key()], &["key"]),
    };
    let mut props = props;
    props.insert(0, ("action", schema::action()));
    let mut clean = validate(&props, required, args)?;
    Ok(Crud {
        action,
        query: match clean.remove("query") {
            Some(Value::Object(q)) => Some(q),
            _ => None,
        },
        data: clean.remove("data"),
        key: clean
            .remove("key")
            .and_then(|k| k.as_str().map(str::to_string)),
    })
}

/// Directus's delete gate, after validation: a delete without a key fails validation
/// first and never reaches it.
pub fn deletes_allowed(ctx: &Ctx<'_>) -> Result<(), ToolError> {
    if ctx.state.mcp.allow_deletes {
        Ok(())
    } else {
        Err(ToolError::payload("Delete actions are disabled"))
    }
}

/// Reads a collection with a tool's `query` (REST's parameters, `fields` defaulting to
/// `*`), aggregates included; always a list.
pub async fn read_query(
    ctx: &Ctx<'_>,
    collection: &str,
    query: Option<&Map<String, Value>>,
) -> Result<Value, domain::Error> {
    let params = domain::params::parse(query.unwrap_or(&Map::new()))?;
    let items = &ctx.state.items;
    if let Some(aggregate) = params.aggregate_query() {
        let rows = items.aggregate(ctx.acc, collection, &aggregate).await?;
        return Ok(Value::Array(params.flatten_aggregate(rows)));
    }
    let catalog = items.readable_catalog(ctx.acc).await?;
    let node = params.read_node(&catalog, collection)?;
    Ok(Value::Array(items.read(ctx.acc, &node).await?))
}

/// Reads one item with a tool's `query` shaping it (its `fields`); a key the caller cannot
/// read is `FORBIDDEN`, as Directus's `readOne`.
pub async fn read_one(
    ctx: &Ctx<'_>,
    collection: &str,
    key: &str,
    query: Option<&Map<String, Value>>,
) -> Result<Value, domain::Error> {
    let params = domain::params::parse(query.unwrap_or(&Map::new()))?;
    let items = &ctx.state.items;
    let catalog = items.readable_catalog(ctx.acc).await?;
    let mut node = params.read_node(&catalog, collection)?;
    node.args = Default::default();
    items
        .read_keys(ctx.acc, &node, &[key.to_string()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(domain::Error::forbidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name a tool's input takes, nested objects included.
    fn names(shape: &schema::Shape, out: &mut Vec<&'static str>) {
        match shape {
            schema::Shape::Object(props) => {
                for (name, inner) in props {
                    out.push(name);
                    names(inner, out);
                }
            }
            schema::Shape::Array(inner) | schema::Shape::Nullable(inner) => names(inner, out),
            _ => {}
        }
    }

    fn assert_teaches(tool: Tool, facts: &[&str]) {
        let text = tool.description();
        let missing: Vec<&&str> = facts.iter().filter(|f| !text.contains(**f)).collect();
        assert!(
            missing.is_empty(),
            "the {} description lost {missing:?}",
            tool.name()
        );
    }

    #[test]
    fn descriptions_name_every_input_they_accept() {
        for tool in [Tool::Flows, Tool::Operations, Tool::TriggerFlow] {
            let input = tool.input();
            let mut all = Vec::new();
            for (name, shape) in &input.properties {
                all.push(*name);
                // The query parameters are Directus's; the descriptions name the common ones.
                if *name != "query" {
                    names(shape, &mut all);
                }
            }
            let wanted: Vec<String> = all
                .iter()
                .filter(|n| !matches!(**n, "date_created" | "user_created"))
                .map(|n| format!("`{n}`"))
                .collect();
            let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
            assert_teaches(tool, &wanted);
        }
    }

    #[test]
    fn descriptions_teach_the_facts_a_model_needs() {
        assert_teaches(
            Tool::Flows,
            &[
                // Actions and the delete gate.
                "`read`",
                "`create`",
                "`update`",
                "`delete`",
                "refuses deletes",
                // Trigger kinds and their options.
                "`event`",
                "`schedule`",
                "`webhook`",
                "`manual`",
                "`operation`",
                "\"scope\"",
                "\"collections\"",
                "\"cron\"",
                "\"method\"",
                "`async: true`",
                "`error_on_reject",
                "`return`",
                "\"requireSelection\"",
                "`fields`",
                // The data chain and templating.
                "`$trigger`",
                "`$last`",
                "`$accountability`",
                "`$env`",
                "{{ $trigger.body.email }}",
                // The order of work.
                "1. Create the flow",
                "2. Create its operations",
                "3. Link them",
                "4. Set the entry operation",
                // Flows calling flows, positions, common mistakes.
                "## Flows calling flows",
                "`iterationMode`",
                "## Positions",
                "## Common mistakes",
                // flowline's own rules.
                "Operation keys are unique within a flow",
                "never form a loop",
                "invalid cron expression is refused",
                "no limit on the number of active flows",
                "`url`",
            ],
        );
        assert_teaches(
            Tool::Operations,
            &[
                "`log`",
                "`condition`",
                "`transform`",
                "`exec`",
                "`request`",
                "`item-create`",
                "`item-read`",
                "`item-update`",
                "`item-delete`",
                "`mail`",
                "`notification`",
                "`sleep`",
                "`throw-error`",
                "`trigger`",
                "`json-web-token`",
                "Keys are unique within a flow",
                "never form a loop",
                "Give both positions or neither",
                "Set the entry",
                "flows calling flows",
                "{{ $trigger.body.id }}",
            ],
        );
        assert_teaches(
            Tool::TriggerFlow,
            &[
                "`manual`",
                "`active`",
                "`options.collections`",
                "`requireSelection`",
                "`options.fields`",
                "{{ $trigger.body.<field> }}",
                "`async`",
                "`error_on_reject`",
                "cannot be run from here",
            ],
        );
    }

    /// Directus's text tells models to send keys its schema refuses; ours must not: every
    /// example call in a description passes the tool's own validation.
    #[test]
    fn examples_pass_validation() {
        for tool in [Tool::Flows, Tool::Operations, Tool::TriggerFlow] {
            let examples: Vec<Map<String, Value>> = tool
                .description()
                .lines()
                .filter_map(|l| {
                    l.trim()
                        .strip_prefix("`{")?
                        .strip_suffix("}`")
                        .map(|j| format!("{{{j}}}"))
                })
                .filter_map(|j| serde_json::from_str::<Value>(&j).ok())
                .filter_map(|v| v.as_object().cloned())
                .filter(|v| {
                    tool != Tool::Flows && tool != Tool::Operations || v.contains_key("action")
                })
                .collect();
            assert!(!examples.is_empty(), "{} has no example", tool.name());
            for example in examples {
                let checked = match tool {
                    Tool::Flows => crud(&example, schema::flow()).map(|_| ()),
                    Tool::Operations => crud(&example, schema::operation()).map(|_| ()),
                    _ => validate(
                        &trigger_flow::input().properties,
                        &["id", "collection"],
                        &example,
                    )
                    .map(|_| ()),
                };
                if let Err(err) = checked {
                    panic!("{} example {example:?}: {}", tool.name(), err.message);
                }
            }
        }
        let text = Tool::TriggerFlow.description();
        for refused in ["flowId", "flowDefinition", "$trigger.collection"] {
            assert!(!text.contains(refused), "mentions {refused}");
        }
    }
}
