//! What frontends show, defined once: a profile's row, the active login's status, usage
//! figures with their words ([`pace`]: a window's forecast; [`history`]: the samples).
//! Serialized, they are `list --json` and `status --json`; the
//! FFI's records are converted from them field by field. [`phrases`] holds the words for
//! one piece of data, [`messages`] the sentences for moments (after a switch, a sign-in, a
//! set-up of Codex). Times are RFC 3339 with seconds and `Z`; none of it holds a token.

pub mod history;
pub mod messages;
pub mod pace;
pub mod phrases;

use crate::auth_file::LoginInfo;
use crate::codex_config::CredentialStore;
use crate::net::Network;
use crate::store::{Health, Profile, Status};
use crate::usage::{Credits, Usage, UsageWindow};
use chrono::{DateTime, SecondsFormat, Utc};
use phrases::{Phrase, UsageBar};
use serde::Serialize;

/// One profile, as `list --json` prints it and every frontend lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileRow {
    /// The profile's name (its folder under `profiles/`).
    pub name: String,
    /// The account's email.
    pub email: Option<String>,
    /// The ChatGPT plan (`plus`, `pro`, `team`, …).
    pub plan: Option<String>,
    /// The workspace account id.
    pub account_id: Option<String>,
    /// `chatgpt` or `api_key`; `None` for a broken profile.
    pub auth_mode: Option<String>,
    /// When the access token expires; `None` for API keys.
    pub expires_at: Option<String>,
    /// When the tokens were last refreshed.
    pub last_refresh: Option<String>,
    /// Whether it is the login Codex uses now.
    pub active: bool,
    /// Whether it can be used (`ok`, `expired`, `needs_sign_in`, `invalid`).
    pub state: Health,
    /// Why it can't be used (`None` when `state` is `ok` or `expired`).
    pub error: Option<String>,
    /// The latest usage figures, when known.
    pub usage: Option<UsageView>,
    /// How it signs in, for people: "ChatGPT", "API key"; `None` for a broken profile.
    #[serde(skip)]
    pub mode_label: Option<String>,
    /// The token state in words ([`phrases::token_state`]).
    #[serde(skip)]
    pub token_state: Phrase,
}

impl ProfileRow {
    /// The row of a profile, its state judged at `now`.
    pub fn new(p: &Profile, now: DateTime<Utc>) -> Self {
        let info = p.login.as_ref().ok();
        Self {
            name: p.name.clone(),
            email: info.and_then(|i| i.email.clone()),
            plan: info.and_then(|i| i.plan.clone()),
            account_id: info.and_then(|i| i.account_id.clone()),
            auth_mode: info.map(|i| i.auth_mode.as_str().to_owned()),
            expires_at: info.and_then(|i| i.expires_at).map(rfc3339),
            last_refresh: info.and_then(|i| i.last_refresh).map(rfc3339),
            active: p.active,
            state: p.health(now),
            error: p.problem(),
            usage: p.usage.as_ref().map(|u| UsageView::new(u, now)),
            mode_label: info.map(|i| i.auth_mode.label().to_owned()),
            token_state: phrases::token_state(p, now),
        }
    }
}

/// The active login, as `status --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusView {
    /// The profile Codex's login belongs to, if any.
    pub profile: Option<String>,
    /// The account's email.
    pub email: Option<String>,
    /// The ChatGPT plan.
    pub plan: Option<String>,
    /// The workspace account id.
    pub account_id: Option<String>,
    /// `chatgpt` or `api_key`; `None` when there is no usable login.
    pub auth_mode: Option<String>,
    /// When the access token expires.
    pub expires_at: Option<String>,
    /// Why there is no usable login (not signed in, a broken login, needs sign-in).
    pub error: Option<String>,
    /// The active profile's latest usage figures, when known.
    pub usage: Option<UsageView>,
    /// The token state in words, when there is a readable login.
    #[serde(skip)]
    pub token_state: Option<Phrase>,
    /// How outgoing connections go (proxy, extra roots), when known
    /// ([`StatusView::with_network`]).
    pub network: Option<NetworkView>,
}

/// Which proxy and which extra roots every outgoing call uses (`network` in
/// `status --json`); never a proxy password.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkView {
    /// The proxy and where it was set; `None`: direct.
    pub proxy: Option<String>,
    /// The hosts reached directly despite the proxy.
    pub no_proxy: Option<String>,
    /// The extra root certificates; `None`: the bundled and system roots only.
    pub extra_roots: Option<String>,
    /// All of it in one line ([`phrases::network_line`]).
    #[serde(skip)]
    pub line: String,
}

impl NetworkView {
    /// The view of the resolved network settings.
    pub fn new(network: &Network) -> Self {
        let s = network.summary();
        Self {
            line: phrases::network_line(&s),
            proxy: s.proxy,
            no_proxy: s.no_proxy,
            extra_roots: s.extra_roots,
        }
    }
}

impl StatusView {
    /// The status of Codex's login, which Codex keeps as `credentials` says (for the words
    /// of "not signed in"), judged at `now`.
    pub fn new(s: &Status, credentials: CredentialStore, now: DateTime<Utc>) -> Self {
        let info: Option<&LoginInfo> = s.login.as_ref().and_then(|l| l.as_ref().ok());
        Self {
            profile: s.profile.clone(),
            email: info.and_then(|i| i.email.clone()),
            plan: info.and_then(|i| i.plan.clone()),
            account_id: info.and_then(|i| i.account_id.clone()),
            auth_mode: info.map(|i| i.auth_mode.as_str().to_owned()),
            expires_at: info.and_then(|i| i.expires_at).map(rfc3339),
            error: match (&s.login, &s.needs_sign_in) {
                (None, _) => Some(messages::not_signed_in(credentials)),
                (Some(Err(reason)), _) => Some(reason.clone()),
                (Some(Ok(_)), Some(mark)) => Some(format!("needs sign-in: {}", mark.message)),
                (Some(Ok(_)), None) => None,
            },
            usage: s.usage.as_ref().map(|u| UsageView::new(u, now)),
            token_state: info.map(|i| phrases::login_token_state(i, s.needs_sign_in.as_ref(), now)),
            network: None,
        }
    }

    /// The same with how outgoing connections go.
    pub fn with_network(mut self, network: &Network) -> Self {
        self.network = Some(NetworkView::new(network));
        self
    }
}

/// The latest usage figures of an account (`usage` in `list --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageView {
    /// The plan the backend reports.
    pub plan: Option<String>,
    /// The short window (5 hours on paid plans).
    pub primary: Option<WindowView>,
    /// The long window (a week).
    pub secondary: Option<WindowView>,
    /// Credits, when reported.
    pub credits: Option<Credits>,
    /// Until when the account is limited, if it is or was.
    pub limited_until: Option<String>,
    /// When these figures were read.
    pub updated_at: Option<String>,
    /// The figures in a few words ([`phrases::usage_summary`]).
    #[serde(skip)]
    pub summary: Option<Phrase>,
}

impl UsageView {
    /// The view of `u`, its words judged at `now`.
    pub fn new(u: &Usage, now: DateTime<Utc>) -> Self {
        Self {
            plan: u.plan.clone(),
            primary: u.primary.as_ref().map(|w| WindowView::new(w, now)),
            secondary: u.secondary.as_ref().map(|w| WindowView::new(w, now)),
            credits: u.credits.clone(),
            limited_until: u.limited_until.and_then(unix_rfc3339),
            updated_at: unix_rfc3339(u.updated_at),
            summary: phrases::usage_summary(u, now),
        }
    }
}

/// One rate-limit window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowView {
    /// How much of the window is used, 0–100.
    pub used_percent: f64,
    /// The window's length in minutes (300 = 5 hours, 10080 = a week), when known.
    pub window_minutes: Option<u64>,
    /// When the window resets, when known.
    pub resets_at: Option<String>,
    /// Its name: "5 h", "week", "window" ([`phrases::usage_window_name`]).
    #[serde(skip)]
    pub label: String,
    /// Its bar ([`phrases::usage_bar`]).
    #[serde(skip)]
    pub bar: UsageBar,
}

impl WindowView {
    fn new(w: &UsageWindow, now: DateTime<Utc>) -> Self {
        Self {
            used_percent: w.used_percent,
            window_minutes: w.window_minutes,
            resets_at: w.resets_at.and_then(unix_rfc3339),
            label: phrases::usage_window_name(w),
            bar: phrases::usage_bar(w, now),
        }
    }
}

/// A time as the records write it: RFC 3339 with seconds and `Z`.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn unix_rfc3339(t: i64) -> Option<String> {
    DateTime::from_timestamp(t, 0).map(rfc3339)
}
