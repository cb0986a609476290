//! Token refresh that never burns a login (`shared/protocol.md` §2): single flight inside
//! the process, an advisory file lock across processes, adopt-newer before calling the
//! issuer, the rotated refresh token persisted first, and permanent failures recorded as
//! "needs sign-in" instead of retried.

use crate::auth_file::{AuthFile, AuthMode};
use crate::events::{EventBus, RouterEvent};
use crate::files::FileLock;
use crate::home::ProfileName;
use crate::http::{self, CLIENT_ID};
use crate::net::Network;
use crate::profile_state::{SignInNeeded, fingerprint};
use crate::secret::Secret;
use crate::settings::RefreshSettings;
use crate::store::{Store, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;

/// How long one process waits for another's refresh of the same profile.
const CROSS_PROCESS_WAIT: Duration = Duration::from_secs(90);
/// How long a failed proactive refresh waits before it is tried again.
const PROACTIVE_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why a refresh failed. Cloneable: every caller sharing one flight gets the same result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RefreshError {
    /// Reading or writing the profile failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// The profile is not a ChatGPT login.
    #[error("profile '{0}' is not a ChatGPT login; there is nothing to refresh")]
    NotChatGpt(String),
    /// The issuer refused the refresh token for good.
    #[error("profile '{name}' needs a new sign-in: {message}")]
    NeedsSignIn {
        /// The profile.
        name: String,
        /// The issuer's code (`refresh_token_reused`, …).
        code: String,
        /// What happened, for people.
        message: String,
    },
    /// The issuer could not be reached or failed, after retries.
    #[error("could not refresh '{name}': {detail}")]
    Unavailable {
        /// The profile.
        name: String,
        /// What went wrong (status or network error; never a token).
        detail: String,
    },
}

impl From<StoreError> for RefreshError {
    fn from(e: StoreError) -> Self {
        Self::Store(Arc::new(e))
    }
}

/// Fresh credentials of a profile.
#[derive(Debug, Clone)]
pub struct Fresh {
    /// The bearer to use.
    pub access_token: Secret,
    /// The `ChatGPT-Account-Id` to send.
    pub account_id: Option<String>,
    /// When the access token expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether this flight called the issuer (false: someone else had already refreshed).
    pub refreshed: bool,
    /// Whether `auth.json` was updated too (the profile is the active login).
    pub updated_active: bool,
}

/// Retries for network errors and 5xx answers.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Pause before the second attempt; doubled for each one after.
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(500),
        }
    }
}

type Flight = Shared<BoxFuture<'static, Result<Fresh, RefreshError>>>;

/// Refreshes profiles' tokens. Clone it freely: clones share the single flights.
#[derive(Clone)]
pub struct Refresher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    token_url: String,
    http: reqwest::Client,
    retry: RetryPolicy,
    flights: Mutex<HashMap<String, Flight>>,
    changed: Notify,
    events: OnceLock<EventBus>,
}

#[derive(Deserialize)]
struct RefreshResponse {
    id_token: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
}

impl Refresher {
    /// A refresher for `store` that talks to `{issuer}/oauth/token` through `network`.
    pub fn new(store: Store, issuer: &str, network: &Network, retry: RetryPolicy) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                token_url: format!("{}/oauth/token", issuer.trim_end_matches('/')),
                http: http::client(network, Duration::from_secs(30)),
                retry,
                flights: Mutex::new(HashMap::new()),
                changed: Notify::new(),
                events: OnceLock::new(),
            }),
        }
    }

    /// Credentials of `name` valid for at least `margin`, refreshing only when needed: a
    /// token that outlives `margin` is used as it is, an expired one is refreshed, and one
    /// in between only once it is past half its life (see `refresh_due`), so a margin
    /// longer than the tokens live does not refresh on every call.
    pub async fn ensure_fresh(&self, name: &str, margin: Duration) -> Result<Fresh, RefreshError> {
        let name = ProfileName::new(name).map_err(StoreError::from)?;
        let file = self.load(&name).await?;
        let fresh = fresh_from(&name, &file, false, false)?;
        let due = fresh
            .expires_at
            .is_some_and(|exp| refresh_due(exp, file.last_refresh_time(), margin) <= Utc::now());
        if !due {
            return Ok(fresh);
        }
        self.refresh_if_current(name.as_str(), &fresh.access_token)
            .await
    }

    /// Refreshes `name` now, unless another party refreshes it meanwhile.
    pub async fn refresh_now(&self, name: &str) -> Result<Fresh, RefreshError> {
        let profile = ProfileName::new(name).map_err(StoreError::from)?;
        let file = self.load(&profile).await?;
        let seen = fresh_from(&profile, &file, false, false)?.access_token;
        self.refresh_if_current(name, &seen).await
    }

    /// Refreshes `name` if `seen` is still its access token (say, the one that just got a
    /// 401); if someone else already rotated it, returns the new one without calling the
    /// issuer. Concurrent callers in this process share one flight and one result.
    pub async fn refresh_if_current(
        &self,
        name: &str,
        seen: &Secret,
    ) -> Result<Fresh, RefreshError> {
        let flight = {
            let mut flights = self.inner.flights.lock().expect("flights lock");
            flights
                .entry(name.to_owned())
                .or_insert_with(|| {
                    let this = self.clone();
                    let (name, seen) = (name.to_owned(), seen.clone());
                    async move { this.fly(name, seen).await }.boxed().shared()
                })
                .clone()
        };
        let result = flight.clone().await;
        let mut flights = self.inner.flights.lock().expect("flights lock");
        if flights.get(name).is_some_and(|f| f.ptr_eq(&flight)) {
            flights.remove(name);
        }
        result
    }

    /// Sends `TokensRefreshed` and `NeedsSignIn` events to `bus` from now on (set once).
    pub fn set_events(&self, bus: EventBus) {
        let _ = self.inner.events.set(bus);
    }

    fn emit(&self, event: RouterEvent) {
        if let Some(bus) = self.inner.events.get() {
            bus.emit(event);
        }
    }

    /// Wakes the proactive loop after profiles changed on disk.
    pub fn notify_changed(&self) {
        self.inner.changed.notify_one();
    }

    /// Refreshes every ChatGPT profile shortly before its access token expires, for as
    /// long as the returned task runs. It sleeps until the next token is due (or
    /// [`Refresher::notify_changed`] is called); it never polls. A token is refreshed no
    /// earlier than half-way through its life, so short-lived tokens cannot cause a loop.
    pub fn spawn_proactive(&self, settings: RefreshSettings) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move { this.proactive_loop(settings).await })
    }

    async fn proactive_loop(self, settings: RefreshSettings) {
        let margin = Duration::from_secs(settings.margin_seconds);
        let mut not_before: HashMap<String, DateTime<Utc>> = HashMap::new();
        loop {
            let store = self.inner.store.clone();
            let profiles = tokio::task::spawn_blocking(move || store.list())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            let now = Utc::now();
            let mut next: Option<DateTime<Utc>> = None;
            for p in profiles {
                let Ok(info) = &p.login else { continue };
                if info.auth_mode != AuthMode::ChatGpt || p.needs_sign_in.is_some() {
                    continue;
                }
                let Some(exp) = info.expires_at else { continue };
                let mut due = refresh_due(exp, info.last_refresh, margin);
                if let Some(nb) = not_before.get(&p.name) {
                    due = due.max(*nb);
                }
                if due <= now {
                    // Judged on the listing: re-judged on the file as it is now, since a
                    // request may have refreshed the token meanwhile.
                    match self.ensure_fresh(&p.name, margin).await {
                        Ok(_) => {
                            not_before.remove(&p.name);
                        }
                        Err(e) => {
                            tracing::warn!(profile = %p.name, error = %e, "proactive refresh failed");
                            let retry = now
                                + chrono::TimeDelta::from_std(PROACTIVE_RETRY_AFTER)
                                    .unwrap_or_default();
                            not_before.insert(p.name.clone(), retry);
                        }
                    }
                    // Its new expiry (or retry time) is picked up on the next pass.
                    next = Some(now);
                } else {
                    next = Some(next.map_or(due, |n| n.min(due)));
                }
            }
            match next {
                Some(at) if at <= Utc::now() => continue,
                Some(at) => {
                    let wait = (at - Utc::now()).to_std().unwrap_or_default();
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = self.inner.changed.notified() => {}
                    }
                }
                None => self.inner.changed.notified().await,
            }
        }
    }

    async fn load(&self, name: &ProfileName) -> Result<AuthFile, RefreshError> {
        let store = self.inner.store.clone();
        let name = name.clone();
        blocking(move || store.adopt_newer(&name)).await
    }

    /// One refresh, under the cross-process lock.
    async fn fly(self, name: String, seen: Secret) -> Result<Fresh, RefreshError> {
        let profile = ProfileName::new(&name).map_err(StoreError::from)?;
        let lock_path = self
            .inner
            .store
            .home()
            .router_dir()
            .join(format!("refresh-{name}.lock"));
        let _lock = blocking(move || {
            FileLock::exclusive_for(&lock_path, CROSS_PROCESS_WAIT).map_err(StoreError::from)
        })
        .await?;
        // Re-read both copies now that we hold the lock: Codex or another router process
        // may have refreshed while we waited.
        let mut file = self.load(&profile).await?;
        let current = fresh_from(&profile, &file, false, false)?;
        if current.access_token != seen {
            return Ok(current);
        }
        let tokens = file
            .tokens
            .clone()
            .ok_or_else(|| RefreshError::NotChatGpt(name.clone()))?;
        let state = crate::profile_state::ProfileState::load(
            &self.inner.store.home().profile_dir(&profile),
        );
        if let Some(mark) = state.needs_sign_in_for(&tokens.refresh_token) {
            return Err(RefreshError::NeedsSignIn {
                name,
                code: mark.code.clone(),
                message: mark.message.clone(),
            });
        }
        let response = match self.call_issuer(&name, &tokens.refresh_token).await {
            Ok(r) => r,
            Err(Failure::Permanent { code, message }) => {
                let mark = SignInNeeded {
                    code: code.clone(),
                    message: message.clone(),
                    at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
                    token_fingerprint: fingerprint(&tokens.refresh_token),
                };
                let store = self.inner.store.clone();
                let p = profile.clone();
                blocking(move || store.set_needs_sign_in(&p, Some(mark))).await?;
                tracing::warn!(profile = %name, %code, "refresh token refused; the profile needs a new sign-in");
                self.emit(RouterEvent::NeedsSignIn {
                    profile: name.clone(),
                    message: message.clone(),
                });
                return Err(RefreshError::NeedsSignIn {
                    name,
                    code,
                    message,
                });
            }
            Err(Failure::Transient(detail)) => {
                return Err(RefreshError::Unavailable { name, detail });
            }
        };
        let tokens = file.tokens.as_mut().expect("checked above");
        if let Some(t) = response.refresh_token {
            tokens.refresh_token = Secret::new(t);
        }
        if let Some(t) = response.access_token {
            tokens.access_token = Secret::new(t);
        }
        if let Some(t) = response.id_token {
            tokens.id_token = Secret::new(t);
        }
        file.last_refresh = Some(Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true));
        let store = self.inner.store.clone();
        let (p, f) = (profile.clone(), file.clone());
        let updated_active = blocking(move || store.persist_refreshed(&p, &f)).await?;
        tracing::info!(profile = %name, updated_active, "tokens refreshed");
        self.notify_changed();
        self.emit(RouterEvent::TokensRefreshed {
            profile: name.clone(),
        });
        fresh_from(&profile, &file, true, updated_active)
    }

    /// POSTs the refresh request, retrying network errors and 5xx with backoff.
    async fn call_issuer(
        &self,
        name: &str,
        refresh_token: &Secret,
    ) -> Result<RefreshResponse, Failure> {
        let body = serde_json::json!({
            "client_id": CLIENT_ID,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token.expose(),
        });
        let policy = self.inner.retry;
        let mut delay = policy.first_delay;
        let mut last = String::new();
        for attempt in 1..=policy.attempts.max(1) {
            if attempt > 1 {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            let sent = self
                .inner
                .http
                .post(&self.inner.token_url)
                .json(&body)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = format!("network error: {}", http::error_kind(&e));
                    tracing::debug!(profile = %name, attempt, "refresh request failed: {last}");
                    continue;
                }
            };
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            if status.is_success() {
                return serde_json::from_str(&text).map_err(|_| {
                    Failure::Transient("the issuer's answer was not valid JSON".into())
                });
            }
            let code = error_code(&text);
            if let Some(failure) = classify(status.as_u16(), code.as_deref()) {
                return Err(failure);
            }
            last = format!("the issuer answered HTTP {}", status.as_u16());
            if !(status.is_server_error() || status.as_u16() == 429) {
                break;
            }
        }
        Err(Failure::Transient(last))
    }
}

/// When a token expiring at `exp` and issued at `issued` (when known) is due for a refresh
/// ahead of time: `margin` before `exp`, but never before half its life, so short-lived
/// tokens cannot cause a refresh loop that hammers the issuer. Never later than `exp`.
fn refresh_due(
    exp: DateTime<Utc>,
    issued: Option<DateTime<Utc>>,
    margin: Duration,
) -> DateTime<Utc> {
    let margin = chrono::TimeDelta::from_std(margin).unwrap_or(chrono::TimeDelta::MAX);
    let ahead = exp
        .checked_sub_signed(margin)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    match issued.filter(|i| *i < exp) {
        Some(issued) => ahead.max(issued + (exp - issued) / 2),
        None => ahead,
    }
}

enum Failure {
    Permanent { code: String, message: String },
    Transient(String),
}

/// The error code of an issuer answer: `error.code`, a string `error`, or `code`.
fn error_code(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let code = match v.get("error") {
        Some(Value::Object(e)) => e.get("code").and_then(Value::as_str),
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    }
    .or_else(|| v.get("code").and_then(Value::as_str))?;
    Some(code.to_ascii_lowercase())
}

/// Which answers mean the refresh token is dead (sign in again) rather than a hiccup.
fn classify(status: u16, code: Option<&str>) -> Option<Failure> {
    let message = match code {
        Some("refresh_token_expired") => "the refresh token has expired",
        Some("refresh_token_reused") => "the refresh token was already used",
        Some("refresh_token_invalidated" | "token_revoked" | "refresh_token_revoked") => {
            "the refresh token was revoked"
        }
        Some("invalid_grant") => "the refresh token is no longer valid",
        _ if status == 401 => "the issuer refused the refresh token",
        _ => return None,
    };
    Some(Failure::Permanent {
        code: code.unwrap_or("unauthorized").to_owned(),
        message: message.to_owned(),
    })
}

fn fresh_from(
    name: &ProfileName,
    file: &AuthFile,
    refreshed: bool,
    updated_active: bool,
) -> Result<Fresh, RefreshError> {
    let tokens = match (file.mode(), &file.tokens) {
        (AuthMode::ChatGpt, Some(t)) => t,
        _ => return Err(RefreshError::NotChatGpt(name.to_string())),
    };
    let info = file.inspect().ok();
    Ok(Fresh {
        access_token: tokens.access_token.clone(),
        account_id: info.as_ref().and_then(|i| i.account_id.clone()),
        expires_at: info.and_then(|i| i.expires_at),
        refreshed,
        updated_active,
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, RefreshError> {
    tokio::task::spawn_blocking(f)
        .await
        .expect("blocking task panicked")
        .map_err(RefreshError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_found_where_the_issuer_puts_them() {
        assert_eq!(
            error_code(r#"{"error":{"code":"refresh_token_reused"}}"#).as_deref(),
            Some("refresh_token_reused")
        );
        assert_eq!(
            error_code(r#"{"error":"invalid_grant","error_description":"x"}"#).as_deref(),
            Some("invalid_grant")
        );
        assert_eq!(
            error_code(r#"{"code":"REFRESH_TOKEN_EXPIRED"}"#).as_deref(),
            Some("refresh_token_expired")
        );
        assert_eq!(error_code("<html>"), None);
    }

    #[test]
    fn refreshes_are_due_at_the_margin_but_never_before_half_the_life() {
        let at = |s: i64| DateTime::from_timestamp(1_900_000_000 + s, 0).unwrap();
        let secs = Duration::from_secs;
        // A long-lived token: the margin decides.
        assert_eq!(refresh_due(at(3600), Some(at(0)), secs(300)), at(3300));
        // A token living less than the margin: half its life.
        assert_eq!(refresh_due(at(4), Some(at(0)), secs(30)), at(2));
        // Issue time unknown or nonsensical: the margin alone.
        assert_eq!(refresh_due(at(4), None, secs(30)), at(-26));
        assert_eq!(refresh_due(at(4), Some(at(9)), secs(3)), at(1));
        // A margin beyond chrono's range does not panic.
        assert_eq!(refresh_due(at(4), Some(at(0)), Duration::MAX), at(2));
    }

    #[test]
    fn permanent_and_transient_failures() {
        assert!(matches!(
            classify(400, Some("refresh_token_reused")),
            Some(Failure::Permanent { .. })
        ));
        assert!(matches!(
            classify(401, None),
            Some(Failure::Permanent { .. })
        ));
        assert!(classify(500, None).is_none());
        assert!(classify(400, Some("something_else")).is_none());
    }
}
