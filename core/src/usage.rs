//! Usage limits (`shared/protocol.md` §6): the backend's usage endpoint, the `x-codex-*`
//! headers of every proxied answer, and the reset time of a 429 `usage_limit_reached`.

use crate::auth_file::AuthMode;
use crate::events::{EventBus, RouterEvent};
use crate::home::ProfileName;
use crate::http;
use crate::secret::Secret;
use crate::store::Store;
use chrono::Utc;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
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

/// One rate-limit window (the 5-hour or the weekly one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageWindow {
    /// How much of the window is used, 0–100.
    pub used_percent: f64,
    /// The window's length in minutes (300 = 5 h, 10080 = a week).
    pub window_minutes: Option<u64>,
    /// When the window resets (unix seconds).
    pub resets_at: Option<i64>,
}

/// Credits of the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credits {
    /// Whether it has credits.
    pub has_credits: bool,
    /// Whether they are unlimited.
    pub unlimited: bool,
    /// The balance as the backend writes it.
    pub balance: Option<String>,
}

/// What is known of an account's usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// The plan the backend reports.
    pub plan: Option<String>,
    /// The short window (5 h on paid plans).
    pub primary: Option<UsageWindow>,
    /// The long window (a week).
    pub secondary: Option<UsageWindow>,
    /// Credits, when reported.
    pub credits: Option<Credits>,
    /// Until when the account is limited (unix seconds), after a 429 or a `limit_reached`.
    pub limited_until: Option<i64>,
    /// When these figures were read (unix seconds).
    pub updated_at: i64,
}

impl Usage {
    /// Whether the account is limited at `now` (unix seconds).
    pub fn is_limited(&self, now: i64) -> bool {
        self.limited_until.is_some_and(|t| t > now)
    }

    /// Whether the figures (not the time they were read) differ.
    pub fn same_figures(&self, other: &Usage) -> bool {
        self.plan == other.plan
            && self.primary == other.primary
            && self.secondary == other.secondary
            && self.credits == other.credits
            && self.limited_until == other.limited_until
    }
}

/// The usage URL for a ChatGPT base URL: `…/backend-api/codex` → `…/backend-api/wham/usage`;
/// a base without `/backend-api` uses `/api/codex/usage`.
pub fn usage_url(chatgpt_base_url: &str) -> String {
    let base = chatgpt_base_url.trim_end_matches('/');
    let base = base.strip_suffix("/codex").unwrap_or(base);
    if base.contains("/backend-api") {
        format!("{base}/wham/usage")
    } else {
        format!("{base}/api/codex/usage")
    }
}

/// Fetches the usage of the account an access token belongs to.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    access_token: &Secret,
    account_id: Option<&str>,
) -> Result<Usage, UsageError> {
    let mut request = client
        .get(url)
        .timeout(FETCH_TIMEOUT)
        .bearer_auth(access_token.expose())
        .header("version", http::CODEX_VERSION);
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
/// figures are older than `max_age` seconds, concurrently. Profiles whose access token has
/// expired are skipped (reading usage never refreshes a token). Returns the profiles whose
/// figures were updated, and the failures.
pub async fn refresh_stale(
    store: &Store,
    chatgpt_base_url: &str,
    max_age: i64,
) -> (Vec<String>, Vec<(String, UsageError)>) {
    let now = Utc::now();
    let Ok(profiles) = store.list() else {
        return (Vec::new(), Vec::new());
    };
    let client = http::client(FETCH_TIMEOUT);
    let url = usage_url(chatgpt_base_url);
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
    chatgpt_base_url: String,
    every: Duration,
    bus: EventBus,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut factor = 1u32;
        loop {
            let max_age = every.as_secs().saturating_sub(5) as i64;
            let (updated, failed) = refresh_stale(&store, &chatgpt_base_url, max_age).await;
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

/// After a proxied answer: records the serving account's figures from its `x-codex-*`
/// headers off the request's task, announcing [`RouterEvent::UsageUpdated`] when they
/// changed. What every endpoint's request observer does.
pub fn record_answer(store: &Store, bus: &EventBus, record: &crate::proxy::server::RequestRecord) {
    let Some(profile) = record.profile.clone() else {
        return;
    };
    if record.codex_headers.is_empty() {
        return;
    }
    let (store, bus, headers) = (store.clone(), bus.clone(), record.codex_headers.clone());
    tokio::task::spawn_blocking(move || {
        if record_headers(&store, &profile, &headers) {
            bus.emit(RouterEvent::UsageUpdated { profile });
        }
    });
}

/// Records the figures of a proxied answer's `x-codex-*` headers for `profile`. Returns
/// whether the stored figures changed. Blocking file I/O: call it off async tasks.
pub fn record_headers(store: &Store, profile: &str, headers: &HeaderMap) -> bool {
    let (Ok(name), Some(usage)) = (
        ProfileName::new(profile),
        from_headers(headers, Utc::now().timestamp()),
    ) else {
        return false;
    };
    match store.record_usage(&name, &usage) {
        Ok(changed) => changed,
        Err(e) => {
            tracing::debug!(%profile, error = %e, "usage from headers not recorded");
            false
        }
    }
}

/// Reads the usage endpoint's payload.
pub fn from_payload(body: &Value, now: i64) -> Option<Usage> {
    let obj = body.as_object()?;
    let rate = obj.get("rate_limit").filter(|v| v.is_object());
    let window = |key: &str| {
        let w = rate?.get(key)?.as_object()?;
        let used = w.get("used_percent")?.as_f64()?;
        let seconds = w.get("limit_window_seconds").and_then(Value::as_u64);
        let resets_at = w.get("reset_at").and_then(Value::as_i64).or_else(|| {
            w.get("reset_after_seconds")
                .and_then(Value::as_i64)
                .map(|s| now + s)
        });
        Some(UsageWindow {
            used_percent: used,
            window_minutes: seconds.map(|s| s.div_ceil(60)),
            resets_at,
        })
    };
    let primary = window("primary_window");
    let secondary = window("secondary_window");
    let reached = rate
        .and_then(|r| r.get("limit_reached"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let limited_until = reached
        .then(|| {
            [&primary, &secondary]
                .into_iter()
                .flatten()
                .filter(|w| w.used_percent >= 100.0)
                .filter_map(|w| w.resets_at)
                .max()
                .or_else(|| primary.as_ref().and_then(|w| w.resets_at))
        })
        .flatten();
    let credits = obj
        .get("credits")
        .and_then(Value::as_object)
        .map(|c| Credits {
            has_credits: c
                .get("has_credits")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            unlimited: c.get("unlimited").and_then(Value::as_bool).unwrap_or(false),
            balance: c.get("balance").and_then(|b| match b {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }),
        });
    Some(Usage {
        plan: obj
            .get("plan_type")
            .and_then(Value::as_str)
            .map(str::to_owned),
        primary,
        secondary,
        credits,
        limited_until,
        updated_at: now,
    })
}

/// Reads the `x-codex-*` rate-limit headers of a backend answer; `None` when absent.
pub fn from_headers(headers: &HeaderMap, now: i64) -> Option<Usage> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let window = |which: &str| {
        let used = get(&format!("x-codex-{which}-used-percent"))?
            .parse::<f64>()
            .ok()?;
        let minutes = get(&format!("x-codex-{which}-window-minutes")).and_then(|v| v.parse().ok());
        let resets_at = get(&format!("x-codex-{which}-reset-at"))
            .and_then(|v| v.parse::<i64>().ok())
            .or_else(|| {
                get(&format!("x-codex-{which}-reset-after-seconds"))
                    .and_then(|v| v.parse::<i64>().ok())
                    .map(|s| now + s)
            });
        Some(UsageWindow {
            used_percent: used,
            window_minutes: minutes,
            resets_at,
        })
    };
    let primary = window("primary");
    let secondary = window("secondary");
    if primary.is_none() && secondary.is_none() {
        return None;
    }
    let flag =
        |name: &str| get(name).map(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1"));
    let credits = flag("x-codex-credits-has-credits").map(|has| Credits {
        has_credits: has,
        unlimited: flag("x-codex-credits-unlimited").unwrap_or(false),
        balance: get("x-codex-credits-balance").map(str::to_owned),
    });
    Some(Usage {
        plan: get("x-codex-plan-type").map(str::to_owned),
        primary,
        secondary,
        credits,
        limited_until: None,
        updated_at: now,
    })
}

/// When a 429 `usage_limit_reached` body says the limit resets (unix seconds).
pub fn limit_reset(body: &Value, now: i64) -> Option<i64> {
    let err = body.get("error")?;
    if err.get("type").and_then(Value::as_str) != Some("usage_limit_reached") {
        return None;
    }
    err.get("resets_at").and_then(Value::as_i64).or_else(|| {
        err.get("resets_in_seconds")
            .and_then(Value::as_i64)
            .map(|s| now + s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_url_follows_codex() {
        assert_eq!(
            usage_url("https://chatgpt.com/backend-api/codex"),
            "https://chatgpt.com/backend-api/wham/usage"
        );
        assert_eq!(
            usage_url("http://127.0.0.1:5/backend-api/codex/"),
            "http://127.0.0.1:5/backend-api/wham/usage"
        );
        assert_eq!(
            usage_url("http://127.0.0.1:5"),
            "http://127.0.0.1:5/api/codex/usage"
        );
    }

    #[test]
    fn payload_is_read() {
        let body = json!({
            "plan_type": "plus",
            "rate_limit": {"allowed": true, "limit_reached": false,
                "primary_window": {"used_percent": 42, "limit_window_seconds": 18000, "reset_after_seconds": 600, "reset_at": 1_800_000_000},
                "secondary_window": {"used_percent": 17, "limit_window_seconds": 604800, "reset_at": 1_800_500_000}},
            "credits": {"has_credits": true, "unlimited": false, "balance": "12.5"}
        });
        let u = from_payload(&body, 1_700_000_000).unwrap();
        assert_eq!(u.plan.as_deref(), Some("plus"));
        let p = u.primary.unwrap();
        assert_eq!(
            (p.used_percent, p.window_minutes, p.resets_at),
            (42.0, Some(300), Some(1_800_000_000))
        );
        assert_eq!(u.secondary.unwrap().window_minutes, Some(10080));
        assert_eq!(u.credits.unwrap().balance.as_deref(), Some("12.5"));
        assert_eq!(u.limited_until, None);
    }

    #[test]
    fn reached_limit_records_the_reset() {
        let body = json!({"rate_limit": {"limit_reached": true,
            "primary_window": {"used_percent": 100, "limit_window_seconds": 18000, "reset_at": 1_800_000_000}}});
        let u = from_payload(&body, 1_700_000_000).unwrap();
        assert_eq!(u.limited_until, Some(1_800_000_000));
        assert!(u.is_limited(1_700_000_000));
        assert!(from_payload(&json!("nope"), 0).is_none());
        assert!(
            from_payload(&json!({"rate_limit": null}), 0)
                .unwrap()
                .primary
                .is_none()
        );
    }

    #[test]
    fn headers_are_read() {
        let mut h = HeaderMap::new();
        h.insert("x-codex-primary-used-percent", "12.5".parse().unwrap());
        h.insert("x-codex-primary-window-minutes", "300".parse().unwrap());
        h.insert("x-codex-primary-reset-at", "1800000000".parse().unwrap());
        h.insert("x-codex-secondary-used-percent", "34".parse().unwrap());
        h.insert("x-codex-credits-has-credits", "True".parse().unwrap());
        h.insert("x-codex-plan-type", "pro".parse().unwrap());
        let u = from_headers(&h, 5).unwrap();
        assert_eq!(u.primary.as_ref().unwrap().used_percent, 12.5);
        assert_eq!(u.secondary.as_ref().unwrap().used_percent, 34.0);
        assert!(u.credits.unwrap().has_credits);
        assert_eq!(u.plan.as_deref(), Some("pro"));
        assert!(from_headers(&HeaderMap::new(), 5).is_none());
    }

    #[test]
    fn limit_reset_from_a_429_body() {
        let body = json!({"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"plus","resets_at":1777936568,"eligible_promo":null,"resets_in_seconds":13872}});
        assert_eq!(limit_reset(&body, 0), Some(1777936568));
        let only_in = json!({"error":{"type":"usage_limit_reached","resets_in_seconds":60}});
        assert_eq!(limit_reset(&only_in, 100), Some(160));
        assert_eq!(limit_reset(&json!({"error":{"type":"other"}}), 0), None);
    }
}
