//! Desktop notifications: what is worth telling the user, decided from the core's events and
//! the stored usage figures, once per event. The apps only deliver what comes out (the
//! desktop app over the freedesktop notification service, the Swift app with
//! UserNotifications through the FFI).
//!
//! - this file: the data a notification is ([`Notification`], [`NotificationKind`]) and
//!   whether the settings let a kind through (a leaf: the event bus carries these);
//! - [`memory`]: what was already told about one profile, kept beside its `auth.json` so a
//!   restart does not tell it again;
//! - [`decide`]: the pure decisions (a limit, an account available again, a threshold, a
//!   failover, a dead login);
//! - [`words`]: what a notification says;
//! - [`service`]: the task that watches the bus and a timer, and emits
//!   [`RouterEvent::Notify`](crate::events::RouterEvent::Notify).

pub mod decide;
pub mod memory;
pub mod service;
pub mod words;

use crate::settings::NotificationSettings;

/// What a notification is about. Each kind can be turned off in `router/state.json`
/// (`notifications.<key>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// An account reached its usage limit.
    LimitReached,
    /// An account that was limited can be used again.
    AvailableAgain,
    /// An account used the threshold share (default 90%) of a usage window.
    Threshold,
    /// The local endpoint moved requests to another account.
    FailedOver,
    /// A login needs a new sign-in.
    NeedsSignIn,
}

impl NotificationKind {
    /// Every kind, in the order the apps list their check boxes.
    pub const ALL: [NotificationKind; 5] = [
        Self::LimitReached,
        Self::AvailableAgain,
        Self::Threshold,
        Self::FailedOver,
        Self::NeedsSignIn,
    ];

    /// Its key in the `notifications` section of `router/state.json`.
    pub fn key(self) -> &'static str {
        match self {
            Self::LimitReached => "limit_reached",
            Self::AvailableAgain => "available_again",
            Self::Threshold => "threshold",
            Self::FailedOver => "failed_over",
            Self::NeedsSignIn => "needs_sign_in",
        }
    }

    /// What its check box says.
    pub fn label(self) -> &'static str {
        match self {
            Self::LimitReached => "An account reached its usage limit",
            Self::AvailableAgain => "A limited account can be used again",
            Self::Threshold => "An account used most of a usage window",
            Self::FailedOver => "Requests moved to another account (failover)",
            Self::NeedsSignIn => "A login needs a new sign-in",
        }
    }

    /// Whether `settings` let this kind through.
    pub fn enabled_in(self, settings: &NotificationSettings) -> bool {
        match self {
            Self::LimitReached => settings.limit_reached,
            Self::AvailableAgain => settings.available_again,
            Self::Threshold => settings.threshold,
            Self::FailedOver => settings.failed_over,
            Self::NeedsSignIn => settings.needs_sign_in,
        }
    }
}

/// One thing to tell the user. Never holds a token: only profile names, percentages, times
/// and the issuer's reason for a dead login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// What it is about.
    pub kind: NotificationKind,
    /// The profile it is about (for a failover: the one that reached its limit).
    pub profile: String,
    /// A short title, e.g. "Usage limit reached".
    pub title: String,
    /// The sentence, in the same words as the rest of the app.
    pub body: String,
    /// The same for the same event and different for any other (kind, profile, window,
    /// reset): platforms that take an identifier replace rather than stack.
    pub id: String,
}
