//! The usage history as records: one per sample, with RFC 3339 times (`usage --history
//! --json`, its CSV, and the FFI's records). Credits are listed as the backend reports them:
//! whether there are any, unlimited, and the balance (the payload carries no expiry).

use super::rfc3339;
use crate::usage::Credits;
use crate::usage::history::{Sample, WindowSample};
use chrono::DateTime;
use serde::Serialize;

/// One sample of one profile's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleView {
    /// The profile it belongs to.
    pub profile: String,
    /// When the figures were read.
    pub at: String,
    /// The same moment in unix seconds (for charts).
    pub at_unix: i64,
    /// The short window (5 h on paid plans), when reported.
    pub primary: Option<WindowSampleView>,
    /// The long window (a week), when reported.
    pub secondary: Option<WindowSampleView>,
    /// Until when the account was limited, if it was.
    pub limited_until: Option<String>,
    /// Credits, when reported.
    pub credits: Option<Credits>,
}

/// One window in a sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowSampleView {
    /// How much of the window was used, 0–100.
    pub used_percent: f64,
    /// The window's length in minutes, when known.
    pub window_minutes: Option<u64>,
    /// When the window resets, when known.
    pub resets_at: Option<String>,
}

impl SampleView {
    /// The record of `sample`, a sample of `profile`'s history.
    pub fn new(profile: &str, sample: &Sample) -> Self {
        Self {
            profile: profile.to_owned(),
            at: unix(sample.at).unwrap_or_default(),
            at_unix: sample.at,
            primary: sample.primary.as_ref().map(WindowSampleView::new),
            secondary: sample.secondary.as_ref().map(WindowSampleView::new),
            limited_until: sample.limited_until.and_then(unix),
            credits: sample.credits.clone(),
        }
    }
}

impl WindowSampleView {
    fn new(w: &WindowSample) -> Self {
        Self {
            used_percent: w.used_percent,
            window_minutes: w.window_minutes,
            resets_at: w.resets_at.and_then(unix),
        }
    }
}

/// Credits in a few words: "credits: 12.5", "credits: unlimited", "credits: yes" (a balance
/// not given); `None` when the account has none.
pub fn credits_words(c: &Credits) -> Option<String> {
    match (c.unlimited, c.has_credits, c.balance.as_deref()) {
        (true, _, _) => Some("credits: unlimited".into()),
        (false, true, Some(balance)) => Some(format!("credits: {balance}")),
        (false, true, None) => Some("credits: yes".into()),
        (false, false, _) => None,
    }
}

fn unix(t: i64) -> Option<String> {
    DateTime::from_timestamp(t, 0).map(rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_as_a_record() {
        let sample = Sample {
            at: 1_800_000_000,
            primary: Some(WindowSample {
                used_percent: 42.0,
                window_minutes: Some(300),
                resets_at: Some(1_800_003_600),
            }),
            secondary: None,
            limited_until: Some(1_800_001_000),
            credits: Some(Credits {
                has_credits: true,
                unlimited: false,
                balance: Some("12.5".into()),
            }),
        };
        let v = SampleView::new("work", &sample);
        assert_eq!(v.at, "2027-01-15T08:00:00Z");
        assert_eq!(
            v.primary.as_ref().unwrap().resets_at.as_deref(),
            Some("2027-01-15T09:00:00Z")
        );
        assert_eq!(v.limited_until.as_deref(), Some("2027-01-15T08:16:40Z"));
        assert_eq!(
            credits_words(v.credits.as_ref().unwrap()).as_deref(),
            Some("credits: 12.5")
        );
        let none = Credits {
            has_credits: false,
            unlimited: false,
            balance: None,
        };
        assert_eq!(credits_words(&none), None);
    }
}
