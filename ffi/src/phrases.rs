//! The core's words as free functions, for frontends that show data the records do not
//! carry words for: one wording everywhere, no copies in Swift.

use codex_router_core::auth_file::{AuthMode, LoginInfo};
use codex_router_core::view::messages::{self, RESTART_HINT, UNSAVED_LOGIN};
use codex_router_core::view::phrases;

/// A rate-limit window's name from its length: 300 → "5 h", 10080 → "week", 1440 → "day",
/// 2880 → "2 d", 45 → "45 min".
#[uniffi::export]
pub fn window_label(minutes: u64) -> String {
    phrases::window_label(minutes)
}

/// What to restart after a switch (running Codex keeps the old login until restarted).
#[uniffi::export]
pub fn restart_hint() -> String {
    RESTART_HINT.to_owned()
}

/// A plan for people: "plus" → "Plus"; none → "—".
#[uniffi::export]
pub fn plan_label(plan: Option<String>) -> String {
    phrases::plan_label(plan.as_deref())
}

/// A free, valid profile name for a login with `email` ("alice.b@example.com" →
/// "alice.b", "alice-2" when taken; "main" without a usable email).
#[uniffi::export]
pub fn suggest_profile_name(email: Option<String>, taken: Vec<String>) -> String {
    phrases::suggest_name(email.as_deref(), taken.iter().map(String::as_str))
}

/// A moment in the user's time zone, as the core writes it ("Tue 14:20").
#[uniffi::export]
pub fn day_time(unix: i64) -> String {
    phrases::day_time(unix)
}

/// Who a login is, for sentences: "alice@example.com (plus)", "an API key", "a ChatGPT
/// login without an email". `auth_mode` is a record's `"chatgpt"` or `"api_key"`.
#[uniffi::export]
pub fn who(email: Option<String>, plan: Option<String>, auth_mode: Option<String>) -> String {
    let auth_mode = match auth_mode.as_deref() {
        Some("api_key") => AuthMode::ApiKey,
        _ => AuthMode::ChatGpt,
    };
    phrases::who(&LoginInfo {
        auth_mode,
        email,
        plan,
        account_id: None,
        user_id: None,
        expires_at: None,
        last_refresh: None,
    })
}

/// That Codex's login is saved as no profile (it may be auth.json or a keyring entry).
#[uniffi::export]
pub fn unsaved_login_message() -> String {
    UNSAVED_LOGIN.to_owned()
}

/// After a failover: which account reached its limit, which serves now, and when the
/// first one's limit resets (unix seconds).
#[uniffi::export]
pub fn failed_over_message(from: String, to: String, resets_at: Option<i64>) -> String {
    messages::failed_over(&from, &to, resets_at)
}

/// When a profile's login died and needs a new sign-in.
#[uniffi::export]
pub fn needs_sign_in_message(profile: String, message: String) -> String {
    messages::needs_sign_in(&profile, &message)
}
