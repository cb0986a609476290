//! The Codex home the soak runs against.

use codex_router_testkit::home::TempHome;
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::upstream::FakeUpstream;
use serde_json::json;

/// The ChatGPT account behind profile `name` (`alice` → `acct-alice`).
pub fn identity(name: &str) -> Identity {
    Identity::new(name, "plus")
}

/// A temporary CODEX_HOME with one ChatGPT profile per name, each with tokens the fake issued
/// (access tokens living `ttl_secs`), the first one active, every upstream pointed at the
/// fake and proactive refresh on with its default margin (5 minutes: longer than the tokens
/// live, so the half-life rule is what paces refreshes).
pub fn codex_home(up: &FakeUpstream, names: &[String], ttl_secs: i64) -> TempHome {
    let home = TempHome::new();
    home.write_state(&json!({
        "upstream": {
            "auth_issuer": up.issuer_url(),
            "chatgpt_base_url": up.chatgpt_base_url(),
            "openai_base_url": up.openai_base_url(),
        },
        "refresh": {"proactive": true, "margin_seconds": 300},
    }));
    for name in names {
        home.write_profile(name, &up.chatgpt_auth_json(&identity(name), ttl_secs));
    }
    let first = &names[0];
    home.write_auth(&home.read_json(&home.profile_path(first)));
    home.write_current(first);
    home
}
