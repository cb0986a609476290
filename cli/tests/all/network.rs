//! `status` and `serve` behind a company network: which proxy (never its password) and which
//! extra roots are in use, from the environment or `router/state.json`, and a bad root
//! certificate file refused at start with the variable's name. The machine's own proxy and
//! CA variables are removed from every run.

use codex_router_testkit::home::{TempHome, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::tls::TestCa;
use serde_json::{Value, json};
use std::process::{Command, Output, Stdio};

const NETWORK_VARS: [&str; 10] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "CODEX_CA_CERTIFICATE",
    "SSL_CERT_FILE",
];

fn router(home: &TempHome, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codex-router"));
    for var in NETWORK_VARS {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .env("CODEX_HOME", home.path())
        .env(
            "CODEX_ROUTER_CHATGPT_BASE_URL",
            "http://127.0.0.1:9/backend-api/codex",
        )
        .env("CODEX_ROUTER_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .env("CODEX_ROUTER_AUTH_ISSUER", "http://127.0.0.1:9")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run codex-router")
}

fn signed_in_home() -> TempHome {
    let home = TempHome::new();
    let alice = Identity::new("alice", "team");
    home.write_profile("work", &chatgpt_auth(&alice, 1, 86_400));
    home.write_auth(&chatgpt_auth(&alice, 1, 86_400));
    home
}

#[test]
fn status_says_which_proxy_and_roots_are_in_use_without_the_password() {
    let home = signed_in_home();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("corp-ca.pem");
    let pem = format!("{}{}", TestCa::new("a").ca_pem(), TestCa::new("b").ca_pem());
    std::fs::write(&ca, pem).unwrap();
    let ca = ca.to_str().unwrap();

    let out = router(&home, &[], &["status"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("Network:  direct; trusts the bundled and system roots"),
        "{text}"
    );

    let env = [
        ("HTTPS_PROXY", "http://me:hunter2@proxy.corp:3128"),
        ("no_proxy", "localhost,.corp"),
        ("SSL_CERT_FILE", ca),
    ];
    let out = router(&home, &env, &["status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains(&format!(
            "Network:  through http://***@proxy.corp:3128/ (HTTPS_PROXY), not for localhost, .corp (no_proxy); trusts {ca}, 2 certificates (SSL_CERT_FILE) besides the bundled and system roots"
        )),
        "{text}"
    );
    let out = router(&home, &env, &["status", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["network"]["proxy"],
        "http://***@proxy.corp:3128/ (HTTPS_PROXY)"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hunter2"));

    // The same from state.json, for the apps; the environment wins key by key.
    home.write_state(&json!({"network": {"https_proxy": "proxy.file:8080", "ca_certificate": ca}}));
    let out = router(&home, &[], &["status", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["network"]["proxy"],
        "http://proxy.file:8080/ (network.https_proxy in router/state.json)"
    );
    let out = router(
        &home,
        &[("https_proxy", "http://env:1")],
        &["status", "--json"],
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["network"]["proxy"], "http://env:1/ (https_proxy)");
}

#[test]
fn a_bad_root_certificate_file_stops_status_and_serve_naming_the_variable() {
    let home = signed_in_home();
    let env = [("CODEX_CA_CERTIFICATE", "/nonexistent/corp-ca.pem")];
    for args in [&["status"][..], &["serve", "--port", "0"]] {
        let out = router(&home, &env, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            err.contains("CODEX_CA_CERTIFICATE") && err.contains("/nonexistent/corp-ca.pem"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}
