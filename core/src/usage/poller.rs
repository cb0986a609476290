//! Fetching usage from the backend's usage endpoint: once, for every stale profile, or
//! in the background for as long as an endpoint or app runs.

use super::{Usage, from_payload, usage_url};
use crate::auth_file::AuthMode;
use crate::events::{EventBus, RouterEvent};
use crate::home::ProfileName;
use crate::http;
use crate::net::Network;
use crate::secret::Secret;
use crate::settings::Settings;
use crate::store::Store;
use chrono::Utc;
use serde_json::Value;
use std::time::Duration;

/// How long a fetch of the usage endpoint may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(4);

/// Why usage could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// The request failed.
    #[error("usage request failed: {0}")]
    Network(&'static str),
    /// The backend answered an error status.
    #[error("usage request answered HTTP {0}")]
    Status(u16),
    /// The answer was not the usage payload.
    #[error("the usage answer is not in the expected shape")]
    Malformed,
}

/// Fetches the usage of the account an access token belongs to. `client` carries Codex's
/// headers ([`http::client_as`]).
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    access_token: &Secret,
    account_id: Option<&str>,
) -> Result<Usage, UsageError> {
    let mut request = client
        .get(url)
        .timeout(FETCH_TIMEOUT)
        .bearer_auth(access_token.expose());
    if let Some(account) = account_id {
        request = request.header("ChatGPT-Account-Id", account);
    }
    let response = request
        .send()
        .await
        .map_err(|e| UsageError::Network(http::error_kind(&e)))?;
    if !response.status().is_success() {
        return Err(UsageError::Status(response.status().as_u16()));
    }
    let body: Value = response.json().await.map_err(|_| UsageError::Malformed)?;
    from_payload(&body, Utc::now().timestamp()).ok_or(UsageError::Malformed)
}

/// Fetches, records and returns the usage of every usable ChatGPT profile whose stored
/// figures are older than `max_age` seconds, concurrently, from the backend `settings`
/// names (as the Codex version it says). Profiles whose access token has expired are
/// skipped (reading usage never refreshes a token). Returns the profiles whose figures were
/// updated, and the failures.
pub async fn refresh_stale(
    store: &Store,
    settings: &Settings,
    max_age: i64,
    network: &Network,
) -> (Vec<String>, Vec<(String, UsageError)>) {
    let now = Utc::now();
    let Ok(profiles) = store.list() else {
        return (Vec::new(), Vec::new());
    };
    let client = http::client_as(network, settings.codex.version(), FETCH_TIMEOUT);
    let url = usage_url(&settings.upstream.chatgpt_base_url);
    let mut jobs = Vec::new();
    for p in profiles {
        let Ok(info) = &p.login else { continue };
        let fresh_enough = p
            .usage
            .as_ref()
            .is_some_and(|u| now.timestamp() - u.updated_at < max_age);
        let expired = info.expires_at.is_none_or(|e| e <= now);
        if info.auth_mode != AuthMode::ChatGpt
            || p.needs_sign_in.is_some()
            || fresh_enough
            || expired
        {
            continue;
        }
        let Ok(name) = ProfileName::new(&p.name) else {
            continue;
        };
        let Ok(file) = store.load_profile(&name) else {
            continue;
        };
        let Some(tokens) = file.tokens else { continue };
        let (client, url, account) = (client.clone(), url.clone(), info.account_id.clone());
        jobs.push(async move {
            let result = fetch(&client, &url, &tokens.access_token, account.as_deref()).await;
            (name, result)
        });
    }
    let mut updated = Vec::new();
    let mut failed = Vec::new();
    for (name, result) in futures_util::future::join_all(jobs).await {
        match result {
            Ok(usage) => {
                if store.record_usage(&name, &usage).unwrap_or(false) {
                    updated.push(name.to_string());
                }
            }
            Err(e) => failed.push((name.to_string(), e)),
        }
    }
    (updated, failed)
}

/// Fetches every account's usage every `every` for as long as the task runs, announcing
/// changed figures on `bus`. After a round with failures the pause doubles (up to 12×), so
/// an unreachable backend is not hammered.
pub fn spawn_poller(
    store: Store,
    settings: Settings,
    every: Duration,
    bus: EventBus,
    network: Network,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut factor = 1u32;
        loop {
            let max_age = every.as_secs().saturating_sub(5) as i64;
            let (updated, failed) = refresh_stale(&store, &settings, max_age, &network).await;
            for profile in updated {
                bus.emit(RouterEvent::UsageUpdated { profile });
            }
            for (profile, e) in &failed {
                tracing::debug!(%profile, error = %e, "usage not updated");
            }
            factor = if failed.is_empty() {
                1
            } else {
                (factor * 2).min(12)
            };
            tokio::time::sleep(every * factor).await;
        }
    })
}
