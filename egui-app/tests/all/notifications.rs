//! Notifications as a desktop shows them: the real binary started the way the autostart
//! entry starts it (`--hidden`, on Xvfb), a private session bus with a stand-in tray host
//! and a stand-in notification service, the app's endpoint in front of the fake upstream.
//! Each kind is caused the real way (a refused refresh token, answers' usage headers, a 429
//! and a failover, the limit's end) and seen arriving at the service; the window stays
//! hidden until the tray's Open Window. Needs `Xvfb` and `dbus-daemon`.

#![cfg(target_os = "linux")]

use crate::common::{Running, X, start_xvfb, tools_present, wait_for};
use crate::tray::{Watcher, click, find, menu, start_bus};
use codex_router_testkit::home::TempHome;
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::notifications::{NotificationService, Received};
use codex_router_testkit::upstream::{FakeUpstream, RateLimits};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A chat request to the app's endpoint on `port`; the HTTP status.
fn chat(port: u16) -> u16 {
    let body =
        json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the endpoint listens");
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_hidden_app_posts_each_kind_of_notification() {
    if !tools_present(&["Xvfb", "dbus-daemon"]) {
        return;
    }
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let alice = up.chatgpt_auth_json(&Identity::new("alice", "plus"), 3600);
    home.write_profile("alice", &alice);
    home.write_auth(&alice);
    home.write_current("alice");
    home.write_profile(
        "bob",
        &up.chatgpt_auth_json(&Identity::new("bob", "plus"), 3600),
    );
    // Carol's token expires within the refresh margin: the app renews it at once, and the
    // issuer refuses her refresh token.
    home.write_profile(
        "carol",
        &up.chatgpt_auth_json(&Identity::new("carol", "plus"), 60),
    );
    up.fail_next_refresh_with(
        401,
        json!({"error": {"code": "refresh_token_reused", "message": "Your refresh token has already been used"}}),
    );
    let port = free_port();
    home.write_state(&json!({
        "upstream": {
            "auth_issuer": up.issuer_url(),
            "chatgpt_base_url": up.chatgpt_base_url(),
            "openai_base_url": up.openai_base_url(),
        },
        "proxy": {"port": port, "start_with_app": true},
        "failover": {"enabled": true},
        "usage": {"refresh_minutes": 0},
    }));

    let runtime = tempfile::tempdir().unwrap();
    let (_bus_daemon, address) = start_bus(runtime.path());
    let service = NotificationService::start(&address).unwrap();
    let (tx, registered) = mpsc::channel();
    let host = zbus::blocking::connection::Builder::address(address.as_str())
        .unwrap()
        .name("org.kde.StatusNotifierWatcher")
        .unwrap()
        .serve_at("/StatusNotifierWatcher", Watcher { registered: tx })
        .unwrap()
        .build()
        .unwrap();
    let (_xvfb, display) = start_xvfb(700 + std::process::id() % 200);
    let x = X::connect(&display);
    let log = tempfile::NamedTempFile::new().unwrap();
    let config = tempfile::tempdir().unwrap();
    let mut app = Running(
        Command::new(env!("CARGO_BIN_EXE_codex-router-app"))
            .arg("--hidden")
            .env("DISPLAY", &display)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("XDG_RUNTIME_DIR", runtime.path())
            .env("XDG_CONFIG_HOME", config.path())
            .env("CODEX_HOME", home.path())
            .env(
                "RUST_LOG",
                "codex_router_app=info,codex_router_core=info,warn",
            )
            .env("NO_COLOR", "1")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("the app starts"),
    );
    let read_log = || std::fs::read_to_string(log.path()).unwrap_or_default();
    let item = registered
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no tray item: {}", read_log()));
    let arrives = |what: &str, want: &dyn Fn(&Received) -> bool| -> Received {
        service
            .wait_for(Duration::from_secs(30), want)
            .unwrap_or_else(|| {
                panic!(
                    "no {what} notification; arrived: {:#?}\n{}",
                    service.received(),
                    read_log()
                )
            })
    };

    // A dead login.
    let n = arrives("sign-in", &|r| r.summary == "'carol' needs a new sign-in");
    assert!(n.body.contains("refresh token"), "{n:?}");
    assert!(!x.shown("Codex Router"), "--hidden: no window");

    // Answers through the endpoint report 95% of alice's 5 h window.
    let mut limits = RateLimits::default_at(chrono::Utc::now().timestamp());
    limits.primary.used_percent = 95.0;
    up.set_rate_limits("acct-alice", limits);
    wait_for("the endpoint", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert_eq!(chat(port), 200);
    let n = arrives("threshold", &|r| {
        r.summary == "'alice' used 95% of its 5 h window"
    });
    assert!(n.body.contains("it resets"), "{n:?}");

    // Alice's limit: a 429 the endpoint moves to bob.
    up.set_usage_limited("acct-alice", chrono::Utc::now().timestamp() + 3);
    assert_eq!(chat(port), 200);
    let n = arrives("limit", &|r| r.summary == "'alice' reached its usage limit");
    assert!(n.body.contains("until its limit resets"), "{n:?}");
    let n = arrives("failover", &|r| r.summary == "Requests moved to 'bob'");
    assert!(
        n.body
            .contains("'alice' reached its usage limit; requests now go to 'bob'")
    );

    // The limit ends.
    up.clear_usage_limited("acct-alice");
    arrives("available", &|r| r.summary == "'alice' can be used again");

    let all = service.received();
    assert_eq!(all.len(), 5, "each once: {all:#?}");
    for n in &all {
        assert_eq!(n.app_name, "Codex Router");
        assert_eq!(n.app_icon, "codex-router");
        assert_eq!(n.hints["desktop-entry"], "codex-router");
        assert!(n.hints["category"].starts_with("x-codex-router."), "{n:?}");
        assert!(!format!("{}{}", n.summary, n.body).contains("eyJ"), "{n:?}");
    }
    assert!(!x.shown("Codex Router"), "still no window");

    // The tray opens the window; Quit quits.
    click(&host, &item, find(&menu(&host, &item), "Open Window").id);
    wait_for("the window", || x.shown("Codex Router"));
    click(&host, &item, find(&menu(&host, &item), "Quit").id);
    let mut status = None;
    wait_for("the app to exit", || {
        status = app.0.try_wait().unwrap();
        status.is_some()
    });
    assert!(status.unwrap().success(), "{}", read_log());
}
