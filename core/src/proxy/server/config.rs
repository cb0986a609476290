//! What a server is started with ([`ServerConfig`] and its defaults), what it tells its
//! observer about each request ([`RequestRecord`]), and why it may fail ([`ServerError`]).

use super::connections::ConnectionLimits;
use crate::events::EventBus;
use crate::home::CodexHome;
use crate::net::Network;
use crate::proxy::upstream::UpstreamError;
use crate::refresh::Refresher;
use crate::secret::Secret;
use crate::settings::Settings;
use axum::http::HeaderMap;
use std::sync::Arc;
use std::time::Duration;

/// Default limit on a request body: 32 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Default wait for each chunk of an upstream answer (Codex's own `stream_idle_timeout_ms`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// A token expiring within this margin is refreshed before the request (never before half
/// its life: short-lived tokens are refreshed at half-life, not on every request).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// Default bound on decoded bytes of compressed bodies held at once: 128 MiB.
pub const DEFAULT_DECODE_BUDGET: usize = 128 * 1024 * 1024;
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
    /// Where failovers ([`RouterEvent::FailedOver`](crate::events::RouterEvent::FailedOver))
    /// and recorded usage limits
    /// ([`RouterEvent::UsageUpdated`](crate::events::RouterEvent::UsageUpdated)) are
    /// announced; `None`: only logged.
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
    /// The network to share (proxy, roots); `None`: resolved from `settings.network`.
    pub network: Option<Network>,
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
            network: None,
            observer: None,
            events: None,
            failover_forced: false,
            other_users,
            limits: ConnectionLimits::default(),
            decode_budget: DEFAULT_DECODE_BUDGET,
        }
    }
}
