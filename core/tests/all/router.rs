//! The façade: events arrive by themselves when files change, from any process.

use codex_router_core::events::{RouterEvent, Subscription};
use codex_router_core::home::CodexHome;
use codex_router_core::router::Router;
use codex_router_core::store::{Store, Stored};
use codex_router_testkit::home::{TempHome, api_key_auth, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use std::sync::mpsc;
use std::time::Duration;

/// Forwards a subscription to a channel so tests can wait with a timeout.
fn events(mut sub: Subscription) -> mpsc::Receiver<RouterEvent> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Some(e) = sub.recv_blocking() {
            if tx.send(e).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(rx: &mpsc::Receiver<RouterEvent>, want: impl Fn(&RouterEvent) -> bool) -> RouterEvent {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if want(&e) => return e,
            Ok(_) => continue,
            Err(_) => panic!("event did not arrive in time"),
        }
    }
}

#[test]
fn files_changed_by_anyone_become_events() {
    let home = TempHome::new();
    let (a, b) = (Identity::new("alice", "plus"), Identity::new("bob", "plus"));
    home.write_profile("a", &chatgpt_auth(&a, 1, 3600));
    home.write_auth(&chatgpt_auth(&a, 1, 3600));
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let rx = events(router.subscribe());

    // A profile dropped into profiles/ by hand.
    home.write_profile("b", &chatgpt_auth(&b, 1, 3600));
    wait_for(&rx, |e| *e == RouterEvent::ProfilesChanged);
    assert_eq!(router.list_profiles().unwrap().len(), 2);

    // A switch made by another process (another Store on the same home).
    Store::new(CodexHome::at(home.path()))
        .switch("b", false)
        .unwrap();
    let e = wait_for(&rx, |e| matches!(e, RouterEvent::Switched { .. }));
    assert_eq!(
        e,
        RouterEvent::Switched {
            from: Some("a".into()),
            to: Some("b".into())
        }
    );

    // Codex writing an unrelated file in its home is not an event.
    std::thread::sleep(Duration::from_millis(700));
    while rx.try_recv().is_ok() {}
    std::fs::write(home.path().join("history.jsonl"), "{}\n").unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert!(rx.try_recv().is_err());
}

#[test]
fn commands_work_through_the_facade() {
    let home = TempHome::new();
    home.write_auth(&api_key_auth("sk-live"));
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    router.save_profile("live").unwrap();
    assert_eq!(
        router.add_api_key("k2", "  sk-other \n", false).unwrap(),
        Stored::Created("k2".into())
    );
    assert!(router.add_api_key("bad", "two words", false).is_err());
    router.switch_profile("k2", false).unwrap();
    assert_eq!(router.current_profile().unwrap().as_deref(), Some("k2"));
    router.rename_profile("live", "old").unwrap();
    router.remove_profile("old").unwrap();
    let snap = router.snapshot().unwrap();
    assert_eq!(snap.profiles.len(), 1);
    assert_eq!(snap.status.profile.as_deref(), Some("k2"));
    assert!(router.switch_profile("../etc", false).is_err());
}

#[test]
fn a_refresh_through_the_facade_is_an_event() {
    let up = codex_router_testkit::upstream::FakeUpstream::start();
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    home.write_profile("a", &up.chatgpt_auth_json(&alice, 3600));
    std::fs::create_dir_all(home.path().join("router")).unwrap();
    std::fs::write(
        home.path().join("router/state.json"),
        format!(
            r#"{{"upstream":{{"auth_issuer":"{}"}},"refresh":{{"proactive":false}}}}"#,
            up.issuer_url()
        ),
    )
    .unwrap();
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let rx = events(router.subscribe());
    let reports = router.refresh_profiles(None).unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].result.as_ref().unwrap().refreshed);
    wait_for(&rx, |e| {
        *e == RouterEvent::TokensRefreshed {
            profile: "a".into(),
        }
    });
    wait_for(&rx, |e| *e == RouterEvent::ProfilesChanged);
}

#[test]
fn the_usage_poller_fetches_each_account_once_at_start() {
    let up = codex_router_testkit::upstream::FakeUpstream::start();
    let home = TempHome::new();
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &up.chatgpt_auth_json(&alice, 3600));
    home.write_profile("b", &up.chatgpt_auth_json(&bob, 3600));
    home.write_profile("k", &api_key_auth("sk-1"));
    home.write_state(&serde_json::json!({
        "upstream": {"auth_issuer": up.issuer_url(), "chatgpt_base_url": up.chatgpt_base_url()},
        "usage": {"refresh_minutes": 1}
    }));
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let rx = events(router.subscribe());
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 2 {
        if let RouterEvent::UsageUpdated { profile } =
            wait_for(&rx, |e| matches!(e, RouterEvent::UsageUpdated { .. }))
        {
            seen.insert(profile);
        }
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["a", "b"]);
    let profiles = router.list_profiles().unwrap();
    assert_eq!(
        profiles[0]
            .usage
            .as_ref()
            .unwrap()
            .primary
            .as_ref()
            .unwrap()
            .used_percent,
        12.0
    );
    assert!(
        profiles[2].usage.is_none(),
        "API keys have no usage endpoint"
    );
    assert_eq!(up.count("/backend-api/wham/usage"), 2);
}

#[test]
fn the_proxy_started_by_the_router_reports_requests_and_usage() {
    let up = codex_router_testkit::upstream::FakeUpstream::start();
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    let auth = up.chatgpt_auth_json(&alice, 3600);
    home.write_profile("a", &auth);
    home.write_auth(&auth);
    home.write_state(&serde_json::json!({
        "upstream": {"auth_issuer": up.issuer_url(), "chatgpt_base_url": up.chatgpt_base_url()},
        "usage": {"refresh_minutes": 0}
    }));
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let rx = events(router.subscribe());
    let address = router.start_proxy("127.0.0.1", 0).unwrap();
    wait_for(&rx, |e| matches!(e, RouterEvent::ProxyStarted { .. }));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reply: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{address}/chat/completions"))
            .json(&serde_json::json!({"model": "gpt-5.2-codex", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(reply["choices"][0]["message"]["content"], "You said: hi");
    // The usage is recorded when the answer's headers arrive, the request is announced when
    // its answer has gone out: wait for both, in either order.
    let (mut finished, mut usage) = (None, false);
    while finished.is_none() || !usage {
        match wait_for(&rx, |e| {
            matches!(
                e,
                RouterEvent::RequestFinished { .. } | RouterEvent::UsageUpdated { .. }
            )
        }) {
            RouterEvent::UsageUpdated { profile } => usage |= profile == "a",
            done => finished = Some(done),
        }
    }
    assert!(
        matches!(finished, Some(RouterEvent::RequestFinished { status: 200, ref profile, .. }) if profile.as_deref() == Some("a"))
    );
    let state = router.proxy_state();
    assert!(state.running);
    assert_eq!(state.requests_served, 1);
    let usage = router.list_profiles().unwrap()[0].usage.clone().unwrap();
    assert_eq!(usage.primary.unwrap().used_percent, 12.0);
    router.stop_proxy();
    wait_for(&rx, |e| *e == RouterEvent::ProxyStopped);
    assert!(!router.proxy_state().running);
}

/// A home whose issuer is the fake upstream, with device codes entered at once.
fn device_home(up: &codex_router_testkit::upstream::FakeUpstream) -> TempHome {
    let home = TempHome::new();
    home.use_upstream(
        &up.issuer_url(),
        &up.chatgpt_base_url(),
        &up.openai_base_url(),
    );
    up.set_device_poll_interval(0);
    home
}

#[test]
fn device_login_through_the_facade_shows_a_code_then_saves_the_profile() {
    let up = codex_router_testkit::upstream::FakeUpstream::start();
    let home = device_home(&up);
    let carol = Identity::new("carol", "team");
    up.set_login_identity(&carol);
    up.set_device_pending_polls(2);
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let login = router.start_device_login("carol", false).unwrap();
    assert!(login.verification_url().starts_with(&up.issuer_url()));
    assert!(login.verification_url().ends_with("/codex/device"));
    assert!(!login.user_code().is_empty());
    let outcome = login.wait().unwrap();
    assert_eq!(outcome.stored, Stored::Created("carol".into()));
    assert_eq!(outcome.email.as_deref(), Some("carol@example.com"));
    assert_eq!(
        home.read_json(&home.profile_path("carol"))["tokens"]["account_id"],
        "acct-carol"
    );
    assert!(login.wait().is_err(), "only the first wait waits");
    // A taken name is refused before any code is asked for.
    let asked = up.count("/api/accounts/deviceauth/usercode");
    assert!(router.start_device_login("carol", false).is_err());
    assert_eq!(up.count("/api/accounts/deviceauth/usercode"), asked);
}

#[test]
fn a_device_login_can_be_cancelled_while_it_waits() {
    use codex_router_core::login::LoginError;
    use codex_router_core::router::RouterError;
    let up = codex_router_testkit::upstream::FakeUpstream::start();
    let home = device_home(&up);
    up.set_device_pending_polls(u32::MAX);
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let login = std::sync::Arc::new(router.start_device_login("dave", false).unwrap());
    let waiting = {
        let login = login.clone();
        std::thread::spawn(move || login.wait())
    };
    login.cancel();
    assert!(matches!(
        waiting.join().unwrap(),
        Err(RouterError::Login(LoginError::Cancelled))
    ));
    assert!(!home.profile_path("dave").exists());
}
