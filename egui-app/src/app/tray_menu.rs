//! The tray menu as data: built from the app's state by [`App::tray_menu`], turned into a
//! native menu by the desktop shell, its clicks mapped back to [`Command`]s.

use super::App;
use super::commands::Command;
use chrono::{DateTime, Utc};
use codex_router_core::auth_file::AuthMode;
use codex_router_core::store::Profile;
use codex_router_core::view::phrases;

/// The tray menu, as data: built from the app's state, turned into a native menu by the
/// desktop shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayMenu {
    /// One entry per profile, in the window's order.
    pub profiles: Vec<TrayProfile>,
    /// Whether the local endpoint runs.
    pub proxy_running: bool,
    /// Whether failover is on.
    pub failover: bool,
    /// Whether Codex sends its requests to the router (`None`: its `config.toml` could not
    /// be read).
    pub codex_set_up: Option<bool>,
    /// Whether the app starts at login (`None`: that can't be known or changed here).
    pub starts_at_login: Option<bool>,
}

/// A profile in the tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayProfile {
    /// The profile's name (what a click switches to).
    pub name: String,
    /// The menu text, e.g. "work — alice@example.com · 5 h 42% · week 17%".
    pub label: String,
    /// Whether it is active (checked).
    pub active: bool,
    /// Whether it can be switched to.
    pub usable: bool,
}

/// What a tray menu entry does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayAction {
    /// A command for the app.
    Run(Command),
    /// Show and focus the window.
    OpenWindow,
    /// Quit the app.
    Quit,
}

impl TrayMenu {
    /// Menu id of a profile entry.
    pub fn profile_id(name: &str) -> String {
        format!("profile:{name}")
    }
    /// Menu id of "Refresh Profiles".
    pub const REFRESH: &'static str = "refresh";
    /// Menu id of "Open Window".
    pub const OPEN: &'static str = "open";
    /// Menu id of the proxy on/off entry.
    pub const PROXY: &'static str = "proxy";
    /// Menu id of the failover on/off entry.
    pub const FAILOVER: &'static str = "failover";
    /// Menu id of "Quit".
    pub const QUIT: &'static str = "quit";
    /// Menu id of the Codex set-up entry while Codex is not set up (a click sets it up).
    pub const SET_UP_CODEX: &'static str = "setup-codex";
    /// Menu id of the Codex set-up entry while Codex is set up (a click undoes it).
    pub const UNDO_CODEX_SETUP: &'static str = "undo-setup-codex";

    /// Menu id of "Start at Login" while it is off (a click turns it on).
    pub const START_AT_LOGIN: &'static str = "autostart-on";
    /// Menu id of "Start at Login" while it is on (a click turns it off).
    pub const STOP_START_AT_LOGIN: &'static str = "autostart-off";

    /// Menu id of "Start at Login": what a click on it does now.
    pub fn autostart_id(&self) -> &'static str {
        if self.starts_at_login == Some(true) {
            Self::STOP_START_AT_LOGIN
        } else {
            Self::START_AT_LOGIN
        }
    }

    /// Menu id of the Codex set-up entry: what a click on it does now.
    pub fn codex_setup_id(&self) -> &'static str {
        if self.codex_set_up == Some(true) {
            Self::UNDO_CODEX_SETUP
        } else {
            Self::SET_UP_CODEX
        }
    }

    /// What the menu entry `id` does (`None` for an unknown id).
    pub fn action(id: &str) -> Option<TrayAction> {
        if let Some(name) = id.strip_prefix("profile:") {
            return Some(TrayAction::Run(Command::Switch(name.to_owned())));
        }
        match id {
            Self::REFRESH => Some(TrayAction::Run(Command::RefreshProfiles)),
            Self::OPEN => Some(TrayAction::OpenWindow),
            Self::PROXY => Some(TrayAction::Run(Command::ToggleProxy)),
            Self::FAILOVER => Some(TrayAction::Run(Command::ToggleFailover)),
            Self::SET_UP_CODEX => Some(TrayAction::Run(Command::SetUpCodex)),
            Self::UNDO_CODEX_SETUP => Some(TrayAction::Run(Command::UndoCodexSetup)),
            Self::START_AT_LOGIN => Some(TrayAction::Run(Command::SetAutostart(true))),
            Self::STOP_START_AT_LOGIN => Some(TrayAction::Run(Command::SetAutostart(false))),
            Self::QUIT => Some(TrayAction::Quit),
            _ => None,
        }
    }
}

impl App {
    /// The tray menu for the current state.
    pub fn tray_menu(&self) -> TrayMenu {
        let now = Utc::now();
        let profiles = self
            .state
            .profiles()
            .iter()
            .map(|p| TrayProfile {
                name: p.name.clone(),
                label: tray_label(p, now),
                active: p.active,
                usable: p.login.is_ok(),
            })
            .collect();
        TrayMenu {
            profiles,
            proxy_running: self.state.proxy.running,
            failover: self.state.failover,
            codex_set_up: self.state.codex_set_up(),
            starts_at_login: self.state.desktop.start_at_login_known(),
        }
    }
}

/// A profile's tray menu text: name, who, and the usage figures when known.
fn tray_label(p: &Profile, now: DateTime<Utc>) -> String {
    let mut label = match &p.login {
        Ok(_) if p.needs_sign_in.is_some() => format!("{} (needs sign-in)", p.name),
        Ok(info) if info.auth_mode == AuthMode::ApiKey => format!("{} \u{2014} API key", p.name),
        Ok(info) => match &info.email {
            Some(email) => format!("{} \u{2014} {email}", p.name),
            None => p.name.clone(),
        },
        Err(_) => format!("{} (can't be used)", p.name),
    };
    if let Some(usage) = p
        .usage
        .as_ref()
        .and_then(|u| phrases::usage_summary(u, now))
    {
        label.push_str(" \u{00b7} ");
        label.push_str(&usage.text);
    }
    label
}
