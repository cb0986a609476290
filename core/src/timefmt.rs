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
