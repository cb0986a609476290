//! What frontends show, read through the façade: the rows `list --json` prints, the
//! status and its words when Codex has no login.

use codex_router_core::codex_config::CredentialStore;
use codex_router_core::router::Router;
use codex_router_core::store::Status;
use codex_router_core::view::StatusView;
use codex_router_core::view::phrases::Tone;
use codex_router_testkit::home::{TempHome, api_key_auth, chatgpt_auth};
use codex_router_testkit::jwt::Identity;

#[test]
fn rows_serialize_to_the_list_json_contract() {
    let home = TempHome::new();
    let alice = Identity::new("alice", "pro");
    home.write_profile("work", &chatgpt_auth(&alice, 1, 3 * 86_400 + 60));
    home.write_profile("key", &api_key_auth("sk-proj-SECRET"));
    home.write_profile_raw("broken", b"{");
    home.write_auth(&chatgpt_auth(&alice, 1, 3 * 86_400 + 60));
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let rows = router.profile_rows().unwrap();
    let json = serde_json::to_value(&rows).unwrap();
    let mut keys: Vec<&str> = json[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "account_id",
            "active",
            "auth_mode",
            "email",
            "error",
            "expires_at",
            "last_refresh",
            "name",
            "plan",
            "state",
            "usage"
        ]
    );
    let by_name = |n: &str| rows.iter().find(|r| r.name == n).unwrap();
    let work = by_name("work");
    assert!(work.active);
    assert_eq!(work.token_state.text, "expires in 3 days");
    assert_eq!(work.mode_label.as_deref(), Some("ChatGPT"));
    assert_eq!(by_name("key").token_state.text, "API key (does not expire)");
    let broken = by_name("broken");
    assert_eq!(broken.token_state.tone, Tone::Error);
    assert!(broken.token_state.text.starts_with("INVALID: "));
    let broken_json = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "broken")
        .unwrap();
    assert_eq!(broken_json["state"], "invalid");
    assert!(!json.to_string().contains("SECRET"));

    let status = router.status_view().unwrap();
    assert_eq!(status.profile.as_deref(), Some("work"));
    assert_eq!(status.error, None);
    assert_eq!(status.token_state.unwrap().text, "expires in 3 days");
}

#[test]
fn no_login_is_described_where_codex_keeps_it() {
    let home = TempHome::new();
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let view = router.status_view().unwrap();
    assert_eq!(
        view.error.as_deref(),
        Some("not signed in: auth.json does not exist")
    );
    assert!(view.token_state.is_none());
    let none = Status {
        profile: None,
        login: None,
        needs_sign_in: None,
        usage: None,
    };
    let keyring = StatusView::new(&none, CredentialStore::Keyring, chrono::Utc::now());
    assert_eq!(
        keyring.error.as_deref(),
        Some("not signed in: Codex's keyring entry holds no login")
    );
    let json = serde_json::to_value(&keyring).unwrap();
    assert_eq!(
        json["error"],
        "not signed in: Codex's keyring entry holds no login"
    );
    assert!(json.get("token_state").is_none());
}
