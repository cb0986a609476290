//! What the window, the tray menu or a test asks the app to do, and the one place that does
//! it: [`App::run`]. Drawing code returns [`Command`]s; the frame loop runs them after the
//! frame is drawn. Local file operations (switch, save, rename, remove, add a key) take
//! milliseconds and run here, on the UI thread; anything that waits on the network or a
//! browser becomes a [`Job`].

use super::App;
use super::jobs::{Job, SignInMethod};
use super::state::Dialog;
use codex_router_core::codex_config::provider::SetupOptions;
use codex_router_core::notify::NotificationKind;
use codex_router_core::router::RouterError;
use codex_router_core::secret::Secret;
use codex_router_core::settings::Settings;
use codex_router_core::store::StoreError;
use codex_router_core::view::messages::{
    RESTART_HINT, api_key_summary, claude_setup_summary, removal_summary, setup_summary,
};
use codex_router_core::view::phrases::{self, Tone};

/// Something the window, the tray menu or a test asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Make this profile active (asks first when that would drop an unsaved login).
    Switch(String),
    /// Make this profile active even though the unsaved login in `auth.json` is lost.
    SwitchAnyway(String),
    /// Re-read `profiles/` and `auth.json`.
    RefreshProfiles,
    /// Refresh tokens now: one profile, or every ChatGPT profile.
    RefreshTokens(Option<String>),
    /// Start the local endpoint when it is off, stop it when it runs.
    ToggleProxy,
    /// Turn failover on when it is off, off when it is on (for every running endpoint).
    ToggleFailover,
    /// Open a dialog.
    Open(Prompt),
    /// Close the open dialog without doing anything.
    CloseDialog,
    /// Take the notice with this text off the screen.
    Dismiss(String),
    /// Save the login Codex uses now (not yet a profile) as this profile.
    SaveLogin(String),
    /// Rename a profile.
    Rename {
        /// Its name now.
        from: String,
        /// Its new name.
        to: String,
    },
    /// Delete a profile (`auth.json` is not touched).
    Remove(String),
    /// Save an API key as a new profile.
    AddApiKey {
        /// The profile's name.
        name: String,
        /// The key (redacted in `Debug`).
        key: Secret,
    },
    /// Check that the name is free, then sign in with ChatGPT (in the browser, or with a
    /// code entered on any device) and save the login as a new profile with this name.
    AddAccount {
        /// The new profile's name.
        name: String,
        /// How to sign in.
        method: SignInMethod,
    },
    /// Sign in again for a profile whose login died; the new login replaces it.
    SignInAgain(String),
    /// Stop the sign-in under way and close its dialog.
    CancelSignIn,
    /// Add the router to Codex's `config.toml` as its default model provider, so Codex
    /// sends its requests to the local endpoint (what `codex-router setup-codex` does).
    SetUpCodex,
    /// Set Codex up (again) with its own ChatGPT calls through the router too, or not
    /// (`codex-router setup-codex --chatgpt`): the set-up's check box.
    SetCodexChatgpt(bool),
    /// Take that out of `config.toml` again (`codex-router setup-codex --remove`).
    UndoCodexSetup,
    /// Point Claude Code's `settings.json` at the local endpoint (what `codex-router
    /// setup-claude` does).
    SetUpClaude,
    /// Take that out of `settings.json` again (`codex-router setup-claude --remove`).
    UndoClaudeSetup,
    /// Turn one kind of notification on or off (`notifications` in `state.json`).
    SetNotification {
        /// The kind.
        kind: NotificationKind,
        /// On or off.
        on: bool,
    },
    /// Start the app at login, in the tray (or stop doing so).
    SetAutostart(bool),
}

/// A dialog a [`Command::Open`] opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// The new account's profile name, before a browser sign-in.
    AddAccount,
    /// A profile name and an API key.
    AddApiKey,
    /// The name to save the unsaved login under.
    SaveLogin,
    /// A profile's new name.
    Rename(String),
    /// Whether to really remove a profile.
    Remove(String),
}

impl App {
    /// Runs a command (from a button, the tray menu or a test).
    pub fn run(&mut self, command: Command) {
        match command {
            Command::Switch(name) => self.switch(&name, false),
            Command::SwitchAnyway(name) => {
                self.forms.close_if(|d| matches!(d, Dialog::Discard { .. }));
                self.switch(&name, true);
            }
            Command::RefreshProfiles => {
                self.reload();
                if let Some(e) = self.state.load_error.clone() {
                    self.state.notify(Tone::Error, e);
                }
            }
            Command::RefreshTokens(name) => self.start_job(Job::RefreshTokens(name)),
            Command::ToggleProxy if self.state.proxy.running => self.start_job(Job::StopEndpoint),
            Command::ToggleProxy => self.start_job(Job::StartEndpoint),
            Command::ToggleFailover => self.toggle_failover(),
            Command::Open(prompt) => self.open(prompt),
            Command::CloseDialog => self.forms.dialog = None,
            Command::Dismiss(text) => self.state.notices.retain(|n| n.text != text),
            Command::SaveLogin(name) => self.save_login(&name),
            Command::Rename { from, to } => self.rename(&from, &to),
            Command::Remove(name) => self.remove(&name),
            Command::AddApiKey { name, key } => self.add_api_key(&name, &key),
            Command::AddAccount { name, method } => {
                match self.router.store().ensure_available(&name, false) {
                    Ok(_) => self.start_job(Job::SignIn {
                        name,
                        force: false,
                        method,
                    }),
                    Err(e) => match &mut self.forms.dialog {
                        Some(Dialog::AddAccount { error, .. }) => *error = Some(e.to_string()),
                        _ => self.state.notify(Tone::Error, e.to_string()),
                    },
                }
            }
            // A new sign-in of the same account updates the profile; `force` lets a dead
            // login be replaced even when another account signs in under its name.
            Command::SignInAgain(name) => self.start_job(Job::SignIn {
                name,
                force: true,
                method: SignInMethod::Browser,
            }),
            Command::CancelSignIn => {
                if let Some((_, login)) = &self.login {
                    login.cancel();
                }
                self.forms.close_if(|d| matches!(d, Dialog::Login { .. }));
            }
            Command::SetUpCodex => self.set_up_codex(None),
            Command::SetCodexChatgpt(on) => self.set_up_codex(Some(on)),
            Command::UndoCodexSetup => self.undo_codex_setup(),
            Command::SetUpClaude => self.set_up_claude(false),
            Command::UndoClaudeSetup => self.set_up_claude(true),
            Command::SetNotification { kind, on } => self.set_notification(kind, on),
            Command::SetAutostart(on) => self.set_autostart(on),
        }
    }

    fn open(&mut self, prompt: Prompt) {
        let dialog = match prompt {
            Prompt::AddAccount => Dialog::AddAccount {
                name: String::new(),
                error: None,
            },
            Prompt::AddApiKey => Dialog::AddKey {
                name: String::new(),
                key: String::new(),
                error: None,
            },
            Prompt::SaveLogin => Dialog::Save {
                name: self.state.suggested_name(),
                error: None,
            },
            Prompt::Rename(name) => Dialog::Rename {
                new: name.clone(),
                old: name,
                error: None,
            },
            Prompt::Remove(name) => {
                let who = self
                    .state
                    .profiles()
                    .iter()
                    .find(|p| p.name == name)
                    .and_then(|p| p.login.as_ref().ok())
                    .map(phrases::who);
                Dialog::Remove { name, who }
            }
        };
        self.forms.open(dialog);
    }

    fn switch(&mut self, name: &str, force: bool) {
        match self.router.switch_profile(name, force) {
            Ok(outcome) => {
                let state = &mut self.state;
                state.notices.retain(|n| n.tone != Tone::Error);
                for synced in &outcome.synced_back {
                    state.notify(
                        Tone::Muted,
                        format!("Kept the newer tokens of '{synced}' before switching."),
                    );
                }
                for warning in outcome.warnings {
                    state.notify(Tone::Warn, warning);
                }
                state.notify(
                    Tone::Normal,
                    format!("Switched to '{}'. {RESTART_HINT}", outcome.name),
                );
            }
            Err(RouterError::Store(StoreError::UnsavedLogin(who))) => {
                self.forms.open(Dialog::Discard {
                    target: name.to_owned(),
                    who,
                });
            }
            Err(e) => {
                let text = format!("Could not switch to '{name}': {e}");
                self.state.notify(Tone::Error, text);
            }
        }
        self.reload();
    }

    fn toggle_failover(&mut self) {
        let on = !self.state.failover;
        match self.router.set_failover_enabled(on) {
            Ok(()) => {
                self.state.failover = on;
                self.state.generation += 1;
            }
            Err(e) => {
                let was = if on { "off" } else { "on" };
                self.state
                    .notify(Tone::Error, format!("failover stays {was}: {e}"));
            }
        }
    }

    /// From the Save dialog (an error stays in it) or the first-run page (an error
    /// becomes a notice).
    fn save_login(&mut self, name: &str) {
        match self.router.save_profile(name) {
            Ok(()) => {
                self.forms.close_if(|d| matches!(d, Dialog::Save { .. }));
                self.forms.first_run_name = None;
                let text = format!("Saved the current login as '{name}'.");
                self.state.notify(Tone::Normal, text);
            }
            Err(e) => match &mut self.forms.dialog {
                Some(Dialog::Save { error, .. }) => *error = Some(e.to_string()),
                _ => self
                    .state
                    .notify(Tone::Error, format!("Could not save: {e}")),
            },
        }
        self.reload();
    }

    fn rename(&mut self, from: &str, to: &str) {
        match self.router.rename_profile(from, to) {
            Ok(()) => {
                self.forms.close_if(|d| matches!(d, Dialog::Rename { .. }));
                let text = format!("Renamed '{from}' to '{to}'.");
                self.state.notify(Tone::Muted, text);
            }
            Err(e) => match &mut self.forms.dialog {
                Some(Dialog::Rename { error, .. }) => *error = Some(e.to_string()),
                _ => {
                    let text = format!("Could not rename '{from}': {e}");
                    self.state.notify(Tone::Error, text);
                }
            },
        }
        self.reload();
    }

    fn remove(&mut self, name: &str) {
        self.forms.close_if(|d| matches!(d, Dialog::Remove { .. }));
        match self.router.remove_profile(name) {
            Ok(()) => self.state.notify(Tone::Muted, format!("Removed '{name}'.")),
            Err(e) => {
                let text = format!("Could not remove '{name}': {e}");
                self.state.notify(Tone::Error, text);
            }
        }
        self.reload();
    }

    fn add_api_key(&mut self, name: &str, key: &Secret) {
        match self.router.add_api_key(name, key.expose(), false) {
            Ok(stored) => {
                self.forms.close_if(|d| matches!(d, Dialog::AddKey { .. }));
                self.state
                    .notify(Tone::Normal, api_key_summary(&stored, name));
            }
            Err(e) => match &mut self.forms.dialog {
                Some(Dialog::AddKey { error, .. }) => *error = Some(e.to_string()),
                _ => {
                    let text = format!("Could not save the API key: {e}");
                    self.state.notify(Tone::Error, text);
                }
            },
        }
        self.reload();
    }

    /// Sets Codex up to use the router's endpoint (as its default provider, with the local
    /// key from `$CODEX_ROUTER_KEY` when the endpoint requires one), with Codex's own
    /// ChatGPT calls through it as `chatgpt` says (`None`: as they are now); says what
    /// changed.
    fn set_up_codex(&mut self, chatgpt: Option<bool>) {
        let current = matches!(&self.state.codex_setup, Some(Ok(s)) if s.chatgpt);
        let result = Settings::load(self.router.home())
            .map_err(RouterError::from)
            .and_then(|settings| {
                self.router.setup_codex(&SetupOptions {
                    env_key: settings.proxy.require_key,
                    chatgpt: chatgpt.unwrap_or(current),
                    ..SetupOptions::default()
                })
            });
        match result {
            Ok(outcome) => {
                let text = setup_summary(&outcome).join("\n");
                self.state.notify(Tone::Normal, text);
            }
            Err(e) => {
                let text = format!("Could not set up Codex: {e}");
                self.state.notify(Tone::Error, text);
            }
        }
        self.reload_codex_setup();
    }

    /// Takes the set-up out of Codex's `config.toml`; says what changed.
    fn undo_codex_setup(&mut self) {
        match self.router.remove_codex_setup(None) {
            Ok(removal) => self.state.notify(Tone::Normal, removal_summary(&removal)),
            Err(e) => {
                let text = format!("Could not undo the set-up of Codex: {e}");
                self.state.notify(Tone::Error, text);
            }
        }
        self.reload_codex_setup();
    }

    /// Points Claude Code at the router's endpoint, or (`undo`) takes that out of its
    /// `settings.json`; says what changed.
    fn set_up_claude(&mut self, undo: bool) {
        let result = if undo {
            self.router.remove_claude_setup()
        } else {
            self.router.setup_claude(None)
        };
        match result {
            Ok(done) => {
                let text = claude_setup_summary(&done).join("\n");
                self.state.notify(Tone::Normal, text);
            }
            Err(e) => {
                let what = if undo { "undo the set-up of" } else { "set up" };
                self.state
                    .notify(Tone::Error, format!("Could not {what} Claude Code: {e}"));
            }
        }
        self.reload_claude_setup();
    }
}
