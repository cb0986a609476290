//! The handshake of Codex's WebSocket mode (`GET /v1/responses` with `Upgrade: websocket`,
//! `docs/codex-websocket.md`). The guards have run (Origin, Host, other users, the local
//! key). The profile is picked as for HTTP (pinned, or the active one with failover), the
//! backend's socket is opened first with its fresh credentials, and only then does the
//! client get its `101`, with the backend's handshake headers; a refusal of the backend
//! (`426` or any other status) is the client's answer as it came, so Codex falls back to
//! HTTP at once. The relay ([`responses::relay`]) runs on the connection's task.

use super::AppState;
use super::connections::Upgrades;
use super::request::{Params, result, served};
use crate::proxy::accounts::{Active, Opened};
use crate::proxy::dialects::responses::{self, SocketSession};
use crate::proxy::errors::{ProxyError, json_response};
use crate::proxy::upstream::UpstreamFailure;
use crate::proxy::upstream::websocket::copy_handshake_headers;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// Whether a request asks to become a WebSocket.
pub(super) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The handshake of a socket to `/v1/responses` (or `/p/<name>/v1/responses`).
pub(super) async fn responses_socket(
    st: Arc<AppState>,
    params: Params,
    mut req: Request,
) -> Response {
    let key = match client_key(&req) {
        Ok(key) => key,
        Err(e) => {
            let mut resp = e.into_response();
            // The version this endpoint speaks (RFC 6455 §4.4).
            resp.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
            return resp;
        }
    };
    let Some(upgrades) = req.extensions().get::<Upgrades>().cloned() else {
        return ProxyError::NotFound("this connection can't switch protocols".into())
            .into_response();
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let pinned = match params.profile() {
        Ok(p) => p.is_some(),
        Err(e) => return e.into_response(),
    };
    let active = match st.accounts.resolve(params.profile().ok().flatten()).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let incoming = req.headers().clone();
    let mut serving = active.name().to_owned();
    let opened = st
        .accounts
        .open_socket(&active, &mut serving, !pinned, &incoming)
        .await;
    let open = match opened {
        Ok(Opened::Open(open)) => open,
        Ok(Opened::Refused(failure)) => return served(refusal(failure), &serving),
        Err(e) => return result(Err(e), &serving),
    };
    let mut resp = Response::new(axum::body::Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    copy_handshake_headers(&open.headers, h);
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    let session = SocketSession {
        serving: serving.clone(),
        pinned,
        chatgpt: matches!(active.as_ref(), Active::ChatGpt { .. }),
        incoming,
        upstream: open.socket,
        idle: st.accounts.upstream().idle(),
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(st.body_limit))
        .max_frame_size(Some(st.body_limit));
    let stop = upgrades.stop();
    upgrades.hand_over(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return; // the client left before its 101
        };
        let io = hyper_util::rt::TokioIo::new(upgraded);
        let client = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        responses::relay(&st.accounts, client, session, stop).await;
    });
    served(resp, &serving)
}

/// The client's `Sec-WebSocket-Key`, when its request is a WebSocket handshake this
/// endpoint speaks (`GET`, version 13); else why not.
fn client_key(req: &Request) -> Result<String, ProxyError> {
    if req.method() != Method::GET {
        return Err(ProxyError::MethodNotAllowed(req.method().to_string()));
    }
    let headers = req.headers();
    let version = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok());
    if version.map(str::trim) != Some("13") {
        return Err(ProxyError::BadHandshake("Sec-WebSocket-Version must be 13"));
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .ok_or(ProxyError::BadHandshake("Sec-WebSocket-Key is missing"))
}

/// The client's answer to an upgrade the upstream refused: the upstream's own, except that an
/// upstream with no WebSocket at that path (404, 405: an OpenAI-compatible server that speaks
/// only HTTP) becomes a 426, on which Codex moves the session to HTTP at once; any other
/// refusal it retries like a failed stream first.
fn refusal(failure: UpstreamFailure) -> Response {
    if matches!(
        failure.status,
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    ) {
        let body = json!({"error": {
            "message": format!(
                "the upstream has no WebSocket mode here ({}); use HTTP",
                failure.status
            ),
            "type": "invalid_request_error",
            "param": null,
            "code": "websocket_unsupported",
        }});
        return json_response(StatusCode::UPGRADE_REQUIRED, &body);
    }
    failure.into_response()
}
