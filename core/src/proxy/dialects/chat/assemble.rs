//! A whole `chat.completion` assembled from a Responses stream, for non-streaming chat
//! requests (the ChatGPT backend only streams).

use super::chunks::chat_usage;
use super::stream::{ChatStreamOptions, ChatStreamTranslator};
use crate::proxy::dialects::events::read_answer;
use crate::proxy::errors::{ProxyError, StreamError};
use crate::proxy::sse::SseEvent;
use crate::proxy::upstream::json_answer;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Tool calls assembled from Chat Completions `tool_calls` deltas: (id, name, arguments
/// text) by `index`, the id and name from the first delta, the argument text from each.
#[derive(Debug, Default)]
pub(crate) struct ToolCallDeltas(pub(crate) Vec<(String, String, String)>);

impl ToolCallDeltas {
    /// One delta (a delta without an `index`, or with one far past the calls so far, is not
    /// a real one and is ignored).
    pub(crate) fn note(&mut self, call: &Value) {
        let Some(i) = call.get("index").and_then(Value::as_u64) else {
            return;
        };
        let i = usize::try_from(i).unwrap_or(usize::MAX);
        if i >= self.0.len() {
            if i > self.0.len() + 64 {
                return;
            }
            self.0.resize(i + 1, Default::default());
        }
        let slot = &mut self.0[i];
        if let Some(id) = call.get("id").and_then(Value::as_str) {
            slot.0 = id.to_owned();
        }
        if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
            slot.1 = name.to_owned();
        }
        if let Some(a) = call.pointer("/function/arguments").and_then(Value::as_str) {
            slot.2.push_str(a);
        }
    }

    /// Whether no call came.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Builds a whole `chat.completion` object from a Responses stream (for non-streaming chat
/// requests). Content is assembled from the deltas and `response.output_item.done` items, so
/// an empty `output` in `response.completed` (what `store:false` gives) loses nothing.
#[derive(Debug)]
pub struct ChatCompletionAssembler {
    inner: ChatStreamTranslator,
    header: Option<(Value, Value, Value)>,
    content: String,
    refusal: String,
    reasoning: String,
    tool_calls: ToolCallDeltas,
    finish_reason: Option<String>,
    usage: Option<Value>,
    error: Option<StreamError>,
}

impl ChatCompletionAssembler {
    /// An assembler for one response; `include_reasoning` adds `message.reasoning_content`.
    pub fn new(model: impl Into<String>, include_reasoning: bool) -> Self {
        Self {
            inner: ChatStreamTranslator::new(ChatStreamOptions {
                model: model.into(),
                include_usage: true,
                include_reasoning,
            }),
            header: None,
            content: String::new(),
            refusal: String::new(),
            reasoning: String::new(),
            tool_calls: ToolCallDeltas::default(),
            finish_reason: None,
            usage: None,
            error: None,
        }
    }

    /// Feeds one SSE event.
    pub fn push_sse(&mut self, event: &SseEvent) -> Result<(), StreamError> {
        let chunks = self.inner.push_sse(event);
        self.take(chunks)
    }

    /// Feeds one Responses event.
    pub fn push(&mut self, event: &Value) -> Result<(), StreamError> {
        let chunks = self.inner.push(event);
        self.take(chunks)
    }

    fn take(&mut self, chunks: Result<Vec<Value>, StreamError>) -> Result<(), StreamError> {
        match chunks {
            Ok(chunks) => {
                self.absorb(chunks);
                Ok(())
            }
            Err(e) => {
                self.error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The finished `chat.completion`, or why there is none (truncated or failed stream).
    pub fn finish(mut self) -> Result<Value, StreamError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.inner.finish()?;
        let (Some((id, created, model)), Some(finish_reason)) =
            (self.header.take(), self.finish_reason.take())
        else {
            return Err(StreamError::Truncated);
        };
        let mut message = Map::new();
        message.insert("role".into(), json!("assistant"));
        let content = if self.content.is_empty() && !self.tool_calls.is_empty() {
            Value::Null
        } else {
            Value::String(self.content)
        };
        message.insert("content".into(), content);
        message.insert(
            "refusal".into(),
            if self.refusal.is_empty() {
                Value::Null
            } else {
                Value::String(self.refusal)
            },
        );
        if !self.reasoning.is_empty() {
            message.insert("reasoning_content".into(), Value::String(self.reasoning));
        }
        if !self.tool_calls.is_empty() {
            let calls: Vec<Value> = self
                .tool_calls
                .0
                .into_iter()
                .map(|(id, name, arguments)| {
                    json!({"id": id, "type": "function",
                           "function": {"name": name, "arguments": arguments}})
                })
                .collect();
            message.insert("tool_calls".into(), Value::Array(calls));
        }
        Ok(json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": finish_reason,
            }],
            "usage": self.usage.unwrap_or_else(|| chat_usage(None)),
        }))
    }

    fn absorb(&mut self, chunks: Vec<Value>) {
        for chunk in chunks {
            if self.header.is_none() {
                self.header = Some((
                    chunk["id"].clone(),
                    chunk["created"].clone(),
                    chunk["model"].clone(),
                ));
            }
            let choices = chunk
                .get("choices")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if choices.is_empty() {
                if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
                    self.usage = Some(u.clone());
                }
                continue;
            }
            for choice in &choices {
                let delta = &choice["delta"];
                let text = |k: &str| delta.get(k).and_then(Value::as_str);
                if let Some(t) = text("content") {
                    self.content.push_str(t);
                }
                if let Some(t) = text("refusal") {
                    self.refusal.push_str(t);
                }
                if let Some(t) = text("reasoning_content") {
                    self.reasoning.push_str(t);
                }
                for call in delta
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    self.tool_calls.note(call);
                }
                if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
                    self.finish_reason = Some(f.to_owned());
                }
            }
        }
    }
}

/// A whole `chat.completion` from a Responses stream (a non-streaming chat request), with
/// the backend's headers that go back to the client.
pub async fn collect(
    resp: reqwest::Response,
    model: &str,
    idle: Duration,
) -> Result<Response, ProxyError> {
    let headers = resp.headers().clone();
    let mut assembler = ChatCompletionAssembler::new(model, false);
    read_answer(resp, idle, |ev| assembler.push_sse(ev)).await?;
    let value = assembler.finish()?;
    Ok(json_answer(StatusCode::OK, &value, &headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::dialects::chat::fixtures::{incomplete_stream, two_calls_stream};
    use crate::proxy::fixtures::{TEXT_STREAM, decode_all, events_of, failed_stream};

    #[test]
    fn non_stream_assembly_with_empty_output() {
        let mut a = ChatCompletionAssembler::new("gpt-5.5-requested", false);
        for ev in decode_all(TEXT_STREAM.as_bytes()) {
            a.push_sse(&ev).unwrap();
        }
        assert_eq!(
            a.finish().unwrap(),
            json!({
                "id": "chatcmpl-0a1b2c", "object": "chat.completion", "created": 1777000000,
                "model": "gpt-5.5",
                "choices": [{"index": 0,
                             "message": {"role": "assistant", "content": "Hello, wörld 👋", "refusal": null},
                             "logprobs": null, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
                          "prompt_tokens_details": {"cached_tokens": 64},
                          "completion_tokens_details": {"reasoning_tokens": 12}}
            })
        );

        // No text deltas at all: the content comes from output_item.done alone.
        let events: Vec<Value> = events_of(TEXT_STREAM)
            .into_iter()
            .filter(|e| e["type"] != "response.output_text.delta")
            .collect();
        let mut a = ChatCompletionAssembler::new("m", true);
        for e in &events {
            a.push(e).unwrap();
        }
        let done = a.finish().unwrap();
        assert_eq!(done["choices"][0]["message"]["content"], "Hello, wörld 👋");
        assert_eq!(
            done["choices"][0]["message"]["reasoning_content"],
            "**Greeting** the user"
        );
    }

    #[test]
    fn non_stream_assembly_of_tool_calls() {
        let mut a = ChatCompletionAssembler::new("m", false);
        for e in two_calls_stream() {
            a.push(&e).unwrap();
        }
        let done = a.finish().unwrap();
        assert_eq!(
            done["choices"][0],
            json!({"index": 0, "logprobs": null, "finish_reason": "tool_calls",
                   "message": {"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                       {"id": "call_AAA", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                       {"id": "call_BBB", "type": "function",
                        "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\"}"}}]}})
        );
        assert_eq!(done["usage"]["total_tokens"], 70);
    }

    #[test]
    fn completed_output_is_used_when_no_item_events_came() {
        // The OpenAI API with store:true: output filled in response.completed.
        let events = [
            json!({"type": "response.created", "response": {"id": "resp_api", "created_at": 9, "model": "gpt-5.4"}}),
            json!({"type": "response.completed", "response": {"id": "resp_api", "output": [
                {"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi"}]}]}}),
        ];
        let mut a = ChatCompletionAssembler::new("m", false);
        for e in &events {
            a.push(e).unwrap();
        }
        let done = a.finish().unwrap();
        assert_eq!(done["choices"][0]["message"]["content"], "Hi");
        assert_eq!(done["usage"]["total_tokens"], 0);
    }

    #[test]
    fn incomplete_answer_finishes_with_length() {
        let mut a = ChatCompletionAssembler::new("gpt-5.4", false);
        for e in &incomplete_stream() {
            a.push(e).unwrap();
        }
        let done = a.finish().unwrap();
        assert_eq!(done["choices"][0]["finish_reason"], "length");
        assert_eq!(done["choices"][0]["message"]["content"], "Once upon a");
    }

    #[test]
    fn dropped_stream_is_an_error() {
        let mut events = events_of(TEXT_STREAM);
        events.pop(); // no response.completed
        let mut a = ChatCompletionAssembler::new("m", false);
        for e in &events {
            a.push(e).unwrap();
        }
        assert_eq!(a.finish(), Err(StreamError::Truncated));
    }

    #[test]
    fn failed_response_is_an_error() {
        let events = failed_stream();
        let mut a = ChatCompletionAssembler::new("m", false);
        assert!(a.push(&events[0]).is_ok());
        let err = a.push(&events[1]).unwrap_err();
        assert_eq!(err.status_code(), 400);
        assert_eq!(a.finish().unwrap_err(), err);
    }
}
