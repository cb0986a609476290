//! Words and colours for what the window shows: token states, plans, usage, suggested
//! names. Pure functions of the core's data, so they are tested without a window.

use chrono::{DateTime, Utc};
use codex_router_core::auth_file::{AuthMode, LoginInfo};
use codex_router_core::home::ProfileName;
use codex_router_core::store::{Health, Profile};
use codex_router_core::timefmt::{day_time, expiry_phrase, usage_window_name, usage_windows};
use codex_router_core::usage::Usage;

/// How a piece of text should stand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// The token column of a profile: words and tone, from the core's one definition of a
/// profile's health and problem.
pub fn token_state(profile: &Profile, now: DateTime<Utc>) -> (String, Tone) {
    let problem = || profile.problem().unwrap_or_default();
    match (profile.health(now), &profile.login) {
        (Health::Invalid, _) | (_, Err(_)) => {
            (format!("can't be used: {}", problem()), Tone::Error)
        }
        (Health::NeedsSignIn, _) => (problem(), Tone::Error),
        (Health::Ok | Health::Expired, Ok(info)) => login_token_state(info, now),
    }
}

/// The token state of a usable login: "expires in 3 days", "expired, will refresh".
pub fn login_token_state(info: &LoginInfo, now: DateTime<Utc>) -> (String, Tone) {
    match (&info.auth_mode, info.expires_at) {
        (AuthMode::ApiKey, _) => ("does not expire".into(), Tone::Muted),
        (_, Some(exp)) if exp <= now => ("expired, will refresh".into(), Tone::Warn),
        (_, Some(exp)) => (expiry_phrase(exp, now), Tone::Normal),
        (_, None) => ("no expiry in token".into(), Tone::Muted),
    }
}

/// A plan for people: "plus" → "Plus", "team" → "Team"; `None` → "—".
pub fn plan_label(plan: Option<&str>) -> String {
    match plan {
        None | Some("") => "—".into(),
        Some(p) => {
            let mut chars = p.chars();
            let first = chars.next().map(|c| c.to_uppercase().to_string());
            format!("{}{}", first.unwrap_or_default(), chars.as_str())
        }
    }
}

/// How a login signs in, with the plan: "ChatGPT Plus", "ChatGPT", "API key".
pub fn sign_in_label(info: &LoginInfo) -> String {
    match (&info.auth_mode, info.plan.as_deref()) {
        (AuthMode::ChatGpt, Some(plan)) if !plan.is_empty() => {
            format!("ChatGPT {}", plan_label(Some(plan)))
        }
        (mode, _) => mode.label().to_owned(),
    }
}

/// Usage in a few words: "5 h 42% · week 17%", or "limited until Tue 14:20" (warn).
/// `None` when nothing is known, so the window never shows made-up figures.
pub fn usage_summary(usage: &Usage, now: DateTime<Utc>) -> Option<(String, Tone)> {
    if let Some(until) = usage.limited_until.filter(|t| *t > now.timestamp()) {
        return Some((format!("limited until {}", day_time(until)), Tone::Warn));
    }
    let high = [&usage.primary, &usage.secondary]
        .into_iter()
        .flatten()
        .any(|w| w.used_percent >= 90.0);
    usage_windows(usage).map(|text| (text, if high { Tone::Warn } else { Tone::Normal }))
}

/// One usage window as a bar: its words ("5 h: 42% · resets 14:20"), how full it is (0–1)
/// and its tone (warn from 90%).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageBar {
    /// What the bar says.
    pub text: String,
    /// How full it is, 0–1.
    pub fraction: f32,
    /// Warn when nearly used up.
    pub tone: Tone,
}

/// The bars of the windows the backend reported (none when nothing is known).
pub fn usage_bars(usage: &Usage, now: DateTime<Utc>) -> Vec<UsageBar> {
    [&usage.primary, &usage.secondary]
        .into_iter()
        .flatten()
        .map(|w| {
            let mut text = format!("{}: {:.0}%", usage_window_name(w), w.used_percent);
            if let Some(at) = w
                .resets_at
                .filter(|t| *t > now.timestamp())
                .and_then(|t| DateTime::from_timestamp(t, 0))
            {
                let local = at.with_timezone(&chrono::Local);
                let same_day = local.date_naive() == now.with_timezone(&chrono::Local).date_naive();
                let when = local.format(if same_day { "%H:%M" } else { "%a %H:%M" });
                text.push_str(&format!(" \u{00b7} resets {when}"));
            }
            UsageBar {
                text,
                fraction: (w.used_percent / 100.0).clamp(0.0, 1.0) as f32,
                tone: if w.used_percent >= 90.0 {
                    Tone::Warn
                } else {
                    Tone::Normal
                },
            }
        })
        .collect()
}

/// A profile name for a login, from its email ("alice.b@example.com" → "alice.b"), made
/// valid for the core's name rules and different from every name in `taken` ("alice-2").
/// Falls back to "main" when there is no usable email.
pub fn suggest_name<'a>(
    email: Option<&str>,
    taken: impl IntoIterator<Item = &'a str> + Clone,
) -> String {
    let local = email.and_then(|e| e.split('@').next()).unwrap_or_default();
    let mut base: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    base = base.trim_start_matches(['.', '-']).to_owned();
    base.truncate(56);
    if ProfileName::new(&base).is_err() {
        base = "main".into();
    }
    let is_taken = |name: &str| taken.clone().into_iter().any(|t| t == name);
    if !is_taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !is_taken(candidate))
        .expect("some suffix is free")
}

/// "alice@example.com (Plus)" — who a login is, for sentences.
pub fn who(info: &LoginInfo) -> String {
    match (&info.auth_mode, info.email.as_deref()) {
        (AuthMode::ApiKey, _) => "an API key".into(),
        (_, Some(email)) => match info.plan.as_deref() {
            Some(plan) => format!("{email} ({})", plan_label(Some(plan))),
            None => email.to_owned(),
        },
        (_, None) => "a ChatGPT login without an email".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use codex_router_core::usage::UsageWindow;

    fn info(mode: AuthMode, expires_in: Option<i64>, now: DateTime<Utc>) -> LoginInfo {
        LoginInfo {
            auth_mode: mode,
            email: Some("a@example.com".into()),
            plan: Some("plus".into()),
            account_id: None,
            user_id: None,
            expires_at: expires_in.map(|s| now + TimeDelta::seconds(s)),
            last_refresh: None,
        }
    }

    #[test]
    fn token_states_in_words() {
        let now = Utc::now();
        let state = |mode, exp| login_token_state(&info(mode, exp, now), now);
        assert_eq!(
            state(AuthMode::ChatGpt, Some(3 * 86_400)),
            ("expires in 3 days".into(), Tone::Normal)
        );
        assert_eq!(
            state(AuthMode::ChatGpt, Some(-60)),
            ("expired, will refresh".into(), Tone::Warn)
        );
        assert_eq!(state(AuthMode::ApiKey, None).0, "does not expire");
        let broken = Profile {
            name: "x".into(),
            login: Err("not JSON".into()),
            needs_sign_in: None,
            usage: None,
            active: false,
        };
        assert_eq!(
            token_state(&broken, now),
            ("can't be used: not JSON".into(), Tone::Error)
        );
    }

    #[test]
    fn plans_and_who() {
        assert_eq!(plan_label(Some("plus")), "Plus");
        assert_eq!(plan_label(None), "—");
        assert_eq!(
            sign_in_label(&info(AuthMode::ChatGpt, None, Utc::now())),
            "ChatGPT Plus"
        );
        assert_eq!(
            sign_in_label(&info(AuthMode::ApiKey, None, Utc::now())),
            "API key"
        );
        let now = Utc::now();
        assert_eq!(
            who(&info(AuthMode::ChatGpt, None, now)),
            "a@example.com (Plus)"
        );
        assert_eq!(who(&info(AuthMode::ApiKey, None, now)), "an API key");
    }

    #[test]
    fn usage_only_when_known() {
        let now = Utc::now();
        let mut usage = Usage {
            plan: None,
            primary: None,
            secondary: None,
            credits: None,
            limited_until: None,
            updated_at: now.timestamp(),
        };
        assert_eq!(usage_summary(&usage, now), None);
        usage.primary = Some(UsageWindow {
            used_percent: 42.4,
            window_minutes: Some(300),
            resets_at: None,
        });
        usage.secondary = Some(UsageWindow {
            used_percent: 95.0,
            window_minutes: Some(10_080),
            resets_at: None,
        });
        assert_eq!(
            usage_summary(&usage, now),
            Some(("5 h 42% · week 95%".into(), Tone::Warn))
        );
        usage.limited_until = Some(now.timestamp() + 600);
        assert!(
            usage_summary(&usage, now)
                .unwrap()
                .0
                .starts_with("limited until")
        );
    }

    #[test]
    fn a_bar_per_window_with_its_reset_time() {
        let now = Utc::now();
        let resets = now + TimeDelta::hours(2);
        let usage = Usage {
            plan: None,
            primary: Some(UsageWindow {
                used_percent: 42.4,
                window_minutes: Some(300),
                resets_at: Some(resets.timestamp()),
            }),
            secondary: Some(UsageWindow {
                used_percent: 130.0,
                window_minutes: Some(10_080),
                resets_at: None,
            }),
            credits: None,
            limited_until: None,
            updated_at: now.timestamp(),
        };
        let bars = usage_bars(&usage, now);
        assert_eq!(bars.len(), 2);
        let local = resets.with_timezone(&chrono::Local);
        let same_day = local.date_naive() == now.with_timezone(&chrono::Local).date_naive();
        let when = local.format(if same_day { "%H:%M" } else { "%a %H:%M" });
        assert_eq!(bars[0].text, format!("5 h: 42% \u{00b7} resets {when}"));
        assert!((bars[0].fraction - 0.424).abs() < 1e-6);
        assert_eq!(bars[0].tone, Tone::Normal);
        assert_eq!(bars[1].text, "week: 130%");
        assert_eq!(bars[1].fraction, 1.0);
        assert_eq!(bars[1].tone, Tone::Warn);
        assert!(
            usage_bars(
                &Usage {
                    primary: None,
                    secondary: None,
                    ..usage
                },
                now
            )
            .is_empty()
        );
    }

    #[test]
    fn suggested_names_are_valid_and_free() {
        assert_eq!(suggest_name(Some("Alice.B@example.com"), []), "alice.b");
        assert_eq!(
            suggest_name(Some("alice@example.com"), ["alice"]),
            "alice-2"
        );
        assert_eq!(
            suggest_name(Some("alice@example.com"), ["alice", "alice-2"]),
            "alice-3"
        );
        assert_eq!(suggest_name(Some("jo hn+x@example.com"), []), "jo-hn-x");
        assert_eq!(suggest_name(Some(".@example.com"), []), "main");
        assert_eq!(suggest_name(None, []), "main");
        let long = format!("{}@example.com", "a".repeat(100));
        assert!(ProfileName::new(&suggest_name(Some(&long), [])).is_ok());
    }
}
