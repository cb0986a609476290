//! What each notification says, in the words the rest of the app uses (the view's phrases
//! and messages): profile names, percentages and reset times, never a token.

use super::{Notification, NotificationKind};
use crate::usage::UsageWindow;
use crate::view::{messages, phrases};

/// An account reached its usage limit, which ends at `resets_at`.
pub fn limit_reached(profile: &str, resets_at: i64) -> Notification {
    Notification {
        kind: NotificationKind::LimitReached,
        profile: profile.to_owned(),
        title: format!("'{profile}' reached its usage limit"),
        body: format!(
            "'{profile}' can't be used until its limit resets {}.",
            phrases::day_time(resets_at)
        ),
        id: id(NotificationKind::LimitReached, profile, resets_at),
    }
}

/// The limit that ended at `ended` is over: the account can be used again.
pub fn available_again(profile: &str, ended: i64) -> Notification {
    Notification {
        kind: NotificationKind::AvailableAgain,
        profile: profile.to_owned(),
        title: format!("'{profile}' can be used again"),
        body: format!("The usage limit of '{profile}' has reset."),
        id: id(NotificationKind::AvailableAgain, profile, ended),
    }
}

/// An account used most of window `w`.
pub fn threshold(profile: &str, w: &UsageWindow) -> Notification {
    let name = phrases::usage_window_name(w);
    let mut body = format!(
        "'{profile}' has used {:.0}% of its {name} window",
        w.used_percent
    );
    if let Some(at) = w.resets_at {
        body.push_str(&format!("; it resets {}", phrases::day_time(at)));
    }
    body.push('.');
    Notification {
        kind: NotificationKind::Threshold,
        profile: profile.to_owned(),
        title: format!(
            "'{profile}' used {:.0}% of its {name} window",
            w.used_percent
        ),
        body,
        id: id(
            NotificationKind::Threshold,
            profile,
            w.resets_at.unwrap_or_default(),
        ) + &format!(":{name}"),
    }
}

/// The endpoint moved requests from `from` (limited until `resets_at`) to `to`.
pub fn failed_over(from: &str, to: &str, resets_at: Option<i64>) -> Notification {
    Notification {
        kind: NotificationKind::FailedOver,
        profile: from.to_owned(),
        title: format!("Requests moved to '{to}'"),
        body: format!("{}.", messages::failed_over(from, to, resets_at)),
        id: id(
            NotificationKind::FailedOver,
            from,
            resets_at.unwrap_or_default(),
        ),
    }
}

/// A login died: `message` is the issuer's reason, as the app shows it.
pub fn needs_sign_in(profile: &str, message: &str, token_fingerprint: &str) -> Notification {
    Notification {
        kind: NotificationKind::NeedsSignIn,
        profile: profile.to_owned(),
        title: format!("'{profile}' needs a new sign-in"),
        body: messages::needs_sign_in(profile, message),
        id: format!(
            "{}:{profile}:{token_fingerprint}",
            NotificationKind::NeedsSignIn.key()
        ),
    }
}

fn id(kind: NotificationKind, profile: &str, reset: i64) -> String {
    format!("{}:{profile}:{reset}", kind.key())
}
