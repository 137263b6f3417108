//! The `system-prompt` tool: the guidance a model should follow on this server, as the
//! operator wrote it (`MCP_SYSTEM_PROMPT`) or flowline's own.

use serde_json::Value;

use super::{Ctx, Outcome};

/// Its listing text; it has no longer description.
pub const DESCRIPTION: &str =
    "Gives the guidance this server's operator wants an assistant to follow, if there is any.";

/// The built-in guidance. Directus's default tells the model to start from a `schema` tool
/// that flowline does not have, so flowline serves its own, about the tools it has.
const DEFAULT: &str = include_str!("../descriptions/system-prompt.md");

pub fn run(ctx: &Ctx<'_>) -> Outcome {
    let text = ctx.state.mcp.system_prompt.as_deref().unwrap_or(DEFAULT);
    Ok(Some(Value::from(text)))
}
