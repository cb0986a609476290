//! Codex changing its login in the OS keyring shows up by itself: the router hears the
//! Secret Service's item signals (a real gnome-keyring on a private D-Bus, as in
//! `cli/tests/all/keyring.rs`) and announces the switch, with nothing polled.

use codex_router_core::events::RouterEvent;
use codex_router_core::router::Router;
use codex_router_testkit::home::{TempHome, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::secret_service::{SecretService, codex_account};
use std::time::{Duration, Instant};

const SERVICE: &str = "Codex Auth";

#[test]
fn codex_signing_in_to_another_account_in_the_keyring_is_announced() {
    let ss = SecretService::start().unwrap_or_else(|e| {
        panic!("a real Secret Service is needed for this test: {e}; run scripts/setup")
    });
    for (key, value) in ss.env() {
        // SAFETY: set before any other thread of this test process exists (nextest runs
        // each test in its own process).
        unsafe { std::env::set_var(key, value) };
    }
    let home = TempHome::new();
    std::fs::write(
        home.path().join("config.toml"),
        "cli_auth_credentials_store = \"keyring\"\n",
    )
    .unwrap();
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    let (a, b) = (chatgpt_auth(&alice, 1, 3600), chatgpt_auth(&bob, 1, 3600));
    home.write_profile("a", &a);
    home.write_profile("b", &b);
    let account = codex_account(home.path());
    ss.store(SERVICE, &account, &a.to_string());

    let router = Router::open(Some(home.path().to_owned())).unwrap();
    assert_eq!(router.current_profile().unwrap().as_deref(), Some("a"));
    let mut subscription = router.subscribe();
    let (tx, events) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        while let Some(event) = subscription.recv_blocking() {
            if tx.send(event).is_err() {
                break;
            }
        }
    });

    // Codex (any program) signs in as bob: only the keyring entry changes.
    ss.store(SERVICE, &account, &b.to_string());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(RouterEvent::Switched { from, to }) => {
                assert_eq!((from.as_deref(), to.as_deref()), (Some("a"), Some("b")));
                break;
            }
            Ok(_) => {}
            Err(_) => panic!("no Switched event after Codex's keyring change"),
        }
    }
    assert_eq!(router.current_profile().unwrap().as_deref(), Some("b"));
}
