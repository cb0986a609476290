//! The ChatGPT backend's WebSocket mode at `GET /backend-api/codex/responses`, with the
//! quirks of its HTTP route: the same auth checks (at the handshake), the usage headers in
//! the `101`, each `response.create` answered with the events of the SSE stream (after a
//! `codex.rate_limits` event) under the same stream behaviours, body quirks and a usage
//! limit as `error` frames with their status. Knobs: refuse upgrades with 426, close a
//! socket with a code after its next response. Each `response.create` is logged as a
//! request (method `WEBSOCKET`, the handshake's headers, the frame as its body). The OpenAI
//! API's `GET /v1/responses` does the same with an API key (or, turned off, answers 405 as
//! a server that speaks only HTTP does).

use super::backend::{authorize, check_quirks, check_reasoning_items};
use super::common::{
    add_rate_limit_headers, check_api_key, effective_limits, header_str, openai_error,
    usage_limit_response,
};
use super::models::MODELS_ETAG;
use super::reply::default_reply;
use super::sse::{ResponseCtx, build_response};
use super::state::{Shared, random_token};
use super::types::{RateLimits, RecordedRequest, Reply, StreamBehaviour};
use crate::jwt::Identity;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The path of the route (the same as the HTTP one).
const PATH: &str = "/backend-api/codex/responses";
/// The path of the OpenAI API's route, for API keys.
const API_PATH: &str = "/v1/responses";

/// `GET /backend-api/codex/responses` with `Upgrade: websocket`.
pub(crate) async fn responses_socket(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if shared.lock().refuse_websockets {
        return refused();
    }
    let (who, token) = match authorize(&shared, &headers) {
        Ok(x) => x,
        Err(r) => return r,
    };
    open(shared, &headers, ws, who, token, PATH)
}

/// `GET /v1/responses` with `Upgrade: websocket`: the OpenAI API's WebSocket mode with an
/// API key (a 405, as from a server that speaks only HTTP, when turned off).
pub(crate) async fn api_responses_socket(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let (refuse, api) = {
        let st = shared.lock();
        (st.refuse_websockets, st.api_websockets)
    };
    if !api {
        return openai_error(
            405,
            "Method not allowed",
            "invalid_request_error",
            Some("method_not_allowed"),
        );
    }
    if refuse {
        return refused();
    }
    let key = match check_api_key(&shared, &headers) {
        Ok(key) => key,
        Err(r) => return r,
    };
    let who = Identity::new("api-key", "api");
    open(shared, &headers, ws, who, key, API_PATH)
}

/// The backend's 426 when WebSocket mode is turned off.
fn refused() -> Response {
    openai_error(
        426,
        "WebSocket connections are not available; use HTTP",
        "invalid_request_error",
        Some("upgrade_required"),
    )
}

/// The `101` of a socket served as `who` with `token`, its `response.create`s logged at
/// `path`.
fn open(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    ws: WebSocketUpgrade,
    who: Identity,
    token: String,
    path: &'static str,
) -> Response {
    let (limits, _) = effective_limits(&shared, &[who.account_id.as_str(), token.as_str()]);
    let logged: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_owned(), v)
        })
        .collect();
    let turn_state = header_str(headers, "x-codex-turn-state")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("ts_{}", random_token(24)));
    let plan = who.plan.clone();
    let session = Session {
        shared,
        headers: logged,
        who,
        token,
        path,
    };
    let mut resp = ws.on_upgrade(move |socket| session.serve(socket));
    let h = resp.headers_mut();
    add_rate_limit_headers(h, &limits, &plan);
    if let Ok(v) = HeaderValue::from_str(&turn_state) {
        h.insert("x-codex-turn-state", v);
    }
    h.insert("x-models-etag", HeaderValue::from_static(MODELS_ETAG));
    h.insert("x-reasoning-included", HeaderValue::from_static("true"));
    h.insert("openai-model", HeaderValue::from_static("gpt-5.5"));
    if let Ok(v) = HeaderValue::from_str(&format!("req_{}", random_token(16))) {
        h.insert("x-request-id", v);
    }
    resp
}

/// One open socket.
struct Session {
    shared: Arc<Shared>,
    /// The handshake's headers, logged with each `response.create`.
    headers: Vec<(String, String)>,
    who: Identity,
    token: String,
    /// Where its requests are logged.
    path: &'static str,
}

impl Session {
    async fn serve(self, mut socket: WebSocket) {
        while let Some(Ok(msg)) = socket.recv().await {
            let text = match msg {
                Message::Text(t) => t,
                Message::Binary(_) => {
                    let e = error_frame(
                        400,
                        json!({"message": "binary frames are not supported", "type": "invalid_request_error"}),
                        None,
                    );
                    if socket.send(e).await.is_err() {
                        return;
                    }
                    continue;
                }
                Message::Close(_) => return,
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            match self.answer(&mut socket, text.as_str()).await {
                Next::Continue => {}
                Next::Close(code, reason) => {
                    let frame = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    return;
                }
                Next::Gone => return,
            }
        }
    }

    /// Answers one client frame.
    async fn answer(&self, socket: &mut WebSocket, text: &str) -> Next {
        let Ok(Value::Object(mut req)) = serde_json::from_str::<Value>(text) else {
            let e =
                json!({"message": "Invalid JSON in the frame", "type": "invalid_request_error"});
            return sent(socket.send(error_frame(400, e, None)).await);
        };
        match req.remove("type").as_ref().and_then(Value::as_str) {
            Some("response.create") => {}
            Some("response.processed") => return Next::Continue,
            other => {
                let e = json!({"message": format!("Unknown frame type {other:?}"), "type": "invalid_request_error"});
                return sent(socket.send(error_frame(400, e, None)).await);
            }
        }
        let seq = self.shared.lock().record(RecordedRequest {
            method: "WEBSOCKET".into(),
            path: self.path.into(),
            headers: self.headers.clone(),
            body: text.as_bytes().to_vec(),
            stream: None,
        });
        // A socket's requests are streamed, and Codex leaves out empty instructions.
        let mut body = Value::Object(req);
        for (key, default) in [("stream", json!(true)), ("instructions", json!(""))] {
            if body.get(key).is_none() {
                body[key] = default;
            }
        }
        if let Err(r) = check_quirks(&body, false)
            .and_then(|_| check_reasoning_items(&body, &self.who.account_id))
        {
            return sent(socket.send(frame_of(r).await).await);
        }
        let keys = [self.who.account_id.as_str(), self.token.as_str()];
        let (limits, limited) = effective_limits(&self.shared, &keys);
        if let Some(resets_at) = limited {
            let mut r = usage_limit_response(&self.who.plan, resets_at);
            add_rate_limit_headers(r.headers_mut(), &limits, &self.who.plan);
            return sent(socket.send(frame_of(r).await).await);
        }
        let ctx = ResponseCtx::new(&body, true, &self.who.account_id);
        // Codex's warm-up (`generate: false`): an empty response, no reply used.
        if body.get("generate") == Some(&Value::Bool(false)) {
            let empty = ctx.object("completed", vec![], Value::Null);
            for (n, kind) in ["response.created", "response.completed"]
                .iter()
                .enumerate()
            {
                let e = json!({"type": kind, "response": empty, "sequence_number": n});
                if socket
                    .send(Message::Text(e.to_string().into()))
                    .await
                    .is_err()
                {
                    return Next::Gone;
                }
            }
            return Next::Continue;
        }
        let (reply, behaviour) = {
            let mut st = self.shared.lock();
            let reply = st
                .replies
                .pop_front()
                .unwrap_or_else(|| default_reply(&body));
            (reply, st.take_stream_behaviour())
        };
        if let Reply::HttpError { status, body } = reply {
            let err = body.get("error").cloned().unwrap_or(body);
            return sent(socket.send(error_frame(status, err, None)).await);
        }
        self.shared.lock().note_stream(seq, behaviour);
        let rate = rate_limits_event(&limits, &self.who.plan);
        if socket
            .send(Message::Text(rate.to_string().into()))
            .await
            .is_err()
        {
            return Next::Gone;
        }
        let built = build_response(&ctx, &reply);
        for (n, event) in built.events.iter().enumerate() {
            match behaviour {
                StreamBehaviour::Stall { after_events } if n >= after_events => {
                    // Nothing more; the socket stays open until the client leaves.
                    while let Some(Ok(_)) = socket.recv().await {}
                    return Next::Gone;
                }
                StreamBehaviour::Drop { after_events } if n >= after_events => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    return Next::Gone; // cut without a close frame
                }
                StreamBehaviour::Slow { delay_ms } => {
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                }
                _ => {}
            }
            if socket
                .send(Message::Text(event.to_string().into()))
                .await
                .is_err()
            {
                return Next::Gone;
            }
        }
        match self.shared.lock().next_websocket_close.pop_front() {
            Some((code, reason)) => Next::Close(code, reason),
            None => Next::Continue,
        }
    }
}

/// What the socket does after a frame was answered.
enum Next {
    Continue,
    /// Close it with this code and reason.
    Close(u16, String),
    /// The client is gone (or the socket was cut on purpose).
    Gone,
}

fn sent(r: Result<(), axum::Error>) -> Next {
    match r {
        Ok(()) => Next::Continue,
        Err(_) => Next::Gone,
    }
}

/// An `error` frame: `{"type":"error","status":…,"error":{…},"headers":{…}}`.
fn error_frame(status: u16, error: Value, headers: Option<Value>) -> Message {
    let mut frame = json!({"type": "error", "status": status, "error": error});
    if let Some(h) = headers {
        frame["headers"] = h;
    }
    Message::Text(frame.to_string().into())
}

/// The HTTP route's error answer as an `error` frame (its `x-codex-*` headers included).
async fn frame_of(resp: Response) -> Message {
    let status = resp.status().as_u16();
    let headers: serde_json::Map<String, Value> = resp
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-codex-"))
        .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or_default())))
        .collect();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let error = match (body.get("error"), body.get("detail")) {
        (Some(e), _) => e.clone(),
        (None, Some(d)) => json!({"message": d, "type": "invalid_request_error"}),
        _ => json!({"message": "error", "type": "server_error"}),
    };
    error_frame(
        status,
        error,
        (!headers.is_empty()).then_some(Value::Object(headers)),
    )
}

/// The `codex.rate_limits` event sent before each response's events.
fn rate_limits_event(limits: &RateLimits, plan: &str) -> Value {
    let window = |w: &super::types::RateWindow| json!({"used_percent": w.used_percent, "window_minutes": w.window_minutes, "reset_at": w.reset_at});
    json!({
        "type": "codex.rate_limits",
        "plan_type": plan,
        "rate_limits": {
            "allowed": true,
            "limit_reached": false,
            "primary": window(&limits.primary),
            "secondary": limits.secondary.as_ref().map(window),
        },
        "credits": {
            "has_credits": limits.has_credits,
            "unlimited": limits.unlimited,
            "balance": limits.balance,
        },
    })
}
