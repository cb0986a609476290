//! Relaying an upstream answer to the client: streamed chunk by chunk, never buffered, with
//! an idle timeout per chunk; or read whole, event by event, for an answer assembled in one
//! piece. A cut, stalled or broken upstream ends the client's stream with an error event,
//! never with a clean end.

use super::http::copy_response_headers;
use crate::http;
use crate::proxy::errors::{ProxyError, StreamError, error_body, json_response};
use crate::proxy::sse::{
    ChatCompletionAssembler, ChatStreamOptions, ChatStreamTranslator, DONE_EVENT,
    ResponsesAssembler, SseDecoder, SseEvent, encode_json,
};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Value, json};
use std::time::Duration;

/// A JSON answer with `status` and `body`, carrying the backend's headers that go back to the
/// client.
pub fn json_answer(
    status: StatusCode,
    body: &Value,
    headers: &reqwest::header::HeaderMap,
) -> Response {
    let mut resp = json_response(status, body);
    copy_response_headers(headers, resp.headers_mut(), false);
    resp
}

type ByteStream = BoxStream<'static, reqwest::Result<Bytes>>;

/// What the relay does with the upstream's events.
enum Mode {
    /// Translate a Responses stream into `chat.completion.chunk`s.
    Chat(Box<ChatStreamTranslator>),
    /// Forward a Responses stream byte for byte, watching for its end event.
    Responses {
        ended: bool,
        response_id: Option<String>,
    },
    /// Forward any body byte for byte; on a cut, add an error event if it is an event stream.
    Raw { sse: bool },
}

/// Relays an upstream answer to the client chunk by chunk.
struct Relay {
    upstream: ByteStream,
    decoder: SseDecoder,
    mode: Mode,
    idle: Duration,
    done: bool,
}

impl Relay {
    fn new(resp: reqwest::Response, mode: Mode, idle: Duration) -> Self {
        Self {
            upstream: resp.bytes_stream().boxed(),
            decoder: SseDecoder::new(),
            mode,
            idle,
            done: false,
        }
    }

    /// The next piece for the client; `None` at the end; `Err` aborts a non-SSE body.
    async fn next(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        loop {
            if self.done {
                return None;
            }
            let item = tokio::time::timeout(self.idle, self.upstream.next()).await;
            let chunk = match item {
                Err(_) => {
                    self.done = true;
                    let body = error_body(
                        &format!(
                            "the upstream sent nothing for {} seconds; the answer is incomplete",
                            self.idle.as_secs()
                        ),
                        "server_error",
                        Some("upstream_timeout"),
                    );
                    tracing::warn!(
                        "upstream stream stalled; ending the client's stream with an error"
                    );
                    return self.fail(body);
                }
                Ok(Some(Err(e))) => {
                    self.done = true;
                    tracing::warn!(
                        error = http::error_kind(&e),
                        "upstream stream cut; ending the client's stream with an error"
                    );
                    return self.fail(StreamError::Truncated.error_body());
                }
                Ok(None) => {
                    self.done = true;
                    return self.end();
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            match self.forward(chunk) {
                Some(out) => return Some(out),
                None => continue,
            }
        }
    }

    /// Handles one upstream chunk; `None` when there is nothing to send yet.
    fn forward(&mut self, chunk: Bytes) -> Option<Result<Bytes, std::io::Error>> {
        match &mut self.mode {
            Mode::Raw { .. } => Some(Ok(chunk)),
            Mode::Responses { .. } => {
                let events = match self.decoder.feed(&chunk) {
                    Ok(e) => e,
                    Err(e) => {
                        self.done = true;
                        return self.fail(StreamError::from(e).error_body());
                    }
                };
                if let Mode::Responses { ended, response_id } = &mut self.mode {
                    for ev in &events {
                        note_responses_event(ev, ended, response_id);
                    }
                    if *ended {
                        // The answer is complete; anything after it is not waited for.
                        self.done = true;
                        self.drain_rest();
                    }
                }
                Some(Ok(chunk))
            }
            Mode::Chat(translator) => {
                let events = match self.decoder.feed(&chunk) {
                    Ok(e) => e,
                    Err(e) => {
                        self.done = true;
                        return self.fail(StreamError::from(e).error_body());
                    }
                };
                let mut out = String::new();
                for ev in &events {
                    match translator.push_sse(ev) {
                        Ok(chunks) => {
                            for c in &chunks {
                                out.push_str(&encode_json(None, c));
                            }
                        }
                        Err(e) => {
                            self.done = true;
                            out.push_str(&encode_json(None, &e.error_body()));
                            return Some(Ok(Bytes::from(out)));
                        }
                    }
                }
                if translator.is_ended() {
                    self.done = true;
                    out.push_str(DONE_EVENT);
                    self.drain_rest();
                }
                (!out.is_empty()).then(|| Ok(Bytes::from(out)))
            }
        }
    }

    /// Reads what follows the answer's last event in the background, so the upstream
    /// connection goes back to the pool instead of being closed mid-body.
    fn drain_rest(&mut self) {
        let rest = std::mem::replace(&mut self.upstream, futures_util::stream::empty().boxed());
        drain(rest);
    }

    /// The upstream ended cleanly.
    fn end(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        match &mut self.mode {
            Mode::Raw { .. } => None,
            Mode::Responses { ended: true, .. } => None,
            Mode::Responses { .. } => self.fail(StreamError::Truncated.error_body()),
            Mode::Chat(translator) => match translator.finish() {
                Ok(chunks) => {
                    let mut out: String = chunks.iter().map(|c| encode_json(None, c)).collect();
                    out.push_str(DONE_EVENT);
                    Some(Ok(Bytes::from(out)))
                }
                Err(e) => self.fail(e.error_body()),
            },
        }
    }

    /// The last event of a failed stream (an OpenAI error body), or an abort for a non-SSE
    /// body.
    fn fail(&mut self, body: Value) -> Option<Result<Bytes, std::io::Error>> {
        match &self.mode {
            Mode::Raw { sse: false } => {
                Some(Err(std::io::Error::other("the upstream answer was cut")))
            }
            Mode::Raw { sse: true } | Mode::Chat(_) => {
                Some(Ok(Bytes::from(encode_json(None, &body))))
            }
            Mode::Responses { response_id, .. } => {
                // Codex ends the turn (and retries) on `response.failed`; OpenAI's client
                // libraries raise on the `error` key.
                let mut event = json!({
                    "type": "response.failed",
                    "response": {
                        "id": response_id.clone().unwrap_or_else(|| "resp_codex_router".into()),
                        "object": "response",
                        "status": "failed",
                        "error": {
                            "code": body["error"]["code"].clone(),
                            "message": body["error"]["message"].clone(),
                        },
                    },
                });
                event["error"] = body["error"].clone();
                Some(Ok(Bytes::from(encode_json(
                    Some("response.failed"),
                    &event,
                ))))
            }
        }
    }
}

/// Tracks the end of a Responses stream and its response id.
fn note_responses_event(ev: &SseEvent, ended: &mut bool, response_id: &mut Option<String>) {
    let needs_json = response_id.is_none() || ev.event.is_none();
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
    if response_id.is_none() {
        *response_id = parsed
            .as_ref()
            .and_then(|v| v.pointer("/response/id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    if matches!(
        kind.as_str(),
        "response.completed" | "response.incomplete" | "response.failed" | "error"
    ) {
        *ended = true;
    }
}

fn relay_body(relay: Relay) -> Body {
    let stream = futures_util::stream::unfold(relay, |mut r| async move {
        r.next().await.map(|item| (item, r))
    });
    Body::from_stream(stream)
}

/// An event-stream response with `body`.
fn sse_response(body: Body, upstream_headers: &reqwest::header::HeaderMap) -> Response {
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    copy_response_headers(upstream_headers, h, false);
    resp
}

/// Streams a Responses answer as Chat Completions chunks ending in `data: [DONE]`, or in an
/// error event when the upstream fails, is cut or stalls.
pub fn chat_stream(resp: reqwest::Response, opts: ChatStreamOptions, idle: Duration) -> Response {
    let headers = resp.headers().clone();
    let relay = Relay::new(
        resp,
        Mode::Chat(Box::new(ChatStreamTranslator::new(opts))),
        idle,
    );
    sse_response(relay_body(relay), &headers)
}

/// Streams a Responses answer through unchanged; a cut or stalled upstream ends it with a
/// `response.failed` event.
pub fn responses_stream(resp: reqwest::Response, idle: Duration) -> Response {
    let headers = resp.headers().clone();
    let relay = Relay::new(
        resp,
        Mode::Responses {
            ended: false,
            response_id: None,
        },
        idle,
    );
    sse_response(relay_body(relay), &headers)
}

/// Relays any answer unchanged (API-key profiles): status, headers (minus hop-by-hop ones)
/// and body, chunk by chunk.
pub fn raw(resp: reqwest::Response, idle: Duration) -> Response {
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let upstream_headers = resp.headers().clone();
    let sse = upstream_headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let relay = Relay::new(resp, Mode::Raw { sse }, idle);
    let mut out = Response::new(relay_body(relay));
    *out.status_mut() = status;
    copy_response_headers(&upstream_headers, out.headers_mut(), true);
    out
}

/// How long the rest of an answer body is read after its last event (see [`drain`]).
const DRAIN_FOR: Duration = Duration::from_secs(2);

/// Reads the rest of an upstream body (for at most [`DRAIN_FOR`]) on its own task.
fn drain(mut rest: ByteStream) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(DRAIN_FOR, async {
            while let Some(Ok(_)) = rest.next().await {}
        })
        .await;
    });
}

/// Reads a whole Responses stream (with the idle timeout per chunk) into events fed to
/// `push`, until `push` says the answer is complete or the upstream ends.
async fn read_events(
    resp: reqwest::Response,
    idle: Duration,
    mut push: impl FnMut(&SseEvent) -> Result<bool, StreamError>,
) -> Result<(), ProxyError> {
    let mut upstream = resp.bytes_stream().boxed();
    let mut decoder = SseDecoder::new();
    loop {
        let chunk = match tokio::time::timeout(idle, upstream.next()).await {
            Err(_) => return Err(ProxyError::UpstreamIdle(idle.as_secs())),
            Ok(None) => return Ok(()),
            Ok(Some(Err(_))) => return Err(StreamError::Truncated.into()),
            Ok(Some(Ok(c))) => c,
        };
        for ev in decoder.feed(&chunk).map_err(StreamError::from)? {
            if push(&ev)? {
                drain(upstream);
                return Ok(());
            }
        }
    }
}

/// A whole `chat.completion` from a Responses stream.
pub async fn collect_chat(
    resp: reqwest::Response,
    model: &str,
    idle: Duration,
) -> Result<Response, ProxyError> {
    let headers = resp.headers().clone();
    let mut assembler = ChatCompletionAssembler::new(model, false);
    let mut ended = false;
    let mut response_id = None;
    read_events(resp, idle, |ev| {
        assembler.push_sse(ev)?;
        note_responses_event(ev, &mut ended, &mut response_id);
        Ok(ended)
    })
    .await?;
    let value = assembler.finish()?;
    Ok(json_answer(StatusCode::OK, &value, &headers))
}

/// The final Responses object from a Responses stream.
pub async fn collect_responses(
    resp: reqwest::Response,
    idle: Duration,
) -> Result<Response, ProxyError> {
    let headers = resp.headers().clone();
    let mut assembler = ResponsesAssembler::new();
    let mut ended = false;
    let mut response_id = None;
    read_events(resp, idle, |ev| {
        assembler.push_sse(ev)?;
        note_responses_event(ev, &mut ended, &mut response_id);
        Ok(ended)
    })
    .await?;
    let value = assembler.finish()?;
    Ok(json_answer(StatusCode::OK, &value, &headers))
}
