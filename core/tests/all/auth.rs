//! Token refresh and sign-in against the fake issuer on 127.0.0.1.

use codex_router_core::home::CodexHome;
use codex_router_core::login::browser::{BrowserLogin, BrowserLoginConfig};
use codex_router_core::login::{LoginError, device};
use codex_router_core::net::Network;
use codex_router_core::refresh::{RefreshError, Refresher, RetryPolicy};
use codex_router_core::settings::NetworkSettings;
use codex_router_core::settings::RefreshSettings;
use codex_router_core::store::{Store, Stored};
use codex_router_testkit::home::{TempHome, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::upstream::FakeUpstream;
use serde_json::{Value, json};
use std::time::Duration;

fn store(home: &TempHome) -> Store {
    Store::new(CodexHome::at(home.path()))
}

fn refresher(home: &TempHome, up: &FakeUpstream) -> Refresher {
    let retry = RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(10),
    };
    Refresher::new(store(home), &up.issuer_url(), &direct(), retry)
}

/// Direct connections, the bundled and system roots (no proxy, whatever the environment).
fn direct() -> Network {
    Network::new(&NetworkSettings::default()).unwrap()
}

fn rt_of(v: &Value) -> String {
    v["tokens"]["refresh_token"].as_str().unwrap().to_owned()
}

fn at_of(v: &Value) -> String {
    v["tokens"]["access_token"].as_str().unwrap().to_owned()
}

fn login_config(up: &FakeUpstream) -> BrowserLoginConfig {
    BrowserLoginConfig {
        issuer: up.issuer_url(),
        ports: vec![0],
        timeout: Duration::from_secs(20),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_callers_share_one_refresh() {
    let up = FakeUpstream::start();
    up.set_refresh_delay_ms(150);
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    let auth = up.chatgpt_auth_json(&alice, -30); // access token already expired
    home.write_profile("a", &auth);
    home.write_auth(&auth);
    let r = refresher(&home, &up);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            r.ensure_fresh("a", Duration::from_secs(60)).await
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap().unwrap().access_token);
    }
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(up.refresh_count(&alice), 1);
    assert!(up.reused_refresh_tokens().is_empty());
    let profile = home.read_json(&home.profile_path("a"));
    assert_eq!(at_of(&profile), tokens[0].expose());
    assert_ne!(
        rt_of(&profile),
        rt_of(&auth),
        "rotated refresh token persisted"
    );
    assert!(up.is_refresh_token_live(&rt_of(&profile)));
    assert_eq!(
        home.read_json(&home.auth_path()),
        profile,
        "active login updated too"
    );
    assert_eq!(profile["tokens"]["account_id"], "acct-alice");
    assert_ne!(profile["last_refresh"], auth["last_refresh"]);

    // A token that is still fresh is not refreshed again.
    r.ensure_fresh("a", Duration::from_secs(60)).await.unwrap();
    assert_eq!(up.refresh_count(&alice), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inactive_profile_refresh_leaves_auth_json_alone() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "plus"));
    home.write_profile("a", &up.chatgpt_auth_json(&alice, 3600));
    let active = up.chatgpt_auth_json(&bob, 3600);
    home.write_profile("b", &active);
    home.write_auth(&active);
    let fresh = refresher(&home, &up).refresh_now("a").await.unwrap();
    assert!(fresh.refreshed && !fresh.updated_active);
    assert_eq!(home.read_json(&home.auth_path()), active);
}

#[tokio::test(flavor = "multi_thread")]
async fn newer_tokens_in_auth_json_are_adopted_instead_of_refreshing() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    let old = up.chatgpt_auth_json(&alice, -30);
    home.write_profile("a", &old);
    // Codex refreshed the login itself: the profile's refresh token is now used up.
    let client = reqwest::Client::new();
    let resp: Value = client
        .post(format!("{}/oauth/token", up.issuer_url()))
        .json(&json!({"client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "grant_type": "refresh_token", "refresh_token": rt_of(&old)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut newer = old.clone();
    newer["tokens"]["access_token"] = resp["access_token"].clone();
    newer["tokens"]["refresh_token"] = resp["refresh_token"].clone();
    newer["tokens"]["id_token"] = resp["id_token"].clone();
    newer["last_refresh"] = json!(chrono::Utc::now().to_rfc3339());
    home.write_auth(&newer);

    let fresh = refresher(&home, &up)
        .ensure_fresh("a", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(!fresh.refreshed);
    assert_eq!(fresh.access_token.expose(), at_of(&newer));
    assert_eq!(up.refresh_count(&alice), 1, "only Codex's own refresh");
    assert!(up.reused_refresh_tokens().is_empty());
    assert_eq!(
        rt_of(&home.read_json(&home.profile_path("a"))),
        rt_of(&newer)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reused_refresh_token_marks_the_profile_and_loses_nothing() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    let auth = up.chatgpt_auth_json(&alice, -30);
    home.write_profile("a", &auth);
    let before = std::fs::read(home.profile_path("a")).unwrap();
    up.fail_next_refresh_with(
        400,
        json!({"error":{"message":"Your refresh token has already been used to generate a new access token. Please try signing in again.","type":"invalid_request_error","param":null,"code":"refresh_token_reused"}}),
    );
    let r = refresher(&home, &up);
    let err = r
        .ensure_fresh("a", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RefreshError::NeedsSignIn { code, .. } if code == "refresh_token_reused"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("needs a new sign-in: the refresh token was already used")
    );
    assert_eq!(
        std::fs::read(home.profile_path("a")).unwrap(),
        before,
        "nothing overwritten"
    );
    let listed = store(&home).list().unwrap();
    assert_eq!(
        listed[0].needs_sign_in.as_ref().unwrap().code,
        "refresh_token_reused"
    );

    // Not retried in a loop: the next call fails fast without touching the issuer.
    let calls = up.total_refresh_count();
    assert!(matches!(
        r.refresh_now("a").await,
        Err(RefreshError::NeedsSignIn { .. })
    ));
    assert_eq!(up.total_refresh_count(), calls);

    // A new sign-in (new tokens in the profile) clears the mark by itself.
    home.write_profile("a", &up.chatgpt_auth_json(&alice, 3600));
    assert!(store(&home).list().unwrap()[0].needs_sign_in.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_failures_are_retried_then_reported() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    home.write_profile("a", &up.chatgpt_auth_json(&alice, -30));
    for _ in 0..2 {
        up.fail_next_refresh_with(503, json!({"error": "overloaded"}));
    }
    let r = refresher(&home, &up);
    assert!(
        r.refresh_now("a").await.unwrap().refreshed,
        "third attempt succeeds"
    );

    let before = std::fs::read(home.profile_path("a")).unwrap();
    for _ in 0..3 {
        up.fail_next_refresh_with(502, json!({}));
    }
    let err = r.refresh_now("a").await.unwrap_err();
    assert!(matches!(err, RefreshError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("HTTP 502"));
    assert_eq!(std::fs::read(home.profile_path("a")).unwrap(), before);
    assert!(store(&home).list().unwrap()[0].needs_sign_in.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn api_key_profiles_have_nothing_to_refresh() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    home.write_profile("k", &json!({"auth_mode":"apikey","OPENAI_API_KEY":"sk-1"}));
    let err = refresher(&home, &up).refresh_now("k").await.unwrap_err();
    assert!(matches!(err, RefreshError::NotChatGpt(_)));
    assert_eq!(up.total_refresh_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn proactive_refresh_wakes_before_expiry_and_never_loops() {
    let up = FakeUpstream::start();
    up.set_access_ttl(4);
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    home.write_profile("a", &up.chatgpt_auth_json(&alice, 4));
    let r = refresher(&home, &up);
    let task = r.spawn_proactive(RefreshSettings {
        margin_seconds: 3,
        ..RefreshSettings::default()
    });
    assert!(up.wait_for_count("/oauth/token", 1, Duration::from_secs(8)));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    task.abort();
    // Tokens live 4 s; refreshing no earlier than half-way allows at most ~2 a second pair.
    let calls = up.refresh_count(&alice);
    assert!((1..=3).contains(&calls), "{calls} refreshes");
    assert!(up.reused_refresh_tokens().is_empty());
}

/// The proxy asks for tokens valid 30 s ahead. Tokens living less than that used to be
/// refreshed on every request (found by `scripts/soak`: 200 refreshes per account in 30 s);
/// now only once past half their life.
#[tokio::test(flavor = "multi_thread")]
async fn a_margin_longer_than_the_token_life_refreshes_once_per_half_life() {
    let up = FakeUpstream::start();
    up.set_access_ttl(4);
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    home.write_profile("a", &up.chatgpt_auth_json(&alice, 4));
    let r = refresher(&home, &up);
    let until = std::time::Instant::now() + Duration::from_secs(3);
    let mut requests = 0;
    while std::time::Instant::now() < until {
        let fresh = r.ensure_fresh("a", Duration::from_secs(30)).await.unwrap();
        assert!(up.is_access_token_live(fresh.access_token.expose()));
        requests += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let calls = up.refresh_calls();
    assert!(
        (1..=2).contains(&calls.len()),
        "{} refreshes for {requests} requests",
        calls.len()
    );
    for c in calls {
        let (age, life) = (c.token_age.unwrap(), c.access_lifetime.unwrap());
        assert!(age >= life / 2, "refreshed {age:?} into a {life:?} life");
    }
    assert!(up.reused_refresh_tokens().is_empty());
}

/// The proactive loop judges every profile on one listing, then refreshes the due ones one
/// after another; a token refreshed meanwhile by someone else (a request, another process)
/// must be re-judged, not refreshed again (found by `scripts/soak`: tokens refreshed 0.5 s
/// into a 5-s life).
#[tokio::test(flavor = "multi_thread")]
async fn proactive_refresh_rejudges_a_token_refreshed_meanwhile() {
    let up = FakeUpstream::start();
    up.set_access_ttl(4);
    up.set_refresh_delay_ms(300);
    let home = TempHome::new();
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "plus"));
    home.write_profile("a", &up.chatgpt_auth_json(&alice, 4));
    home.write_profile("b", &up.chatgpt_auth_json(&bob, 4));
    let task = refresher(&home, &up).spawn_proactive(RefreshSettings::default());
    // Both are due at half-life; the loop refreshes "a" first (300 ms at the issuer) ...
    assert!(up.wait_for_count("/oauth/token", 1, Duration::from_secs(5)));
    // ... while someone else gives "b" fresh tokens.
    home.write_profile("b", &up.chatgpt_auth_json(&bob, 4));
    tokio::time::sleep(Duration::from_secs(1)).await;
    task.abort();
    let calls = up.refresh_calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.account_id == alice.account_id)
            .count(),
        1
    );
    for c in calls {
        let (age, life) = (c.token_age.unwrap(), c.access_lifetime.unwrap());
        assert!(
            age >= life / 2,
            "{} refreshed {age:?} into a {life:?} life",
            c.email
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_login_creates_a_profile_and_touches_nothing_else() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let active = chatgpt_auth(&Identity::new("zed", "plus"), 1, 3600);
    home.write_auth(&active);
    let bob = Identity::new("bob", "pro");
    up.set_login_identity(&bob);
    let login = BrowserLogin::start(store(&home), "bob", false, &login_config(&up), &direct())
        .await
        .unwrap();
    let url = url::Url::parse(login.url()).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(
        redirect,
        format!("http://localhost:{}/auth/callback", login.port())
    );

    // A forged callback with the wrong state is refused and the login keeps waiting.
    let forged = reqwest::get(format!(
        "http://127.0.0.1:{}/auth/callback?code=x&state=forged",
        login.port()
    ))
    .await
    .unwrap();
    assert_eq!(forged.status(), 400);
    assert_eq!(forged.text().await.unwrap(), "State mismatch");

    let auth_url = login.url().to_owned();
    let up_browser = tokio::task::spawn_blocking(move || {
        let up = up;
        let outcome = up.browser_sign_in(&auth_url);
        (up, outcome)
    });
    let outcome = login.wait().await.unwrap();
    let (_up, page) = up_browser.await.unwrap();
    let page = page.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Signed in"), "{}", page.body);
    assert_eq!(outcome.stored, Stored::Created("bob".into()));
    assert_eq!(outcome.email.as_deref(), Some("bob@example.com"));
    let saved = home.read_json(&home.profile_path("bob"));
    assert_eq!(saved["auth_mode"], "chatgpt");
    assert_eq!(saved["tokens"]["account_id"], "acct-bob");
    assert!(saved["OPENAI_API_KEY"].as_str().unwrap().starts_with("sk-"));
    assert!(saved["last_refresh"].is_string());
    assert_eq!(
        home.read_json(&home.auth_path()),
        active,
        "active auth.json untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_for_a_saved_identity_updates_that_profile() {
    let up = FakeUpstream::start();
    up.fail_api_key_exchange(true);
    let home = TempHome::new();
    let bob = Identity::new("bob", "pro");
    home.write_profile("work", &chatgpt_auth(&bob, 1, 3600));
    up.set_login_identity(&bob);
    assert!(matches!(
        BrowserLogin::start(store(&home), "work", false, &login_config(&up), &direct()).await,
        Err(LoginError::Store(_))
    ));
    let login = BrowserLogin::start(store(&home), "bob2", false, &login_config(&up), &direct())
        .await
        .unwrap();
    let url = login.url().to_owned();
    let browser = tokio::task::spawn_blocking(move || up.browser_sign_in(&url).map(|_| ()));
    let outcome = login.wait().await.unwrap();
    browser.await.unwrap().unwrap();
    assert_eq!(outcome.stored, Stored::UpdatedExisting("work".into()));
    assert!(!home.profile_path("bob2").exists());
    let saved = home.read_json(&home.profile_path("work"));
    assert_ne!(rt_of(&saved), "rt-user-bob-1-SECRETREFRESH");
    assert_eq!(
        saved["OPENAI_API_KEY"],
        Value::Null,
        "failed API-key exchange is ignored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_sign_in_is_reported_readably() {
    let up = FakeUpstream::start();
    up.deny_login("access_denied", "missing_codex_entitlement");
    let home = TempHome::new();
    let login = BrowserLogin::start(store(&home), "x", false, &login_config(&up), &direct())
        .await
        .unwrap();
    let url = login.url().to_owned();
    let browser = tokio::task::spawn_blocking(move || up.browser_sign_in(&url));
    let err = login.wait().await.unwrap_err();
    let page = browser.await.unwrap().unwrap();
    assert!(
        err.to_string()
            .contains("Codex is not enabled for your workspace"),
        "{err}"
    );
    assert!(page.body.contains("Codex is not enabled"));
    assert!(!home.path().join("profiles").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_login_says_one_is_already_waiting() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let first = BrowserLogin::start(store(&home), "one", false, &login_config(&up), &direct())
        .await
        .unwrap();
    let mut cfg = login_config(&up);
    cfg.ports = vec![first.port()];
    let err = BrowserLogin::start(store(&home), "two", false, &cfg, &direct())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, LoginError::AlreadyWaiting { .. }), "{err}");
    assert!(err.to_string().contains("already waiting"));

    // /cancel ends the first one.
    reqwest::get(format!("http://127.0.0.1:{}/cancel", first.port()))
        .await
        .unwrap();
    assert!(matches!(first.wait().await, Err(LoginError::Cancelled)));
}

#[tokio::test(flavor = "multi_thread")]
async fn logins_time_out_and_cancel_cleanly() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let mut cfg = login_config(&up);
    cfg.timeout = Duration::from_millis(300);
    let login = BrowserLogin::start(store(&home), "slow", false, &cfg, &direct())
        .await
        .unwrap();
    assert!(matches!(login.wait().await, Err(LoginError::TimedOut(_))));
    let login = BrowserLogin::start(store(&home), "c", false, &login_config(&up), &direct())
        .await
        .unwrap();
    login.cancel_handle().cancel();
    assert!(matches!(login.wait().await, Err(LoginError::Cancelled)));
}

#[tokio::test(flavor = "multi_thread")]
async fn device_login_polls_until_the_code_is_entered() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let carol = Identity::new("carol", "team");
    up.set_login_identity(&carol);
    up.set_device_poll_interval(0);
    up.set_device_pending_polls(3);
    let s = store(&home);
    let code = device::start(&s, "carol", false, &up.issuer_url(), &direct())
        .await
        .unwrap();
    assert!(code.verification_url.ends_with("/codex/device"));
    assert!(!code.user_code.is_empty());
    let outcome = device::finish(s, "carol", false, code).await.unwrap();
    assert_eq!(outcome.stored, Stored::Created("carol".into()));
    let saved = home.read_json(&home.profile_path("carol"));
    assert_eq!(saved["tokens"]["account_id"], "acct-carol");
    assert_eq!(saved["OPENAI_API_KEY"], Value::Null);
    assert!(up.count("/api/accounts/deviceauth/token") >= 4);

    up.set_device_auth_enabled(false);
    let err = device::start(&store(&home), "d", false, &up.issuer_url(), &direct())
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::DeviceNotEnabled));
}
