//! The FFI objects driven from Rust the way a foreign caller drives them: async calls polled
//! by a foreign executor, listeners on the router's thread, typed errors.

use codex_router_core::login::browser::BrowserLoginConfig;
use codex_router_ffi::{
    LoginStored, ProfileState, Router, RouterError, RouterEvent, RouterListener,
};
use codex_router_testkit::home::{TempHome, api_key_auth, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::upstream::FakeUpstream;
use serde_json::json;
use std::future::Future;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Polls a future the way a foreign executor would: on a thread that is not a tokio runtime.
fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("executor")
        .block_on(f)
}

fn open(home: &TempHome) -> Arc<Router> {
    Router::new(Some(home.path().display().to_string())).expect("router")
}

/// A listener that forwards to a channel and notes when it is dropped.
struct Channel {
    tx: Mutex<mpsc::Sender<RouterEvent>>,
    dropped: Arc<Mutex<bool>>,
}

impl RouterListener for Channel {
    fn on_event(&self, event: RouterEvent) {
        let _ = self.tx.lock().unwrap().send(event);
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        *self.dropped.lock().unwrap() = true;
    }
}

fn listen(router: &Router) -> (mpsc::Receiver<RouterEvent>, Arc<Mutex<bool>>) {
    let (tx, rx) = mpsc::channel();
    let dropped = Arc::new(Mutex::new(false));
    router
        .subscribe(Box::new(Channel {
            tx: Mutex::new(tx),
            dropped: dropped.clone(),
        }))
        .unwrap();
    (rx, dropped)
}

/// Waits up to 5 s for an event `want` accepts, skipping others.
fn wait_for(rx: &mpsc::Receiver<RouterEvent>, want: impl Fn(&RouterEvent) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if want(&e) => return,
            Ok(_) => continue,
            Err(e) => panic!("the event did not arrive: {e}"),
        }
    }
}

#[test]
fn events_reach_the_listener_until_the_router_is_dropped() {
    let home = TempHome::new();
    let router = open(&home);
    let (rx, dropped) = listen(&router);
    home.write_profile("a", &api_key_auth("sk-a"));
    wait_for(&rx, |e| *e == RouterEvent::ProfilesChanged);
    drop(router);
    // The listener is released with the router, on the dropping thread.
    assert!(*dropped.lock().unwrap());
}

#[test]
fn unsubscribe_all_stops_every_listener_even_from_inside_one() {
    /// Unsubscribes everything from inside its first call.
    struct Quitter {
        router: Mutex<Option<Arc<Router>>>,
        calls: Arc<Mutex<u32>>,
    }
    impl RouterListener for Quitter {
        fn on_event(&self, _: RouterEvent) {
            *self.calls.lock().unwrap() += 1;
            if let Some(router) = self.router.lock().unwrap().take() {
                router.unsubscribe_all();
            }
        }
    }
    let home = TempHome::new();
    let router = open(&home);
    let (_rx, dropped) = listen(&router);
    let calls = Arc::new(Mutex::new(0));
    router
        .subscribe(Box::new(Quitter {
            router: Mutex::new(Some(router.clone())),
            calls: calls.clone(),
        }))
        .unwrap();
    router.start_proxy("127.0.0.1".into(), 0).unwrap();
    // The quitter gets the event on its own thread and releases every listener (the
    // other one may or may not have had the event by then).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !(*dropped.lock().unwrap() && *calls.lock().unwrap() == 1) {
        assert!(
            std::time::Instant::now() < deadline,
            "the listeners were not released"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    router.stop_proxy().unwrap();
    home.write_profile("b", &api_key_auth("sk-b"));
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(*calls.lock().unwrap(), 1, "no call after unsubscribe_all");
    // Subscribing again works.
    let (rx, _) = listen(&router);
    router.start_proxy("127.0.0.1".into(), 0).unwrap();
    wait_for(&rx, |e| matches!(e, RouterEvent::ProxyStarted { .. }));
}

#[test]
fn a_listener_that_panics_keeps_receiving() {
    struct Flaky(Mutex<mpsc::Sender<RouterEvent>>);
    impl RouterListener for Flaky {
        fn on_event(&self, event: RouterEvent) {
            if event == RouterEvent::ProxyStopped {
                panic!("listener bug");
            }
            let _ = self.0.lock().unwrap().send(event);
        }
    }
    let home = TempHome::new();
    let router = open(&home);
    let (tx, rx) = mpsc::channel();
    router.subscribe(Box::new(Flaky(Mutex::new(tx)))).unwrap();
    let address = router.start_proxy("127.0.0.1".into(), 0).unwrap();
    router.stop_proxy().unwrap();
    let again = router.start_proxy("127.0.0.1".into(), 0).unwrap();
    router.stop_proxy().unwrap();
    // Both starts arrive, though the stop in between made the listener panic.
    wait_for(&rx, |e| {
        *e == RouterEvent::ProxyStarted {
            address: address.clone(),
        }
    });
    wait_for(&rx, |e| {
        *e == RouterEvent::ProxyStarted {
            address: again.clone(),
        }
    });
}

#[test]
fn browser_sign_in_through_the_handle() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    home.use_upstream(
        &up.issuer_url(),
        &up.chatgpt_base_url(),
        &up.openai_base_url(),
    );
    let bob = Identity::new("bob", "pro");
    up.set_login_identity(&bob);
    let router = open(&home);
    let config = BrowserLoginConfig {
        issuer: up.issuer_url(),
        ports: vec![0],
        timeout: Duration::from_secs(20),
    };
    let login = router.start_login_with("bob", false, &config).unwrap();
    let url = login.url();
    let browser = std::thread::spawn(move || up.browser_sign_in(&url).map(|p| p.status));
    let result = block_on(login.wait()).unwrap();
    assert_eq!(browser.join().unwrap(), Ok(200));
    assert_eq!(result.profile, "bob");
    assert_eq!(result.stored, LoginStored::Created);
    assert_eq!(result.email.as_deref(), Some("bob@example.com"));
    let profiles = router.list_profiles().unwrap();
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0].plan.as_deref(), Some("pro"));
    assert_eq!(profiles[0].state, ProfileState::Ok);
    // Only the first wait waits.
    assert!(matches!(
        block_on(login.wait()),
        Err(RouterError::Invalid(_))
    ));
}

#[test]
fn a_cancelled_sign_in_is_a_typed_error() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let router = open(&home);
    let config = BrowserLoginConfig {
        issuer: up.issuer_url(),
        ports: vec![0],
        timeout: Duration::from_secs(20),
    };
    let login = router.start_login_with("x", false, &config).unwrap();
    let canceller = login.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        canceller.cancel();
    });
    assert!(matches!(
        block_on(login.wait()),
        Err(RouterError::Cancelled(_))
    ));
    assert!(matches!(
        router.start_login_with("../x", false, &config).map(drop),
        Err(RouterError::BadName(_))
    ));
}

#[test]
fn refresh_reports_and_typed_failures() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    home.use_upstream(
        &up.issuer_url(),
        &up.chatgpt_base_url(),
        &up.openai_base_url(),
    );
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "team"));
    home.write_profile("a", &up.chatgpt_auth_json(&alice, -30));
    home.write_profile("b", &up.chatgpt_auth_json(&bob, 3600));
    home.write_profile("k", &api_key_auth("sk-k"));
    let router = open(&home);
    let a = &router.list_profiles().unwrap()[0];
    assert_eq!((a.name.as_str(), a.state), ("a", ProfileState::Expired));

    let (rx, _) = listen(&router);
    let reports = block_on(router.refresh_profile(Some("a".into()))).unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].refreshed && reports[0].error.is_none());
    assert!(reports[0].expires_at.is_some());
    assert_eq!(router.list_profiles().unwrap()[0].state, ProfileState::Ok);
    wait_for(&rx, |e| {
        *e == RouterEvent::TokensRefreshed {
            profile: "a".into(),
        }
    });

    up.fail_next_refresh_with(
        400,
        json!({"error":{"message":"already used","type":"invalid_request_error","code":"refresh_token_reused"}}),
    );
    let err = block_on(router.refresh_profile(Some("b".into()))).unwrap_err();
    assert!(matches!(err, RouterError::NeedsSignIn(_)), "{err:?}");
    let b = &router.list_profiles().unwrap()[1];
    assert_eq!(b.state, ProfileState::NeedsSignIn);
    assert!(b.error.as_deref().unwrap().starts_with("needs sign-in"));

    // Every ChatGPT profile, each outcome in its report.
    let reports = block_on(router.refresh_profile(None)).unwrap();
    let names: Vec<_> = reports.iter().map(|r| r.profile.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(reports[0].error.is_none());
    assert!(reports[1].needs_sign_in);

    assert!(matches!(
        block_on(router.refresh_profile(Some("k".into()))),
        Err(RouterError::Invalid(_))
    ));
    assert!(matches!(
        block_on(router.refresh_profile(Some("nope".into()))),
        Err(RouterError::NotFound(_))
    ));
}

#[test]
fn commands_map_errors_to_their_variant() {
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    home.write_profile("a", &chatgpt_auth(&alice, 1, 3600));
    home.write_auth(&chatgpt_auth(&alice, 1, 3600));
    home.write_profile_raw("broken", b"{not json");
    let router = open(&home);
    let err = |r: Result<(), RouterError>| r.unwrap_err();
    assert!(matches!(
        err(router.switch_profile("a/b".into(), false).map(drop)),
        RouterError::BadName(_)
    ));
    assert!(matches!(
        err(router.switch_profile("nope".into(), false).map(drop)),
        RouterError::NotFound(_)
    ));
    assert!(matches!(
        err(router.switch_profile("broken".into(), false).map(drop)),
        RouterError::Unusable(_)
    ));
    assert!(matches!(
        err(router.save_profile("again".into())),
        RouterError::Exists(_)
    ));
    assert!(matches!(
        err(router.rename_profile("a".into(), "broken".into())),
        RouterError::Exists(_)
    ));
    assert!(matches!(
        err(router
            .add_api_key("k".into(), "two words".into(), false)
            .map(drop)),
        RouterError::Invalid(_)
    ));
    assert!(matches!(
        err(router.start_proxy("not-a-host".into(), 0).map(drop)),
        RouterError::Invalid(_)
    ));
    // An unsaved login is kept unless forced.
    home.write_profile("k", &api_key_auth("sk-k"));
    home.write_auth(&chatgpt_auth(&Identity::new("eve", "plus"), 1, 3600));
    assert!(matches!(
        err(router.switch_profile("k".into(), false).map(drop)),
        RouterError::UnsavedLogin(_)
    ));
    let done = router.switch_profile("k".into(), true).unwrap();
    assert_eq!(done.warnings.len(), 1);
    assert_eq!(router.current_profile().unwrap().as_deref(), Some("k"));
}

#[test]
fn a_broken_settings_file_is_a_typed_error() {
    let home = TempHome::new();
    std::fs::write(home.path().join("router").join("state.json"), "{oops").unwrap();
    let err = Router::new(Some(home.path().display().to_string())).map(drop);
    assert!(matches!(err, Err(RouterError::Settings(_))), "{err:?}");
}

#[test]
fn device_sign_in_through_the_handle() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    home.use_upstream(
        &up.issuer_url(),
        &up.chatgpt_base_url(),
        &up.openai_base_url(),
    );
    let carol = Identity::new("carol", "team");
    up.set_login_identity(&carol);
    up.set_device_poll_interval(0);
    up.set_device_pending_polls(2);
    let router = open(&home);
    let login = block_on(router.start_device_login("carol".into(), false)).unwrap();
    assert!(login.verification_url().ends_with("/codex/device"));
    assert!(!login.user_code().is_empty());
    assert!(login.prompt().contains(&login.user_code()));
    let result = block_on(login.wait()).unwrap();
    assert_eq!(
        (result.profile.as_str(), result.stored),
        ("carol", LoginStored::Created)
    );
    assert_eq!(
        result.summary,
        "Signed in as carol@example.com (team); saved as profile 'carol'."
    );
    assert!(matches!(
        block_on(router.start_device_login("carol".into(), false)).map(drop),
        Err(RouterError::Exists(_))
    ));

    up.set_device_pending_polls(u32::MAX);
    let waiting = block_on(router.start_device_login("dave".into(), false)).unwrap();
    waiting.cancel();
    assert!(matches!(
        block_on(waiting.wait()),
        Err(RouterError::Cancelled(_))
    ));
    up.set_device_auth_enabled(false);
    assert!(matches!(
        block_on(router.start_device_login("erin".into(), false)).map(drop),
        Err(RouterError::Login(_))
    ));
}

#[test]
fn codex_set_up_removed_and_asked_about() {
    let home = TempHome::new();
    let path = home.path().join("config.toml");
    std::fs::write(&path, "model = \"m\"\n").unwrap();
    let router = open(&home);
    assert!(!router.codex_setup_state().unwrap().added);
    let added = router.setup_codex(None, false, false, None, false).unwrap();
    assert!(added.changed);
    assert_eq!(added.provider_id, "codex-router");
    assert!(added.summary[0].starts_with("Added the model provider 'codex-router'"));
    let state = router.codex_setup_state().unwrap();
    assert!(state.added && state.is_default && state.current);
    assert_eq!(
        state.summary,
        "Codex sends its requests to Codex Router (http://127.0.0.1:9876/v1)."
    );
    assert!(!state.chatgpt);
    // With Codex's own ChatGPT calls through the router too.
    router.setup_codex(None, false, false, None, true).unwrap();
    let state = router.codex_setup_state().unwrap();
    assert!(state.chatgpt);
    assert!(
        state.summary.contains("its own ChatGPT calls"),
        "{}",
        state.summary
    );
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("chatgpt_base_url = \"http://127.0.0.1:9876/backend-api/\"")
    );
    let removed = router.remove_codex_setup(None).unwrap();
    assert!(removed.changed);
    assert!(removed.summary[0].contains("chatgpt_base_url is as it was"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "model = \"m\"\n");
    std::fs::write(&path, "model = [").unwrap();
    assert!(matches!(
        router.setup_codex(None, false, false, None, false),
        Err(RouterError::CodexConfig(_))
    ));
    assert!(matches!(
        router.setup_codex(None, false, false, Some("../x".into()), false),
        Err(RouterError::BadName(_))
    ));
}

#[test]
fn records_carry_the_cores_words() {
    use codex_router_ffi::{Tone, plan_label, restart_hint, suggest_profile_name, window_label};
    let home = TempHome::new();
    assert!(
        open(&home)
            .empty_home_hint()
            .contains("`codex-router login NAME`")
    );
    let alice = Identity::new("alice", "plus");
    home.write_profile("a", &chatgpt_auth(&alice, 1, -7200));
    home.write_profile("k", &api_key_auth("sk-k"));
    let router = open(&home);
    let profiles = router.list_profiles().unwrap();
    assert_eq!(
        profiles[0].token_state.text,
        "expired 2 hours ago, renewed at next use"
    );
    assert_eq!(profiles[0].token_state.tone, Tone::Warn);
    assert_eq!(profiles[0].mode_label.as_deref(), Some("ChatGPT"));
    assert_eq!(profiles[1].token_state.text, "API key (does not expire)");
    let status = router.status().unwrap();
    assert_eq!(
        status.error.as_deref(),
        Some("not signed in: auth.json does not exist")
    );
    assert_eq!(window_label(1_440), "day");
    assert_eq!(window_label(300), "5 h");
    assert!(restart_hint().contains("Developer: Reload Window"));
    assert_eq!(plan_label(Some("plus".into())), "Plus");
    assert_eq!(
        suggest_profile_name(Some("alice@example.com".into()), vec!["alice".into()]),
        "alice-2"
    );
}
