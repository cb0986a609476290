//! The endpoint as one service: everything an endpoint needs, started from [`Settings`]
//! and a few explicit overrides, the same way for `codex-router serve` and for the apps
//! (`Router::start_proxy`), so the two can't keep different promises.
//!
//! What it decides: the address (and the second port for Ollama's tools), the local key (`proxy.require_key` and `proxy.key` in
//! `state.json`, `CODEX_ROUTER_KEY` in the environment; an override may require it too), the
//! other-users rule, timeouts, the body limit, failover, and the background work a lone
//! endpoint needs (the proactive token refresher and the usage poller) unless its host
//! process already runs them. Usage figures from answers are recorded by the account layer
//! ([`super::accounts`]) for the account that served them, not by an observer.

use super::server::{
    ConnectionLimits, DEFAULT_BODY_LIMIT, DEFAULT_IDLE_TIMEOUT, RequestObserver, Server,
    ServerConfig, ServerError,
};
use crate::events::EventBus;
use crate::home::CodexHome;
use crate::net::Network;
use crate::refresh::Refresher;
use crate::secret::Secret;
use crate::settings::Settings;
use crate::store::Store;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// The environment variable that holds the local key (it wins over `proxy.key`); the
/// same one `setup-codex --env-key` has Codex send.
pub use crate::codex_config::provider::KEY_ENV as ENV_KEY;

/// Why an endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The host is not an address and does not resolve.
    #[error("cannot resolve the host '{host}': {detail}")]
    Host {
        /// The host asked for.
        host: String,
        /// Why.
        detail: String,
    },
    /// A key is required but none is set.
    #[error(
        "a local key is required but none is set: set {ENV_KEY}, or \"proxy\": {{\"key\": \"…\"}} in {state_file}"
    )]
    NoKey {
        /// Where state.json is.
        state_file: String,
    },
    /// Binding or serving failed.
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// What a caller may set beyond `state.json`'s `proxy` section (`None`: the setting).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Address to listen on.
    pub host: Option<String>,
    /// Port (0: any free port).
    pub port: Option<u16>,
    /// A second port for Ollama's tools (0: any free port); `None`: `proxy.ollama_port`.
    pub ollama_port: Option<u16>,
    /// Require the local key whatever `proxy.require_key` says.
    pub require_key: bool,
    /// The longest wait for each chunk of an upstream answer.
    pub idle_timeout: Option<Duration>,
    /// Largest request body in bytes.
    pub body_limit: Option<usize>,
    /// Fail over whatever `state.json` says.
    pub failover: bool,
    /// Connection and request-reading limits.
    pub limits: Option<ConnectionLimits>,
}

/// What the host process shares with the endpoint.
#[derive(Clone, Default)]
pub struct Host {
    /// The event bus failovers, usage and finished requests are announced on; `None` makes
    /// one nobody listens to.
    pub events: Option<EventBus>,
    /// The refresher to share (single flight with the rest of the process).
    pub refresher: Option<Refresher>,
    /// The network to share (proxy and roots, resolved once); `None`: resolved from the
    /// settings.
    pub network: Option<Network>,
    /// Whether the host already runs the proactive refresher and the usage poller (the
    /// apps do, for as long as they run); otherwise the endpoint runs them while it runs.
    pub runs_background: bool,
    /// Told about every finished request, after the endpoint's own bookkeeping.
    pub observer: Option<RequestObserver>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("runs_background", &self.runs_background)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

/// A bound endpoint, ready to run.
pub struct Endpoint {
    server: Server,
    settings: Settings,
    events: EventBus,
    background: bool,
    key_required: bool,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("addr", &self.server.local_addr())
            .field("key_required", &self.key_required)
            .finish_non_exhaustive()
    }
}

/// The local key in force: required by `proxy.require_key` or the override, taken from
/// `CODEX_ROUTER_KEY` or else `proxy.key`.
fn local_key(
    home: &CodexHome,
    settings: &Settings,
    require: bool,
) -> Result<Option<Secret>, ServiceError> {
    if !(require || settings.proxy.require_key) {
        return Ok(None);
    }
    let from_env = std::env::var(ENV_KEY).ok().map(Secret::new);
    [from_env, settings.proxy.key.clone()]
        .into_iter()
        .flatten()
        .map(|k| Secret::new(k.expose().trim()))
        .find(|k| !k.expose().is_empty())
        .map(Some)
        .ok_or_else(|| ServiceError::NoKey {
            state_file: home.state_file().display().to_string(),
        })
}

/// `host:port` as a socket address (`localhost` and other names resolved).
fn resolve(host: &str, port: u16) -> Result<SocketAddr, ServiceError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let err = |detail: String| ServiceError::Host {
        host: host.to_owned(),
        detail,
    };
    (bare, port)
        .to_socket_addrs()
        .map_err(|e| err(e.to_string()))?
        .next()
        .ok_or_else(|| err("no address".into()))
}

/// `http://HOST:PORT` for an address.
fn origin(addr: SocketAddr) -> String {
    let host = match addr.ip() {
        IpAddr::V6(ip) => format!("[{ip}]"),
        IpAddr::V4(ip) => ip.to_string(),
    };
    format!("http://{host}:{}", addr.port())
}

impl Endpoint {
    /// Binds an endpoint for `home` as `settings` and `overrides` say.
    pub async fn bind(
        home: CodexHome,
        settings: Settings,
        overrides: &Overrides,
        host: Host,
    ) -> Result<Self, ServiceError> {
        let bind_host = overrides
            .host
            .clone()
            .unwrap_or_else(|| settings.proxy.host.clone());
        let addr = resolve(&bind_host, overrides.port.unwrap_or(settings.proxy.port))?;
        let local_key = local_key(&home, &settings, overrides.require_key)?;
        let key_required = local_key.is_some();
        let events = host.events.clone().unwrap_or_default();
        let mut config = ServerConfig::new(home.clone(), settings.clone());
        config.bind_host = bind_host;
        config.local_key = local_key;
        config.idle_timeout = overrides.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT);
        config.body_limit = overrides.body_limit.unwrap_or(DEFAULT_BODY_LIMIT);
        config.failover_forced = overrides.failover;
        config.limits = overrides.limits.unwrap_or_default();
        config.refresher = host.refresher.clone();
        config.network = host.network.clone();
        config.events = Some(events.clone());
        config.observer = host.observer;
        let mut server = Server::bind(config, addr).await?;
        if let Some(port) = overrides.ollama_port.or(settings.proxy.ollama_port) {
            server.listen_also(SocketAddr::new(addr.ip(), port)).await?;
        }
        Ok(Self {
            server,
            settings,
            events,
            background: !host.runs_background,
            key_required,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// `http://HOST:PORT/v1`, for clients.
    pub fn url(&self) -> String {
        format!("{}/v1", origin(self.local_addr()))
    }

    /// `http://HOST:PORT` of the second port for Ollama's tools, when it listens on one
    /// (Ollama's API is at the root of both).
    pub fn ollama_url(&self) -> Option<String> {
        self.server.second_addr().map(origin)
    }

    /// The network its upstream connections go through (to say which proxy and roots).
    pub fn network(&self) -> &Network {
        self.server.network()
    }

    /// Whether clients must send the local key.
    pub fn key_required(&self) -> bool {
        self.key_required
    }

    /// Whether failover is on as it starts.
    pub fn failover_on(&self, overrides: &Overrides) -> bool {
        self.settings.failover.enabled || overrides.failover
    }

    /// The active profile's name now, or why there is none.
    pub async fn active_profile(&self) -> Result<String, String> {
        self.server.active_profile().await
    }

    /// Serves until `shutdown` completes (then open answers get a few seconds), running the
    /// proactive refresher and the usage poller meanwhile unless the host runs them.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServiceError> {
        let mut tasks = Vec::new();
        if self.background {
            if self.settings.refresh.proactive {
                let refresh = self.settings.refresh.clone();
                tasks.push(self.server.refresher().spawn_proactive(refresh));
            }
            if self.settings.usage.refresh_minutes > 0 {
                tasks.push(crate::usage::poller::spawn_poller(
                    Store::new(self.server.home().clone()),
                    self.settings.clone(),
                    Duration::from_secs(self.settings.usage.refresh_minutes * 60),
                    self.events.clone(),
                    self.server.network().clone(),
                ));
            }
        }
        let result = self.server.run(shutdown).await;
        for task in tasks {
            task.abort();
        }
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_and_addresses_parse() {
        assert_eq!(
            resolve("127.0.0.1", 9).unwrap(),
            "127.0.0.1:9".parse().unwrap()
        );
        assert_eq!(resolve("[::1]", 9).unwrap(), "[::1]:9".parse().unwrap());
        assert!(resolve("localhost", 9).unwrap().ip().is_loopback());
        assert!(resolve("no such host.invalid", 9).is_err());
    }
}
