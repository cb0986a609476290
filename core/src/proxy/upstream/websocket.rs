//! The WebSocket transport to the backend (`docs/codex-websocket.md`): the URL of an HTTP
//! endpoint as `ws://`/`wss://`, the one function that opens an upstream socket
//! ([`connect`]), and the handshake headers that go back to the client with the `101`.
//!
//! The socket goes out as every other call does ([`Network`]): through the configured proxy
//! (an HTTP `CONNECT` tunnel) unless `NO_PROXY` says otherwise, over rustls with the same
//! roots (bundled, the system's, and a company CA).

use super::failure::UpstreamFailure;
use super::http::chatgpt_response_header;
use crate::http::UNTRUSTED_CERTIFICATE;
use crate::net::Network;
use crate::proxy::errors::ProxyError;
use axum::http::{HeaderMap, StatusCode};
use std::time::Duration;
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::TlsError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A socket open to the backend.
pub type UpstreamSocket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// How a handshake with the backend ended.
#[derive(Debug)]
pub enum Handshake {
    /// `101`: the socket and the handshake's response headers.
    Open(Box<UpstreamSocket>, HeaderMap),
    /// Any other status: the backend's answer, to give the client as it is.
    Refused(UpstreamFailure),
}

/// The handshake's own headers, set by the WebSocket client itself; the client's never go
/// upstream (its key, its extension offers: compression is not relayed).
fn handshake_header(name: &str) -> bool {
    matches!(
        name,
        "host" | "connection" | "upgrade" | "content-length" | "transfer-encoding"
    ) || name.starts_with("sec-websocket-")
}

/// `url` (`http(s)://…`) as the WebSocket URL of the same endpoint (`ws(s)://…`).
pub fn websocket_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        url.to_owned()
    }
}

/// Opens a socket to `url` (`ws://` or `wss://`) over `network` with `headers` (the
/// credentials among them), waiting at most `timeout` for the connection and the handshake.
/// Frames of up to `max_message` bytes are read. A refusal is [`Handshake::Refused`]; an
/// unreachable backend is an error.
pub async fn connect(
    network: &Network,
    url: &str,
    headers: HeaderMap,
    timeout: Duration,
    max_message: usize,
) -> Result<Handshake, ProxyError> {
    let mut request = url
        .into_client_request()
        .map_err(|e| ProxyError::UpstreamUnreachable(format!("bad WebSocket URL: {e}")))?;
    for (name, value) in &headers {
        if !handshake_header(name.as_str()) {
            request.headers_mut().append(name.clone(), value.clone());
        }
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    let uri = request.uri();
    let scheme = uri.scheme_str().unwrap_or("wss").to_owned();
    let host = uri.host().unwrap_or_default().to_owned();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "ws" { 80 } else { 443 });
    let connecting = async {
        let tcp = network
            .connect(&scheme, &host, port)
            .await
            .map_err(|e| ProxyError::UpstreamUnreachable(e.to_string()))?;
        let tls = Connector::Rustls(network.websocket_tls());
        Ok::<_, ProxyError>(
            tokio_tungstenite::client_async_tls_with_config(request, tcp, Some(config), Some(tls))
                .await,
        )
    };
    match tokio::time::timeout(timeout, connecting).await {
        Err(_) => Err(ProxyError::UpstreamIdle(timeout.as_secs())),
        Ok(Err(e)) => Err(e),
        Ok(Ok(Ok((socket, resp)))) => Ok(Handshake::Open(Box::new(socket), resp.headers().clone())),
        Ok(Ok(Err(WsError::Http(resp)))) => {
            let status =
                StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let text = resp
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Ok(Handshake::Refused(UpstreamFailure {
                status,
                headers: resp.headers().clone(),
                text,
            }))
        }
        Ok(Ok(Err(e))) => Err(ProxyError::UpstreamUnreachable(error_kind(&e))),
    }
}

/// What went wrong opening a socket, in words that never hold a URL's secrets.
fn error_kind(e: &WsError) -> String {
    match e {
        WsError::Tls(TlsError::Rustls(tls))
            if matches!(
                **tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            ) =>
        {
            UNTRUSTED_CERTIFICATE.into()
        }
        WsError::Io(io)
            if io
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
                .is_some_and(|t| matches!(t, rustls::Error::InvalidCertificate(_))) =>
        {
            UNTRUSTED_CERTIFICATE.into()
        }
        WsError::Io(io) => format!("connection failed: {}", io.kind()),
        WsError::Tls(_) => "TLS handshake failed".into(),
        WsError::Url(_) => "bad WebSocket URL".into(),
        WsError::Protocol(p) => format!("WebSocket handshake failed: {p}"),
        _ => "the WebSocket handshake failed".into(),
    }
}

/// Copies the backend's handshake headers that go back to the client with the `101`: the
/// Codex ones (turn state, models etag, reasoning included, server model, usage figures,
/// request ids), as for an HTTP answer.
pub fn copy_handshake_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if chatgpt_response_header(name.as_str()) {
            to.append(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_websocket_urls() {
        assert_eq!(
            websocket_url("https://chatgpt.com/backend-api/codex/responses"),
            "wss://chatgpt.com/backend-api/codex/responses"
        );
        assert_eq!(
            websocket_url("http://127.0.0.1:5/v1/responses"),
            "ws://127.0.0.1:5/v1/responses"
        );
    }

    #[test]
    fn the_clients_handshake_headers_stay_here() {
        for name in [
            "sec-websocket-key",
            "sec-websocket-extensions",
            "upgrade",
            "host",
        ] {
            assert!(handshake_header(name), "{name}");
        }
        for name in [
            "authorization",
            "openai-beta",
            "session-id",
            "x-codex-turn-state",
        ] {
            assert!(!handshake_header(name), "{name}");
        }
    }
}
