//! The file watcher that turns changes to a Codex home into events. Nothing polls: it
//! sleeps in the OS (inotify, FSEvents) until a file changes.

use super::{EventBus, RouterEvent};
use crate::files::TEMP_PREFIX;
use crate::settings::Settings;
use crate::store::{Profile, Store};
use notify_debouncer_mini::notify::event::{AccessKind, AccessMode};
use notify_debouncer_mini::notify::{self, EventKind, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long file changes are gathered before one event is sent.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// Watches `auth.json`, `.current_profile`, `router/state.json` and `profiles/`, and turns
/// changes into `ProfilesChanged` / `Switched` events. Stops when dropped.
///
/// Only changes count: opening or reading a file (the watcher itself re-reads the profiles,
/// Codex reads `auth.json` all the time) is ignored, so reads never feed back into more
/// reads and an idle home costs no CPU.
pub struct HomeWatcher {
    /// Dropping it ends the OS watch, which ends the debounce thread.
    _watcher: notify::RecommendedWatcher,
}

/// Why the watcher could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path}: {message}")]
pub struct WatchError {
    path: String,
    message: String,
}

impl HomeWatcher {
    /// Starts watching `store`'s home (creating `profiles/` and `router/` if missing, so
    /// they can be watched) and emitting on `bus`.
    pub fn start(store: Store, bus: EventBus) -> Result<Self, WatchError> {
        let home = store.home().clone();
        let profiles = home.profiles_dir();
        let fail = |path: &Path, e: &dyn std::fmt::Display| WatchError {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        crate::files::ensure_dir(&profiles).map_err(|e| fail(&profiles, &e))?;
        let mut last = snapshot(&store);
        let mut last_settings = Settings::load(&home).ok();
        let root = home.root().to_owned();
        let mut handle = move || {
            let settings = Settings::load(store.home()).ok();
            if settings.is_some() && settings != last_settings {
                bus.emit(RouterEvent::SettingsChanged);
                last_settings = settings;
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
        let (tx, rx) = mpsc::channel::<PathBuf>();
        keyring_changes::watch(&home, tx.clone());
        let mut watcher =
            notify::recommended_watcher(move |result: notify::Result<notify::Event>| {
                let Ok(event) = result else { return };
                if is_only_a_read(&event.kind) {
                    return;
                }
                for path in event.paths {
                    let _ = tx.send(path);
                }
            })
            .map_err(|e| fail(home.root(), &e))?;
        std::thread::Builder::new()
            .name("codex-home-watch".into())
            .spawn(move || {
                // Sleeps until a change arrives, gathers what follows within DEBOUNCE, then
                // re-reads once. Ends when the watcher is dropped.
                while let Ok(first) = rx.recv() {
                    let mut wanted = relevant(&root, &first);
                    let deadline = Instant::now() + DEBOUNCE;
                    loop {
                        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                            Ok(path) => wanted |= relevant(&root, &path),
                            Err(RecvTimeoutError::Timeout) => break,
                            Err(RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    if wanted {
                        handle();
                    }
                }
            })
            .map_err(|e| fail(home.root(), &e))?;
        watcher
            .watch(home.root(), RecursiveMode::NonRecursive)
            .map_err(|e| fail(home.root(), &e))?;
        watcher
            .watch(&profiles, RecursiveMode::Recursive)
            .map_err(|e| fail(&profiles, &e))?;
        let router_dir = home.router_dir();
        crate::files::ensure_dir(&router_dir).map_err(|e| fail(&router_dir, &e))?;
        watcher
            .watch(&router_dir, RecursiveMode::NonRecursive)
            .map_err(|e| fail(&router_dir, &e))?;
        Ok(Self { _watcher: watcher })
    }
}

/// Whether an event only says a file was opened or read (inotify reports opens too).
fn is_only_a_read(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Access(access) if *access != AccessKind::Close(AccessMode::Write))
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

/// Codex's login in the OS keyring changes without a file to watch. On Linux the Secret
/// Service announces every item change on the session bus: while Codex keeps its login
/// there (`keyring` or `auto`), those signals count as a change of Codex's login.
#[cfg(target_os = "linux")]
mod keyring_changes {
    use crate::codex_config::CredentialStore;
    use crate::home::CodexHome;
    use std::path::PathBuf;
    use std::sync::mpsc::Sender;

    /// Starts forwarding Secret Service item changes to `changes` (as a change of
    /// `auth.json`), when Codex keeps its login in the keyring and a session bus is there.
    /// The thread sleeps on the bus and ends at the first signal after the watcher is gone.
    pub(super) fn watch(home: &CodexHome, changes: Sender<PathBuf>) {
        if !matches!(
            CredentialStore::of(home),
            CredentialStore::Keyring | CredentialStore::Auto
        ) {
            return;
        }
        let marker = home.auth_file();
        let started = std::thread::Builder::new()
            .name("codex-keyring-watch".into())
            .spawn(move || {
                let messages = match subscribe() {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::debug!(error = %e, "not watching the Secret Service");
                        return;
                    }
                };
                for _ in messages {
                    if changes.send(marker.clone()).is_err() {
                        return;
                    }
                }
            });
        if let Err(e) = started {
            tracing::warn!(error = %e, "changes Codex makes in the OS keyring will not show up by themselves");
        }
    }

    /// Item created, changed or deleted in any Secret Service collection.
    fn subscribe() -> zbus::Result<zbus::blocking::MessageIterator> {
        let bus = zbus::blocking::Connection::session()?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("org.freedesktop.Secret.Collection")?
            .build();
        zbus::blocking::MessageIterator::for_match_rule(rule, &bus, None)
    }
}

#[cfg(not(target_os = "linux"))]
mod keyring_changes {
    //! The Keychain announces no changes to other programs: Codex's keyring login shows up
    //! at the next file change or read.

    /// Nothing to watch here.
    pub(super) fn watch(
        _home: &crate::home::CodexHome,
        _changes: std::sync::mpsc::Sender<std::path::PathBuf>,
    ) {
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_or_reading_is_not_a_change() {
        use notify::event::{CreateKind, ModifyKind};
        assert!(is_only_a_read(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(is_only_a_read(&EventKind::Access(AccessKind::Read)));
        assert!(!is_only_a_read(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(!is_only_a_read(&EventKind::Create(CreateKind::File)));
        assert!(!is_only_a_read(&EventKind::Modify(ModifyKind::Any)));
    }

    #[test]
    fn reads_are_not_reported_as_changes() {
        use tokio::sync::broadcast;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(crate::home::CodexHome::at(dir.path()));
        let bus = EventBus::new();
        let mut sub = bus.subscribe();
        let _watcher = HomeWatcher::start(store.clone(), bus.clone()).unwrap();
        let profile = dir.path().join("profiles").join("a");
        std::fs::create_dir_all(&profile).unwrap();
        std::fs::write(profile.join("auth.json"), br#"{"OPENAI_API_KEY":"sk-1"}"#).unwrap();
        let first = std::thread::spawn(move || {
            let event = sub.recv_blocking();
            (event, sub)
        });
        let (event, mut sub) = first.join().unwrap();
        assert_eq!(event, Some(RouterEvent::ProfilesChanged));
        // Reads alone (what every frontend and Codex do) are not changes.
        for _ in 0..5 {
            let _ = store.list().unwrap();
            std::thread::sleep(DEBOUNCE / 2);
        }
        std::thread::sleep(DEBOUNCE * 2);
        assert!(matches!(
            sub.rx.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ));
    }

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
