//! A whole Ollama answer (`"stream": false`): the answer lines of
//! [`OllamaStreamTranslator`] folded into one object, the text, thinking and tool calls
//! joined into the last line.

use super::request::OllamaKind;
use super::stream::OllamaStreamTranslator;
use crate::proxy::dialects::events::read_answer;
use crate::proxy::errors::{ProxyError, StreamError};
use crate::proxy::sse::SseEvent;
use crate::proxy::upstream::json_answer;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use std::time::Duration;

/// Folds answer lines into one whole answer.
#[derive(Debug)]
pub struct OllamaAssembler {
    lines: OllamaStreamTranslator,
    kind: OllamaKind,
    content: String,
    thinking: String,
    tool_calls: Vec<Value>,
    last: Option<Value>,
}

impl OllamaAssembler {
    /// An assembler over `lines` for a `kind` answer.
    pub fn new(lines: OllamaStreamTranslator, kind: OllamaKind) -> Self {
        Self {
            lines,
            kind,
            content: String::new(),
            thinking: String::new(),
            tool_calls: Vec::new(),
            last: None,
        }
    }

    /// Feeds one upstream event.
    pub fn push_sse(&mut self, event: &SseEvent) -> Result<(), StreamError> {
        let lines = self.lines.push_sse(event)?;
        self.absorb(lines);
        Ok(())
    }

    /// The whole answer, or why there is none (the stream failed or was cut).
    pub fn finish(mut self) -> Result<Value, StreamError> {
        let lines = self.lines.finish()?;
        self.absorb(lines);
        let mut last = self.last.take().ok_or(StreamError::Truncated)?;
        match self.kind {
            OllamaKind::Chat => {
                let message = &mut last["message"];
                message["content"] = Value::String(self.content);
                if !self.thinking.is_empty() {
                    message["thinking"] = Value::String(self.thinking);
                }
                if !self.tool_calls.is_empty() {
                    message["tool_calls"] = Value::Array(self.tool_calls);
                }
            }
            OllamaKind::Generate => {
                last["response"] = Value::String(self.content);
                if !self.thinking.is_empty() {
                    last["thinking"] = Value::String(self.thinking);
                }
            }
        }
        Ok(last)
    }

    fn absorb(&mut self, lines: Vec<Value>) {
        for line in lines {
            let part = match self.kind {
                OllamaKind::Chat => &line["message"],
                OllamaKind::Generate => &line,
            };
            let text_key = match self.kind {
                OllamaKind::Chat => "content",
                OllamaKind::Generate => "response",
            };
            if let Some(t) = part.get(text_key).and_then(Value::as_str) {
                self.content.push_str(t);
            }
            if let Some(t) = part.get("thinking").and_then(Value::as_str) {
                self.thinking.push_str(t);
            }
            if let Some(calls) = part.get("tool_calls").and_then(Value::as_array) {
                self.tool_calls.extend(calls.iter().cloned());
            }
            if line["done"] == true {
                self.last = Some(line);
            }
        }
    }
}

/// A whole Ollama answer from a Responses stream, with the backend's headers that go back
/// to the client.
pub async fn collect(
    resp: reqwest::Response,
    lines: OllamaStreamTranslator,
    kind: OllamaKind,
    idle: Duration,
) -> Result<Response, ProxyError> {
    let headers = resp.headers().clone();
    let mut assembler = OllamaAssembler::new(lines, kind);
    read_answer(resp, idle, |ev| assembler.push_sse(ev)).await?;
    let value = assembler.finish()?;
    Ok(json_answer(StatusCode::OK, &value, &headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::dialects::ollama::stream::AnswerShape;
    use crate::proxy::fixtures::{TEXT_STREAM, decode_all, failed_stream};
    use crate::proxy::sse::encode_json;
    use std::time::Instant;

    fn assemble(bytes: &[u8], kind: OllamaKind) -> Result<Value, StreamError> {
        let shape = AnswerShape {
            model: "m".into(),
            kind,
        };
        let mut a = OllamaAssembler::new(OllamaStreamTranslator::new(shape, Instant::now()), kind);
        for ev in decode_all(bytes) {
            a.push_sse(&ev)?;
        }
        a.finish()
    }

    #[test]
    fn whole_chat_and_generate_answers() {
        let chat = assemble(TEXT_STREAM.as_bytes(), OllamaKind::Chat).unwrap();
        assert_eq!(chat["message"]["role"], "assistant");
        assert_eq!(chat["message"]["content"], "Hello, wörld 👋");
        assert_eq!(chat["message"]["thinking"], "**Greeting** the user");
        assert_eq!(chat["done"], true);
        assert_eq!(chat["done_reason"], "stop");
        assert_eq!(chat["eval_count"], 30);
        let generate = assemble(TEXT_STREAM.as_bytes(), OllamaKind::Generate).unwrap();
        assert_eq!(generate["response"], "Hello, wörld 👋");
        assert_eq!(generate["thinking"], "**Greeting** the user");
    }

    #[test]
    fn cut_or_failed_streams_have_no_answer() {
        let cut = &TEXT_STREAM[..TEXT_STREAM.find("event: response.completed").unwrap()];
        assert_eq!(
            assemble(cut.as_bytes(), OllamaKind::Chat),
            Err(StreamError::Truncated)
        );
        let failed: String = failed_stream()
            .iter()
            .map(|e| encode_json(None, e))
            .collect();
        let e = assemble(failed.as_bytes(), OllamaKind::Chat).unwrap_err();
        assert_eq!(e.status_code(), 400);
    }
}
