//! The fake model: a deterministic reply rule for a request body.

use super::types::{FunctionCall, Reply};
use serde_json::{Map, Value, json};

/// A function tool offered by the request.
struct Tool {
    name: String,
    parameters: Value,
}

/// The default reply for a Responses (`input`) or Chat Completions (`messages`) request:
/// - the last item is a tool result → `Tool result: <output>`;
/// - tools are offered and the last user message contains "call a tool" (any case), or
///   `tool_choice` is `"required"` / names a function → a call of that (or the first) function
///   with placeholder arguments built from its JSON schema;
/// - otherwise → `You said: <last user message>`.
pub(crate) fn default_reply(body: &Value) -> Reply {
    let items = items(body);
    if let Some(out) = items.last().and_then(tool_output) {
        return Reply::Text(format!("Tool result: {out}"));
    }
    let user = last_user_text(&items);
    let tools = tools(body);
    let forced = match body.get("tool_choice") {
        Some(Value::String(s)) if s == "required" => tools.first().map(|t| t.name.clone()),
        Some(Value::Object(o)) => o
            .get("name")
            .or_else(|| o.get("function").and_then(|f| f.get("name")))
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    let wanted = forced.or_else(|| {
        (user.to_lowercase().contains("call a tool"))
            .then(|| tools.first().map(|t| t.name.clone()))
            .flatten()
    });
    if let Some(name) = wanted {
        let params = tools
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.parameters.clone())
            .unwrap_or(Value::Null);
        return Reply::FunctionCalls(vec![FunctionCall {
            name,
            arguments: placeholder(&params).to_string(),
            call_id: None,
        }]);
    }
    Reply::Text(format!("You said: {user}"))
}

/// The conversation items: Responses `input` (a string becomes one user message) or Chat
/// `messages`.
fn items(body: &Value) -> Vec<Value> {
    match body.get("input").or_else(|| body.get("messages")) {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => vec![json!({"role": "user", "content": s})],
        _ => Vec::new(),
    }
}

fn tool_output(item: &Value) -> Option<String> {
    let is_output = matches!(
        item.get("type").and_then(Value::as_str),
        Some("function_call_output" | "custom_tool_call_output")
    ) || item.get("role").and_then(Value::as_str) == Some("tool");
    if !is_output {
        return None;
    }
    let out = item.get("output").or_else(|| item.get("content"))?;
    Some(content_text(out))
}

/// The text of a `content` value: a string, or the `text` of each part.
pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| match p {
                Value::String(s) => Some(s.clone()),
                other => other.get("text").and_then(Value::as_str).map(str::to_owned),
            })
            .collect::<Vec<_>>()
            .join(""),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn last_user_text(items: &[Value]) -> String {
    items
        .iter()
        .rev()
        .find(|i| i.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|i| i.get("content"))
        .map(content_text)
        .unwrap_or_default()
}

fn tools(body: &Value) -> Vec<Tool> {
    let Some(Value::Array(tools)) = body.get("tools") else {
        return Vec::new();
    };
    tools
        .iter()
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
        .filter_map(|t| {
            let f = t.get("function").unwrap_or(t);
            Some(Tool {
                name: f.get("name")?.as_str()?.to_owned(),
                parameters: f.get("parameters").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// Arguments that satisfy a simple JSON schema: every required property with a placeholder.
fn placeholder(schema: &Value) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => schema
            .get("enum")
            .and_then(|e| e.get(0))
            .cloned()
            .unwrap_or_else(|| json!("fake")),
        Some("integer" | "number") => json!(1),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        _ => {
            let mut out = Map::new();
            let props = schema.get("properties").and_then(Value::as_object);
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = props {
                for (name, sub) in props {
                    if required.contains(&name.as_str()) {
                        out.insert(name.clone(), placeholder(sub));
                    }
                }
            }
            Value::Object(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_last_user_message() {
        let body = json!({"input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]},
        ]});
        assert_eq!(default_reply(&body), Reply::text("You said: hello"));
        let chat = json!({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]});
        assert_eq!(default_reply(&chat), Reply::text("You said: hi"));
    }

    #[test]
    fn calls_a_tool_with_required_args() {
        let body = json!({
            "input": "please call a tool",
            "tools": [{"type": "function", "name": "read", "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "n": {"type": "integer"}},
                "required": ["path"]}}]
        });
        assert_eq!(
            default_reply(&body),
            Reply::FunctionCalls(vec![FunctionCall {
                name: "read".into(),
                arguments: r#"{"path":"fake"}"#.into(),
                call_id: None
            }])
        );
    }

    #[test]
    fn reports_tool_output() {
        let body = json!({"messages": [
            {"role": "user", "content": "call a tool"},
            {"role": "tool", "tool_call_id": "c", "content": "42"}]});
        assert_eq!(default_reply(&body), Reply::text("Tool result: 42"));
    }
}
