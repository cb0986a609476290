//! The app as a desktop citizen: the notifications the core decides (queued for the shell,
//! which posts them), which kinds are on, and whether the app starts at login.

use super::App;
use codex_router_core::autostart::{Autostart, AutostartState};
use codex_router_core::notify::{Notification, NotificationKind};
use codex_router_core::settings::NotificationSettings;
use codex_router_core::view::phrases::Tone;

/// What the settings part of the window shows, and the notifications not yet posted.
#[derive(Debug, Default)]
pub(crate) struct DesktopSettings {
    /// Which notifications are on (`state.json`, re-read when it changes).
    pub(crate) notifications: NotificationSettings,
    /// Whether the app starts at login (`Err`: it could not be read); `None` before the
    /// first read.
    pub(crate) autostart: Option<Result<AutostartState, String>>,
    /// What the autostart state means, in a sentence.
    pub(crate) autostart_words: String,
    /// Notifications decided by the core, waiting for the shell to post them.
    outbox: Vec<Notification>,
}

impl DesktopSettings {
    /// Whether the app starts at login now.
    pub(crate) fn starts_at_login(&self) -> bool {
        matches!(self.autostart, Some(Ok(AutostartState::On)))
    }

    /// Whether the app starts at login, when that is known and ours to change (`None`: not
    /// read yet, unreadable, or an entry someone else wrote).
    pub(crate) fn start_at_login_known(&self) -> Option<bool> {
        match self.autostart.as_ref()?.as_ref().ok()? {
            AutostartState::On => Some(true),
            AutostartState::Off | AutostartState::HiddenByDesktop => Some(false),
            AutostartState::Foreign => None,
        }
    }
}

impl App {
    /// The notifications the core decided since the last call, for the shell to post.
    pub fn take_notifications(&mut self) -> Vec<Notification> {
        std::mem::take(&mut self.state.desktop.outbox)
    }

    /// Queues a notification for the shell (the window shows the important ones as notices
    /// from their own events already).
    pub(super) fn deliver(&mut self, notification: Notification) {
        self.state.desktop.outbox.push(notification);
    }

    /// Reads which notifications are on and whether the app starts at login, again.
    pub(super) fn reload_desktop_settings(&mut self) {
        let notifications = self.router.notification_settings();
        let (autostart, words) = match Autostart::from_env() {
            Ok(a) => match a.state() {
                Ok(s) => {
                    let words = a.describe(&s);
                    (Ok(s), words)
                }
                Err(e) => (Err(e.to_string()), e.to_string()),
            },
            Err(e) => (Err(e.to_string()), e.to_string()),
        };
        let desktop = &mut self.state.desktop;
        if desktop.notifications != notifications || desktop.autostart.as_ref() != Some(&autostart)
        {
            desktop.notifications = notifications;
            desktop.autostart = Some(autostart);
            desktop.autostart_words = words;
            self.state.generation += 1;
        }
    }

    /// Turns one kind of notification on or off.
    pub(super) fn set_notification(&mut self, kind: NotificationKind, on: bool) {
        match self.router.set_notification_enabled(kind, on) {
            Ok(()) => self.reload_desktop_settings(),
            Err(e) => self.state.notify(
                Tone::Error,
                format!("could not change the notification setting: {e}"),
            ),
        }
    }

    /// Turns start at login on or off.
    pub(super) fn set_autostart(&mut self, on: bool) {
        let done = Autostart::from_env().and_then(|a| if on { a.enable() } else { a.disable() });
        if let Err(e) = done {
            self.state.notify(Tone::Error, e.to_string());
        }
        self.reload_desktop_settings();
    }
}
