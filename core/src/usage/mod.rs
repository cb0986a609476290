//! Usage limits (`shared/protocol.md` §6): what is known of an account's usage and the pure
//! readers of it: the backend's usage payload, the `x-codex-*` headers of every proxied
//! answer, and the reset time of a 429 `usage_limit_reached`. A leaf: it imports nothing of
//! the crate. [`poller`] fetches the figures; [`recording`] stores them; [`history`] keeps
//! them over time and [`pace`] reads a rate and a forecast from that.

pub mod history;
pub mod pace;
pub mod poller;
pub mod recording;

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// The `credits` object of a usage payload or a `codex.rate_limits` event (a balance as a
/// string or a number); `None` when it is not an object.
fn credits_of(c: &Value) -> Option<Credits> {
    let c = c.as_object()?;
    Some(Credits {
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
    })
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
    let credits = obj.get("credits").and_then(credits_of);
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

/// Reads a `codex.rate_limits` event of the backend's WebSocket (the figures of the
/// `x-codex-*` headers as JSON: `rate_limits.{primary,secondary}.{used_percent,
/// window_minutes,reset_at}`, `plan_type`, `credits`); `None` for any other event or one
/// without windows.
pub fn from_rate_limits_event(event: &Value, now: i64) -> Option<Usage> {
    if event.get("type").and_then(Value::as_str) != Some("codex.rate_limits") {
        return None;
    }
    let window = |key: &str| {
        let w = event.get("rate_limits")?.get(key)?;
        Some(UsageWindow {
            used_percent: w.get("used_percent")?.as_f64()?,
            window_minutes: w.get("window_minutes").and_then(Value::as_u64),
            resets_at: w.get("reset_at").and_then(Value::as_i64).or_else(|| {
                w.get("reset_after_seconds")
                    .and_then(Value::as_i64)
                    .map(|s| now + s)
            }),
        })
    };
    let (primary, secondary) = (window("primary"), window("secondary"));
    if primary.is_none() && secondary.is_none() {
        return None;
    }
    let credits = event.get("credits").and_then(credits_of);
    Some(Usage {
        plan: event
            .get("plan_type")
            .and_then(Value::as_str)
            .map(str::to_owned),
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
    fn rate_limits_events_are_read() {
        let event = json!({"type": "codex.rate_limits", "plan_type": "pro",
            "rate_limits": {"primary": {"used_percent": 12.5, "window_minutes": 300, "reset_at": 1_800_000_000},
                            "secondary": {"used_percent": 40.0, "window_minutes": 10080, "reset_at": null}},
            "credits": {"has_credits": true, "unlimited": false, "balance": "3"}});
        let u = from_rate_limits_event(&event, 5).unwrap();
        assert_eq!(u.plan.as_deref(), Some("pro"));
        let p = u.primary.unwrap();
        assert_eq!(
            (p.used_percent, p.window_minutes, p.resets_at),
            (12.5, Some(300), Some(1_800_000_000))
        );
        assert_eq!(u.secondary.unwrap().resets_at, None);
        assert_eq!(u.credits.unwrap().balance.as_deref(), Some("3"));
        assert!(from_rate_limits_event(&json!({"type": "response.created"}), 5).is_none());
        assert!(from_rate_limits_event(&json!({"type": "codex.rate_limits"}), 5).is_none());
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
