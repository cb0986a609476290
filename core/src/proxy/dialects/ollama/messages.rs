//! Ollama messages as Chat Completions messages, one for one (so a refused field keeps its
//! `messages[i]` path): base64 `images` become image parts with a data URL, assistant
//! `tool_calls` (arguments as an object, no id) get call ids, and `tool` results are matched
//! to their call by `tool_call_id`, else by `tool_name`, else in order.

use crate::proxy::errors::TranslateError;
use crate::proxy::fields::{invalid, non_null, wrong_type};
use serde_json::{Map, Value, json};

/// Translates Ollama `messages` into chat messages.
pub(super) fn chat_messages(messages: &[Value]) -> Result<Vec<Value>, TranslateError> {
    let mut pending: Vec<(String, String)> = Vec::new();
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| chat_message(m, i, &mut pending))
        .collect()
}

/// One message; `pending` holds the calls (id, name) still waiting for their result.
fn chat_message(
    msg: &Value,
    i: usize,
    pending: &mut Vec<(String, String)>,
) -> Result<Value, TranslateError> {
    let path = format!("messages[{i}]");
    let obj = msg
        .as_object()
        .ok_or_else(|| wrong_type(&path, "a message object"))?;
    let mut out = Map::new();
    for (key, value) in obj {
        if matches!(key.as_str(), "role" | "content") {
            out.insert(key.clone(), value.clone());
        }
    }
    let role = obj.get("role").and_then(Value::as_str).unwrap_or("");
    match role {
        "user" | "system" => {
            if let Some(images) = non_null(obj, "images") {
                let parts = image_parts(obj, images, &path)?;
                out.insert("content".into(), Value::Array(parts));
            }
        }
        "assistant" => {
            if let Some(calls) = non_null(obj, "tool_calls") {
                let calls_path = format!("{path}.tool_calls");
                let calls = calls
                    .as_array()
                    .ok_or_else(|| wrong_type(&calls_path, "an array"))?;
                let calls = calls
                    .iter()
                    .enumerate()
                    .map(|(j, c)| tool_call(c, &format!("{calls_path}[{j}]"), i, j, pending))
                    .collect::<Result<Vec<_>, _>>()?;
                out.insert("tool_calls".into(), Value::Array(calls));
            }
        }
        "tool" => {
            let name = obj.get("tool_name").and_then(Value::as_str);
            let id = match obj.get("tool_call_id").and_then(Value::as_str) {
                Some(id) => id.to_owned(),
                None => {
                    let at = name
                        .and_then(|n| pending.iter().position(|(_, p)| p == n))
                        .or_else(|| (!pending.is_empty()).then_some(0));
                    match at {
                        Some(at) => pending[at].0.clone(),
                        None => format!("call_{i}"),
                    }
                }
            };
            pending.retain(|(p, _)| *p != id);
            out.insert("tool_call_id".into(), Value::String(id));
        }
        _ => {}
    }
    Ok(Value::Object(out))
}

/// A message's text and its base64 images as chat content parts.
fn image_parts(
    obj: &Map<String, Value>,
    images: &Value,
    path: &str,
) -> Result<Vec<Value>, TranslateError> {
    let images_path = format!("{path}.images");
    let images = images
        .as_array()
        .ok_or_else(|| wrong_type(&images_path, "an array of base64 strings"))?;
    let mut parts = Vec::new();
    match non_null(obj, "content") {
        None => {}
        Some(Value::String(text)) if text.is_empty() => {}
        Some(Value::String(text)) => parts.push(json!({"type": "text", "text": text})),
        Some(_) => return Err(wrong_type(format!("{path}.content"), "a string")),
    }
    for (k, image) in images.iter().enumerate() {
        let data = image
            .as_str()
            .ok_or_else(|| wrong_type(format!("{images_path}[{k}]"), "a base64 string"))?;
        parts.push(json!({"type": "image_url", "image_url": {"url": data_url(data)}}));
    }
    Ok(parts)
}

/// A base64 image as a data URL, its type told by its first bytes (PNG unless known).
fn data_url(data: &str) -> String {
    if data.starts_with("data:") {
        return data.to_owned();
    }
    let mime = [
        ("/9j/", "image/jpeg"),
        ("R0lGOD", "image/gif"),
        ("UklGR", "image/webp"),
    ]
    .iter()
    .find(|(prefix, _)| data.starts_with(prefix))
    .map_or("image/png", |(_, mime)| mime);
    format!("data:{mime};base64,{data}")
}

/// An assistant's past tool call as a chat tool call, with its id (or one made up) noted
/// as waiting for its result.
fn tool_call(
    call: &Value,
    path: &str,
    i: usize,
    j: usize,
    pending: &mut Vec<(String, String)>,
) -> Result<Value, TranslateError> {
    let function = call
        .get("function")
        .and_then(Value::as_object)
        .ok_or_else(|| wrong_type(format!("{path}.function"), "an object"))?;
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| wrong_type(format!("{path}.function.name"), "a string"))?;
    let arguments = match function.get("arguments") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(v @ Value::Object(_)) => v.to_string(),
        Some(_) => {
            return Err(invalid(
                format!("{path}.function.arguments"),
                "must be an object",
            ));
        }
    };
    let id = call
        .get("id")
        .and_then(Value::as_str)
        .map_or_else(|| format!("call_{i}_{j}"), str::to_owned);
    pending.push((id.clone(), name.to_owned()));
    Ok(json!({"id": id, "type": "function",
              "function": {"name": name, "arguments": arguments}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_tool_calls_and_results() {
        let m = chat_messages(&[
            json!({"role": "user", "content": "What is this?", "images": ["iVBORw0KGgo=", "/9j/4AAQ"]}),
            json!({"role": "assistant", "content": "", "thinking": "hmm", "tool_calls": [
                {"function": {"name": "weather", "arguments": {"city": "Paris"}}},
                {"function": {"name": "time", "arguments": {}}}]}),
            json!({"role": "tool", "content": "12:00", "tool_name": "time"}),
            json!({"role": "tool", "content": "sunny"}),
        ])
        .unwrap();
        assert_eq!(
            m[0]["content"],
            json!([{"type": "text", "text": "What is this?"},
                   {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                   {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}])
        );
        assert!(m[1].get("thinking").is_none());
        assert_eq!(m[1]["tool_calls"][0]["id"], "call_1_0");
        assert_eq!(
            m[1]["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Paris\"}"
        );
        assert_eq!(m[2]["tool_call_id"], "call_1_1");
        assert_eq!(m[3]["tool_call_id"], "call_1_0");
    }

    #[test]
    fn wrong_shapes_are_named() {
        let e =
            chat_messages(&[json!({"role": "user", "content": "x", "images": "abc"})]).unwrap_err();
        assert_eq!(e.field(), "messages[0].images");
        let e = chat_messages(&[
            json!({"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": 3}}]}),
        ])
        .unwrap_err();
        assert_eq!(e.field(), "messages[0].tool_calls[0].function.arguments");
    }
}
