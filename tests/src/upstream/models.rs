//! The model catalog (§9): Codex's `{"models":[ModelInfo…]}` and OpenAI's model list.

use serde_json::{Value, json};

/// The ETag of the catalog (also sent as `X-Models-Etag` on model responses).
pub(crate) const MODELS_ETAG: &str = "\"fake-models-v1\"";

/// (slug, display name, description, visibility, supported_in_api, priority, default effort)
const CATALOG: &[(&str, &str, &str, &str, bool, i64, &str)] = &[
    (
        "gpt-5.5",
        "GPT-5.5",
        "Frontier agentic coding model.",
        "list",
        true,
        0,
        "medium",
    ),
    (
        "gpt-5.4",
        "GPT-5.4",
        "Strong everyday coding model.",
        "list",
        true,
        1,
        "medium",
    ),
    (
        "gpt-5.4-mini",
        "GPT-5.4-Mini",
        "Smaller, faster model for quick tasks.",
        "list",
        true,
        2,
        "medium",
    ),
    (
        "gpt-5.2-codex",
        "GPT-5.2-Codex",
        "Codex-tuned model for long-running coding work.",
        "list",
        true,
        3,
        "medium",
    ),
    (
        "codex-auto-review",
        "Codex Auto Review",
        "Reviews changes automatically.",
        "hide",
        false,
        10,
        "high",
    ),
];

/// Slugs the ChatGPT backend accepts.
pub(crate) fn chatgpt_slugs() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().map(|m| m.0)
}

/// Models the OpenAI API (`/v1`) serves.
pub(crate) fn api_models() -> Vec<&'static str> {
    let mut v: Vec<&str> = CATALOG.iter().filter(|m| m.4).map(|m| m.0).collect();
    v.push("gpt-4.1-mini");
    v
}

fn levels() -> Value {
    json!([
        {"effort": "low", "description": "Fast responses with lighter reasoning"},
        {"effort": "medium", "description": "Balances speed and reasoning depth for everyday tasks"},
        {"effort": "high", "description": "Greater reasoning depth for complex problems"},
        {"effort": "xhigh", "description": "Extra high reasoning depth for complex problems"},
    ])
}

/// The Codex catalog.
pub(crate) fn codex_catalog() -> Value {
    let models: Vec<Value> = CATALOG
        .iter()
        .map(|(slug, name, desc, vis, api, prio, effort)| {
            json!({
                "slug": slug,
                "display_name": name,
                "description": desc,
                "default_reasoning_level": effort,
                "supported_reasoning_levels": levels(),
                "shell_type": "shell_command",
                "visibility": vis,
                "supported_in_api": api,
                "priority": prio,
                "upgrade": null,
                "base_instructions": "You are Codex, a coding agent. (fake-upstream catalog)",
                "supports_reasoning_summaries": true,
                "default_reasoning_summary": "auto",
                "support_verbosity": true,
                "default_verbosity": "low",
                "apply_patch_tool_type": "freeform",
                "truncation_policy": {"mode": "tokens", "limit": 10000},
                "supports_parallel_tool_calls": true,
                "prefer_websockets": false,
                "context_window": 272000,
                "max_context_window": 272000,
                "effective_context_window_percent": 95,
                "experimental_supported_tools": [],
                "input_modalities": ["text", "image"],
            })
        })
        .collect();
    json!({ "models": models })
}

/// OpenAI's `{"object":"list","data":[…]}`.
pub(crate) fn openai_list() -> Value {
    let data: Vec<Value> = api_models().into_iter().map(openai_model).collect();
    json!({"object": "list", "data": data})
}

/// One OpenAI model object.
pub(crate) fn openai_model(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": 1_745_000_000, "owned_by": "system"})
}
