//! Behind a company network: the upstream over TLS with a root certificate made at test
//! time (a TLS-inspecting gateway's, as far as the router can tell), reached through an HTTP
//! `CONNECT` proxy. Model requests (whole and streaming), token refresh, sign-in and the
//! WebSocket connection go through the proxy and trust the extra root, set in
//! `router/state.json` or in the environment; what is not trusted says what to set; one
//! connection serves many requests and accounts. No test reads the machine's environment:
//! settings are loaded with an explicit environment.

use crate::proxy::{Router, chatgpt_home, start_with};
use codex_router_core::home::CodexHome;
use codex_router_core::login::device;
use codex_router_core::net::{NetError, Network};
use codex_router_core::proxy::server::{Server, ServerConfig};
use codex_router_core::refresh::{Refresher, RetryPolicy};
use codex_router_core::settings::Settings;
use codex_router_core::store::Store;
use codex_router_testkit::connect_proxy::ConnectProxy;
use codex_router_testkit::home::TempHome;
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::tls::TestCa;
use codex_router_testkit::upstream::FakeUpstream;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The TLS upstream, its CA written to a file, and a proxy.
pub(crate) struct CompanyNetwork {
    pub(crate) up: FakeUpstream,
    pub(crate) ca_file: PathBuf,
    pub(crate) proxy: ConnectProxy,
    _dir: tempfile::TempDir,
}

impl CompanyNetwork {
    pub(crate) fn new(proxy: ConnectProxy) -> Self {
        let ca = TestCa::new("company");
        let up = FakeUpstream::start_tls(&ca);
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("company-ca.pem");
        ca.write_pem(&ca_file);
        Self {
            up,
            ca_file,
            proxy,
            _dir: dir,
        }
    }

    /// `host:port` of the upstream, as the proxy is asked for it.
    pub(crate) fn target(&self) -> String {
        self.up.addr().to_string()
    }

    /// `router/state.json` with the upstream's URLs and `network`.
    pub(crate) fn write_state(&self, home: &TempHome, network: Value) {
        home.write_state(&json!({
            "upstream": {
                "chatgpt_base_url": self.up.chatgpt_base_url(),
                "openai_base_url": self.up.openai_base_url(),
                "auth_issuer": self.up.issuer_url(),
            },
            "network": network,
        }));
    }
}

/// The settings of `home` with `env` as the whole environment.
fn load(home: &TempHome, env: &[(&str, &str)]) -> Settings {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::load_with_env(&CodexHome::at(home.path()), |k| env.get(k).cloned()).unwrap()
}

fn hello(stream: bool) -> Value {
    json!({
        "model": "gpt-5.5",
        "messages": [{"role": "user", "content": "Hello through the proxy"}],
        "stream": stream,
    })
}

pub(crate) async fn start_loaded(
    net: &CompanyNetwork,
    home: TempHome,
    env: &[(&str, &str)],
) -> Router {
    let settings = load(&home, env);
    start_with(&net.up, home, move |c| c.settings = settings).await
}

async fn chat(r: &Router, stream: bool) -> (u16, String) {
    let resp = r
        .post("/v1/chat/completions")
        .json(&hello(stream))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_streams_go_through_the_proxy_trusting_the_root_from_state_json() {
    let net = CompanyNetwork::new(ConnectProxy::start());
    let home = chatgpt_home(&net.up, &["alice"], 3600);
    net.write_state(
        &home,
        json!({"https_proxy": net.proxy.url(), "ca_certificate": net.ca_file}),
    );
    let r = start_loaded(&net, home, &[]).await;

    let (status, body) = chat(&r, false).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "You said: Hello through the proxy"
    );
    let (status, text) = chat(&r, true).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("said: "), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");

    assert_eq!(net.proxy.targets(), [net.target()]);
    assert_eq!(net.up.connections_accepted(), 1);
    assert_eq!(net.up.count("/backend-api/codex/responses"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_and_device_sign_in_go_through_an_authenticating_proxy_with_the_root_from_the_environment()
 {
    let net = CompanyNetwork::new(ConnectProxy::with_auth("me@corp", "s3cret"));
    let home = chatgpt_home(&net.up, &["alice"], 3600);
    net.write_state(&home, json!({}));
    let ca = net.ca_file.to_str().unwrap();
    let settings = load(
        &home,
        &[
            (
                "https_proxy",
                &net.proxy.url().replace("me@corp", "me%40corp"),
            ),
            ("CODEX_CA_CERTIFICATE", ca),
            (
                "SSL_CERT_FILE",
                "/nonexistent/ignored-when-codex-ca-is-set.pem",
            ),
        ],
    );
    let network = Network::new(&settings.network).unwrap();
    let summary = network.summary();
    assert_eq!(
        summary.proxy,
        Some(format!(
            "{} (https_proxy)",
            net.proxy.bare_url().replace("://", "://***@") + "/"
        ))
    );
    assert_eq!(
        summary.extra_roots,
        Some(format!("{ca}, 1 certificate (CODEX_CA_CERTIFICATE)"))
    );

    let store = Store::new(CodexHome::at(home.path()));
    let retry = RetryPolicy {
        attempts: 1,
        first_delay: std::time::Duration::from_millis(1),
    };
    let refresher = Refresher::new(
        store.clone(),
        &settings.upstream.auth_issuer,
        &network,
        retry,
    );
    let fresh = refresher.refresh_now("alice").await.unwrap();
    assert!(fresh.refreshed);
    assert_eq!(net.up.refresh_count(&Identity::new("alice", "plus")), 1);

    let carol = Identity::new("carol", "team");
    net.up.set_login_identity(&carol);
    net.up.set_device_poll_interval(0);
    let code = device::start(
        &store,
        "carol",
        false,
        &settings.upstream.auth_issuer,
        &network,
    )
    .await
    .unwrap();
    device::finish(store, "carol", false, code).await.unwrap();
    let saved = home.read_json(&home.profile_path("carol"));
    assert_eq!(saved["tokens"]["account_id"], "acct-carol");

    let targets = net.proxy.targets();
    assert!(!targets.is_empty());
    assert!(targets.iter().all(|t| *t == net.target()), "{targets:?}");
    assert_eq!(net.proxy.refused(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_tells_the_client_what_to_set() {
    let net = CompanyNetwork::new(ConnectProxy::start());
    let home = chatgpt_home(&net.up, &["alice"], 3600);
    // Another CA than the upstream's.
    let other = net._dir.path().join("other-ca.pem");
    TestCa::new("other").write_pem(&other);
    net.write_state(&home, json!({"https_proxy": net.proxy.url()}));
    let r = start_loaded(&net, home, &[("SSL_CERT_FILE", other.to_str().unwrap())]).await;
    let (status, body) = chat(&r, false).await;
    assert_eq!(status, 502, "{body}");
    let message = serde_json::from_str::<Value>(&body).unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("not trusted"), "{message}");
    assert!(message.contains("CODEX_CA_CERTIFICATE"), "{message}");
    assert!(message.contains("SSL_CERT_FILE"), "{message}");
    assert_eq!(net.up.count("/backend-api/codex/responses"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_hosts_are_reached_directly() {
    let net = CompanyNetwork::new(ConnectProxy::start());
    let home = chatgpt_home(&net.up, &["alice"], 3600);
    net.write_state(&home, json!({"ca_certificate": net.ca_file}));
    let proxy = net.proxy.url();
    let r = start_loaded(
        &net,
        home,
        &[
            ("HTTPS_PROXY", &proxy),
            ("NO_PROXY", "example.com, 127.0.0.0/8"),
        ],
    )
    .await;
    let (status, body) = chat(&r, false).await;
    assert_eq!(status, 200, "{body}");
    assert!(net.proxy.targets().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_root_certificate_file_is_a_clear_error_at_start() {
    let home = TempHome::new();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "# no certificate here\n").unwrap();
    let empty = empty.to_str().unwrap();
    for (env, words) in [
        (
            ("CODEX_CA_CERTIFICATE", "/nonexistent/corp.pem"),
            ["CODEX_CA_CERTIFICATE", "/nonexistent/corp.pem"],
        ),
        (
            ("SSL_CERT_FILE", empty),
            ["SSL_CERT_FILE", "no certificate"],
        ),
    ] {
        let settings = load(&home, &[env]);
        let err = Network::new(&settings.network).unwrap_err();
        assert!(matches!(err, NetError::CaFile { .. }), "{err}");
        let message = err.to_string();
        for w in words {
            assert!(message.contains(w), "{message}");
        }
        // The endpoint does not start with it.
        let config = ServerConfig::new(CodexHome::at(home.path()), settings);
        let err = Server::bind(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(env.0), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_serves_many_requests_and_a_switch_between_accounts() {
    let net = CompanyNetwork::new(ConnectProxy::start());
    let home = chatgpt_home(&net.up, &["alice", "bob"], 3600);
    net.write_state(
        &home,
        json!({"https_proxy": net.proxy.url(), "ca_certificate": net.ca_file}),
    );
    let r = start_loaded(&net, home, &[]).await;
    for i in 0..20 {
        if i == 10 {
            r.store().switch("bob", false).unwrap();
        }
        let (status, body) = chat(&r, i % 2 == 0).await;
        assert_eq!(status, 200, "{body}");
    }
    let sent = net.up.last_request("/backend-api/codex/responses").unwrap();
    assert_eq!(sent.header("chatgpt-account-id"), Some("acct-bob"));
    assert_eq!(net.up.count("/backend-api/codex/responses"), 20);
    assert_eq!(net.up.connections_accepted(), 1);
    assert_eq!(net.proxy.targets().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_stream_opens_through_the_proxy_with_the_same_roots() {
    let net = CompanyNetwork::new(ConnectProxy::with_auth("ws", "pw"));
    let home = TempHome::new();
    net.write_state(
        &home,
        json!({"https_proxy": net.proxy.url(), "ca_certificate": net.ca_file}),
    );
    let network = Network::new(&load(&home, &[]).network).unwrap();
    let port = net.up.addr().port();
    let tcp = network.connect("wss", "127.0.0.1", port).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(network.websocket_tls());
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut stream = tls.connect(name, tcp).await.unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    stream
        .write_all(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok();
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    assert_eq!(net.proxy.targets(), [net.target()]);

    // Without the proxy's password: the proxy's refusal, not a TLS error.
    let mut wrong = load(&home, &[]).network;
    wrong.https_proxy = Some(net.proxy.bare_url());
    let err = Network::new(&wrong)
        .unwrap()
        .connect("wss", "127.0.0.1", port)
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::Tunnel { .. }), "{err}");
    assert!(err.to_string().contains("407"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_http2_connection() {
    let net = CompanyNetwork::new(ConnectProxy::start());
    let home = chatgpt_home(&net.up, &["alice"], 3600);
    net.write_state(&home, json!({"ca_certificate": net.ca_file}));
    let r = start_loaded(&net, home, &[]).await;
    assert_eq!(chat(&r, false).await.0, 200);
    let r = std::sync::Arc::new(r);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let r = r.clone();
        set.spawn(async move { chat(&r, true).await });
    }
    while let Some(done) = set.join_next().await {
        let (status, text) = done.unwrap();
        assert_eq!(status, 200, "{text}");
    }
    // HTTP/1.1 would have needed a connection per request in flight.
    assert_eq!(net.up.connections_accepted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_upstreams_go_through_the_http_proxy() {
    let up = FakeUpstream::start();
    let proxy = ConnectProxy::with_auth("corp", "pw");
    let home = chatgpt_home(&up, &["alice"], 3600);
    home.write_state(&json!({
        "upstream": {
            "chatgpt_base_url": up.chatgpt_base_url(),
            "openai_base_url": up.openai_base_url(),
            "auth_issuer": up.issuer_url(),
        },
        "network": {"http_proxy": proxy.url()},
    }));
    let settings = load(&home, &[]);
    let r = start_with(&up, home, move |c| c.settings = settings).await;
    let (status, body) = chat(&r, false).await;
    assert_eq!(status, 200, "{body}");
    let (status, text) = chat(&r, true).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    // Both went by the proxy (one kept connection), with its password.
    assert_eq!(proxy.targets(), [up.addr().to_string()]);
    assert_eq!(proxy.refused(), 0);
    assert_eq!(up.count("/backend-api/codex/responses"), 2);
}
