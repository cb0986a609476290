//! Chat Completions <-> Responses translation.
//!
//! Pure functions over [`serde_json::Value`]: a Chat Completions request becomes a Responses
//! request ([`chat_to_responses`]) and the Codex model catalog becomes OpenAI's model list
//! ([`models_to_openai_list`]). The answer stream is translated back in [`super::sse`].
//!
//! Chat parameters with no Responses counterpart (`stop`, `seed`, `logit_bias`,
//! `frequency_penalty`, `presence_penalty`, `logprobs`, …) are ignored; `n` above 1 is refused
//! because the answer has exactly one choice.

use super::errors::TranslateError;
use super::fields::{
    invalid, missing, non_null, part_kind, required_str, text_content, wrong_type,
};
use serde_json::{Map, Value, json};

/// A Chat Completions request translated to a Responses request, with what the caller needs
/// to shape the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTranslation {
    /// The Responses request body. `stream` follows the client and `store` is `false` unless
    /// the client set it; call
    /// [`apply_chatgpt_quirks`](crate::proxy::upstream::apply_chatgpt_quirks) before sending it to the ChatGPT backend.
    pub body: Value,
    /// The model the client asked for.
    pub model: String,
    /// The client asked for a stream (`stream: true`).
    pub stream: bool,
    /// The client asked for a final usage chunk (`stream_options.include_usage: true`).
    pub include_usage: bool,
}

/// Translates a Chat Completions request body into a Responses request body.
///
/// `system` messages are folded into `instructions` (joined with blank lines), `developer`
/// messages stay developer messages, assistant `tool_calls` become `function_call` items and
/// `tool` messages become `function_call_output` items. Wrong field types give a
/// [`TranslateError`] naming the field.
pub fn chat_to_responses(req: &Value) -> Result<ChatTranslation, TranslateError> {
    let obj = req
        .as_object()
        .ok_or_else(|| wrong_type("body", "a JSON object"))?;

    let model = match obj.get("model") {
        None | Some(Value::Null) => return Err(missing("model")),
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(Value::String(_)) => return Err(invalid("model", "must not be empty")),
        Some(_) => return Err(wrong_type("model", "a string")),
    };

    let messages = match obj.get("messages") {
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(Value::Array(m)) => m,
        Some(_) => return Err(wrong_type("messages", "an array")),
    };

    let mut instructions: Vec<String> = Vec::new();
    let mut input: Vec<Value> = Vec::new();
    for (i, msg) in messages.iter().enumerate() {
        translate_message(
            msg,
            &format!("messages[{i}]"),
            &mut instructions,
            &mut input,
        )?;
    }

    let mut out = Map::new();
    out.insert("model".into(), Value::String(model.clone()));
    if !instructions.is_empty() {
        out.insert(
            "instructions".into(),
            Value::String(instructions.join("\n\n")),
        );
    }
    out.insert("input".into(), Value::Array(input));

    if let Some(tools) = non_null(obj, "tools") {
        let tools = tools
            .as_array()
            .ok_or_else(|| wrong_type("tools", "an array"))?;
        let tools = tools
            .iter()
            .enumerate()
            .map(|(i, t)| translate_tool(t, &format!("tools[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        out.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = non_null(obj, "tool_choice") {
        out.insert("tool_choice".into(), translate_tool_choice(choice)?);
    }
    if let Some(v) = non_null(obj, "parallel_tool_calls") {
        let b = v
            .as_bool()
            .ok_or_else(|| wrong_type("parallel_tool_calls", "a boolean"))?;
        out.insert("parallel_tool_calls".into(), Value::Bool(b));
    }

    let mut reasoning = match non_null(obj, "reasoning") {
        Some(Value::Object(r)) => r.clone(),
        Some(_) => return Err(wrong_type("reasoning", "an object")),
        None => Map::new(),
    };
    if let Some(effort) = non_null(obj, "reasoning_effort") {
        let effort = effort
            .as_str()
            .ok_or_else(|| wrong_type("reasoning_effort", "a string"))?;
        reasoning.insert("effort".into(), Value::String(effort.to_owned()));
    }
    if !reasoning.is_empty() {
        out.insert("reasoning".into(), Value::Object(reasoning));
    }

    let mut text = Map::new();
    if let Some(format) = non_null(obj, "response_format")
        && let Some(format) = translate_response_format(format)?
    {
        text.insert("format".into(), format);
    }
    if let Some(verbosity) = non_null(obj, "verbosity") {
        let v = verbosity
            .as_str()
            .ok_or_else(|| wrong_type("verbosity", "a string"))?;
        text.insert("verbosity".into(), Value::String(v.to_owned()));
    }
    if !text.is_empty() {
        out.insert("text".into(), Value::Object(text));
    }

    let max_tokens = match non_null(obj, "max_completion_tokens") {
        Some(v) => Some(("max_completion_tokens", v)),
        None => non_null(obj, "max_tokens").map(|v| ("max_tokens", v)),
    };
    if let Some((field, v)) = max_tokens {
        let n = v
            .as_u64()
            .ok_or_else(|| wrong_type(field, "a non-negative integer"))?;
        out.insert("max_output_tokens".into(), Value::from(n));
    }
    for field in ["temperature", "top_p"] {
        if let Some(v) = non_null(obj, field) {
            if !v.is_number() {
                return Err(wrong_type(field, "a number"));
            }
            out.insert(field.into(), v.clone());
        }
    }
    if let Some(n) = non_null(obj, "n") {
        match n.as_u64() {
            Some(1) => {}
            Some(_) => return Err(invalid("n", "only n=1 is supported")),
            None => return Err(wrong_type("n", "an integer")),
        }
    }
    for field in [
        "user",
        "service_tier",
        "prompt_cache_key",
        "safety_identifier",
    ] {
        if let Some(v) = non_null(obj, field) {
            if !v.is_string() {
                return Err(wrong_type(field, "a string"));
            }
            out.insert(field.into(), v.clone());
        }
    }
    if let Some(v) = non_null(obj, "metadata") {
        if !v.is_object() {
            return Err(wrong_type("metadata", "an object"));
        }
        out.insert("metadata".into(), v.clone());
    }

    let store = match non_null(obj, "store") {
        Some(v) => v
            .as_bool()
            .ok_or_else(|| wrong_type("store", "a boolean"))?,
        None => false,
    };
    out.insert("store".into(), Value::Bool(store));

    let stream = match non_null(obj, "stream") {
        Some(v) => v
            .as_bool()
            .ok_or_else(|| wrong_type("stream", "a boolean"))?,
        None => false,
    };
    out.insert("stream".into(), Value::Bool(stream));

    let include_usage = match non_null(obj, "stream_options") {
        Some(Value::Object(o)) => match o.get("include_usage") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(wrong_type("stream_options.include_usage", "a boolean")),
        },
        Some(_) => return Err(wrong_type("stream_options", "an object")),
        None => false,
    };

    Ok(ChatTranslation {
        body: Value::Object(out),
        model,
        stream,
        include_usage,
    })
}
/// Translates one chat message, pushing Responses items to `input` (or text to
/// `instructions` for a system message).
fn translate_message(
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

/// An assistant `tool_calls[]` entry → a Responses `function_call` item.
fn translate_tool_call(call: &Value, path: &str) -> Result<Value, TranslateError> {
    let obj = call
        .as_object()
        .ok_or_else(|| wrong_type(path, "a tool call object"))?;
    match non_null(obj, "type") {
        None => {}
        Some(Value::String(t)) if t == "function" => {}
        Some(Value::String(t)) => {
            return Err(invalid(
                format!("{path}.type"),
                format!("tool call type '{t}' is not supported; only 'function'"),
            ));
        }
        Some(_) => return Err(wrong_type(format!("{path}.type"), "a string")),
    }
    let id = required_str(obj, "id", path)?;
    let fpath = format!("{path}.function");
    let function = match obj.get("function") {
        None | Some(Value::Null) => return Err(missing(fpath)),
        Some(Value::Object(f)) => f,
        Some(_) => return Err(wrong_type(fpath, "an object")),
    };
    let name = required_str(function, "name", &fpath)?;
    let arguments = match function.get("arguments") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v @ Value::Object(_)) => v.to_string(),
        Some(_) => return Err(wrong_type(format!("{fpath}.arguments"), "a JSON string")),
    };
    Ok(json!({
        "type": "function_call",
        "call_id": id,
        "name": name,
        "arguments": arguments,
    }))
}

/// A Chat tool (`{"type":"function","function":{…}}`) → a flat Responses tool. Other tool
/// types pass unchanged. `strict` defaults to `false`, as in Chat Completions (Responses
/// would default it to `true`).
fn translate_tool(tool: &Value, path: &str) -> Result<Value, TranslateError> {
    let obj = tool
        .as_object()
        .ok_or_else(|| wrong_type(path, "a tool object"))?;
    let kind = match obj.get("type") {
        None | Some(Value::Null) => return Err(missing(format!("{path}.type"))),
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(wrong_type(format!("{path}.type"), "a string")),
    };
    if kind != "function" {
        return Ok(tool.clone());
    }
    let fpath = format!("{path}.function");
    let function = match obj.get("function") {
        // Already in the flat Responses shape.
        None | Some(Value::Null) if obj.contains_key("name") => return Ok(tool.clone()),
        None | Some(Value::Null) => return Err(missing(fpath)),
        Some(Value::Object(f)) => f,
        Some(_) => return Err(wrong_type(fpath, "an object")),
    };
    let mut out = Map::new();
    out.insert("type".into(), Value::String("function".into()));
    out.insert(
        "name".into(),
        Value::String(required_str(function, "name", &fpath)?.to_owned()),
    );
    match non_null(function, "description") {
        None => {}
        Some(d @ Value::String(_)) => {
            out.insert("description".into(), d.clone());
        }
        Some(_) => return Err(wrong_type(format!("{fpath}.description"), "a string")),
    }
    let parameters = match non_null(function, "parameters") {
        None => json!({"type": "object", "properties": {}}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => return Err(wrong_type(format!("{fpath}.parameters"), "an object")),
    };
    out.insert("parameters".into(), parameters);
    let strict = match non_null(function, "strict") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(wrong_type(format!("{fpath}.strict"), "a boolean")),
    };
    out.insert("strict".into(), Value::Bool(strict));
    Ok(Value::Object(out))
}

/// `tool_choice`: strings pass; `{"type":"function","function":{"name"}}` → `{"type":"function","name"}`.
fn translate_tool_choice(choice: &Value) -> Result<Value, TranslateError> {
    match choice {
        Value::String(_) => Ok(choice.clone()),
        Value::Object(obj) => {
            if obj.get("type").and_then(Value::as_str) == Some("function")
                && let Some(function) = non_null(obj, "function")
            {
                let f = function
                    .as_object()
                    .ok_or_else(|| wrong_type("tool_choice.function", "an object"))?;
                let name = required_str(f, "name", "tool_choice.function")?;
                return Ok(json!({"type": "function", "name": name}));
            }
            Ok(choice.clone())
        }
        _ => Err(wrong_type("tool_choice", "a string or an object")),
    }
}

/// `response_format` → `text.format`; `None` for the default `{"type":"text"}`.
fn translate_response_format(format: &Value) -> Result<Option<Value>, TranslateError> {
    let obj = format
        .as_object()
        .ok_or_else(|| wrong_type("response_format", "an object"))?;
    let kind = required_str(obj, "type", "response_format")?;
    match kind {
        "text" => Ok(None),
        "json_object" => Ok(Some(json!({"type": "json_object"}))),
        "json_schema" => {
            let js = match obj.get("json_schema") {
                None | Some(Value::Null) => return Err(missing("response_format.json_schema")),
                Some(Value::Object(js)) => js,
                Some(_) => return Err(wrong_type("response_format.json_schema", "an object")),
            };
            let name = match non_null(js, "name") {
                None => "response",
                Some(Value::String(n)) => n.as_str(),
                Some(_) => return Err(wrong_type("response_format.json_schema.name", "a string")),
            };
            let mut out = Map::new();
            out.insert("type".into(), Value::String("json_schema".into()));
            out.insert("name".into(), Value::String(name.to_owned()));
            match non_null(js, "description") {
                None => {}
                Some(d @ Value::String(_)) => {
                    out.insert("description".into(), d.clone());
                }
                Some(_) => {
                    return Err(wrong_type(
                        "response_format.json_schema.description",
                        "a string",
                    ));
                }
            }
            match non_null(js, "schema") {
                None => return Err(missing("response_format.json_schema.schema")),
                Some(s @ Value::Object(_)) => {
                    out.insert("schema".into(), s.clone());
                }
                Some(_) => {
                    return Err(wrong_type(
                        "response_format.json_schema.schema",
                        "an object",
                    ));
                }
            }
            match non_null(js, "strict") {
                None => {}
                Some(s @ Value::Bool(_)) => {
                    out.insert("strict".into(), s.clone());
                }
                Some(_) => {
                    return Err(wrong_type(
                        "response_format.json_schema.strict",
                        "a boolean",
                    ));
                }
            }
            Ok(Some(Value::Object(out)))
        }
        other => Err(invalid(
            "response_format.type",
            format!("unknown type '{other}' (expected text, json_object or json_schema)"),
        )),
    }
}

/// Maps a Codex model catalog (`{"models":[{slug, display_name, visibility, …}]}`) to
/// OpenAI's model list (`{"object":"list","data":[{"id","object":"model","created":0,"owned_by":"openai"}]}`).
/// Hidden models (`visibility:"hide"`) and entries without a `slug` are skipped; anything
/// that is not a catalog gives an empty list.
pub fn models_to_openai_list(catalog: &Value) -> Value {
    let data: Vec<Value> = catalog
        .get("models")
        .and_then(Value::as_array)
        .map(|models| {
            models
                .iter()
                .filter(|m| m.get("visibility").and_then(Value::as_str) != Some("hide"))
                .filter_map(|m| m.get("slug").and_then(Value::as_str))
                .map(|slug| {
                    json!({
                        "id": slug,
                        "object": "model",
                        "created": 0,
                        "owned_by": "openai",
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({"object": "list", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::upstream::apply_chatgpt_quirks;

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
    fn minimal_request_defaults() {
        let t =
            translate(json!({"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}));
        assert!(!t.stream);
        assert!(!t.include_usage);
        assert_eq!(
            t.body,
            json!({
                "model": "gpt-5.4",
                "input": [{"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": "hi"}]}],
                "store": false,
                "stream": false
            })
        );
    }

    #[test]
    fn tool_without_parameters_or_strict_gets_chat_defaults() {
        let t = translate(json!({
            "model": "m", "messages": [],
            "tools": [{"type": "function", "function": {"name": "now"}}],
            "tool_choice": "required",
            "max_tokens": 10
        }));
        assert_eq!(
            t.body["tools"],
            json!([{"type": "function", "name": "now",
                    "parameters": {"type": "object", "properties": {}}, "strict": false}])
        );
        assert_eq!(t.body["tool_choice"], "required");
        assert_eq!(t.body["max_output_tokens"], 10);
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
    fn response_formats() {
        let t = translate(json!({
            "model": "m", "messages": [],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "person", "strict": true,
                "schema": {"type": "object", "properties": {"name": {"type": "string"}},
                           "required": ["name"], "additionalProperties": false}}},
            "verbosity": "low"
        }));
        assert_eq!(
            t.body["text"],
            json!({
                "format": {"type": "json_schema", "name": "person", "strict": true,
                           "schema": {"type": "object", "properties": {"name": {"type": "string"}},
                                      "required": ["name"], "additionalProperties": false}},
                "verbosity": "low"
            })
        );
        let t = translate(
            json!({"model": "m", "messages": [], "response_format": {"type": "json_object"}}),
        );
        assert_eq!(t.body["text"], json!({"format": {"type": "json_object"}}));
        let t =
            translate(json!({"model": "m", "messages": [], "response_format": {"type": "text"}}));
        assert!(t.body.get("text").is_none());
        let e = err(json!({"model": "m", "messages": [],
                           "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}));
        assert_eq!(e.field(), "response_format.json_schema.schema");
    }

    #[test]
    fn bad_types_name_the_field() {
        let cases = [
            (json!([1, 2]), "body"),
            (json!({"messages": []}), "model"),
            (json!({"model": 5, "messages": []}), "model"),
            (json!({"model": "m"}), "messages"),
            (json!({"model": "m", "messages": "hi"}), "messages"),
            (json!({"model": "m", "messages": ["hi"]}), "messages[0]"),
            (
                json!({"model": "m", "messages": [{"content": "hi"}]}),
                "messages[0].role",
            ),
            (
                json!({"model": "m", "messages": [{"role": 1, "content": "hi"}]}),
                "messages[0].role",
            ),
            (
                json!({"model": "m", "messages": [{"role": "wizard", "content": "hi"}]}),
                "messages[0].role",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": 42}]}),
                "messages[0].content",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user"}]}),
                "messages[0].content",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"text": "x"}]}]}),
                "messages[0].content[0].type",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": 3}]}]}),
                "messages[0].content[0].text",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}),
                "messages[0].content[0].type",
            ),
            (
                json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}),
                "messages[0].tool_call_id",
            ),
            (
                json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": {}}]}),
                "messages[0].tool_calls",
            ),
            (
                json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [
                {"type": "function", "function": {"name": "f", "arguments": "{}"}}]}]}),
                "messages[0].tool_calls[0].id",
            ),
            (
                json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"arguments": "{}"}}]}]}),
                "messages[0].tool_calls[0].function.name",
            ),
            (json!({"model": "m", "messages": [], "tools": {}}), "tools"),
            (
                json!({"model": "m", "messages": [], "tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]}),
                "tools[0].function.parameters",
            ),
            (
                json!({"model": "m", "messages": [], "tool_choice": 1}),
                "tool_choice",
            ),
            (
                json!({"model": "m", "messages": [], "reasoning_effort": 1}),
                "reasoning_effort",
            ),
            (
                json!({"model": "m", "messages": [], "max_tokens": "10"}),
                "max_tokens",
            ),
            (
                json!({"model": "m", "messages": [], "max_completion_tokens": -1}),
                "max_completion_tokens",
            ),
            (
                json!({"model": "m", "messages": [], "temperature": "hot"}),
                "temperature",
            ),
            (
                json!({"model": "m", "messages": [], "stream": "yes"}),
                "stream",
            ),
            (
                json!({"model": "m", "messages": [], "stream_options": {"include_usage": 1}}),
                "stream_options.include_usage",
            ),
            (
                json!({"model": "m", "messages": [], "response_format": "json"}),
                "response_format",
            ),
            (json!({"model": "m", "messages": [], "n": 2}), "n"),
        ];
        for (req, field) in cases {
            let e = chat_to_responses(&req).expect_err(&req.to_string());
            assert_eq!(e.field(), field, "{req}");
            assert!(e.to_string().contains(field), "{e} should name {field}");
            let body = e.error_body();
            assert_eq!(body["error"]["type"], "invalid_request_error");
            assert_eq!(body["error"]["param"], field);
        }
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

    #[test]
    fn chatgpt_quirks_on_translated_chat_request() {
        let mut body = translate(json!({
            "model": "gpt-5.5",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            "reasoning_effort": "xhigh",
            "max_tokens": 100, "temperature": 1, "top_p": 1, "user": "u1",
            "metadata": {"a": "b"}, "service_tier": "auto"
        }))
        .body;
        apply_chatgpt_quirks(&mut body).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "gpt-5.5",
                "instructions": "Be brief.",
                "input": [{"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": "hi"}]}],
                "reasoning": {"effort": "xhigh"},
                "include": ["reasoning.encrypted_content"],
                "store": false,
                "stream": true
            })
        );
    }

    #[test]
    fn model_catalog_to_openai_list() {
        let catalog = json!({"models": [
            {"slug": "gpt-5.5", "display_name": "GPT-5.5", "visibility": "list", "priority": 0},
            {"slug": "codex-auto-review", "display_name": "Auto review", "visibility": "hide"},
            {"slug": "gpt-5.4-mini", "display_name": "GPT-5.4 mini"},
            {"display_name": "no slug"}
        ]});
        assert_eq!(
            models_to_openai_list(&catalog),
            json!({"object": "list", "data": [
                {"id": "gpt-5.5", "object": "model", "created": 0, "owned_by": "openai"},
                {"id": "gpt-5.4-mini", "object": "model", "created": 0, "owned_by": "openai"}
            ]})
        );
        assert_eq!(
            models_to_openai_list(&json!(null)),
            json!({"object": "list", "data": []})
        );
    }
}
