//! The plain records the frontends render, converted once from the core's view
//! ([`codex_router_core::view`]): the same fields and meaning as `codex-router list --json` /
//! `status --json`, plus the core's words for them. None of them can hold a token or key.

use codex_router_core::codex_config::provider::{
    Removal as CoreRemoval, SetupOutcome as CoreSetupOutcome, SetupState as CoreSetupState,
};
use codex_router_core::login::LoginOutcome;
use codex_router_core::refresh::RefreshError;
use codex_router_core::router::{ProxyState as CoreProxyState, RefreshReport as CoreReport};
use codex_router_core::settings::ProxySettings;
use codex_router_core::store::{Health, Stored};
use codex_router_core::usage::Credits as CoreCredits;
use codex_router_core::view::messages::{
    login_summary, removal_summary, setup_state_words, setup_summary,
};
use codex_router_core::view::phrases::{
    Phrase as CorePhrase, Tone as CoreTone, UsageBar as CoreBar,
};
use codex_router_core::view::{ProfileRow, StatusView, UsageView, WindowView, rfc3339};

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

/// How a piece of text should stand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Tone {
    /// Ordinary text.
    Normal,
    /// Secondary text.
    Muted,
    /// Something to look at soon (an expired token, a limit).
    Warn,
    /// Something that needs the user (a dead login, a broken file).
    Error,
}

/// Words to show and how they should stand out.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Phrase {
    /// The words.
    pub text: String,
    /// How they stand out.
    pub tone: Tone,
}

/// A usage window as a bar.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UsageBar {
    /// What the bar says: "5 h: 42% · resets 14:20".
    pub text: String,
    /// How full it is, 0–1.
    pub fraction: f32,
    /// Warn when nearly used up.
    pub tone: Tone,
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
    /// Its name: "5 h", "week", "day", "window" when its length is not known.
    pub label: String,
    /// Its bar.
    pub bar: UsageBar,
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
    /// The figures in a few words: "5 h 42% · week 17%", "LIMITED until Tue 14:20"; `None`
    /// when no window is known.
    pub summary: Option<Phrase>,
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
    /// How it signs in, for people: "ChatGPT", "API key"; `None` for a broken profile.
    pub mode_label: Option<String>,
    /// The token state in words: "expires in 3 days", "API key (does not expire)",
    /// "NEEDS SIGN-IN: …", "INVALID: …".
    pub token_state: Phrase,
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
    /// The token state in words, when there is a readable login.
    pub token_state: Option<Phrase>,
    /// How outgoing connections go, in one line: the proxy (never its password) and the
    /// extra root certificates, e.g. "direct; trusts the bundled and system roots".
    pub network: Option<String>,
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
    /// What happened, in a sentence: "Signed in as alice@example.com (plus); saved as
    /// profile 'work'."
    pub summary: String,
}

/// Whether Codex sends its requests through the router (its `config.toml`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CodexSetup {
    /// Codex's `config.toml`.
    pub path: String,
    /// The provider id asked about (`codex-router`).
    pub provider_id: String,
    /// Whether `config.toml` has the provider.
    pub added: bool,
    /// Whether it is Codex's default provider.
    pub is_default: bool,
    /// The URL the provider sends to, when it is there.
    pub base_url: Option<String>,
    /// Whether Codex sends `$CODEX_ROUTER_KEY` as the key.
    pub env_key: bool,
    /// Whether `base_url` is where the router's settings say the endpoint listens.
    pub current: bool,
    /// Whether Codex's own ChatGPT calls (`chatgpt_base_url`) go through the router too.
    pub chatgpt: bool,
    /// All of it in a sentence: "Codex sends its requests to Codex Router (…)."
    pub summary: String,
}

/// What setting Codex up, or removing the set-up, did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CodexSetupChange {
    /// Codex's `config.toml`.
    pub path: String,
    /// The provider id written or removed.
    pub provider_id: String,
    /// Whether the file changed (`false`: nothing to do).
    pub changed: bool,
    /// What happened and what to do next, a sentence a line.
    pub summary: Vec<String>,
}

impl From<CoreTone> for Tone {
    fn from(t: CoreTone) -> Self {
        match t {
            CoreTone::Normal => Self::Normal,
            CoreTone::Muted => Self::Muted,
            CoreTone::Warn => Self::Warn,
            CoreTone::Error => Self::Error,
        }
    }
}

impl From<CorePhrase> for Phrase {
    fn from(p: CorePhrase) -> Self {
        Self {
            text: p.text,
            tone: p.tone.into(),
        }
    }
}

impl From<CoreBar> for UsageBar {
    fn from(b: CoreBar) -> Self {
        Self {
            text: b.text,
            fraction: b.fraction,
            tone: b.tone.into(),
        }
    }
}

impl From<Health> for ProfileState {
    fn from(h: Health) -> Self {
        match h {
            Health::Ok => Self::Ok,
            Health::Expired => Self::Expired,
            Health::NeedsSignIn => Self::NeedsSignIn,
            Health::Invalid => Self::Invalid,
        }
    }
}

impl From<WindowView> for UsageWindow {
    fn from(w: WindowView) -> Self {
        Self {
            used_percent: w.used_percent,
            window_minutes: w.window_minutes,
            resets_at: w.resets_at,
            label: w.label,
            bar: w.bar.into(),
        }
    }
}

impl From<CoreCredits> for Credits {
    fn from(c: CoreCredits) -> Self {
        Self {
            has_credits: c.has_credits,
            unlimited: c.unlimited,
            balance: c.balance,
        }
    }
}

impl From<UsageView> for Usage {
    fn from(u: UsageView) -> Self {
        Self {
            plan: u.plan,
            primary: u.primary.map(Into::into),
            secondary: u.secondary.map(Into::into),
            credits: u.credits.map(Into::into),
            limited_until: u.limited_until,
            updated_at: u.updated_at,
            summary: u.summary.map(Into::into),
        }
    }
}

impl From<ProfileRow> for Profile {
    fn from(r: ProfileRow) -> Self {
        Self {
            name: r.name,
            email: r.email,
            plan: r.plan,
            account_id: r.account_id,
            auth_mode: r.auth_mode,
            expires_at: r.expires_at,
            last_refresh: r.last_refresh,
            active: r.active,
            state: r.state.into(),
            error: r.error,
            usage: r.usage.map(Into::into),
            mode_label: r.mode_label,
            token_state: r.token_state.into(),
        }
    }
}

impl From<StatusView> for Status {
    fn from(s: StatusView) -> Self {
        Self {
            profile: s.profile,
            email: s.email,
            plan: s.plan,
            account_id: s.account_id,
            auth_mode: s.auth_mode,
            expires_at: s.expires_at,
            error: s.error,
            usage: s.usage.map(Into::into),
            token_state: s.token_state.map(Into::into),
            network: s.network.map(|n| n.line),
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
        let summary = login_summary(&o);
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
            summary,
        }
    }
}

impl From<CoreSetupState> for CodexSetup {
    fn from(s: CoreSetupState) -> Self {
        Self {
            summary: setup_state_words(&s),
            path: s.path.display().to_string(),
            provider_id: s.provider_id,
            added: s.added,
            is_default: s.default,
            base_url: s.base_url,
            env_key: s.env_key,
            current: s.current,
            chatgpt: s.chatgpt,
        }
    }
}

impl From<CoreSetupOutcome> for CodexSetupChange {
    fn from(o: CoreSetupOutcome) -> Self {
        Self {
            summary: setup_summary(&o),
            path: o.path.display().to_string(),
            provider_id: o.provider_id,
            changed: o.changed,
        }
    }
}

impl From<CoreRemoval> for CodexSetupChange {
    fn from(r: CoreRemoval) -> Self {
        Self {
            summary: vec![removal_summary(&r)],
            path: r.path.display().to_string(),
            provider_id: r.provider_id,
            changed: r.changed,
        }
    }
}
