//! The usage history the store keeps beside each profile: every recorded figure and 429
//! becomes a sample, repeats don't, and the history follows its profile on rename and remove.

use codex_router_core::home::{CodexHome, ProfileName};
use codex_router_core::store::{Store, StoreError};
use codex_router_core::usage::{Usage, UsageWindow};
use codex_router_testkit::home::{TempHome, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use std::os::unix::fs::PermissionsExt;

/// Figures read at `at`, of a 5-hour window that resets at a fixed moment.
fn usage(at: i64, used: f64) -> Usage {
    Usage {
        plan: Some("plus".into()),
        primary: Some(UsageWindow {
            used_percent: used,
            window_minutes: Some(300),
            resets_at: Some(4_000_000_000),
        }),
        secondary: None,
        credits: None,
        limited_until: None,
        updated_at: at,
    }
}

#[test]
fn figures_and_limits_become_samples_that_follow_the_profile() {
    let home = TempHome::new();
    home.write_profile(
        "work",
        &chatgpt_auth(&Identity::new("alice", "plus"), 0, 3600),
    );
    let store = Store::new(CodexHome::at(home.path()));
    let work = ProfileName::new("work").unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(store.usage_history(&work).unwrap().is_empty());

    assert!(store.record_usage(&work, &usage(now - 600, 10.0)).unwrap());
    // The same figures a moment later: neither stored nor sampled.
    assert!(!store.record_usage(&work, &usage(now - 590, 10.0)).unwrap());
    assert!(store.record_usage(&work, &usage(now - 300, 25.0)).unwrap());
    assert!(store.record_limit(&work, now + 1800).unwrap());

    let samples = store.usage_history(&work).unwrap();
    let used: Vec<f64> = samples
        .iter()
        .map(|s| s.primary.as_ref().unwrap().used_percent)
        .collect();
    assert_eq!(used, vec![10.0, 25.0, 25.0]);
    assert_eq!(samples[2].limited_until, Some(now + 1800));
    assert!(samples[2].at >= now, "a 429 is sampled when it happens");
    let file = home.path().join("profiles/work/usage-history.jsonl");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    store.rename("work", "job").unwrap();
    let job = ProfileName::new("job").unwrap();
    assert_eq!(store.usage_history(&job).unwrap(), samples);
    assert!(matches!(
        store.usage_history(&work),
        Err(StoreError::NotFound(_))
    ));
    store.remove("job").unwrap();
    assert!(!home.path().join("profiles/job").exists());
    assert!(!file.exists());
}

#[test]
fn a_damaged_history_never_stops_the_figures() {
    let home = TempHome::new();
    home.write_profile(
        "work",
        &chatgpt_auth(&Identity::new("alice", "plus"), 0, 3600),
    );
    let store = Store::new(CodexHome::at(home.path()));
    let work = ProfileName::new("work").unwrap();
    let file = home.path().join("profiles/work/usage-history.jsonl");
    std::fs::write(&file, b"\x00\x01garbage\n{\"t\":").unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(store.record_usage(&work, &usage(now, 50.0)).unwrap());
    let samples = store.usage_history(&work).unwrap();
    assert_eq!(samples.len(), 1);
    assert_eq!(samples[0].primary.as_ref().unwrap().used_percent, 50.0);
    // Even a history that can't be written at all (a folder in its place).
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    assert!(store.record_usage(&work, &usage(now + 100, 60.0)).unwrap());
    assert!(store.usage_history(&work).unwrap().is_empty());
    assert_eq!(
        store.list().unwrap()[0]
            .usage
            .as_ref()
            .unwrap()
            .primary
            .as_ref()
            .unwrap()
            .used_percent,
        60.0
    );
}
