//! The plain records the frontends render: the same fields and meaning as
//! `codex-router list --json` / `status --json`. None of them can hold a token or key.

use chrono::{DateTime, SecondsFormat, Utc};
use codex_router_core::auth_file::LoginInfo;
use codex_router_core::login::LoginOutcome;
use codex_router_core::refresh::RefreshError;
use codex_router_core::router::{ProxyState as CoreProxyState, RefreshReport as CoreReport};
use codex_router_core::settings::ProxySettings;
use codex_router_core::store::{Health, Profile as CoreProfile, Status as CoreStatus, Stored};
use codex_router_core::usage::{Usage as CoreUsage, UsageWindow as CoreWindow};

/// Whether a profile can be used right now (`state` of `list --json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ProfileState {
    /// Usable.
    Ok,
    /// The access token has expired; the next refresh (or request through the proxy)
    /// renews it.
    Expired,
    /// The refresh token was refused for good: sign in again.
    NeedsSignIn,
    /// The profile's file is broken (see `error`).
    Invalid,
}

/// One rate-limit window of an account (the 5-hour one or the weekly one).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UsageWindow {
    /// How much of the window is used, 0–100.
    pub used_percent: f64,
    /// The window's length in minutes (300 = 5 hours, 10080 = a week), when known.
    pub window_minutes: Option<u64>,
    /// When the window resets (RFC 3339), when known.
    pub resets_at: Option<String>,
}

/// An account's credits (bought usage beyond the plan's windows).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Credits {
    /// Whether it has credits.
    pub has_credits: bool,
    /// Whether they are unlimited.
    pub unlimited: bool,
    /// The balance as the backend writes it, when known.
    pub balance: Option<String>,
}

/// The latest usage figures of a ChatGPT account.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Usage {
    /// The plan the backend reports.
    pub plan: Option<String>,
    /// The short window (5 hours on paid plans).
    pub primary: Option<UsageWindow>,
    /// The long window (a week).
    pub secondary: Option<UsageWindow>,
    /// Credits, when reported.
    pub credits: Option<Credits>,
    /// Until when the account is rate limited (RFC 3339), if it is.
    pub limited_until: Option<String>,
    /// When these figures were read (RFC 3339).
    pub updated_at: Option<String>,
}

/// One profile, as `codex-router list --json` shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Profile {
    /// The profile's name (its folder under `profiles/`).
    pub name: String,
    /// The account's email.
    pub email: Option<String>,
    /// The ChatGPT plan (`plus`, `pro`, `team`, …).
    pub plan: Option<String>,
    /// The workspace account id.
    pub account_id: Option<String>,
    /// `"chatgpt"` or `"api_key"`; `None` for a broken profile.
    pub auth_mode: Option<String>,
    /// When the access token expires (RFC 3339); `None` for API keys.
    pub expires_at: Option<String>,
    /// When the tokens were last refreshed (RFC 3339).
    pub last_refresh: Option<String>,
    /// Whether it is the login Codex uses now.
    pub active: bool,
    /// Whether it can be used.
    pub state: ProfileState,
    /// Why it can't be used (`None` when `state` is `Ok` or `Expired`).
    pub error: Option<String>,
    /// The latest usage figures, when known.
    pub usage: Option<Usage>,
}

/// The active login, as `codex-router status --json` shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Status {
    /// The profile `auth.json` belongs to, if any.
    pub profile: Option<String>,
    /// The account's email.
    pub email: Option<String>,
    /// The ChatGPT plan.
    pub plan: Option<String>,
    /// The workspace account id.
    pub account_id: Option<String>,
    /// `"chatgpt"` or `"api_key"`; `None` when there is no usable login.
    pub auth_mode: Option<String>,
    /// When the access token expires (RFC 3339).
    pub expires_at: Option<String>,
    /// Why there is no usable login (not signed in, broken `auth.json`, needs sign-in).
    pub error: Option<String>,
    /// The active profile's latest usage figures, when known.
    pub usage: Option<Usage>,
}

/// The local OpenAI-compatible endpoint.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ProxyState {
    /// Whether it is serving.
    pub running: bool,
    /// Its base URL while running, e.g. `http://127.0.0.1:9876/v1`.
    pub address: Option<String>,
    /// Requests answered since it started.
    pub requests_served: u64,
    /// Why it last failed to start or stopped on its own.
    pub last_error: Option<String>,
    /// The host to listen on from the settings (`router/state.json`).
    pub host: String,
    /// The port to listen on from the settings.
    pub port: u16,
    /// Whether the settings ask for it to start with the app.
    pub start_with_app: bool,
}

/// What refreshing one profile did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefreshReport {
    /// The profile.
    pub profile: String,
    /// Whether the issuer was called (`false`: the tokens had just been refreshed elsewhere).
    pub refreshed: bool,
    /// When the new access token expires (RFC 3339), on success.
    pub expires_at: Option<String>,
    /// Why it failed, `None` on success.
    pub error: Option<String>,
    /// Whether it failed because the profile needs a new sign-in.
    pub needs_sign_in: bool,
}

/// Where a finished sign-in was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum LoginStored {
    /// A new profile.
    Created,
    /// The account already had this profile; its credentials were updated.
    UpdatedExisting,
    /// A different account saved under the asked name was replaced (`force`).
    Replaced,
}

/// A finished sign-in.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LoginResult {
    /// The profile that holds the login now (may differ from the asked name when the
    /// account already had a profile).
    pub profile: String,
    /// How it was stored.
    pub stored: LoginStored,
    /// The signed-in email.
    pub email: Option<String>,
    /// The plan.
    pub plan: Option<String>,
}

/// RFC 3339 with seconds and `Z`, as the CLI prints it.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn unix(t: i64) -> Option<String> {
    DateTime::from_timestamp(t, 0).map(rfc3339)
}

impl From<&CoreWindow> for UsageWindow {
    fn from(w: &CoreWindow) -> Self {
        Self {
            used_percent: w.used_percent,
            window_minutes: w.window_minutes,
            resets_at: w.resets_at.and_then(unix),
        }
    }
}

impl From<&CoreUsage> for Usage {
    fn from(u: &CoreUsage) -> Self {
        Self {
            plan: u.plan.clone(),
            primary: u.primary.as_ref().map(Into::into),
            secondary: u.secondary.as_ref().map(Into::into),
            credits: u.credits.as_ref().map(|c| Credits {
                has_credits: c.has_credits,
                unlimited: c.unlimited,
                balance: c.balance.clone(),
            }),
            limited_until: u.limited_until.and_then(unix),
            updated_at: unix(u.updated_at),
        }
    }
}

impl Profile {
    /// The record of a core profile, its state judged at `now`.
    pub fn from_core(p: &CoreProfile, now: DateTime<Utc>) -> Self {
        let info: Option<&LoginInfo> = p.login.as_ref().ok();
        let state = match p.health(now) {
            Health::Ok => ProfileState::Ok,
            Health::Expired => ProfileState::Expired,
            Health::NeedsSignIn => ProfileState::NeedsSignIn,
            Health::Invalid => ProfileState::Invalid,
        };
        Self {
            name: p.name.clone(),
            email: info.and_then(|i| i.email.clone()),
            plan: info.and_then(|i| i.plan.clone()),
            account_id: info.and_then(|i| i.account_id.clone()),
            auth_mode: info.map(|i| i.auth_mode.as_str().to_owned()),
            expires_at: info.and_then(|i| i.expires_at).map(rfc3339),
            last_refresh: info.and_then(|i| i.last_refresh).map(rfc3339),
            active: p.active,
            state,
            error: p.problem(),
            usage: p.usage.as_ref().map(Into::into),
        }
    }
}

impl From<&CoreStatus> for Status {
    fn from(s: &CoreStatus) -> Self {
        let info = s.login.as_ref().and_then(|l| l.as_ref().ok());
        Self {
            profile: s.profile.clone(),
            email: info.and_then(|i| i.email.clone()),
            plan: info.and_then(|i| i.plan.clone()),
            account_id: info.and_then(|i| i.account_id.clone()),
            auth_mode: info.map(|i| i.auth_mode.as_str().to_owned()),
            expires_at: info.and_then(|i| i.expires_at).map(rfc3339),
            error: match (&s.login, &s.needs_sign_in) {
                (None, _) => Some("not signed in: Codex has no login".into()),
                (Some(Err(reason)), _) => Some(reason.clone()),
                (Some(Ok(_)), Some(mark)) => Some(format!("needs sign-in: {}", mark.message)),
                (Some(Ok(_)), None) => None,
            },
            usage: s.usage.as_ref().map(Into::into),
        }
    }
}

impl ProxyState {
    /// The record of the endpoint's state and its configured address.
    pub fn from_core(s: CoreProxyState, settings: &ProxySettings) -> Self {
        Self {
            running: s.running,
            address: s.address,
            requests_served: s.requests_served,
            last_error: s.last_error,
            host: settings.host.clone(),
            port: settings.port,
            start_with_app: settings.start_with_app,
        }
    }
}

impl From<&CoreReport> for RefreshReport {
    fn from(r: &CoreReport) -> Self {
        match &r.result {
            Ok(fresh) => Self {
                profile: r.profile.clone(),
                refreshed: fresh.refreshed,
                expires_at: fresh.expires_at.map(rfc3339),
                error: None,
                needs_sign_in: false,
            },
            Err(e) => Self {
                profile: r.profile.clone(),
                refreshed: false,
                expires_at: None,
                error: Some(e.to_string()),
                needs_sign_in: matches!(e, RefreshError::NeedsSignIn { .. }),
            },
        }
    }
}

impl From<LoginOutcome> for LoginResult {
    fn from(o: LoginOutcome) -> Self {
        let (profile, stored) = match o.stored {
            Stored::Created(n) => (n, LoginStored::Created),
            Stored::UpdatedExisting(n) => (n, LoginStored::UpdatedExisting),
            Stored::Replaced(n) => (n, LoginStored::Replaced),
        };
        Self {
            profile,
            stored,
            email: o.email,
            plan: o.plan,
        }
    }
}
