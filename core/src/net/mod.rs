//! How every outgoing connection goes out, resolved once from [`NetworkSettings`]: which
//! proxy (if any) serves a URL, which roots a server's certificate must chain to, and the
//! clients built from both. Every caller that talks to OpenAI starts here:
//! [`Network::client_builder`] for `reqwest` clients, [`Network::connect`] and
//! [`Network::websocket_tls`] for connections made by hand (WebSockets), so the same
//! resolution serves model requests, token refresh, sign-in, usage and WebSockets, and
//! [`Network::summary`] can show it.

mod no_proxy;
mod proxy;
mod trust;
mod tunnel;

pub use proxy::ProxyTarget;
pub use trust::ExtraRoots;

use crate::settings::NetworkSettings;
use no_proxy::NoProxy;
use std::sync::Arc;

/// Why the network settings can't be used, or a connection made by hand failed. Messages
/// name the setting to fix and never hold a proxy's password.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A proxy setting is not a usable proxy URL.
    #[error(
        "{source_name} is not a usable proxy ({detail}); expected http://[user:password@]host:port"
    )]
    Proxy {
        /// The variable or `state.json` key that set it.
        source_name: String,
        /// What is wrong.
        detail: String,
    },
    /// The file of extra root certificates can't be used.
    #[error(
        "cannot use the root certificates in {path} (set by {source_name}): {detail}; it must be a PEM file with one or more CERTIFICATE blocks, or unset {source_name}"
    )]
    CaFile {
        /// The variable or `state.json` key that set it.
        source_name: String,
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The TLS configuration could not be built.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// A connection could not be opened (directly or to the proxy).
    #[error("cannot connect to {target}: {detail}")]
    Connect {
        /// `host:port` of the server or the proxy.
        target: String,
        /// Why.
        detail: String,
    },
    /// The proxy did not open the tunnel.
    #[error("the proxy {proxy} refused the tunnel to {target}: {status}")]
    Tunnel {
        /// The proxy, without its password.
        proxy: String,
        /// `host:port` asked for.
        target: String,
        /// Its answer's status line (`407 Proxy Authentication Required`, …).
        status: String,
    },
}

/// The resolved network settings. Cheap to clone; clones share the TLS configurations
/// (so clients built from one share TLS session resumption).
#[derive(Clone)]
pub struct Network {
    inner: Arc<Inner>,
}

struct Inner {
    https_proxy: Option<ProxyTarget>,
    http_proxy: Option<ProxyTarget>,
    all_proxy: Option<ProxyTarget>,
    no_proxy: Option<(NoProxy, String)>,
    extra_roots: Option<ExtraRoots>,
    http_tls: Arc<rustls::ClientConfig>,
    websocket_tls: Arc<rustls::ClientConfig>,
}

/// What is in use, in words for `status` and the apps (never a password).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NetworkSummary {
    /// The proxy of `https://` URLs with where it was set, e.g.
    /// `http://proxy.corp:3128 (HTTPS_PROXY)`; `None`: direct.
    pub proxy: Option<String>,
    /// The hosts reached directly despite the proxy, with where they were set.
    pub no_proxy: Option<String>,
    /// The extra root certificates, e.g. `/etc/corp/ca.pem, 2 certificates
    /// (CODEX_CA_CERTIFICATE)`; `None`: the bundled and the system roots only.
    pub extra_roots: Option<String>,
}

/// The name of a setting for messages: its environment variable, or its key in
/// `router/state.json`.
fn source_name(env: Option<&'static str>, key: &str) -> String {
    match env {
        Some(var) => var.to_owned(),
        None => format!("network.{key} in router/state.json"),
    }
}

impl Network {
    /// Resolves `settings` (already merged with the environment by
    /// [`crate::settings::Settings::load`]): parses the proxies and reads the extra roots,
    /// failing now, with the setting's name, on a bad URL or certificate file.
    pub fn new(settings: &NetworkSettings) -> Result<Self, NetError> {
        let env = settings.from_env;
        let parse = |value: &Option<String>, var, key| {
            value
                .as_deref()
                .map(|v| ProxyTarget::parse(v, source_name(var, key)))
                .transpose()
        };
        let https_proxy = parse(&settings.https_proxy, env.https_proxy, "https_proxy")?;
        let http_proxy = parse(&settings.http_proxy, env.http_proxy, "http_proxy")?;
        let all_proxy = parse(&settings.all_proxy, env.all_proxy, "all_proxy")?;
        let no_proxy = settings
            .no_proxy
            .as_deref()
            .map(|v| (NoProxy::parse(v), source_name(env.no_proxy, "no_proxy")));
        let extra_roots = settings
            .ca_certificate
            .as_deref()
            .map(|path| ExtraRoots::load(path, source_name(env.ca_certificate, "ca_certificate")))
            .transpose()?;
        let (http_tls, websocket_tls) = trust::client_configs(extra_roots.as_ref())?;
        Ok(Self {
            inner: Arc::new(Inner {
                https_proxy,
                http_proxy,
                all_proxy,
                no_proxy,
                extra_roots,
                http_tls,
                websocket_tls,
            }),
        })
    }

    /// The proxy that serves a URL of `scheme` (`https`/`wss` or `http`/`ws`) on `host`:
    /// the scheme's own proxy, else `all_proxy`; none when `no_proxy` lists the host.
    pub fn proxy_for(&self, scheme: &str, host: &str) -> Option<&ProxyTarget> {
        let i = &self.inner;
        if i.no_proxy.as_ref().is_some_and(|(n, _)| n.matches(host)) {
            return None;
        }
        let own = match scheme {
            "https" | "wss" => i.https_proxy.as_ref(),
            "http" | "ws" => i.http_proxy.as_ref(),
            _ => None,
        };
        own.or(i.all_proxy.as_ref())
    }

    /// A `reqwest` client builder with these proxies (and no other: the process's
    /// environment is not read again) and the TLS configuration of [`Self::http_tls`].
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let network = self.clone();
        let proxy = reqwest::Proxy::custom(move |url| {
            network
                .proxy_for(url.scheme(), url.host_str()?)
                .map(|p| p.url().clone())
        });
        reqwest::Client::builder()
            .no_proxy()
            .proxy(proxy)
            .use_preconfigured_tls(rustls::ClientConfig::clone(&self.inner.http_tls))
    }

    /// The TLS configuration of HTTP clients: the bundled (webpki) roots, the system's
    /// and the extra ones; ALPN offers HTTP/2 then HTTP/1.1.
    pub fn http_tls(&self) -> Arc<rustls::ClientConfig> {
        self.inner.http_tls.clone()
    }

    /// The same roots for WebSocket connections; ALPN offers HTTP/1.1 only (the upgrade
    /// is an HTTP/1.1 request).
    pub fn websocket_tls(&self) -> Arc<rustls::ClientConfig> {
        self.inner.websocket_tls.clone()
    }

    /// The extra roots in use, if any.
    pub fn extra_roots(&self) -> Option<&ExtraRoots> {
        self.inner.extra_roots.as_ref()
    }

    /// What is in use, in words.
    pub fn summary(&self) -> NetworkSummary {
        let i = &self.inner;
        let proxy = i
            .https_proxy
            .as_ref()
            .or(i.all_proxy.as_ref())
            .map(|p| format!("{} ({})", p.redacted(), p.source_name()));
        let http_only = match (&proxy, &i.http_proxy) {
            (None, Some(p)) => Some(format!(
                "{} for http:// only ({})",
                p.redacted(),
                p.source_name()
            )),
            _ => None,
        };
        NetworkSummary {
            proxy: proxy.or(http_only),
            no_proxy: i
                .no_proxy
                .as_ref()
                .map(|(n, source)| format!("{} ({source})", n.listing())),
            extra_roots: i.extra_roots.as_ref().map(ExtraRoots::describe),
        }
    }
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("summary", &self.summary())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(f: impl FnOnce(&mut NetworkSettings)) -> NetworkSettings {
        let mut s = NetworkSettings::default();
        f(&mut s);
        s
    }

    #[test]
    fn each_scheme_finds_its_proxy_and_no_proxy_wins() {
        let net = Network::new(&settings(|s| {
            s.https_proxy = Some("http://user:pw@secure.corp:3128".into());
            s.all_proxy = Some("plain.corp:8080".into());
            s.no_proxy = Some("internal.corp, 10.0.0.0/8".into());
            s.from_env.https_proxy = Some("HTTPS_PROXY");
        }))
        .unwrap();
        assert_eq!(
            net.proxy_for("https", "chatgpt.com").unwrap().authority(),
            "secure.corp:3128"
        );
        assert_eq!(
            net.proxy_for("wss", "chatgpt.com").unwrap().authority(),
            "secure.corp:3128"
        );
        assert_eq!(
            net.proxy_for("http", "example.com").unwrap().authority(),
            "plain.corp:8080"
        );
        assert!(net.proxy_for("https", "api.internal.corp").is_none());
        assert!(net.proxy_for("https", "10.1.2.3").is_none());
        let summary = net.summary();
        assert_eq!(
            summary.proxy.as_deref(),
            Some("http://***@secure.corp:3128/ (HTTPS_PROXY)")
        );
        assert_eq!(
            summary.no_proxy.as_deref(),
            Some("internal.corp, 10.0.0.0/8 (network.no_proxy in router/state.json)")
        );
        assert!(!format!("{net:?}").contains("pw"));
    }

    #[test]
    fn no_proxy_at_all_is_direct() {
        let net = Network::new(&NetworkSettings::default()).unwrap();
        assert!(net.proxy_for("https", "chatgpt.com").is_none());
        assert_eq!(net.summary(), NetworkSummary::default());
    }

    #[test]
    fn a_bad_proxy_names_its_setting_not_its_password() {
        for bad in [
            "socks5://u:secret@h:1080",
            "http://",
            "https://u:secret@h:1",
        ] {
            let err = Network::new(&settings(|s| {
                s.all_proxy = Some(bad.into());
                s.from_env.all_proxy = Some("ALL_PROXY");
            }))
            .unwrap_err()
            .to_string();
            assert!(err.starts_with("ALL_PROXY is not a usable proxy"), "{err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }
}
