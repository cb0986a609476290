//! The upstream side of the endpoint: which URL, which headers, sending, and relaying the
//! answer back (streamed chunk by chunk, never buffered, with an idle timeout per chunk).
//!
//! - ChatGPT profiles go to `{chatgpt_base_url}/responses` with the access token,
//!   `ChatGPT-Account-Id`, Codex's `originator`, `version` and `User-Agent`, and the session
//!   headers the client sent (`shared/protocol.md` §5).
//! - API-key profiles go to `{openai_base_url}` + the same path, unchanged except
//!   `Authorization`.

use super::errors::{ProxyError, StreamError, error_body, json_response};
use super::sse::{
    ChatCompletionAssembler, ChatStreamOptions, ChatStreamTranslator, DONE_EVENT,
    ResponsesAssembler, SseDecoder, SseEvent, encode_json,
};
use crate::http::{self, CODEX_VERSION, ORIGINATOR};
use crate::secret::Secret;
use crate::settings::UpstreamSettings;
use axum::body::Body;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Value, json};
use std::time::Duration;

/// Why the upstream client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Request headers a client's Codex sends that go through to the ChatGPT backend as they are.
const CHATGPT_PASSTHROUGH: &[&str] = &[
    "session_id",
    "session-id",
    "thread-id",
    "x-client-request-id",
    "x-openai-subagent",
    "x-openai-memgen-request",
    "x-openai-internal-codex-residency",
    "x-openai-fedramp",
];

/// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the client library sets itself.
const NOT_FORWARDED: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "authorization",
    // Ask the upstream for an uncompressed answer: the local hop gains nothing from
    // compression and the relay may append an error event to an event stream.
    "accept-encoding",
];

/// The credentials a request is sent with.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A ChatGPT login.
    ChatGpt {
        /// The bearer.
        access_token: Secret,
        /// `ChatGPT-Account-Id`.
        account_id: Option<String>,
    },
    /// An OpenAI API key.
    ApiKey(Secret),
}

impl Credentials {
    /// The bearer this request carries (to recognise it after a 401).
    pub fn bearer(&self) -> &Secret {
        match self {
            Self::ChatGpt { access_token, .. } => access_token,
            Self::ApiKey(key) => key,
        }
    }
}

/// Sends requests upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    http: reqwest::Client,
    openai_base: String,
    chatgpt_base: String,
    idle: Duration,
    user_agent: HeaderValue,
}

impl Upstream {
    /// An upstream over the configured URLs; `idle` bounds the wait for each chunk of an
    /// answer (and for the answer's head).
    pub fn new(settings: &UpstreamSettings, idle: Duration) -> Result<Self, UpstreamError> {
        // No overall timeout: answers stream for as long as the model writes. No default
        // headers either: API-key requests go out as the client sent them.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| UpstreamError::Client(e.to_string()))?;
        let user_agent = HeaderValue::from_str(&http::user_agent())
            .map_err(|e| UpstreamError::Client(e.to_string()))?;
        Ok(Self {
            http,
            openai_base: settings.openai_base_url.trim_end_matches('/').to_owned(),
            chatgpt_base: settings.chatgpt_base_url.trim_end_matches('/').to_owned(),
            idle,
            user_agent,
        })
    }

    /// The idle timeout per chunk.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// `{chatgpt_base_url}/responses`.
    pub fn chatgpt_responses_url(&self) -> String {
        format!("{}/responses", self.chatgpt_base)
    }

    /// `{chatgpt_base_url}/models?client_version=CODEX_VERSION`.
    pub fn chatgpt_models_url(&self) -> String {
        format!(
            "{}/models?client_version={CODEX_VERSION}",
            self.chatgpt_base
        )
    }

    /// `{openai_base_url}` + `rest` (the path after `/v1`, with its query).
    pub fn openai_url(&self, rest: &str) -> String {
        format!("{}{rest}", self.openai_base)
    }

    /// The headers of a ChatGPT backend request: Codex's identity, the login, the session
    /// headers of `incoming`.
    pub fn chatgpt_headers(
        &self,
        access_token: &Secret,
        account_id: Option<&str>,
        incoming: &HeaderMap,
        accept: &'static str,
    ) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in incoming {
            let n = name.as_str();
            if n.starts_with("x-codex-") || CHATGPT_PASSTHROUGH.contains(&n) {
                h.append(name.clone(), value.clone());
            }
        }
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {}", access_token.expose())) {
            h.insert(header::AUTHORIZATION, sensitive(v));
        }
        if let Some(a) = account_id.and_then(|a| HeaderValue::from_str(a).ok()) {
            h.insert(HeaderName::from_static("chatgpt-account-id"), a);
        }
        h.insert(
            HeaderName::from_static("originator"),
            HeaderValue::from_static(ORIGINATOR),
        );
        h.insert(
            HeaderName::from_static("version"),
            HeaderValue::from_static(CODEX_VERSION),
        );
        h.insert(header::USER_AGENT, self.user_agent.clone());
        h.insert(header::ACCEPT, HeaderValue::from_static(accept));
        h
    }

    /// The headers of an API-key request: the client's, with `Authorization` replaced.
    pub fn api_key_headers(key: &Secret, incoming: &HeaderMap) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in incoming {
            if !NOT_FORWARDED.contains(&name.as_str()) {
                h.append(name.clone(), value.clone());
            }
        }
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {}", key.expose())) {
            h.insert(header::AUTHORIZATION, sensitive(v));
        }
        h
    }

    /// Sends a request and waits (at most the idle timeout) for the answer's head.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<reqwest::Response, ProxyError> {
        let mut req = self.http.request(method, url).headers(headers);
        if let Some(body) = body {
            req = req.body(body);
        }
        match tokio::time::timeout(self.idle, req.send()).await {
            Err(_) => Err(ProxyError::UpstreamIdle(self.idle.as_secs())),
            Ok(Err(e)) => Err(ProxyError::UpstreamUnreachable(http::error_kind(&e).into())),
            Ok(Ok(resp)) => Ok(resp),
        }
    }
}

/// Marks a header value as sensitive (never shown by HTTP debug output).
fn sensitive(mut v: HeaderValue) -> HeaderValue {
    v.set_sensitive(true);
    v
}

/// Whether a response header of the ChatGPT backend goes back to the client.
fn chatgpt_response_header(name: &str) -> bool {
    name.starts_with("x-codex-")
        || name.starts_with("x-openai-")
        || name.starts_with("openai-")
        || name.starts_with("x-ratelimit-")
        || matches!(
            name,
            "x-request-id"
                | "x-oai-request-id"
                | "x-models-etag"
                | "x-reasoning-included"
                | "retry-after"
                | "etag"
                | "cf-ray"
        )
}

/// Copies the headers of an upstream answer that go back to the client: for ChatGPT the
/// Codex ones (rate limits, turn state, request ids); for API keys all but hop-by-hop ones.
pub fn copy_response_headers(from: &reqwest::header::HeaderMap, to: &mut HeaderMap, all: bool) {
    for (name, value) in from {
        let n = name.as_str();
        let keep = if all {
            !NOT_FORWARDED.contains(&n) && n != "content-encoding"
        } else {
            chatgpt_response_header(n)
        };
        if keep {
            to.append(name.clone(), value.clone());
        }
    }
}

/// A response with `status` and a JSON body.
fn json_with(status: StatusCode, body: &Value, headers: &reqwest::header::HeaderMap) -> Response {
    let mut resp = json_response(status, body);
    copy_response_headers(headers, resp.headers_mut(), false);
    resp
}

/// Turns an error answer of the ChatGPT backend into OpenAI's shape, keeping its status.
/// `{"detail": …}` becomes `{"error":{"message": …}}`; a 429 `usage_limit_reached` keeps all
/// its fields (Codex reads `type`, `plan_type`, `resets_at`) and its message says when the
/// limit resets.
pub async fn chatgpt_error(resp: reqwest::Response, idle: Duration) -> Response {
    read_error(resp, idle).await.into_response()
}

/// An upstream error answer, read.
#[derive(Debug)]
pub struct UpstreamFailure {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: reqwest::header::HeaderMap,
    /// Its body as text (empty when it could not be read in time).
    pub text: String,
}

impl UpstreamFailure {
    /// Whether the backend refused encrypted reasoning issued to another account (after a
    /// switch, a conversation's history holds the previous account's reasoning items).
    pub fn is_foreign_reasoning(&self) -> bool {
        self.status == StatusCode::BAD_REQUEST && self.text.contains("invalid_encrypted_content")
    }

    /// The client's answer: the same status, OpenAI's error shape.
    pub fn into_response(self) -> Response {
        json_with(
            self.status,
            &openai_error_from(self.status.as_u16(), &self.text),
            &self.headers,
        )
    }
}

/// Reads an upstream error answer (at most the idle timeout).
pub async fn read_error(resp: reqwest::Response, idle: Duration) -> UpstreamFailure {
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = resp.headers().clone();
    let text = match tokio::time::timeout(idle, resp.bytes()).await {
        Ok(Ok(b)) => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    };
    UpstreamFailure {
        status,
        headers,
        text,
    }
}

/// The OpenAI-shaped body for an upstream error answer.
pub fn openai_error_from(status: u16, text: &str) -> Value {
    let kind = match status {
        400 | 404 | 413 | 415 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        _ => "server_error",
    };
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    match parsed {
        Some(mut v) if v.get("error").is_some_and(Value::is_object) => {
            let err = &mut v["error"];
            if err.get("type").and_then(Value::as_str) == Some("usage_limit_reached") {
                err["message"] = Value::String(usage_limit_message(err));
                if err.get("code").is_none_or(Value::is_null) {
                    err["code"] = json!("usage_limit_reached");
                }
            }
            if err.get("message").is_none_or(|m| !m.is_string()) {
                err["message"] = json!(format!("the upstream answered HTTP {status}"));
            }
            if err.get("type").is_none_or(Value::is_null) {
                err["type"] = json!(kind);
            }
            if err.get("code").is_none() {
                err["code"] = Value::Null;
            }
            v
        }
        Some(v) if v.get("detail").is_some() => {
            let detail = match &v["detail"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            error_body(&detail, kind, None)
        }
        Some(Value::Object(o)) if o.get("error").and_then(Value::as_str).is_some() => {
            let msg = o.get("error").and_then(Value::as_str).unwrap_or_default();
            error_body(msg, kind, None)
        }
        _ => {
            let snippet: String = text.chars().take(300).collect();
            let message = if snippet.trim().is_empty() {
                format!("the upstream answered HTTP {status}")
            } else {
                format!("the upstream answered HTTP {status}: {}", snippet.trim())
            };
            error_body(&message, kind, Some("upstream_error"))
        }
    }
}

/// "The usage limit has been reached (plus plan); it resets at 2026-05-04 23:16 UTC, in 3 h 51 min."
fn usage_limit_message(err: &Value) -> String {
    let base = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("The usage limit has been reached")
        .trim_end_matches('.')
        .to_owned();
    let plan = err
        .get("plan_type")
        .and_then(Value::as_str)
        .map(|p| format!(" ({p} plan)"))
        .unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    let resets_at = err.get("resets_at").and_then(Value::as_i64).or_else(|| {
        err.get("resets_in_seconds")
            .and_then(Value::as_i64)
            .map(|s| now + s)
    });
    match resets_at.and_then(|t| chrono::DateTime::from_timestamp(t, 0)) {
        Some(at) => {
            let secs = u64::try_from(at.timestamp() - now).unwrap_or(0);
            let (h, m) = (secs / 3600, (secs % 3600).div_ceil(60).min(59));
            let within = if h > 0 {
                format!("{h} h {m} min")
            } else {
                format!("{} min", secs.div_ceil(60))
            };
            format!(
                "{base}{plan}; it resets at {} UTC, in {within}.",
                at.format("%Y-%m-%d %H:%M")
            )
        }
        None => format!("{base}{plan}."),
    }
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

/// Reads a whole Responses stream (with the idle timeout per chunk) into events fed to `push`.
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
    Ok(json_with(StatusCode::OK, &value, &headers))
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
    Ok(json_with(StatusCode::OK, &value, &headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_limit_keeps_its_fields_and_says_when_it_resets() {
        let resets_at = chrono::Utc::now().timestamp() + 3 * 3600 + 600;
        let body = json!({"error": {"type": "usage_limit_reached",
            "message": "The usage limit has been reached", "plan_type": "plus",
            "resets_at": resets_at, "eligible_promo": null, "resets_in_seconds": 11400}});
        let out = openai_error_from(429, &body.to_string());
        let err = &out["error"];
        assert_eq!(err["type"], "usage_limit_reached");
        assert_eq!(err["code"], "usage_limit_reached");
        assert_eq!(err["plan_type"], "plus");
        assert_eq!(err["resets_at"], resets_at);
        let msg = err["message"].as_str().unwrap();
        assert!(msg.contains("resets at") && msg.contains("3 h"), "{msg}");
    }

    #[test]
    fn detail_errors_become_openai_errors() {
        let out = openai_error_from(400, r#"{"detail":"Instructions are required"}"#);
        assert_eq!(out["error"]["message"], "Instructions are required");
        assert_eq!(out["error"]["type"], "invalid_request_error");
        let out = openai_error_from(502, "<html>bad gateway</html>");
        assert_eq!(out["error"]["code"], "upstream_error");
        assert!(out["error"]["message"].as_str().unwrap().contains("502"));
    }

    #[test]
    fn session_headers_pass_and_auth_is_replaced() {
        let up = Upstream::new(&UpstreamSettings::default(), Duration::from_secs(1)).unwrap();
        let mut incoming = HeaderMap::new();
        incoming.insert("session_id", HeaderValue::from_static("s1"));
        incoming.insert("x-codex-turn-state", HeaderValue::from_static("ts"));
        incoming.insert("authorization", HeaderValue::from_static("Bearer unused"));
        incoming.insert("cookie", HeaderValue::from_static("c=1"));
        let h = up.chatgpt_headers(
            &Secret::new("tok"),
            Some("acct"),
            &incoming,
            "text/event-stream",
        );
        assert_eq!(h["session_id"], "s1");
        assert_eq!(h["x-codex-turn-state"], "ts");
        assert_eq!(h["authorization"], "Bearer tok");
        assert_eq!(h["chatgpt-account-id"], "acct");
        assert_eq!(h["originator"], ORIGINATOR);
        assert_eq!(h["version"], CODEX_VERSION);
        assert!(h.get("cookie").is_none());
        let h = Upstream::api_key_headers(&Secret::new("sk-x"), &incoming);
        assert_eq!(h["authorization"], "Bearer sk-x");
        assert_eq!(h["cookie"], "c=1");
    }
}
