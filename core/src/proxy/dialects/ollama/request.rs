//! An Ollama `/api/chat` or `/api/generate` body translated into a Responses body: first
//! into the Chat Completions request it means (messages, images, tool calls, `think`,
//! `format`, `options`), then by the chat dialect's [`chat_to_responses`].
//!
//! Dropped: `keep_alive`, `logprobs`, `top_logprobs`, and for generate `suffix`,
//! `template`, `raw` and `context`; of `options` only `temperature`, `top_p` and
//! `num_predict` are kept (and the ChatGPT backend's quirks drop those too).

use super::messages::chat_messages;
use crate::proxy::dialects::chat::chat_to_responses;
use crate::proxy::errors::TranslateError;
use crate::proxy::fields::{invalid, missing, non_null, wrong_type};
use serde_json::{Map, Value, json};

/// Which Ollama endpoint a request came to: it decides the answer's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OllamaKind {
    /// `POST /api/chat`: answers carry `message`.
    Chat,
    /// `POST /api/generate`: answers carry `response`.
    Generate,
}

/// An Ollama request translated to a Responses request, with what shapes the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct OllamaTranslation {
    /// The Responses request body (`stream: true`: the answer is always read as a stream).
    pub body: Value,
    /// The model as the client named it, echoed in every answer line.
    pub model: String,
    /// The client wants NDJSON lines (Ollama's default); `false`: one JSON object.
    pub stream: bool,
    /// Chat or generate.
    pub kind: OllamaKind,
    /// A generate request with no prompt: Ollama only loads the model and answers at once.
    pub load_only: bool,
}

/// Translates an Ollama chat or generate body into a Responses body. Wrong field types give
/// a [`TranslateError`] naming the field.
pub fn ollama_to_responses(
    req: &Value,
    kind: OllamaKind,
) -> Result<OllamaTranslation, TranslateError> {
    let obj = req
        .as_object()
        .ok_or_else(|| wrong_type("body", "a JSON object"))?;
    let model = match obj.get("model") {
        None | Some(Value::Null) => return Err(missing("model")),
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(Value::String(_)) => return Err(invalid("model", "must not be empty")),
        Some(_) => return Err(wrong_type("model", "a string")),
    };
    let stream = match non_null(obj, "stream") {
        None => true,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| wrong_type("stream", "a boolean"))?,
    };
    let (messages, load_only) = match kind {
        OllamaKind::Chat => {
            let messages = match obj.get("messages") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(m)) => chat_messages(m)?,
                Some(_) => return Err(wrong_type("messages", "an array")),
            };
            let empty = messages.is_empty();
            (messages, empty)
        }
        OllamaKind::Generate => generate_messages(obj)?,
    };

    let mut chat = Map::new();
    chat.insert("model".into(), Value::String(backend_model(&model)));
    chat.insert("messages".into(), Value::Array(messages));
    chat.insert("stream".into(), Value::Bool(true));
    if kind == OllamaKind::Chat
        && let Some(tools) = non_null(obj, "tools")
    {
        chat.insert("tools".into(), tools.clone());
    }
    if let Some(effort) = think_effort(non_null(obj, "think"))? {
        chat.insert(
            "reasoning".into(),
            json!({"effort": effort, "summary": "auto"}),
        );
    }
    if let Some(format) = response_format(non_null(obj, "format"))? {
        chat.insert("response_format".into(), format);
    }
    if let Some(options) = non_null(obj, "options") {
        kept_options(options, &mut chat)?;
    }
    if load_only {
        // Nothing to send; a placeholder keeps the translation well-formed.
        chat.insert("messages".into(), json!([]));
    }
    let t = chat_to_responses(&Value::Object(chat))?;
    Ok(OllamaTranslation {
        body: t.body,
        model,
        stream,
        kind,
        load_only,
    })
}

/// The backend's model for an Ollama name: Ollama's default tag `:latest` dropped.
pub fn backend_model(name: &str) -> String {
    name.strip_suffix(":latest").unwrap_or(name).to_owned()
}

/// A generate request's `system` and `prompt` (with its `images`) as chat messages, and
/// whether it has no prompt (load only).
fn generate_messages(obj: &Map<String, Value>) -> Result<(Vec<Value>, bool), TranslateError> {
    let prompt = match non_null(obj, "prompt") {
        None => String::new(),
        Some(Value::String(p)) => p.clone(),
        Some(_) => return Err(wrong_type("prompt", "a string")),
    };
    let mut message = json!({"role": "user", "content": prompt});
    if let Some(images) = non_null(obj, "images") {
        message["images"] = images.clone();
    }
    let mut ollama = Vec::new();
    match non_null(obj, "system") {
        None => {}
        Some(s @ Value::String(_)) => ollama.push(json!({"role": "system", "content": s})),
        Some(_) => return Err(wrong_type("system", "a string")),
    }
    let load_only = prompt.is_empty() && non_null(obj, "images").is_none();
    ollama.push(message);
    Ok((chat_messages(&ollama)?, load_only))
}

/// `think` as a reasoning effort: `true` is `medium`, `false` (or absent) asks for none.
fn think_effort(think: Option<&Value>) -> Result<Option<&str>, TranslateError> {
    match think {
        None | Some(Value::Bool(false)) => Ok(None),
        Some(Value::Bool(true)) => Ok(Some("medium")),
        Some(Value::String(s)) => match s.as_str() {
            "low" | "medium" | "high" => Ok(Some(s.as_str())),
            other => Err(invalid(
                "think",
                format!("unknown level '{other}' (expected true, false, low, medium or high)"),
            )),
        },
        Some(_) => Err(wrong_type("think", "a boolean or a string")),
    }
}

/// `format` as a chat `response_format`: `"json"` a JSON object, an object a JSON schema.
fn response_format(format: Option<&Value>) -> Result<Option<Value>, TranslateError> {
    match format {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s == "json" => Ok(Some(json!({"type": "json_object"}))),
        Some(Value::String(other)) => Err(invalid(
            "format",
            format!("unknown format '{other}' (expected \"json\" or a JSON schema)"),
        )),
        Some(schema @ Value::Object(_)) => Ok(Some(json!({
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": schema, "strict": false},
        }))),
        Some(_) => Err(wrong_type("format", "\"json\" or a JSON schema object")),
    }
}

/// The `options` with a Chat Completions counterpart; the rest are dropped.
fn kept_options(options: &Value, chat: &mut Map<String, Value>) -> Result<(), TranslateError> {
    let options = options
        .as_object()
        .ok_or_else(|| wrong_type("options", "an object"))?;
    for key in ["temperature", "top_p"] {
        if let Some(v) = non_null(options, key) {
            if !v.is_number() {
                return Err(wrong_type(format!("options.{key}"), "a number"));
            }
            chat.insert(key.into(), v.clone());
        }
    }
    if let Some(v) = non_null(options, "num_predict") {
        let n = v
            .as_i64()
            .ok_or_else(|| wrong_type("options.num_predict", "an integer"))?;
        // -1 (and -2) mean "no limit" to Ollama.
        if n > 0 {
            chat.insert("max_tokens".into(), Value::from(n));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(req: Value) -> OllamaTranslation {
        ollama_to_responses(&req, OllamaKind::Chat).expect("translates")
    }

    #[test]
    fn chat_with_think_format_and_options() {
        let t = chat(json!({
            "model": "gpt-5.5:latest",
            "messages": [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": "hi"}],
            "think": "high",
            "format": {"type": "object", "properties": {"a": {"type": "string"}}},
            "options": {"temperature": 0.2, "seed": 7, "num_predict": 64, "num_ctx": 4096},
            "keep_alive": "5m",
        }));
        assert!(t.stream);
        assert_eq!(t.model, "gpt-5.5:latest");
        let b = &t.body;
        assert_eq!(b["model"], "gpt-5.5");
        assert_eq!(b["instructions"], "Be brief.");
        assert_eq!(b["reasoning"], json!({"effort": "high", "summary": "auto"}));
        assert_eq!(b["text"]["format"]["type"], "json_schema");
        assert_eq!(
            b["text"]["format"]["schema"]["properties"]["a"]["type"],
            "string"
        );
        assert_eq!(b["temperature"], 0.2);
        assert_eq!(b["max_output_tokens"], 64);
        assert!(b.get("seed").is_none() && b.get("keep_alive").is_none());
        assert_eq!(b["stream"], true);
    }

    #[test]
    fn think_false_and_json_format() {
        let t = chat(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
                            "think": false, "format": "json", "stream": false}),
        );
        assert!(!t.stream);
        assert!(t.body.get("reasoning").is_none());
        assert_eq!(t.body["text"]["format"], json!({"type": "json_object"}));
    }

    #[test]
    fn generate_with_system_and_empty_prompt() {
        let t = ollama_to_responses(
            &json!({"model": "m", "prompt": "Why?", "system": "Sys", "suffix": "x", "raw": true}),
            OllamaKind::Generate,
        )
        .unwrap();
        assert!(!t.load_only);
        assert_eq!(t.body["instructions"], "Sys");
        assert_eq!(t.body["input"][0]["content"][0]["text"], "Why?");
        let t = ollama_to_responses(&json!({"model": "m"}), OllamaKind::Generate).unwrap();
        assert!(t.load_only);
    }

    #[test]
    fn bad_fields_are_named() {
        let err = |req: Value| ollama_to_responses(&req, OllamaKind::Chat).unwrap_err();
        assert_eq!(err(json!({"messages": []})).field(), "model");
        assert_eq!(err(json!({"model": "m", "think": "max"})).field(), "think");
        assert_eq!(
            err(json!({"model": "m", "format": "xml"})).field(),
            "format"
        );
        assert_eq!(
            err(json!({"model": "m", "stream": "yes"})).field(),
            "stream"
        );
        assert_eq!(
            err(json!({"model": "m", "options": {"top_p": "high"}})).field(),
            "options.top_p"
        );
    }
}
