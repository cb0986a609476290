//! When Codex keeps its login in the OS keyring (`cli_auth_credentials_store = "keyring"` or
//! `"auto"` in config.toml), `codex-router` switches, saves, lists and refreshes that entry.
//! Against a real Secret Service: gnome-keyring on a private D-Bus session bus (the testkit's
//! `secret_service`), the entry read back with `secret-tool` like any other program, and, when
//! the Codex CLI is installed (`scripts/test` installs it), by Codex itself.

use codex_router_testkit::home::{TempHome, api_key_auth, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::secret_service::{BareBus, SecretService, codex_account};
use codex_router_testkit::upstream::FakeUpstream;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const SERVICE: &str = "Codex Auth";

fn secret_service() -> SecretService {
    SecretService::start().unwrap_or_else(|e| {
        panic!("a real Secret Service is needed for these tests: {e}; run scripts/setup")
    })
}

/// A CODEX_HOME whose config.toml sets `cli_auth_credentials_store = mode`.
fn home_with(mode: &str) -> TempHome {
    let home = TempHome::new();
    std::fs::write(
        home.path().join("config.toml"),
        format!("model = \"gpt-5.5\"\ncli_auth_credentials_store = \"{mode}\"\n"),
    )
    .unwrap();
    home
}

fn router(home: &TempHome, env: &[(&str, String)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codex-router"))
        .args(args)
        .env("CODEX_HOME", home.path())
        .env("RUST_LOG", "trace")
        .env("CODEX_ROUTER_AUTH_ISSUER", "http://127.0.0.1:9")
        .env(
            "CODEX_ROUTER_CHATGPT_BASE_URL",
            "http://127.0.0.1:9/backend-api/codex",
        )
        .env("CODEX_ROUTER_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .expect("run codex-router")
}

fn ok(out: Output) -> String {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("SECRET"), "a secret was printed: {all}");
    all
}

/// The profile `list --json` marks active.
fn active(home: &TempHome, env: &[(&str, String)]) -> Option<String> {
    let rows: Vec<Value> =
        serde_json::from_slice(&router(home, env, &["list", "--json"]).stdout).unwrap();
    rows.iter()
        .find(|r| r["active"] == true)
        .map(|r| r["name"].as_str().unwrap().to_owned())
}

/// What Codex's keyring entry for `home` holds, parsed.
fn entry(ss: &SecretService, home: &TempHome) -> Option<Value> {
    ss.lookup(SERVICE, &codex_account(home.path()))
        .map(|s| serde_json::from_str(&s).expect("the entry is JSON"))
}

/// Stores `value` in the entry as Codex does: compact JSON.
fn codex_writes(ss: &SecretService, home: &TempHome, value: &Value) {
    ss.store(
        SERVICE,
        &codex_account(home.path()),
        &serde_json::to_string(value).unwrap(),
    );
}

#[test]
fn switch_moves_the_keyring_entry_and_keeps_the_tokens_codex_rotated_there() {
    let ss = secret_service();
    let env = ss.env();
    let home = home_with("keyring");
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &chatgpt_auth(&alice, 1, 3600));
    home.write_profile("b", &chatgpt_auth(&bob, 1, 3600));
    // Codex refreshed alice's login: the rotated tokens are only in the keyring entry.
    let rotated = chatgpt_auth(&alice, 2, 3600);
    codex_writes(&ss, &home, &rotated);
    assert_eq!(active(&home, &env).as_deref(), Some("a"));

    let out = ok(router(&home, &env, &["switch", "b"]));
    assert!(out.contains("Switched to 'b'"), "{out}");
    assert!(out.contains("newer tokens of 'a'"), "{out}");
    assert!(!out.contains("Codex itself keeps"), "{out}");
    assert_eq!(
        entry(&ss, &home),
        Some(home.read_json(&home.profile_path("b")))
    );
    assert_eq!(home.read_json(&home.profile_path("a")), rotated);
    assert!(
        !home.auth_path().exists(),
        "keyring mode writes no auth.json"
    );
    assert_eq!(active(&home, &env).as_deref(), Some("b"));
    let status: Value =
        serde_json::from_slice(&router(&home, &env, &["status", "--json"]).stdout).unwrap();
    assert_eq!(status["email"], "bob@example.com");

    // Switching back gives Codex alice's newest tokens.
    ok(router(&home, &env, &["switch", "a"]));
    assert_eq!(entry(&ss, &home), Some(rotated));
}

#[test]
fn codex_itself_reads_the_entry_a_switch_wrote() {
    let Some(codex) = codex_cli() else {
        eprintln!("skipped: the Codex CLI is not installed (scripts/test installs it)");
        return;
    };
    let ss = secret_service();
    let env = ss.env();
    let home = home_with("keyring");
    home.write_profile("one", &api_key_auth("sk-proj-FIRST-ACCOUNT-11111"));
    home.write_profile("two", &api_key_auth("sk-proj-OTHER-ACCOUNT-22222"));
    // A ChatGPT login is a few kilobytes of JSON: Codex reads it whole from one item.
    home.write_profile(
        "chat",
        &chatgpt_auth(&Identity::new("erin", "pro"), 1, 3600),
    );
    for (name, shown) in [
        ("one", "API key configured - sk-proj-***11111"),
        ("two", "API key configured - sk-proj-***22222"),
        ("chat", "Logged in using ChatGPT"),
    ] {
        ok(router(&home, &env, &["switch", name, "--force"]));
        let out = Command::new(&codex)
            .args(["login", "status"])
            .env("CODEX_HOME", home.path())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(text.contains(shown), "{name}: {text}");
    }
}

#[test]
fn save_and_list_read_the_login_from_the_keyring() {
    let ss = secret_service();
    let env = ss.env();
    let home = home_with("keyring");
    let empty = ok(router(&home, &env, &["status"]));
    assert!(
        empty.contains("Not signed in: Codex's keyring entry holds no login"),
        "{empty}"
    );
    let carol = chatgpt_auth(&Identity::new("carol", "team"), 1, 3600);
    codex_writes(&ss, &home, &carol);
    assert_eq!(active(&home, &env), None);
    ok(router(&home, &env, &["save", "c"]));
    assert_eq!(home.read_json(&home.profile_path("c")), carol);
    assert_eq!(active(&home, &env).as_deref(), Some("c"));
    // The keyring's login is what counts, not a stale auth.json.
    home.write_auth(&chatgpt_auth(&Identity::new("dave", "plus"), 1, 3600));
    assert_eq!(active(&home, &env).as_deref(), Some("c"));
}

#[test]
fn refreshing_the_active_profile_updates_the_keyring_entry() {
    let ss = secret_service();
    let env = ss.env();
    let up = FakeUpstream::start();
    let home = home_with("keyring");
    let alice = Identity::new("alice", "plus");
    let login = up.chatgpt_auth_json(&alice, 3600);
    home.write_profile("a", &login);
    codex_writes(&ss, &home, &login);
    let mut env_up = env.clone();
    env_up.extend([
        ("CODEX_ROUTER_AUTH_ISSUER", up.issuer_url()),
        ("CODEX_ROUTER_CHATGPT_BASE_URL", up.chatgpt_base_url()),
        ("CODEX_ROUTER_OPENAI_BASE_URL", up.openai_base_url()),
    ]);
    let out = ok(router(&home, &env_up, &["refresh", "a"]));
    let profile = home.read_json(&home.profile_path("a"));
    let new_token = profile["tokens"]["refresh_token"].as_str().unwrap();
    assert_ne!(new_token, login["tokens"]["refresh_token"], "{out}");
    assert!(up.is_refresh_token_live(new_token));
    assert_eq!(entry(&ss, &home), Some(profile));
    assert!(!home.auth_path().exists());
}

#[test]
fn keyring_mode_without_a_secret_service_fails_and_changes_nothing() {
    let bus = BareBus::start().unwrap_or_else(|e| panic!("{e}; run scripts/setup"));
    let env = [
        ("DBUS_SESSION_BUS_ADDRESS", bus.address().to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    let home = home_with("keyring");
    home.write_profile("a", &chatgpt_auth(&Identity::new("alice", "plus"), 1, 3600));
    home.write_profile("b", &chatgpt_auth(&Identity::new("bob", "pro"), 1, 3600));
    home.write_current("a");
    let before = snapshot(&home);
    let out = router(&home, &env, &["switch", "b"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let line = err.trim();
    assert_eq!(line.lines().count(), 1, "{err}");
    for needle in [
        "Codex keeps its login in the OS keyring",
        "org.freedesktop.secrets",
        "set cli_auth_credentials_store = \"file\"",
    ] {
        assert!(line.contains(needle), "{needle}: {line}");
    }
    assert_eq!(snapshot(&home), before);
    let status = ok(router(&home, &env, &["status"]));
    assert!(
        status.contains("Codex's login can't be used: the OS keyring can't be used"),
        "{status}"
    );
}

#[test]
fn auto_mode_falls_back_to_auth_json_like_codex() {
    let bus = BareBus::start().unwrap_or_else(|e| panic!("{e}; run scripts/setup"));
    let env = [("DBUS_SESSION_BUS_ADDRESS", bus.address().to_owned())];
    let home = home_with("auto");
    home.write_profile("a", &chatgpt_auth(&Identity::new("alice", "plus"), 1, 3600));
    home.write_profile("b", &chatgpt_auth(&Identity::new("bob", "pro"), 1, 3600));
    home.write_auth(&home.read_json(&home.profile_path("a")));
    let out = ok(router(&home, &env, &["switch", "b"]));
    assert!(
        out.contains("cli_auth_credentials_store = \"auto\""),
        "{out}"
    );
    assert_eq!(
        home.read_json(&home.auth_path()),
        home.read_json(&home.profile_path("b"))
    );
}

#[test]
fn auto_mode_with_a_keyring_moves_codex_to_the_keyring_and_keeps_auth_json_in_step() {
    let ss = secret_service();
    let env = ss.env();
    let home = home_with("auto");
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &chatgpt_auth(&alice, 1, 3600));
    home.write_profile("b", &chatgpt_auth(&bob, 1, 3600));
    // No entry yet: Codex reads auth.json, which holds alice's rotated tokens.
    let rotated = chatgpt_auth(&alice, 2, 3600);
    home.write_auth(&rotated);
    assert_eq!(active(&home, &env).as_deref(), Some("a"));
    ok(router(&home, &env, &["switch", "b"]));
    let b = home.read_json(&home.profile_path("b"));
    assert_eq!(entry(&ss, &home).as_ref(), Some(&b));
    assert_eq!(home.read_json(&home.auth_path()), b);
    assert_eq!(home.read_json(&home.profile_path("a")), rotated);
    // Now the entry is what Codex reads, whatever auth.json says.
    home.write_auth(&rotated);
    assert_eq!(active(&home, &env).as_deref(), Some("b"));
}

/// Every file under the home with its bytes (the router's lock file aside).
fn snapshot(home: &TempHome) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if !path.ends_with("store.lock") {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(home.path(), &mut out);
    out.sort();
    out
}

/// The Codex CLI `scripts/test` installs, if it is there.
fn codex_cli() -> Option<PathBuf> {
    let path = std::env::var_os("CODEX_CLI")
        .map(PathBuf::from)
        .or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(cache.join("codex-router/codex-cli-0.169.0/node_modules/.bin/codex"))
        })?;
    path.is_file().then_some(path)
}
