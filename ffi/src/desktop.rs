//! The desktop side of the router: notifications (decided by the core, posted by the app
//! with UserNotifications on macOS) and their settings, and start at login on Linux (the
//! Swift app uses `SMAppService` itself).

use crate::error::{RouterError, guard};
use crate::router::Router;
use codex_router_core::autostart::{Autostart, AutostartState};
use codex_router_core::notify::{Notification as CoreNotification, NotificationKind as CoreKind};
use codex_router_core::settings::NotificationSettings as CoreSettings;

/// What a notification is about; each kind can be turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum NotificationKind {
    /// An account reached its usage limit (the body says when it resets).
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

impl From<CoreKind> for NotificationKind {
    fn from(k: CoreKind) -> Self {
        match k {
            CoreKind::LimitReached => Self::LimitReached,
            CoreKind::AvailableAgain => Self::AvailableAgain,
            CoreKind::Threshold => Self::Threshold,
            CoreKind::FailedOver => Self::FailedOver,
            CoreKind::NeedsSignIn => Self::NeedsSignIn,
        }
    }
}

impl From<NotificationKind> for CoreKind {
    fn from(k: NotificationKind) -> Self {
        match k {
            NotificationKind::LimitReached => Self::LimitReached,
            NotificationKind::AvailableAgain => Self::AvailableAgain,
            NotificationKind::Threshold => Self::Threshold,
            NotificationKind::FailedOver => Self::FailedOver,
            NotificationKind::NeedsSignIn => Self::NeedsSignIn,
        }
    }
}

/// One thing to tell the user, in the core's words; never a token. (Not `Notification`:
/// Swift's Foundation has one.)
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RouterNotification {
    /// What it is about.
    pub kind: NotificationKind,
    /// The profile it is about (for a failover: the one that reached its limit).
    pub profile: String,
    /// The title.
    pub title: String,
    /// The sentence.
    pub body: String,
    /// The same for the same event: use it as the notification's identifier.
    pub id: String,
}

impl From<CoreNotification> for RouterNotification {
    fn from(n: CoreNotification) -> Self {
        Self {
            kind: n.kind.into(),
            profile: n.profile,
            title: n.title,
            body: n.body,
            id: n.id,
        }
    }
}

/// One kind's check box: its label and whether it is on.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NotificationToggle {
    /// The kind.
    pub kind: NotificationKind,
    /// What its check box says.
    pub label: String,
    /// Whether it is on.
    pub enabled: bool,
}

/// The `notifications` settings of `router/state.json`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NotificationSettings {
    /// Every kind, in the order to list them.
    pub kinds: Vec<NotificationToggle>,
    /// The share of a window (1–100) from which `Threshold` tells.
    pub threshold_percent: u8,
}

impl From<CoreSettings> for NotificationSettings {
    fn from(s: CoreSettings) -> Self {
        Self {
            kinds: CoreKind::ALL
                .into_iter()
                .map(|k| NotificationToggle {
                    kind: k.into(),
                    label: k.label().to_owned(),
                    enabled: k.enabled_in(&s),
                })
                .collect(),
            threshold_percent: s.threshold_percent,
        }
    }
}

#[uniffi::export]
impl Router {
    /// Starts deciding notifications: from now on listeners also get
    /// `RouterEvent::Notify` for each usage limit reached, limited account available again,
    /// threshold crossed, failover and dead login, once each (remembered across restarts),
    /// as the settings allow. Post them (macOS: UserNotifications, with `id` as the
    /// request's identifier). Calling it again does nothing.
    pub fn start_notifications(&self) {
        self.core.start_notifications();
    }

    /// Which notifications are on (`router/state.json` now).
    pub fn notification_settings(&self) -> NotificationSettings {
        self.core.notification_settings().into()
    }

    /// Turns one kind of notification on or off; `SettingsChanged` follows.
    pub fn set_notification_enabled(
        &self,
        kind: NotificationKind,
        enabled: bool,
    ) -> Result<(), RouterError> {
        guard(|| Ok(self.core.set_notification_enabled(kind.into(), enabled)?))
    }
}

/// Whether the desktop app starts at login on Linux (an XDG autostart entry under
/// `$XDG_CONFIG_HOME/autostart`); the sentence says so, and where.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AutostartStatus {
    /// Whether it starts at login.
    pub enabled: bool,
    /// What that means, for people.
    pub words: String,
}

/// Whether the Linux desktop app starts at login.
#[uniffi::export]
pub fn autostart_status() -> Result<AutostartStatus, RouterError> {
    guard(|| {
        let a = Autostart::from_env().map_err(|e| RouterError::Other(e.to_string()))?;
        let state = a.state().map_err(|e| RouterError::Other(e.to_string()))?;
        Ok(AutostartStatus {
            enabled: state == AutostartState::On,
            words: a.describe(&state),
        })
    })
}

/// Turns start at login of the Linux desktop app on or off (only ever removing the entry
/// it wrote itself).
#[uniffi::export]
pub fn set_autostart(enabled: bool) -> Result<AutostartStatus, RouterError> {
    guard(|| {
        let a = Autostart::from_env().map_err(|e| RouterError::Other(e.to_string()))?;
        let done = if enabled { a.enable() } else { a.disable() };
        done.map_err(|e| RouterError::Other(e.to_string()))?;
        let state = a.state().map_err(|e| RouterError::Other(e.to_string()))?;
        Ok(AutostartStatus {
            enabled: state == AutostartState::On,
            words: a.describe(&state),
        })
    })
}
