//! Posting the core's notifications on the desktop. On Linux: the freedesktop notification
//! service (`org.freedesktop.Notifications` on the session bus) over D-Bus, pure Rust
//! (zbus, no libdbus), from a thread of its own so a slow service never holds up the
//! window. Elsewhere they are only logged (the Swift app posts them on macOS).

use codex_router_core::notify::{Notification, NotificationKind};
use std::sync::mpsc::{Sender, channel};

/// The app's name as notifications show it.
pub const APP_NAME: &str = "Codex Router";
/// The icon name and desktop entry (`codex-router.desktop`, the `.deb` installs both).
pub const DESKTOP_ENTRY: &str = "codex-router";

/// Hands notifications to the thread that posts them.
pub struct Poster {
    tx: Sender<Notification>,
}

impl Poster {
    /// Starts the posting thread on the session bus (connected at the first notification;
    /// without a bus or a notification service each one is logged and dropped).
    pub fn start() -> Self {
        let (tx, rx) = channel::<Notification>();
        let spawned = std::thread::Builder::new()
            .name("notifications".into())
            .spawn(move || {
                let mut service = None;
                for notification in rx {
                    if service.is_none() {
                        service = platform::Service::connect()
                            .map_err(|e| tracing::warn!("notifications can't be shown: {e}"))
                            .ok();
                    }
                    if let Some(s) = &service
                        && let Err(e) = s.post(&notification)
                    {
                        tracing::warn!(
                            kind = notification.kind.key(),
                            "notification not shown: {e}"
                        );
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("notifications can't be shown: {e}");
        }
        Self { tx }
    }

    /// Posts `notification` (returns at once).
    pub fn post(&self, notification: Notification) {
        let _ = self.tx.send(notification);
    }
}

/// How urgent a kind is for the notification service (0 low, 1 normal; none is critical,
/// which would stay on screen until dismissed): good news and failovers are low.
fn urgency(kind: NotificationKind) -> u8 {
    match kind {
        NotificationKind::AvailableAgain | NotificationKind::FailedOver => 0,
        _ => 1,
    }
}

/// Text for a service that reads the body as markup (`body-markup`): `&`, `<`, `>` escaped.
fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(target_os = "linux")]
mod platform {
    use super::{APP_NAME, DESKTOP_ENTRY, escape_markup, urgency};
    use codex_router_core::notify::Notification;
    use std::collections::HashMap;
    use zbus::zvariant::Value;

    const NAME: &str = "org.freedesktop.Notifications";
    const PATH: &str = "/org/freedesktop/Notifications";

    /// The notification service on a session bus.
    pub(super) struct Service {
        bus: zbus::blocking::Connection,
        markup: bool,
    }

    impl Service {
        /// Connects to the session bus and asks the service what it can do.
        pub(super) fn connect() -> Result<Self, String> {
            let bus = zbus::blocking::Connection::session()
                .map_err(|e| format!("no D-Bus session bus ({e})"))?;
            let reply = bus
                .call_method(Some(NAME), PATH, Some(NAME), "GetCapabilities", &())
                .map_err(|e| format!("no notification service on the session bus ({e})"))?;
            let capabilities: Vec<String> = reply.body().deserialize().unwrap_or_default();
            Ok(Self {
                markup: capabilities.iter().any(|c| c == "body-markup"),
                bus,
            })
        }

        /// Shows one notification.
        pub(super) fn post(&self, n: &Notification) -> Result<(), String> {
            let body = if self.markup {
                escape_markup(&n.body)
            } else {
                n.body.clone()
            };
            let mut hints: HashMap<&str, Value<'_>> = HashMap::new();
            hints.insert("desktop-entry", Value::from(DESKTOP_ENTRY));
            hints.insert("urgency", Value::from(urgency(n.kind)));
            hints.insert(
                "category",
                Value::from("x-codex-router.".to_owned() + n.kind.key()),
            );
            self.bus
                .call_method(
                    Some(NAME),
                    PATH,
                    Some(NAME),
                    "Notify",
                    &(
                        APP_NAME,
                        0u32,
                        DESKTOP_ENTRY,
                        n.title.as_str(),
                        body.as_str(),
                        Vec::<&str>::new(),
                        hints,
                        -1i32,
                    ),
                )
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use codex_router_core::notify::Notification;

    /// No service here: notifications are logged.
    pub(super) struct Service;

    impl Service {
        pub(super) fn connect() -> Result<Self, String> {
            Ok(Self)
        }

        pub(super) fn post(&self, n: &Notification) -> Result<(), String> {
            tracing::info!(title = %n.title, "notification");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(escape_markup("a <b> & c"), "a &lt;b&gt; &amp; c");
    }
}
