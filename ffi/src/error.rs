//! The one error type that crosses the boundary, and the guard that turns a panic into it.

use codex_router_core::claude_config::ClaudeSetupError;
use codex_router_core::codex_config::provider::SetupError;
use codex_router_core::home::HomeError;
use codex_router_core::login::LoginError;
use codex_router_core::refresh::RefreshError;
use codex_router_core::router::RouterError as CoreError;
use codex_router_core::settings::SettingsError;
use codex_router_core::store::StoreError;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Why a call failed. Every variant carries a message for people (in Python `str(err)`, in
/// Swift the `message` of the case); none ever holds a token or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum RouterError {
    /// The name is not a valid profile name (1–64 of letters, digits, `.`, `_`, `-`, `@`,
    /// not starting with `.`).
    #[error("{0}")]
    BadName(String),
    /// No profile has that name.
    #[error("{0}")]
    NotFound(String),
    /// The name is taken, or the login is already saved under another name.
    #[error("{0}")]
    Exists(String),
    /// The profile exists but its file is broken or holds no usable login.
    #[error("{0}")]
    Unusable(String),
    /// `auth.json` holds no login to save.
    #[error("{0}")]
    NoLogin(String),
    /// Switching would drop a login that no profile holds (save it first, or force).
    #[error("{0}")]
    UnsavedLogin(String),
    /// The issuer refused the profile's refresh token for good: sign in again.
    #[error("{0}")]
    NeedsSignIn(String),
    /// The issuer could not be reached or failed, after retries.
    #[error("{0}")]
    Network(String),
    /// A browser sign-in failed (denied, timed out, ports busy, code exchange refused).
    #[error("{0}")]
    Login(String),
    /// The sign-in was cancelled.
    #[error("{0}")]
    Cancelled(String),
    /// The local endpoint could not start.
    #[error("{0}")]
    Proxy(String),
    /// `router/state.json` is broken.
    #[error("{0}")]
    Settings(String),
    /// Codex's `config.toml` is not valid TOML, or holds something a set-up can't change
    /// (nothing was changed).
    #[error("{0}")]
    CodexConfig(String),
    /// Claude Code's `settings.json` is not a JSON object (or its `env` is not one); nothing
    /// was changed.
    #[error("{0}")]
    ClaudeConfig(String),
    /// Other bad input (an empty API key, a host that is not an IP address).
    #[error("{0}")]
    Invalid(String),
    /// A file or folder could not be read or written, or another process held the lock.
    #[error("{0}")]
    Io(String),
    /// Anything else, including a bug caught before it could cross the boundary.
    #[error("{0}")]
    Other(String),
}

impl From<StoreError> for RouterError {
    fn from(e: StoreError) -> Self {
        from_store(&e)
    }
}

fn from_store(e: &StoreError) -> RouterError {
    let message = e.to_string();
    match e {
        StoreError::Name(_) => RouterError::BadName(message),
        StoreError::NotFound(_) => RouterError::NotFound(message),
        StoreError::Exists(_) | StoreError::AlreadySaved(_) => RouterError::Exists(message),
        StoreError::Unusable { .. } => RouterError::Unusable(message),
        StoreError::NoLogin(_) => RouterError::NoLogin(message),
        StoreError::UnsavedLogin(_) => RouterError::UnsavedLogin(message),
        StoreError::File(_) | StoreError::Keyring(_) => RouterError::Io(message),
    }
}

impl From<RefreshError> for RouterError {
    fn from(e: RefreshError) -> Self {
        match &e {
            RefreshError::Store(inner) => from_store(inner),
            RefreshError::NotChatGpt(_) => RouterError::Invalid(e.to_string()),
            RefreshError::NeedsSignIn { .. } => RouterError::NeedsSignIn(e.to_string()),
            RefreshError::Unavailable { .. } => RouterError::Network(e.to_string()),
        }
    }
}

impl From<LoginError> for RouterError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Store(inner) => from_store(&inner),
            LoginError::Cancelled => RouterError::Cancelled(e.to_string()),
            LoginError::Io(_) => RouterError::Io(e.to_string()),
            LoginError::AlreadyWaiting { .. }
            | LoginError::PortsBusy(_)
            | LoginError::Denied(_)
            | LoginError::Exchange(_)
            | LoginError::TimedOut(_)
            | LoginError::DeviceNotEnabled => RouterError::Login(e.to_string()),
        }
    }
}

impl From<CoreError> for RouterError {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        match e {
            CoreError::Home(HomeError::NoHome | HomeError::NotADir(_)) => RouterError::Io(message),
            CoreError::Settings(SettingsError::Invalid { .. }) => RouterError::Settings(message),
            CoreError::Settings(SettingsError::File(_)) => RouterError::Io(message),
            // A bad proxy URL or CA file: a setting to fix.
            CoreError::Network(_) => RouterError::Settings(message),
            CoreError::Store(s) => s.into(),
            CoreError::Refresh(r) => r.into(),
            CoreError::Login(l) => l.into(),
            CoreError::Invalid(_) => RouterError::Invalid(message),
            CoreError::Proxy(_) => RouterError::Proxy(message),
            CoreError::Setup(SetupError::Parse { .. } | SetupError::NotATable { .. }) => {
                RouterError::CodexConfig(message)
            }
            CoreError::Setup(SetupError::Name(_)) => RouterError::BadName(message),
            CoreError::Setup(SetupError::File(_)) => RouterError::Io(message),
            CoreError::Setup(SetupError::Settings(SettingsError::Invalid { .. })) => {
                RouterError::Settings(message)
            }
            CoreError::Setup(SetupError::Settings(SettingsError::File(_))) => {
                RouterError::Io(message)
            }
            CoreError::Claude(ClaudeSetupError::Invalid { .. }) => {
                RouterError::ClaudeConfig(message)
            }
            CoreError::Claude(ClaudeSetupError::Name(_)) => RouterError::BadName(message),
            CoreError::Claude(ClaudeSetupError::Settings(SettingsError::Invalid { .. })) => {
                RouterError::Settings(message)
            }
            CoreError::Claude(
                ClaudeSetupError::NoFolder
                | ClaudeSetupError::File(_)
                | ClaudeSetupError::Settings(SettingsError::File(_)),
            ) => RouterError::Io(message),
            CoreError::Runtime(_) => RouterError::Other(message),
        }
    }
}

/// Runs `f`, turning a panic into [`RouterError::Other`] so that nothing unwinds into
/// Swift or Python.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, RouterError>) -> Result<T, RouterError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| Err(internal(&*panic)))
}

/// The error for a caught panic.
pub(crate) fn internal(panic: &(dyn std::any::Any + Send)) -> RouterError {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into());
    RouterError::Other(format!("internal error in codex-router (a bug): {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error() {
        let r: Result<(), _> = guard(|| panic!("boom"));
        assert_eq!(
            r,
            Err(RouterError::Other(
                "internal error in codex-router (a bug): boom".into()
            ))
        );
    }

    #[test]
    fn store_errors_keep_their_kind_and_message() {
        let e: RouterError = StoreError::NotFound("work".into()).into();
        assert_eq!(e, RouterError::NotFound("no profile named 'work'".into()));
        let e: RouterError =
            RefreshError::Store(std::sync::Arc::new(StoreError::NotFound("x".into()))).into();
        assert!(matches!(e, RouterError::NotFound(_)));
    }
}
