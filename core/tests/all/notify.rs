//! Desktop notifications end to end in the core: a router with the notifier on, its
//! endpoint in front of the fake upstream, and each kind arriving on the bus from what
//! really happens (answers' usage headers, a 429 and a failover, the end of the limit, a
//! refused refresh token); told once, and not again after a restart.

use crate::proxy::chatgpt_home;
use codex_router_core::events::{RouterEvent, Subscription};
use codex_router_core::notify::{Notification, NotificationKind};
use codex_router_core::router::Router;
use codex_router_testkit::upstream::{FakeUpstream, RateLimits};
use serde_json::json;
use std::sync::mpsc;
use std::time::Duration;

/// The notifications among a subscription's events, through a channel to wait on.
fn notifications(mut sub: Subscription) -> mpsc::Receiver<Notification> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Some(e) = sub.recv_blocking() {
            if let RouterEvent::Notify(n) = e
                && tx.send(n).is_err()
            {
                break;
            }
        }
    });
    rx
}

fn next(rx: &mpsc::Receiver<Notification>) -> Notification {
    rx.recv_timeout(Duration::from_secs(30))
        .expect("a notification arrives")
}

/// One chat request through the router's endpoint at `base` (`…/v1`); the status.
fn chat(base: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/chat/completions"))
            .json(&json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

#[test]
fn each_kind_is_told_once_from_what_really_happens() {
    let up = FakeUpstream::start();
    let home = chatgpt_home(&up, &["alice", "bob"], 3600);
    home.use_upstream(
        &up.issuer_url(),
        &up.chatgpt_base_url(),
        &up.openai_base_url(),
    );
    let mut state = home.read_json(&home.path().join("router/state.json"));
    state["failover"] = json!({"enabled": true});
    state["usage"] = json!({"refresh_minutes": 0});
    home.write_state(&state);
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let rx = notifications(router.subscribe());
    router.start_notifications();
    let base = router.start_proxy("127.0.0.1", 0).unwrap();

    // An answer whose headers say 95% of the 5 h window.
    let now = chrono::Utc::now().timestamp();
    let mut limits = RateLimits::default_at(now);
    limits.primary.used_percent = 95.0;
    up.set_rate_limits("acct-alice", limits);
    assert_eq!(chat(&base), 200);
    let n = next(&rx);
    assert_eq!(
        (n.kind, n.profile.as_str()),
        (NotificationKind::Threshold, "alice")
    );
    assert!(n.body.contains("95% of its 5 h window"), "{n:?}");

    // A 429 on alice: her limit, and the request moved to bob.
    let resets_at = chrono::Utc::now().timestamp() + 3;
    up.set_usage_limited("acct-alice", resets_at);
    assert_eq!(chat(&base), 200);
    let mut got = [next(&rx), next(&rx)];
    got.sort_by_key(|n| n.kind.key());
    assert_eq!(got[0].kind, NotificationKind::FailedOver);
    assert_eq!(got[0].title, "Requests moved to 'bob'");
    assert_eq!(
        (got[1].kind, got[1].profile.as_str()),
        (NotificationKind::LimitReached, "alice")
    );
    // More requests while alice is limited: no second failover notice.
    assert_eq!(chat(&base), 200);

    // The limit ends: alice is available again (the notifier's own timer).
    up.clear_usage_limited("acct-alice");
    let n = next(&rx);
    assert_eq!(
        (n.kind, n.profile.as_str()),
        (NotificationKind::AvailableAgain, "alice")
    );

    // bob's refresh token is refused for good.
    up.fail_next_refresh_with(
        401,
        json!({"error": {"code": "refresh_token_reused", "message": "Your refresh token has already been used"}}),
    );
    let reports = router.refresh_profiles(Some("bob")).unwrap();
    assert!(reports[0].result.is_err());
    let n = next(&rx);
    assert_eq!(
        (n.kind, n.profile.as_str()),
        (NotificationKind::NeedsSignIn, "bob")
    );
    assert!(n.body.contains("needs a new sign-in"), "{n:?}");
    for text in [&n.title, &n.body] {
        assert!(!text.contains("eyJ"), "no token in {text}");
    }

    // A restart remembers what was told; a turned-off kind is not told. The first
    // notification after the restart is the new one: a dead login of alice.
    router.stop_proxy();
    drop(router);
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    router
        .set_notification_enabled(NotificationKind::Threshold, false)
        .unwrap();
    assert!(!router.notification_settings().threshold);
    let rx = notifications(router.subscribe());
    router.start_notifications();
    let base = router.start_proxy("127.0.0.1", 0).unwrap();
    // A new 5 h window of alice's at 97%: a threshold, but that kind is off now.
    let now = chrono::Utc::now().timestamp();
    let mut limits = RateLimits::default_at(now);
    limits.primary.used_percent = 97.0;
    limits.primary.reset_at = now + 7 * 3600;
    up.set_rate_limits("acct-alice", limits);
    let alice = format!("{}/p/alice/v1", base.trim_end_matches("/v1"));
    assert_eq!(chat(&alice), 200);
    up.fail_next_refresh_with(
        401,
        json!({"error": {"code": "refresh_token_reused", "message": "Your refresh token has already been used"}}),
    );
    assert!(
        router.refresh_profiles(Some("alice")).unwrap()[0]
            .result
            .is_err()
    );
    let n = next(&rx);
    assert_eq!(
        (n.kind, n.profile.as_str()),
        (NotificationKind::NeedsSignIn, "alice")
    );
}
