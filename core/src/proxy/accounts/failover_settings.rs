//! What failover needs besides the request path: the settings as they are now (a toggle in
//! the app or `state.json` reaches a running endpoint at its next request) and which
//! accounts are known to be limited.

use crate::home::{CodexHome, ProfileName};
use crate::profile_state::ProfileState;
use crate::proxy::file_stamp::{Stamp, stamp};
use crate::settings::{FailoverSettings, Settings};
use std::sync::Mutex;

/// The failover settings, re-read from `router/state.json` whenever it changes.
#[derive(Debug)]
pub(super) struct LiveFailover {
    home: CodexHome,
    forced: bool,
    cached: Mutex<(Stamp, FailoverSettings)>,
}

impl LiveFailover {
    /// Starts from `initial` (the settings the server was given); `forced` keeps failover on
    /// whatever the file says (`serve --failover`).
    pub(super) fn new(home: CodexHome, initial: FailoverSettings, forced: bool) -> Self {
        let at = stamp(&home.state_file());
        Self {
            home,
            forced,
            cached: Mutex::new((at, initial)),
        }
    }

    /// The settings now. A file that fails to load keeps the last good settings (and says
    /// so in the log once per change of the file).
    pub(super) fn current(&self) -> FailoverSettings {
        let now = stamp(&self.home.state_file());
        let mut cached = self.cached.lock().expect("failover settings");
        if cached.0 != now {
            match Settings::load(&self.home) {
                Ok(settings) => {
                    let mut fresh = settings.failover;
                    fresh.enabled |= self.forced;
                    if fresh.enabled != cached.1.enabled {
                        tracing::info!(enabled = fresh.enabled, "failover setting changed");
                    }
                    cached.1 = fresh;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "keeping the previous failover settings");
                }
            }
            cached.0 = now;
        }
        cached.1.clone()
    }
}

/// When `name`'s usage limit resets, if the router knows it is limited now.
pub(super) fn known_limit(home: &CodexHome, name: &str) -> Option<i64> {
    let name = ProfileName::new(name).ok()?;
    let usage = ProfileState::load(&home.profile_dir(&name)).usage?;
    let now = chrono::Utc::now().timestamp();
    usage.limited_until.filter(|_| usage.is_limited(now))
}
