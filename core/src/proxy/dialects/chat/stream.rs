//! A Responses stream translated into Chat Completions chunks as it comes
//! ([`ChatStreamTranslator`]), and relayed to the client that way ([`stream()`]).

use super::chunks::Chunks;
use super::items::{ItemRef, ItemSet, ToolCalls};
use crate::proxy::dialects::events::{event_json, failure};
use crate::proxy::errors::StreamError;
use crate::proxy::sse::{DONE_EVENT, SseEvent, encode_json};
use crate::proxy::upstream::{StreamTranslation, Translated, stream_translated};
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{Value, json};
use std::time::Duration;

/// How the chat answer is shaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatStreamOptions {
    /// The model the client asked for; used until (unless) the upstream names its own.
    pub model: String,
    /// Send a final usage chunk (`choices: []`) and `usage: null` on the others.
    pub include_usage: bool,
    /// Send reasoning summary (and reasoning text) deltas as `delta.reasoning_content`.
    pub include_reasoning: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Ended,
}

/// Translates Responses stream events into OpenAI `chat.completion.chunk` objects.
///
/// Feed every upstream event to [`push`](Self::push) (or [`push_sse`](Self::push_sse)) and
/// write each returned chunk with [`encode_json`]; at upstream end call
/// [`finish`](Self::finish), then write [`DONE_EVENT`]. Any `Err` means the answer is broken
/// or cut: write its [`StreamError::error_body`] as the last event instead of `[DONE]`.
/// Once ended (completed, incomplete or failed), further calls return no chunks.
///
/// Every chunk has the same `id` (`chatcmpl-` + the response id without `resp_`), `created`
/// and `model`. The first chunk carries `delta.role`. Function calls become `tool_calls`
/// deltas, indexed in order of appearance, with `id`, `type` and `function.name` on their
/// first delta. `finish_reason` is `tool_calls` when a function was called, else `stop`;
/// `length` (or `content_filter`) for `response.incomplete`.
#[derive(Debug)]
pub struct ChatStreamTranslator {
    include_reasoning: bool,
    chunks: Chunks,
    state: State,
    tools: ToolCalls,
    text_items: ItemSet,
    done_items: ItemSet,
    reasoning_key: Option<String>,
}

impl ChatStreamTranslator {
    /// A translator for one response.
    pub fn new(opts: ChatStreamOptions) -> Self {
        Self {
            include_reasoning: opts.include_reasoning,
            chunks: Chunks::new(opts.model, opts.include_usage),
            state: State::Running,
            tools: ToolCalls::default(),
            text_items: ItemSet::default(),
            done_items: ItemSet::default(),
            reasoning_key: None,
        }
    }

    /// True once the response completed, was incomplete or failed.
    pub fn is_ended(&self) -> bool {
        self.state == State::Ended
    }

    /// Translates one SSE event (its data parsed as JSON; `[DONE]` is ignored).
    pub fn push_sse(&mut self, event: &SseEvent) -> Result<Vec<Value>, StreamError> {
        match event_json(event) {
            Ok(Some(v)) => self.push(&v),
            Ok(None) => Ok(Vec::new()),
            Err(e) => {
                self.state = State::Ended;
                Err(e)
            }
        }
    }

    /// Translates one Responses event into zero or more chunks.
    pub fn push(&mut self, event: &Value) -> Result<Vec<Value>, StreamError> {
        let mut out = Vec::new();
        if self.state == State::Ended {
            return Ok(out);
        }
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "response.created" | "response.in_progress" => {
                self.chunks.note_response(event.get("response"));
                if kind == "response.created" {
                    self.chunks.ensure_role(&mut out);
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                let delta = event.get("delta").and_then(Value::as_str).unwrap_or("");
                let item = ItemRef::of_event(event);
                if !self.text_items.contains(&item) {
                    self.text_items.insert(&item);
                }
                if !delta.is_empty() {
                    let key = if kind == "response.output_text.delta" {
                        "content"
                    } else {
                        "refusal"
                    };
                    self.chunks.emit(&mut out, json!({ key: delta }), None);
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta"
                if self.include_reasoning =>
            {
                let delta = event.get("delta").and_then(Value::as_str).unwrap_or("");
                if !delta.is_empty() {
                    let part = event
                        .get("summary_index")
                        .or_else(|| event.get("content_index"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                    let item = ItemRef::of_event(event);
                    let key = format!("{kind}:{:?}:{:?}:{part}", item.id, item.index);
                    let mut text = String::new();
                    if self.reasoning_key.as_ref().is_some_and(|k| *k != key) {
                        text.push_str("\n\n");
                    }
                    self.reasoning_key = Some(key);
                    text.push_str(delta);
                    self.chunks
                        .emit(&mut out, json!({ "reasoning_content": text }), None);
                }
            }
            "response.output_item.added" => {
                if let Some(item) = event.get("item")
                    && item.get("type").and_then(Value::as_str) == Some("function_call")
                {
                    let r =
                        ItemRef::of_item(item, event.get("output_index").and_then(Value::as_u64));
                    if self.tools.find(&r, item).is_none() {
                        let d = self.tools.start(&r, item);
                        self.chunks.emit(&mut out, d, None);
                    }
                }
            }
            "response.function_call_arguments.delta" => {
                let r = ItemRef::of_event(event);
                let delta = event.get("delta").and_then(Value::as_str).unwrap_or("");
                if !delta.is_empty()
                    && let Some(d) = self.tools.arguments(&r, delta)
                {
                    self.chunks.emit(&mut out, d, None);
                }
            }
            "response.output_item.done" => {
                if let Some(item) = event.get("item") {
                    let index = event.get("output_index").and_then(Value::as_u64);
                    self.item_done(&mut out, item, index);
                }
            }
            "response.completed" | "response.incomplete" => {
                let response = event.get("response");
                self.chunks.note_response(response);
                if let Some(items) = response
                    .and_then(|r| r.get("output"))
                    .and_then(Value::as_array)
                {
                    for (i, item) in items.iter().enumerate() {
                        self.item_done(&mut out, item, Some(i as u64));
                    }
                }
                let finish = if kind == "response.incomplete" {
                    match response
                        .and_then(|r| r.pointer("/incomplete_details/reason"))
                        .and_then(Value::as_str)
                    {
                        Some("content_filter") => "content_filter",
                        _ => "length",
                    }
                } else if self.tools.is_empty() {
                    "stop"
                } else {
                    "tool_calls"
                };
                self.chunks.emit(&mut out, json!({}), Some(finish));
                out.extend(self.chunks.usage(response.and_then(|r| r.get("usage"))));
                self.state = State::Ended;
            }
            "response.failed" | "error" => {
                self.state = State::Ended;
                return Err(failure(event));
            }
            _ => {}
        }
        Ok(out)
    }

    /// Call when the upstream stream ends: `Err(StreamError::Truncated)` unless the response
    /// completed (or was incomplete, or already failed).
    pub fn finish(&mut self) -> Result<Vec<Value>, StreamError> {
        if self.state == State::Ended {
            Ok(Vec::new())
        } else {
            self.state = State::Ended;
            Err(StreamError::Truncated)
        }
    }

    /// A finished output item: sends what its deltas did not.
    fn item_done(&mut self, out: &mut Vec<Value>, item: &Value, index: Option<u64>) {
        let r = ItemRef::of_item(item, index);
        if self.done_items.contains(&r) {
            return;
        }
        match item.get("type").and_then(Value::as_str) {
            Some("message") if !self.text_items.contains(&r) => {
                let (text, refusal) = message_texts(item);
                if !text.is_empty() {
                    self.chunks.emit(out, json!({ "content": text }), None);
                }
                if !refusal.is_empty() {
                    self.chunks.emit(out, json!({ "refusal": refusal }), None);
                }
            }
            Some("function_call") => {
                if let Some(d) = self.tools.done(&r, item) {
                    self.chunks.emit(out, d, None);
                }
            }
            _ => {}
        }
        self.done_items.insert(&r);
    }
}

impl StreamTranslation for ChatStreamTranslator {
    fn chunk(&mut self, _raw: Bytes, events: &[SseEvent]) -> Translated {
        Translated::from_events(
            self,
            events,
            |t, ev| match t.push_sse(ev) {
                Ok(chunks) => Ok(chunks.iter().map(|c| encode_json(None, c)).collect()),
                Err(e) => Err(encode_json(None, &e.error_body())),
            },
            Self::is_ended,
            DONE_EVENT,
        )
    }

    fn end(&mut self) -> Option<Bytes> {
        Some(match self.finish() {
            Ok(chunks) => {
                let mut out: String = chunks.iter().map(|c| encode_json(None, c)).collect();
                out.push_str(DONE_EVENT);
                Bytes::from(out)
            }
            Err(e) => self.fail(&e.error_body()),
        })
    }

    fn fail(&self, body: &Value) -> Bytes {
        Bytes::from(encode_json(None, body))
    }
}

/// Streams a Responses answer as Chat Completions chunks ending in `data: [DONE]`, or in an
/// error event when the upstream fails, is cut or stalls.
pub fn stream(resp: reqwest::Response, opts: ChatStreamOptions, idle: Duration) -> Response {
    stream_translated(resp, Box::new(ChatStreamTranslator::new(opts)), idle)
}

/// Text of a message item's `output_text` parts and of its `refusal` parts.
fn message_texts(item: &Value) -> (String, String) {
    let mut text = String::new();
    let mut refusal = String::new();
    for part in item
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match part.get("type").and_then(Value::as_str) {
            Some("output_text") | Some("text") => {
                text.push_str(part.get("text").and_then(Value::as_str).unwrap_or(""));
            }
            Some("refusal") => {
                refusal.push_str(part.get("refusal").and_then(Value::as_str).unwrap_or(""));
            }
            _ => {}
        }
    }
    (text, refusal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::dialects::chat::fixtures::{
        deltas, finish_reasons, incomplete_stream, opts, translate,
    };
    use crate::proxy::fixtures::{
        TEXT_STREAM, decode_all, events_of, failed_stream, garbage_events,
    };
    use crate::proxy::sse::SseDecoder;
    use crate::proxy::upstream::AnswerState;

    #[test]
    fn text_stream_without_usage_or_with_reasoning() {
        let (chunks, end) = translate(&events_of(TEXT_STREAM), opts(false, false));
        end.unwrap();
        assert_eq!(chunks.len(), 4);
        assert!(chunks.iter().all(|c| c.get("usage").is_none()));

        let (chunks, end) = translate(&events_of(TEXT_STREAM), opts(false, true));
        end.unwrap();
        assert_eq!(
            deltas(&chunks),
            [
                json!({"role": "assistant", "content": ""}),
                json!({"reasoning_content": "**Greeting** the user"}),
                json!({"content": "Hello"}),
                json!({"content": ", wörld 👋"}),
                json!({}),
            ]
        );
    }

    #[test]
    fn reasoning_summary_parts_are_separated() {
        let events = [
            json!({"type": "response.created", "response": {"id": "resp_r", "created_at": 3, "model": "gpt-5.5"}}),
            json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "First"}),
            json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": " part."}),
            json!({"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0, "summary_index": 1}),
            json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 1, "delta": ""}),
            json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 1, "delta": "Second."}),
            json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 1, "delta": "Answer"}),
            json!({"type": "response.completed", "response": {"id": "resp_r", "output": []}}),
        ];
        let (chunks, end) = translate(&events, opts(false, true));
        end.unwrap();
        assert_eq!(
            deltas(&chunks)[1..4],
            [
                json!({"reasoning_content": "First"}),
                json!({"reasoning_content": " part."}),
                json!({"reasoning_content": "\n\nSecond."}),
            ]
        );
        let (chunks, _) = translate(&events, opts(false, false));
        assert!(
            chunks
                .iter()
                .all(|c| c["choices"][0]["delta"].get("reasoning_content").is_none())
        );
    }

    #[test]
    fn bytes_to_chunks_is_independent_of_chunking() {
        let bytes = TEXT_STREAM.as_bytes();
        let run = |pieces: &[&[u8]]| {
            let mut d = SseDecoder::new();
            let mut t = ChatStreamTranslator::new(opts(true, true));
            let mut out = String::new();
            for p in pieces {
                for ev in d.feed(p).unwrap() {
                    for c in t.push_sse(&ev).unwrap() {
                        out.push_str(&encode_json(None, &c));
                    }
                }
            }
            t.finish().unwrap();
            out.push_str(DONE_EVENT);
            out
        };
        let whole = run(&[bytes]);
        assert!(whole.ends_with("data: {\"id\":\"chatcmpl-0a1b2c\",\"object\":\"chat.completion.chunk\",\"created\":1777000000,\"model\":\"gpt-5.5\",\"choices\":[],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":30,\"total_tokens\":150,\"prompt_tokens_details\":{\"cached_tokens\":64},\"completion_tokens_details\":{\"reasoning_tokens\":12}}}\n\ndata: [DONE]\n\n"));
        for split in (0..bytes.len()).step_by(7) {
            assert_eq!(run(&[&bytes[..split], &bytes[split..]]), whole);
        }
    }

    #[test]
    fn incomplete_stream_finishes_with_length() {
        let (chunks, end) = translate(&incomplete_stream(), opts(true, false));
        end.unwrap();
        assert_eq!(
            deltas(&chunks),
            [
                json!({"role": "assistant", "content": ""}),
                json!({"content": "Once upon a"}),
                json!({})
            ]
        );
        assert_eq!(finish_reasons(&chunks), [json!("length")]);
        assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 16);
    }

    #[test]
    fn dropped_stream_is_an_error() {
        let mut events = events_of(TEXT_STREAM);
        events.pop(); // no response.completed
        let (chunks, end) = translate(&events, opts(true, false));
        assert_eq!(end, Err(StreamError::Truncated));
        // What was streamed so far was sent, but no finish_reason and no usage.
        assert!(finish_reasons(&chunks).is_empty());
        assert!(chunks.iter().all(|c| c["usage"].is_null()));
        let e = StreamError::Truncated;
        assert_eq!(e.status_code(), 502);
        assert_eq!(e.error_body()["error"]["code"], "stream_truncated");
        assert_eq!(e.error_body()["error"]["type"], "server_error");
    }

    #[test]
    fn failed_response_is_an_error() {
        let (chunks, end) = translate(&failed_stream(), opts(true, false));
        let err = end.unwrap_err();
        assert_eq!(
            err,
            StreamError::Failed {
                code: Some("context_length_exceeded".into()),
                message: "Your input exceeds the context window of this model.".into()
            }
        );
        assert_eq!(chunks.len(), 1); // just the role chunk
        assert_eq!(err.status_code(), 400);
        assert_eq!(
            err.error_body(),
            json!({"error": {
                "message": "upstream response failed (context_length_exceeded): Your input exceeds the context window of this model.",
                "type": "invalid_request_error", "code": "context_length_exceeded", "param": null}})
        );
    }

    #[test]
    fn error_events_are_errors() {
        let mut t = ChatStreamTranslator::new(opts(false, false));
        let e = t
            .push(&json!({"type": "error", "code": "rate_limit_exceeded", "message": "Rate limit reached. Please try again in 20s.", "param": null}))
            .unwrap_err();
        assert_eq!(e.status_code(), 429);
        assert_eq!(e.error_body()["error"]["type"], "rate_limit_error");
        assert!(t.is_ended());
        assert_eq!(t.finish(), Ok(vec![]));

        let mut t = ChatStreamTranslator::new(opts(false, false));
        let e = t
            .push(&json!({"type": "error", "error": {"type": "server_is_overloaded", "message": "busy"}}))
            .unwrap_err();
        assert_eq!(e.status_code(), 503);

        let mut t = ChatStreamTranslator::new(opts(false, false));
        let bad = SseEvent {
            event: None,
            data: "{not json".into(),
            id: None,
        };
        assert!(matches!(t.push_sse(&bad), Err(StreamError::BadEvent(_))));
    }

    #[test]
    fn events_after_the_end_are_ignored() {
        let mut events = events_of(TEXT_STREAM);
        events.push(
            json!({"type": "response.output_text.delta", "item_id": "msg_1", "delta": "late"}),
        );
        let (chunks, end) = translate(&events, opts(false, false));
        end.unwrap();
        assert_eq!(chunks.len(), 4);
    }

    #[test]
    fn garbage_events_never_panic() {
        let (_, end) = translate(&garbage_events(), opts(true, true));
        end.unwrap();
    }

    #[test]
    fn relayed_chunks_end_in_done_or_in_an_error_event() {
        let bytes = Bytes::from_static(TEXT_STREAM.as_bytes());
        let mut t = ChatStreamTranslator::new(opts(false, false));
        let Translated { out, state } = t.chunk(bytes.clone(), &decode_all(&bytes));
        assert_eq!(state, AnswerState::Complete);
        let wire = String::from_utf8(out.unwrap().to_vec()).unwrap();
        assert!(
            wire.starts_with("data: {\"id\":\"chatcmpl-0a1b2c\""),
            "{wire}"
        );
        assert!(wire.ends_with("\n\ndata: [DONE]\n\n"), "{wire}");

        // Cut before response.completed: the last event is the error, never [DONE].
        let cut = &TEXT_STREAM[..TEXT_STREAM.find("event: response.completed").unwrap()];
        let mut t = ChatStreamTranslator::new(opts(false, false));
        let Translated { state, .. } = t.chunk(Bytes::new(), &decode_all(cut.as_bytes()));
        assert_eq!(state, AnswerState::Open);
        let last = String::from_utf8(t.end().unwrap().to_vec()).unwrap();
        assert!(last.contains("\"code\":\"stream_truncated\""), "{last}");
        assert!(!last.contains("[DONE]"));

        // A failed response ends the answer at once with its error.
        let failed: String = failed_stream()
            .iter()
            .map(|e| encode_json(None, e))
            .collect();
        let mut t = ChatStreamTranslator::new(opts(false, false));
        let Translated { out, state } = t.chunk(Bytes::new(), &decode_all(failed.as_bytes()));
        assert_eq!(state, AnswerState::Failed);
        let wire = String::from_utf8(out.unwrap().to_vec()).unwrap();
        assert!(
            wire.ends_with("\"code\":\"context_length_exceeded\",\"param\":null}}\n\n"),
            "{wire}"
        );
    }
}
