//! What the window shows, as plain data: [`State`] is what was last read from the core
//! plus the notices and the running jobs (drawing code only reads it); [`Forms`] holds what
//! the user is typing (the open dialog's fields, the first-run name), the only thing
//! drawing code changes.

use super::jobs::{Job, SignInMethod};
use chrono::{DateTime, Utc};
use codex_router_core::auth_file::LoginInfo;
use codex_router_core::claude_config::ClaudeSetupState;
use codex_router_core::codex_config::provider::SetupState;
use codex_router_core::router::{ProxyState, Snapshot};
use codex_router_core::store::Profile;
use codex_router_core::usage::history::Sample;
use codex_router_core::view::phrases::{self, Tone};

/// How many notices stay on screen.
const MAX_NOTICES: usize = 4;

/// A message shown at the top of the window until dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// How it stands out.
    pub tone: Tone,
    /// What it says.
    pub text: String,
}

/// The app's state between frames; changed only by the command runner, the jobs' results
/// and the core's events.
#[derive(Default)]
pub(crate) struct State {
    /// The profiles and active login as last read (`None` when reading failed).
    pub(crate) snapshot: Option<Snapshot>,
    /// Each profile's usage history (name, samples oldest first), read with the profiles.
    pub(crate) usage_history: Vec<(String, Vec<Sample>)>,
    /// Why the profiles could not be read the last time.
    pub(crate) load_error: Option<String>,
    /// The local endpoint as last read.
    pub(crate) proxy: ProxyState,
    /// The address the endpoint will listen on when started, e.g. `http://127.0.0.1:9876/v1`.
    pub(crate) endpoint_address: String,
    /// How outgoing connections go (proxy, extra roots), in the core's words.
    pub(crate) network: String,
    /// Whether failover is on (`state.json`, re-read when it changes).
    pub(crate) failover: bool,
    /// Whether Codex's `config.toml` sends Codex's requests to the router, as last read
    /// (`Err`: it could not be read); `None` before the first read.
    pub(crate) codex_setup: Option<Result<SetupState, String>>,
    /// Whether Claude Code's `settings.json` sends its requests to the router, as last read
    /// (`Err`: it could not be read); `None` before the first read.
    pub(crate) claude_setup: Option<Result<ClaudeSetupState, String>>,
    /// The notices on screen, oldest first.
    pub(crate) notices: Vec<Notice>,
    /// What runs in the background, oldest first.
    pub(crate) jobs: Vec<Job>,
    /// Notifications (which are on, those to post) and start at login.
    pub(crate) desktop: super::desktop_settings::DesktopSettings,
    /// Bumped whenever anything the tray shows may have changed.
    pub(crate) generation: u64,
}

impl State {
    /// The profiles as last read (none when reading failed).
    pub(crate) fn profiles(&self) -> &[Profile] {
        self.snapshot.as_ref().map_or(&[], |s| &s.profiles)
    }

    /// Whether some token's "expires in …" phrase will age while the window is open.
    pub(crate) fn has_expiring_tokens(&self, now: DateTime<Utc>) -> bool {
        self.profiles().iter().any(|p| {
            p.login
                .as_ref()
                .is_ok_and(|i| i.expires_at.is_some_and(|e| e > now))
        })
    }

    /// The login in `auth.json` when no profile holds it.
    pub(crate) fn unsaved_login(&self) -> Option<&LoginInfo> {
        let status = &self.snapshot.as_ref()?.status;
        if status.profile.is_some() {
            return None;
        }
        status.login.as_ref()?.as_ref().ok()
    }

    /// A free profile name for the unsaved login, from its email.
    pub(crate) fn suggested_name(&self) -> String {
        let email = self.unsaved_login().and_then(|i| i.email.clone());
        phrases::suggest_name(
            email.as_deref(),
            self.profiles().iter().map(|p| p.name.as_str()),
        )
    }

    /// Why "Save current login as…" is greyed out (empty when it is not).
    pub(crate) fn save_disabled_reason(&self) -> String {
        match self.snapshot.as_ref().map(|s| &s.status) {
            Some(status) => match (&status.profile, &status.login) {
                (Some(p), _) => format!("The current login is already saved as '{p}'."),
                (None, None) => "Codex is not signed in.".into(),
                (None, Some(Err(e))) => format!("Codex's login can't be used: {e}"),
                (None, Some(Ok(_))) => String::new(),
            },
            None => "The profiles could not be read.".into(),
        }
    }

    /// Whether a job like `job` runs (see [`Job::conflicts_with`]).
    pub(crate) fn is_running(&self, job: &Job) -> bool {
        self.jobs.iter().any(|j| j.conflicts_with(job))
    }

    /// Whether Codex sends its requests to the router's endpoint as the settings say it
    /// listens (`None` when `config.toml` could not be read).
    pub(crate) fn codex_set_up(&self) -> Option<bool> {
        match self.codex_setup.as_ref()? {
            Ok(s) => Some(s.added && s.default && s.current),
            Err(_) => None,
        }
    }

    /// Shows `text` at the top of the window (once: an older copy moves to the end).
    pub(crate) fn notify(&mut self, tone: Tone, text: String) {
        self.notices.retain(|n| n.text != text);
        self.notices.push(Notice { tone, text });
        if self.notices.len() > MAX_NOTICES {
            self.notices.remove(0);
        }
    }
}

/// An open dialog with the fields the user types into. No `Debug`: the API key dialog
/// holds the key being typed.
pub(crate) enum Dialog {
    /// Asking for the new profile's name before a browser sign-in.
    AddAccount { name: String, error: Option<String> },
    /// A sign-in is under way (`prompt` is `None` until it has started).
    Login {
        name: String,
        method: SignInMethod,
        prompt: Option<LoginPrompt>,
    },
    /// Asking for a profile name and an API key.
    AddKey {
        name: String,
        key: String,
        error: Option<String>,
    },
    /// Asking for the name to save the unsaved login under.
    Save { name: String, error: Option<String> },
    /// Asking for a profile's new name.
    Rename {
        old: String,
        new: String,
        error: Option<String>,
    },
    /// Confirming a removal (`who` is whose login it holds, when readable).
    Remove { name: String, who: Option<String> },
    /// A switch to `target` would drop the unsaved login `who`.
    Discard { target: String, who: String },
}

/// What the dialog of a sign-in under way shows once it has started.
pub(crate) enum LoginPrompt {
    /// The sign-in address, opened in the browser.
    Browser { url: String },
    /// The page to open on any device, and the code to enter there.
    Code { url: String, code: String },
}

/// What drawing code may change: the fields being typed in.
#[derive(Default)]
pub(crate) struct Forms {
    /// The open dialog.
    pub(crate) dialog: Option<Dialog>,
    /// A dialog just opened: put the cursor in its first field (taken by the next frame).
    pub(crate) focus_dialog: bool,
    /// The name field of the first-run "save this login" offer (`None`: not typed in yet).
    pub(crate) first_run_name: Option<String>,
}

impl Forms {
    /// Opens `dialog` in place of any open one.
    pub(crate) fn open(&mut self, dialog: Dialog) {
        self.dialog = Some(dialog);
        self.focus_dialog = true;
    }

    /// Whether the open dialog is the sign-in of profile `name` by `method`.
    pub(crate) fn is_signing_in(&self, name: &str, method: SignInMethod) -> bool {
        matches!(
            &self.dialog,
            Some(Dialog::Login { name: n, method: m, .. }) if n == name && *m == method
        )
    }

    /// Closes the open dialog when `which` says it is the one.
    pub(crate) fn close_if(&mut self, which: impl FnOnce(&Dialog) -> bool) {
        if self.dialog.as_ref().is_some_and(which) {
            self.dialog = None;
        }
    }
}
