//! Events pushed to the frontend: the enum mirroring the core's, the listener it implements,
//! and the thread that forwards one to the other.

use codex_router_core::events::{RouterEvent as CoreEvent, Subscription};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;

/// Something the frontend may want to redraw for. Re-read what you show
/// (`list_profiles`, `status`) rather than patching it from the event.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RouterEvent {
    /// Profiles were added, removed or edited (by the router, by Codex, or by hand). Also
    /// sent when a slow listener missed events: re-read everything.
    ProfilesChanged,
    /// The active login changed, by anyone (this app, the CLI, Codex).
    Switched {
        /// The profile active before, if any (`from` in the core; renamed because `from`
        /// is a keyword in Python).
        previous: Option<String>,
        /// The profile active now, if any.
        current: Option<String>,
    },
    /// A profile's tokens were refreshed.
    TokensRefreshed {
        /// The profile.
        profile: String,
    },
    /// A profile's refresh token was refused for good: it needs a new sign-in.
    NeedsSignIn {
        /// The profile.
        profile: String,
        /// Why, for people.
        message: String,
    },
    /// The local endpoint started.
    ProxyStarted {
        /// Its base URL, e.g. `http://127.0.0.1:9876/v1`.
        address: String,
    },
    /// The local endpoint stopped.
    ProxyStopped,
    /// The local endpoint answered a request.
    RequestFinished {
        /// The profile that served it, if any.
        profile: Option<String>,
        /// The HTTP method.
        method: String,
        /// The path, without the query.
        path: String,
        /// The status sent to the client.
        status: u16,
        /// Time to the response head, in milliseconds.
        millis: u64,
    },
    /// A profile's usage figures changed.
    UsageUpdated {
        /// The profile.
        profile: String,
    },
    /// The local endpoint moved a request to another account because `previous` hit its
    /// usage limit (failover). When the active profile follows, `Switched` comes too.
    FailedOver {
        /// The limited profile (`from` in the core).
        previous: String,
        /// The profile that served the request (`to` in the core).
        current: String,
        /// When `previous`'s limit resets (RFC 3339), if known.
        resets_at: Option<String>,
    },
    /// `router/state.json` changed (failover turned on or off, say), by anyone.
    SettingsChanged,
    /// Something to post as a notification (only after `Router.start_notifications`).
    Notify {
        /// What to post.
        notification: crate::desktop::RouterNotification,
    },
}

impl From<CoreEvent> for RouterEvent {
    fn from(e: CoreEvent) -> Self {
        match e {
            CoreEvent::ProfilesChanged => Self::ProfilesChanged,
            CoreEvent::Switched { from, to } => Self::Switched {
                previous: from,
                current: to,
            },
            CoreEvent::TokensRefreshed { profile } => Self::TokensRefreshed { profile },
            CoreEvent::NeedsSignIn { profile, message } => Self::NeedsSignIn { profile, message },
            CoreEvent::ProxyStarted { address } => Self::ProxyStarted { address },
            CoreEvent::ProxyStopped => Self::ProxyStopped,
            CoreEvent::RequestFinished {
                profile,
                method,
                path,
                status,
                millis,
            } => Self::RequestFinished {
                profile,
                method,
                path,
                status,
                millis,
            },
            CoreEvent::UsageUpdated { profile } => Self::UsageUpdated { profile },
            CoreEvent::FailedOver {
                from,
                to,
                resets_at,
            } => Self::FailedOver {
                previous: from,
                current: to,
                resets_at: resets_at
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            },
            CoreEvent::SettingsChanged => Self::SettingsChanged,
            CoreEvent::Notify(n) => Self::Notify {
                notification: n.into(),
            },
        }
    }
}

/// Implemented by the frontend to receive events. `on_event` is called on a background
/// thread the router owns, one event at a time: hop to the UI thread before touching the
/// UI (Swift: `Task { @MainActor in … }`), and return quickly.
#[uniffi::export(callback_interface)]
pub trait RouterListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: RouterEvent);
}

/// One listener's forwarding thread, as the router sees it.
pub(crate) struct Forwarder {
    /// The listener; locked while an event is delivered, `None` once stopped.
    listener: Mutex<Option<Box<dyn RouterListener>>>,
    /// Set by a stop requested from inside the listener (which holds the lock).
    stopped: AtomicBool,
    /// The forwarding thread.
    thread: OnceLock<ThreadId>,
}

impl Forwarder {
    /// Stops calling the listener and releases it on the calling thread. An event being
    /// delivered right now is waited for, so no call is made after this returns. From
    /// inside the listener itself it only marks the stop (the forwarding thread releases
    /// the listener when the call returns).
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        if self.thread.get() != Some(&std::thread::current().id()) {
            let listener = self.lock().take();
            drop(listener);
        }
    }

    /// Whether it was stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Box<dyn RouterListener>>> {
        self.listener.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts the thread that hands `subscription`'s events to `listener`, one at a time. It
/// sleeps in a blocking receive (no polling) and ends when the router's event bus closes
/// or at the first event after [`Forwarder::stop`]. A listener that throws (or a panic)
/// loses that one event, never the thread.
///
/// Releasing a foreign listener calls into the foreign runtime, so it happens where
/// [`Forwarder::stop`] is called (the router's owner), not on this thread: a Python
/// interpreter that is shutting down kills any other thread that calls into it.
pub(crate) fn forward(
    mut subscription: Subscription,
    listener: Box<dyn RouterListener>,
) -> std::io::Result<Arc<Forwarder>> {
    let forwarder = Arc::new(Forwarder {
        listener: Mutex::new(Some(listener)),
        stopped: AtomicBool::new(false),
        thread: OnceLock::new(),
    });
    let state = forwarder.clone();
    let handle = std::thread::Builder::new()
        .name("codex-router-events".into())
        .spawn(move || {
            while let Some(event) = subscription.recv_blocking() {
                let mut slot = state.lock();
                let Some(listener) = slot.as_ref() else { break };
                let event = RouterEvent::from(event);
                if catch_unwind(AssertUnwindSafe(|| listener.on_event(event))).is_err() {
                    tracing::warn!("an event listener failed; it keeps receiving events");
                }
                if state.is_stopped() {
                    // Stopped from inside the listener: release it now, in its own call.
                    drop(slot.take());
                    break;
                }
            }
        })?;
    let _ = forwarder.thread.set(handle.thread().id());
    Ok(forwarder)
}
