//! A fake OpenAI upstream on 127.0.0.1 for network tests: the OAuth issuer, the ChatGPT Codex
//! backend and the OpenAI API, with the paths, headers, JSON and SSE shapes of
//! `shared/protocol.md`.
//!
//! ```no_run
//! use codex_router_testkit::jwt::Identity;
//! use codex_router_testkit::upstream::{FakeUpstream, Reply};
//!
//! let up = FakeUpstream::start();
//! let alice = Identity::new("alice", "plus");
//! let auth = up.chatgpt_auth_json(&alice, 3600); // a ready auth.json with issued tokens
//! up.set_next_response(Reply::text("hello"));
//! // point the code under test at up.chatgpt_base_url(), up.issuer_url(), up.openai_base_url()
//! ```
//!
//! Routes (all on [`FakeUpstream::base_url`]):
//!
//! | route | behaviour |
//! |---|---|
//! | `GET /oauth/authorize` | validates Codex's PKCE params, 302 to `redirect_uri?code&scope&state` as the login identity (or `?error&error_description&state` when denied) |
//! | `POST /oauth/token` | form `authorization_code` (single-use code, S256 verifier, same redirect_uri), form token exchange → `{access_token:"sk-proj-…"}`, JSON (or form) `refresh_token` with rotation |
//! | `POST /oauth/revoke` | revokes the token's whole login |
//! | `POST /api/accounts/deviceauth/usercode`, `/token` | device flow: `interval` is a string; 403 while pending |
//! | `POST /backend-api/codex/responses` | bearer + `ChatGPT-Account-Id`; quirk 400s; SSE; `x-codex-*` headers; 429 when limited |
//! | `GET /backend-api/codex/responses` (WebSocket) | the same checks at the handshake, `x-codex-*` headers in the `101`; each `response.create` gets `codex.rate_limits` and the SSE events as frames, quirks and the usage limit as `error` frames; logged as `WEBSOCKET` requests |
//! | `POST /backend-api/codex/responses/compact` | `{output:[{type:"compaction",…}]}` |
//! | `GET /backend-api/codex/models` | Codex catalog `{"models":[…]}` with an `ETag` |
//! | `GET /backend-api/wham/usage`, `/api/codex/usage` | §6 usage payload |
//! | `GET /backend-api/wham/accounts/check` | the token's workspace, no routing constraint |
//! | `GET /backend-api/wham/settings/user`, `POST /backend-api/codex/analytics-events/events`, `GET /backend-api/ps/plugins/*` | bearer checked; minimal bodies |
//! | `POST /v1/responses` (and its WebSocket mode), `/v1/chat/completions`, `GET /v1/models[/{id}]` | OpenAI API with API keys |
//! | `/_fake/*` | control API (see below) |
//!
//! Default model behaviour (when no [`Reply`] is queued): the last item is a tool result →
//! `Tool result: <output>`; tools offered and the last user message contains "call a tool"
//! (or `tool_choice` is `"required"`/names a function) → one function call with placeholder
//! arguments from the tool's schema; otherwise → `You said: <last user message>`. A request
//! with a `reasoning` object first gets a reasoning item (with `encrypted_content` bound to
//! the account when `include` asks for it; replaying it under another account gives the real
//! 400 `invalid_encrypted_content`).
//!
//! # Control API
//!
//! For out-of-process tests: `POST /_fake/knobs` with any of `access_ttl`, `stream_behaviour`,
//! `next_stream_behaviour` (see [`StreamBehaviour`]), `stream_faults` ([`StreamFaults`]),
//! `next_response`, `next_responses` (see [`Reply`]), `clear_responses`,
//! `usage_limited: {key, resets_at|null}`, `rate_limits: {key, limits}` ([`RateLimits`]),
//! `fail_next_refresh: {status, body}`, `refresh_delay_ms`, `revoke_family_on_reuse`,
//! `login_as` ([`AccountSpec`]), `deny_login: {error, description}`, `device_pending_polls`,
//! `device_poll_interval`, `device_auth_enabled`, `api_keys: [..]`, `fail_api_key_exchange`,
//! `refuse_websockets`, `next_websocket_close: {code, reason}`;
//! `POST /_fake/accounts` ([`AccountSpec`] + optional `access_ttl`) → a ready auth.json;
//! `GET /_fake/requests[?path=…]` (each with the `stream` behaviour its answer got),
//! `DELETE /_fake/requests`; `GET /_fake/stats`.

// Handler helpers return early `Response`s as their `Err`; boxing them buys nothing here.
#![allow(clippy::result_large_err)]

mod backend;
mod browser;
mod common;
mod control;
mod models;
mod oauth;
mod openai;
mod reply;
mod sse;
mod state;
mod tls_listener;
mod types;
mod websocket;
mod wham;

pub use types::{
    BrowserOutcome, CLIENT_ID, FunctionCall, RateLimits, RateWindow, RecordedRequest, RefreshCall,
    Reply, StreamBehaviour, StreamFaults,
};

use crate::home::now;
use crate::jwt::Identity;
use crate::tls::TestCa;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use state::{Shared, TokenSet, who_key};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tls_listener::TlsListener;

/// Request bodies up to this size are accepted (and recorded).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// `base64url_nopad(SHA256(verifier))`, the PKCE S256 challenge for `verifier`.
pub fn pkce_challenge(verifier: &str) -> String {
    oauth::s256(verifier)
}

/// An account described by name, as the binary's flags and the control API take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSpec {
    /// Short name: `alice` → `alice@example.com`, `acct-alice`, `user-alice`.
    pub name: String,
    /// `chatgpt_plan_type`; default `plus`.
    #[serde(default = "default_plan")]
    pub plan: String,
    /// Overrides the workspace account id.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Overrides the email.
    #[serde(default)]
    pub email: Option<String>,
}

fn default_plan() -> String {
    "plus".to_owned()
}

impl AccountSpec {
    /// Parses `name` or `name:plan`.
    pub fn parse(s: &str) -> Self {
        let (name, plan) = s.split_once(':').unwrap_or((s, "plus"));
        Self {
            name: name.trim().to_owned(),
            plan: plan.trim().to_owned(),
            account_id: None,
            email: None,
        }
    }

    /// The identity this spec describes.
    pub fn identity(&self) -> Identity {
        let mut who = Identity::new(&self.name, &self.plan);
        if let Some(a) = &self.account_id {
            who.account_id = a.clone();
        }
        if let Some(e) = &self.email {
            who.email = e.clone();
        }
        who
    }
}

/// A ChatGPT `auth.json` (as Codex writes it after login) holding `set`.
pub(crate) fn auth_json(who: &Identity, set: &TokenSet) -> Value {
    let last_refresh = chrono::DateTime::from_timestamp(now(), 0)
        .expect("timestamp")
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": set.id_token,
            "access_token": set.access_token,
            "refresh_token": set.refresh_token,
            "account_id": who.account_id,
        },
        "last_refresh": last_refresh,
    })
}

/// Tokens presented more than once, in first-reuse order.
pub(crate) fn reused(presented: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for t in presented {
        if !seen.insert(t) && !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

/// The running fake. Dropping it stops the server (open streams are cut).
pub struct FakeUpstream {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FakeUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeUpstream")
            .field("base_url", &self.shared.base_url)
            .finish()
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth/authorize", get(oauth::authorize))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route(
            "/api/accounts/deviceauth/usercode",
            post(oauth::device_usercode),
        )
        .route("/api/accounts/deviceauth/token", post(oauth::device_token))
        .route("/codex/device", get(oauth::device_page))
        .route("/deviceauth/callback", get(oauth::device_page))
        .route(
            "/backend-api/codex/responses",
            post(backend::responses).get(websocket::responses_socket),
        )
        .route(
            "/backend-api/codex/responses/compact",
            post(backend::compact),
        )
        .route("/backend-api/codex/models", get(backend::models))
        .route("/backend-api/wham/usage", get(backend::usage))
        .route("/api/codex/usage", get(backend::usage))
        .route(
            "/backend-api/wham/accounts/check",
            get(wham::accounts_check),
        )
        .route("/backend-api/wham/settings/user", get(wham::empty))
        .route(
            "/backend-api/codex/analytics-events/events",
            post(wham::empty),
        )
        .route("/backend-api/ps/plugins/{*rest}", get(wham::plugins))
        .route(
            "/v1/responses",
            post(openai::responses).get(websocket::api_responses_socket),
        )
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/models", get(openai::models))
        .route("/v1/models/{id}", get(openai::model))
        .route("/_fake/knobs", post(control::knobs))
        .route("/_fake/accounts", post(control::accounts))
        .route(
            "/_fake/requests",
            get(control::requests).delete(control::clear_requests),
        )
        .route("/_fake/stats", get(control::stats))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), record))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

async fn not_found(req: Request) -> Response {
    common::openai_error(
        404,
        &format!(
            "fake-upstream: no route for {} {}",
            req.method(),
            req.uri().path()
        ),
        "invalid_request_error",
        Some("not_found"),
    )
}

/// Records every non-control request, then runs the handler (which gets the request's
/// [`state::RequestSeq`] as an extension).
async fn record(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return common::openai_error(413, "Request body too large", "invalid_request_error", None);
    };
    // A WebSocket's requests are its frames, logged by the socket (`websocket.rs`).
    let upgrade = parts.headers.contains_key(axum::http::header::UPGRADE);
    if !parts.uri.path().starts_with("/_fake") && !upgrade {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned());
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let seq = shared.lock().record(RecordedRequest {
            method: parts.method.to_string(),
            path,
            headers,
            body: bytes.to_vec(),
            stream: None,
        });
        parts.extensions.insert(seq);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

impl FakeUpstream {
    /// Starts on an ephemeral port of 127.0.0.1, on its own thread and tokio runtime.
    pub fn start() -> Self {
        Self::start_on(0).expect("fake-upstream: bind 127.0.0.1:0")
    }

    /// Starts on `port` of 127.0.0.1 (0 = ephemeral).
    pub fn start_on(port: u16) -> std::io::Result<Self> {
        Self::start_with(SocketAddr::from(([127, 0, 0, 1], port)), None)
    }

    /// Starts on an ephemeral port serving HTTPS with `ca`'s certificate for `127.0.0.1`
    /// and `localhost` (HTTP/2 or HTTP/1.1 as the client's ALPN asks); the base URL is
    /// `https://127.0.0.1:PORT`.
    pub fn start_tls(ca: &TestCa) -> Self {
        Self::start_with(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Some(ca.server_config()),
        )
        .expect("fake-upstream: bind 127.0.0.1:0")
    }

    /// Starts on `addr` (port 0 = ephemeral), over TLS with `tls` when given.
    pub fn start_with(
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Shared::new(format!("{scheme}://{addr}"));
        let counter = shared.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = router(shared.clone());
        let thread = std::thread::Builder::new()
            .name("fake-upstream".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("fake-upstream runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("fake-upstream listener");
                    let served = async move {
                        match tls {
                            Some(config) => {
                                axum::serve(TlsListener::new(listener, config, counter), app).await
                            }
                            None => {
                                // Like a real server: small SSE writes go out at once (no
                                // Nagle delay).
                                let listener =
                                    axum::serve::ListenerExt::tap_io(listener, move |tcp| {
                                        let _ = tcp.set_nodelay(true);
                                        counter.connections.fetch_add(1, Ordering::Relaxed);
                                    });
                                axum::serve(listener, app).await
                            }
                        }
                    };
                    tokio::select! {
                        r = served => {
                            if let Err(e) = r {
                                eprintln!("fake-upstream: server error: {e}");
                            }
                        }
                        _ = rx => {}
                    }
                });
                // Cuts stalled streams and open connections.
                rt.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(Self {
            shared,
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// Blocks the calling thread while the server runs (for the binary).
    pub fn serve_forever(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    // ---- addresses -------------------------------------------------------------------------

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many TCP connections it has accepted (a client that keeps its connection opens
    /// one, whatever the number of requests).
    pub fn connections_accepted(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The OAuth issuer (`CODEX_ROUTER_AUTH_ISSUER`) = the base URL.
    pub fn issuer_url(&self) -> String {
        self.base_url()
    }

    /// `{base}/oauth/token` (for Codex's `CODEX_REFRESH_TOKEN_URL_OVERRIDE`).
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base_url())
    }

    /// `{base}/backend-api/codex` (`CODEX_ROUTER_CHATGPT_BASE_URL`).
    pub fn chatgpt_base_url(&self) -> String {
        format!("{}/backend-api/codex", self.base_url())
    }

    /// `{base}/v1` (`CODEX_ROUTER_OPENAI_BASE_URL`).
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    /// `{base}/backend-api/wham/usage`.
    pub fn usage_url(&self) -> String {
        format!("{}/backend-api/wham/usage", self.base_url())
    }

    // ---- accounts and tokens ---------------------------------------------------------------

    /// Registers an account (also done implicitly by every token issue).
    pub fn register_account(&self, who: &Identity) {
        self.shared.lock().register(who);
    }

    /// Issues a fresh login for `who`: `(id_token, access_token, refresh_token)`. The access
    /// token's `exp` is now + `access_ttl_secs` (negative = already expired); the refresh
    /// token is accepted exactly once.
    pub fn issue_tokens(&self, who: &Identity, access_ttl_secs: i64) -> (String, String, String) {
        let set = self.shared.lock().mint(who, access_ttl_secs, None);
        (set.id_token, set.access_token, set.refresh_token)
    }

    /// A ready ChatGPT `auth.json` value (`auth_mode`, `OPENAI_API_KEY: null`, `tokens`,
    /// `last_refresh`) with freshly issued tokens for `who`.
    pub fn chatgpt_auth_json(&self, who: &Identity, access_ttl_secs: i64) -> Value {
        let set = self.shared.lock().mint(who, access_ttl_secs, None);
        auth_json(who, &set)
    }

    /// Accepts the tokens inside an existing ChatGPT `auth.json` (e.g. from
    /// [`crate::home::chatgpt_auth`]) as if this issuer had issued them; the access token
    /// keeps its JWT `exp`. Returns the identity read from the id_token.
    pub fn adopt_auth_json(&self, auth: &Value) -> Result<Identity, String> {
        let t = auth.get("tokens").ok_or("auth.json has no tokens")?;
        let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default();
        let who = state::identity_from_id_token(s("id_token"))
            .ok_or("id_token lacks email/account claims")?;
        self.shared
            .lock()
            .adopt(&who, s("id_token"), s("access_token"), s("refresh_token"));
        Ok(who)
    }

    /// Lifetime of access tokens minted by `/oauth/token` (code exchange and refresh);
    /// default 3600 s. Negative values mint already-expired tokens.
    pub fn set_access_ttl(&self, secs: i64) {
        self.shared.lock().access_ttl = secs;
    }

    /// Makes every access token of `who` invalid server-side (a 401 although `exp` is in the
    /// future), as after a server-side revocation.
    pub fn revoke_access_tokens(&self, who: &Identity) {
        let key = who_key(who);
        for a in self.shared.lock().access.values_mut() {
            if who_key(&a.who) == key {
                a.revoked = true;
            }
        }
    }

    /// Whether `refresh_token` would be accepted now (known, unused, unrevoked).
    pub fn is_refresh_token_live(&self, refresh_token: &str) -> bool {
        self.shared
            .lock()
            .refresh
            .get(refresh_token)
            .is_some_and(|r| !r.used && !r.revoked)
    }

    /// Whether `access_token` would be accepted now (issued, unrevoked, unexpired).
    pub fn is_access_token_live(&self, access_token: &str) -> bool {
        self.shared
            .lock()
            .access
            .get(access_token)
            .is_some_and(|a| !a.revoked && a.exp > now())
    }

    /// Accepts `key` as an OpenAI API key on `/v1`.
    pub fn add_api_key(&self, key: &str) {
        self.shared.lock().api_keys.insert(key.to_owned());
    }

    // ---- refresh bookkeeping and knobs -----------------------------------------------------

    /// Refresh calls that presented one of `who`'s refresh tokens (successful or not).
    pub fn refresh_count(&self, who: &Identity) -> usize {
        self.shared
            .lock()
            .refresh_calls
            .get(&who_key(who))
            .copied()
            .unwrap_or(0)
    }

    /// All `grant_type=refresh_token` calls.
    pub fn total_refresh_count(&self) -> usize {
        self.shared.lock().presented.len()
    }

    /// Every refresh token presented, in order.
    pub fn presented_refresh_tokens(&self) -> Vec<String> {
        self.shared.lock().presented.clone()
    }

    /// Every refresh call that presented a token this issuer knows, in arrival order.
    pub fn refresh_calls(&self) -> Vec<RefreshCall> {
        self.shared.lock().refresh_log.clone()
    }

    /// Refresh tokens presented more than once (tests assert this is empty).
    pub fn reused_refresh_tokens(&self) -> Vec<String> {
        reused(&self.shared.lock().presented)
    }

    /// The next refresh call answers `status` with `body` (queued; each call takes one) and
    /// does not consume the presented token.
    pub fn fail_next_refresh_with(&self, status: u16, body: Value) {
        self.shared
            .lock()
            .fail_next_refresh
            .push_back((status, body));
    }

    /// Delays each refresh answer (to widen race windows in single-flight tests).
    pub fn set_refresh_delay_ms(&self, ms: u64) {
        self.shared.lock().refresh_delay_ms = ms;
    }

    /// Whether presenting a used refresh token also revokes the rest of its login (default
    /// true, as observed on the real service): later refreshes of that login answer 401
    /// `refresh_token_invalidated` and its access tokens 401.
    pub fn set_revoke_family_on_reuse(&self, on: bool) {
        self.shared.lock().revoke_family_on_reuse = on;
    }

    // ---- login flows -----------------------------------------------------------------------

    /// Who signs in at `/oauth/authorize` and in the device flow; clears [`Self::deny_login`].
    pub fn set_login_identity(&self, who: &Identity) {
        let mut st = self.shared.lock();
        st.register(who);
        st.login_identity = Some(who.clone());
        st.login_error = None;
    }

    /// Makes `/oauth/authorize` redirect with `error=…&error_description=…&state=…` (e.g.
    /// `access_denied`, `missing_codex_entitlement`) until [`Self::set_login_identity`].
    pub fn deny_login(&self, error: &str, description: &str) {
        self.shared.lock().login_error = Some((error.to_owned(), description.to_owned()));
    }

    /// Device flow: each new device code answers 403 for its first `n` polls (default 0).
    pub fn set_device_pending_polls(&self, n: u32) {
        self.shared.lock().device_pending_polls = n;
    }

    /// Device flow: the `interval` (seconds, sent as a string) handed out; default 1.
    pub fn set_device_poll_interval(&self, secs: u64) {
        self.shared.lock().device_interval = secs;
    }

    /// Whether a Responses body may leave out `instructions` (the backend's own rule is
    /// kept by default; ChatMock sends none for Chat Completions).
    pub fn set_instructions_optional(&self, on: bool) {
        self.shared.lock().instructions_optional = on;
    }

    /// Device flow: `false` makes `/deviceauth/usercode` answer 404 (not enabled).
    pub fn set_device_auth_enabled(&self, on: bool) {
        self.shared.lock().device_enabled = on;
    }

    /// Makes the API-key token exchange fail (401) while `on`.
    pub fn fail_api_key_exchange(&self, on: bool) {
        self.shared.lock().api_key_exchange_fails = on;
    }

    /// Where `/oauth/authorize` redirects for `authorize_url` (blocking HTTP; call it from
    /// `spawn_blocking` in async tests). `Err` carries a non-redirect answer.
    pub fn authorize_redirect(&self, authorize_url: &str) -> Result<String, String> {
        browser::authorize_redirect(authorize_url)
    }

    /// Plays the browser: opens `authorize_url`, lands on the app's callback and follows its
    /// loopback redirects (e.g. to `/success`). Blocking; from async tests call it in
    /// `tokio::task::spawn_blocking`.
    pub fn browser_sign_in(&self, authorize_url: &str) -> Result<BrowserOutcome, String> {
        browser::sign_in(authorize_url)
    }

    // ---- model behaviour -------------------------------------------------------------------

    /// Queues the reply for the next model request (FIFO; both upstreams share the queue).
    pub fn set_next_response(&self, reply: Reply) {
        self.shared.lock().replies.push_back(reply);
    }

    /// Drops queued replies (back to the default rule).
    pub fn clear_responses(&self) {
        self.shared.lock().replies.clear();
    }

    /// How every streamed response is delivered from now on.
    pub fn set_stream_behaviour(&self, behaviour: StreamBehaviour) {
        self.shared.lock().stream = behaviour;
    }

    /// Cuts or stalls a random fraction of streamed responses from now on; which ones got a
    /// fault shows in [`RecordedRequest::stream`].
    pub fn set_stream_faults(&self, faults: StreamFaults) {
        self.shared.lock().stream_faults = faults;
    }

    /// How the next streamed response only is delivered (queued, before the persistent one).
    pub fn set_next_stream_behaviour(&self, behaviour: StreamBehaviour) {
        self.shared.lock().next_stream.push_back(behaviour);
    }

    /// Makes `key` — a ChatGPT account id, an access token or an API key — usage-limited
    /// until `resets_at` (unix seconds): model requests answer 429 (the §6 body on the
    /// ChatGPT backend, `rate_limit_exceeded` on `/v1`), `/wham/usage` shows the limit.
    pub fn set_usage_limited(&self, key: &str, resets_at: i64) {
        self.shared
            .lock()
            .usage_limited
            .insert(key.to_owned(), resets_at);
    }

    /// Lifts [`Self::set_usage_limited`].
    pub fn clear_usage_limited(&self, key: &str) {
        self.shared.lock().usage_limited.remove(key);
    }

    /// The rate-limit snapshot reported for `key` (account id or bearer) in `x-codex-*`
    /// headers and `/wham/usage`; default [`RateLimits::default_at`].
    pub fn set_rate_limits(&self, key: &str, limits: RateLimits) {
        self.shared
            .lock()
            .rate_limits
            .insert(key.to_owned(), limits);
    }

    /// Makes WebSocket handshakes answer 426 (`true`), as a backend without them would.
    pub fn set_refuse_websockets(&self, refuse: bool) {
        self.shared.lock().refuse_websockets = refuse;
    }

    /// Whether `/v1/responses` takes WebSocket upgrades (on by default; off answers 405, as
    /// an OpenAI-compatible server that speaks only HTTP).
    pub fn set_api_websockets(&self, on: bool) {
        self.shared.lock().api_websockets = on;
    }

    /// Closes the socket whose response ends next with `code` and `reason` (after its last
    /// event), as the backend does at its connection limit.
    pub fn close_next_websocket(&self, code: u16, reason: &str) {
        self.shared
            .lock()
            .next_websocket_close
            .push_back((code, reason.to_owned()));
    }

    // ---- request log -----------------------------------------------------------------------

    /// Every request so far (control routes excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests whose path (with or without query) equals `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.path == path || r.path_only() == path)
            .cloned()
            .collect()
    }

    /// How many requests went to `path` (with or without query).
    pub fn count(&self, path: &str) -> usize {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.path == path || r.path_only() == path)
            .count()
    }

    /// The latest request to `path`.
    pub fn last_request(&self, path: &str) -> Option<RecordedRequest> {
        self.requests_to(path).pop()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.shared.lock().clear_requests();
    }

    /// Polls (every 5 ms) until `count(path) >= n` or `timeout`; returns whether it got there.
    pub fn wait_for_count(&self, path: &str, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.count(path) >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
