//! Chat messages translated into Responses input items: `system` messages folded into
//! `instructions`, user and developer content parts, assistant text and tool calls, tool
//! results.

use super::tools::translate_tool_call;
use crate::proxy::errors::TranslateError;
use crate::proxy::fields::{
    invalid, missing, non_null, part_kind, required_str, text_content, wrong_type,
};
use serde_json::{Map, Value, json};

/// Translates one chat message, pushing Responses items to `input` (or text to
/// `instructions` for a system message).
pub(super) fn translate_message(
    msg: &Value,
    path: &str,
    instructions: &mut Vec<String>,
    input: &mut Vec<Value>,
) -> Result<(), TranslateError> {
    let obj = msg
        .as_object()
        .ok_or_else(|| wrong_type(path, "a message object"))?;
    let role = match obj.get("role") {
        None | Some(Value::Null) => return Err(missing(format!("{path}.role"))),
        Some(Value::String(r)) => r.as_str(),
        Some(_) => return Err(wrong_type(format!("{path}.role"), "a string")),
    };
    let content_path = format!("{path}.content");
    let content = non_null(obj, "content");

    match role {
        "system" => {
            let content = content.ok_or_else(|| missing(&content_path))?;
            instructions.push(text_content(content, &content_path)?);
        }
        "developer" | "user" => {
            let content = content.ok_or_else(|| missing(&content_path))?;
            let parts = input_parts(content, &content_path, role == "user")?;
            input.push(json!({"type": "message", "role": role, "content": parts}));
        }
        "assistant" => {
            if let Some(content) = content {
                let text = text_content(content, &content_path)?;
                if !text.is_empty() {
                    input.push(json!({
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": text}],
                    }));
                }
            }
            if let Some(calls) = non_null(obj, "tool_calls") {
                let calls_path = format!("{path}.tool_calls");
                let calls = calls
                    .as_array()
                    .ok_or_else(|| wrong_type(&calls_path, "an array"))?;
                for (j, call) in calls.iter().enumerate() {
                    input.push(translate_tool_call(call, &format!("{calls_path}[{j}]"))?);
                }
            }
        }
        "tool" => {
            let id_path = format!("{path}.tool_call_id");
            let call_id = match obj.get("tool_call_id") {
                None | Some(Value::Null) => return Err(missing(id_path)),
                Some(Value::String(s)) => s.clone(),
                Some(_) => return Err(wrong_type(id_path, "a string")),
            };
            let output = match content {
                Some(c) => text_content(c, &content_path)?,
                None => String::new(),
            };
            input.push(json!({
                "type": "function_call_output",
                "call_id": call_id,
                "output": output,
            }));
        }
        "function" => {
            return Err(invalid(
                format!("{path}.role"),
                "the legacy 'function' role is not supported; use 'tool' messages",
            ));
        }
        other => {
            return Err(invalid(
                format!("{path}.role"),
                format!(
                    "unknown role '{other}' (expected system, developer, user, assistant or tool)"
                ),
            ));
        }
    }
    Ok(())
}

/// Responses input parts of a user or developer message. Images and files only for users.
fn input_parts(content: &Value, path: &str, user: bool) -> Result<Vec<Value>, TranslateError> {
    match content {
        Value::String(s) => Ok(vec![json!({"type": "input_text", "text": s})]),
        Value::Array(parts) => parts
            .iter()
            .enumerate()
            .map(|(i, part)| input_part(part, &format!("{path}[{i}]"), user))
            .collect(),
        _ => Err(wrong_type(path, "a string or an array of content parts")),
    }
}

/// One content part of a user or developer message as a Responses input part.
fn input_part(part: &Value, path: &str, user: bool) -> Result<Value, TranslateError> {
    let (kind, obj) = part_kind(part, path)?;
    match kind {
        "text" | "input_text" => {
            Ok(json!({"type": "input_text", "text": required_str(obj, "text", path)?}))
        }
        "image_url" if user => {
            let field = format!("{path}.image_url");
            let (url, detail) = match obj.get("image_url") {
                None | Some(Value::Null) => return Err(missing(field)),
                Some(Value::String(url)) => (url.as_str(), None),
                Some(Value::Object(img)) => {
                    let url = required_str(img, "url", &field)?;
                    let detail = match non_null(img, "detail") {
                        None => None,
                        Some(Value::String(d)) => Some(d.clone()),
                        Some(_) => return Err(wrong_type(format!("{field}.detail"), "a string")),
                    };
                    (url, detail)
                }
                Some(_) => return Err(wrong_type(field, "an object with 'url'")),
            };
            let mut out = json!({"type": "input_image", "image_url": url});
            if let Some(detail) = detail {
                out["detail"] = Value::String(detail);
            }
            Ok(out)
        }
        "file" if user => {
            let field = format!("{path}.file");
            let file = match obj.get("file") {
                None | Some(Value::Null) => return Err(missing(field)),
                Some(Value::Object(f)) => f,
                Some(_) => return Err(wrong_type(field, "an object")),
            };
            let mut out = Map::new();
            out.insert("type".into(), Value::String("input_file".into()));
            for key in ["file_id", "file_data", "filename"] {
                match non_null(file, key) {
                    None => {}
                    Some(Value::String(s)) => {
                        out.insert(key.into(), Value::String(s.clone()));
                    }
                    Some(_) => return Err(wrong_type(format!("{field}.{key}"), "a string")),
                }
            }
            if !out.contains_key("file_id") && !out.contains_key("file_data") {
                return Err(missing(format!("{field}.file_data")));
            }
            Ok(Value::Object(out))
        }
        other => Err(invalid(
            format!("{path}.type"),
            format!("content part type '{other}' is not supported here"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::request::{ChatTranslation, chat_to_responses};
    use crate::proxy::errors::TranslateError;
    use serde_json::{Value, json};

    fn translate(req: Value) -> ChatTranslation {
        chat_to_responses(&req).expect("translates")
    }

    fn err(req: Value) -> TranslateError {
        chat_to_responses(&req).expect_err("must fail")
    }

    #[test]
    fn multi_turn_conversation_with_tools() {
        let req = json!({
            "model": "gpt-5.5",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "system", "content": [{"type": "text", "text": "Answer in English."}]},
                {"role": "developer", "content": "Prefer metric units."},
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18C, cloudy"},
                {"role": "tool", "tool_call_id": "call_2",
                 "content": [{"type": "text", "text": "25C, "}, {"type": "text", "text": "sunny"}]},
                {"role": "assistant", "content": "Paris 18C, Rome 25C."},
                {"role": "user", "content": [{"type": "text", "text": "Thanks"}]}
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_weather", "description": "Current weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                               "required": ["city"]},
                "strict": true}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "parallel_tool_calls": true,
            "reasoning_effort": "high",
            "max_completion_tokens": 500,
            "temperature": 0.2,
            "top_p": 0.9,
            "stream": true,
            "stream_options": {"include_usage": true},
            "stop": ["\n\n"],
            "seed": 7
        });
        let t = translate(req);
        assert!(t.stream);
        assert!(t.include_usage);
        assert_eq!(t.model, "gpt-5.5");
        assert_eq!(
            t.body,
            json!({
                "model": "gpt-5.5",
                "instructions": "You are terse.\n\nAnswer in English.",
                "input": [
                    {"type": "message", "role": "developer",
                     "content": [{"type": "input_text", "text": "Prefer metric units."}]},
                    {"type": "message", "role": "user",
                     "content": [{"type": "input_text", "text": "Weather in Paris and Rome?"}]},
                    {"type": "function_call", "call_id": "call_1", "name": "get_weather",
                     "arguments": "{\"city\":\"Paris\"}"},
                    {"type": "function_call", "call_id": "call_2", "name": "get_weather",
                     "arguments": "{\"city\":\"Rome\"}"},
                    {"type": "function_call_output", "call_id": "call_1", "output": "18C, cloudy"},
                    {"type": "function_call_output", "call_id": "call_2", "output": "25C, sunny"},
                    {"type": "message", "role": "assistant",
                     "content": [{"type": "output_text", "text": "Paris 18C, Rome 25C."}]},
                    {"type": "message", "role": "user",
                     "content": [{"type": "input_text", "text": "Thanks"}]}
                ],
                "tools": [{"type": "function", "name": "get_weather",
                           "description": "Current weather",
                           "parameters": {"type": "object",
                                          "properties": {"city": {"type": "string"}},
                                          "required": ["city"]},
                           "strict": true}],
                "tool_choice": {"type": "function", "name": "get_weather"},
                "parallel_tool_calls": true,
                "reasoning": {"effort": "high"},
                "max_output_tokens": 500,
                "temperature": 0.2,
                "top_p": 0.9,
                "store": false,
                "stream": true
            })
        );
    }

    #[test]
    fn image_and_file_parts() {
        let t = translate(json!({
            "model": "m",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"}}
            ]}]
        }));
        assert_eq!(
            t.body["input"],
            json!([{"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "high"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
                {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}
            ]}])
        );
    }

    #[test]
    fn image_in_assistant_or_system_is_refused() {
        let e = err(json!({"model": "m", "messages": [
            {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
        ]}));
        assert_eq!(e.field(), "messages[0].content[0].type");
        let e = err(json!({"model": "m", "messages": [
            {"role": "developer", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
        ]}));
        assert_eq!(e.field(), "messages[0].content[0].type");
    }

    #[test]
    fn assistant_array_content_and_object_arguments() {
        let t = translate(json!({"model": "m", "messages": [
            {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "refusal", "refusal": "b"}],
             "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": {"x": 1}}}]}
        ]}));
        assert_eq!(
            t.body["input"],
            json!([
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ab"}]},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"x\":1}"}
            ])
        );
    }
}
