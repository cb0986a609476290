//! `POST /v1/messages/count_tokens`: the request's input tokens counted with the o200k
//! encoding (the Codex models' tokenizer) over what the backend would be sent: the
//! instructions, every message's text, tool calls and results, and the tools. Images and
//! files count a fixed [`ATTACHMENT_TOKENS`] each; every item adds
//! [`ITEM_OVERHEAD`] tokens for its framing.

use super::request::messages_to_responses;
use crate::proxy::errors::TranslateError;
use crate::settings::AnthropicSettings;
use axum::http::HeaderMap;
use serde_json::Value;

/// Tokens counted for an image or a file (the backend's cost depends on its size, unknown
/// here).
pub const ATTACHMENT_TOKENS: u64 = 1000;

/// Tokens of framing per input item (role and separators, as OpenAI counts chat messages).
pub const ITEM_OVERHEAD: u64 = 4;

/// The input tokens of a Messages (or count_tokens) request body.
pub fn count_tokens(
    request: &Value,
    headers: &HeaderMap,
    settings: &AnthropicSettings,
) -> Result<u64, TranslateError> {
    let body = messages_to_responses(request, headers, settings)?.body;
    let bpe = tiktoken_rs::o200k_base_singleton();
    let count = |text: &str| bpe.encode_ordinary(text).len() as u64;
    let mut total = 0;
    if let Some(instructions) = body.get("instructions").and_then(Value::as_str) {
        total += count(instructions);
    }
    for item in body
        .get("input")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        total += ITEM_OVERHEAD;
        for key in ["name", "arguments"] {
            if let Some(s) = item.get(key).and_then(Value::as_str) {
                total += count(s);
            }
        }
        for summary in item
            .get("summary")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            total += parts_tokens(summary, &count);
        }
        match item.get("output") {
            Some(Value::String(s)) => total += count(s),
            Some(Value::Array(parts)) => {
                total += parts.iter().map(|p| parts_tokens(p, &count)).sum::<u64>()
            }
            _ => {}
        }
        for part in item
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            total += parts_tokens(part, &count);
        }
    }
    for tool in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        total += ITEM_OVERHEAD;
        for key in ["name", "description"] {
            if let Some(s) = tool.get(key).and_then(Value::as_str) {
                total += count(s);
            }
        }
        if let Some(p) = tool.get("parameters") {
            total += count(&p.to_string());
        }
    }
    Ok(total)
}

/// The tokens of one content part: its text, or a fixed count for an image or file.
fn parts_tokens(part: &Value, count: &impl Fn(&str) -> u64) -> u64 {
    match part.get("type").and_then(Value::as_str) {
        Some("input_image" | "input_file") => ATTACHMENT_TOKENS,
        _ => part.get("text").and_then(Value::as_str).map_or(0, count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tokens(req: Value) -> u64 {
        count_tokens(&req, &HeaderMap::new(), &AnthropicSettings::default()).unwrap()
    }

    #[test]
    fn counts_with_the_o200k_encoding() {
        // "Hello, world!" is 4 o200k tokens: "Hello", ",", " world", "!".
        let one = tokens(json!({"model": "claude-sonnet-4-5",
            "messages": [{"role": "user", "content": "Hello, world!"}]}));
        assert_eq!(one, 4 + ITEM_OVERHEAD);
        let longer = tokens(json!({"model": "claude-sonnet-4-5",
            "system": "You are terse.",
            "messages": [{"role": "user", "content": "Hello, world!"}]}));
        assert!(longer > one);
        let with_tool = tokens(json!({"model": "claude-sonnet-4-5",
            "messages": [{"role": "user", "content": "Hello, world!"}],
            "tools": [{"name": "get_weather", "description": "Weather of a city",
                       "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]}));
        assert!(with_tool > one + 10, "{with_tool}");
    }
}
