//! What the commands print: JSON records (the contract of DESIGN.md) and readable text.

use chrono::{DateTime, SecondsFormat, Utc};
use codex_router_core::auth_file::{AuthMode, LoginInfo};
use codex_router_core::store::{Profile, Status};
use codex_router_core::timefmt::{day_time, expiry_phrase, usage_windows};
use codex_router_core::usage::{Usage, UsageWindow};
use serde::Serialize;

/// One profile in `list --json`.
#[derive(Debug, Serialize)]
pub struct ProfileJson {
    name: String,
    email: Option<String>,
    plan: Option<String>,
    account_id: Option<String>,
    auth_mode: Option<String>,
    expires_at: Option<String>,
    last_refresh: Option<String>,
    active: bool,
    state: &'static str,
    error: Option<String>,
    usage: Option<serde_json::Value>,
}

impl From<&Profile> for ProfileJson {
    fn from(p: &Profile) -> Self {
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
            state: p.health(Utc::now()).as_str(),
            error: p.problem(),
            usage: p.usage.as_ref().map(usage_json),
        }
    }
}

/// The `usage` object of the JSON output.
fn usage_json(u: &Usage) -> serde_json::Value {
    let window = |w: &Option<UsageWindow>| {
        w.as_ref().map(|w| {
            serde_json::json!({
                "used_percent": w.used_percent,
                "window_minutes": w.window_minutes,
                "resets_at": w.resets_at.and_then(|t| DateTime::from_timestamp(t, 0)).map(rfc3339),
            })
        })
    };
    serde_json::json!({
        "plan": u.plan,
        "primary": window(&u.primary),
        "secondary": window(&u.secondary),
        "credits": u.credits.as_ref().map(|c| serde_json::json!({
            "has_credits": c.has_credits,
            "unlimited": c.unlimited,
            "balance": c.balance,
        })),
        "limited_until": u.limited_until.and_then(|t| DateTime::from_timestamp(t, 0)).map(rfc3339),
        "updated_at": DateTime::from_timestamp(u.updated_at, 0).map(rfc3339),
    })
}

/// Usage in a few words: "5 h 42% · week 17%", or "LIMITED until Tue 14:20".
pub fn usage_phrase(u: &Usage, now: DateTime<Utc>) -> String {
    match u.limited_until.filter(|t| *t > now.timestamp()) {
        Some(until) => format!("LIMITED until {}", day_time(until)),
        None => usage_windows(u).unwrap_or_else(|| "-".into()),
    }
}

/// `status --json`.
#[derive(Debug, Serialize)]
pub struct StatusJson {
    profile: Option<String>,
    email: Option<String>,
    plan: Option<String>,
    account_id: Option<String>,
    auth_mode: Option<String>,
    expires_at: Option<String>,
    error: Option<String>,
    usage: Option<serde_json::Value>,
}

impl From<&Status> for StatusJson {
    fn from(s: &Status) -> Self {
        let info = s.login.as_ref().and_then(|l| l.as_ref().ok());
        Self {
            profile: s.profile.clone(),
            email: info.and_then(|i| i.email.clone()),
            plan: info.and_then(|i| i.plan.clone()),
            account_id: info.and_then(|i| i.account_id.clone()),
            auth_mode: info.map(|i| i.auth_mode.as_str().to_owned()),
            expires_at: info.and_then(|i| i.expires_at).map(rfc3339),
            error: match (&s.login, &s.needs_sign_in) {
                (None, _) => Some("not signed in: auth.json does not exist".into()),
                (Some(Err(reason)), _) => Some(reason.clone()),
                (Some(Ok(_)), Some(mark)) => Some(format!("needs sign-in: {}", mark.message)),
                (Some(Ok(_)), None) => None,
            },
            usage: s.usage.as_ref().map(usage_json),
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The token state in words: "expires in 3 days", "expired 2 hours ago", "API key".
pub fn token_state(info: &LoginInfo, now: DateTime<Utc>) -> String {
    match (&info.auth_mode, info.expires_at) {
        (AuthMode::ApiKey, _) => "API key (does not expire)".into(),
        (_, Some(exp)) => expiry_phrase(exp, now),
        (_, None) => "no expiry in token".into(),
    }
}

/// The readable table of `list`.
pub fn profile_table(profiles: &[Profile], now: DateTime<Utc>) -> String {
    let header = [
        "", "NAME", "EMAIL", "PLAN", "MODE", "ACCOUNT", "USAGE", "TOKEN",
    ]
    .map(String::from);
    let mut rows = vec![header];
    for p in profiles {
        let mark = if p.active { "*" } else { " " }.to_owned();
        rows.push(match &p.login {
            Ok(info) => [
                mark,
                p.name.clone(),
                dash(info.email.as_deref()),
                dash(info.plan.as_deref()),
                info.auth_mode.label().to_owned(),
                dash(info.account_id.as_deref().map(short_id).as_deref()),
                p.usage
                    .as_ref()
                    .map(|u| usage_phrase(u, now))
                    .unwrap_or_else(|| "-".into()),
                match &p.needs_sign_in {
                    Some(m) => format!("NEEDS SIGN-IN: {}", m.message),
                    None => token_state(info, now),
                },
            ],
            Err(reason) => [
                mark,
                p.name.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                format!("INVALID: {reason}"),
            ],
        });
    }
    let widths: Vec<usize> = (0..8)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == 7 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The first 8 characters of a long id, with an ellipsis.
fn short_id(id: &str) -> String {
    if id.chars().count() > 12 {
        format!("{}…", id.chars().take(8).collect::<String>())
    } else {
        id.to_owned()
    }
}

fn dash(v: Option<&str>) -> String {
    v.unwrap_or("-").to_owned()
}
