//! A Messages conversation's messages as Responses input items, in order:
//!
//! - user `text`, `image` (base64 or URL) and `document` (PDF as base64 or URL, plain text)
//!   blocks → a user message's `input_text`, `input_image`, `input_file` parts; a `system`
//!   message between the turns (Claude Code sends them) → a developer message in place;
//! - user `tool_result` (content a string or text and image blocks; `is_error` puts
//!   `Error: ` before its text) → a `function_call_output` with the same `call_id`;
//! - assistant `text` → an assistant message; `tool_use` → a `function_call` with the same
//!   `call_id`; `thinking` whose signature carries encrypted reasoning
//!   ([`super::thinking`]) → the `reasoning` item again; other thinking (`redacted_thinking`,
//!   another service's signature) and server tool blocks dropped.

use super::thinking::restored_reasoning;
use crate::proxy::errors::TranslateError;
use crate::proxy::fields::{invalid, missing, non_null, part_kind, required_str, wrong_type};
use serde_json::{Map, Value, json};

/// Appends the input items of one message (`path` names it in errors) to `input`.
pub(super) fn translate_message(
    msg: &Value,
    path: &str,
    input: &mut Vec<Value>,
) -> Result<(), TranslateError> {
    let obj = msg
        .as_object()
        .ok_or_else(|| wrong_type(path, "a message object"))?;
    let role = match non_null(obj, "role") {
        Some(Value::String(r)) => r.as_str(),
        Some(_) => return Err(wrong_type(format!("{path}.role"), "a string")),
        None => return Err(missing(format!("{path}.role"))),
    };
    let (assistant, role) = match role {
        "user" => (false, "user"),
        "assistant" => (true, "assistant"),
        // Claude Code puts system messages between the turns: developer messages in place.
        "system" => (false, "developer"),
        other => {
            return Err(invalid(
                format!("{path}.role"),
                format!("unknown role '{other}' (expected user, assistant or system)"),
            ));
        }
    };
    let content_path = format!("{path}.content");
    let mut parts = Parts::new(role);
    match non_null(obj, "content") {
        Some(Value::String(s)) => parts.text(s),
        Some(Value::Array(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                let block_path = format!("{content_path}[{i}]");
                if assistant {
                    assistant_block(block, &block_path, &mut parts, input)?;
                } else {
                    user_block(block, &block_path, &mut parts, input)?;
                }
            }
        }
        Some(_) => {
            return Err(wrong_type(
                content_path,
                "a string or an array of content blocks",
            ));
        }
        None => return Err(missing(content_path)),
    }
    parts.flush(input);
    Ok(())
}

/// The content parts of the message being built, flushed as one message item before an item
/// of another kind (a tool call or result) and at the end.
struct Parts {
    role: &'static str,
    parts: Vec<Value>,
}

impl Parts {
    fn new(role: &'static str) -> Self {
        Self {
            role,
            parts: Vec::new(),
        }
    }

    fn text(&mut self, text: &str) {
        let kind = if self.role == "assistant" {
            "output_text"
        } else {
            "input_text"
        };
        self.parts.push(json!({"type": kind, "text": text}));
    }

    fn flush(&mut self, input: &mut Vec<Value>) {
        if self.parts.is_empty() {
            return;
        }
        input.push(json!({
            "type": "message",
            "role": self.role,
            "content": std::mem::take(&mut self.parts),
        }));
    }
}

fn user_block(
    block: &Value,
    path: &str,
    parts: &mut Parts,
    input: &mut Vec<Value>,
) -> Result<(), TranslateError> {
    let (kind, obj) = part_kind(block, path)?;
    match kind {
        "text" => parts.text(required_str(obj, "text", path)?),
        "image" => parts.parts.push(image(obj, path)?),
        "document" => parts.parts.push(document(obj, path)?),
        "tool_result" => {
            parts.flush(input);
            input.push(tool_result(obj, path)?);
        }
        // Earlier turns' thinking sent back in a user turn, and search results: no
        // counterpart.
        "thinking" | "redacted_thinking" | "search_result" => {}
        other => {
            return Err(invalid(
                format!("{path}.type"),
                format!("content block type '{other}' is not supported in a user message"),
            ));
        }
    }
    Ok(())
}

fn assistant_block(
    block: &Value,
    path: &str,
    parts: &mut Parts,
    input: &mut Vec<Value>,
) -> Result<(), TranslateError> {
    let (kind, obj) = part_kind(block, path)?;
    match kind {
        "text" => parts.text(required_str(obj, "text", path)?),
        "tool_use" => {
            parts.flush(input);
            let id = required_str(obj, "id", path)?;
            let name = required_str(obj, "name", path)?;
            let arguments = match obj.get("input") {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(v @ Value::Object(_)) => v.to_string(),
                Some(_) => return Err(wrong_type(format!("{path}.input"), "an object")),
            };
            input.push(json!({
                "type": "function_call",
                "call_id": id,
                "name": name,
                "arguments": arguments,
            }));
        }
        "thinking" => {
            let thinking = required_str(obj, "thinking", path)?;
            let signature = match non_null(obj, "signature") {
                Some(Value::String(s)) => s.as_str(),
                Some(_) => return Err(wrong_type(format!("{path}.signature"), "a string")),
                None => "",
            };
            if let Some(item) = restored_reasoning(thinking, signature) {
                parts.flush(input);
                input.push(item);
            }
        }
        "redacted_thinking" | "server_tool_use" | "web_search_tool_result" => {}
        other => {
            return Err(invalid(
                format!("{path}.type"),
                format!("content block type '{other}' is not supported in an assistant message"),
            ));
        }
    }
    Ok(())
}

/// A block's `source` object.
fn source<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
) -> Result<(&'a str, &'a Map<String, Value>), TranslateError> {
    let src_path = format!("{path}.source");
    let src = match non_null(obj, "source") {
        Some(Value::Object(s)) => s,
        Some(_) => return Err(wrong_type(src_path, "an object")),
        None => return Err(missing(src_path)),
    };
    let kind = required_str(src, "type", &src_path)?;
    Ok((kind, src))
}

/// A base64 source as a `data:` URL.
fn data_url(src: &Map<String, Value>, path: &str) -> Result<String, TranslateError> {
    let media = required_str(src, "media_type", path)?;
    let data = required_str(src, "data", path)?;
    Ok(format!("data:{media};base64,{data}"))
}

/// An `image` block as an `input_image` part.
fn image(obj: &Map<String, Value>, path: &str) -> Result<Value, TranslateError> {
    let (kind, src) = source(obj, path)?;
    let src_path = format!("{path}.source");
    let url = match kind {
        "base64" => data_url(src, &src_path)?,
        "url" => required_str(src, "url", &src_path)?.to_owned(),
        other => {
            return Err(invalid(
                format!("{src_path}.type"),
                format!("image source type '{other}' is not supported (base64 or url)"),
            ));
        }
    };
    Ok(json!({"type": "input_image", "image_url": url, "detail": "auto"}))
}

/// A `document` block as an `input_file` part (PDF) or an `input_text` part (plain text).
fn document(obj: &Map<String, Value>, path: &str) -> Result<Value, TranslateError> {
    let (kind, src) = source(obj, path)?;
    let src_path = format!("{path}.source");
    let filename = match non_null(obj, "title") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => "document.pdf".to_owned(),
    };
    match kind {
        "base64" => Ok(json!({
            "type": "input_file",
            "filename": filename,
            "file_data": data_url(src, &src_path)?,
        })),
        "url" => Ok(json!({
            "type": "input_file",
            "file_url": required_str(src, "url", &src_path)?,
        })),
        "text" => Ok(json!({
            "type": "input_text",
            "text": required_str(src, "data", &src_path)?,
        })),
        "content" => {
            let text = match non_null(src, "content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(blocks)) => blocks
                    .iter()
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => return Err(wrong_type(format!("{src_path}.content"), "text blocks")),
            };
            Ok(json!({"type": "input_text", "text": text}))
        }
        other => Err(invalid(
            format!("{src_path}.type"),
            format!("document source type '{other}' is not supported"),
        )),
    }
}

/// A `tool_result` block as a `function_call_output` item: its output a string, or content
/// parts when it holds images.
fn tool_result(obj: &Map<String, Value>, path: &str) -> Result<Value, TranslateError> {
    let call_id = required_str(obj, "tool_use_id", path)?;
    let is_error = match non_null(obj, "is_error") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(wrong_type(format!("{path}.is_error"), "a boolean")),
    };
    let prefix = if is_error { "Error: " } else { "" };
    let content_path = format!("{path}.content");
    let output = match non_null(obj, "content") {
        None => Value::String(prefix.to_owned()),
        Some(Value::String(s)) => Value::String(format!("{prefix}{s}")),
        Some(Value::Array(blocks)) => {
            let mut texts = Vec::new();
            let mut parts = Vec::new();
            for (i, b) in blocks.iter().enumerate() {
                let block_path = format!("{content_path}[{i}]");
                let (kind, o) = part_kind(b, &block_path)?;
                match kind {
                    "text" => {
                        let t = required_str(o, "text", &block_path)?;
                        texts.push(t.to_owned());
                        parts.push(json!({"type": "input_text", "text": t}));
                    }
                    "image" => parts.push(image(o, &block_path)?),
                    "document" => parts.push(document(o, &block_path)?),
                    other => {
                        return Err(invalid(
                            format!("{block_path}.type"),
                            format!(
                                "content block type '{other}' is not supported in a tool result"
                            ),
                        ));
                    }
                }
            }
            if parts.len() == texts.len() {
                Value::String(format!("{prefix}{}", texts.join("\n")))
            } else {
                if is_error {
                    parts.insert(0, json!({"type": "input_text", "text": "Error:"}));
                }
                Value::Array(parts)
            }
        }
        Some(_) => {
            return Err(wrong_type(
                content_path,
                "a string or an array of content blocks",
            ));
        }
    };
    Ok(json!({"type": "function_call_output", "call_id": call_id, "output": output}))
}
