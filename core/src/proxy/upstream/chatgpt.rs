//! The ChatGPT Codex backend's quirks on a Responses request body: what it refuses, what it
//! requires. Applied to translated chat requests and to passthrough `/v1/responses` bodies
//! alike, whichever transport carries them.

use crate::proxy::errors::TranslateError;
use crate::proxy::fields::{text_content, wrong_type};
use serde_json::{Value, json};

/// The `include` entry that asks for encrypted reasoning items (needed with `store:false`).
pub const REASONING_ENCRYPTED_CONTENT: &str = "reasoning.encrypted_content";

/// Top-level Responses fields the ChatGPT backend refuses or that Codex never sends; removed
/// by [`apply_chatgpt_quirks`].
const CHATGPT_DROPPED_FIELDS: &[&str] = &[
    "max_output_tokens",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "truncation",
    "previous_response_id",
    "metadata",
    "user",
];

/// Makes a Responses request acceptable to the ChatGPT Codex backend
/// (`chatgpt.com/backend-api/codex/responses`), in place. Used for translated chat requests
/// and for passthrough `/v1/responses` bodies alike.
///
/// - `instructions` always present (`""` when absent); `system`-role input items are removed
///   and their text appended to it, separated by blank lines;
/// - `input` always a list: a string becomes one user message; a message whose `content` is
///   a string gets it as one text part;
/// - `stream: true`, `store: false`;
/// - `max_output_tokens`, `max_tokens`, `max_completion_tokens`, `temperature`, `top_p`,
///   `truncation`, `previous_response_id`, `metadata`, `user` removed, and `service_tier`
///   unless it is `priority` or `flex`;
/// - `reasoning` kept unchanged; when it is set, `include` gains `reasoning.encrypted_content`.
pub fn apply_chatgpt_quirks(req: &mut Value) -> Result<(), TranslateError> {
    let obj = req
        .as_object_mut()
        .ok_or_else(|| wrong_type("body", "a JSON object"))?;

    let mut instructions = match obj.get("instructions") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(wrong_type("instructions", "a string")),
    };

    let items = match obj.remove("input") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![json!({
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": s}],
        })],
        Some(Value::Array(items)) => items,
        Some(_) => return Err(wrong_type("input", "a string or an array of input items")),
    };
    let mut input = Vec::with_capacity(items.len());
    for (i, mut item) in items.into_iter().enumerate() {
        let is_message = item
            .get("type")
            .is_none_or(|t| t.is_null() || t.as_str() == Some("message"));
        let role = item.get("role").and_then(Value::as_str).map(str::to_owned);
        if is_message && role.as_deref() == Some("system") {
            let path = format!("input[{i}].content");
            let text = match item.get("content") {
                None | Some(Value::Null) => String::new(),
                Some(c) => text_content(c, &path)?,
            };
            if !text.is_empty() {
                if !instructions.is_empty() {
                    instructions.push_str("\n\n");
                }
                instructions.push_str(&text);
            }
            continue;
        }
        if let (true, Some(role), Some(m)) = (is_message, role, item.as_object_mut())
            && let Some(Value::String(text)) = m.get("content")
        {
            let kind = if role == "assistant" {
                "output_text"
            } else {
                "input_text"
            };
            let parts = json!([{"type": kind, "text": text}]);
            m.insert("content".into(), parts);
            m.entry("type")
                .or_insert_with(|| Value::String("message".into()));
        }
        input.push(item);
    }
    obj.insert("instructions".into(), Value::String(instructions));
    obj.insert("input".into(), Value::Array(input));

    obj.insert("stream".into(), Value::Bool(true));
    obj.insert("store".into(), Value::Bool(false));
    for field in CHATGPT_DROPPED_FIELDS {
        obj.remove(*field);
    }
    let keep_tier = matches!(
        obj.get("service_tier").and_then(Value::as_str),
        Some("priority" | "flex")
    );
    if !keep_tier {
        obj.remove("service_tier");
    }

    if obj.get("reasoning").is_some_and(|r| !r.is_null()) {
        let mut include = match obj.remove("include") {
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(wrong_type("include", "an array of strings")),
        };
        if !include
            .iter()
            .any(|v| v.as_str() == Some(REASONING_ENCRYPTED_CONTENT))
        {
            include.push(Value::String(REASONING_ENCRYPTED_CONTENT.into()));
        }
        obj.insert("include".into(), Value::Array(include));
    }
    Ok(())
}

/// Removes `reasoning` items from a Responses request's `input`; whether there were any.
/// The backend refuses encrypted reasoning issued to another account, so a conversation
/// moving to another account (a switch, a failover) goes on without them.
pub fn strip_reasoning_items(request: &mut Value) -> bool {
    let Some(items) = request.get_mut("input").and_then(Value::as_array_mut) else {
        return false;
    };
    let before = items.len();
    items.retain(|i| i.get("type").and_then(Value::as_str) != Some("reasoning"));
    items.len() != before
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatgpt_quirks_on_passthrough_responses_body() {
        let mut body = json!({
            "model": "gpt-5.4",
            "input": "Say hi",
            "max_output_tokens": 50,
            "truncation": "auto",
            "previous_response_id": "resp_1",
            "service_tier": "priority",
            "store": true
        });
        apply_chatgpt_quirks(&mut body).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "gpt-5.4",
                "instructions": "",
                "input": [{"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": "Say hi"}]}],
                "service_tier": "priority",
                "store": false,
                "stream": true
            })
        );

        let mut body = json!({
            "model": "gpt-5.4",
            "instructions": "Base.",
            "input": [
                {"role": "system", "content": "Sys one."},
                {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Sys two."}]},
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": "hey"},
                {"type": "function_call_output", "call_id": "c", "output": "ok"}
            ],
            "reasoning": {"effort": "low", "summary": "auto"},
            "include": ["message.output_text.logprobs"]
        });
        apply_chatgpt_quirks(&mut body).unwrap();
        assert_eq!(body["instructions"], "Base.\n\nSys one.\n\nSys two.");
        assert_eq!(
            body["input"],
            json!([
                {"role": "user", "content": [{"type": "input_text", "text": "hello"}], "type": "message"},
                {"role": "assistant", "content": [{"type": "output_text", "text": "hey"}], "type": "message"},
                {"type": "function_call_output", "call_id": "c", "output": "ok"}
            ])
        );
        assert_eq!(
            body["reasoning"],
            json!({"effort": "low", "summary": "auto"})
        );
        assert_eq!(
            body["include"],
            json!([
                "message.output_text.logprobs",
                "reasoning.encrypted_content"
            ])
        );

        // Idempotent.
        let before = body.clone();
        apply_chatgpt_quirks(&mut body).unwrap();
        assert_eq!(body, before);
    }

    #[test]
    fn chatgpt_quirks_reject_bad_types() {
        assert_eq!(
            apply_chatgpt_quirks(&mut json!("x")).unwrap_err().field(),
            "body"
        );
        assert_eq!(
            apply_chatgpt_quirks(&mut json!({"input": 3}))
                .unwrap_err()
                .field(),
            "input"
        );
        assert_eq!(
            apply_chatgpt_quirks(&mut json!({"instructions": [], "input": []}))
                .unwrap_err()
                .field(),
            "instructions"
        );
        assert_eq!(
            apply_chatgpt_quirks(&mut json!({"input": [{"role": "system", "content": 5}]}))
                .unwrap_err()
                .field(),
            "input[0].content"
        );
    }

    #[test]
    fn reasoning_items_stripped_for_another_account() {
        let mut body = json!({"input": [
            {"type": "message", "role": "user", "content": "hi"},
            {"type": "reasoning", "encrypted_content": "abc"},
            {"type": "function_call_output", "call_id": "c", "output": "ok"}
        ]});
        assert!(strip_reasoning_items(&mut body));
        assert_eq!(
            body["input"],
            json!([
                {"type": "message", "role": "user", "content": "hi"},
                {"type": "function_call_output", "call_id": "c", "output": "ok"}
            ])
        );
        assert!(!strip_reasoning_items(&mut body));
        assert!(!strip_reasoning_items(&mut json!({"input": "hi"})));
    }
}
