//! The server: the accept loop, the guards, and the router table that sends each path to its
//! dialect's handler.
//!
//! A request reads top to bottom: the accept loop admits the connection within the limits
//! (`connections.rs`) and refuses other local users' (`guards.rs`); the guards refuse web
//! pages (`Origin`), DNS rebinding (`Host`), strangers (with a local key) and oversized
//! bodies; the router table below names the handler (`handlers.rs`), which reads the body
//! within its limits (`request.rs`, `body.rs`), asks the account layer (`proxy/accounts/`)
//! which profile serves, and hands the request to its dialect's route
//! ([`crate::proxy::dialects`]) or passes it through (`pass_through.rs`). Codex's own
//! ChatGPT calls (`/backend-api/…`, when its `chatgpt_base_url` points here) have their
//! handlers in `backend.rs`. A WebSocket upgrade of `/v1/responses` is answered in
//! `websocket.rs`, and its relay runs on the connection's own task (`connections.rs`).

mod backend;
mod body;
mod config;
mod connections;
mod guards;
mod handlers;
mod ollama;
mod pass_through;
mod request;
mod websocket;

pub use config::{
    DEFAULT_BODY_LIMIT, DEFAULT_DECODE_BUDGET, DEFAULT_IDLE_TIMEOUT, DEFAULT_REFRESH_MARGIN,
    RequestObserver, RequestRecord, ServerConfig, ServerError,
};
pub use connections::{ConnectionLimits, raise_file_limit};

use self::connections::{Busy, BusyBody, Connections, ErrorBodies, Upgrades};
use self::guards::{guard, log_request, peer_allowed};
use super::accounts::{Accounts, AccountsConfig};
use super::dialects::anthropic;
use super::errors::ProxyError;
use crate::home::CodexHome;
use crate::refresh::Refresher;
use crate::secret::Secret;
use crate::settings::AnthropicSettings;
use axum::Router;
use axum::body::Body;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::any;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long a stopping server waits for open answers before it closes them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// What the handlers and guards share: the account layer, and what the server itself
/// enforces (the guards' settings, the connections, the body limits, the decode budget).
struct AppState {
    /// Which profile serves, with which credentials, and sending with them.
    accounts: Accounts,
    /// Bodies over this many bytes are refused with 413.
    body_limit: usize,
    /// When set, every `/v1` request must carry it.
    local_key: Option<Secret>,
    /// The host the server listens on, allowed in `Host` besides the loopback names.
    bind_host: String,
    /// Told about every finished request.
    observer: Option<RequestObserver>,
    /// Whether connections are checked for their owner (`peer.rs`).
    own_user_only: bool,
    /// Connection limits and the open connections.
    limits: ConnectionLimits,
    connections: Arc<Connections>,
    /// Decoded bytes of compressed bodies in memory, in KiB permits.
    decode_budget: Arc<tokio::sync::Semaphore>,
    /// Anthropic's Messages routes: which Codex model serves a Claude model.
    anthropic: AnthropicSettings,
}

/// A bound server, ready to run.
pub struct Server {
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    /// A second listener (Ollama's port), served the same way.
    second: Option<(tokio::net::TcpListener, SocketAddr)>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("second", &self.second.as_ref().map(|(_, a)| a))
            .finish()
    }
}

impl Server {
    /// Binds `addr` (port 0 = any free port).
    pub async fn bind(config: ServerConfig, addr: SocketAddr) -> Result<Self, ServerError> {
        let (listener, addr) = listen(addr).await?;
        let anthropic = config.settings.anthropic.clone();
        let accounts = Accounts::new(AccountsConfig {
            home: config.home,
            settings: config.settings,
            idle_timeout: config.idle_timeout,
            refresh_margin: config.refresh_margin,
            refresher: config.refresher,
            failover_forced: config.failover_forced,
            events: config.events,
            socket_message_limit: config.body_limit,
            network: config.network,
        })?;
        let own_user_only = !config.other_users && config.local_key.is_none();
        if let Some(files) = raise_file_limit() {
            tracing::debug!(files, "open-file limit");
        }
        // One whole body must always fit.
        let decode_kib = config.decode_budget.max(config.body_limit + 64 * 1024) / 1024;
        let state = Arc::new(AppState {
            accounts,
            body_limit: config.body_limit,
            local_key: config.local_key,
            bind_host: config.bind_host,
            observer: config.observer,
            own_user_only,
            limits: config.limits,
            connections: Connections::new(config.limits),
            decode_budget: Arc::new(tokio::sync::Semaphore::new(decode_kib)),
            anthropic,
        });
        Ok(Self {
            state,
            listener,
            addr,
            second: None,
        })
    }

    /// Listens on `addr` too (port 0 = any free port; Ollama's port), with the same routes,
    /// guards, limits and state; returns the address bound.
    pub async fn listen_also(&mut self, addr: SocketAddr) -> Result<SocketAddr, ServerError> {
        let (listener, addr) = listen(addr).await?;
        self.second = Some((listener, addr));
        Ok(addr)
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The second address it listens on, if any ([`Server::listen_also`]).
    pub fn second_addr(&self) -> Option<SocketAddr> {
        self.second.as_ref().map(|(_, a)| *a)
    }

    /// The Codex home it serves.
    pub fn home(&self) -> &CodexHome {
        self.state.accounts.home()
    }

    /// The refresher requests share (for the proactive refresh loop).
    pub fn refresher(&self) -> Refresher {
        self.state.accounts.refresher().clone()
    }

    /// The network its upstream connections go through (for the usage poller).
    pub fn network(&self) -> &crate::net::Network {
        self.state.accounts.network()
    }

    /// The active profile's name now, or why there is none.
    pub async fn active_profile(&self) -> Result<String, String> {
        self.state
            .accounts
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
                accepted = accept(&self.listener, self.second.as_ref().map(|(l, _)| l)) => match accepted {
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
                let upgrades = Upgrades::new(&slot, stop.clone());
                let handed = upgrades.clone();
                let routes = if allowed { app } else { refused };
                let service = hyper::service::service_fn(
                    move |mut req: hyper::Request<hyper::body::Incoming>| {
                        let busy = Busy::new(&slot);
                        req.extensions_mut().insert(handed.clone());
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
                // A WebSocket relay, once hyper has handed the socket over: the connection
                // keeps its place (busy) until the relay ends; it hears of a stop itself.
                if let Some(work) = upgrades.take() {
                    work.await;
                }
                drop(admission);
            });
        }
        drop(self.listener);
        drop(self.second);
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

/// A listener on `addr` and the address it got.
async fn listen(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), ServerError> {
    let err = |source| ServerError::Bind {
        addr: addr.to_string(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(err)?;
    let bound = listener.local_addr().map_err(err)?;
    Ok((listener, bound))
}

/// The next connection on either listener.
async fn accept(
    first: &tokio::net::TcpListener,
    second: Option<&tokio::net::TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match second {
        None => first.accept().await,
        Some(second) => tokio::select! {
            a = first.accept() => a,
            a = second.accept() => a,
        },
    }
}

/// The router table: each dialect's paths, under `/v1` and under `/p/<name>/v1` (a pinned
/// profile), then the pass-through for the rest of `/v1`, and Codex's backend calls under
/// `/backend-api` and `/p/<name>/backend-api`, all behind the guards and the request log.
fn router(state: Arc<AppState>) -> Router {
    let v1 = Router::new()
        // Chat Completions: dialects/chat
        .route("/chat/completions", any(handlers::chat_completions))
        // Responses: dialects/responses (`/responses/compact` comes through the pass-through)
        .route("/responses", any(handlers::responses))
        // OpenAI's model list: dialects/models
        .route("/models", any(handlers::models))
        .route("/models/{id}", any(handlers::model))
        // Anthropic's Messages: dialects/anthropic (Claude Code adds `?beta=true`)
        .route("/messages", any(handlers::messages))
        .route("/messages/count_tokens", any(handlers::count_tokens))
        // Anything else: passed through to the profile's upstream, its path checked
        .fallback(pass_through::pass_through);
    // Codex's own ChatGPT calls: backend.rs
    let backend_api = Router::new()
        .route("/wham/usage", any(backend::usage))
        .fallback(backend::pass_through);
    let app = Router::new()
        .route("/health", any(handlers::health))
        .nest("/v1", v1.clone())
        .nest("/p/{profile}/v1", v1)
        .nest("/backend-api", backend_api.clone())
        .nest("/p/{profile}/backend-api", backend_api);
    let app = ollama_routes(ollama_routes(app, ""), "/p/{profile}");
    app.fallback(handlers::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        // Ollama's and Anthropic's requests get their own error shapes, the guards' too
        .layer(middleware::from_fn(ollama::ollama_errors))
        .layer(middleware::from_fn(anthropic::anthropic_errors))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .with_state(state)
}

/// Ollama's API (dialects/ollama, handlers in `ollama.rs`) at its own root under `prefix`
/// (`""`, or `/p/{profile}` for a pinned profile): `/` and `/api/…`.
fn ollama_routes(app: Router<Arc<AppState>>, prefix: &str) -> Router<Arc<AppState>> {
    let root = if prefix.is_empty() { "/" } else { prefix };
    app.route(root, any(ollama::root))
        .route(&format!("{prefix}/api/chat"), any(ollama::chat))
        .route(&format!("{prefix}/api/generate"), any(ollama::generate))
        .route(&format!("{prefix}/api/tags"), any(ollama::tags))
        .route(&format!("{prefix}/api/show"), any(ollama::show))
        .route(&format!("{prefix}/api/ps"), any(ollama::ps))
        .route(&format!("{prefix}/api/version"), any(ollama::version))
}
