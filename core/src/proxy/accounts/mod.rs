//! The account layer: which profile serves a request, with which fresh credentials, and what
//! happens when its account hits a usage limit. The server holds one [`Accounts`]; the
//! dialect routes send through it.
//!
//! - `active.rs`: the profile a request is for ([`Active`]), pinned (`/p/<name>/v1`) or the
//!   active one, re-resolved only when `auth.json` or `.current_profile` changed on disk;
//! - `credentials.rs`: a ChatGPT profile's fresh token (cached on file stamps, refreshed by
//!   the shared [`Refresher`]), and sending to the backend with it (a 401 refreshes once);
//! - `failover.rs`: a model request sent with failover ([`Accounts::send_model`]): a 429
//!   `usage_limit_reached` is recorded (`limits.rs`) and, with failover on, the request moves
//!   to the next eligible account before anything of the answer reached the client;
//! - `failover_settings.rs`: the failover settings as `state.json` says now, and which
//!   accounts are known to be limited;
//! - `socket.rs`: Codex's WebSocket mode: the upstream socket opened with fresh credentials
//!   ([`Accounts::open_socket`]), failover and switches at a socket's response boundaries.

mod active;
mod credentials;
mod failover;
mod failover_settings;
mod limits;
mod socket;

pub(crate) use active::Active;
pub(crate) use failover::Answer;
pub(crate) use limits::say_every_account;
pub(crate) use socket::{NoFailover, Opened};

use self::active::ActiveCache;
use self::credentials::CredsCache;
use self::failover_settings::LiveFailover;
use super::upstream::{Upstream, UpstreamError};
use crate::events::EventBus;
use crate::home::CodexHome;
use crate::net::Network;
use crate::refresh::{Refresher, RetryPolicy};
use crate::settings::Settings;
use crate::store::Store;
use axum::http::HeaderMap;
use std::time::Duration;

/// How the account layer is set up (the server's share of its config).
pub(crate) struct AccountsConfig {
    /// The Codex home whose profiles serve.
    pub(crate) home: CodexHome,
    /// Upstream URLs, the auth issuer and the failover settings to start from.
    pub(crate) settings: Settings,
    /// The longest wait for an upstream answer's head and for each of its chunks.
    pub(crate) idle_timeout: Duration,
    /// Tokens expiring within this margin are refreshed first.
    pub(crate) refresh_margin: Duration,
    /// The refresher to share (single flight with the rest of the process); `None` makes one.
    pub(crate) refresher: Option<Refresher>,
    /// Fail over whatever `state.json` says.
    pub(crate) failover_forced: bool,
    /// Where failovers and recorded usage limits are announced; `None`: only logged.
    pub(crate) events: Option<EventBus>,
    /// The largest WebSocket message read from the backend (the HTTP body limit).
    pub(crate) socket_message_limit: usize,
    /// The network to share; `None`: resolved from `settings.network`.
    pub(crate) network: Option<Network>,
}

/// The profiles an endpoint serves with: who serves, with which token, over which upstream.
pub(crate) struct Accounts {
    home: CodexHome,
    store: Store,
    refresher: Refresher,
    network: Network,
    upstream: Upstream,
    active: ActiveCache,
    creds: CredsCache,
    refresh_margin: Duration,
    failover: LiveFailover,
    events: Option<EventBus>,
    /// Where recorded usage is announced (`events`, or a bus nobody listens to).
    usage_bus: EventBus,
    socket_message_limit: usize,
}

impl Accounts {
    /// The account layer over `config.home`, with an upstream client of its own.
    pub(crate) fn new(config: AccountsConfig) -> Result<Self, UpstreamError> {
        let AccountsConfig {
            home,
            settings,
            idle_timeout,
            refresh_margin,
            refresher,
            failover_forced,
            events,
            socket_message_limit,
            network,
        } = config;
        let network = match network {
            Some(n) => n,
            None => Network::new(&settings.network)?,
        };
        let store = Store::new(home.clone());
        let refresher = refresher.unwrap_or_else(|| {
            Refresher::new(
                store.clone(),
                &settings.upstream.auth_issuer,
                &network,
                RetryPolicy::default(),
            )
        });
        let upstream = Upstream::new(&settings.upstream, &settings.codex, &network, idle_timeout)?;
        let mut failover = settings.failover;
        failover.enabled |= failover_forced;
        let failover = LiveFailover::new(home.clone(), failover, failover_forced);
        Ok(Self {
            home,
            store,
            refresher,
            network,
            upstream,
            active: ActiveCache::default(),
            creds: CredsCache::default(),
            refresh_margin,
            failover,
            usage_bus: events.clone().unwrap_or_default(),
            events,
            socket_message_limit,
        })
    }

    /// Keeps the usage figures an answer carries in its `x-codex-*` headers for the account
    /// that served it (off the request's task), announcing `UsageUpdated` when they changed.
    pub(crate) fn record_usage(&self, profile: &str, headers: &HeaderMap) {
        crate::usage::recording::record_headers(&self.store, &self.usage_bus, profile, headers);
    }

    /// Keeps the figures of a usage payload (`/wham/usage`, `shared/protocol.md` §6) the
    /// backend answered for `profile` (off the request's task), announcing `UsageUpdated`
    /// when they changed.
    pub(crate) fn record_usage_payload(&self, profile: &str, payload: &serde_json::Value) {
        let now = chrono::Utc::now().timestamp();
        let (Some(usage), Ok(name)) = (
            crate::usage::from_payload(payload, now),
            crate::home::ProfileName::new(profile),
        ) else {
            return;
        };
        let (store, bus) = (self.store.clone(), self.usage_bus.clone());
        tokio::task::spawn_blocking(move || {
            if store.record_usage(&name, &usage).unwrap_or(false) {
                bus.emit(crate::events::RouterEvent::UsageUpdated {
                    profile: name.to_string(),
                });
            }
        });
    }

    /// The Codex home served.
    pub(crate) fn home(&self) -> &CodexHome {
        &self.home
    }

    /// The refresher requests share (for the proactive refresh loop).
    pub(crate) fn refresher(&self) -> &Refresher {
        &self.refresher
    }

    /// The network every upstream connection goes through.
    pub(crate) fn network(&self) -> &Network {
        &self.network
    }

    /// The upstream client: its URLs, its idle timeout, and sending an API-key profile's
    /// request as it came.
    pub(crate) fn upstream(&self) -> &Upstream {
        &self.upstream
    }
}
