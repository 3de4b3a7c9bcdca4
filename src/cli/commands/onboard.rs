//! `bd onboard`: the AGENTS.md snippet for agents (and, on stderr, where
//! `bd setup` puts it for you).

use serde_json::json;

use super::common::{Output, out};
use crate::ops::{self, Notice};

pub fn run() -> Output {
    out(json!({"snippet": ops::admin::ONBOARD}), ops::admin::ONBOARD)
}

/// The pointer to `bd setup`, on stderr so the snippet on stdout stays
/// ready to paste.
pub fn pointer() -> Notice {
    Notice::Info(
        "`bd setup <agent>` writes this into your agent's own files and registers the MCP server `bd mcp` (claude, codex, cursor, gemini, …: `bd setup --list`)"
            .into(),
    )
}
