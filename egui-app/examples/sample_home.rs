//! Writes a sample CODEX_HOME for trying the app and taking screenshots: an active Team
//! login, an expired Plus login, an API key, a login that needs a new sign-in, and a broken
//! profile. Every upstream points at a closed loopback port, so nothing reaches the
//! internet.
//!
//! `cargo run -p codex-router-app --example sample_home -- DIR`, then
//! `CODEX_HOME=DIR cargo run`.

use codex_router_core::profile_state::{ProfileState, SignInNeeded, fingerprint};
use codex_router_core::secret::Secret;
use codex_router_core::usage::{Usage, UsageWindow};
use codex_router_testkit::home::{api_key_auth, chatgpt_auth, now};
use codex_router_testkit::jwt::Identity;
use serde_json::json;
use std::path::Path;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: sample_home DIR (an empty or new folder)");
    let dir = Path::new(&dir);
    let write = |rel: &str, value: &serde_json::Value| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    };
    let offline = "http://127.0.0.1:9";
    write(
        "router/state.json",
        &json!({"upstream": {
            "auth_issuer": offline,
            "chatgpt_base_url": format!("{offline}/backend-api/codex"),
            "openai_base_url": format!("{offline}/v1"),
        }, "refresh": {"proactive": false}}),
    );
    let alice = Identity::new("alice", "team");
    let work = chatgpt_auth(&alice, 1, 3 * 86_400 + 600);
    write("profiles/work/auth.json", &work);
    write("auth.json", &work);
    std::fs::write(dir.join(".current_profile"), "work\n").unwrap();
    write(
        "profiles/personal/auth.json",
        &chatgpt_auth(&Identity::new("bob", "plus"), 1, -7200),
    );
    write(
        "profiles/api/auth.json",
        &api_key_auth("sk-sample-0000000000000000"),
    );
    let carol = chatgpt_auth(&Identity::new("carol", "pro"), 1, 86_400 * 6);
    write("profiles/old-laptop/auth.json", &carol);
    let refresh = carol["tokens"]["refresh_token"].as_str().unwrap();
    let t = now();
    let window = |used: f64, minutes: u64| UsageWindow {
        used_percent: used,
        window_minutes: Some(minutes),
        resets_at: Some(t + 3600),
    };
    let state = |needs: Option<SignInNeeded>, usage: Option<Usage>| ProfileState {
        needs_sign_in: needs,
        usage,
        extra: Default::default(),
    };
    state(
        Some(SignInNeeded {
            code: "refresh_token_reused".into(),
            message: "the refresh token was already used".into(),
            at: "2026-01-05T10:00:00Z".into(),
            token_fingerprint: fingerprint(&Secret::new(refresh)),
        }),
        None,
    )
    .save(&dir.join("profiles/old-laptop"))
    .unwrap();
    let usage = |five: f64, week: f64| Usage {
        plan: None,
        primary: Some(window(five, 300)),
        secondary: Some(window(week, 10_080)),
        credits: None,
        limited_until: None,
        updated_at: t,
    };
    state(None, Some(usage(38.0, 61.0)))
        .save(&dir.join("profiles/work"))
        .unwrap();
    state(None, Some(usage(4.0, 12.0)))
        .save(&dir.join("profiles/personal"))
        .unwrap();
    let broken = dir.join("profiles/broken/auth.json");
    std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
    std::fs::write(broken, b"{ \"tokens\": ").unwrap();
    println!("{}", dir.display());
}
