//! The HTTP client every upstream call uses, with the headers Codex itself sends, built from
//! the resolved network settings ([`Network`]: proxy and roots).

use crate::net::Network;
use std::error::Error as _;
use std::time::Duration;

pub use crate::settings::CODEX_VERSION;
/// The `originator` Codex's own CLI sends.
pub const ORIGINATOR: &str = "codex_cli_rs";
/// The OAuth client id of Codex.
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// A Codex-like `User-Agent` for Codex `version`:
/// `codex_cli_rs/0.171.0 (Linux; x86_64) codex-router/0.1.0`.
pub fn user_agent(version: &str) -> String {
    format!(
        "{ORIGINATOR}/{version} ({}; {}) codex-router/{}",
        os_name(),
        std::env::consts::ARCH,
        env!("CARGO_PKG_VERSION")
    )
}

fn os_name() -> &'static str {
    match std::env::consts::OS {
        "macos" => "Mac OS",
        "linux" => "Linux",
        "windows" => "Windows",
        other => other,
    }
}

/// A client with Codex's default headers (`originator` and the `User-Agent` of Codex
/// [`CODEX_VERSION`]), `network`'s proxy and roots, and the given overall timeout: for the
/// sign-in and token calls.
pub fn client(network: &Network, timeout: Duration) -> reqwest::Client {
    build(
        network,
        CODEX_VERSION,
        reqwest::header::HeaderMap::new(),
        timeout,
    )
}

/// A client for the ChatGPT backend as Codex `version`: `originator`, `version` and the
/// `User-Agent` of that version, `network`'s proxy and roots, and the given overall timeout.
/// A `version` that is not a valid header value goes out as [`CODEX_VERSION`] (the settings
/// refuse such values).
pub fn client_as(network: &Network, version: &str, timeout: Duration) -> reqwest::Client {
    let value = reqwest::header::HeaderValue::from_str(version)
        .unwrap_or(reqwest::header::HeaderValue::from_static(CODEX_VERSION));
    let shown = value.to_str().unwrap_or(CODEX_VERSION).to_owned();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("version", value);
    build(network, &shown, headers, timeout)
}

fn build(
    network: &Network,
    version: &str,
    mut headers: reqwest::header::HeaderMap,
    timeout: Duration,
) -> reqwest::Client {
    headers.insert(
        "originator",
        reqwest::header::HeaderValue::from_static(ORIGINATOR),
    );
    network
        .client_builder()
        .user_agent(user_agent(version))
        .default_headers(headers)
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .build()
        .expect("the TLS backend is built in")
}

/// What a failure to trust a server's certificate says: what to set.
pub const UNTRUSTED_CERTIFICATE: &str = "the server's TLS certificate is not trusted (behind a company proxy or gateway? set CODEX_CA_CERTIFICATE or SSL_CERT_FILE, or network.ca_certificate in router/state.json, to a PEM file of its root certificate)";

/// What kind of failure a request had, without its URL (which could carry secrets).
pub fn error_kind(e: &reqwest::Error) -> &'static str {
    if is_untrusted_certificate(e) {
        UNTRUSTED_CERTIFICATE
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    }
}

/// Whether `e` (or what caused it) is rustls refusing the server's certificate.
fn is_untrusted_certificate(e: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(c) = cause {
        if let Some(tls) = c.downcast_ref::<rustls::Error>() {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return matches!(tls, rustls::Error::InvalidCertificate(_));
        }
        cause = c.source();
    }
    false
}
