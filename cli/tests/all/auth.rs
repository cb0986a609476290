//! `refresh`, `login` and `add-key` as a user runs them, against the fake issuer.

use codex_router_testkit::home::TempHome;
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::upstream::FakeUpstream;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn cmd(home: &TempHome, up: &FakeUpstream) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_codex-router"));
    c.env("CODEX_HOME", home.path())
        .env("CODEX_ROUTER_AUTH_ISSUER", up.issuer_url())
        .env("CODEX_ROUTER_CHATGPT_BASE_URL", up.chatgpt_base_url())
        .env("CODEX_ROUTER_OPENAI_BASE_URL", up.openai_base_url())
        .env("RUST_LOG", "debug");
    c
}

#[test]
fn add_key_reads_the_key_from_stdin_only() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let mut child = cmd(&home, &up)
        .args(["add-key", "api"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"sk-proj-TOPSECRET\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("TOPSECRET"));
    assert_eq!(
        home.read_json(&home.profile_path("api")),
        serde_json::json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-proj-TOPSECRET"})
    );
    let empty = cmd(&home, &up)
        .args(["add-key", "none"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(empty.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no API key given on stdin"));
    let taken = cmd(&home, &up)
        .args(["add-key", "api"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already exists"));
}

#[test]
fn two_processes_refreshing_at_once_make_one_call() {
    let up = FakeUpstream::start();
    up.set_refresh_delay_ms(400);
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    let auth = up.chatgpt_auth_json(&alice, 3600);
    home.write_profile("a", &auth);
    home.write_auth(&auth);
    let spawn = || {
        cmd(&home, &up)
            .args(["refresh", "a"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (p1, p2) = (spawn(), spawn());
    let outs = [
        p1.wait_with_output().unwrap(),
        p2.wait_with_output().unwrap(),
    ];
    let text: String = outs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .collect();
    assert!(outs.iter().all(|o| o.status.success()), "{text}");
    assert_eq!(up.refresh_count(&alice), 1, "{text}");
    assert!(text.contains("a: refreshed"), "{text}");
    assert!(
        text.contains("already refreshed by another process"),
        "{text}"
    );
    assert!(up.reused_refresh_tokens().is_empty());
    let profile = home.read_json(&home.profile_path("a"));
    assert_eq!(home.read_json(&home.auth_path()), profile);
    assert!(up.is_refresh_token_live(profile["tokens"]["refresh_token"].as_str().unwrap()));
}

#[test]
fn refresh_reports_a_dead_login_and_list_shows_it() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    home.write_profile("a", &up.chatgpt_auth_json(&alice, 3600));
    home.write_profile(
        "k",
        &serde_json::json!({"auth_mode":"apikey","OPENAI_API_KEY":"sk-x"}),
    );
    up.fail_next_refresh_with(
        401,
        serde_json::json!({"error":{"code":"refresh_token_expired","message":"expired"}}),
    );
    let out = cmd(&home, &up).arg("refresh").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs a new sign-in: the refresh token has expired"),
        "{err}"
    );
    assert!(err.contains("codex-router login a --force"), "{err}");
    let list: Vec<Value> = serde_json::from_slice(
        &cmd(&home, &up)
            .args(["list", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(list[0]["state"], "needs_sign_in");
    assert_eq!(
        list[0]["error"],
        "needs sign-in: the refresh token has expired"
    );
    assert_eq!(list[1]["state"], "ok");
    let table =
        String::from_utf8_lossy(&cmd(&home, &up).arg("list").output().unwrap().stdout).into_owned();
    assert!(
        table.contains("NEEDS SIGN-IN: the refresh token has expired"),
        "{table}"
    );
}

#[test]
fn login_no_browser_prints_the_url_and_saves_the_profile() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let dana = Identity::new("dana", "pro");
    up.set_login_identity(&dana);
    let mut child = cmd(&home, &up)
        .args(["login", "dana", "--no-browser", "--callback-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let url = loop {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "no URL printed");
        if line.trim().starts_with("http") {
            break line.trim().to_owned();
        }
    };
    assert!(url.starts_with(&format!("{}/oauth/authorize?", up.issuer_url())));
    let page = up.browser_sign_in(&url).unwrap();
    assert!(page.body.contains("Signed in"));
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(status.success());
    assert!(
        rest.contains("Signed in as dana@example.com (pro); saved as profile 'dana'"),
        "{rest}"
    );
    let saved = home.read_json(&home.profile_path("dana"));
    for secret in ["access_token", "refresh_token", "id_token"] {
        let s = saved["tokens"][secret].as_str().unwrap();
        assert!(!rest.contains(s));
    }
    assert!(!home.auth_path().exists(), "login never writes auth.json");
}

#[test]
fn list_shows_each_accounts_own_usage() {
    use codex_router_testkit::upstream::RateLimits;
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("alice", &up.chatgpt_auth_json(&alice, 3600));
    home.write_profile("bob", &up.chatgpt_auth_json(&bob, 3600));
    let now = codex_router_testkit::home::now();
    let mut limits = RateLimits::default_at(now);
    limits.primary.used_percent = 42.0;
    up.set_rate_limits(&alice.account_id, limits);
    up.set_usage_limited(&bob.account_id, now + 3600);

    let out = cmd(&home, &up).args(["list", "--json"]).output().unwrap();
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let a = &rows[0]["usage"];
    assert_eq!(a["primary"]["used_percent"], 42.0);
    assert_eq!(a["primary"]["window_minutes"], 300);
    assert_eq!(a["secondary"]["window_minutes"], 10080);
    assert!(
        chrono::DateTime::parse_from_rfc3339(a["primary"]["resets_at"].as_str().unwrap()).is_ok()
    );
    assert_eq!(a["credits"]["has_credits"], false, "{a}");
    assert!(rows[1]["usage"]["limited_until"].is_string(), "{}", rows[1]);
    assert_eq!(up.count("/backend-api/wham/usage"), 2);

    // Cached briefly: a second list does not fetch again.
    let table =
        String::from_utf8_lossy(&cmd(&home, &up).arg("list").output().unwrap().stdout).into_owned();
    assert!(table.contains("5 h 42% · week 34%"), "{table}");
    assert!(table.contains("LIMITED until"), "{table}");
    assert_eq!(up.count("/backend-api/wham/usage"), 2);
}

#[test]
fn login_device_shows_the_code_then_saves_the_profile() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let carol = Identity::new("carol", "team");
    up.set_login_identity(&carol);
    up.set_device_poll_interval(0);
    up.set_device_pending_polls(2);
    let out = cmd(&home, &up)
        .args(["login", "carol", "--device"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!(
            "On any device, open {}/codex/device and enter the code ",
            up.issuer_url()
        )),
        "{text}"
    );
    assert!(
        text.contains("Signed in as carol@example.com (team); saved as profile 'carol'."),
        "{text}"
    );
    assert_eq!(
        home.read_json(&home.profile_path("carol"))["tokens"]["account_id"],
        "acct-carol"
    );
    up.set_device_auth_enabled(false);
    let off = cmd(&home, &up)
        .args(["login", "dave", "--device"])
        .output()
        .unwrap();
    assert_eq!(off.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&off.stderr).contains("device-code login is not enabled"));
}
