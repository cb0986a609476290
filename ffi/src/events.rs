//! Events pushed to the frontend: the enum mirroring the core's, the listener it implements,
//! and the thread that forwards one to the other.

use codex_router_core::events::{RouterEvent as CoreEvent, Subscription};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Something the frontend may want to redraw for. Re-read what you show
/// (`list_profiles`, `status`) rather than patching it from the event.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RouterEvent {
    /// Profiles were added, removed or edited (by the router, by Codex, or by hand). Also
    /// sent when a slow listener missed events: re-read everything.
    ProfilesChanged,
    /// The active login changed, by anyone (this app, the CLI, Codex).
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
}

impl From<CoreEvent> for RouterEvent {
    fn from(e: CoreEvent) -> Self {
        match e {
            CoreEvent::ProfilesChanged => Self::ProfilesChanged,
            CoreEvent::Switched { from, to } => Self::Switched { from, to },
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

/// Starts the thread that hands `subscription`'s events to `listener`, one at a time. It
/// sleeps in a blocking receive (no polling) and ends when the router is dropped. A
/// listener that throws (or a panic) loses that one event, never the thread.
pub(crate) fn forward(
    mut subscription: Subscription,
    listener: Box<dyn RouterListener>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("codex-router-events".into())
        .spawn(move || {
            while let Some(event) = subscription.recv_blocking() {
                let event = RouterEvent::from(event);
                if catch_unwind(AssertUnwindSafe(|| listener.on_event(event))).is_err() {
                    tracing::warn!("an event listener failed; it keeps receiving events");
                }
            }
        })
}
