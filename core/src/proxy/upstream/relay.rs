//! Relaying an upstream answer to the client: streamed chunk by chunk, never buffered, with
//! an idle timeout per chunk; or read whole, event by event, for an answer assembled in one
//! piece. A cut, stalled or broken upstream ends the client's stream with an error event,
//! never with a clean end.
//!
//! What the client gets for the backend's Responses events is the dialect's business: it
//! implements [`StreamTranslation`], the relay feeds it and writes out what it returns.

use super::http::copy_response_headers;
use crate::http;
use crate::proxy::errors::{ProxyError, StreamError, error_body, json_response};
use crate::proxy::sse::{SseDecoder, SseEvent, encode_json};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::Value;
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

/// A dialect's side of a streamed answer: what the client gets for the backend's Responses
/// stream. The relay reads the upstream, decodes its events and writes what this returns;
/// after [`AnswerState::Complete`] or [`AnswerState::Failed`] it asks for nothing more.
pub trait StreamTranslation: Send {
    /// One upstream chunk, `raw` as it came and decoded into `events`.
    fn chunk(&mut self, raw: Bytes, events: &[SseEvent]) -> Translated;
    /// The upstream ended cleanly: the client's last bytes, an error event when the answer is
    /// incomplete.
    fn end(&mut self) -> Option<Bytes>;
    /// The last event of a failed answer, carrying OpenAI's error `body` (the upstream was
    /// cut, stalled or sent an undecodable stream).
    fn fail(&self, body: &Value) -> Bytes;
}

/// What the client gets for one upstream chunk.
#[derive(Debug)]
pub struct Translated {
    /// What to send now; `None` when there is nothing to send yet.
    pub out: Option<Bytes>,
    /// Where the answer stands after this chunk.
    pub state: AnswerState,
}

impl Translated {
    /// One upstream chunk translated event by event, as every dialect does it: `step` turns
    /// an event into the client's text, or into the text of the error that ends the answer
    /// ([`AnswerState::Failed`]); events after the answer's end are ignored. After the events
    /// the answer is [`AnswerState::Complete`] when `ended` says so (`last` appended, e.g.
    /// `data: [DONE]`), else [`AnswerState::Open`].
    pub fn from_events<T: ?Sized>(
        translator: &mut T,
        events: &[SseEvent],
        mut step: impl FnMut(&mut T, &SseEvent) -> Result<String, String>,
        ended: impl Fn(&T) -> bool,
        last: &str,
    ) -> Self {
        let mut out = String::new();
        for ev in events {
            if ended(translator) {
                break;
            }
            match step(translator, ev) {
                Ok(text) => out.push_str(&text),
                Err(text) => {
                    out.push_str(&text);
                    return Self {
                        out: Some(Bytes::from(out)),
                        state: AnswerState::Failed,
                    };
                }
            }
        }
        let state = if ended(translator) {
            out.push_str(last);
            AnswerState::Complete
        } else {
            AnswerState::Open
        };
        Self {
            out: (!out.is_empty()).then(|| Bytes::from(out)),
            state,
        }
    }
}

/// Where a relayed answer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerState {
    /// More is to come.
    Open,
    /// The answer is complete: what follows its last event is read in the background and
    /// dropped, so the upstream connection goes back to the pool.
    Complete,
    /// The answer failed and `out` ends it with an error event; the upstream is let go.
    Failed,
}

type ByteStream = BoxStream<'static, reqwest::Result<Bytes>>;

/// What the relay does with the upstream's body.
enum Mode {
    /// Decode a Responses stream and let the dialect answer.
    Translate {
        decoder: SseDecoder,
        dialect: Box<dyn StreamTranslation>,
    },
    /// Forward any body byte for byte; on a cut, add an error event if it is an event stream.
    Raw { sse: bool },
}

/// Relays an upstream answer to the client chunk by chunk.
struct Relay {
    upstream: ByteStream,
    mode: Mode,
    idle: Duration,
    done: bool,
}

impl Relay {
    fn new(resp: reqwest::Response, mode: Mode, idle: Duration) -> Self {
        Self {
            upstream: resp.bytes_stream().boxed(),
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
        let Mode::Translate { decoder, dialect } = &mut self.mode else {
            return Some(Ok(chunk));
        };
        let events = match decoder.feed(&chunk) {
            Ok(e) => e,
            Err(e) => {
                self.done = true;
                return self.fail(StreamError::from(e).error_body());
            }
        };
        let Translated { out, state } = dialect.chunk(chunk, &events);
        match state {
            AnswerState::Open => {}
            AnswerState::Complete => {
                // The answer is complete; anything after it is not waited for.
                self.done = true;
                self.drain_rest();
            }
            AnswerState::Failed => self.done = true,
        }
        out.map(Ok)
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
            Mode::Translate { dialect, .. } => dialect.end().map(Ok),
        }
    }

    /// The last event of a failed stream (an OpenAI error body), or an abort for a non-SSE
    /// body.
    fn fail(&mut self, body: Value) -> Option<Result<Bytes, std::io::Error>> {
        match &self.mode {
            Mode::Raw { sse: false } => {
                Some(Err(std::io::Error::other("the upstream answer was cut")))
            }
            Mode::Raw { sse: true } => Some(Ok(Bytes::from(encode_json(None, &body)))),
            Mode::Translate { dialect, .. } => Some(Ok(dialect.fail(&body))),
        }
    }
}

fn relay_body(relay: Relay) -> Body {
    let stream = futures_util::stream::unfold(relay, |mut r| async move {
        r.next().await.map(|item| (item, r))
    });
    Body::from_stream(stream)
}

/// A streamed response of `content_type` with `body`.
fn stream_response(
    body: Body,
    content_type: &'static str,
    upstream_headers: &reqwest::header::HeaderMap,
) -> Response {
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    copy_response_headers(upstream_headers, h, false);
    resp
}

/// Streams a Responses answer to the client as `dialect` translates it, with the backend's
/// headers that go back to the client; a cut, stalled or undecodable upstream ends it with
/// the dialect's error event.
pub fn stream_translated(
    resp: reqwest::Response,
    dialect: Box<dyn StreamTranslation>,
    idle: Duration,
) -> Response {
    stream_translated_as(resp, dialect, idle, "text/event-stream; charset=utf-8")
}

/// [`stream_translated`] for a dialect whose stream is not server-sent events (Ollama's
/// NDJSON): the answer's `Content-Type` is `content_type`.
pub fn stream_translated_as(
    resp: reqwest::Response,
    dialect: Box<dyn StreamTranslation>,
    idle: Duration,
    content_type: &'static str,
) -> Response {
    let headers = resp.headers().clone();
    let relay = Relay::new(
        resp,
        Mode::Translate {
            decoder: SseDecoder::new(),
            dialect,
        },
        idle,
    );
    stream_response(relay_body(relay), content_type, &headers)
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
pub async fn read_events(
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
