//! Codex's own ChatGPT calls through the router (`/backend-api/…`, `setup-codex --chatgpt`),
//! and the Codex identity of the requests the router makes itself (session headers,
//! version), against the fake upstream's request log.

use crate::proxy::{Router, chatgpt_home, raw_request, start, start_with};
use codex_router_core::http::CODEX_VERSION;
use codex_router_core::secret::Secret;
use codex_router_testkit::upstream::{FakeUpstream, RateLimits};
use serde_json::{Value, json};

const USAGE: &str = "/backend-api/wham/usage";

/// The access token stored in profile `name`.
fn token(r: &Router, name: &str) -> String {
    r.home.read_json(&r.home.profile_path(name))["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Rate limits whose primary window is `percent` used.
fn limits(percent: f64) -> RateLimits {
    let mut l = RateLimits::default_at(chrono::Utc::now().timestamp());
    l.primary.used_percent = percent;
    l
}

async fn usage_percent(r: &Router, path: &str) -> (u16, Value) {
    let resp = r.get(path).send().await.unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (
        status,
        body["rate_limit"]["primary_window"]["used_percent"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codexs_usage_call_reflects_the_account_that_would_serve_its_next_request() {
    let up = FakeUpstream::start();
    up.set_rate_limits("acct-alice", limits(100.0));
    up.set_rate_limits("acct-bob", limits(41.0));
    // Failover on, the active profile staying alice (so she is active and limited).
    let r = start_with(&up, chatgpt_home(&up, &["alice", "bob"], 3600), |c| {
        c.settings.failover.enabled = true;
        c.settings.failover.follow_active = false;
    })
    .await;
    assert_eq!(usage_percent(&r, USAGE).await, (200, json!(100)));
    assert_eq!(
        up.last_request(USAGE).unwrap().bearer(),
        Some(token(&r, "alice").as_str())
    );

    // Alice hits her limit: the request moves to bob, and so does Codex's usage call.
    up.set_usage_limited("acct-alice", chrono::Utc::now().timestamp() + 3600);
    let resp = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(usage_percent(&r, USAGE).await, (200, json!(41)));
    let sent = up.last_request(USAGE).unwrap();
    assert_eq!(sent.bearer(), Some(token(&r, "bob").as_str()));
    assert_eq!(sent.header("chatgpt-account-id"), Some("acct-bob"));

    // Pinned: that profile, limited or not.
    assert_eq!(
        usage_percent(&r, "/p/alice/backend-api/wham/usage").await,
        (200, json!(100))
    );
    assert_eq!(
        up.last_request(USAGE).unwrap().bearer(),
        Some(token(&r, "alice").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_failover_codexs_usage_call_is_the_active_accounts() {
    let up = FakeUpstream::start();
    up.set_rate_limits("acct-alice", limits(100.0));
    up.set_rate_limits("acct-bob", limits(41.0));
    let r = start(&up, &["alice", "bob"]).await;
    up.set_usage_limited("acct-alice", chrono::Utc::now().timestamp() + 3600);
    let _ = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(usage_percent(&r, USAGE).await, (200, json!(100)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codexs_other_backend_calls_go_out_with_the_serving_profiles_token() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice", "bob"]).await;
    let resp = r
        .get("/backend-api/wham/accounts/check")
        .header("authorization", "Bearer codexs-own-token")
        .header(
            "user-agent",
            "codex_exec/0.171.0 (Debian 12.0.0; x86_64) dumb",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["accounts"]["acct-alice"].is_object(), "{body}");
    let sent = up.last_request("/backend-api/wham/accounts/check").unwrap();
    assert_eq!(sent.bearer(), Some(token(&r, "alice").as_str()));
    assert_eq!(sent.header("chatgpt-account-id"), Some("acct-alice"));
    assert_eq!(
        sent.header("user-agent"),
        Some("codex_exec/0.171.0 (Debian 12.0.0; x86_64) dumb"),
        "Codex's own headers go along"
    );
    assert_eq!(sent.header("version"), Some(CODEX_VERSION));

    // A POST with its body and content type; a query string kept.
    let events = json!({"events": [{"event_type": "turn"}]});
    let resp = r
        .post("/backend-api/codex/analytics-events/events?x=1")
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sent = up
        .last_request("/backend-api/codex/analytics-events/events?x=1")
        .unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&sent.body).unwrap(), events);
    assert_eq!(sent.header("content-type"), Some("application/json"));

    // Pinned: bob's, whatever is active.
    let resp = r
        .get("/p/bob/backend-api/wham/settings/user")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sent = up.last_request("/backend-api/wham/settings/user").unwrap();
    assert_eq!(sent.bearer(), Some(token(&r, "bob").as_str()));

    // The backend's own errors come back as they are.
    let resp = r.get("/backend-api/wham/tasks/list").send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_paths_cannot_leave_the_backend_and_the_guards_apply() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let before = up.requests().len();
    for bad in [
        "/backend-api/%2e%2e/%2e%2e/oauth/token",
        "/backend-api/wham/..%2f..%2foauth%2ftoken",
        "/backend-api/wham/%5c..%5c..%5cx",
        "/p/alice/backend-api/%2E%2E/x",
    ] {
        // As sent (an HTTP client library would apply the dot segments itself).
        let addr = r.addr;
        let request = format!("GET {bad} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let (status, body) =
            tokio::task::spawn_blocking(move || raw_request(addr, request.as_bytes()))
                .await
                .unwrap();
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert_eq!(up.requests().len(), before, "nothing reached the upstream");

    // A web page can't spend the account.
    let resp = r
        .get(USAGE)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // An unknown pinned profile.
    let resp = r
        .get("/p/nobody/backend-api/wham/usage")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(up.requests().len(), before);

    // With a local key, the backend routes want it too.
    let keyed = start_with(&up, chatgpt_home(&up, &["alice"], 3600), |c| {
        c.local_key = Some(Secret::new("local-key-0123456789"));
    })
    .await;
    let resp = keyed.get(USAGE).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = keyed
        .get(USAGE)
        .header("authorization", "Bearer local-key-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn translated_requests_carry_codexs_session_identity_and_version() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let resp = r
        .post("/v1/chat/completions")
        .json(&json!({"model": "gpt-5.5", "reasoning_effort": "max",
                       "messages": [{"role": "user", "content": "hi"}],
                       "tools": [{"type": "image_generation", "quality": "low"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sent = up.last_request("/backend-api/codex/responses").unwrap();
    let id = sent.header("session-id").unwrap().to_owned();
    assert_eq!(sent.header("thread-id"), Some(id.as_str()));
    assert_eq!(sent.header("x-client-request-id"), Some(id.as_str()));
    assert_eq!(
        sent.header("x-codex-window-id"),
        Some(format!("{id}:0").as_str())
    );
    assert!(sent.header("x-codex-turn-metadata").is_some());
    assert_eq!(sent.header("version"), Some(CODEX_VERSION));
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["prompt_cache_key"], id.as_str());
    assert_eq!(body["client_metadata"]["session_id"], id.as_str());
    assert_eq!(
        body["reasoning"]["effort"], "max",
        "efforts pass as they are"
    );
    assert_eq!(
        body["tools"][0]["type"], "image_generation",
        "new tool types unvalidated"
    );

    // The client's own session headers win.
    r.post("/v1/chat/completions")
        .header("session-id", "conv-7")
        .json(&json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let sent = up.last_request("/backend-api/codex/responses").unwrap();
    assert_eq!(sent.header("session-id"), Some("conv-7"));
    assert_eq!(sent.header("thread-id"), Some("conv-7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codex_version_setting_goes_out_everywhere() {
    let up = FakeUpstream::start();
    let r = start_with(&up, chatgpt_home(&up, &["alice"], 3600), |c| {
        c.settings.codex.version = Some("0.180.0".into());
    })
    .await;
    r.post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": "hi"}))
        .send()
        .await
        .unwrap();
    let sent = up.last_request("/backend-api/codex/responses").unwrap();
    assert_eq!(sent.header("version"), Some("0.180.0"));
    assert!(
        sent.header("user-agent")
            .unwrap()
            .starts_with("codex_cli_rs/0.180.0 (")
    );
    r.get("/v1/models").send().await.unwrap();
    assert!(
        up.last_request("/backend-api/codex/models?client_version=0.180.0")
            .is_some(),
        "{:?}",
        up.requests()
            .iter()
            .map(|q| q.path.clone())
            .collect::<Vec<_>>()
    );
    r.get(USAGE).send().await.unwrap();
    assert_eq!(
        up.last_request(USAGE).unwrap().header("version"),
        Some("0.180.0")
    );
}
