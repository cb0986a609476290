//! Human phrases for token expiry, shared by every frontend.

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
