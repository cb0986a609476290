//! Server-sent events: parsing the upstream stream and translating it.
//!
//! - [`SseDecoder`] turns byte chunks (split anywhere) into [`SseEvent`]s, per the WHATWG
//!   event-stream rules, with a bounded buffer.
//! - [`encode_event`], [`encode_json`] and [`DONE_EVENT`] write outgoing events.
//! - [`ChatStreamTranslator`] turns Responses stream events into `chat.completion.chunk`s.
//! - [`ChatCompletionAssembler`] builds a whole `chat.completion` from a Responses stream.
//! - [`ResponsesAssembler`] builds the final Responses object from a Responses stream (the
//!   ChatGPT backend only streams, and with `store:false` its `response.completed` has an
//!   empty `output`).
//!
//! Everything here is synchronous and pure; the server feeds it bytes and writes out what it
//! returns. A stream that ends before `response.completed`, or reports `response.failed` or
//! an `error` event, is a [`StreamError`]: the server must end the client stream with an error
//! event, never with a clean `data: [DONE]`.

use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

use super::errors::StreamError;

/// Default bound on one event (its current line plus its accumulated data): 16 MiB.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// The terminator OpenAI's Chat Completions stream ends with, ready to write.
pub const DONE_EVENT: &str = "data: [DONE]\n\n";

/// Why the upstream byte stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// One event grew past the decoder's bound; the stream is abandoned.
    #[error("server-sent event larger than {limit} bytes")]
    EventTooLarge {
        /// The bound in bytes.
        limit: usize,
    },
}

/// One dispatched server-sent event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name, `None` when absent or empty (the spec's default "message").
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last `id:` seen on the stream so far, if any; shared by the events that carry
    /// it, so a long id is held once, not once per event.
    pub id: Option<Arc<str>>,
}

impl SseEvent {
    /// True for OpenAI's `data: [DONE]` terminator.
    pub fn is_done(&self) -> bool {
        self.data == "[DONE]"
    }

    /// The data parsed as JSON.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.data)
    }
}

/// Incremental SSE decoder: feed byte chunks split at any point (inside a UTF-8 character,
/// between `\r` and `\n`), get complete events. Handles LF, CRLF and CR line endings, a
/// leading BOM, comments and multi-line data. Invalid UTF-8 becomes U+FFFD.
///
/// At the end of the stream an unfinished event (no blank line after it) is discarded, as the
/// spec says. After an [`SseError`] the decoder keeps returning that error.
#[derive(Debug)]
pub struct SseDecoder {
    max_event_bytes: usize,
    line: Vec<u8>,
    after_cr: bool,
    first_line: bool,
    event: String,
    data: String,
    last_id: Option<Arc<str>>,
    failed: bool,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder bounded at [`MAX_EVENT_BYTES`] per event.
    pub fn new() -> Self {
        Self::with_limit(MAX_EVENT_BYTES)
    }

    /// A decoder bounded at `max_event_bytes` per event.
    pub fn with_limit(max_event_bytes: usize) -> Self {
        Self {
            max_event_bytes,
            line: Vec::new(),
            after_cr: false,
            first_line: true,
            event: String::new(),
            data: String::new(),
            last_id: None,
            failed: false,
        }
    }

    /// Feeds the next chunk of bytes and returns the events it completed, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        if self.failed {
            return Err(self.too_large());
        }
        let mut events = Vec::new();
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        loop {
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                None => {
                    self.append_line(rest)?;
                    break;
                }
                Some(p) => {
                    self.append_line(&rest[..p])?;
                    let cr = rest[p] == b'\r';
                    rest = &rest[p + 1..];
                    if cr {
                        match rest.first() {
                            Some(b'\n') => rest = &rest[1..],
                            Some(_) => {}
                            None => self.after_cr = true,
                        }
                    }
                    let line = std::mem::take(&mut self.line);
                    if let Some(ev) = self.process_line(&line)? {
                        events.push(ev);
                    }
                    // Keep the allocation for the next line.
                    self.line = line;
                    self.line.clear();
                }
            }
        }
        Ok(events)
    }

    fn too_large(&self) -> SseError {
        SseError::EventTooLarge {
            limit: self.max_event_bytes,
        }
    }

    fn fail(&mut self) -> SseError {
        self.failed = true;
        self.line = Vec::new();
        self.data = String::new();
        self.event = String::new();
        self.too_large()
    }

    fn append_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + self.data.len() + bytes.len() > self.max_event_bytes {
            return Err(self.fail());
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, raw: &[u8]) -> Result<Option<SseEvent>, SseError> {
        let mut raw = raw;
        if self.first_line {
            self.first_line = false;
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        if raw.is_empty() {
            return Ok(self.dispatch());
        }
        if raw[0] == b':' {
            return Ok(None);
        }
        let line = String::from_utf8_lossy(raw);
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&line[..], ""),
        };
        match field {
            "event" => {
                self.event.clear();
                self.event.push_str(value);
            }
            "data" => {
                if self.data.len() + value.len() + 1 > self.max_event_bytes {
                    return Err(self.fail());
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.into()),
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return None;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the trailing '\n' every data line adds
        Some(SseEvent {
            event: (!event.is_empty()).then_some(event),
            data,
            id: self.last_id.clone(),
        })
    }
}

/// Encodes one outgoing event: an optional `event:` line (line breaks removed from the name),
/// one `data:` line per line of `data`, and the blank line that ends it.
pub fn encode_event(event: Option<&str>, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 16);
    if let Some(name) = event {
        out.push_str("event: ");
        out.extend(name.chars().filter(|c| *c != '\r' && *c != '\n'));
        out.push('\n');
    }
    let normalized = data.replace("\r\n", "\n").replace('\r', "\n");
    for line in normalized.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Encodes a JSON value as one event (`data: {json}\n\n`, with an optional `event:` line).
pub fn encode_json(event: Option<&str>, value: &Value) -> String {
    encode_event(event, &value.to_string())
}

/// Parses an SSE event's data as a Responses event. `Ok(None)` for `[DONE]` and empty data.
/// When the JSON has no `type`, the SSE `event:` name stands in for it.
fn event_json(ev: &SseEvent) -> Result<Option<Value>, StreamError> {
    if ev.is_done() || ev.data.trim().is_empty() {
        return Ok(None);
    }
    let mut value: Value =
        serde_json::from_str(&ev.data).map_err(|e| StreamError::BadEvent(e.to_string()))?;
    let Some(obj) = value.as_object_mut() else {
        return Err(StreamError::BadEvent("not an object".into()));
    };
    if !obj.contains_key("type")
        && let Some(name) = &ev.event
    {
        obj.insert("type".into(), Value::String(name.clone()));
    }
    Ok(Some(value))
}

/// The error carried by `response.failed` or an `error` event.
fn failure(event: &Value) -> StreamError {
    let err = event
        .pointer("/response/error")
        .or_else(|| event.get("error"))
        .filter(|e| e.is_object())
        .unwrap_or(event);
    let code = err
        .get("code")
        .or_else(|| err.get("type"))
        .and_then(Value::as_str)
        .filter(|c| *c != "error")
        .map(str::to_owned);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("unknown error")
        .to_owned();
    StreamError::Failed { code, message }
}

/// Responses `usage` → Chat Completions `usage`.
fn chat_usage(usage: Option<&Value>) -> Value {
    let get = |ptr: &str| {
        usage
            .and_then(|u| u.pointer(ptr))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let prompt = get("/input_tokens");
    let completion = get("/output_tokens");
    let total = usage
        .and_then(|u| u.get("total_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(prompt.saturating_add(completion));
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "prompt_tokens_details": {"cached_tokens": get("/input_tokens_details/cached_tokens")},
        "completion_tokens_details": {"reasoning_tokens": get("/output_tokens_details/reasoning_tokens")},
    })
}

/// Identifies an output item by its id and/or its output index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ItemRef {
    id: Option<String>,
    index: Option<u64>,
}

impl ItemRef {
    /// From an event's `item_id` / `output_index`.
    fn of_event(event: &Value) -> Self {
        Self {
            id: event
                .get("item_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            index: event.get("output_index").and_then(Value::as_u64),
        }
    }

    /// From an item's `id` and the event's (or array's) output index.
    fn of_item(item: &Value, index: Option<u64>) -> Self {
        Self {
            id: item.get("id").and_then(Value::as_str).map(str::to_owned),
            index,
        }
    }
}

/// Output items seen so far, each at a position (the order they were added in). Two
/// references match when both have ids and the ids are equal, or else when they have the
/// same output index. Lookups take constant time: a scan per event made a stream of many
/// distinct items quadratic.
#[derive(Debug, Default)]
struct ItemSet {
    len: usize,
    /// The first position of each id.
    ids: HashMap<String, usize>,
    /// The first position of each output index.
    indices: HashMap<u64, usize>,
    /// The first position of each output index among the items without an id.
    indices_without_id: HashMap<u64, usize>,
}

impl ItemSet {
    /// Adds an item; returns its position.
    fn insert(&mut self, r: &ItemRef) -> usize {
        let position = self.len;
        self.len += 1;
        if let Some(id) = &r.id {
            self.ids.entry(id.clone()).or_insert(position);
        }
        if let Some(index) = r.index {
            self.indices.entry(index).or_insert(position);
            if r.id.is_none() {
                self.indices_without_id.entry(index).or_insert(position);
            }
        }
        position
    }

    /// The first position of an item that matches `r`.
    fn find(&self, r: &ItemRef) -> Option<usize> {
        let index = |map: &HashMap<u64, usize>| r.index.and_then(|i| map.get(&i).copied());
        match &r.id {
            Some(id) => {
                let by_id = self.ids.get(id).copied();
                let by_index = index(&self.indices_without_id);
                by_id.into_iter().chain(by_index).min()
            }
            None => index(&self.indices),
        }
    }

    fn contains(&self, r: &ItemRef) -> bool {
        self.find(r).is_some()
    }
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

/// The function calls announced so far, by position (their `tool_calls` index).
#[derive(Debug, Default)]
struct ToolCalls {
    items: ItemSet,
    /// The first position of each call id.
    call_ids: HashMap<String, usize>,
    /// The arguments sent so far, by position.
    arguments: Vec<String>,
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
    opts: ChatStreamOptions,
    response_id: Option<String>,
    created_at: Option<i64>,
    upstream_model: Option<String>,
    header: Option<(String, i64, String)>,
    role_sent: bool,
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
            opts,
            response_id: None,
            created_at: None,
            upstream_model: None,
            header: None,
            role_sent: false,
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
                self.note_response(event.get("response"));
                if kind == "response.created" {
                    self.ensure_role(&mut out);
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
                    self.emit(&mut out, json!({ key: delta }), None);
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta"
                if self.opts.include_reasoning =>
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
                    self.emit(&mut out, json!({ "reasoning_content": text }), None);
                }
            }
            "response.output_item.added" => {
                if let Some(item) = event.get("item")
                    && item.get("type").and_then(Value::as_str) == Some("function_call")
                {
                    let r =
                        ItemRef::of_item(item, event.get("output_index").and_then(Value::as_u64));
                    if self.find_tool(&r, item).is_none() {
                        self.start_tool(&mut out, &r, item);
                    }
                }
            }
            "response.function_call_arguments.delta" => {
                let r = ItemRef::of_event(event);
                let delta = event.get("delta").and_then(Value::as_str).unwrap_or("");
                if !delta.is_empty()
                    && let Some(i) = self.tools.items.find(&r)
                {
                    self.tools.arguments[i].push_str(delta);
                    let d = json!({"tool_calls": [{"index": i, "function": {"arguments": delta}}]});
                    self.emit(&mut out, d, None);
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
                self.note_response(response);
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
                } else if self.tools.arguments.is_empty() {
                    "stop"
                } else {
                    "tool_calls"
                };
                self.emit(&mut out, json!({}), Some(finish));
                if self.opts.include_usage {
                    let mut chunk = self.chunk_base();
                    chunk["choices"] = json!([]);
                    chunk["usage"] = chat_usage(response.and_then(|r| r.get("usage")));
                    out.push(chunk);
                }
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

    fn note_response(&mut self, response: Option<&Value>) {
        let Some(r) = response else { return };
        if self.response_id.is_none() {
            self.response_id = r.get("id").and_then(Value::as_str).map(str::to_owned);
        }
        if self.created_at.is_none() {
            self.created_at = r.get("created_at").and_then(Value::as_i64);
        }
        if self.upstream_model.is_none() {
            self.upstream_model = r
                .get("model")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
                .map(str::to_owned);
        }
    }

    /// `id`, `created` and `model`, fixed at the first chunk.
    fn header(&mut self) -> (String, i64, String) {
        if let Some(h) = &self.header {
            return h.clone();
        }
        let now = chrono::Utc::now();
        let id = match &self.response_id {
            Some(r) => format!("chatcmpl-{}", r.strip_prefix("resp_").unwrap_or(r)),
            None => format!(
                "chatcmpl-{:x}",
                now.timestamp_nanos_opt().unwrap_or_default()
            ),
        };
        let created = self.created_at.unwrap_or_else(|| now.timestamp());
        let model = self
            .upstream_model
            .clone()
            .unwrap_or_else(|| self.opts.model.clone());
        let h = (id, created, model);
        self.header = Some(h.clone());
        h
    }

    fn chunk_base(&mut self) -> Value {
        let (id, created, model) = self.header();
        let mut chunk = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
        });
        if self.opts.include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk
    }

    fn ensure_role(&mut self, out: &mut Vec<Value>) {
        if !self.role_sent {
            self.role_sent = true;
            let mut chunk = self.chunk_base();
            chunk["choices"] = json!([{
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": null,
                "finish_reason": null,
            }]);
            out.push(chunk);
        }
    }

    fn emit(&mut self, out: &mut Vec<Value>, delta: Value, finish: Option<&str>) {
        self.ensure_role(out);
        let mut chunk = self.chunk_base();
        chunk["choices"] = json!([{
            "index": 0,
            "delta": delta,
            "logprobs": null,
            "finish_reason": finish,
        }]);
        out.push(chunk);
    }

    fn find_tool(&self, r: &ItemRef, item: &Value) -> Option<usize> {
        let by_call_id = item
            .get("call_id")
            .and_then(Value::as_str)
            .and_then(|c| self.tools.call_ids.get(c).copied());
        self.tools.items.find(r).into_iter().chain(by_call_id).min()
    }

    /// Announces a new function call: its first `tool_calls` delta.
    fn start_tool(&mut self, out: &mut Vec<Value>, r: &ItemRef, item: &Value) -> usize {
        let index = self.tools.arguments.len();
        let call_id = item
            .get("call_id")
            .and_then(Value::as_str)
            .or(r.id.as_deref())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("call_{index}"));
        let name = item.get("name").and_then(Value::as_str).unwrap_or("");
        let arguments = item
            .get("arguments")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let d = json!({"tool_calls": [{
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }]});
        self.tools.items.insert(r);
        self.tools.call_ids.entry(call_id).or_insert(index);
        self.tools.arguments.push(arguments);
        self.emit(out, d, None);
        index
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
                    self.emit(out, json!({ "content": text }), None);
                }
                if !refusal.is_empty() {
                    self.emit(out, json!({ "refusal": refusal }), None);
                }
            }
            Some("function_call") => {
                let full = item.get("arguments").and_then(Value::as_str).unwrap_or("");
                match self.find_tool(&r, item) {
                    None => {
                        self.start_tool(out, &r, item);
                    }
                    Some(i) => {
                        let sent = &self.tools.arguments[i];
                        if let Some(rest) = full.strip_prefix(sent.as_str())
                            && !rest.is_empty()
                        {
                            let rest = rest.to_owned();
                            self.tools.arguments[i].push_str(&rest);
                            let d = json!({"tool_calls": [{"index": i, "function": {"arguments": rest}}]});
                            self.emit(out, d, None);
                        }
                    }
                }
            }
            _ => {}
        }
        self.done_items.insert(&r);
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
    tool_calls: Vec<(String, String, String)>,
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
            tool_calls: Vec::new(),
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
                    let Some(i) = call.get("index").and_then(Value::as_u64) else {
                        continue;
                    };
                    let i = i as usize;
                    if i >= self.tool_calls.len() {
                        self.tool_calls.resize(i + 1, Default::default());
                    }
                    let slot = &mut self.tool_calls[i];
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
                if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
                    self.finish_reason = Some(f.to_owned());
                }
            }
        }
    }
}

/// Builds the final Responses object from a Responses stream (for non-streaming
/// `/v1/responses` requests sent to the ChatGPT backend, which only streams).
///
/// The result is the `response` of `response.completed` (or of `response.incomplete`, whose
/// `status` says so), with `output` filled from the `response.output_item.done` items, in
/// `output_index` order, when it is empty or absent.
#[derive(Debug, Default)]
pub struct ResponsesAssembler {
    items: Vec<(Option<u64>, Value)>,
    result: Option<Value>,
    error: Option<StreamError>,
}

impl ResponsesAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one SSE event.
    pub fn push_sse(&mut self, event: &SseEvent) -> Result<(), StreamError> {
        match event_json(event) {
            Ok(Some(v)) => self.push(&v),
            Ok(None) => Ok(()),
            Err(e) => {
                self.error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Feeds one Responses event. `response.failed` and `error` events are errors.
    pub fn push(&mut self, event: &Value) -> Result<(), StreamError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.result.is_some() {
            return Ok(());
        }
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "response.output_item.done" => {
                if let Some(item) = event.get("item") {
                    let index = event.get("output_index").and_then(Value::as_u64);
                    self.items.push((index, item.clone()));
                }
            }
            "response.completed" | "response.incomplete" => {
                let mut response = event.get("response").cloned().unwrap_or_else(|| json!({}));
                if !response.is_object() {
                    response = json!({});
                }
                let empty = response
                    .get("output")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty);
                if empty {
                    let mut items = std::mem::take(&mut self.items);
                    items.sort_by_key(|(i, _)| i.unwrap_or(u64::MAX));
                    response["output"] = Value::Array(items.into_iter().map(|(_, v)| v).collect());
                }
                self.result = Some(response);
            }
            "response.failed" | "error" => {
                let e = failure(event);
                self.error = Some(e.clone());
                return Err(e);
            }
            _ => {}
        }
        Ok(())
    }

    /// The final response object, or why there is none.
    pub fn finish(self) -> Result<Value, StreamError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.result.ok_or(StreamError::Truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text answer as the ChatGPT backend streams it (store:false: empty `output` at the end),
    /// with a reasoning summary, a keep-alive comment and multi-byte characters.
    const TEXT_STREAM: &str = concat!(
        "event: response.created\n",
        "data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_0a1b2c\",\"object\":\"response\",\"created_at\":1777000000,\"status\":\"in_progress\",\"model\":\"gpt-5.5\",\"output\":[],\"usage\":null}}\n",
        "\n",
        "event: response.in_progress\n",
        "data: {\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"resp_0a1b2c\",\"created_at\":1777000000,\"status\":\"in_progress\",\"model\":\"gpt-5.5\",\"output\":[]}}\n",
        "\n",
        "event: response.output_item.added\n",
        "data: {\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[]}}\n",
        "\n",
        ": keep-alive\n",
        "\n",
        "event: response.reasoning_summary_text.delta\n",
        "data: {\"type\":\"response.reasoning_summary_text.delta\",\"sequence_number\":3,\"item_id\":\"rs_1\",\"output_index\":0,\"summary_index\":0,\"delta\":\"**Greeting** the user\"}\n",
        "\n",
        "event: response.output_item.done\n",
        "data: {\"type\":\"response.output_item.done\",\"sequence_number\":4,\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"**Greeting** the user\"}],\"encrypted_content\":\"gAAAAB\"}}\n",
        "\n",
        "event: response.output_item.added\n",
        "data: {\"type\":\"response.output_item.added\",\"sequence_number\":5,\"output_index\":1,\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}}\n",
        "\n",
        "event: response.content_part.added\n",
        "data: {\"type\":\"response.content_part.added\",\"sequence_number\":6,\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"\"}}\n",
        "\n",
        "event: response.output_text.delta\n",
        "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":7,\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"delta\":\"Hello\"}\n",
        "\n",
        "event: response.output_text.delta\n",
        "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":8,\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"delta\":\", wörld 👋\"}\n",
        "\n",
        "event: response.output_text.done\n",
        "data: {\"type\":\"response.output_text.done\",\"sequence_number\":9,\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"text\":\"Hello, wörld 👋\"}\n",
        "\n",
        "event: response.output_item.done\n",
        "data: {\"type\":\"response.output_item.done\",\"sequence_number\":10,\"output_index\":1,\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"annotations\":[],\"text\":\"Hello, wörld 👋\"}]}}\n",
        "\n",
        "event: response.completed\n",
        "data: {\"type\":\"response.completed\",\"sequence_number\":11,\"response\":{\"id\":\"resp_0a1b2c\",\"object\":\"response\",\"created_at\":1777000000,\"status\":\"completed\",\"model\":\"gpt-5.5\",\"output\":[],\"usage\":{\"input_tokens\":120,\"input_tokens_details\":{\"cached_tokens\":64},\"output_tokens\":30,\"output_tokens_details\":{\"reasoning_tokens\":12},\"total_tokens\":150}}}\n",
        "\n",
    );

    fn decode_all(bytes: &[u8]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        d.feed(bytes).unwrap()
    }

    fn events_of(stream: &str) -> Vec<Value> {
        decode_all(stream.as_bytes())
            .iter()
            .map(|e| e.json().unwrap())
            .collect()
    }

    fn opts(include_usage: bool, include_reasoning: bool) -> ChatStreamOptions {
        ChatStreamOptions {
            model: "gpt-5.5-requested".into(),
            include_usage,
            include_reasoning,
        }
    }

    /// All chunks for `events`, plus the result of `finish`.
    fn translate(events: &[Value], o: ChatStreamOptions) -> (Vec<Value>, Result<(), StreamError>) {
        let mut t = ChatStreamTranslator::new(o);
        let mut chunks = Vec::new();
        for e in events {
            match t.push(e) {
                Ok(c) => chunks.extend(c),
                Err(err) => return (chunks, Err(err)),
            }
        }
        match t.finish() {
            Ok(c) => {
                chunks.extend(c);
                (chunks, Ok(()))
            }
            Err(err) => (chunks, Err(err)),
        }
    }

    fn deltas(chunks: &[Value]) -> Vec<Value> {
        chunks
            .iter()
            .filter_map(|c| c["choices"].get(0).map(|ch| ch["delta"].clone()))
            .collect()
    }

    fn finish_reasons(chunks: &[Value]) -> Vec<Value> {
        chunks
            .iter()
            .filter_map(|c| c["choices"].get(0))
            .map(|ch| ch["finish_reason"].clone())
            .filter(|f| !f.is_null())
            .collect()
    }

    // ---------------------------------------------------------------- decoder

    #[test]
    fn decoder_parses_recorded_stream() {
        let events = decode_all(TEXT_STREAM.as_bytes());
        let names: Vec<_> = events.iter().map(|e| e.event.clone().unwrap()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_text.delta",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for e in &events {
            let v = e.json().unwrap();
            assert_eq!(v["type"].as_str(), e.event.as_deref());
        }
        assert_eq!(events[8].json().unwrap()["delta"], ", wörld 👋");
    }

    #[test]
    fn decoder_gives_same_events_at_every_split_and_line_ending() {
        let crlf = TEXT_STREAM.replace('\n', "\r\n");
        let cr = TEXT_STREAM.replace('\n', "\r");
        let expected = decode_all(TEXT_STREAM.as_bytes());
        assert_eq!(expected.len(), 12);
        for stream in [TEXT_STREAM, crlf.as_str(), cr.as_str()] {
            let bytes = stream.as_bytes();
            assert_eq!(decode_all(bytes), expected);
            for split in 0..=bytes.len() {
                let mut d = SseDecoder::new();
                let mut got = d.feed(&bytes[..split]).unwrap();
                got.extend(d.feed(&[]).unwrap());
                got.extend(d.feed(&bytes[split..]).unwrap());
                assert_eq!(got, expected, "split at byte {split}");
            }
            // One byte at a time.
            let mut d = SseDecoder::new();
            let mut got = Vec::new();
            for b in bytes {
                got.extend(d.feed(std::slice::from_ref(b)).unwrap());
            }
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn decoder_follows_the_spec_details() {
        let stream = concat!(
            "\u{feff}: comment first\n",
            "data\n", // no colon: field "data", empty value
            "\n",
            "event: ignored-without-data\n",
            "\n",
            "id: 7\n",
            "data:no-space\n",
            "data:  two spaces\n",
            "retry: 1000\n",
            "unknown: field\n",
            "\n",
            "event: second\n",
            "data: {\"a\":1}\n",
            "\n",
            "data: [DONE]\n",
            "\n",
            "data: cut off at the end\n",
        );
        let events = decode_all(stream.as_bytes());
        assert_eq!(
            events,
            [
                SseEvent {
                    event: None,
                    data: String::new(),
                    id: None
                },
                SseEvent {
                    event: None,
                    data: "no-space\n two spaces".into(),
                    id: Some("7".into()),
                },
                SseEvent {
                    event: Some("second".into()),
                    data: "{\"a\":1}".into(),
                    id: Some("7".into()),
                },
                SseEvent {
                    event: None,
                    data: "[DONE]".into(),
                    id: Some("7".into())
                },
            ]
        );
        assert!(events[3].is_done());
        assert!(!events[2].is_done());
    }

    #[test]
    fn decoder_replaces_invalid_utf8() {
        let events = decode_all(b"data: a\xffb\n\n");
        assert_eq!(events[0].data, "a\u{fffd}b");
    }

    #[test]
    fn decoder_bounds_an_event() {
        let mut d = SseDecoder::with_limit(64);
        assert_eq!(d.feed(b"data: short\n\n").unwrap().len(), 1);
        // Many lines that each fit, but add up past the bound.
        let mut err = None;
        for _ in 0..20 {
            if let Err(e) = d.feed(b"data: 0123456789\n") {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(SseError::EventTooLarge { limit: 64 }));
        // Once failed, it stays failed.
        assert!(d.feed(b"\n").is_err());

        // One endless line with no terminator.
        let mut d = SseDecoder::with_limit(1024);
        let chunk = [b'x'; 100];
        let failed = (0..20).any(|_| d.feed(&chunk).is_err());
        assert!(failed);
    }

    #[test]
    fn encoder_round_trips() {
        assert_eq!(
            encode_json(None, &json!({"a": "b"})),
            "data: {\"a\":\"b\"}\n\n"
        );
        assert_eq!(
            encode_event(Some("error\nx"), "line1\nline2\r\nline3"),
            "event: errorx\ndata: line1\ndata: line2\ndata: line3\n\n"
        );
        assert_eq!(DONE_EVENT, "data: [DONE]\n\n");
        let mut wire = encode_event(Some("message"), "a\nb");
        wire.push_str(&encode_event(None, ""));
        wire.push_str(DONE_EVENT);
        assert_eq!(
            decode_all(wire.as_bytes()),
            [
                SseEvent {
                    event: Some("message".into()),
                    data: "a\nb".into(),
                    id: None
                },
                SseEvent {
                    event: None,
                    data: String::new(),
                    id: None
                },
                SseEvent {
                    event: None,
                    data: "[DONE]".into(),
                    id: None
                },
            ]
        );
    }

    // ------------------------------------------------------------- translator

    #[test]
    fn text_stream_to_chunks() {
        let (chunks, end) = translate(&events_of(TEXT_STREAM), opts(true, false));
        end.unwrap();
        for c in &chunks {
            assert_eq!(c["id"], "chatcmpl-0a1b2c");
            assert_eq!(c["object"], "chat.completion.chunk");
            assert_eq!(c["created"], 1777000000);
            assert_eq!(c["model"], "gpt-5.5");
        }
        assert_eq!(
            deltas(&chunks),
            [
                json!({"role": "assistant", "content": ""}),
                json!({"content": "Hello"}),
                json!({"content": ", wörld 👋"}),
                json!({}),
            ]
        );
        assert_eq!(finish_reasons(&chunks), [json!("stop")]);
        // All but the last carry usage:null; the last is the usage chunk.
        let (last, rest) = chunks.split_last().unwrap();
        assert!(rest.iter().all(|c| c.get("usage") == Some(&Value::Null)));
        assert_eq!(
            *last,
            json!({
                "id": "chatcmpl-0a1b2c", "object": "chat.completion.chunk",
                "created": 1777000000, "model": "gpt-5.5", "choices": [],
                "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
                          "prompt_tokens_details": {"cached_tokens": 64},
                          "completion_tokens_details": {"reasoning_tokens": 12}}
            })
        );
        assert_eq!(
            chunks[1],
            json!({
                "id": "chatcmpl-0a1b2c", "object": "chat.completion.chunk",
                "created": 1777000000, "model": "gpt-5.5",
                "choices": [{"index": 0, "delta": {"content": "Hello"},
                             "logprobs": null, "finish_reason": null}],
                "usage": null
            })
        );
    }

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

    fn two_calls_stream() -> Vec<Value> {
        vec![
            json!({"type": "response.created", "response": {"id": "resp_tools", "created_at": 1777000100, "model": "gpt-5.5", "status": "in_progress", "output": []}}),
            json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "fc_1", "type": "function_call", "status": "in_progress", "name": "get_weather", "call_id": "call_AAA", "arguments": ""}}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "{\"ci"}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "ty\":\"Pa"}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "ris\"}"}),
            json!({"type": "response.function_call_arguments.done", "item_id": "fc_1", "output_index": 0, "arguments": "{\"city\":\"Paris\"}"}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "fc_1", "type": "function_call", "status": "completed", "name": "get_weather", "call_id": "call_AAA", "arguments": "{\"city\":\"Paris\"}"}}),
            json!({"type": "response.output_item.added", "output_index": 1, "item": {"id": "fc_2", "type": "function_call", "status": "in_progress", "name": "get_time", "call_id": "call_BBB", "arguments": ""}}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_2", "output_index": 1, "delta": "{\"tz\":"}),
            // The last fragment never arrives as a delta; the done item carries it.
            json!({"type": "response.output_item.done", "output_index": 1, "item": {"id": "fc_2", "type": "function_call", "status": "completed", "name": "get_time", "call_id": "call_BBB", "arguments": "{\"tz\":\"CET\"}"}}),
            json!({"type": "response.completed", "response": {"id": "resp_tools", "created_at": 1777000100, "model": "gpt-5.5", "status": "completed", "output": [], "usage": {"input_tokens": 50, "output_tokens": 20, "total_tokens": 70, "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}}}),
        ]
    }

    #[test]
    fn two_function_calls_to_tool_call_deltas() {
        let (chunks, end) = translate(&two_calls_stream(), opts(false, false));
        end.unwrap();
        assert_eq!(
            deltas(&chunks),
            [
                json!({"role": "assistant", "content": ""}),
                json!({"tool_calls": [{"index": 0, "id": "call_AAA", "type": "function",
                                       "function": {"name": "get_weather", "arguments": ""}}]}),
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"ci"}}]}),
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "ty\":\"Pa"}}]}),
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "ris\"}"}}]}),
                json!({"tool_calls": [{"index": 1, "id": "call_BBB", "type": "function",
                                       "function": {"name": "get_time", "arguments": ""}}]}),
                json!({"tool_calls": [{"index": 1, "function": {"arguments": "{\"tz\":"}}]}),
                json!({"tool_calls": [{"index": 1, "function": {"arguments": "\"CET\"}"}}]}),
                json!({}),
            ]
        );
        assert_eq!(finish_reasons(&chunks), [json!("tool_calls")]);
        assert!(chunks.iter().all(|c| c["id"] == "chatcmpl-tools"));
    }

    #[test]
    fn function_call_known_only_from_done_item() {
        let events = [
            json!({"type": "response.created", "response": {"id": "resp_x", "created_at": 1, "model": "m"}}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "fc_9", "type": "function_call", "name": "f", "call_id": "call_9", "arguments": "{}"}}),
            json!({"type": "response.completed", "response": {"id": "resp_x", "output": []}}),
        ];
        let (chunks, end) = translate(&events, opts(false, false));
        end.unwrap();
        assert_eq!(
            deltas(&chunks)[1],
            json!({"tool_calls": [{"index": 0, "id": "call_9", "type": "function",
                                   "function": {"name": "f", "arguments": "{}"}}]})
        );
        assert_eq!(finish_reasons(&chunks), [json!("tool_calls")]);
    }

    #[test]
    fn incomplete_stream_finishes_with_length() {
        let events = [
            json!({"type": "response.created", "response": {"id": "resp_len", "created_at": 5, "model": "gpt-5.4"}}),
            json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Once upon a"}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "msg_1", "type": "message", "role": "assistant", "status": "incomplete", "content": [{"type": "output_text", "text": "Once upon a"}]}}),
            json!({"type": "response.incomplete", "response": {"id": "resp_len", "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "output": [], "usage": {"input_tokens": 10, "output_tokens": 16, "total_tokens": 26}}}),
        ];
        let (chunks, end) = translate(&events, opts(true, false));
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

        let mut a = ChatCompletionAssembler::new("gpt-5.4", false);
        for e in &events {
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
        let (chunks, end) = translate(&events, opts(true, false));
        assert_eq!(end, Err(StreamError::Truncated));
        // What was streamed so far was sent, but no finish_reason and no usage.
        assert!(finish_reasons(&chunks).is_empty());
        assert!(chunks.iter().all(|c| c["usage"].is_null()));
        let e = StreamError::Truncated;
        assert_eq!(e.status_code(), 502);
        assert_eq!(e.error_body()["error"]["code"], "stream_truncated");
        assert_eq!(e.error_body()["error"]["type"], "server_error");

        let mut a = ChatCompletionAssembler::new("m", false);
        for e in &events {
            a.push(e).unwrap();
        }
        assert_eq!(a.finish(), Err(StreamError::Truncated));

        let mut r = ResponsesAssembler::new();
        for e in &events {
            r.push(e).unwrap();
        }
        assert_eq!(r.finish(), Err(StreamError::Truncated));
    }

    #[test]
    fn failed_response_is_an_error() {
        let events = [
            json!({"type": "response.created", "response": {"id": "resp_f", "created_at": 5, "model": "gpt-5.5"}}),
            json!({"type": "response.failed", "response": {"id": "resp_f", "status": "failed", "error": {"code": "context_length_exceeded", "message": "Your input exceeds the context window of this model."}}}),
            json!({"type": "response.completed", "response": {"id": "resp_f"}}),
        ];
        let (chunks, end) = translate(&events, opts(true, false));
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

        let mut a = ChatCompletionAssembler::new("m", false);
        assert!(a.push(&events[0]).is_ok());
        assert!(a.push(&events[1]).is_err());
        assert_eq!(a.finish().unwrap_err(), err);

        let mut r = ResponsesAssembler::new();
        r.push(&events[0]).unwrap();
        assert_eq!(r.push(&events[1]).unwrap_err(), err);
        assert_eq!(r.finish().unwrap_err(), err);
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
    fn responses_assembly_fills_empty_output() {
        let mut r = ResponsesAssembler::new();
        for ev in decode_all(TEXT_STREAM.as_bytes()) {
            r.push_sse(&ev).unwrap();
        }
        let resp = r.finish().unwrap();
        assert_eq!(resp["id"], "resp_0a1b2c");
        assert_eq!(resp["status"], "completed");
        assert_eq!(resp["usage"]["total_tokens"], 150);
        assert_eq!(
            resp["output"],
            json!([
                {"id": "rs_1", "type": "reasoning",
                 "summary": [{"type": "summary_text", "text": "**Greeting** the user"}],
                 "encrypted_content": "gAAAAB"},
                {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "annotations": [], "text": "Hello, wörld 👋"}]}
            ])
        );

        // Items arriving out of order are put in output_index order; a non-empty output stays.
        let mut r = ResponsesAssembler::new();
        r.push(
            &json!({"type": "response.output_item.done", "output_index": 1, "item": {"id": "b"}}),
        )
        .unwrap();
        r.push(
            &json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "a"}}),
        )
        .unwrap();
        r.push(&json!({"type": "response.incomplete", "response": {"id": "resp_i", "status": "incomplete"}})).unwrap();
        let resp = r.finish().unwrap();
        assert_eq!(resp["output"], json!([{"id": "a"}, {"id": "b"}]));
        assert_eq!(resp["status"], "incomplete");

        let mut r = ResponsesAssembler::new();
        r.push(
            &json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "x"}}),
        )
        .unwrap();
        r.push(&json!({"type": "response.completed", "response": {"id": "resp_k", "output": [{"id": "kept"}]}})).unwrap();
        assert_eq!(r.finish().unwrap()["output"], json!([{"id": "kept"}]));
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
    fn many_distinct_items_take_linear_time() {
        // Regression: every event scanned every item seen before, so a stream of many
        // distinct items took minutes of CPU (this one over a minute; now well under 10 s).
        let started = std::time::Instant::now();
        let mut t = ChatStreamTranslator::new(opts(false, false));
        let mut push = |event: Value| t.push(&event).unwrap();
        push(json!({"type": "response.created", "response": {"id": "resp_many"}}));
        for i in 0..10_000 {
            push(
                json!({"type": "response.output_item.added", "output_index": i, "item": {"id": format!("fc{i}"), "type": "function_call", "call_id": format!("c{i}"), "name": "f"}}),
            );
            push(
                json!({"type": "response.output_item.done", "item": {"id": format!("r{i}"), "type": "reasoning"}}),
            );
        }
        for i in 0..100_000 {
            push(
                json!({"type": "response.output_text.delta", "item_id": format!("m{i}"), "delta": ""}),
            );
            push(
                json!({"type": "response.function_call_arguments.delta", "item_id": format!("x{i}"), "delta": "{}"}),
            );
        }
        let end = push(json!({"type": "response.completed", "response": {"id": "resp_many"}}));
        assert_eq!(finish_reasons(&end), [json!("tool_calls")]);
        let elapsed = started.elapsed();
        assert!(elapsed.as_secs() < 10, "took {elapsed:?}");
    }

    #[test]
    fn items_match_by_id_else_by_output_index() {
        let mut t = ChatStreamTranslator::new(opts(false, false));
        let mut deltas_of = |event: Value| deltas(&t.push(&event).unwrap());
        // A call known by its index only, then its done item with an id: the same call.
        deltas_of(
            json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "function_call", "call_id": "c0", "name": "f"}}),
        );
        assert_eq!(
            deltas_of(
                json!({"type": "response.function_call_arguments.delta", "item_id": "fc_0", "output_index": 0, "delta": "{"})
            ),
            [json!({"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]})]
        );
        // A different id at the same index is another call once ids are known on both.
        deltas_of(
            json!({"type": "response.output_item.added", "output_index": 1, "item": {"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "g"}}),
        );
        assert!(deltas_of(json!({"type": "response.function_call_arguments.delta", "item_id": "fc_x", "output_index": 1, "delta": "?"})).is_empty());
        // Known by call id alone.
        assert_eq!(
            deltas_of(
                json!({"type": "response.output_item.done", "item": {"type": "function_call", "call_id": "c1", "arguments": "{}"}})
            ),
            [json!({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]})]
        );
        // Text streamed for an item without id is not sent again by its done item.
        deltas_of(json!({"type": "response.output_text.delta", "output_index": 2, "delta": "hi"}));
        assert!(deltas_of(json!({"type": "response.output_item.done", "output_index": 2, "item": {"id": "msg", "type": "message", "content": [{"type": "output_text", "text": "hi"}]}})).is_empty());
    }

    #[test]
    fn a_long_event_id_is_held_once() {
        // Regression: each event carried its own copy of the last id, so a 1 MiB id
        // followed by many small events in one chunk multiplied into gigabytes.
        let mut stream = format!("id: {}\n", "i".repeat(1 << 20)).into_bytes();
        for _ in 0..10_000 {
            stream.extend_from_slice(b"data: x\n\n");
        }
        let events = SseDecoder::new().feed(&stream).unwrap();
        assert_eq!(events.len(), 10_000);
        let first = events[0].id.as_ref().unwrap();
        assert_eq!(first.len(), 1 << 20);
        assert!(
            events
                .iter()
                .all(|e| Arc::ptr_eq(e.id.as_ref().unwrap(), first))
        );
    }

    #[test]
    fn garbage_events_never_panic() {
        let junk = [
            json!(null),
            json!(1),
            json!([]),
            json!({"type": 5}),
            json!({"type": "response.output_text.delta", "delta": 3}),
            json!({"type": "response.output_item.added", "item": "x"}),
            json!({"type": "response.output_item.done", "item": {"type": "function_call"}}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "nope", "delta": "x"}),
            json!({"type": "response.created", "response": "not an object"}),
            json!({"type": "response.completed", "response": [1, 2]}),
        ];
        let (_, end) = translate(&junk, opts(true, true));
        end.unwrap();
        let mut r = ResponsesAssembler::new();
        for j in &junk {
            r.push(j).unwrap();
        }
        assert!(r.finish().is_ok());
    }
}
