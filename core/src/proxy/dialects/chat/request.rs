//! A Chat Completions request body translated into a Responses request body: the body's
//! fields here, its messages in [`super::messages`], its tools in [`super::tools`].
//!
//! Chat parameters with no Responses counterpart (`stop`, `seed`, `logit_bias`,
//! `frequency_penalty`, `presence_penalty`, `logprobs`, …) are ignored; `n` above 1 is refused
//! because the answer has exactly one choice.

use super::messages::translate_message;
use super::tools::{translate_tool, translate_tool_choice};
use crate::proxy::errors::TranslateError;
use crate::proxy::fields::{invalid, missing, non_null, required_str, wrong_type};
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
}
