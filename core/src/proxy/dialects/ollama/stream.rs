//! A Responses stream translated into Ollama's answer lines as it comes
//! ([`OllamaStreamTranslator`]), relayed as NDJSON ([`stream()`]).
//!
//! It reads the stream through the chat dialect's [`ChatStreamTranslator`] (text, thinking,
//! tool-call and usage deltas) and reshapes each delta into one line: `message` for chat,
//! `response` for generate. Tool calls go out whole (Ollama's arguments are an object) on
//! the line before the last; the last line has `done: true`, `done_reason`, the token counts
//! and the durations in nanoseconds measured from when the request arrived.

use super::request::OllamaKind;
use crate::proxy::dialects::chat::{ChatStreamOptions, ChatStreamTranslator, ToolCallDeltas};
use crate::proxy::errors::StreamError;
use crate::proxy::sse::SseEvent;
use crate::proxy::upstream::{StreamTranslation, Translated, stream_translated_as};
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

/// Ollama's streamed content type.
pub const NDJSON: &str = "application/x-ndjson";

/// The model and endpoint an answer is shaped for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerShape {
    /// The model as the client named it.
    pub model: String,
    /// Chat (`message`) or generate (`response`).
    pub kind: OllamaKind,
}

impl AnswerShape {
    /// One answer line with this text, thinking and tool calls (`done: false`).
    fn line(&self, content: &str, thinking: &str, tool_calls: Option<Vec<Value>>) -> Value {
        let mut line = Map::new();
        line.insert("model".into(), Value::String(self.model.clone()));
        line.insert("created_at".into(), Value::String(now_rfc3339()));
        match self.kind {
            OllamaKind::Chat => {
                let mut message = json!({"role": "assistant", "content": content});
                if !thinking.is_empty() {
                    message["thinking"] = Value::String(thinking.to_owned());
                }
                if let Some(calls) = tool_calls {
                    message["tool_calls"] = Value::Array(calls);
                }
                line.insert("message".into(), message);
            }
            OllamaKind::Generate => {
                line.insert("response".into(), Value::String(content.to_owned()));
                if !thinking.is_empty() {
                    line.insert("thinking".into(), Value::String(thinking.to_owned()));
                }
            }
        }
        line.insert("done".into(), Value::Bool(false));
        Value::Object(line)
    }

    /// The whole answer of a request with nothing to generate: Ollama loads the model and
    /// says so (`done_reason: "load"`).
    pub fn load_answer(&self) -> Value {
        let mut line = self.line("", "", None);
        line["done"] = Value::Bool(true);
        line["done_reason"] = json!("load");
        line
    }
}

/// Now, as Ollama writes `created_at`.
fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Nanoseconds of `d`, as Ollama counts durations.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Translates Responses events into Ollama answer lines. Feed every event to
/// [`push_sse`](Self::push_sse), call [`finish`](Self::finish) when the upstream ends; an
/// `Err` means the answer failed or was cut (send `{"error": …}` as the last line).
#[derive(Debug)]
pub struct OllamaStreamTranslator {
    inner: ChatStreamTranslator,
    shape: AnswerShape,
    started: Instant,
    first_output: Option<Instant>,
    /// Tool calls as they come.
    calls: ToolCallDeltas,
    done_reason: Option<&'static str>,
}

impl OllamaStreamTranslator {
    /// A translator for one answer to a request that arrived at `started`.
    pub fn new(shape: AnswerShape, started: Instant) -> Self {
        Self {
            inner: ChatStreamTranslator::new(ChatStreamOptions {
                model: shape.model.clone(),
                include_usage: true,
                include_reasoning: true,
            }),
            shape,
            started,
            first_output: None,
            calls: ToolCallDeltas::default(),
            done_reason: None,
        }
    }

    /// True once the response completed, was incomplete or failed.
    pub fn is_ended(&self) -> bool {
        self.inner.is_ended()
    }

    /// The answer lines for one upstream event.
    pub fn push_sse(&mut self, event: &SseEvent) -> Result<Vec<Value>, StreamError> {
        let chunks = self.inner.push_sse(event)?;
        Ok(self.lines(chunks))
    }

    /// Call when the upstream ends: `Err(StreamError::Truncated)` unless the answer ended.
    pub fn finish(&mut self) -> Result<Vec<Value>, StreamError> {
        let chunks = self.inner.finish()?;
        Ok(self.lines(chunks))
    }

    /// Reshapes chat chunks into answer lines.
    fn lines(&mut self, chunks: Vec<Value>) -> Vec<Value> {
        let mut out = Vec::new();
        for chunk in chunks {
            let Some(choice) = chunk.pointer("/choices/0") else {
                if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
                    out.push(self.last_line(usage));
                }
                continue;
            };
            let delta = &choice["delta"];
            let text = |k: &str| delta.get(k).and_then(Value::as_str).unwrap_or("");
            let content = format!("{}{}", text("content"), text("refusal"));
            let thinking = text("reasoning_content");
            if !content.is_empty() || !thinking.is_empty() {
                self.first_output.get_or_insert_with(Instant::now);
                out.push(self.shape.line(&content, thinking, None));
            }
            for call in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.first_output.get_or_insert_with(Instant::now);
                self.calls.note(call);
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.done_reason = Some(if reason == "length" { "length" } else { "stop" });
                if !self.calls.is_empty() {
                    let calls = self.tool_calls();
                    out.push(self.shape.line("", "", Some(calls)));
                }
            }
        }
        out
    }

    /// The tool calls in Ollama's shape, arguments parsed into an object.
    fn tool_calls(&self) -> Vec<Value> {
        self.calls
            .0
            .iter()
            .enumerate()
            .map(|(index, (id, name, arguments))| {
                let arguments = match serde_json::from_str::<Value>(arguments) {
                    Ok(v @ Value::Object(_)) => v,
                    _ if arguments.trim().is_empty() => json!({}),
                    _ => Value::String(arguments.clone()),
                };
                json!({"id": id, "function": {"index": index, "name": name, "arguments": arguments}})
            })
            .collect()
    }

    /// The last line: `done`, why, the token counts and the durations.
    fn last_line(&self, usage: &Value) -> Value {
        let now = Instant::now();
        let first = self.first_output.unwrap_or(now);
        let count = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
        let mut line = self.shape.line("", "", None);
        line["done"] = Value::Bool(true);
        line["done_reason"] = json!(self.done_reason.unwrap_or("stop"));
        line["total_duration"] = json!(nanos(now - self.started));
        line["load_duration"] = json!(0);
        line["prompt_eval_count"] = json!(count("prompt_tokens"));
        line["prompt_eval_duration"] = json!(nanos(first - self.started));
        line["eval_count"] = json!(count("completion_tokens"));
        line["eval_duration"] = json!(nanos(now - first));
        line
    }
}

/// Lines as NDJSON.
fn ndjson(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Ollama's error line for an OpenAI error body.
pub(super) fn error_line(body: &Value) -> String {
    let message = body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("the answer failed");
    format!("{}\n", json!({ "error": message }))
}

impl StreamTranslation for OllamaStreamTranslator {
    fn chunk(&mut self, _raw: Bytes, events: &[SseEvent]) -> Translated {
        Translated::from_events(
            self,
            events,
            |t, ev| {
                t.push_sse(ev)
                    .map(|lines| ndjson(&lines))
                    .map_err(|e| error_line(&e.error_body()))
            },
            Self::is_ended,
            "",
        )
    }

    fn end(&mut self) -> Option<Bytes> {
        let text = match self.finish() {
            Ok(lines) => ndjson(&lines),
            Err(e) => error_line(&e.error_body()),
        };
        (!text.is_empty()).then(|| Bytes::from(text))
    }

    fn fail(&self, body: &Value) -> Bytes {
        Bytes::from(error_line(body))
    }
}

/// Streams a Responses answer as Ollama's NDJSON lines, ending in the `done` line or in an
/// `{"error": …}` line when the upstream fails, is cut or stalls.
pub fn stream(
    resp: reqwest::Response,
    translator: OllamaStreamTranslator,
    idle: Duration,
) -> Response {
    stream_translated_as(resp, Box::new(translator), idle, NDJSON)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::fixtures::{TEXT_STREAM, decode_all, failed_stream};
    use crate::proxy::sse::encode_json;
    use crate::proxy::upstream::AnswerState;

    fn shape(kind: OllamaKind) -> AnswerShape {
        AnswerShape {
            model: "gpt-5.5:latest".into(),
            kind,
        }
    }

    fn run(events: &[SseEvent], kind: OllamaKind) -> (Vec<Value>, Result<(), StreamError>) {
        let mut t = OllamaStreamTranslator::new(shape(kind), Instant::now());
        let mut lines = Vec::new();
        for ev in events {
            match t.push_sse(ev) {
                Ok(l) => lines.extend(l),
                Err(e) => return (lines, Err(e)),
            }
        }
        let end = t.finish().map(|l| lines.extend(l));
        (lines, end)
    }

    #[test]
    fn chat_text_with_thinking_then_done() {
        let (lines, end) = run(&decode_all(TEXT_STREAM.as_bytes()), OllamaKind::Chat);
        end.unwrap();
        let thinking: String = lines
            .iter()
            .filter_map(|l| l["message"]["thinking"].as_str())
            .collect();
        let content: String = lines
            .iter()
            .filter_map(|l| l["message"]["content"].as_str())
            .collect();
        assert_eq!(thinking, "**Greeting** the user");
        assert_eq!(content, "Hello, wörld 👋");
        let last = lines.last().unwrap();
        assert_eq!(last["done"], true);
        assert_eq!(last["done_reason"], "stop");
        assert_eq!(last["model"], "gpt-5.5:latest");
        assert_eq!(last["prompt_eval_count"], 120);
        assert_eq!(last["eval_count"], 30);
        assert!(
            last["total_duration"].as_u64().unwrap() >= last["eval_duration"].as_u64().unwrap()
        );
        assert!(lines[..lines.len() - 1].iter().all(|l| l["done"] == false));
    }

    #[test]
    fn generate_lines_carry_response() {
        let (lines, end) = run(&decode_all(TEXT_STREAM.as_bytes()), OllamaKind::Generate);
        end.unwrap();
        let text: String = lines
            .iter()
            .filter_map(|l| l["response"].as_str())
            .collect();
        assert_eq!(text, "Hello, wörld 👋");
        assert!(lines.iter().all(|l| l.get("message").is_none()));
    }

    #[test]
    fn tool_calls_go_out_whole_with_object_arguments() {
        let events = [
            json!({"type": "response.created", "response": {"id": "resp_t"}}),
            json!({"type": "response.output_item.added", "output_index": 0,
                   "item": {"id": "fc_1", "type": "function_call", "call_id": "call_a", "name": "weather", "arguments": ""}}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "{\"city\":"}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "\"Paris\"}"}),
            json!({"type": "response.completed", "response": {"id": "resp_t", "output": [],
                   "usage": {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}}}),
        ];
        let events: Vec<SseEvent> = events
            .iter()
            .flat_map(|e| decode_all(encode_json(None, e).as_bytes()))
            .collect();
        let (lines, end) = run(&events, OllamaKind::Chat);
        end.unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0]["message"]["tool_calls"],
            json!([{"id": "call_a", "function": {"index": 0, "name": "weather", "arguments": {"city": "Paris"}}}])
        );
        assert_eq!(lines[1]["done"], true);
        assert_eq!(lines[1]["eval_count"], 7);
    }

    #[test]
    fn failed_and_cut_streams_end_in_an_error_line() {
        let failed: String = failed_stream()
            .iter()
            .map(|e| encode_json(None, e))
            .collect();
        let mut t = OllamaStreamTranslator::new(shape(OllamaKind::Chat), Instant::now());
        let Translated { out, state } = t.chunk(Bytes::new(), &decode_all(failed.as_bytes()));
        assert_eq!(state, AnswerState::Failed);
        let wire = String::from_utf8(out.unwrap().to_vec()).unwrap();
        let last: Value = serde_json::from_str(wire.lines().last().unwrap()).unwrap();
        assert!(
            last["error"].as_str().unwrap().contains("context window"),
            "{wire}"
        );

        let cut = &TEXT_STREAM[..TEXT_STREAM.find("event: response.completed").unwrap()];
        let mut t = OllamaStreamTranslator::new(shape(OllamaKind::Chat), Instant::now());
        let Translated { state, .. } = t.chunk(Bytes::new(), &decode_all(cut.as_bytes()));
        assert_eq!(state, AnswerState::Open);
        let last = String::from_utf8(t.end().unwrap().to_vec()).unwrap();
        let last: Value = serde_json::from_str(last.trim()).unwrap();
        assert!(last["error"].as_str().unwrap().contains("closed"), "{last}");
    }
}
