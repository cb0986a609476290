//! The event stream frontends subscribe to: what happened, and the bus that carries it. A
//! leaf; [`watcher`] feeds it from file changes.

pub mod watcher;

use crate::notify::Notification;
use tokio::sync::broadcast;

/// Events kept for a slow subscriber before it is told to resync.
const BACKLOG: usize = 256;

/// Something a frontend may want to redraw for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterEvent {
    /// Profiles were added, removed or edited (by the router, Codex, or by hand).
    ProfilesChanged,
    /// The active login changed, by anyone.
    Switched {
        /// The profile active before, if any.
        from: Option<String>,
        /// The profile active now, if any.
        to: Option<String>,
    },
    /// A profile's tokens were refreshed.
    TokensRefreshed {
        /// The profile.
        profile: String,
    },
    /// A profile's refresh token was refused for good.
    NeedsSignIn {
        /// The profile.
        profile: String,
        /// Why, for people.
        message: String,
    },
    /// The local endpoint started.
    ProxyStarted {
        /// Where it listens, e.g. `http://127.0.0.1:9876/v1`.
        address: String,
    },
    /// The local endpoint stopped.
    ProxyStopped,
    /// The local endpoint answered a request.
    RequestFinished {
        /// The profile that served it, if any.
        profile: Option<String>,
        /// HTTP method.
        method: String,
        /// Path (no query).
        path: String,
        /// Status sent to the client.
        status: u16,
        /// Time to the response head, in milliseconds.
        millis: u64,
    },
    /// Usage figures of a profile changed.
    UsageUpdated {
        /// The profile.
        profile: String,
    },
    /// The local endpoint moved a request to another account because `from` hit its
    /// usage limit (failover).
    FailedOver {
        /// The limited profile.
        from: String,
        /// The profile that served the request.
        to: String,
        /// When `from`'s limit resets (unix seconds), if known.
        resets_at: Option<i64>,
    },
    /// `router/state.json` changed (failover turned on or off, say), by anyone.
    SettingsChanged,
    /// Something to tell the user as a desktop notification (only while
    /// [`Router::start_notifications`](crate::router::Router::start_notifications) runs).
    Notify(Notification),
}

/// A broadcast of [`RouterEvent`]s. Cloning it gives another sender to the same bus.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<RouterEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus with no subscribers yet.
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(BACKLOG).0,
        }
    }

    /// Sends an event to every subscriber (none listening is fine).
    pub fn emit(&self, event: RouterEvent) {
        tracing::debug!(?event, "event");
        let _ = self.tx.send(event);
    }

    /// A new subscription, seeing events sent from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            rx: self.tx.subscribe(),
        }
    }
}

/// One subscriber's view of the bus.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<RouterEvent>,
}

impl Subscription {
    /// Waits for the next event, blocking the thread (not for async code). `None` when
    /// the bus is gone. A subscriber that fell behind gets `ProfilesChanged`, its cue to
    /// re-read everything.
    pub fn recv_blocking(&mut self) -> Option<RouterEvent> {
        match self.rx.blocking_recv() {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(RouterEvent::ProfilesChanged),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// Waits for the next event (async); as [`Subscription::recv_blocking`].
    pub async fn recv(&mut self) -> Option<RouterEvent> {
        match self.rx.recv().await {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(RouterEvent::ProfilesChanged),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}
