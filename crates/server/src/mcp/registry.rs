//! The registry listing (`/mcp?tool_mode=registry`): Directus's newer surface, where the
//! client sees two root tools, `search` to find the inner tools and load their details, and
//! `execute` to run one. The inner tools run exactly as in the default listing; only the
//! envelopes differ (`{"data": ...}`, and errors that say whether and how to recover).

use std::sync::Arc;

use rmcp::model::{CallToolResult, Tool as ToolInfo, ToolAnnotations};
use serde_json::{Map, Value, json};

use super::schema::{self, Shape};
use super::tools::{self, Ctx, Tool, ToolError};

const SEARCH: &str = "search";
const EXECUTE: &str = "execute";

const SEARCH_DESCRIPTION: &str = "Finds the tools this server offers. Send `query` with a few words to discover them; \
then send `names` with every tool you picked, in one call, to get their inputs and instructions before you execute them. \
Send one of the two, never both.";

const EXECUTE_DESCRIPTION: &str = "Runs one of the tools found with search, once its details were loaded with \
search({ names }). `name` is that tool's name (such as \"flows\" or \"trigger-flow\"), never \"search\" or \"execute\"; \
`input` is its input. When a failure names a `next` call, make that call and try again.";

fn root_tools() -> Vec<ToolInfo> {
    let search = schema::Input {
        properties: vec![
            (
                "query",
                Shape::Described(
                    "Words to search for. Leave it out, or send null, when you send names.",
                    Box::new(Shape::Nullable(Box::new(Shape::Str))),
                ),
            ),
            (
                "names",
                Shape::Described(
                    "The tools to load details for, all in one call. Leave it out when you send a query.",
                    Box::new(Shape::Array(Box::new(Shape::Str))),
                ),
            ),
        ],
        required: &[],
    };
    let execute = schema::Input {
        properties: vec![
            ("name", Shape::Str),
            (
                "input",
                Shape::Defaulted(json!({}), Box::new(Shape::Record)),
            ),
        ],
        required: &["name", "input"],
    };
    let mut search = ToolInfo::new(SEARCH, SEARCH_DESCRIPTION, Arc::new(search.json_schema()));
    search.annotations = Some(ToolAnnotations::from_raw(
        None,
        Some(true),
        Some(false),
        None,
        None,
    ));
    let mut execute = ToolInfo::new(
        EXECUTE,
        EXECUTE_DESCRIPTION,
        Arc::new(execute.json_schema()),
    );
    execute.annotations = Some(ToolAnnotations::from_raw(
        None,
        Some(false),
        Some(true),
        None,
        Some(true),
    ));
    vec![search, execute]
}

/// `tools/list`: only the root tools.
pub fn list() -> Vec<ToolInfo> {
    root_tools()
}

/// `tools/call` of a root tool.
pub async fn call(ctx: &Ctx<'_>, name: &str, arguments: Option<&Value>) -> CallToolResult {
    let empty = Map::new();
    let args = match arguments {
        Some(Value::Object(args)) => args,
        _ => &empty,
    };
    match name {
        SEARCH => search(ctx, args),
        EXECUTE => execute(ctx, args).await,
        _ => failure(
            ToolError {
                message: format!("\"{name}\" doesn't exist in the root toolset"),
                code: Some("UNKNOWN_META_TOOL".to_string()),
            },
            false,
            None,
        ),
    }
}

impl Tool {
    /// One line for search results.
    fn summary(self) -> &'static str {
        match self {
            Tool::SystemPrompt => Tool::SystemPrompt.description(),
            Tool::Flows => {
                "Reads and changes flows, the automations run by events, schedules, webhooks, buttons or other flows."
            }
            Tool::Operations => {
                "Reads and changes the operations of flows: the steps of their chains and how they link."
            }
            Tool::TriggerFlow => {
                "Runs an active manual flow, as its button in the app does, and returns its result."
            }
        }
    }

    /// Words a search should find the tool by, beside its name and summary.
    fn keywords(self) -> &'static [&'static str] {
        match self {
            Tool::SystemPrompt => &["instructions", "guidance", "role", "assistant", "prompt"],
            Tool::Flows => &[
                "automation",
                "workflow",
                "webhook",
                "schedule",
                "cron",
                "event",
                "hook",
                "manual",
            ],
            Tool::Operations => &[
                "steps",
                "chain",
                "resolve",
                "reject",
                "operation",
                "key",
                "automation",
            ],
            Tool::TriggerFlow => &[
                "run", "execute", "start", "manual", "button", "test", "flow",
            ],
        }
    }
}

/// `search`: tools by words, or the details of tools by name; exactly one of the two.
fn search(ctx: &Ctx<'_>, args: &Map<String, Value>) -> CallToolResult {
    let query = args
        .get("query")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|q| !q.is_empty());
    let names: Vec<&str> = args
        .get("names")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let visible = tools::visible(ctx);
    let data = match (query, names.is_empty()) {
        (Some(query), true) => {
            let results = rank(&visible, query);
            if results.is_empty() {
                let mut available: Vec<&str> = visible.iter().map(|t| t.name()).collect();
                available.sort_unstable();
                json!({"results": [], "availableToolNames": available,
                    "hint": format!("No tool matched that search. These are available: {}", available.join(", "))})
            } else {
                json!({"results": results
                    .iter()
                    .map(|t| json!({"name": t.name(), "description": t.summary()}))
                    .collect::<Vec<_>>()})
            }
        }
        (None, false) => json!({"results": visible
            .iter()
            .filter(|t| names.contains(&t.name()))
            .map(|t| json!({
                "name": t.name(),
                "description": t.summary(),
                "inputType": t.input().type_text(),
                "instructions": t.description(),
            }))
            .collect::<Vec<_>>()}),
        _ => {
            return failure(
                ToolError::payload("Send either \"query\" or \"names\", not both and not neither"),
                true,
                None,
            );
        }
    };
    tools::envelope(Some(("data", data)), None)
}

/// The tools a query's words find, best first: a word in the name counts most, then in the
/// keywords, the input's names and the summary. (Directus ranks with BM25; the order of
/// equally good matches is not part of the contract.)
fn rank(visible: &[Tool], query: &str) -> Vec<Tool> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| w.len() > 1)
        .map(str::to_lowercase)
        .collect();
    let mut scored: Vec<(usize, Tool)> = visible
        .iter()
        .map(|tool| {
            let inputs: Vec<&str> = tool.input().properties.iter().map(|(n, _)| *n).collect();
            let summary = tool.summary().to_lowercase();
            let score = words
                .iter()
                .map(|w| {
                    let mut score = 0;
                    if tool.name().contains(w.as_str()) {
                        score += 4;
                    }
                    if tool.keywords().iter().any(|k| k.contains(w.as_str())) {
                        score += 2;
                    }
                    if inputs.iter().any(|i| i.contains(w.as_str())) {
                        score += 1;
                    }
                    if summary.contains(w.as_str()) {
                        score += 1;
                    }
                    score
                })
                .sum();
            (score, *tool)
        })
        .filter(|(score, _)| *score > 0)
        .collect();
    scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    scored.into_iter().map(|(_, tool)| tool).collect()
}

/// `execute`: runs an inner tool the caller may see.
async fn execute(ctx: &Ctx<'_>, args: &Map<String, Value>) -> CallToolResult {
    let name = args.get("name").and_then(Value::as_str).unwrap_or_default();
    let tool = Tool::named(name).filter(|t| tools::visible(ctx).contains(t));
    let Some(tool) = tool else {
        // A tool the caller cannot see (admin-only ones included) is one to search for.
        return failure(
            ToolError {
                message: format!("\"{name}\" doesn't exist in the toolset"),
                code: Some("UNKNOWN_TOOL".to_string()),
            },
            true,
            Some(json!({"tool": SEARCH, "input": {"query": name}})),
        );
    };
    let input = args.get("input").cloned().unwrap_or_else(|| json!({}));
    let (outcome, url) = tools::run(ctx, tool, Some(&input)).await;
    match outcome {
        Ok(data) => tools::envelope(data.map(|data| ("data", data)), url),
        // Bad input: load the tool's details again and retry.
        Err(err) if err.code.as_deref() == Some("INVALID_PAYLOAD") => failure(
            err,
            true,
            Some(json!({"tool": SEARCH, "input": {"names": [tool.name()]}})),
        ),
        Err(err) => failure(err, false, None),
    }
}

/// `[{"error", "code", "recoverable", "next"?}]`; an error without a code is a failed run.
fn failure(err: ToolError, recoverable: bool, next: Option<Value>) -> CallToolResult {
    let mut entry = Map::new();
    entry.insert("error".into(), Value::from(err.message));
    entry.insert(
        "code".into(),
        Value::from(
            err.code
                .unwrap_or_else(|| "TOOL_EXECUTION_FAILED".to_string()),
        ),
    );
    entry.insert("recoverable".into(), Value::Bool(recoverable));
    if let Some(next) = next {
        entry.insert("next".into(), next);
    }
    tools::error_result(entry)
}
