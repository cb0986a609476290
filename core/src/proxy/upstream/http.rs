//! The HTTP client to the backend: which URL, which headers, sending. ChatGPT profiles go to
//! `{chatgpt_base_url}/responses` with the access token, `ChatGPT-Account-Id`, Codex's
//! `originator`, `version` and `User-Agent`, and the session headers the client sent
//! (`shared/protocol.md` §5); API-key profiles go to `{openai_base_url}` + the same path,
//! unchanged except `Authorization`.

use crate::http::{self, ORIGINATOR};
use crate::net::{NetError, Network};
use crate::proxy::errors::ProxyError;
use crate::secret::Secret;
use crate::settings::{CodexSettings, UpstreamSettings};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use std::time::Duration;

/// Why the upstream client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The network settings can't be used (a bad proxy URL or CA file).
    #[error(transparent)]
    Network(#[from] NetError),
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
    // Codex 0.169+ sends it for models its catalog flags `use_responses_lite`.
    "x-openai-internal-codex-responses-lite",
];

/// The header that names the API betas a request opts into.
const OPENAI_BETA: &str = "openai-beta";
/// The beta Codex's WebSocket handshake names (`docs/codex-websocket.md`).
const RESPONSES_WEBSOCKETS_BETA: &str = "responses_websockets=2026-02-06";

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

/// How long an unused upstream connection is kept open.
pub const POOL_IDLE: Duration = Duration::from_secs(90);

/// Sends requests upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    http: reqwest::Client,
    openai_base: String,
    chatgpt_base: String,
    idle: Duration,
    user_agent: HeaderValue,
    /// The Codex version presented (`codex.version`, else the newest tested).
    version: HeaderValue,
}

impl Upstream {
    /// An upstream over the configured URLs, presenting itself as Codex `codex.version()`,
    /// through `network`'s proxy and roots; `idle` bounds the wait for each chunk of an
    /// answer (and for the answer's head).
    ///
    /// One client serves every account: connections are kept and reused (HTTP/2 when the
    /// upstream offers it over TLS, many requests on one connection), and closed after
    /// [`POOL_IDLE`] unused; they carry no account (the token is a header of each request).
    pub fn new(
        settings: &UpstreamSettings,
        codex: &CodexSettings,
        network: &Network,
        idle: Duration,
    ) -> Result<Self, UpstreamError> {
        // No overall timeout: answers stream for as long as the model writes. No default
        // headers either: API-key requests go out as the client sent them.
        let http = network
            .client_builder()
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .pool_idle_timeout(POOL_IDLE)
            .build()
            .map_err(|e| UpstreamError::Client(e.to_string()))?;
        let version = codex.version();
        let user_agent = HeaderValue::from_str(&http::user_agent(version))
            .map_err(|e| UpstreamError::Client(e.to_string()))?;
        let version =
            HeaderValue::from_str(version).map_err(|e| UpstreamError::Client(e.to_string()))?;
        Ok(Self {
            http,
            openai_base: settings.openai_base_url.trim_end_matches('/').to_owned(),
            chatgpt_base: settings.chatgpt_base_url.trim_end_matches('/').to_owned(),
            idle,
            user_agent,
            version,
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

    /// `{chatgpt_base_url}/models?client_version=VERSION` (the Codex version presented).
    pub fn chatgpt_models_url(&self) -> String {
        format!(
            "{}/models?client_version={}",
            self.chatgpt_base,
            self.version_str()
        )
    }

    /// The Codex version presented to the backend.
    pub fn version_str(&self) -> &str {
        self.version.to_str().unwrap_or(http::CODEX_VERSION)
    }

    /// The ChatGPT backend's root, where Codex's own calls go (`chatgpt_base_url` without
    /// its `/codex`: `https://chatgpt.com/backend-api`).
    pub fn chatgpt_backend_base(&self) -> &str {
        self.chatgpt_base
            .strip_suffix("/codex")
            .unwrap_or(&self.chatgpt_base)
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
        h.insert(HeaderName::from_static("version"), self.version.clone());
        h.insert(header::USER_AGENT, self.user_agent.clone());
        h.insert(header::ACCEPT, HeaderValue::from_static(accept));
        h
    }

    /// The headers of one of Codex's own backend calls (`/backend-api/…`): the client's
    /// (its `Accept`, `Content-Type`, MCP and product headers…), hop-by-hop ones and cookies
    /// left out, with `Authorization` and `ChatGPT-Account-Id` those of the serving login,
    /// and Codex's `originator` and `version` when the client sent none.
    pub fn backend_headers(
        &self,
        access_token: &Secret,
        account_id: Option<&str>,
        incoming: &HeaderMap,
    ) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in incoming {
            let n = name.as_str();
            if !NOT_FORWARDED.contains(&n) && n != "cookie" && n != "chatgpt-account-id" {
                h.append(name.clone(), value.clone());
            }
        }
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {}", access_token.expose())) {
            h.insert(header::AUTHORIZATION, sensitive(v));
        }
        if let Some(a) = account_id.and_then(|a| HeaderValue::from_str(a).ok()) {
            h.insert(HeaderName::from_static("chatgpt-account-id"), a);
        }
        h.entry(HeaderName::from_static("originator"))
            .or_insert(HeaderValue::from_static(ORIGINATOR));
        h.entry(HeaderName::from_static("version"))
            .or_insert(self.version.clone());
        h.entry(header::USER_AGENT)
            .or_insert(self.user_agent.clone());
        h
    }

    /// The headers of a WebSocket handshake with the ChatGPT backend: those of an HTTP
    /// request ([`Upstream::chatgpt_headers`], no `Accept`) and the client's `OpenAI-Beta`
    /// (Codex's `responses_websockets=…`; that value when the client sent none).
    pub fn chatgpt_socket_headers(
        &self,
        access_token: &Secret,
        account_id: Option<&str>,
        incoming: &HeaderMap,
    ) -> HeaderMap {
        let mut h = self.chatgpt_headers(access_token, account_id, incoming, "*/*");
        h.remove(header::ACCEPT);
        let beta = incoming
            .get(OPENAI_BETA)
            .cloned()
            .unwrap_or(HeaderValue::from_static(RESPONSES_WEBSOCKETS_BETA));
        h.insert(HeaderName::from_static(OPENAI_BETA), beta);
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
pub(super) fn chatgpt_response_header(name: &str) -> bool {
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
pub(super) fn copy_response_headers(
    from: &reqwest::header::HeaderMap,
    to: &mut HeaderMap,
    all: bool,
) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_headers_pass_and_auth_is_replaced() {
        let network = Network::new(&Default::default()).unwrap();
        let up = Upstream::new(
            &UpstreamSettings::default(),
            &CodexSettings::default(),
            &network,
            Duration::from_secs(1),
        )
        .unwrap();
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
        assert_eq!(h["version"], http::CODEX_VERSION);
        assert!(
            h["user-agent"]
                .to_str()
                .unwrap()
                .starts_with(&format!("codex_cli_rs/{} (", http::CODEX_VERSION))
        );
        assert!(up.chatgpt_models_url().ends_with("client_version=0.171.0"));
        let newer = CodexSettings {
            version: Some("0.180.0".into()),
            ..CodexSettings::default()
        };
        let up = Upstream::new(
            &UpstreamSettings::default(),
            &newer,
            &network,
            Duration::from_secs(1),
        )
        .unwrap();
        let h = up.chatgpt_headers(&Secret::new("tok"), None, &incoming, "*/*");
        assert_eq!(h["version"], "0.180.0");
        assert!(
            h["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("codex_cli_rs/0.180.0 (")
        );
        assert!(up.chatgpt_models_url().ends_with("client_version=0.180.0"));
        assert_eq!(up.chatgpt_backend_base(), "https://chatgpt.com/backend-api");
        assert!(h.get("cookie").is_none());
        let h = Upstream::api_key_headers(&Secret::new("sk-x"), &incoming);
        assert_eq!(h["authorization"], "Bearer sk-x");
        assert_eq!(h["cookie"], "c=1");
    }
}
