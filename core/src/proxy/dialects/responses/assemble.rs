//! The final Responses object assembled from a Responses stream, for non-streaming
//! `/v1/responses` requests (the ChatGPT backend only streams).

use crate::proxy::dialects::events::{event_json, failure, read_answer};
use crate::proxy::errors::{ProxyError, StreamError};
use crate::proxy::sse::SseEvent;
use crate::proxy::upstream::json_answer;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use std::time::Duration;

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

/// The final Responses object from a Responses stream, with the backend's headers that go
/// back to the client.
pub async fn collect(resp: reqwest::Response, idle: Duration) -> Result<Response, ProxyError> {
    let headers = resp.headers().clone();
    let mut assembler = ResponsesAssembler::new();
    read_answer(resp, idle, |ev| assembler.push_sse(ev)).await?;
    let value = assembler.finish()?;
    Ok(json_answer(StatusCode::OK, &value, &headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::fixtures::{
        TEXT_STREAM, decode_all, events_of, failed_stream, garbage_events,
    };

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
    fn dropped_stream_is_an_error() {
        let mut events = events_of(TEXT_STREAM);
        events.pop(); // no response.completed
        let mut r = ResponsesAssembler::new();
        for e in &events {
            r.push(e).unwrap();
        }
        assert_eq!(r.finish(), Err(StreamError::Truncated));
    }

    #[test]
    fn failed_response_is_an_error() {
        let events = failed_stream();
        let mut r = ResponsesAssembler::new();
        r.push(&events[0]).unwrap();
        let err = r.push(&events[1]).unwrap_err();
        assert_eq!(
            err,
            StreamError::Failed {
                code: Some("context_length_exceeded".into()),
                message: "Your input exceeds the context window of this model.".into()
            }
        );
        assert_eq!(r.push(&events[2]).unwrap_err(), err);
        assert_eq!(r.finish().unwrap_err(), err);
    }

    #[test]
    fn garbage_events_never_panic() {
        let mut r = ResponsesAssembler::new();
        for j in &garbage_events() {
            r.push(j).unwrap();
        }
        assert!(r.finish().is_ok());
    }
}
