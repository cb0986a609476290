//! The core's words as free functions, for frontends that show data the records do not
//! carry words for: one wording everywhere, no copies in Swift.

use codex_router_core::view::messages::RESTART_HINT;
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
