//! The profile store against a real temporary CODEX_HOME.

use codex_router_core::home::CodexHome;
use codex_router_core::store::{Store, StoreError};
use codex_router_testkit::home::{TempHome, api_key_auth, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use serde_json::{Value, json};
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn store(home: &TempHome) -> Store {
    Store::new(CodexHome::at(home.path()))
}

fn refresh_token(v: &Value) -> &str {
    v["tokens"]["refresh_token"].as_str().unwrap()
}

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn list_shows_good_and_broken_profiles_with_reasons() {
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    home.write_profile("alice", &chatgpt_auth(&alice, 0, 3600));
    home.write_profile("key", &api_key_auth("sk-test"));
    home.write_profile_raw("badjson", b"{\"tokens\": ");
    home.write_profile("badjwt", &json!({"auth_mode":"chatgpt","tokens":{"id_token":"x","access_token":"y","refresh_token":"z"}}));
    home.write_profile("empty", &json!({"OPENAI_API_KEY": null}));
    fs::create_dir_all(home.path().join("profiles/noauth")).unwrap();
    fs::create_dir_all(home.path().join("profiles/bad name")).unwrap();
    fs::create_dir_all(home.path().join("profiles/.codex-router-tmp-abc")).unwrap();
    fs::write(home.path().join("profiles/README"), "not a profile").unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::write(
        outside.path().join("auth.json"),
        serde_json::to_vec(&api_key_auth("sk-out")).unwrap(),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), home.path().join("profiles/escape")).unwrap();
    home.write_auth(&chatgpt_auth(&alice, 0, 3600));

    let list = store(&home).list().unwrap();
    let names: Vec<&str> = list.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "alice", "bad name", "badjson", "badjwt", "empty", "escape", "key", "noauth"
        ]
    );
    let reason = |n: &str| {
        list.iter()
            .find(|p| p.name == n)
            .unwrap()
            .login
            .clone()
            .unwrap_err()
    };
    assert!(reason("badjson").contains("not valid JSON"));
    assert!(reason("badjwt").contains("id_token"));
    assert!(reason("empty").contains("neither an API key nor tokens"));
    assert!(reason("noauth").contains("no auth.json"));
    assert!(reason("escape").contains("symlink out of profiles"));
    assert!(reason("bad name").contains("may only contain"));
    let alice_row = &list[0];
    assert!(alice_row.active);
    assert_eq!(
        alice_row.login.as_ref().unwrap().email.as_deref(),
        Some("alice@example.com")
    );
    assert!(list.iter().find(|p| p.name == "key").unwrap().login.is_ok());
}

#[test]
fn missing_home_lists_nothing() {
    let home = TempHome::new();
    let s = Store::new(CodexHome::at(home.path().join("nope")));
    assert!(s.list().unwrap().is_empty());
    assert_eq!(s.current().unwrap(), None);
}

#[test]
fn switch_syncs_newer_tokens_back_then_activates() {
    let home = TempHome::new();
    let (a, b) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &chatgpt_auth(&a, 1, 3600));
    home.write_profile("b", &chatgpt_auth(&b, 1, 3600));
    let mut live = chatgpt_auth(&a, 2, 3600); // Codex refreshed A since it was saved
    live["agent_identity"] = json!({"kept": true});
    home.write_auth(&live);
    home.write_current("a");

    let out = store(&home).switch("b", false).unwrap();
    assert_eq!(out.previous.as_deref(), Some("a"));
    assert_eq!(out.synced_back, ["a"]);
    let saved_a = home.read_json(&home.profile_path("a"));
    assert_eq!(refresh_token(&saved_a), refresh_token(&live));
    assert_eq!(saved_a["agent_identity"], json!({"kept": true}));
    assert_eq!(
        fs::read(home.auth_path()).unwrap(),
        fs::read(home.profile_path("b")).unwrap()
    );
    assert_eq!(
        fs::read_to_string(home.path().join(".current_profile"))
            .unwrap()
            .trim(),
        "b"
    );
    for p in [
        home.auth_path(),
        home.profile_path("a"),
        home.path().join(".current_profile"),
    ] {
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }

    // Back to A: the newest tokens come back, not the stale copy.
    store(&home).switch("a", false).unwrap();
    assert_eq!(
        refresh_token(&home.read_json(&home.auth_path())),
        refresh_token(&live)
    );
}

#[test]
fn older_auth_json_never_overwrites_a_newer_profile() {
    let home = TempHome::new();
    let (a, b) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &chatgpt_auth(&a, 5, 3600));
    home.write_profile("b", &chatgpt_auth(&b, 1, 3600));
    home.write_auth(&chatgpt_auth(&a, 2, 3600));
    let out = store(&home).switch("b", false).unwrap();
    assert!(out.synced_back.is_empty());
    assert_eq!(
        refresh_token(&home.read_json(&home.profile_path("a"))),
        "rt-user-alice-5-SECRETREFRESH"
    );
}

#[test]
fn switching_to_the_active_identity_keeps_its_newest_tokens() {
    let home = TempHome::new();
    let a = Identity::new("alice", "plus");
    home.write_profile("a", &chatgpt_auth(&a, 1, 3600));
    home.write_auth(&chatgpt_auth(&a, 3, 3600));
    store(&home).switch("a", false).unwrap();
    assert_eq!(
        refresh_token(&home.read_json(&home.auth_path())),
        "rt-user-alice-3-SECRETREFRESH"
    );
    assert_eq!(
        refresh_token(&home.read_json(&home.profile_path("a"))),
        "rt-user-alice-3-SECRETREFRESH"
    );
}

#[test]
fn team_members_sharing_an_account_never_overwrite_each_other() {
    let home = TempHome::new();
    let alice = Identity::new("alice", "team").in_account("acct-team");
    let bob = Identity::new("bob", "team").in_account("acct-team");
    let carol = Identity::new("carol", "plus");
    home.write_profile("alice", &chatgpt_auth(&alice, 1, 3600));
    home.write_profile("bob", &chatgpt_auth(&bob, 1, 3600));
    home.write_profile("carol", &chatgpt_auth(&carol, 1, 3600));
    // Bob signed in with Codex directly; .current_profile still says alice.
    home.write_auth(&chatgpt_auth(&bob, 4, 3600));
    home.write_current("alice");
    let s = store(&home);
    assert_eq!(s.current().unwrap().as_deref(), Some("bob"));

    let out = s.switch("carol", false).unwrap();
    assert_eq!(out.synced_back, ["bob"]);
    assert_eq!(
        refresh_token(&home.read_json(&home.profile_path("alice"))),
        "rt-user-alice-1-SECRETREFRESH"
    );
    assert_eq!(
        refresh_token(&home.read_json(&home.profile_path("bob"))),
        "rt-user-bob-4-SECRETREFRESH"
    );
}

#[test]
fn current_is_worked_out_without_or_against_current_profile() {
    let home = TempHome::new();
    let (a, b) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &chatgpt_auth(&a, 1, 3600));
    home.write_profile("b", &chatgpt_auth(&b, 1, 3600));
    home.write_auth(&chatgpt_auth(&b, 2, 3600));
    assert_eq!(store(&home).current().unwrap().as_deref(), Some("b"));
    home.write_current("a");
    assert_eq!(store(&home).current().unwrap().as_deref(), Some("b"));
    fs::remove_file(home.auth_path()).unwrap();
    assert_eq!(store(&home).current().unwrap(), None);
}

#[test]
fn an_unsaved_login_is_not_discarded_without_force() {
    let home = TempHome::new();
    let (a, b) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("b", &chatgpt_auth(&b, 1, 3600));
    let live = chatgpt_auth(&a, 1, 3600);
    home.write_auth(&live);
    let err = store(&home).switch("b", false).unwrap_err();
    assert!(
        matches!(err, StoreError::UnsavedLogin(ref who) if who == "alice@example.com"),
        "{err}"
    );
    assert_eq!(home.read_json(&home.auth_path()), live);
    let out = store(&home).switch("b", true).unwrap();
    assert!(out.warnings[0].contains("alice@example.com"));
}

#[test]
fn switch_refuses_unknown_broken_and_badly_named_profiles() {
    let home = TempHome::new();
    home.write_profile_raw("broken", b"nope");
    home.write_auth(&api_key_auth("sk-live"));
    let s = store(&home);
    assert!(matches!(
        s.switch("ghost", false),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.switch("broken", false),
        Err(StoreError::Unusable { .. })
    ));
    for bad in ["../x", "a/b", "", ".hidden", "a\0b"] {
        assert!(
            matches!(s.switch(bad, false), Err(StoreError::Name(_))),
            "{bad:?}"
        );
        assert!(matches!(s.save(bad), Err(StoreError::Name(_))), "{bad:?}");
        assert!(matches!(s.remove(bad), Err(StoreError::Name(_))), "{bad:?}");
        assert!(
            matches!(s.rename("broken", bad), Err(StoreError::Name(_))),
            "{bad:?}"
        );
    }
    assert_eq!(home.read_json(&home.auth_path()), api_key_auth("sk-live"));
    assert!(!home.path().join("x").exists());
}

#[test]
fn save_creates_a_private_profile_once_per_identity() {
    let home = TempHome::new();
    let a = Identity::new("alice", "plus");
    let s = store(&home);
    assert!(matches!(s.save("a"), Err(StoreError::NoLogin(_))));
    let mut live = chatgpt_auth(&a, 1, 3600);
    live["future"] = json!([1, {"x": null}]);
    home.write_auth(&live);
    s.save("a").unwrap();
    assert_eq!(
        fs::read(home.profile_path("a")).unwrap(),
        fs::read(home.auth_path()).unwrap()
    );
    assert_eq!(mode(&home.profile_path("a")), 0o600);
    assert_eq!(mode(&home.path().join("profiles/a")), 0o700);
    assert_eq!(mode(&home.path().join("profiles")), 0o700);
    assert_eq!(s.current().unwrap().as_deref(), Some("a"));
    assert!(matches!(s.save("a"), Err(StoreError::Exists(_))));
    assert!(matches!(s.save("again"), Err(StoreError::AlreadySaved(ref n)) if n == "a"));
    let leftovers: Vec<_> = fs::read_dir(home.path().join("profiles"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, ["a"]);
}

#[test]
fn rename_and_remove_keep_current_profile_right() {
    let home = TempHome::new();
    let a = Identity::new("alice", "plus");
    home.write_auth(&chatgpt_auth(&a, 1, 3600));
    let s = store(&home);
    s.save("a").unwrap();
    home.write_profile("other", &api_key_auth("sk-1"));
    assert!(matches!(s.rename("a", "other"), Err(StoreError::Exists(_))));
    assert!(matches!(
        s.rename("ghost", "x"),
        Err(StoreError::NotFound(_))
    ));
    s.rename("a", "work").unwrap();
    assert_eq!(
        fs::read_to_string(home.path().join(".current_profile"))
            .unwrap()
            .trim(),
        "work"
    );
    assert_eq!(s.current().unwrap().as_deref(), Some("work"));
    s.remove("work").unwrap();
    assert!(!home.path().join(".current_profile").exists());
    assert!(
        home.auth_path().exists(),
        "removing the active profile keeps Codex signed in"
    );
    assert!(matches!(s.remove("work"), Err(StoreError::NotFound(_))));
    let names: Vec<_> = s.list().unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["other"]);
}

#[test]
fn remove_of_a_symlinked_profile_leaves_its_target_alone() {
    let home = TempHome::new();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("auth.json"), b"{}").unwrap();
    fs::create_dir_all(home.path().join("profiles")).unwrap();
    std::os::unix::fs::symlink(outside.path(), home.path().join("profiles/link")).unwrap();
    store(&home).remove("link").unwrap();
    assert!(outside.path().join("auth.json").exists());
    assert!(!home.path().join("profiles/link").exists());
}

#[test]
fn concurrent_switches_from_many_threads_stay_consistent() {
    let home = TempHome::new();
    let people: Vec<Identity> = ["a", "b", "c"]
        .iter()
        .map(|w| Identity::new(w, "plus"))
        .collect();
    for p in &people {
        home.write_profile(&p.email[..1], &chatgpt_auth(p, 1, 3600));
    }
    home.write_auth(&chatgpt_auth(&people[0], 1, 3600));
    std::thread::scope(|scope| {
        for t in 0..4 {
            let s = store(&home);
            scope.spawn(move || {
                for i in 0..25 {
                    s.switch(["a", "b", "c"][(t + i) % 3], false).unwrap();
                }
            });
        }
    });
    let current = store(&home).current().unwrap().unwrap();
    assert_eq!(
        fs::read(home.auth_path()).unwrap(),
        fs::read(home.profile_path(&current)).unwrap()
    );
    for p in &people {
        let name = &p.email[..1];
        assert_eq!(
            refresh_token(&home.read_json(&home.profile_path(name))),
            format!("rt-{}-1-SECRETREFRESH", p.user_id)
        );
    }
}

#[test]
fn a_switch_warns_when_codex_keeps_its_login_where_the_router_cannot_write() {
    let home = TempHome::new();
    let (a, b) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &chatgpt_auth(&a, 1, 3600));
    home.write_profile("b", &chatgpt_auth(&b, 1, 3600));
    home.write_auth(&chatgpt_auth(&a, 1, 3600));
    assert!(store(&home).switch("b", false).unwrap().warnings.is_empty());
    // The keyring itself is switched (tests/all/codex_keyring.rs); these two can't be.
    for (config, change) in [
        (
            "cli_auth_credentials_store = \"ephemeral\"\n",
            "set cli_auth_credentials_store = \"file\"",
        ),
        (
            "cli_auth_credentials_store = \"keyring\"\n[features]\nsecret_auth_storage = true\n",
            "set secret_auth_storage = false",
        ),
    ] {
        fs::write(home.path().join("config.toml"), config).unwrap();
        let out = store(&home).switch("a", false).unwrap();
        assert!(out.warnings.iter().any(|w| w.contains(change)), "{out:?}");
        assert_eq!(store(&home).current().unwrap().as_deref(), Some("a"));
        assert!(store(&home).switch("b", false).is_ok());
    }
}
