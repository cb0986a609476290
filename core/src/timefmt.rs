//! Human phrases for token expiry and usage, shared by every frontend.

use chrono::{DateTime, Utc};

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
pub fn usage_window_name(w: &crate::usage::UsageWindow) -> String {
    w.window_minutes
        .map(window_label)
        .unwrap_or_else(|| "window".into())
}

/// The usage windows in a few words: "5 h 42% · week 17%"; `None` when none is known.
pub fn usage_windows(usage: &crate::usage::Usage) -> Option<String> {
    let windows: Vec<String> = [&usage.primary, &usage.secondary]
        .into_iter()
        .flatten()
        .map(|w| format!("{} {:.0}%", usage_window_name(w), w.used_percent))
        .collect();
    (!windows.is_empty()).then(|| windows.join(" \u{b7} "))
}

fn span(secs: i64) -> String {
    // Rounded to the nearest unit: 1 h 59 min reads "2 hours".
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

    #[test]
    fn window_labels() {
        assert_eq!(window_label(300), "5 h");
        assert_eq!(window_label(10_080), "week");
        assert_eq!(window_label(2_880), "2 d");
        assert_eq!(window_label(45), "45 min");
    }

    #[test]
    fn phrases() {
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
}
