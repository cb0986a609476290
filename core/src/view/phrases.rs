//! Words for one piece of data: a token's expiry, a usage window, a plan, an account. The
//! same words in the CLI, the desktop app and (through the FFI) the Swift app.

use crate::auth_file::{AuthMode, LoginInfo};
use crate::home::ProfileName;
use crate::net::NetworkSummary;
use crate::profile_state::SignInNeeded;
use crate::store::Profile;
use crate::usage::{Usage, UsageWindow};
use chrono::{DateTime, Utc};

/// Used share of a window from which it is shown as a warning.
const NEARLY_USED: f64 = 90.0;

/// How a piece of text should stand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// Words and how they should stand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    /// The words.
    pub text: String,
    /// How they stand out.
    pub tone: Tone,
}

impl Phrase {
    fn new(text: impl Into<String>, tone: Tone) -> Self {
        Self {
            text: text.into(),
            tone,
        }
    }
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

/// "expires in 3 days", "expires in 5 minutes", "expired 2 hours ago".
pub fn expiry_phrase(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (expires_at - now).num_seconds();
    if secs > 0 {
        format!("expires in {}", span(secs))
    } else {
        format!("expired {} ago", span(-secs))
    }
}

/// A rate-limit window's name: 300 minutes → "5 h", 10080 → "week", 1440 → "day".
pub fn window_label(minutes: u64) -> String {
    match minutes {
        10_080 => "week".into(),
        1_440 => "day".into(),
        m if m % 1_440 == 0 => format!("{} d", m / 1_440),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

/// A moment in the user's time zone as a weekday and time, "Tue 14:20" (unix seconds in).
pub fn day_time(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%a %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// A usage window's name: "5 h", "week", or "window" when its length is not known.
pub fn usage_window_name(w: &UsageWindow) -> String {
    w.window_minutes
        .map(window_label)
        .unwrap_or_else(|| "window".into())
}

/// The usage windows in a few words: "5 h 42% · week 17%"; `None` when none is known.
pub fn usage_windows(usage: &Usage) -> Option<String> {
    let windows: Vec<String> = [&usage.primary, &usage.secondary]
        .into_iter()
        .flatten()
        .map(|w| format!("{} {:.0}%", usage_window_name(w), w.used_percent))
        .collect();
    (!windows.is_empty()).then(|| windows.join(" \u{b7} "))
}

/// Usage in a few words: "5 h 42% · week 17%" (warn when a window is nearly used up), or
/// "LIMITED until Tue 14:20" (warn). `None` when nothing is known, so nobody shows made-up
/// figures.
pub fn usage_summary(usage: &Usage, now: DateTime<Utc>) -> Option<Phrase> {
    if let Some(until) = usage.limited_until.filter(|t| *t > now.timestamp()) {
        return Some(Phrase::new(
            format!("LIMITED until {}", day_time(until)),
            Tone::Warn,
        ));
    }
    let high = [&usage.primary, &usage.secondary]
        .into_iter()
        .flatten()
        .any(|w| w.used_percent >= NEARLY_USED);
    usage_windows(usage).map(|text| Phrase::new(text, if high { Tone::Warn } else { Tone::Normal }))
}

/// One window as a bar: "5 h: 42% · resets 14:20" (the weekday too when not today).
pub fn usage_bar(w: &UsageWindow, now: DateTime<Utc>) -> UsageBar {
    let mut text = format!("{}: {:.0}%", usage_window_name(w), w.used_percent);
    if let Some(at) = w
        .resets_at
        .filter(|t| *t > now.timestamp())
        .and_then(|t| DateTime::from_timestamp(t, 0))
    {
        let local = at.with_timezone(&chrono::Local);
        let same_day = local.date_naive() == now.with_timezone(&chrono::Local).date_naive();
        let when = local.format(if same_day { "%H:%M" } else { "%a %H:%M" });
        text.push_str(&format!(" \u{b7} resets {when}"));
    }
    UsageBar {
        text,
        fraction: (w.used_percent / 100.0).clamp(0.0, 1.0) as f32,
        tone: if w.used_percent >= NEARLY_USED {
            Tone::Warn
        } else {
            Tone::Normal
        },
    }
}

/// The bars of the windows the backend reported (none when nothing is known).
pub fn usage_bars(usage: &Usage, now: DateTime<Utc>) -> Vec<UsageBar> {
    [&usage.primary, &usage.secondary]
        .into_iter()
        .flatten()
        .map(|w| usage_bar(w, now))
        .collect()
}

/// A profile's token state in words: "expires in 3 days", "expired 2 hours ago, renewed
/// at next use", "API key (does not expire)", "NEEDS SIGN-IN: …", "INVALID: …".
pub fn token_state(profile: &Profile, now: DateTime<Utc>) -> Phrase {
    match &profile.login {
        Err(reason) => Phrase::new(format!("INVALID: {reason}"), Tone::Error),
        Ok(info) => login_token_state(info, profile.needs_sign_in.as_ref(), now),
    }
}

/// The token state of a readable login (a profile's or Codex's own), as [`token_state`].
pub fn login_token_state(
    info: &LoginInfo,
    needs_sign_in: Option<&SignInNeeded>,
    now: DateTime<Utc>,
) -> Phrase {
    if let Some(mark) = needs_sign_in {
        return Phrase::new(format!("NEEDS SIGN-IN: {}", mark.message), Tone::Error);
    }
    match (&info.auth_mode, info.expires_at) {
        (AuthMode::ApiKey, _) => Phrase::new("API key (does not expire)", Tone::Muted),
        (_, Some(exp)) if exp <= now => Phrase::new(
            format!("{}, renewed at next use", expiry_phrase(exp, now)),
            Tone::Warn,
        ),
        (_, Some(exp)) => Phrase::new(expiry_phrase(exp, now), Tone::Normal),
        (_, None) => Phrase::new("no expiry in token", Tone::Muted),
    }
}

/// How outgoing connections go, in one line: "direct; trusts the bundled and system roots",
/// "through http://proxy.corp:3128/ (HTTPS_PROXY), not for localhost (NO_PROXY); trusts
/// /etc/corp-ca.pem, 2 certificates (CODEX_CA_CERTIFICATE) besides the bundled and system
/// roots". Never a proxy password (the summary has none).
pub fn network_line(n: &NetworkSummary) -> String {
    let route = match (&n.proxy, &n.no_proxy) {
        (None, _) => "direct".to_owned(),
        (Some(p), None) => format!("through {p}"),
        (Some(p), Some(except)) => format!("through {p}, not for {except}"),
    };
    let roots = match &n.extra_roots {
        None => "trusts the bundled and system roots".to_owned(),
        Some(extra) => format!("trusts {extra} besides the bundled and system roots"),
    };
    format!("{route}; {roots}")
}

/// A plan for people: "plus" → "Plus", "team" → "Team"; `None` → "—".
pub fn plan_label(plan: Option<&str>) -> String {
    match plan {
        None | Some("") => "\u{2014}".into(),
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

/// Who an account is, for sentences: "alice@example.com (plus)", "alice@example.com",
/// `fallback` without an email.
pub fn account_words(email: Option<&str>, plan: Option<&str>, fallback: &str) -> String {
    match (email, plan) {
        (Some(e), Some(p)) => format!("{e} ({p})"),
        (Some(e), None) => e.to_owned(),
        (None, _) => fallback.to_owned(),
    }
}

/// Who a login is, for sentences: "alice@example.com (plus)", "an API key".
pub fn who(info: &LoginInfo) -> String {
    match info.auth_mode {
        AuthMode::ApiKey => "an API key".into(),
        _ => account_words(
            info.email.as_deref(),
            info.plan.as_deref(),
            "a ChatGPT login without an email",
        ),
    }
}

/// A long account id cut to its first 8 characters and an ellipsis.
pub fn short_id(id: &str) -> String {
    if id.chars().count() > 12 {
        format!("{}\u{2026}", id.chars().take(8).collect::<String>())
    } else {
        id.to_owned()
    }
}

/// A profile name for a login, from its email ("alice.b@example.com" → "alice.b"), made
/// valid for the name rules and different from every name in `taken` ("alice-2"). Falls
/// back to "main" when there is no usable email.
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

/// "3 days", "1 hour", rounded to the nearest unit (1 h 59 min reads "2 hours").
fn span(secs: i64) -> String {
    let (n, unit) = match secs {
        s if s < 60 => (s, "second"),
        s if s < 3570 => ((s + 30) / 60, "minute"),
        s if s < 84_600 => ((s + 1800) / 3600, "hour"),
        s => ((s + 43_200) / 86_400, "day"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

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

    fn window(used: f64, minutes: u64, resets_at: Option<i64>) -> Option<UsageWindow> {
        Some(UsageWindow {
            used_percent: used,
            window_minutes: Some(minutes),
            resets_at,
        })
    }

    #[test]
    fn window_labels() {
        assert_eq!(window_label(300), "5 h");
        assert_eq!(window_label(10_080), "week");
        assert_eq!(window_label(1_440), "day");
        assert_eq!(window_label(2_880), "2 d");
        assert_eq!(window_label(45), "45 min");
    }

    #[test]
    fn expiry_in_words() {
        let now = Utc::now();
        let at = |s| now + TimeDelta::seconds(s);
        assert_eq!(expiry_phrase(at(3 * 86_400 + 5), now), "expires in 3 days");
        assert_eq!(expiry_phrase(at(3600), now), "expires in 1 hour");
        assert_eq!(expiry_phrase(at(80), now), "expires in 1 minute");
        assert_eq!(expiry_phrase(at(-7200), now), "expired 2 hours ago");
        assert_eq!(expiry_phrase(at(0), now), "expired 0 seconds ago");
        assert_eq!(expiry_phrase(at(-7199), now), "expired 2 hours ago");
        assert_eq!(expiry_phrase(at(3599), now), "expires in 1 hour");
        assert_eq!(expiry_phrase(at(86_000), now), "expires in 1 day");
    }

    #[test]
    fn token_states_in_words() {
        let now = Utc::now();
        let state = |mode, exp| login_token_state(&info(mode, exp, now), None, now);
        assert_eq!(
            state(AuthMode::ChatGpt, Some(3 * 86_400)),
            Phrase::new("expires in 3 days", Tone::Normal)
        );
        assert_eq!(
            state(AuthMode::ChatGpt, Some(-7200)),
            Phrase::new("expired 2 hours ago, renewed at next use", Tone::Warn)
        );
        assert_eq!(
            state(AuthMode::ApiKey, None),
            Phrase::new("API key (does not expire)", Tone::Muted)
        );
        assert_eq!(state(AuthMode::ChatGpt, None).text, "no expiry in token");
        let mark = SignInNeeded {
            code: "refresh_token_reused".into(),
            message: "the refresh token was already used".into(),
            at: String::new(),
            token_fingerprint: String::new(),
        };
        let dead = Profile {
            name: "x".into(),
            login: Ok(info(AuthMode::ChatGpt, Some(60), now)),
            needs_sign_in: Some(mark),
            usage: None,
            active: false,
        };
        assert_eq!(
            token_state(&dead, now),
            Phrase::new(
                "NEEDS SIGN-IN: the refresh token was already used",
                Tone::Error
            )
        );
        let broken = Profile {
            login: Err("not JSON".into()),
            needs_sign_in: None,
            ..dead
        };
        assert_eq!(
            token_state(&broken, now),
            Phrase::new("INVALID: not JSON", Tone::Error)
        );
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
        usage.primary = window(42.4, 300, None);
        usage.secondary = window(17.0, 10_080, None);
        assert_eq!(
            usage_summary(&usage, now),
            Some(Phrase::new("5 h 42% \u{b7} week 17%", Tone::Normal))
        );
        usage.secondary = window(95.0, 10_080, None);
        assert_eq!(usage_summary(&usage, now).unwrap().tone, Tone::Warn);
        usage.limited_until = Some(now.timestamp() + 600);
        let limited = usage_summary(&usage, now).unwrap();
        assert!(limited.text.starts_with("LIMITED until "), "{limited:?}");
        // A limit that has passed is not shown.
        usage.limited_until = Some(now.timestamp() - 1);
        assert!(usage_summary(&usage, now).unwrap().text.starts_with("5 h"));
    }

    #[test]
    fn a_bar_per_window_with_its_reset_time() {
        let now = Utc::now();
        let resets = now + TimeDelta::hours(2);
        let usage = Usage {
            plan: None,
            primary: window(42.4, 300, Some(resets.timestamp())),
            secondary: window(130.0, 10_080, None),
            credits: None,
            limited_until: None,
            updated_at: now.timestamp(),
        };
        let bars = usage_bars(&usage, now);
        let local = resets.with_timezone(&chrono::Local);
        let same_day = local.date_naive() == now.with_timezone(&chrono::Local).date_naive();
        let when = local.format(if same_day { "%H:%M" } else { "%a %H:%M" });
        assert_eq!(bars[0].text, format!("5 h: 42% \u{b7} resets {when}"));
        assert!((bars[0].fraction - 0.424).abs() < 1e-6);
        assert_eq!(bars[0].tone, Tone::Normal);
        assert_eq!(
            bars[1],
            UsageBar {
                text: "week: 130%".into(),
                fraction: 1.0,
                tone: Tone::Warn
            }
        );
    }

    #[test]
    fn plans_accounts_and_names() {
        let now = Utc::now();
        assert_eq!(plan_label(Some("plus")), "Plus");
        assert_eq!(plan_label(None), "\u{2014}");
        assert_eq!(
            sign_in_label(&info(AuthMode::ChatGpt, None, now)),
            "ChatGPT Plus"
        );
        assert_eq!(sign_in_label(&info(AuthMode::ApiKey, None, now)), "API key");
        assert_eq!(
            who(&info(AuthMode::ChatGpt, None, now)),
            "a@example.com (plus)"
        );
        assert_eq!(who(&info(AuthMode::ApiKey, None, now)), "an API key");
        assert_eq!(short_id("acct-0123456789abcdef"), "acct-012\u{2026}");
        assert_eq!(short_id("acct-1"), "acct-1");
        assert_eq!(suggest_name(Some("Alice.B@example.com"), []), "alice.b");
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
