//! `serve`: the local OpenAI-compatible endpoint in the foreground until Ctrl-C.

use codex_router_core::home::CodexHome;
pub use codex_router_core::proxy::service::ENV_KEY;
use codex_router_core::proxy::service::{Endpoint, Host, Overrides};
use codex_router_core::settings::Settings;
use codex_router_core::view::NetworkView;
use std::io::Write;
use std::time::Duration;

/// What `serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (default from state.json: 127.0.0.1).
    pub host: Option<String>,
    /// Port (default from state.json: 9876; 0 = any free port).
    pub port: Option<u16>,
    /// A second port for Ollama's tools (default from state.json: none; 0 = any free port).
    pub ollama_port: Option<u16>,
    /// Require the local key on every request.
    pub require_key: bool,
    /// Seconds to wait for each chunk of an upstream answer.
    pub idle_timeout: Option<u64>,
    /// Largest request body in MiB.
    pub max_body_mib: Option<u64>,
    /// Fail over to the next account on a usage limit (besides state.json's `failover`).
    pub failover: bool,
}

/// `serve`: the core's endpoint service with the command line's overrides.
pub fn serve(home: CodexHome, opts: ServeOptions) -> Result<(), String> {
    let settings = Settings::load(&home).map_err(|e| e.to_string())?;
    let overrides = Overrides {
        host: opts.host.clone(),
        port: opts.port,
        ollama_port: opts.ollama_port,
        require_key: opts.require_key,
        idle_timeout: opts.idle_timeout.map(Duration::from_secs),
        body_limit: opts
            .max_body_mib
            .map(|m| usize::try_from(m.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)),
        failover: opts.failover,
        limits: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async move {
        let endpoint = Endpoint::bind(home, settings.clone(), &overrides, Host::default())
            .await
            .map_err(|e| e.to_string())?;
        let profile = match endpoint.active_profile().await {
            Ok(name) => format!("active profile: {name}"),
            Err(e) => format!("no usable profile yet: {e}"),
        };
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "Codex Router listening on {} ({profile})",
                endpoint.url()
            );
            let network = NetworkView::new(endpoint.network());
            let _ = writeln!(out, "Outgoing: {}", network.line);
            if let Some(url) = endpoint.ollama_url() {
                let _ = writeln!(out, "Ollama's API also on {url}");
            }
            if endpoint.failover_on(&overrides) {
                let _ = writeln!(
                    out,
                    "Failover is on: a request that hits an account's usage limit moves to the next account{}.",
                    if settings.failover.follow_active { " (and the active profile follows)" } else { " (auth.json is left alone)" }
                );
            }
            if endpoint.key_required() {
                let _ = writeln!(
                    out,
                    "A local key is required: send it as the API key (Authorization: Bearer ${ENV_KEY})."
                );
            }
            let _ = writeln!(out, "Press Ctrl-C to stop.");
            let _ = out.flush();
        }
        let ip = endpoint.local_addr().ip();
        if !ip.is_loopback() {
            eprintln!(
                "warning: listening on {ip} — other machines can reach this endpoint and spend your accounts; use --require-key"
            );
        }
        endpoint
            .run(shutdown_signal())
            .await
            .map_err(|e| e.to_string())?;
        println!("Stopped.");
        Ok(())
    })
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
