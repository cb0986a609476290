//! A Responses stream relayed to a Responses client as it comes, byte for byte, watching for
//! its last event; a cut, stalled or broken upstream ends it with a `response.failed` event.

use crate::proxy::dialects::events::ResponsesProgress;
use crate::proxy::errors::StreamError;
use crate::proxy::sse::{SseEvent, encode_json};
use crate::proxy::upstream::{AnswerState, StreamTranslation, Translated, stream_translated};
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{Value, json};
use std::time::Duration;

/// Forwards a Responses stream unchanged, noting how far it has come.
#[derive(Debug, Default)]
struct PassThrough {
    progress: ResponsesProgress,
}

impl StreamTranslation for PassThrough {
    fn chunk(&mut self, raw: Bytes, events: &[SseEvent]) -> Translated {
        for ev in events {
            self.progress.note(ev);
        }
        let state = if self.progress.ended {
            AnswerState::Complete
        } else {
            AnswerState::Open
        };
        Translated {
            out: Some(raw),
            state,
        }
    }

    fn end(&mut self) -> Option<Bytes> {
        (!self.progress.ended).then(|| self.fail(&StreamError::Truncated.error_body()))
    }

    fn fail(&self, body: &Value) -> Bytes {
        // Codex ends the turn (and retries) on `response.failed`; OpenAI's client libraries
        // raise on the `error` key.
        let id = self.progress.response_id.as_deref();
        let mut event = json!({
            "type": "response.failed",
            "response": {
                "id": id.unwrap_or("resp_codex_router"),
                "object": "response",
                "status": "failed",
                "error": {
                    "code": body["error"]["code"].clone(),
                    "message": body["error"]["message"].clone(),
                },
            },
        });
        event["error"] = body["error"].clone();
        Bytes::from(encode_json(Some("response.failed"), &event))
    }
}

/// Streams a Responses answer through unchanged; a cut or stalled upstream ends it with a
/// `response.failed` event.
pub fn stream(resp: reqwest::Response, idle: Duration) -> Response {
    stream_translated(resp, Box::new(PassThrough::default()), idle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::fixtures::{TEXT_STREAM, decode_all};

    #[test]
    fn the_stream_passes_unchanged_and_a_cut_one_ends_in_response_failed() {
        let mut p = PassThrough::default();
        let whole = Bytes::from_static(TEXT_STREAM.as_bytes());
        let Translated { out, state } = p.chunk(whole.clone(), &decode_all(&whole));
        assert_eq!(out, Some(whole));
        assert_eq!(state, AnswerState::Complete);
        assert_eq!(p.end(), None);

        let cut = &TEXT_STREAM[..TEXT_STREAM.find("event: response.completed").unwrap()];
        let mut p = PassThrough::default();
        let Translated { state, .. } = p.chunk(Bytes::new(), &decode_all(cut.as_bytes()));
        assert_eq!(state, AnswerState::Open);
        let last = decode_all(&p.end().unwrap());
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].event.as_deref(), Some("response.failed"));
        let event = last[0].json().unwrap();
        assert_eq!(event["response"]["id"], "resp_0a1b2c");
        assert_eq!(event["response"]["status"], "failed");
        assert_eq!(event["response"]["error"]["code"], "stream_truncated");
        assert_eq!(event["error"]["code"], "stream_truncated");
    }
}
