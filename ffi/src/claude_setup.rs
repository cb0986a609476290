//! The records for Claude Code's set-up (its `settings.json` pointed at the endpoint), with
//! the core's words for them. None of them holds the token written there.

use codex_router_core::claude_config::{
    ClaudeSetup as CoreClaudeSetup, ClaudeSetupState as CoreClaudeSetupState,
};
use codex_router_core::view::messages::{claude_setup_summary, claude_state_words};

/// Whether Claude Code sends its requests to the router (its `settings.json`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClaudeSetup {
    /// Claude Code's `settings.json`.
    pub path: String,
    /// Whether its `ANTHROPIC_BASE_URL` points at this machine (what a removal takes out).
    pub added: bool,
    /// That address, when it is there.
    pub base_url: Option<String>,
    /// Whether `base_url` is where the router's settings say the endpoint listens.
    pub current: bool,
    /// All of it in a sentence: "Claude Code sends its requests to Codex Router (…)."
    pub summary: String,
}

/// What setting Claude Code up, or removing the set-up, did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClaudeSetupChange {
    /// Claude Code's `settings.json`.
    pub path: String,
    /// The address Claude Code now sends to (`None` after a removal).
    pub base_url: Option<String>,
    /// Whether the file changed (`false`: nothing to do).
    pub changed: bool,
    /// What happened, a sentence a line.
    pub summary: Vec<String>,
}

impl From<CoreClaudeSetupState> for ClaudeSetup {
    fn from(s: CoreClaudeSetupState) -> Self {
        Self {
            summary: claude_state_words(&s),
            path: s.path.display().to_string(),
            added: s.base_url.is_some(),
            base_url: s.base_url,
            current: s.current,
        }
    }
}

impl From<CoreClaudeSetup> for ClaudeSetupChange {
    fn from(c: CoreClaudeSetup) -> Self {
        Self {
            summary: claude_setup_summary(&c),
            path: c.path.display().to_string(),
            base_url: c.base_url,
            changed: c.changed,
        }
    }
}
