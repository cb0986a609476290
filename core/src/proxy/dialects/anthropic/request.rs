//! An Anthropic Messages request body translated into a Responses request body: the body's
//! fields here, its messages in [`super::content`].
//!
//! - `model` mapped by `anthropic.models` ([`AnthropicSettings::target`]); a name that is
//!   not a Claude model goes through as is;
//! - `system` (a string or text blocks) → `instructions`;
//! - `tools` (`input_schema`) → function tools; `tool_choice` `auto`/`any`/`tool`/`none` →
//!   `auto`/`required`/the function/`none`; `disable_parallel_tool_use` →
//!   `parallel_tool_calls: false`;
//! - `thinking` → reasoning effort by [`effort_for_budget`] (`enabled` with `budget_tokens`),
//!   the mapped effort (`adaptive`), or `output_config.effort`; with thinking on, reasoning
//!   summaries are asked for so thinking streams back;
//! - `max_tokens`, `temperature`, `top_p`, `top_k`, `cache_control` dropped (the backend
//!   refuses or ignores them); `stop_sequences` kept for the answer to emulate;
//! - Claude Code's session id (`x-claude-code-session-id`, or the `_session_` part of
//!   `metadata.user_id`) → `prompt_cache_key`.

use super::content::translate_message;
use crate::proxy::errors::TranslateError;
use crate::proxy::fields::{invalid, missing, non_null, wrong_type};
use crate::settings::AnthropicSettings;
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};

/// A Messages request translated to a Responses request, with what the answer needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagesTranslation {
    /// The Responses request body (`stream: true`, `store: false`); call
    /// [`apply_chatgpt_quirks`](crate::proxy::upstream::apply_chatgpt_quirks) before
    /// sending it.
    pub body: Value,
    /// The model the client asked for (the answer names it).
    pub model: String,
    /// The client asked for a stream.
    pub stream: bool,
    /// Thinking was asked for: reasoning comes back as `thinking` blocks.
    pub thinking: bool,
    /// The answer ends at the first of these (`stop_reason: "stop_sequence"`).
    pub stop_sequences: Vec<String>,
}

/// The reasoning effort for a thinking budget: under 4096 tokens `low`, under 16384
/// `medium`, else `high` (Claude Code's "think" asks for about 4000, "ultrathink" 31999).
pub fn effort_for_budget(budget_tokens: u64) -> &'static str {
    match budget_tokens {
        0..4096 => "low",
        4096..16384 => "medium",
        _ => "high",
    }
}

/// `output_config.effort` as a reasoning effort (`max` is the backend's `high`).
fn effort_for_setting(effort: &str) -> Result<&'static str, TranslateError> {
    match effort {
        "low" => Ok("low"),
        "medium" => Ok("medium"),
        "high" | "max" => Ok("high"),
        other => Err(invalid(
            "output_config.effort",
            format!("unknown effort '{other}' (expected low, medium, high or max)"),
        )),
    }
}

/// Translates a Messages request body into a Responses request body; `headers` are the
/// request's (for Claude Code's session id). Wrong field types give a [`TranslateError`]
/// naming the field.
pub fn messages_to_responses(
    req: &Value,
    headers: &HeaderMap,
    settings: &AnthropicSettings,
) -> Result<MessagesTranslation, TranslateError> {
    let obj = req
        .as_object()
        .ok_or_else(|| wrong_type("body", "a JSON object"))?;
    let model = match obj.get("model") {
        None | Some(Value::Null) => return Err(missing("model")),
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(Value::String(_)) => return Err(invalid("model", "must not be empty")),
        Some(_) => return Err(wrong_type("model", "a string")),
    };
    let target = settings.target(&model);
    let upstream_model = target.map_or(model.as_str(), |t| t.model.as_str());

    let messages = match obj.get("messages") {
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(Value::Array(m)) => m,
        Some(_) => return Err(wrong_type("messages", "an array")),
    };
    let mut input = Vec::new();
    for (i, msg) in messages.iter().enumerate() {
        translate_message(msg, &format!("messages[{i}]"), &mut input)?;
    }

    let mut out = Map::new();
    out.insert("model".into(), Value::String(upstream_model.to_owned()));
    out.insert("instructions".into(), Value::String(system_text(obj)?));
    out.insert("input".into(), Value::Array(input));

    let tools = tools(obj)?;
    let has_tools = !tools.is_empty();
    if has_tools {
        out.insert("tools".into(), Value::Array(tools));
    }
    let (choice, parallel) = tool_choice(obj)?;
    if let Some(choice) = choice {
        out.insert("tool_choice".into(), choice);
    }
    if has_tools {
        out.insert("parallel_tool_calls".into(), Value::Bool(parallel));
    }

    let (effort, thinking) = reasoning(obj, target.and_then(|t| t.effort.as_deref()))?;
    if let Some(effort) = effort {
        let mut r = json!({ "effort": effort });
        if thinking {
            r["summary"] = json!("auto");
        }
        out.insert("reasoning".into(), r);
    }

    if let Some(key) = session_id(obj, headers) {
        out.insert("prompt_cache_key".into(), Value::String(key));
    }
    out.insert("store".into(), Value::Bool(false));
    out.insert("stream".into(), Value::Bool(true));

    let stream = match non_null(obj, "stream") {
        Some(v) => v
            .as_bool()
            .ok_or_else(|| wrong_type("stream", "a boolean"))?,
        None => false,
    };
    Ok(MessagesTranslation {
        body: Value::Object(out),
        model,
        stream,
        thinking,
        stop_sequences: stop_sequences(obj)?,
    })
}

/// `system`: a string or an array of text blocks, joined with blank lines.
fn system_text(obj: &Map<String, Value>) -> Result<String, TranslateError> {
    match non_null(obj, "system") {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(blocks)) => {
            let mut parts = Vec::with_capacity(blocks.len());
            for (i, b) in blocks.iter().enumerate() {
                let path = format!("system[{i}]");
                match b.get("type").and_then(Value::as_str) {
                    Some("text") => {}
                    _ => return Err(invalid(format!("{path}.type"), "expected a text block")),
                }
                let text = b
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or_else(|| wrong_type(format!("{path}.text"), "a string"))?;
                parts.push(text);
            }
            Ok(parts.join("\n\n"))
        }
        Some(_) => Err(wrong_type("system", "a string or an array of text blocks")),
    }
}

/// `tools` → function tools. Anthropic's server tools (a `type` other than `custom`) have no
/// counterpart and are left out.
fn tools(obj: &Map<String, Value>) -> Result<Vec<Value>, TranslateError> {
    let Some(tools) = non_null(obj, "tools") else {
        return Ok(Vec::new());
    };
    let tools = tools
        .as_array()
        .ok_or_else(|| wrong_type("tools", "an array"))?;
    let mut out = Vec::with_capacity(tools.len());
    for (i, t) in tools.iter().enumerate() {
        let path = format!("tools[{i}]");
        let t = t
            .as_object()
            .ok_or_else(|| wrong_type(&path, "a tool object"))?;
        match non_null(t, "type") {
            None => {}
            Some(Value::String(k)) if k == "custom" => {}
            Some(Value::String(k)) => {
                tracing::debug!(tool = %k, "left out an Anthropic server tool");
                continue;
            }
            Some(_) => return Err(wrong_type(format!("{path}.type"), "a string")),
        }
        let name = match non_null(t, "name") {
            Some(Value::String(n)) => n,
            Some(_) => return Err(wrong_type(format!("{path}.name"), "a string")),
            None => return Err(missing(format!("{path}.name"))),
        };
        let schema = match non_null(t, "input_schema") {
            Some(s @ Value::Object(_)) => s.clone(),
            Some(_) => return Err(wrong_type(format!("{path}.input_schema"), "an object")),
            None => return Err(missing(format!("{path}.input_schema"))),
        };
        let mut tool =
            json!({"type": "function", "name": name, "parameters": schema, "strict": false});
        match non_null(t, "description") {
            Some(d @ Value::String(_)) => tool["description"] = d.clone(),
            Some(_) => return Err(wrong_type(format!("{path}.description"), "a string")),
            None => {}
        }
        out.push(tool);
    }
    Ok(out)
}

/// `tool_choice` → the Responses `tool_choice` and whether parallel calls are allowed.
fn tool_choice(obj: &Map<String, Value>) -> Result<(Option<Value>, bool), TranslateError> {
    let Some(choice) = non_null(obj, "tool_choice") else {
        return Ok((None, true));
    };
    let choice = choice
        .as_object()
        .ok_or_else(|| wrong_type("tool_choice", "an object"))?;
    let parallel = match non_null(choice, "disable_parallel_tool_use") {
        None => true,
        Some(Value::Bool(b)) => !b,
        Some(_) => {
            return Err(wrong_type(
                "tool_choice.disable_parallel_tool_use",
                "a boolean",
            ));
        }
    };
    let kind = match non_null(choice, "type") {
        Some(Value::String(k)) => k.as_str(),
        Some(_) => return Err(wrong_type("tool_choice.type", "a string")),
        None => return Err(missing("tool_choice.type")),
    };
    let out = match kind {
        "auto" => json!("auto"),
        "any" => json!("required"),
        "none" => json!("none"),
        "tool" => match non_null(choice, "name") {
            Some(Value::String(n)) => json!({"type": "function", "name": n}),
            Some(_) => return Err(wrong_type("tool_choice.name", "a string")),
            None => return Err(missing("tool_choice.name")),
        },
        other => {
            return Err(invalid(
                "tool_choice.type",
                format!("unknown type '{other}' (expected auto, any, tool or none)"),
            ));
        }
    };
    Ok((Some(out), parallel))
}

/// The reasoning effort (`None`: the model's default) and whether thinking streams back.
fn reasoning(
    obj: &Map<String, Value>,
    mapped: Option<&str>,
) -> Result<(Option<String>, bool), TranslateError> {
    let setting = match non_null(obj, "output_config").map(|c| c.get("effort")) {
        None | Some(None | Some(Value::Null)) => None,
        Some(Some(Value::String(e))) => Some(effort_for_setting(e)?),
        Some(Some(_)) => return Err(wrong_type("output_config.effort", "a string")),
    };
    let Some(thinking) = non_null(obj, "thinking") else {
        return Ok((setting.or(mapped).map(str::to_owned), false));
    };
    let thinking = thinking
        .as_object()
        .ok_or_else(|| wrong_type("thinking", "an object"))?;
    let kind = match non_null(thinking, "type") {
        Some(Value::String(k)) => k.as_str(),
        Some(_) => return Err(wrong_type("thinking.type", "a string")),
        None => return Err(missing("thinking.type")),
    };
    match kind {
        "disabled" => Ok((setting.or(mapped).map(str::to_owned), false)),
        "enabled" => {
            let budget = match non_null(thinking, "budget_tokens") {
                Some(b) => b
                    .as_u64()
                    .ok_or_else(|| wrong_type("thinking.budget_tokens", "a positive integer"))?,
                None => return Err(missing("thinking.budget_tokens")),
            };
            let effort = setting.unwrap_or_else(|| effort_for_budget(budget));
            Ok((Some(effort.to_owned()), true))
        }
        "adaptive" => {
            let effort = setting.or(mapped).unwrap_or("medium");
            Ok((Some(effort.to_owned()), true))
        }
        other => Err(invalid(
            "thinking.type",
            format!("unknown type '{other}' (expected enabled, adaptive or disabled)"),
        )),
    }
}

/// `stop_sequences`, the empty ones left out.
fn stop_sequences(obj: &Map<String, Value>) -> Result<Vec<String>, TranslateError> {
    let Some(v) = non_null(obj, "stop_sequences") else {
        return Ok(Vec::new());
    };
    let list = v
        .as_array()
        .ok_or_else(|| wrong_type("stop_sequences", "an array of strings"))?;
    list.iter()
        .enumerate()
        .filter(|(_, s)| s.as_str() != Some(""))
        .map(|(i, s)| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| wrong_type(format!("stop_sequences[{i}]"), "a string"))
        })
        .collect()
}

/// Claude Code's session id: its `x-claude-code-session-id` header, else what follows
/// `_session_` in `metadata.user_id`.
fn session_id(obj: &Map<String, Value>, headers: &HeaderMap) -> Option<String> {
    if let Some(h) = headers
        .get("x-claude-code-session-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    {
        return Some(h.to_owned());
    }
    let user = obj.get("metadata")?.get("user_id")?.as_str()?;
    let (_, session) = user.split_once("_session_")?;
    (!session.is_empty()).then(|| session.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translate(req: Value) -> MessagesTranslation {
        messages_to_responses(&req, &HeaderMap::new(), &AnthropicSettings::default())
            .expect("translates")
    }

    fn err(req: Value) -> TranslateError {
        messages_to_responses(&req, &HeaderMap::new(), &AnthropicSettings::default())
            .expect_err("must fail")
    }

    #[test]
    fn a_claude_code_turn() {
        let t = translate(json!({
            "model": "claude-sonnet-4-6", "max_tokens": 32000, "temperature": 1, "stream": true,
            "system": [{"type": "text", "text": "You are Claude Code."},
                       {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "List files"}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Listing."},
                    {"type": "tool_use", "id": "toolu_01A", "name": "Bash", "input": {"command": "ls"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "a.txt\nb.txt"},
                    {"type": "text", "text": "Thanks", "cache_control": {"type": "ephemeral"}}]}],
            "tools": [{"name": "Bash", "description": "Run a command",
                       "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}},
                      {"type": "web_search_20250305", "name": "web_search"}],
            "metadata": {"user_id": "user_abc_account__session_5f1e-77"},
            "stop_sequences": ["</done>", ""]
        }));
        assert!(t.stream && !t.thinking);
        assert_eq!(t.model, "claude-sonnet-4-6");
        assert_eq!(t.stop_sequences, ["</done>"]);
        assert_eq!(
            t.body,
            json!({
                "model": "gpt-5.5",
                "instructions": "You are Claude Code.\n\nBe brief.",
                "input": [
                    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "List files"}]},
                    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Listing."}]},
                    {"type": "function_call", "call_id": "toolu_01A", "name": "Bash", "arguments": "{\"command\":\"ls\"}"},
                    {"type": "function_call_output", "call_id": "toolu_01A", "output": "a.txt\nb.txt"},
                    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Thanks"}]}],
                "tools": [{"type": "function", "name": "Bash", "description": "Run a command", "strict": false,
                           "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}],
                "parallel_tool_calls": true,
                "reasoning": {"effort": "medium"},
                "prompt_cache_key": "5f1e-77",
                "store": false,
                "stream": true
            })
        );
    }

    #[test]
    fn thinking_sets_the_effort_and_asks_for_summaries() {
        let req = |thinking: Value| {
            json!({"model": "claude-haiku-4-5", "max_tokens": 10, "thinking": thinking,
                   "messages": [{"role": "user", "content": "hi"}]})
        };
        for (budget, effort) in [
            (1024, "low"),
            (4000, "low"),
            (10000, "medium"),
            (31999, "high"),
        ] {
            let t = translate(req(json!({"type": "enabled", "budget_tokens": budget})));
            assert!(t.thinking);
            assert_eq!(
                t.body["reasoning"],
                json!({"effort": effort, "summary": "auto"})
            );
        }
        // adaptive: the mapped model's effort (haiku → low).
        let t = translate(req(json!({"type": "adaptive"})));
        assert_eq!(
            t.body["reasoning"],
            json!({"effort": "low", "summary": "auto"})
        );
        let t = translate(req(json!({"type": "disabled"})));
        assert!(!t.thinking);
        assert_eq!(t.body["reasoning"], json!({"effort": "low"}));
        // An effort setting wins over the budget.
        let mut r = req(json!({"type": "enabled", "budget_tokens": 1024}));
        r["output_config"] = json!({"effort": "max"});
        assert_eq!(translate(r).body["reasoning"]["effort"], "high");
        // A model that is not Claude's goes through as is, with its own default effort.
        let t = translate(json!({"model": "gpt-5.2-codex", "max_tokens": 5,
                                 "messages": [{"role": "user", "content": "hi"}]}));
        assert_eq!(t.body["model"], "gpt-5.2-codex");
        assert!(t.body.get("reasoning").is_none());
    }

    #[test]
    fn tool_choices_and_session_header() {
        let base = |choice: Value| {
            json!({"model": "m", "max_tokens": 5, "tool_choice": choice,
                   "tools": [{"name": "f", "input_schema": {"type": "object"}}],
                   "messages": [{"role": "user", "content": "hi"}]})
        };
        let cases = [
            (json!({"type": "auto"}), json!("auto"), true),
            (
                json!({"type": "any", "disable_parallel_tool_use": true}),
                json!("required"),
                false,
            ),
            (
                json!({"type": "tool", "name": "f"}),
                json!({"type": "function", "name": "f"}),
                true,
            ),
            (json!({"type": "none"}), json!("none"), true),
        ];
        for (choice, want, parallel) in cases {
            let t = translate(base(choice));
            assert_eq!(t.body["tool_choice"], want);
            assert_eq!(t.body["parallel_tool_calls"], parallel);
        }
        let mut headers = HeaderMap::new();
        headers.insert("x-claude-code-session-id", "sess-1".parse().unwrap());
        let t = messages_to_responses(
            &json!({"model": "m", "messages": []}),
            &headers,
            &AnthropicSettings::default(),
        )
        .unwrap();
        assert_eq!(t.body["prompt_cache_key"], "sess-1");
    }

    #[test]
    fn documents_and_tool_results_with_images() {
        let t = translate(
            json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "document", "title": "spec.pdf",
             "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain"}},
            {"type": "tool_result", "tool_use_id": "toolu_9", "content": [
                {"type": "text", "text": "see"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}]}]}]}),
        );
        assert_eq!(
            t.body["input"],
            json!([
                {"type": "message", "role": "user", "content": [
                    {"type": "input_file", "filename": "spec.pdf", "file_data": "data:application/pdf;base64,JVBER"},
                    {"type": "input_text", "text": "plain"}]},
                {"type": "function_call_output", "call_id": "toolu_9", "output": [
                    {"type": "input_text", "text": "see"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBO", "detail": "auto"}]}
            ])
        );
    }

    #[test]
    fn system_messages_between_turns_stay_in_place_as_developer_messages() {
        let t = translate(json!({"model": "m", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "system", "content": [{"type": "text", "text": "<reminder>"}]},
            {"role": "user", "content": "again"}]}));
        assert_eq!(
            t.body["input"][1],
            json!({"type": "message", "role": "developer",
                   "content": [{"type": "input_text", "text": "<reminder>"}]})
        );
        assert_eq!(t.body["input"][2]["role"], "user");
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (json!([]), "body"),
            (json!({"messages": []}), "model"),
            (json!({"model": "m"}), "messages"),
            (
                json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}),
                "messages[0].role",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": 5}]}),
                "messages[0].content",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "audio"}]}]}),
                "messages[0].content[0].type",
            ),
            (
                json!({"model": "m", "messages": [{"role": "assistant", "content": [{"type": "tool_use", "name": "f"}]}]}),
                "messages[0].content[0].id",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}),
                "messages[0].content[0].tool_use_id",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}]}),
                "messages[0].content[0].source.type",
            ),
            (json!({"model": "m", "messages": [], "system": 3}), "system"),
            (
                json!({"model": "m", "messages": [], "tools": [{"name": "f"}]}),
                "tools[0].input_schema",
            ),
            (
                json!({"model": "m", "messages": [], "tool_choice": {"type": "some"}}),
                "tool_choice.type",
            ),
            (
                json!({"model": "m", "messages": [], "thinking": {"type": "enabled"}}),
                "thinking.budget_tokens",
            ),
            (
                json!({"model": "m", "messages": [], "stop_sequences": [1]}),
                "stop_sequences[0]",
            ),
            (
                json!({"model": "m", "messages": [], "stream": "yes"}),
                "stream",
            ),
        ];
        for (req, field) in cases {
            assert_eq!(err(req.clone()).field(), field, "{req}");
        }
    }
}
