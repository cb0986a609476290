//! Responses API events, Chat Completions chunks, and the SSE body that delivers them.

use super::reply::content_text;
use super::state::random_token;
use super::types::{Reply, StreamBehaviour};
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde_json::{Value, json};
use std::time::Duration;

/// Prefix of the fake's encrypted reasoning blobs (Fernet tokens start like this).
const ENC_PREFIX: &str = "gAAAAB";

/// A fake `encrypted_content` bound to `account`.
pub(crate) fn encrypt_reasoning(account: &str, item_id: &str) -> String {
    let inner = json!({"account": account, "item": item_id, "n": random_token(12)});
    format!(
        "{ENC_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(inner.to_string().as_bytes())
    )
}

/// The account an `encrypted_content` blob was issued to, if it is one of ours.
pub(crate) fn reasoning_account(blob: &str) -> Option<String> {
    let b = blob.strip_prefix(ENC_PREFIX)?;
    let v: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(b).ok()?).ok()?;
    v.get("account")?.as_str().map(str::to_owned)
}

/// What a model request asked for, as far as the answer's shape goes.
pub(crate) struct ResponseCtx {
    pub id: String,
    pub model: String,
    pub created_at: i64,
    /// The request body, echoed into the response object.
    pub request: Value,
    /// ChatGPT backend (`store:false`): `response.completed` carries `output: []`.
    pub empty_completed_output: bool,
    /// Who encrypted reasoning is bound to.
    pub account: String,
}

impl ResponseCtx {
    pub fn new(request: &Value, empty_completed_output: bool, account: &str) -> Self {
        Self {
            id: format!("resp_{}", uuid::Uuid::new_v4().simple()),
            model: request
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or("gpt-5.5")
                .to_owned(),
            created_at: crate::home::now(),
            request: request.clone(),
            empty_completed_output,
            account: account.to_owned(),
        }
    }

    fn reasoning(&self) -> Option<&Value> {
        self.request.get("reasoning").filter(|r| r.is_object())
    }

    fn wants_summary(&self) -> bool {
        self.reasoning()
            .and_then(|r| r.get("summary"))
            .and_then(Value::as_str)
            .is_some_and(|s| s != "none")
    }

    fn wants_encrypted(&self) -> bool {
        self.request
            .get("include")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "reasoning.encrypted_content"))
    }

    /// The response object in `status`, with `output` and `usage`.
    pub fn object(&self, status: &str, output: Vec<Value>, usage: Value) -> Value {
        let r = &self.request;
        let get = |k: &str, default: Value| r.get(k).cloned().unwrap_or(default);
        json!({
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": false,
            "error": null,
            "incomplete_details": null,
            "instructions": get("instructions", Value::Null),
            "max_output_tokens": get("max_output_tokens", Value::Null),
            "model": self.model,
            "output": output,
            "parallel_tool_calls": get("parallel_tool_calls", json!(true)),
            "previous_response_id": get("previous_response_id", Value::Null),
            "prompt_cache_key": get("prompt_cache_key", Value::Null),
            "reasoning": {
                "effort": self.reasoning().and_then(|x| x.get("effort")).cloned().unwrap_or(Value::Null),
                "summary": self.reasoning().and_then(|x| x.get("summary")).cloned().unwrap_or(Value::Null),
            },
            "service_tier": get("service_tier", json!("auto")),
            "store": get("store", json!(!self.empty_completed_output)),
            "temperature": 1.0,
            "text": get("text", json!({"format": {"type": "text"}, "verbosity": "medium"})),
            "tool_choice": get("tool_choice", json!("auto")),
            "tools": get("tools", json!([])),
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "user": null,
            "metadata": {},
        })
    }
}

/// A built answer: the streamed events, the finished output items and the usage.
pub(crate) struct Built {
    pub events: Vec<Value>,
    pub output: Vec<Value>,
    pub usage: Value,
    /// `Some((code, message))` when the reply is a failure.
    pub failed: Option<(String, String)>,
}

/// Splits text into word-ish deltas (each word with its following space).
pub(crate) fn text_deltas(text: &str) -> Vec<String> {
    let parts: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    if parts.is_empty() {
        vec![String::new()]
    } else {
        parts
    }
}

/// Splits `s` into about three fragments on char boundaries.
pub(crate) fn fragments(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return vec![s.to_owned()];
    }
    let size = chars.len().div_ceil(3);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

fn approx_tokens(s: &str) -> u64 {
    (s.len() as u64).div_ceil(4).max(1)
}

/// Input token estimate for a request body.
pub(crate) fn input_tokens(request: &Value) -> u64 {
    let mut text = String::new();
    if let Some(i) = request.get("instructions") {
        text.push_str(&content_text(i));
    }
    for key in ["input", "messages"] {
        if let Some(v) = request.get(key) {
            text.push_str(&v.to_string());
        }
    }
    approx_tokens(&text)
}

/// Builds the full Responses event sequence for `reply` (§5).
pub(crate) fn build_response(ctx: &ResponseCtx, reply: &Reply) -> Built {
    let mut events = Vec::new();
    let mut output: Vec<Value> = Vec::new();
    let in_progress = ctx.object("in_progress", vec![], Value::Null);
    events.push(json!({"type": "response.created", "response": in_progress}));
    events.push(json!({"type": "response.in_progress", "response": in_progress}));
    let input_tokens = input_tokens(&ctx.request);

    if let Reply::Failed { code, message } = reply {
        let mut failed = ctx.object("failed", vec![], Value::Null);
        failed["error"] = json!({"code": code, "message": message});
        events.push(json!({"type": "response.failed", "response": failed}));
        return finish(
            events,
            output,
            Value::Null,
            Some((code.clone(), message.clone())),
        );
    }

    let mut output_tokens = 0u64;
    let mut reasoning_tokens = 0u64;
    if ctx.reasoning().is_some() {
        let idx = output.len();
        let id = format!("rs_{}", uuid::Uuid::new_v4().simple());
        let summary_text = "**Thinking**\n\nWorking out a reply.";
        reasoning_tokens = 8;
        events.push(
            json!({"type": "response.output_item.added", "output_index": idx,
            "item": {"id": id, "type": "reasoning", "summary": []}}),
        );
        let mut summary = vec![];
        if ctx.wants_summary() {
            events.push(json!({"type": "response.reasoning_summary_part.added", "item_id": id,
                "output_index": idx, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}));
            for d in text_deltas(summary_text) {
                events.push(
                    json!({"type": "response.reasoning_summary_text.delta", "item_id": id,
                    "output_index": idx, "summary_index": 0, "delta": d}),
                );
            }
            events.push(
                json!({"type": "response.reasoning_summary_text.done", "item_id": id,
                "output_index": idx, "summary_index": 0, "text": summary_text}),
            );
            events.push(
                json!({"type": "response.reasoning_summary_part.done", "item_id": id,
                "output_index": idx, "summary_index": 0,
                "part": {"type": "summary_text", "text": summary_text}}),
            );
            summary.push(json!({"type": "summary_text", "text": summary_text}));
        }
        let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
        if ctx.wants_encrypted() {
            item["encrypted_content"] = json!(encrypt_reasoning(&ctx.account, &id));
        }
        events
            .push(json!({"type": "response.output_item.done", "output_index": idx, "item": item}));
        output.push(item);
    }

    match reply {
        Reply::Text(text) => {
            let idx = output.len();
            let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
            output_tokens += approx_tokens(text);
            events.push(json!({"type": "response.output_item.added", "output_index": idx,
                "item": {"id": id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}}));
            events.push(json!({"type": "response.content_part.added", "item_id": id, "output_index": idx,
                "content_index": 0, "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}));
            for d in text_deltas(text) {
                events.push(
                    json!({"type": "response.output_text.delta", "item_id": id, "output_index": idx,
                    "content_index": 0, "delta": d, "logprobs": []}),
                );
            }
            events.push(
                json!({"type": "response.output_text.done", "item_id": id, "output_index": idx,
                "content_index": 0, "text": text, "logprobs": []}),
            );
            let part =
                json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text});
            events.push(
                json!({"type": "response.content_part.done", "item_id": id, "output_index": idx,
                "content_index": 0, "part": part}),
            );
            let item = json!({"id": id, "type": "message", "status": "completed", "content": [part], "role": "assistant"});
            events.push(
                json!({"type": "response.output_item.done", "output_index": idx, "item": item}),
            );
            output.push(item);
        }
        Reply::FunctionCalls(calls) => {
            for call in calls {
                let idx = output.len();
                let id = format!("fc_{}", uuid::Uuid::new_v4().simple());
                let call_id = call
                    .call_id
                    .clone()
                    .unwrap_or_else(|| format!("call_{}", random_token(18)));
                output_tokens += approx_tokens(&call.arguments) + 4;
                events.push(
                    json!({"type": "response.output_item.added", "output_index": idx,
                    "item": {"id": id, "type": "function_call", "status": "in_progress",
                             "arguments": "", "call_id": call_id, "name": call.name}}),
                );
                for d in fragments(&call.arguments) {
                    events.push(
                        json!({"type": "response.function_call_arguments.delta", "item_id": id,
                        "output_index": idx, "delta": d}),
                    );
                }
                events.push(
                    json!({"type": "response.function_call_arguments.done", "item_id": id,
                    "output_index": idx, "arguments": call.arguments}),
                );
                let item = json!({"id": id, "type": "function_call", "status": "completed",
                    "arguments": call.arguments, "call_id": call_id, "name": call.name});
                events.push(
                    json!({"type": "response.output_item.done", "output_index": idx, "item": item}),
                );
                output.push(item);
            }
        }
        Reply::Failed { .. } | Reply::HttpError { .. } => {}
    }

    let output_total = output_tokens + reasoning_tokens;
    let usage = json!({
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_total,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_total,
    });
    let completed_output = if ctx.empty_completed_output {
        vec![]
    } else {
        output.clone()
    };
    events.push(json!({"type": "response.completed",
        "response": ctx.object("completed", completed_output, usage.clone())}));
    finish(events, output, usage, None)
}

fn finish(
    mut events: Vec<Value>,
    output: Vec<Value>,
    usage: Value,
    failed: Option<(String, String)>,
) -> Built {
    for (n, e) in events.iter_mut().enumerate() {
        e["sequence_number"] = json!(n);
    }
    Built {
        events,
        output,
        usage,
        failed,
    }
}

/// `event: <type>\ndata: <json>\n\n` frames.
pub(crate) fn responses_frames(events: &[Value]) -> Vec<Bytes> {
    events
        .iter()
        .map(|e| {
            let ty = e.get("type").and_then(Value::as_str).unwrap_or("message");
            Bytes::from(format!("event: {ty}\ndata: {e}\n\n"))
        })
        .collect()
}

/// A non-streamed Chat Completions object.
pub(crate) fn chat_completion(model: &str, reply: &Reply, prompt_tokens: u64) -> Value {
    let (message, finish, completion_tokens) = match reply {
        Reply::FunctionCalls(calls) => {
            let tool_calls: Vec<Value> = calls
                .iter()
                .map(|c| {
                    json!({"id": c.call_id.clone().unwrap_or_else(|| format!("call_{}", random_token(18))),
                       "type": "function", "function": {"name": c.name, "arguments": c.arguments}})
                })
                .collect();
            let tokens = calls.iter().map(|c| approx_tokens(&c.arguments) + 4).sum();
            (
                json!({"role": "assistant", "content": null, "tool_calls": tool_calls, "refusal": null, "annotations": []}),
                "tool_calls",
                tokens,
            )
        }
        Reply::Text(t) => (
            json!({"role": "assistant", "content": t, "refusal": null, "annotations": []}),
            "stop",
            approx_tokens(t),
        ),
        Reply::Failed { .. } | Reply::HttpError { .. } => (json!({}), "stop", 0),
    };
    json!({
        "id": format!("chatcmpl-{}", random_token(18)),
        "object": "chat.completion",
        "created": crate::home::now(),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens,
                  "prompt_tokens_details": {"cached_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0}},
        "service_tier": "default",
        "system_fingerprint": null,
    })
}

/// Chat Completions stream frames (`data: {chunk}`), ending with `data: [DONE]`.
pub(crate) fn chat_frames(
    model: &str,
    reply: &Reply,
    prompt_tokens: u64,
    include_usage: bool,
) -> Vec<Bytes> {
    let full = chat_completion(model, reply, prompt_tokens);
    let id = full["id"].clone();
    let created = full["created"].clone();
    let chunk = |delta: Value, finish: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
               "service_tier": "default", "system_fingerprint": null,
               "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    let mut chunks = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )];
    let message = &full["choices"][0]["message"];
    if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
        for (i, c) in calls.iter().enumerate() {
            chunks.push(chunk(
                json!({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                "function": {"name": c["function"]["name"], "arguments": ""}}]}),
                Value::Null,
            ));
            let args = c["function"]["arguments"].as_str().unwrap_or_default();
            for f in fragments(args) {
                chunks.push(chunk(
                    json!({"tool_calls": [{"index": i, "function": {"arguments": f}}]}),
                    Value::Null,
                ));
            }
        }
    } else if let Some(text) = message.get("content").and_then(Value::as_str) {
        for d in text_deltas(text) {
            chunks.push(chunk(json!({"content": d}), Value::Null));
        }
    }
    chunks.push(chunk(
        json!({}),
        full["choices"][0]["finish_reason"].clone(),
    ));
    if include_usage {
        let mut u = chunk(json!({}), Value::Null);
        u["choices"] = json!([]);
        u["usage"] = full["usage"].clone();
        chunks.push(u);
    }
    let mut frames: Vec<Bytes> = chunks
        .iter()
        .map(|c| Bytes::from(format!("data: {c}\n\n")))
        .collect();
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    frames
}

/// Streams `frames` according to `behaviour` (see [`StreamBehaviour`]).
pub(crate) fn stream_body(frames: Vec<Bytes>, behaviour: StreamBehaviour) -> Body {
    enum Phase {
        Running(std::vec::IntoIter<Bytes>, usize),
        Done,
    }
    let stream = futures_util::stream::unfold(
        Phase::Running(frames.into_iter(), 0),
        move |phase| async move {
            let Phase::Running(mut it, n) = phase else {
                return None;
            };
            match behaviour {
                StreamBehaviour::Stall { after_events } if n >= after_events && it.len() > 0 => {
                    std::future::pending::<()>().await;
                    return None;
                }
                StreamBehaviour::Drop { after_events } if n >= after_events && it.len() > 0 => {
                    // Let the frames already sent reach the socket before the cut.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let err = std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "fake-upstream dropped the stream",
                    );
                    return Some((Err(err), Phase::Done));
                }
                StreamBehaviour::Slow { delay_ms } => {
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                }
                _ => {}
            }
            let frame = it.next()?;
            Some((Ok(frame), Phase::Running(it, n + 1)))
        },
    );
    Body::from_stream(stream)
}
