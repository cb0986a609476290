//! `serve`: the local OpenAI-compatible endpoint in the foreground until Ctrl-C.

use codex_router_core::events::EventBus;
use codex_router_core::home::CodexHome;
use codex_router_core::proxy::server::{
    DEFAULT_BODY_LIMIT, DEFAULT_IDLE_TIMEOUT, RequestRecord, Server, ServerConfig,
};
use codex_router_core::secret::Secret;
use codex_router_core::settings::Settings;
use codex_router_core::store::Store;
use codex_router_core::usage;
use serde_json::Value;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// The environment variable holding the local key for `--require-key`.
pub const ENV_KEY: &str = "CODEX_ROUTER_KEY";

/// What `serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (default from state.json: 127.0.0.1).
    pub host: Option<String>,
    /// Port (default from state.json: 9876; 0 = any free port).
    pub port: Option<u16>,
    /// Require the local key on every request.
    pub require_key: bool,
    /// Seconds to wait for each chunk of an upstream answer.
    pub idle_timeout: Option<u64>,
    /// Largest request body in MiB.
    pub max_body_mib: Option<u64>,
    /// Fail over to the next account on a usage limit (besides state.json's `failover`).
    pub failover: bool,
}

/// `serve`.
pub fn serve(home: CodexHome, opts: ServeOptions) -> Result<(), String> {
    let settings = Settings::load(&home).map_err(|e| e.to_string())?;
    let host = opts
        .host
        .clone()
        .unwrap_or_else(|| settings.proxy.host.clone());
    let port = opts.port.unwrap_or(settings.proxy.port);
    let addr = resolve(&host, port)?;
    let require_key = opts.require_key
        || settings
            .proxy
            .extra
            .get("require_key")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let local_key = if require_key {
        let key = std::env::var(ENV_KEY)
            .ok()
            .filter(|k| !k.trim().is_empty())
            .or_else(|| {
                settings
                    .proxy
                    .extra
                    .get("key")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| {
                format!(
                    "--require-key needs a key: set {ENV_KEY}, or \"proxy\": {{\"key\": \"…\"}} in {}",
                    home.state_file().display()
                )
            })?;
        Some(Secret::new(key.trim()))
    } else {
        None
    };
    let mut config = ServerConfig::new(home, settings.clone());
    config.bind_host = host.clone();
    config.local_key = local_key;
    config.idle_timeout = opts
        .idle_timeout
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_IDLE_TIMEOUT);
    config.body_limit = opts
        .max_body_mib
        .map(|m| usize::try_from(m.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX))
        .unwrap_or(DEFAULT_BODY_LIMIT);
    config.failover_forced = opts.failover;
    // Nobody subscribes in this process; the bus feeds the usage recorder and poller.
    let bus = EventBus::new();
    let store = Store::new(config.home.clone());
    config.events = Some(bus.clone());
    config.observer = Some({
        let (store, bus) = (store.clone(), bus.clone());
        Arc::new(move |record: &RequestRecord| {
            if let Some(profile) = &record.profile {
                usage::recording::record_headers(&store, &bus, profile, &record.codex_headers);
            }
        })
    });
    let require = config.local_key.is_some();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async move {
        let server = Server::bind(config, addr)
            .await
            .map_err(|e| e.to_string())?;
        let local = server.local_addr();
        let profile = match server.active_profile().await {
            Ok(name) => format!("active profile: {name}"),
            Err(e) => format!("no usable profile yet: {e}"),
        };
        let url_host = match local.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "Codex Router listening on http://{url_host}:{}/v1 ({profile})",
                local.port()
            );
            if settings.failover.enabled || opts.failover {
                let _ = writeln!(
                    out,
                    "Failover is on: a request that hits an account's usage limit moves to the next account{}.",
                    if settings.failover.follow_active { " (and the active profile follows)" } else { " (auth.json is left alone)" }
                );
            }
            if require {
                let _ = writeln!(
                    out,
                    "A local key is required: send it as the API key (Authorization: Bearer ${ENV_KEY})."
                );
            }
            let _ = writeln!(out, "Press Ctrl-C to stop.");
            let _ = out.flush();
        }
        if !local.ip().is_loopback() {
            eprintln!(
                "warning: listening on {} — other machines can reach this endpoint and spend your accounts; use --require-key",
                local.ip()
            );
        }
        let proactive = settings
            .refresh
            .proactive
            .then(|| server.refresher().spawn_proactive(settings.refresh.clone()));
        let poller = (settings.usage.refresh_minutes > 0).then(|| {
            usage::poller::spawn_poller(
                store,
                settings.upstream.chatgpt_base_url.clone(),
                Duration::from_secs(settings.usage.refresh_minutes * 60),
                bus,
            )
        });
        let result = server.run(shutdown_signal()).await;
        for task in [proactive, poller].into_iter().flatten() {
            task.abort();
        }
        result.map_err(|e| e.to_string())?;
        println!("Stopped.");
        Ok(())
    })
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve --host {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("--host {host} has no address"))
}

/// Ctrl-C, or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}
