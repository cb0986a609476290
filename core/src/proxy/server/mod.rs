//! The local OpenAI-compatible endpoint: routes, guards, and the profile active at the moment
//! of each request.
//!
//! A request reads top to bottom: the guards refuse web pages (`Origin`), DNS rebinding
//! (`Host`), other local users' connections and, with a local key, strangers;
//! `ActiveCache` says which profile is active (re-resolved only when `auth.json` or
//! `.current_profile` changed on disk); the refresher
//! makes its token fresh; [`super::upstream`] sends it and relays the answer, translated by
//! [`super::dialects`] for Chat Completions.
//!
//! A 429 `usage_limit_reached` records when that account's limit resets; with failover on
//! (`state.json`'s `failover`), a request to the active profile then moves to the next
//! eligible account before anything of the answer reached the client (`AppState::send_model`).

use super::dialects::chat::{self, ChatStreamOptions, chat_to_responses};
use super::dialects::models::models_to_openai_list;
use super::dialects::responses;
use super::errors::{ProxyError, json_response};
use super::failover::{self, LiveFailover};
use super::file_stamp::{Stamp, stamp};
use super::forward_path;
use super::peer::{self, Peer};
use super::upstream::{self, Upstream, UpstreamError, UpstreamFailure, apply_chatgpt_quirks};
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
use axum::routing::any;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod accounts;
mod connections;
mod guards;
mod handlers;
use accounts::*;
use guards::*;
use handlers::*;

use connections::{Busy, BusyBody, Connections, ErrorBodies};
pub use connections::{ConnectionLimits, raise_file_limit};

/// Default limit on a request body: 32 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Default wait for each chunk of an upstream answer (Codex's own `stream_idle_timeout_ms`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// A token expiring within this margin is refreshed before the request (never before half
/// its life: short-lived tokens are refreshed at half-life, not on every request).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// Default bound on decoded bytes of compressed bodies held at once: 128 MiB.
pub const DEFAULT_DECODE_BUDGET: usize = 128 * 1024 * 1024;
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
    /// Limits on connections, header and body reading.
    pub limits: ConnectionLimits,
    /// Decoded bytes of compressed request bodies in memory at once, over all requests.
    pub decode_budget: usize,
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
            .field("limits", &self.limits)
            .field("decode_budget", &self.decode_budget)
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
            limits: ConnectionLimits::default(),
            decode_budget: DEFAULT_DECODE_BUDGET,
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
    /// Connection limits and the open connections.
    limits: ConnectionLimits,
    connections: Arc<Connections>,
    /// Decoded bytes of compressed bodies in memory, in KiB permits.
    decode_budget: Arc<tokio::sync::Semaphore>,
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
        if let Some(files) = raise_file_limit() {
            tracing::debug!(files, "open-file limit");
        }
        // One whole body must always fit.
        let decode_kib = config.decode_budget.max(config.body_limit + 64 * 1024) / 1024;
        let state = Arc::new(AppState {
            own_user_only,
            limits: config.limits,
            connections: Connections::new(config.limits),
            decode_budget: Arc::new(tokio::sync::Semaphore::new(decode_kib)),
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

    /// The Codex home it serves.
    pub fn home(&self) -> &CodexHome {
        &self.state.home
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
        let (limits, connections) = (self.state.limits, self.state.connections.clone());
        let app = router(self.state);
        // Every request of a refused connection gets the same 403.
        let refused = Router::new().fallback(|| async { ProxyError::OtherUser.into_response() });
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
            let Some(mut admission) = connections.admit() else {
                tracing::warn!(
                    "the endpoint is at its connection limit and every connection is busy: closed a new one"
                );
                continue;
            };
            // Events are small writes: without TCP_NODELAY, Nagle's algorithm and the
            // client's delayed ACK hold some of them back for up to 40 ms.
            let _ = tcp.set_nodelay(true);
            let (app, refused) = (app.clone(), refused.clone());
            let mut stop = stop_rx.clone();
            conns.spawn(async move {
                let allowed = !own_user_only || peer_allowed(&tcp).await;
                if !allowed && !admission.mark_refused() {
                    return; // too many refused connections open: closed unanswered
                }
                let slot = admission.slot.clone();
                let routes = if allowed { app } else { refused };
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let busy = Busy::new(&slot);
                        let call = tower::ServiceExt::oneshot(routes.clone(), req.map(Body::new));
                        async move {
                            let resp = call.await.unwrap_or_else(|e| match e {});
                            Ok::<_, std::convert::Infallible>(resp.map(|b| BusyBody::wrap(b, busy)))
                        }
                    },
                );
                // HTTP/1.1 only (what OpenAI clients and Codex speak): a lighter connection
                // than the HTTP/2-sniffing default. The timer bounds header reads, which
                // also closes silent connections and idle keep-alives.
                let io = ErrorBodies::new(hyper_util::rt::TokioIo::new(tcp));
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(limits.header_timeout)
                    .keep_alive(allowed)
                    .serve_connection(io, service)
                    .with_upgrades();
                let mut conn = std::pin::pin!(conn);
                let stopping = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                tokio::select! {
                    _ = conn.as_mut() => {}
                    () = admission.slot.evicted.notified() => {}
                    () = stopping => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                    }
                }
                drop(admission);
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
        .route("/health", any(health))
        .nest("/v1", v1.clone())
        .nest("/p/{profile}/v1", v1)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .with_state(state)
}
