//! The event stream frontends subscribe to, and the file watcher that feeds it. Nothing
//! polls: the watcher sleeps in the OS (inotify, FSEvents) until a file changes.

use crate::files::TEMP_PREFIX;
use crate::store::{Profile, Store};
use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use std::path::Path;
use std::time::Duration;
use tokio::sync::broadcast;

/// How long file changes are gathered before one event is sent.
const DEBOUNCE: Duration = Duration::from_millis(250);
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

/// Watches `auth.json`, `.current_profile`, `router/state.json` and `profiles/`, and turns
/// changes into `ProfilesChanged` / `Switched` events. Stops when dropped.
pub struct HomeWatcher {
    _debouncer: Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>,
}

/// Why the watcher could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path}: {message}")]
pub struct WatchError {
    path: String,
    message: String,
}

impl HomeWatcher {
    /// Starts watching `store`'s home (creating `profiles/` if missing, so it can be
    /// watched) and emitting on `bus`.
    pub fn start(store: Store, bus: EventBus) -> Result<Self, WatchError> {
        let home = store.home().clone();
        let profiles = home.profiles_dir();
        let fail = |path: &Path, e: &dyn std::fmt::Display| WatchError {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        crate::files::ensure_dir(&profiles).map_err(|e| fail(&profiles, &e))?;
        let mut last = snapshot(&store);
        let root = home.root().to_owned();
        let handler = move |result: DebounceEventResult| {
            let Ok(events) = result else { return };
            if !events.iter().any(|e| relevant(&root, &e.path)) {
                return;
            }
            let now = snapshot(&store);
            if now.1 != last.1 {
                bus.emit(RouterEvent::Switched {
                    from: last.1.clone(),
                    to: now.1.clone(),
                });
            }
            if now.0 != last.0 {
                bus.emit(RouterEvent::ProfilesChanged);
            }
            last = now;
        };
        let mut debouncer = new_debouncer(DEBOUNCE, handler).map_err(|e| fail(home.root(), &e))?;
        let watcher = debouncer.watcher();
        watcher
            .watch(home.root(), RecursiveMode::NonRecursive)
            .map_err(|e| fail(home.root(), &e))?;
        watcher
            .watch(&profiles, RecursiveMode::Recursive)
            .map_err(|e| fail(&profiles, &e))?;
        let router_dir = home.router_dir();
        if router_dir.is_dir() {
            watcher
                .watch(&router_dir, RecursiveMode::NonRecursive)
                .map_err(|e| fail(&router_dir, &e))?;
        }
        Ok(Self {
            _debouncer: debouncer,
        })
    }
}

/// Profiles and the active name, as last seen.
fn snapshot(store: &Store) -> (Vec<Profile>, Option<String>) {
    let profiles = store.list().unwrap_or_default();
    let active = profiles.iter().find(|p| p.active).map(|p| p.name.clone());
    (profiles, active)
}

/// Whether a changed path can change what frontends show (Codex writes many other files
/// into its home: sessions, logs, caches).
fn relevant(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if name.starts_with(TEMP_PREFIX) {
        return false;
    }
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    match first.as_deref() {
        Some("auth.json" | ".current_profile") => true,
        Some("profiles") => true,
        Some("router") => name == "state.json",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_router_relevant_paths_count() {
        let root = Path::new("/h");
        assert!(relevant(root, Path::new("/h/auth.json")));
        assert!(relevant(root, Path::new("/h/.current_profile")));
        assert!(relevant(root, Path::new("/h/profiles/work/auth.json")));
        assert!(relevant(root, Path::new("/h/profiles/new")));
        assert!(relevant(root, Path::new("/h/router/state.json")));
        assert!(!relevant(root, Path::new("/h/router/store.lock")));
        assert!(!relevant(root, Path::new("/h/sessions/2026/x.jsonl")));
        assert!(!relevant(root, Path::new("/h/history.jsonl")));
        assert!(!relevant(
            root,
            Path::new("/h/profiles/.codex-router-tmp-x1")
        ));
        assert!(!relevant(root, Path::new("/elsewhere/auth.json")));
    }
}
