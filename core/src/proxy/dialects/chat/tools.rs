//! Chat tools, the tool choice and the assistant's past tool calls, translated into their
//! flat Responses shapes.

use crate::proxy::errors::TranslateError;
use crate::proxy::fields::{invalid, missing, non_null, required_str, wrong_type};
use serde_json::{Map, Value, json};

/// An assistant `tool_calls[]` entry → a Responses `function_call` item.
pub(super) fn translate_tool_call(call: &Value, path: &str) -> Result<Value, TranslateError> {
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
pub(super) fn translate_tool(tool: &Value, path: &str) -> Result<Value, TranslateError> {
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
pub(super) fn translate_tool_choice(choice: &Value) -> Result<Value, TranslateError> {
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

#[cfg(test)]
mod tests {
    use super::super::request::{ChatTranslation, chat_to_responses};
    use serde_json::{Value, json};

    fn translate(req: Value) -> ChatTranslation {
        chat_to_responses(&req).expect("translates")
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
}
