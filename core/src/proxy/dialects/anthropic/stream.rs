//! The backend's Responses stream translated into Anthropic's Messages events as it comes:
//! `message_start`, then per content block `content_block_start` (the first followed by a
//! `ping`, where Anthropic sends it), its
//! `content_block_delta`s (`text_delta`, `input_json_delta`, `thinking_delta`,
//! `signature_delta`) and `content_block_stop`, then `message_delta` (stop reason, usage)
//! and `message_stop`. A failed, cut or stalled upstream ends the stream with an `error`
//! event, never with `message_stop`.
//!
//! Stop sequences are emulated: text that could begin one is held back until it can't, and
//! at a stop sequence the answer ends (`stop_reason: "stop_sequence"`).

use super::errors::error_event;
use super::thinking::signature_for;
use crate::proxy::dialects::events::{event_json, failure};
use crate::proxy::errors::StreamError;
use crate::proxy::sse::{SseEvent, encode_json};
use crate::proxy::upstream::{StreamTranslation, Translated, stream_translated};
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

/// One Messages event: its name and its data.
pub type MessagesEvent = (&'static str, Value);

/// What shapes a translated answer.
#[derive(Debug, Clone, Default)]
pub struct MessagesStreamOptions {
    /// The model the client asked for (every answer names it).
    pub model: String,
    /// Reasoning comes back as `thinking` blocks.
    pub thinking: bool,
    /// The answer ends at the first of these.
    pub stop_sequences: Vec<String>,
}

/// What kind of block is open.
#[derive(Debug, PartialEq)]
enum Kind {
    Text,
    Thinking { summary_index: Option<u64> },
    Tool { args_sent: bool },
}

/// The content block being written.
#[derive(Debug)]
struct OpenBlock {
    /// The upstream item it comes from.
    key: String,
    index: u32,
    kind: Kind,
}

/// Translates one Responses stream into Messages events.
#[derive(Debug)]
pub struct MessagesStreamTranslator {
    opts: MessagesStreamOptions,
    started: bool,
    ended: bool,
    next_index: u32,
    open: Option<OpenBlock>,
    /// Upstream items whose block was written and closed.
    closed: HashSet<String>,
    /// Text held back because it may begin a stop sequence.
    held: String,
    saw_tool: bool,
}

/// The key of an upstream item: its id, else its output index.
fn item_key(id: Option<&Value>, index: Option<&Value>) -> String {
    match (id.and_then(Value::as_str), index.and_then(Value::as_u64)) {
        (Some(id), _) if !id.is_empty() => id.to_owned(),
        (_, Some(i)) => format!("#{i}"),
        _ => "#".to_owned(),
    }
}

impl MessagesStreamTranslator {
    /// A translator for one answer.
    pub fn new(opts: MessagesStreamOptions) -> Self {
        Self {
            opts,
            started: false,
            ended: false,
            next_index: 0,
            open: None,
            closed: HashSet::new(),
            held: String::new(),
            saw_tool: false,
        }
    }

    /// Whether the answer is over (ended, stopped at a stop sequence, or failed).
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Feeds one SSE event of the upstream.
    pub fn push_sse(&mut self, ev: &SseEvent) -> Result<Vec<MessagesEvent>, StreamError> {
        match event_json(ev)? {
            Some(v) => self.push(&v),
            None => Ok(Vec::new()),
        }
    }

    /// Feeds one Responses event; returns the Messages events it gives.
    pub fn push(&mut self, event: &Value) -> Result<Vec<MessagesEvent>, StreamError> {
        let mut out = Vec::new();
        if self.ended {
            return Ok(out);
        }
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        if matches!(kind, "response.failed" | "error") {
            self.ended = true;
            return Err(failure(event));
        }
        self.start(&mut out, event.get("response"));
        let key = || item_key(event.get("item_id"), event.get("output_index"));
        let delta = event.get("delta").and_then(Value::as_str).unwrap_or("");
        match kind {
            "response.output_item.added" => {
                if let Some(item) = event.get("item")
                    && item.get("type").and_then(Value::as_str) == Some("function_call")
                {
                    let k = item_key(item.get("id"), event.get("output_index"));
                    self.open_tool(&mut out, k, item);
                }
            }
            "response.output_text.delta" if !delta.is_empty() => {
                let k = key();
                if self.ensure_open(&mut out, k, Kind::Text) {
                    self.push_text(&mut out, delta);
                }
            }
            "response.reasoning_summary_text.delta" if self.opts.thinking && !delta.is_empty() => {
                let k = key();
                let index = event.get("summary_index").and_then(Value::as_u64);
                let thinking = Kind::Thinking {
                    summary_index: None,
                };
                if self.ensure_open(&mut out, k, thinking) {
                    self.push_thinking(&mut out, index, delta);
                }
            }
            "response.function_call_arguments.delta" if !delta.is_empty() => {
                let k = key();
                if let Some(open) = &mut self.open
                    && open.key == k
                    && let Kind::Tool { args_sent } = &mut open.kind
                {
                    *args_sent = true;
                    let index = open.index;
                    out.push(block_delta(
                        index,
                        json!({"type": "input_json_delta", "partial_json": delta}),
                    ));
                }
            }
            "response.output_item.done" => {
                if let Some(item) = event.get("item") {
                    self.item_done(&mut out, item, event.get("output_index"));
                }
            }
            "response.completed" | "response.incomplete" => {
                let response = event.get("response");
                for (i, item) in response
                    .and_then(|r| r.get("output"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    self.item_done(&mut out, item, Some(&json!(i)));
                }
                if self.ended {
                    return Ok(out); // stopped at a stop sequence on the way
                }
                self.close(&mut out);
                let stop_reason = if kind == "response.incomplete" {
                    "max_tokens"
                } else if self.saw_tool {
                    "tool_use"
                } else {
                    "end_turn"
                };
                let usage = response.and_then(|r| r.get("usage"));
                self.finish(&mut out, stop_reason, None, usage);
            }
            _ => {}
        }
        Ok(out)
    }

    /// The upstream ended: `Err(StreamError::Truncated)` unless the answer ended.
    pub fn finish_stream(&mut self) -> Result<(), StreamError> {
        if self.ended {
            Ok(())
        } else {
            self.ended = true;
            Err(StreamError::Truncated)
        }
    }

    /// `message_start`, once.
    fn start(&mut self, out: &mut Vec<MessagesEvent>, response: Option<&Value>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = match response.and_then(|r| r.get("id")).and_then(Value::as_str) {
            Some(r) => format!("msg_{}", r.strip_prefix("resp_").unwrap_or(r)),
            None => format!(
                "msg_{:x}",
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
            ),
        };
        out.push((
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": self.opts.model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": 0, "output_tokens": 0}}}),
        ));
    }

    /// Makes the block of item `key` the open one (closing another), unless that item's
    /// block was closed already; whether it is open now.
    fn ensure_open(&mut self, out: &mut Vec<MessagesEvent>, key: String, kind: Kind) -> bool {
        if let Some(open) = &self.open
            && open.key == key
        {
            return true;
        }
        if self.closed.contains(&key) {
            return false;
        }
        let block = match kind {
            Kind::Text => json!({"type": "text", "text": ""}),
            Kind::Thinking { .. } => json!({"type": "thinking", "thinking": "", "signature": ""}),
            Kind::Tool { .. } => return false,
        };
        self.close(out);
        self.open_block(out, key, kind, block);
        true
    }

    fn open_block(&mut self, out: &mut Vec<MessagesEvent>, key: String, kind: Kind, block: Value) {
        let index = self.next_index;
        self.next_index += 1;
        out.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
        if index == 0 {
            // Where Anthropic sends its first ping: after the first block's start.
            out.push(("ping", json!({"type": "ping"})));
        }
        self.open = Some(OpenBlock { key, index, kind });
    }

    /// Opens the `tool_use` block of a function call item.
    fn open_tool(&mut self, out: &mut Vec<MessagesEvent>, key: String, item: &Value) {
        if self.closed.contains(&key) || self.open.as_ref().is_some_and(|o| o.key == key) {
            return;
        }
        self.close(out);
        self.saw_tool = true;
        let id = item
            .get("call_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
        let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
        self.open_block(out, key, Kind::Tool { args_sent: false }, block);
    }

    /// Closes the open block: held-back text first, then `content_block_stop`.
    fn close(&mut self, out: &mut Vec<MessagesEvent>) {
        let Some(open) = self.open.take() else { return };
        if !self.held.is_empty() {
            let text = std::mem::take(&mut self.held);
            out.push(block_delta(
                open.index,
                json!({"type": "text_delta", "text": text}),
            ));
        }
        out.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": open.index}),
        ));
        self.closed.insert(open.key);
    }

    /// Text for the open text block, stop sequences watched.
    fn push_text(&mut self, out: &mut Vec<MessagesEvent>, text: &str) {
        let Some(index) = self.open.as_ref().map(|o| o.index) else {
            return;
        };
        if self.opts.stop_sequences.is_empty() {
            out.push(block_delta(
                index,
                json!({"type": "text_delta", "text": text}),
            ));
            return;
        }
        self.held.push_str(text);
        let hit = self
            .opts
            .stop_sequences
            .iter()
            .filter_map(|s| self.held.find(s.as_str()).map(|at| (at, s.clone())))
            .min_by_key(|(at, _)| *at);
        if let Some((at, seq)) = hit {
            self.held.truncate(at);
            self.close(out);
            self.finish(out, "stop_sequence", Some(&seq), None);
            return;
        }
        let keep = held_back(&self.held, &self.opts.stop_sequences);
        let send: String = self.held.drain(..self.held.len() - keep).collect();
        if !send.is_empty() {
            out.push(block_delta(
                index,
                json!({"type": "text_delta", "text": send}),
            ));
        }
    }

    /// Thinking text for the open thinking block; a new summary part starts a paragraph.
    fn push_thinking(&mut self, out: &mut Vec<MessagesEvent>, part: Option<u64>, text: &str) {
        let Some(open) = &mut self.open else { return };
        let Kind::Thinking { summary_index } = &mut open.kind else {
            return;
        };
        let mut text = text.to_owned();
        if summary_index.is_some() && part.is_some() && *summary_index != part {
            text.insert_str(0, "\n\n");
        }
        if part.is_some() {
            *summary_index = part;
        }
        out.push(block_delta(
            open.index,
            json!({"type": "thinking_delta", "thinking": text}),
        ));
    }

    /// A finished output item: writes what its deltas did not, and closes its block.
    fn item_done(&mut self, out: &mut Vec<MessagesEvent>, item: &Value, index: Option<&Value>) {
        if self.ended {
            return;
        }
        let key = item_key(item.get("id"), index);
        if self.closed.contains(&key) {
            return;
        }
        let is_open = self.open.as_ref().is_some_and(|o| o.key == key);
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                if !is_open {
                    let text = message_text(item);
                    if text.is_empty() {
                        return;
                    }
                    self.ensure_open(out, key.clone(), Kind::Text);
                    self.push_text(out, &text);
                    if self.ended {
                        return;
                    }
                }
                self.close(out);
            }
            Some("reasoning") if self.opts.thinking => {
                let encrypted = item
                    .get("encrypted_content")
                    .and_then(Value::as_str)
                    .filter(|e| !e.is_empty());
                if !is_open {
                    let summary = summary_text(item);
                    if summary.is_empty() && encrypted.is_none() {
                        return;
                    }
                    let thinking = Kind::Thinking {
                        summary_index: None,
                    };
                    self.ensure_open(out, key.clone(), thinking);
                    if !summary.is_empty() {
                        self.push_thinking(out, None, &summary);
                    }
                }
                if let (Some(enc), Some(open)) = (encrypted, &self.open) {
                    out.push(block_delta(
                        open.index,
                        json!({"type": "signature_delta", "signature": signature_for(enc)}),
                    ));
                }
                self.close(out);
            }
            Some("function_call") => {
                if !is_open {
                    self.open_tool(out, key.clone(), item);
                }
                if let Some(open) = &self.open
                    && open.kind == (Kind::Tool { args_sent: false })
                {
                    let args = item
                        .get("arguments")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !args.is_empty() {
                        out.push(block_delta(
                            open.index,
                            json!({"type": "input_json_delta", "partial_json": args}),
                        ));
                    }
                }
                self.close(out);
            }
            _ => {}
        }
    }

    /// `message_delta` and `message_stop`: the answer is over.
    fn finish(
        &mut self,
        out: &mut Vec<MessagesEvent>,
        stop_reason: &str,
        stop_sequence: Option<&str>,
        usage: Option<&Value>,
    ) {
        self.ended = true;
        out.push((
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                   "usage": messages_usage(usage)}),
        ));
        out.push(("message_stop", json!({"type": "message_stop"})));
    }
}

/// A `content_block_delta` event.
fn block_delta(index: u32, delta: Value) -> MessagesEvent {
    (
        "content_block_delta",
        json!({"type": "content_block_delta", "index": index, "delta": delta}),
    )
}

/// How many bytes at the end of `text` may begin a stop sequence (held back until the next
/// text says whether they do), on a character boundary.
fn held_back(text: &str, stops: &[String]) -> usize {
    let mut keep = 0;
    for s in stops {
        let longest = s.len().saturating_sub(1).min(text.len());
        for n in (keep + 1..=longest).rev() {
            let start = text.len() - n;
            if text.is_char_boundary(start) && s.starts_with(&text[start..]) {
                keep = n;
                break;
            }
        }
    }
    keep
}

/// Responses usage in Messages' shape: cached input tokens are `cache_read_input_tokens`,
/// the rest `input_tokens`.
pub(super) fn messages_usage(usage: Option<&Value>) -> Value {
    let n = |p: &str| {
        usage
            .and_then(|u| u.pointer(p))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let input = n("/input_tokens");
    let cached = n("/input_tokens_details/cached_tokens").min(input);
    json!({
        "input_tokens": input - cached,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": n("/output_tokens"),
    })
}

/// The text of a message item's `output_text` parts.
fn message_text(item: &Value) -> String {
    item.get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("output_text"))
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect()
}

/// A reasoning item's summary parts, as paragraphs.
fn summary_text(item: &Value) -> String {
    item.get("summary")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Events as they go on the wire: `event: NAME` and `data: JSON`.
fn encode(events: &[MessagesEvent]) -> String {
    events
        .iter()
        .map(|(name, data)| encode_json(Some(name), data))
        .collect()
}

impl StreamTranslation for MessagesStreamTranslator {
    fn chunk(&mut self, _raw: Bytes, events: &[SseEvent]) -> Translated {
        Translated::from_events(
            self,
            events,
            |t, ev| match t.push_sse(ev) {
                Ok(msgs) => Ok(encode(&msgs)),
                Err(e) => {
                    let (name, data) = error_event(&e);
                    Err(encode_json(Some(name), &data))
                }
            },
            |t| t.ended,
            "",
        )
    }

    fn end(&mut self) -> Option<Bytes> {
        match self.finish_stream() {
            Ok(()) => None,
            Err(e) => {
                let (name, data) = error_event(&e);
                Some(Bytes::from(encode_json(Some(name), &data)))
            }
        }
    }

    fn fail(&self, body: &Value) -> Bytes {
        let data = super::errors::from_openai_body(None, body);
        Bytes::from(encode_json(Some("error"), &data))
    }
}

/// Streams a Responses answer as Messages events, ending in `message_stop`, or in an `error`
/// event when the upstream fails, is cut or stalls.
pub fn stream(resp: reqwest::Response, opts: MessagesStreamOptions, idle: Duration) -> Response {
    stream_translated(resp, Box::new(MessagesStreamTranslator::new(opts)), idle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::fixtures::{TEXT_STREAM, decode_all, events_of, failed_stream};
    use crate::proxy::upstream::AnswerState;

    fn opts(thinking: bool, stops: &[&str]) -> MessagesStreamOptions {
        MessagesStreamOptions {
            model: "claude-sonnet-4-6".into(),
            thinking,
            stop_sequences: stops.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Every event the translator gives for `events`, and how the stream ended.
    fn run(
        events: &[Value],
        o: MessagesStreamOptions,
    ) -> (Vec<MessagesEvent>, Result<(), StreamError>) {
        let mut t = MessagesStreamTranslator::new(o);
        let mut out = Vec::new();
        for e in events {
            match t.push(e) {
                Ok(evs) => out.extend(evs),
                Err(e) => return (out, Err(e)),
            }
        }
        let end = t.finish_stream();
        (out, end)
    }

    fn names(events: &[MessagesEvent]) -> Vec<&str> {
        events.iter().map(|(n, _)| *n).collect()
    }

    fn texts(events: &[MessagesEvent]) -> String {
        events
            .iter()
            .filter_map(|(_, d)| d.pointer("/delta/text").and_then(Value::as_str))
            .collect()
    }

    /// A text answer streamed in `pieces`.
    fn text_stream(pieces: &[&str]) -> Vec<Value> {
        let mut events = vec![json!({"type": "response.created", "response": {"id": "resp_s"}})];
        for p in pieces {
            events.push(json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "delta": p}));
        }
        let text: String = pieces.concat();
        events.push(
            json!({"type": "response.output_item.done", "output_index": 0, "item": {
            "id": "msg_1", "type": "message", "content": [{"type": "output_text", "text": text}]}}),
        );
        events.push(
            json!({"type": "response.completed", "response": {"id": "resp_s", "output": []}}),
        );
        events
    }

    #[test]
    fn text_with_thinking_is_anthropics_event_sequence() {
        let (events, end) = run(&events_of(TEXT_STREAM), opts(true, &[]));
        end.unwrap();
        assert_eq!(
            names(&events),
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(
            events[0].1["message"],
            json!({"id": "msg_0a1b2c", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
                   "content": [], "stop_reason": null, "stop_sequence": null,
                   "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0,
                             "cache_read_input_tokens": 0, "output_tokens": 0}})
        );
        assert_eq!(
            events[1].1["content_block"],
            json!({"type": "thinking", "thinking": "", "signature": ""})
        );
        assert_eq!(
            events[3].1["delta"],
            json!({"type": "thinking_delta", "thinking": "**Greeting** the user"})
        );
        assert_eq!(
            events[4].1["delta"],
            json!({"type": "signature_delta", "signature": "codex-router.reasoning.v1:gAAAAB"})
        );
        assert_eq!(
            events[6].1,
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}})
        );
        assert_eq!(texts(&events), "Hello, wörld 👋");
        assert_eq!(
            events[10].1,
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"input_tokens": 56, "cache_creation_input_tokens": 0,
                             "cache_read_input_tokens": 64, "output_tokens": 30}})
        );

        // Without thinking asked for, reasoning stays out and the text is block 0.
        let (events, _) = run(&events_of(TEXT_STREAM), opts(false, &[]));
        assert_eq!(events[1].1["content_block"]["type"], "text");
        assert_eq!(events[1].1["index"], 0);
    }

    #[test]
    fn tool_calls_stream_as_input_json() {
        let events = [
            json!({"type": "response.created", "response": {"id": "resp_t"}}),
            json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "fc_1", "type": "function_call", "call_id": "toolu_A", "name": "get_weather", "arguments": ""}}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "{\"city\":"}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "\"Paris\"}"}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "fc_1", "type": "function_call", "call_id": "toolu_A", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}),
            // A call with no argument deltas: its arguments come whole.
            json!({"type": "response.output_item.done", "output_index": 1, "item": {"id": "fc_2", "type": "function_call", "call_id": "toolu_B", "name": "get_time", "arguments": "{}"}}),
            json!({"type": "response.incomplete", "response": {"id": "resp_t", "output": [], "incomplete_details": {"reason": "max_output_tokens"}}}),
        ];
        let (out, end) = run(&events, opts(false, &[]));
        end.unwrap();
        assert_eq!(
            out[1].1["content_block"],
            json!({"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {}})
        );
        let json: Vec<&str> = out
            .iter()
            .filter_map(|(_, d)| d.pointer("/delta/partial_json").and_then(Value::as_str))
            .collect();
        assert_eq!(json, ["{\"city\":", "\"Paris\"}", "{}"]);
        assert_eq!(out[6].1["content_block"]["id"], "toolu_B");
        assert_eq!(out[6].1["index"], 1);
        // Incomplete wins over tool_use: the answer was cut at the token limit.
        assert_eq!(out[out.len() - 2].1["delta"]["stop_reason"], "max_tokens");
    }

    #[test]
    fn stop_sequences_end_the_answer_wherever_the_pieces_split() {
        let text = "one two STOP three";
        for split in 1..text.len() {
            let (a, b) = text.split_at(split);
            let (out, end) = run(&text_stream(&[a, b]), opts(false, &["STOP", "xyz"]));
            end.unwrap();
            assert_eq!(texts(&out), "one two ", "split at {split}");
            let delta = &out[out.len() - 2].1["delta"];
            assert_eq!(delta["stop_reason"], "stop_sequence");
            assert_eq!(delta["stop_sequence"], "STOP");
            assert_eq!(names(&out).last(), Some(&"message_stop"));
        }
        // Held-back text that turns out not to be a stop sequence is sent.
        let (out, end) = run(
            &text_stream(&["Pre ST", "OX ", "end S"]),
            opts(false, &["STOP"]),
        );
        end.unwrap();
        assert_eq!(texts(&out), "Pre STOX end S");
        assert_eq!(out[out.len() - 2].1["delta"]["stop_reason"], "end_turn");
        // Multi-byte characters are never split.
        let (out, _) = run(
            &text_stream(&["wörld 👋", "🤖 done"]),
            opts(false, &["👋🤖"]),
        );
        assert_eq!(texts(&out), "wörld ");
    }

    #[test]
    fn a_cut_or_failed_stream_ends_in_an_error_event() {
        let mut events = events_of(TEXT_STREAM);
        events.pop();
        let (out, end) = run(&events, opts(false, &[]));
        assert_eq!(end, Err(StreamError::Truncated));
        assert!(!names(&out).contains(&"message_stop"));

        let (_, end) = run(&failed_stream(), opts(false, &[]));
        assert!(matches!(end, Err(StreamError::Failed { .. })));

        // On the wire: the relay's end() gives `event: error`, never message_stop.
        let cut = &TEXT_STREAM[..TEXT_STREAM.find("event: response.completed").unwrap()];
        let mut t = MessagesStreamTranslator::new(opts(false, &[]));
        let Translated { state, .. } = t.chunk(Bytes::new(), &decode_all(cut.as_bytes()));
        assert_eq!(state, AnswerState::Open);
        let last = String::from_utf8(t.end().unwrap().to_vec()).unwrap();
        assert!(
            last.starts_with(
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\""
            ),
            "{last}"
        );

        let whole = Bytes::from_static(TEXT_STREAM.as_bytes());
        let mut t = MessagesStreamTranslator::new(opts(false, &[]));
        let Translated { out, state } = t.chunk(whole.clone(), &decode_all(&whole));
        assert_eq!(state, AnswerState::Complete);
        let wire = String::from_utf8(out.unwrap().to_vec()).unwrap();
        assert!(
            wire.starts_with("event: message_start\ndata: {\"type\":\"message_start\""),
            "{wire}"
        );
        assert!(
            wire.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
            "{wire}"
        );
        assert_eq!(t.end(), None);
    }
}
