//! The backend's Responses stream, read: each event parsed, the error a failed response
//! carries, and how far the stream has come. Every dialect translates from these events.

use crate::proxy::errors::{ProxyError, StreamError};
use crate::proxy::sse::SseEvent;
use crate::proxy::upstream::read_events;
use serde_json::Value;
use std::time::Duration;

/// Parses an SSE event's data as a Responses event. `Ok(None)` for `[DONE]` and empty data.
/// When the JSON has no `type`, the SSE `event:` name stands in for it.
pub(super) fn event_json(ev: &SseEvent) -> Result<Option<Value>, StreamError> {
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
pub(super) fn failure(event: &Value) -> StreamError {
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

/// How far a Responses stream has come: whether its last event (`response.completed`,
/// `response.incomplete`, `response.failed` or `error`) arrived, and its response id.
#[derive(Debug, Default)]
pub(super) struct ResponsesProgress {
    /// The last event arrived.
    pub(super) ended: bool,
    /// The response id, once an event named it.
    pub(super) response_id: Option<String>,
}

impl ResponsesProgress {
    /// Notes one event, by its SSE name or else its JSON `type`.
    pub(super) fn note(&mut self, ev: &SseEvent) {
        let needs_json = self.response_id.is_none() || ev.event.is_none();
        let parsed = if needs_json { ev.json().ok() } else { None };
        let kind = ev
            .event
            .clone()
            .or_else(|| {
                parsed
                    .as_ref()
                    .and_then(|v| v.get("type"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        if self.response_id.is_none() {
            self.response_id = parsed
                .as_ref()
                .and_then(|v| v.pointer("/response/id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        if matches!(
            kind.as_str(),
            "response.completed" | "response.incomplete" | "response.failed" | "error"
        ) {
            self.ended = true;
        }
    }
}

/// Reads a whole Responses answer (with the idle timeout per chunk), feeding each event to
/// `push`, until its last event arrived or the upstream ended: what every whole-answer
/// assembler reads.
pub(super) async fn read_answer(
    resp: reqwest::Response,
    idle: Duration,
    mut push: impl FnMut(&SseEvent) -> Result<(), StreamError>,
) -> Result<(), ProxyError> {
    let mut progress = ResponsesProgress::default();
    read_events(resp, idle, |ev| {
        push(ev)?;
        progress.note(ev);
        Ok(progress.ended)
    })
    .await
}
