//! A whole Messages answer (`type: "message"`) assembled from the events the stream
//! translation gives, so whole and streamed answers always agree.

use super::stream::{MessagesEvent, MessagesStreamOptions, MessagesStreamTranslator};
use crate::proxy::dialects::events::ResponsesProgress;
use crate::proxy::errors::{ProxyError, StreamError};
use crate::proxy::sse::SseEvent;
use crate::proxy::upstream::{json_answer, read_events};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Builds a whole Messages answer from a Responses stream.
#[derive(Debug)]
pub struct MessageAssembler {
    inner: MessagesStreamTranslator,
    message: Option<Value>,
    blocks: Vec<Value>,
    /// The `partial_json` of each `tool_use` block, by block index.
    tool_inputs: Vec<(usize, String)>,
    error: Option<StreamError>,
}

impl MessageAssembler {
    /// An assembler for one answer.
    pub fn new(opts: MessagesStreamOptions) -> Self {
        Self {
            inner: MessagesStreamTranslator::new(opts),
            message: None,
            blocks: Vec::new(),
            tool_inputs: Vec::new(),
            error: None,
        }
    }

    /// Whether the answer is over.
    pub fn is_ended(&self) -> bool {
        self.inner.is_ended()
    }

    /// Feeds one SSE event of the upstream.
    pub fn push_sse(&mut self, ev: &SseEvent) -> Result<(), StreamError> {
        let events = self.inner.push_sse(ev);
        self.take(events)
    }

    /// Feeds one Responses event.
    pub fn push(&mut self, event: &Value) -> Result<(), StreamError> {
        let events = self.inner.push(event);
        self.take(events)
    }

    fn take(&mut self, events: Result<Vec<MessagesEvent>, StreamError>) -> Result<(), StreamError> {
        match events {
            Ok(events) => {
                events.into_iter().for_each(|e| self.absorb(e));
                Ok(())
            }
            Err(e) => {
                self.error = Some(e.clone());
                Err(e)
            }
        }
    }

    fn absorb(&mut self, (name, data): MessagesEvent) {
        match name {
            "message_start" => self.message = Some(data["message"].clone()),
            "content_block_start" => {
                let block = data["content_block"].clone();
                if block["type"] == "tool_use" {
                    self.tool_inputs.push((self.blocks.len(), String::new()));
                }
                self.blocks.push(block);
            }
            "content_block_delta" => {
                let Some(block) = self.blocks.last_mut() else {
                    return;
                };
                let delta = &data["delta"];
                let text = |k: &str| delta[k].as_str().unwrap_or_default();
                match delta["type"].as_str() {
                    Some("text_delta") => append(block, "text", text("text")),
                    Some("thinking_delta") => append(block, "thinking", text("thinking")),
                    Some("signature_delta") => append(block, "signature", text("signature")),
                    Some("input_json_delta") => {
                        if let Some((_, json)) = self.tool_inputs.last_mut() {
                            json.push_str(text("partial_json"));
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(m) = &mut self.message {
                    m["stop_reason"] = data["delta"]["stop_reason"].clone();
                    m["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                    m["usage"] = data["usage"].clone();
                }
            }
            _ => {}
        }
    }

    /// The whole answer, or why there is none (a truncated or failed stream).
    pub fn finish(mut self) -> Result<Value, StreamError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.inner.finish_stream()?;
        let mut message = self.message.take().ok_or(StreamError::Truncated)?;
        for (i, json) in std::mem::take(&mut self.tool_inputs) {
            let input = if json.trim().is_empty() {
                Value::Object(Map::new())
            } else {
                serde_json::from_str(&json).unwrap_or_else(|_| json!({}))
            };
            self.blocks[i]["input"] = input;
        }
        message["content"] = Value::Array(self.blocks);
        Ok(message)
    }
}

/// Appends `text` to the string `block[key]` in place (a whole answer grows delta by delta).
fn append(block: &mut Value, key: &str, text: &str) {
    match block.get_mut(key) {
        Some(Value::String(s)) => s.push_str(text),
        _ => block[key] = Value::String(text.to_owned()),
    }
}

/// A whole Messages answer from a Responses stream (a request without `stream: true`), with
/// the backend's headers that go back to the client.
pub async fn collect(
    resp: reqwest::Response,
    opts: MessagesStreamOptions,
    idle: Duration,
) -> Result<Response, ProxyError> {
    let headers = resp.headers().clone();
    let mut assembler = MessageAssembler::new(opts);
    let mut progress = ResponsesProgress::default();
    read_events(resp, idle, |ev| {
        assembler.push_sse(ev)?;
        progress.note(ev);
        Ok(progress.ended || assembler.is_ended())
    })
    .await?;
    let value = assembler.finish()?;
    Ok(json_answer(StatusCode::OK, &value, &headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::fixtures::{TEXT_STREAM, events_of, failed_stream};

    fn assemble(events: &[Value], thinking: bool) -> Result<Value, StreamError> {
        let mut a = MessageAssembler::new(MessagesStreamOptions {
            model: "claude-opus-4-7".into(),
            thinking,
            stop_sequences: Vec::new(),
        });
        for e in events {
            a.push(e)?;
        }
        a.finish()
    }

    #[test]
    fn whole_message_with_thinking_text_and_a_tool_call() {
        let mut events = events_of(TEXT_STREAM);
        let completed = events.pop().unwrap();
        events.push(
            json!({"type": "response.output_item.done", "output_index": 2, "item": {
            "id": "fc_1", "type": "function_call", "call_id": "toolu_X", "name": "Read",
            "arguments": "{\"path\":\"a.txt\"}"}}),
        );
        events.push(completed);
        assert_eq!(
            assemble(&events, true).unwrap(),
            json!({
                "id": "msg_0a1b2c", "type": "message", "role": "assistant", "model": "claude-opus-4-7",
                "content": [
                    {"type": "thinking", "thinking": "**Greeting** the user",
                     "signature": "codex-router.reasoning.v1:gAAAAB"},
                    {"type": "text", "text": "Hello, wörld 👋"},
                    {"type": "tool_use", "id": "toolu_X", "name": "Read", "input": {"path": "a.txt"}}],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 56, "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": 64, "output_tokens": 30}
            })
        );
    }

    #[test]
    fn cut_and_failed_streams_are_errors() {
        let mut events = events_of(TEXT_STREAM);
        events.pop();
        assert_eq!(assemble(&events, false), Err(StreamError::Truncated));
        assert!(matches!(
            assemble(&failed_stream(), false),
            Err(StreamError::Failed { .. })
        ));
    }
}
