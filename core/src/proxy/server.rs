//! The local OpenAI-compatible endpoint: routes, guards, and the profile active at the moment
//! of each request.
//!
//! A request reads top to bottom: the guards refuse web pages (`Origin`), DNS rebinding
//! (`Host`), other local users' connections and, with a local key, strangers;
//! `ActiveCache` says which profile is active (re-resolved only when `auth.json` or
//! `.current_profile` changed on disk); the refresher
//! makes its token fresh; [`super::upstream`] sends it and relays the answer, translated by
//! [`super::chat`] and [`super::sse`] for Chat Completions.
//!
//! A 429 `usage_limit_reached` records when that account's limit resets; with failover on
//! (`state.json`'s `failover`), a request to the active profile then moves to the next
//! eligible account before anything of the answer reached the client (`AppState::send_model`).

use super::chat::{apply_chatgpt_quirks, chat_to_responses, models_to_openai_list};
use super::errors::{ProxyError, json_response};
use super::failover::{self, LiveFailover};
use super::file_stamp::{Stamp, stamp};
use super::peer::{self, Peer};
use super::sse::ChatStreamOptions;
use super::upstream::{self, Upstream, UpstreamError, UpstreamFailure};
use crate::auth_file::{AuthFile, AuthMode};
use crate::events::{EventBus, RouterEvent};
use crate::home::{CodexHome, ProfileName};
use crate::refresh::{Fresh, RefreshError, Refresher, RetryPolicy};
use crate::secret::Secret;
use crate::settings::{FailoverSettings, Settings};
use crate::store::{Store, StoreError};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default limit on a request body: 32 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Default wait for each chunk of an upstream answer (Codex's own `stream_idle_timeout_ms`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// A token expiring within this margin is refreshed before the request (never before half
/// its life: short-lived tokens are refreshed at half-life, not on every request).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// How long a stopping server waits for open answers before it closes them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The upstream client could not be built.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// Serving failed.
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// What the server tells its observer about each finished request (never a token).
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The profile that served it, when one did.
    pub profile: Option<String>,
    /// The status sent to the client.
    pub status: u16,
    /// Milliseconds until the answer's head was ready.
    pub ms: f64,
    /// The upstream's `x-codex-*` rate-limit headers, as passed to the client.
    pub codex_headers: HeaderMap,
}

/// Called once per request, when its answer's head is ready (e.g. to emit an event or to
/// record usage from the `x-codex-*` headers). Runs on the request's task: keep it short.
pub type RequestObserver = Arc<dyn Fn(&RequestRecord) + Send + Sync>;

/// Everything the server needs.
#[derive(Clone)]
pub struct ServerConfig {
    /// The Codex home whose active profile is served.
    pub home: CodexHome,
    /// Upstream URLs and refresh settings.
    pub settings: Settings,
    /// Bodies over this many bytes are refused with 413.
    pub body_limit: usize,
    /// The longest wait for an upstream answer's head and for each of its chunks.
    pub idle_timeout: Duration,
    /// Tokens expiring within this margin are refreshed first.
    pub refresh_margin: Duration,
    /// When set, every `/v1` request must carry it (`Authorization: Bearer …` or `x-api-key`).
    pub local_key: Option<Secret>,
    /// The host the server was asked to listen on; requests naming it in `Host` are allowed
    /// besides the loopback names.
    pub bind_host: String,
    /// The refresher to share (single flight with the rest of the process); `None` makes one.
    pub refresher: Option<Refresher>,
    /// Told about every finished request.
    pub observer: Option<RequestObserver>,
    /// Where failovers ([`RouterEvent::FailedOver`]) and recorded usage limits
    /// ([`RouterEvent::UsageUpdated`]) are announced; `None`: only logged.
    pub events: Option<EventBus>,
    /// Fail over whatever `state.json` says (`serve --failover`). Otherwise failover
    /// follows `settings.failover`, and `state.json` once it changes.
    pub failover_forced: bool,
    /// Serve connections of other local users too. Without a local key they are refused
    /// by default (the kernel says who owns a loopback connection; Linux).
    pub other_users: bool,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("home", &self.home)
            .field("body_limit", &self.body_limit)
            .field("idle_timeout", &self.idle_timeout)
            .field("refresh_margin", &self.refresh_margin)
            .field("local_key", &self.local_key)
            .field("bind_host", &self.bind_host)
            .field("observer", &self.observer.is_some())
            .field("failover", &self.settings.failover.enabled)
            .field("failover_forced", &self.failover_forced)
            .field("other_users", &self.other_users)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Defaults: 32 MiB bodies, 300 s idle timeout, 30 s refresh margin, no local key,
    /// loopback only, the own user's connections only (unless `proxy.allow_other_users`).
    pub fn new(home: CodexHome, settings: Settings) -> Self {
        let other_users = settings.proxy.allow_other_users;
        Self {
            home,
            settings,
            body_limit: DEFAULT_BODY_LIMIT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            local_key: None,
            bind_host: "127.0.0.1".into(),
            refresher: None,
            observer: None,
            events: None,
            failover_forced: false,
            other_users,
        }
    }
}

/// The profile a request is served with.
#[derive(Debug, Clone)]
enum Active {
    ChatGpt { name: String },
    ApiKey { name: String, key: Secret },
}

impl Active {
    fn name(&self) -> &str {
        match self {
            Self::ChatGpt { name } | Self::ApiKey { name, .. } => name,
        }
    }
}

/// Stamps of the two files a cached value was read from.
type Stamps = (Stamp, Stamp);

/// The active profile, re-resolved only when `auth.json` or `.current_profile` changed.
#[derive(Default)]
struct ActiveCache {
    entry: Mutex<Option<(Stamps, Arc<Active>)>>,
}

/// Credentials of one profile, valid while its files are unchanged and the token is fresh.
type CredsCache = Mutex<HashMap<String, (Stamps, Fresh)>>;

struct AppState {
    home: CodexHome,
    store: Store,
    refresher: Refresher,
    upstream: Upstream,
    active: ActiveCache,
    creds: CredsCache,
    body_limit: usize,
    refresh_margin: Duration,
    local_key: Option<Secret>,
    bind_host: String,
    observer: Option<RequestObserver>,
    failover: LiveFailover,
    events: Option<EventBus>,
    /// Whether connections are checked for their owner ([`peer`]).
    own_user_only: bool,
}

/// The profile a response was served with (for the request log line).
#[derive(Clone)]
struct ServedBy(String);

/// A bound server, ready to run.
pub struct Server {
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// Binds `addr` (port 0 = any free port).
    pub async fn bind(config: ServerConfig, addr: SocketAddr) -> Result<Self, ServerError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: addr.to_string(),
            source,
        })?;
        let store = Store::new(config.home.clone());
        let refresher = config.refresher.clone().unwrap_or_else(|| {
            Refresher::new(
                store.clone(),
                &config.settings.upstream.auth_issuer,
                RetryPolicy::default(),
            )
        });
        let upstream = Upstream::new(&config.settings.upstream, config.idle_timeout)?;
        let mut failover = config.settings.failover.clone();
        failover.enabled |= config.failover_forced;
        let failover = LiveFailover::new(config.home.clone(), failover, config.failover_forced);
        let own_user_only = !config.other_users && config.local_key.is_none();
        let state = Arc::new(AppState {
            own_user_only,
            home: config.home,
            store,
            refresher,
            upstream,
            active: ActiveCache::default(),
            creds: Mutex::new(HashMap::new()),
            body_limit: config.body_limit,
            refresh_margin: config.refresh_margin,
            local_key: config.local_key,
            bind_host: config.bind_host,
            observer: config.observer,
            failover,
            events: config.events,
        });
        Ok(Self {
            state,
            listener,
            addr,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The refresher requests share (for the proactive refresh loop).
    pub fn refresher(&self) -> Refresher {
        self.state.refresher.clone()
    }

    /// The active profile's name now, or why there is none.
    pub async fn active_profile(&self) -> Result<String, String> {
        self.state
            .resolve(None)
            .await
            .map(|a| a.name().to_owned())
            .map_err(|e| e.to_string())
    }

    /// Serves until `shutdown` completes, then gives open answers a few seconds to finish
    /// and closes the rest.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let own_user_only = self.state.own_user_only;
        let app = router(self.state);
        let service = hyper_util::service::TowerToHyperService::new(app);
        // Every request of a refused connection gets the same 403.
        let refused = hyper_util::service::TowerToHyperService::new(
            Router::new().fallback(|| async { ProxyError::OtherUser.into_response() }),
        );
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut conns = tokio::task::JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (tcp, _) = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little, go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            };
            // Events are small writes: without TCP_NODELAY, Nagle's algorithm and the
            // client's delayed ACK hold some of them back for up to 40 ms.
            let _ = tcp.set_nodelay(true);
            let (service, refused) = (service.clone(), refused.clone());
            let mut stop = stop_rx.clone();
            conns.spawn(async move {
                let service = if !own_user_only || peer_allowed(&tcp).await {
                    service
                } else {
                    refused
                };
                // HTTP/1.1 only (what OpenAI clients and Codex speak): a lighter connection
                // than the HTTP/2-sniffing default.
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                    .with_upgrades();
                let mut conn = std::pin::pin!(conn);
                let stopping = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                tokio::select! {
                    _ = conn.as_mut() => {}
                    () = stopping => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                    }
                }
            });
        }
        drop(self.listener);
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while conns.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            conns.abort_all();
        }
        Ok(())
    }
}

fn router(state: Arc<AppState>) -> Router {
    let v1 = Router::new()
        .route("/chat/completions", any(chat_completions))
        .route("/responses", any(responses))
        .route("/models", any(models))
        .route("/models/{id}", any(model))
        .fallback(v1_fallback);
    Router::new()
        .route("/health", get(health))
        .nest("/v1", v1.clone())
        .nest("/p/{profile}/v1", v1)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .with_state(state)
}

// ---- guards and logging -------------------------------------------------------------------

/// One line per request: method, path, profile, status, milliseconds to the answer's head.
async fn log_request(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let profile = resp.extensions().get::<ServedBy>().map(|p| p.0.clone());
    tracing::info!(
        target: "codex_router::proxy",
        %method,
        %path,
        profile = %profile.as_deref().unwrap_or("-"),
        status = resp.status().as_u16(),
        ms = format_args!("{ms:.1}"),
        "request"
    );
    if let Some(observer) = &st.observer {
        let mut codex_headers = HeaderMap::new();
        for (name, value) in resp.headers() {
            if name.as_str().starts_with("x-codex-") {
                codex_headers.append(name.clone(), value.clone());
            }
        }
        observer(&RequestRecord {
            method: method.to_string(),
            path,
            profile,
            status: resp.status().as_u16(),
            ms,
            codex_headers,
        });
    }
    resp
}

/// Refuses web pages, DNS rebinding, strangers (with a local key) and oversized bodies.
/// Whether a connection may be served when only the endpoint's own user may use it: its
/// socket is ours, or its owner can't be known (not Linux; a peer on another machine).
async fn peer_allowed(tcp: &tokio::net::TcpStream) -> bool {
    let (Ok(ours), Ok(theirs)) = (tcp.local_addr(), tcp.peer_addr()) else {
        return false;
    };
    if !(theirs.ip().is_loopback() || theirs.ip() == ours.ip()) {
        return true;
    }
    let owner = tokio::task::spawn_blocking(move || peer::owner(ours, theirs))
        .await
        .unwrap_or(Peer::OtherUser(None));
    match owner {
        Peer::SameUser => true,
        Peer::Unknown => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                tracing::warn!("cannot tell which local user a connection belongs to on this system; any local user can use the endpoint unless it requires a key (--require-key)");
            });
            true
        }
        Peer::OtherUser(uid) => {
            tracing::warn!(peer = %theirs, ?uid, "refused a connection of another local user");
            false
        }
    }
}

async fn guard(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        if !loopback_origin(&origin) {
            return ProxyError::OriginRefused(origin).into_response();
        }
    }
    let host = headers
        .get(header::HOST)
        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    if let Some(host) = host
        && !allowed_host(&host, &st.bind_host)
    {
        return ProxyError::HostRefused(host).into_response();
    }
    if let Some(key) = &st.local_key
        && req.uri().path() != "/health"
        && !has_key(headers, key)
    {
        return ProxyError::BadLocalKey.into_response();
    }
    let too_long = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > st.body_limit as u64);
    if too_long {
        // Refused before a byte of it is read.
        let mut resp = ProxyError::BodyTooLarge {
            limit: st.body_limit,
        }
        .into_response();
        resp.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return resp;
    }
    next.run(req).await
}

/// `http(s)://localhost`, `127.0.0.1`, `[::1]` (any port).
fn loopback_origin(origin: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(d)) => is_localhost_name(d),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// The host part of a `Host` header (no port, no brackets).
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

/// A loopback name or address, or the address the server was told to listen on (any IP
/// address when that is the unspecified one). DNS names other than `localhost` are refused:
/// that is what a DNS-rebinding page sends.
fn allowed_host(host: &str, bind_host: &str) -> bool {
    let name = host_name(host);
    if is_localhost_name(name) {
        return true;
    }
    let bind = host_name(bind_host);
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip.is_loopback()
            || bind
                .parse::<IpAddr>()
                .is_ok_and(|b| b == ip || b.is_unspecified());
    }
    !bind.is_empty() && name.eq_ignore_ascii_case(bind)
}

/// Whether the request carries the local key (constant-time comparison).
fn has_key(headers: &HeaderMap, key: &Secret) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()));
    given.is_some_and(|g| constant_time_eq(g.as_bytes(), key.expose().as_bytes()))
}

/// Equality whose time does not depend on where the inputs differ (only on their length).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---- profile and credentials --------------------------------------------------------------

impl AppState {
    /// The profile for this request: `name` when given (`/p/<name>/v1`), else the active one.
    async fn resolve(&self, name: Option<&str>) -> Result<Arc<Active>, ProxyError> {
        if let Some(name) = name {
            return self.resolve_named(name).await;
        }
        let key = (
            stamp(&self.home.auth_file()),
            stamp(&self.home.current_file()),
        );
        if let Ok(guard) = self.active.entry.lock()
            && let Some((k, active)) = guard.as_ref()
            && *k == key
        {
            return Ok(active.clone());
        }
        let store = self.store.clone();
        let home = self.home.clone();
        let active = tokio::task::spawn_blocking(move || resolve_active(&store, &home))
            .await
            .map_err(|e| ProxyError::NoActiveProfile(format!("internal error: {e}")))??;
        let active = Arc::new(active);
        if let Ok(mut guard) = self.active.entry.lock() {
            *guard = Some((key, active.clone()));
        }
        Ok(active)
    }

    async fn resolve_named(&self, name: &str) -> Result<Arc<Active>, ProxyError> {
        let profile = ProfileName::new(name)
            .map_err(|_| ProxyError::NotFound(format!("no profile named '{name}'")))?;
        let path = self.home.profile_auth_file(&profile);
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || {
            let file = match AuthFile::load(&path) {
                Ok(f) => f,
                Err(e) if e.is_not_found() => {
                    return Err(ProxyError::NotFound(format!("no profile named '{name}'")));
                }
                Err(e) => {
                    return Err(ProxyError::ProfileUnusable {
                        name,
                        reason: e.to_string(),
                    });
                }
            };
            active_from(name, &file)
        })
        .await
        .map_err(|e| ProxyError::NoActiveProfile(format!("internal error: {e}")))?
        .map(Arc::new)
    }

    /// Fresh credentials of ChatGPT profile `name`, from the cache while its files are
    /// unchanged and the token is not about to expire.
    async fn credentials(&self, name: &str) -> Result<Fresh, ProxyError> {
        let key = match ProfileName::new(name) {
            Ok(p) => (
                stamp(&self.home.auth_file()),
                stamp(&self.home.profile_auth_file(&p)),
            ),
            Err(e) => {
                return Err(ProxyError::ProfileUnusable {
                    name: name.to_owned(),
                    reason: e.to_string(),
                });
            }
        };
        let margin = chrono::TimeDelta::from_std(self.refresh_margin).unwrap_or_default();
        if let Ok(cache) = self.creds.lock()
            && let Some((k, fresh)) = cache.get(name)
            && *k == key
            && fresh
                .expires_at
                .is_none_or(|exp| exp > chrono::Utc::now() + margin)
        {
            return Ok(fresh.clone());
        }
        let fresh = self
            .refresher
            .ensure_fresh(name, self.refresh_margin)
            .await
            .map_err(refresh_error)?;
        if !fresh.refreshed
            && let Ok(mut cache) = self.creds.lock()
        {
            cache.insert(name.to_owned(), (key, fresh.clone()));
        }
        Ok(fresh)
    }

    fn forget_credentials(&self, name: &str) {
        if let Ok(mut cache) = self.creds.lock() {
            cache.remove(name);
        }
    }

    /// Sends a request to the ChatGPT backend with `name`'s credentials; on a 401, refreshes
    /// (unless someone already did) and tries once more.
    async fn send_chatgpt(
        &self,
        name: &str,
        method: Method,
        url: &str,
        incoming: &HeaderMap,
        body: Option<Bytes>,
        accept: &'static str,
    ) -> Result<reqwest::Response, ProxyError> {
        let fresh = self.credentials(name).await?;
        let headers = self.upstream.chatgpt_headers(
            &fresh.access_token,
            fresh.account_id.as_deref(),
            incoming,
            accept,
        );
        let resp = self
            .upstream
            .send(method.clone(), url, headers, body.clone())
            .await?;
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        drop(resp);
        self.forget_credentials(name);
        tracing::info!(profile = %name, "upstream answered 401; refreshing the token once");
        let fresh = self
            .refresher
            .refresh_if_current(name, &fresh.access_token)
            .await
            .map_err(refresh_error)?;
        let headers = self.upstream.chatgpt_headers(
            &fresh.access_token,
            fresh.account_id.as_deref(),
            incoming,
            accept,
        );
        self.upstream.send(method, url, headers, body).await
    }
}

/// What a model request to the ChatGPT backend came back with.
enum Answer {
    /// The upstream's answer, to relay (or to read as an error).
    Upstream(reqwest::Response),
    /// A usage-limit answer, already the client's response.
    Limited(Response),
}

/// A 429 `usage_limit_reached`, read.
struct LimitHit {
    failure: UpstreamFailure,
    body: Value,
    resets_at: i64,
}

impl AppState {
    /// Sends a model request (`POST`) with `profile`'s credentials. A 429
    /// `usage_limit_reached` records the limit; with `failover` (and failover on in the
    /// settings) the request then goes to the next eligible profile, `profile` becomes the
    /// one that served it, and reasoning items of the first account are dropped from
    /// `body`. Nothing has reached the client yet at this point: only the status is known.
    /// With failover on, a profile already known to be limited is skipped without a request
    /// while another account can serve.
    async fn send_model(
        &self,
        profile: &mut String,
        failover: bool,
        url: &str,
        headers: &HeaderMap,
        body: &mut Value,
        accept: &'static str,
    ) -> Result<Answer, ProxyError> {
        let settings = self.failover.current();
        let failover = failover && settings.enabled;
        let first = profile.clone();
        let mut tried: Vec<String> = Vec::new();
        let mut resets: Vec<i64> = Vec::new();
        let mut last: Option<LimitHit> = None;
        // Whether `first` was passed over unasked (known limited): it gets the request
        // after all when no other account can take it.
        let mut first_skipped = false;
        if failover && let Some(until) = failover::known_limit(&self.home, profile) {
            let (next, _) = self
                .next_candidate(&settings, std::slice::from_ref(&first))
                .await;
            if let Some(next) = next {
                tracing::info!(from = %profile, to = %next, resets_at = until, "usage limit known; sending the request to the next account");
                strip_reasoning_items(body);
                tried.push(first.clone());
                resets.push(until);
                first_skipped = true;
                *profile = next;
            }
        }
        let mut bytes = Bytes::from(body.to_string());
        loop {
            let sent = self
                .send_chatgpt(
                    profile,
                    Method::POST,
                    url,
                    headers,
                    Some(bytes.clone()),
                    accept,
                )
                .await;
            match sent {
                Err(e) if *profile == first => return Err(e),
                Err(e) => {
                    tracing::warn!(profile = %profile, error = %e, "failover: this account can't be used; trying the next");
                }
                Ok(resp) if resp.status() != reqwest::StatusCode::TOO_MANY_REQUESTS => {
                    if *profile != first {
                        self.failed_over(&settings, &first, profile, resets.first().copied())
                            .await;
                    }
                    return Ok(Answer::Upstream(resp));
                }
                Ok(resp) => {
                    let hit = match self.read_limit(profile, resp).await {
                        Ok(hit) => hit,
                        Err(other) => return Ok(Answer::Limited(other)),
                    };
                    if !failover {
                        return Ok(Answer::Limited(hit.failure.into_response()));
                    }
                    resets.push(hit.resets_at);
                    last = Some(hit);
                }
            }
            tried.push(profile.clone());
            let (next, known) = self.next_candidate(&settings, &tried).await;
            match (next, last.take()) {
                (Some(next), hit) => {
                    last = hit;
                    if strip_reasoning_items(body) {
                        bytes = Bytes::from(body.to_string());
                    }
                    tracing::info!(from = %profile, to = %next, "usage limit reached; trying the request on the next account");
                    *profile = next;
                }
                (None, Some(hit)) => {
                    resets.extend(known);
                    let earliest = resets.iter().copied().min().unwrap_or(hit.resets_at);
                    tracing::warn!(
                        accounts = tried.len(),
                        resets_at = earliest,
                        "usage limit reached on every account"
                    );
                    return Ok(Answer::Limited(all_limited(hit, earliest)));
                }
                (None, None) if first_skipped => {
                    tracing::info!(profile = %first, "no other account can serve; trying the limited one");
                    first_skipped = false;
                    *profile = first.clone();
                }
                (None, None) => {
                    return Err(ProxyError::NoActiveProfile(
                        "no account can serve this request".into(),
                    ));
                }
            }
        }
    }

    /// Reads a 429: a usage limit is recorded for `profile` and returned; any other 429 is
    /// the client's response as it is.
    async fn read_limit(
        &self,
        profile: &str,
        resp: reqwest::Response,
    ) -> Result<LimitHit, Response> {
        let failure = upstream::read_error(resp, self.upstream.idle()).await;
        let now = chrono::Utc::now().timestamp();
        let body: Value = serde_json::from_str(&failure.text).unwrap_or(Value::Null);
        let Some(resets_at) = crate::usage::limit_reset(&body, now) else {
            return Err(failure.into_response());
        };
        if let Ok(name) = ProfileName::new(profile) {
            let store = self.store.clone();
            let written =
                tokio::task::spawn_blocking(move || store.record_limit(&name, resets_at)).await;
            match written {
                Ok(Ok(true)) => {
                    if let Some(bus) = &self.events {
                        bus.emit(RouterEvent::UsageUpdated {
                            profile: profile.to_owned(),
                        });
                    }
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(%profile, error = %e, "usage limit not recorded");
                }
                Err(e) => tracing::debug!(%profile, error = %e, "usage limit not recorded"),
            }
        }
        Ok(LimitHit {
            failure,
            body,
            resets_at,
        })
    }

    /// The next profile to fail over to (ChatGPT, usable, not needing sign-in, not known to
    /// be limited, not tried yet; the configured order first, then by name), and the reset
    /// times of the eligible profiles known to be limited.
    async fn next_candidate(
        &self,
        settings: &FailoverSettings,
        tried: &[String],
    ) -> (Option<String>, Vec<i64>) {
        let store = self.store.clone();
        let Ok(Ok(profiles)) = tokio::task::spawn_blocking(move || store.list()).await else {
            return (None, Vec::new());
        };
        let now = chrono::Utc::now().timestamp();
        let mut eligible = Vec::new();
        let mut known = Vec::new();
        for p in profiles {
            let chatgpt = p
                .login
                .as_ref()
                .is_ok_and(|i| i.auth_mode == AuthMode::ChatGpt);
            if !chatgpt || p.needs_sign_in.is_some() || tried.contains(&p.name) {
                continue;
            }
            match p.usage.as_ref().filter(|u| u.is_limited(now)) {
                Some(u) => known.extend(u.limited_until),
                None => eligible.push(p.name),
            }
        }
        let rank = |name: &String| {
            settings
                .order
                .iter()
                .position(|o| o == name)
                .unwrap_or(usize::MAX)
        };
        // `list` is sorted by name and the sort is stable: unlisted profiles stay in name order.
        eligible.sort_by_key(rank);
        (eligible.into_iter().next(), known)
    }

    /// After `to` served a request `from` could not: logs it, announces it and, as the
    /// settings say, makes `to` the active profile (unless someone switched meanwhile).
    async fn failed_over(
        &self,
        settings: &FailoverSettings,
        from: &str,
        to: &str,
        resets_at: Option<i64>,
    ) {
        let mut switched = false;
        if settings.follow_active {
            let store = self.store.clone();
            let (from_name, to_name) = (from.to_owned(), to.to_owned());
            let outcome = tokio::task::spawn_blocking(move || {
                if store.current()?.as_deref() != Some(from_name.as_str()) {
                    return Ok(false);
                }
                store.switch(&to_name, false).map(|_| true)
            })
            .await;
            match outcome {
                Ok(Ok(s)) => switched = s,
                Ok(Err(e)) => {
                    tracing::warn!(profile = %to, error = %e, "failover: the active profile stays; only the proxy uses the other account");
                }
                Err(e) => tracing::warn!(error = %e, "failover: switch failed"),
            }
        }
        tracing::info!(
            %from,
            %to,
            resets_at = resets_at.unwrap_or_default(),
            active_switched = switched,
            "failed over: usage limit reached"
        );
        if let Some(bus) = &self.events {
            bus.emit(RouterEvent::FailedOver {
                from: from.to_owned(),
                to: to.to_owned(),
                resets_at,
            });
        }
    }
}

/// The client's 429 when every account is limited: the last account's answer, saying so,
/// with the earliest reset time among them.
fn all_limited(hit: LimitHit, earliest: i64) -> Response {
    let LimitHit {
        failure, mut body, ..
    } = hit;
    if let Some(err) = body.get_mut("error").and_then(Value::as_object_mut) {
        let now = chrono::Utc::now().timestamp();
        err.insert(
            "message".into(),
            json!("The usage limit has been reached on every account"),
        );
        err.insert("resets_at".into(), json!(earliest));
        err.insert("resets_in_seconds".into(), json!((earliest - now).max(0)));
    }
    UpstreamFailure {
        status: failure.status,
        headers: failure.headers,
        text: body.to_string(),
    }
    .into_response()
}

/// Which profile holds Codex's active login, and how to use it.
fn resolve_active(store: &Store, home: &CodexHome) -> Result<Active, ProxyError> {
    let status = store
        .status()
        .map_err(|e| ProxyError::NoActiveProfile(format!("cannot read the profiles: {e}")))?;
    let auth = home.auth_file();
    match (&status.profile, &status.login) {
        (_, None) => Err(ProxyError::NoActiveProfile(format!(
            "no active profile: {} does not exist; sign in with `codex-router login NAME` or switch to a profile with `codex-router switch NAME`",
            auth.display()
        ))),
        (None, Some(Err(reason))) => Err(ProxyError::NoActiveProfile(format!(
            "no active profile: {} can't be used ({reason}); run `codex-router switch NAME`",
            auth.display()
        ))),
        (None, Some(Ok(_))) => Err(ProxyError::NoActiveProfile(
            "no active profile: the login in auth.json is not saved as a profile; run `codex-router save NAME` (or `codex-router switch NAME`)".into(),
        )),
        (Some(name), Some(Err(reason))) => Err(ProxyError::ProfileUnusable {
            name: name.clone(),
            reason: reason.clone(),
        }),
        // The profile holds the same login (same identity), wherever Codex keeps its copy
        // (`auth.json` or the OS keyring).
        (Some(name), Some(Ok(_))) => {
            let file = ProfileName::new(name)
                .map_err(StoreError::from)
                .and_then(|p| store.load_profile(&p))
                .map_err(|e| ProxyError::ProfileUnusable {
                    name: name.clone(),
                    reason: e.to_string(),
                })?;
            active_from(name.clone(), &file)
        }
    }
}

fn active_from(name: String, file: &AuthFile) -> Result<Active, ProxyError> {
    match file.mode() {
        AuthMode::ChatGpt => Ok(Active::ChatGpt { name }),
        AuthMode::ApiKey => match &file.openai_api_key {
            Some(key) if !key.is_empty() => Ok(Active::ApiKey {
                name,
                key: key.clone(),
            }),
            _ => Err(ProxyError::ProfileUnusable {
                name,
                reason: "it holds no API key".into(),
            }),
        },
        #[allow(unreachable_patterns)]
        _ => Err(ProxyError::ProfileUnusable {
            name,
            reason: "its auth mode is not supported".into(),
        }),
    }
}

fn refresh_error(e: RefreshError) -> ProxyError {
    match e {
        RefreshError::NeedsSignIn { name, message, .. } => {
            ProxyError::NeedsSignIn { name, message }
        }
        RefreshError::Unavailable { name, detail } => {
            ProxyError::RefreshUnavailable { name, detail }
        }
        RefreshError::NotChatGpt(name) => ProxyError::ProfileUnusable {
            name,
            reason: "it is not a ChatGPT login".into(),
        },
        RefreshError::Store(e) => ProxyError::NoActiveProfile(e.to_string()),
    }
}

// ---- request plumbing ---------------------------------------------------------------------

/// The captures of the route: the profile of `/p/<name>/v1/…` and a model id.
struct Params {
    profile: Option<String>,
    id: Option<String>,
    invalid: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = RawPathParams::from_request_parts(parts, state).await;
        let get = |p: &RawPathParams, key: &str| {
            p.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_owned())
        };
        Ok(match raw {
            Ok(p) => Self {
                profile: get(&p, "profile"),
                id: get(&p, "id"),
                invalid: false,
            },
            Err(RawPathParamsRejection::MissingPathParams(_)) => Self {
                profile: None,
                id: None,
                invalid: false,
            },
            Err(_) => Self {
                profile: None,
                id: None,
                invalid: true,
            },
        })
    }
}

impl Params {
    /// The profile to serve with: `Ok(None)` for the active one.
    fn profile(&self) -> Result<Option<&str>, ProxyError> {
        if self.invalid {
            return Err(ProxyError::NotFound("no such profile".into()));
        }
        Ok(self.profile.as_deref())
    }
}

/// Reads the body, refusing it past the limit without reading the rest.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ProxyError> {
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut buf: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ProxyError::BodyRead(e.to_string()))?;
        total = total.saturating_add(chunk.len());
        if total > limit {
            return Err(ProxyError::BodyTooLarge { limit });
        }
        match first.take() {
            None if buf.is_empty() => first = Some(chunk),
            None => buf.extend_from_slice(&chunk),
            Some(f) => {
                buf.extend_from_slice(&f);
                buf.extend_from_slice(&chunk);
            }
        }
    }
    Ok(match first {
        Some(f) => f,
        None => Bytes::from(buf),
    })
}

fn parse_json(bytes: &[u8]) -> Result<Value, ProxyError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ProxyError::BadJson(e.to_string()))?;
    if !value.is_object() {
        return Err(ProxyError::BadJson("the body must be a JSON object".into()));
    }
    Ok(value)
}

/// The body uncompressed: Codex's built-in provider (`openai_base_url`) sends zstd bodies
/// with ChatGPT logins. The result is bounded by the body limit too.
async fn decode_body(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, ProxyError> {
    let encoding = headers.get(header::CONTENT_ENCODING).map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .trim()
            .to_ascii_lowercase()
    });
    match encoding.as_deref() {
        None | Some("identity") => Ok(body),
        Some("zstd") => tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let decoder = ruzstd::decoding::StreamingDecoder::new(body.as_ref())
                .map_err(|e| ProxyError::BodyRead(format!("bad zstd body: {e}")))?;
            let mut out = Vec::new();
            decoder
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| ProxyError::BodyRead(format!("bad zstd body: {e}")))?;
            if out.len() > limit {
                return Err(ProxyError::BodyTooLarge { limit });
            }
            Ok(Bytes::from(out))
        })
        .await
        .map_err(|e| ProxyError::BodyRead(e.to_string()))?,
        Some(other) => Err(ProxyError::UnsupportedEncoding(other.to_owned())),
    }
}

/// Tags a response with the profile that served it.
fn served(mut resp: Response, profile: &str) -> Response {
    resp.extensions_mut().insert(ServedBy(profile.to_owned()));
    resp
}

fn result(r: Result<Response, ProxyError>, profile: &str) -> Response {
    served(r.unwrap_or_else(IntoResponse::into_response), profile)
}

/// The path after `/v1` (or `/p/<name>/v1`), with the query: inside the nested router the
/// URI has its prefix stripped already.
fn v1_rest(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(uri.path())
        .to_owned()
}

/// Forwards a request unchanged to the OpenAI API with the profile's key.
async fn forward_api_key(
    st: &AppState,
    key: &Secret,
    method: Method,
    rest: &str,
    headers: &HeaderMap,
    body: Option<Bytes>,
) -> Result<Response, ProxyError> {
    let url = st.upstream.openai_url(rest);
    let resp = st
        .upstream
        .send(method, &url, Upstream::api_key_headers(key, headers), body)
        .await?;
    Ok(upstream::raw(resp, st.upstream.idle()))
}

/// A request split for the handlers.
struct Incoming {
    method: Method,
    headers: HeaderMap,
    rest: String,
    query: Option<String>,
    body: Body,
}

fn split(req: Request) -> Incoming {
    let rest = v1_rest(req.uri());
    let query = req.uri().query().map(str::to_owned);
    let (parts, body) = req.into_parts();
    Incoming {
        method: parts.method,
        headers: parts.headers,
        rest,
        query,
        body,
    }
}

// ---- handlers -----------------------------------------------------------------------------

/// `GET /health`: liveness and the active profile (never a token).
async fn health(State(st): State<Arc<AppState>>) -> Response {
    match st.resolve(None).await {
        Ok(a) => {
            let mode = match a.as_ref() {
                Active::ChatGpt { .. } => "chatgpt",
                Active::ApiKey { .. } => "api_key",
            };
            let body =
                json!({"status": "ok", "profile": a.name(), "auth_mode": mode, "error": null});
            served(json_response(StatusCode::OK, &body), a.name())
        }
        Err(e) => {
            let body =
                json!({"status": "ok", "profile": null, "auth_mode": null, "error": e.to_string()});
            json_response(StatusCode::OK, &body)
        }
    }
}

/// `POST /v1/chat/completions`.
async fn chat_completions(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    model_request(st, params, split(req), ModelRoute::Chat).await
}

/// The two model routes, which differ only in how a ChatGPT profile's request is made.
#[derive(Clone, Copy)]
enum ModelRoute {
    Chat,
    Responses,
}

/// A model request: read the body, pick the profile (pinned or active), forward an API-key
/// profile's request unchanged, or send a ChatGPT profile's through the backend (with
/// failover unless the profile was pinned).
async fn model_request(
    st: Arc<AppState>,
    params: Params,
    inc: Incoming,
    route: ModelRoute,
) -> Response {
    if inc.method != Method::POST {
        return ProxyError::MethodNotAllowed(inc.method.to_string()).into_response();
    }
    let body = match read_body(inc.body, st.body_limit).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let active = match resolve_params(&st, &params).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let r = match active.as_ref() {
        Active::ApiKey { key, .. } => {
            forward_api_key(&st, key, Method::POST, &inc.rest, &inc.headers, Some(body)).await
        }
        Active::ChatGpt { name } => {
            let mut served_by = name.clone();
            let failover = !matches!(params.profile(), Ok(Some(_)));
            let r = match decode_body(&inc.headers, body, st.body_limit).await {
                Ok(body) => match route {
                    ModelRoute::Chat => {
                        chat_via_chatgpt(&st, &mut served_by, failover, &inc.headers, &body).await
                    }
                    ModelRoute::Responses => {
                        responses_via_chatgpt(&st, &mut served_by, failover, &inc.headers, &body)
                            .await
                    }
                },
                Err(e) => Err(e),
            };
            return result(r, &served_by);
        }
    };
    result(r, active.name())
}

async fn chat_via_chatgpt(
    st: &AppState,
    name: &mut String,
    failover: bool,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ProxyError> {
    let request = parse_json(body)?;
    let t = chat_to_responses(&request)?;
    let mut upstream_body = t.body;
    apply_chatgpt_quirks(&mut upstream_body)?;
    let url = st.upstream.chatgpt_responses_url();
    let resp = match st
        .send_model(
            name,
            failover,
            &url,
            headers,
            &mut upstream_body,
            "text/event-stream",
        )
        .await?
    {
        Answer::Upstream(resp) => resp,
        Answer::Limited(resp) => return Ok(resp),
    };
    let idle = st.upstream.idle();
    if !resp.status().is_success() {
        return Ok(upstream::chatgpt_error(resp, idle).await);
    }
    if t.stream {
        let opts = ChatStreamOptions {
            model: t.model,
            include_usage: t.include_usage,
            include_reasoning: false,
        };
        Ok(upstream::chat_stream(resp, opts, idle))
    } else {
        upstream::collect_chat(resp, &t.model, idle).await
    }
}

/// `POST /v1/responses`; a WebSocket upgrade is answered 426 so Codex falls back to SSE.
async fn responses(State(st): State<Arc<AppState>>, params: Params, req: Request) -> Response {
    let inc = split(req);
    let upgrade = inc
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        return ProxyError::WebSocketUnsupported.into_response();
    }
    model_request(st, params, inc, ModelRoute::Responses).await
}

async fn responses_via_chatgpt(
    st: &AppState,
    name: &mut String,
    failover: bool,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ProxyError> {
    let mut request = parse_json(body)?;
    let stream = match request.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(super::chat::TranslateError::WrongType {
                field: "stream".into(),
                expected: "a boolean",
            }
            .into());
        }
    };
    apply_chatgpt_quirks(&mut request)?;
    let url = st.upstream.chatgpt_responses_url();
    let idle = st.upstream.idle();
    let mut resp = match st
        .send_model(
            name,
            failover,
            &url,
            headers,
            &mut request,
            "text/event-stream",
        )
        .await?
    {
        Answer::Upstream(resp) => resp,
        Answer::Limited(resp) => return Ok(resp),
    };
    if !resp.status().is_success() {
        let failure = upstream::read_error(resp, idle).await;
        // After a switch, the conversation's encrypted reasoning belongs to the previous
        // account and the backend refuses it: drop those items and try once more, so the
        // switch takes effect in a running Codex instead of breaking its session.
        if !(failure.is_foreign_reasoning() && strip_reasoning_items(&mut request)) {
            return Ok(failure.into_response());
        }
        tracing::info!(profile = %name, "dropped reasoning items of another account from the history");
        resp = st
            .send_chatgpt(
                name.as_str(),
                Method::POST,
                &url,
                headers,
                Some(Bytes::from(request.to_string())),
                "text/event-stream",
            )
            .await?;
        if !resp.status().is_success() {
            return Ok(upstream::chatgpt_error(resp, idle).await);
        }
    }
    if stream {
        Ok(upstream::responses_stream(resp, idle))
    } else {
        upstream::collect_responses(resp, idle).await
    }
}

/// `POST /responses/compact` to the backend through [`AppState::send_model`]; the answer
/// (JSON) is relayed as it comes.
async fn compact_via_chatgpt(
    st: &AppState,
    name: &mut String,
    failover: bool,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ProxyError> {
    let mut request = parse_json(body)?;
    let idle = st.upstream.idle();
    match st
        .send_model(name, failover, url, headers, &mut request, "*/*")
        .await?
    {
        Answer::Upstream(resp) if resp.status().is_success() => Ok(upstream::raw(resp, idle)),
        Answer::Upstream(resp) => Ok(upstream::chatgpt_error(resp, idle).await),
        Answer::Limited(resp) => Ok(resp),
    }
}

/// Removes `reasoning` items from a Responses request's `input`; whether there were any.
fn strip_reasoning_items(request: &mut Value) -> bool {
    let Some(items) = request.get_mut("input").and_then(Value::as_array_mut) else {
        return false;
    };
    let before = items.len();
    items.retain(|i| i.get("type").and_then(Value::as_str) != Some("reasoning"));
    items.len() != before
}

/// The ChatGPT backend's catalog `{"models":[…]}` and its `ETag`.
async fn chatgpt_catalog(
    st: &AppState,
    name: &str,
    headers: &HeaderMap,
) -> Result<Result<(Value, Option<axum::http::HeaderValue>), Response>, ProxyError> {
    let url = st.upstream.chatgpt_models_url();
    let resp = st
        .send_chatgpt(name, Method::GET, &url, headers, None, "application/json")
        .await?;
    let idle = st.upstream.idle();
    if !resp.status().is_success() {
        return Ok(Err(upstream::chatgpt_error(resp, idle).await));
    }
    let etag = resp.headers().get(header::ETAG).cloned();
    let bytes = match tokio::time::timeout(idle, resp.bytes()).await {
        Err(_) => return Err(ProxyError::UpstreamIdle(idle.as_secs())),
        Ok(Err(e)) => {
            return Err(ProxyError::UpstreamUnreachable(
                crate::http::error_kind(&e).into(),
            ));
        }
        Ok(Ok(b)) => b,
    };
    let catalog: Value = serde_json::from_slice(&bytes).map_err(|_| {
        ProxyError::UpstreamUnreachable("the model catalog was not valid JSON".into())
    })?;
    Ok(Ok((catalog, etag)))
}

/// `GET /v1/models`: OpenAI's list; the Codex catalog when `client_version` is asked (a
/// custom-provider Codex does that).
async fn models(State(st): State<Arc<AppState>>, params: Params, req: Request) -> Response {
    let inc = split(req);
    if inc.method != Method::GET {
        return ProxyError::MethodNotAllowed(inc.method.to_string()).into_response();
    }
    let active = match resolve_params(&st, &params).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let r = match active.as_ref() {
        Active::ApiKey { key, .. } => {
            forward_api_key(&st, key, Method::GET, &inc.rest, &inc.headers, None).await
        }
        Active::ChatGpt { name } => {
            let wants_catalog = inc.query.as_deref().is_some_and(|q| {
                url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "client_version")
            });
            match chatgpt_catalog(&st, name, &inc.headers).await {
                Err(e) => Err(e),
                Ok(Err(resp)) => Ok(resp),
                Ok(Ok((catalog, etag))) => {
                    let mut resp = if wants_catalog {
                        json_response(StatusCode::OK, &catalog)
                    } else {
                        json_response(StatusCode::OK, &models_to_openai_list(&catalog))
                    };
                    if let (true, Some(etag)) = (wants_catalog, etag) {
                        resp.headers_mut().insert(header::ETAG, etag);
                    }
                    Ok(resp)
                }
            }
        }
    };
    result(r, active.name())
}

/// The profile a request asks for: the pinned one of `/p/<name>/v1`, else the active one.
async fn resolve_params(st: &AppState, params: &Params) -> Result<Arc<Active>, ProxyError> {
    st.resolve(params.profile()?).await
}

/// `GET /v1/models/{id}`.
async fn model(State(st): State<Arc<AppState>>, params: Params, req: Request) -> Response {
    let id = params.id.clone().unwrap_or_default();
    let inc = split(req);
    if inc.method != Method::GET {
        return ProxyError::MethodNotAllowed(inc.method.to_string()).into_response();
    }
    let active = match resolve_params(&st, &params).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let r = match active.as_ref() {
        Active::ApiKey { key, .. } => {
            forward_api_key(&st, key, Method::GET, &inc.rest, &inc.headers, None).await
        }
        Active::ChatGpt { name } => match chatgpt_catalog(&st, name, &inc.headers).await {
            Err(e) => Err(e),
            Ok(Err(resp)) => Ok(resp),
            Ok(Ok((catalog, _))) => {
                let list = models_to_openai_list(&catalog);
                let found = list["data"]
                    .as_array()
                    .and_then(|d| d.iter().find(|m| m["id"] == id.as_str()))
                    .cloned();
                match found {
                    Some(m) => Ok(json_response(StatusCode::OK, &m)),
                    None => Err(ProxyError::NotFound(format!(
                        "The model '{id}' does not exist or is not available to profile '{name}'"
                    ))),
                }
            }
        },
    };
    result(r, active.name())
}

/// Any other `/v1/…` path: forwarded unchanged for API-key profiles; for ChatGPT profiles to
/// the same path under the backend. `POST /responses/compact` (Codex's history compaction,
/// a model call) records usage limits and fails over like `/responses`.
async fn v1_fallback(State(st): State<Arc<AppState>>, params: Params, req: Request) -> Response {
    let inc = split(req);
    let body = match read_body(inc.body, st.body_limit).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let active = match resolve_params(&st, &params).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let body = (!body.is_empty()).then_some(body);
    let r = match active.as_ref() {
        Active::ApiKey { key, .. } => {
            forward_api_key(&st, key, inc.method, &inc.rest, &inc.headers, body).await
        }
        Active::ChatGpt { name } => {
            let url = format!(
                "{}{}",
                st.upstream
                    .chatgpt_responses_url()
                    .trim_end_matches("/responses"),
                inc.rest
            );
            let body = match body {
                Some(b) => match decode_body(&inc.headers, b, st.body_limit).await {
                    Ok(b) => Some(b),
                    Err(e) => return result(Err(e), active.name()),
                },
                None => None,
            };
            if inc.method == Method::POST
                && inc.rest.split('?').next() == Some("/responses/compact")
                && let Some(b) = &body
            {
                let mut served_by = name.clone();
                let failover = !matches!(params.profile(), Ok(Some(_)));
                let r =
                    compact_via_chatgpt(&st, &mut served_by, failover, &url, &inc.headers, b).await;
                return result(r, &served_by);
            }
            match st
                .send_chatgpt(name, inc.method, &url, &inc.headers, body, "*/*")
                .await
            {
                Ok(resp) if resp.status().is_success() => {
                    Ok(upstream::raw(resp, st.upstream.idle()))
                }
                Ok(resp) => Ok(upstream::chatgpt_error(resp, st.upstream.idle()).await),
                Err(e) => Err(e),
            }
        }
    };
    result(r, active.name())
}

async fn not_found(req: Request) -> Response {
    ProxyError::NotFound(format!(
        "no route for {} {}; this endpoint serves /v1/chat/completions, /v1/responses, /v1/models and /health",
        req.method(),
        req.uri().path()
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        for ok in [
            "http://localhost:3000",
            "http://127.0.0.1:9876",
            "http://[::1]:8080",
            "https://localhost",
            "http://app.localhost:1",
        ] {
            assert!(loopback_origin(ok), "{ok}");
        }
        for bad in [
            "https://evil.example",
            "null",
            "http://127.0.0.1.evil.example",
            "file://",
            "http://192.168.1.2",
            "chrome-extension://abc",
        ] {
            assert!(!loopback_origin(bad), "{bad}");
        }
    }

    #[test]
    fn hosts() {
        for ok in [
            "127.0.0.1:9876",
            "localhost:9876",
            "LOCALHOST",
            "[::1]:9876",
            "127.0.0.2",
        ] {
            assert!(allowed_host(ok, "127.0.0.1"), "{ok}");
        }
        for bad in [
            "evil.example:9876",
            "rebind.attacker.test",
            "192.168.1.2:9876",
            "localhost.evil.example",
        ] {
            assert!(!allowed_host(bad, "127.0.0.1"), "{bad}");
        }
        assert!(allowed_host("192.168.1.2:9876", "0.0.0.0"));
        assert!(allowed_host("192.168.1.2:9876", "192.168.1.2"));
        assert!(!allowed_host("evil.example", "0.0.0.0"));
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(!constant_time_eq(b"x", b""));
        assert!(constant_time_eq(b"", b""));
    }
}
