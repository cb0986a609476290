//! A stand-in desktop notification service for tests: owns `org.freedesktop.Notifications`
//! on a bus (a private one, see [`crate::secret_service::BareBus`]), answers
//! `GetCapabilities`, `GetServerInformation` and `Notify` as a desktop's service does, and
//! records every notification that arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zbus::zvariant::OwnedValue;

/// One notification as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// The sender's application name.
    pub app_name: String,
    /// Its icon.
    pub app_icon: String,
    /// The title.
    pub summary: String,
    /// The text.
    pub body: String,
    /// The string hints (`desktop-entry`, `category`, …).
    pub hints: HashMap<String, String>,
    /// The urgency hint (0 low, 1 normal, 2 critical), when given.
    pub urgency: Option<u8>,
}

struct Service {
    received: Arc<Mutex<Vec<Received>>>,
    capabilities: Vec<String>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Service {
    fn get_capabilities(&self) -> Vec<String> {
        self.capabilities.clone()
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "stand-in".into(),
            "codex-router tests".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    #[allow(clippy::too_many_arguments)] // the D-Bus method's signature
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok());
        let hints = hints
            .iter()
            .filter_map(|(k, v)| {
                let v = v.try_clone().ok()?;
                String::try_from(v).ok().map(|s| (k.clone(), s))
            })
            .collect();
        let mut all = self.received.lock().expect("received");
        all.push(Received {
            app_name,
            app_icon,
            summary,
            body,
            hints,
            urgency,
        });
        all.len() as u32
    }

    fn close_notification(&self, _id: u32) {}
}

/// The running stand-in; it leaves the bus when dropped.
pub struct NotificationService {
    _connection: zbus::blocking::Connection,
    received: Arc<Mutex<Vec<Received>>>,
}

impl NotificationService {
    /// Serves on the bus at `address` (a `DBUS_SESSION_BUS_ADDRESS`), with the `body` and
    /// `body-markup` capabilities of most desktops.
    pub fn start(address: &str) -> Result<Self, String> {
        let received = Arc::new(Mutex::new(Vec::new()));
        let service = Service {
            received: received.clone(),
            capabilities: vec!["body".into(), "body-markup".into()],
        };
        let connection = zbus::blocking::connection::Builder::address(address)
            .and_then(|b| b.name("org.freedesktop.Notifications"))
            .and_then(|b| b.serve_at("/org/freedesktop/Notifications", service))
            .and_then(|b| b.build())
            .map_err(|e| format!("the stand-in notification service can't start: {e}"))?;
        Ok(Self {
            _connection: connection,
            received,
        })
    }

    /// Everything that arrived, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }

    /// Waits up to `timeout` for a notification `want` accepts.
    pub fn wait_for(
        &self,
        timeout: Duration,
        want: impl Fn(&Received) -> bool,
    ) -> Option<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.received().into_iter().find(|r| want(r)) {
                return Some(r);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
