//! An account's usage history and each window's forecast, for charts (the Swift app's
//! Swift Charts view): the same samples as `codex-router usage NAME --history --json`, and
//! the core's forecast words.

use crate::error::{RouterError, guard};
use crate::records::{Credits, Tone};
use crate::router::Router;
use codex_router_core::usage::history::{Sample, Which};
use codex_router_core::usage::pace::runs;
use codex_router_core::view::history::{SampleView, WindowSampleView};
use codex_router_core::view::pace::{self, WindowForecast as CoreForecast, forecasts};

/// One window in a sample.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SampleWindow {
    /// How much of the window was used, 0–100.
    pub used_percent: f64,
    /// The window's length in minutes (300 = 5 hours, 10080 = a week), when known.
    pub window_minutes: Option<u64>,
    /// When the window resets (RFC 3339), when known.
    pub resets_at: Option<String>,
    /// Which period of the window this is, counted from the oldest sample (a new one at
    /// each reset): a chart draws each period as its own line.
    pub period: u32,
}

/// The figures known at one moment.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UsageSample {
    /// When they were read (RFC 3339).
    pub at: String,
    /// The same moment in unix seconds (for a chart's time axis).
    pub at_unix: i64,
    /// The short window (5 hours on paid plans), when reported.
    pub primary: Option<SampleWindow>,
    /// The long window (a week), when reported.
    pub secondary: Option<SampleWindow>,
    /// Until when the account was limited (RFC 3339), if it was.
    pub limited_until: Option<String>,
    /// Credits, when reported (the backend gives no expiry for them).
    pub credits: Option<Credits>,
}

/// One window's pace and forecast.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct WindowForecast {
    /// `"primary"` (the short window) or `"secondary"` (the long one).
    pub window: String,
    /// Its name: "5 h", "week", "window".
    pub label: String,
    /// Used percentage points per hour since its last reset, when known.
    pub per_hour: Option<f64>,
    /// The forecast alone: "at this pace: limit around 15:40", "at this pace: lasts until
    /// the reset", "limit reached, resets 15:40", "not enough history yet for a forecast".
    pub forecast: String,
    /// The whole line to show under a chart: "5 h: 12%/h · at this pace: limit around 15:40".
    pub text: String,
    /// How it should stand out (warn when the limit comes before the reset).
    pub tone: Tone,
}

/// A profile's usage history with the forecast of each window.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UsageHistory {
    /// The profile.
    pub profile: String,
    /// Its samples of the last 30 days, oldest first.
    pub samples: Vec<UsageSample>,
    /// A forecast per window the samples know (short window first); empty without samples.
    pub forecasts: Vec<WindowForecast>,
}

#[uniffi::export]
impl Router {
    /// The usage history of profile `name` (the last 30 days, oldest first; a damaged
    /// history reads as what could be read) with each window's forecast, judged now.
    pub fn usage_history(&self, name: String) -> Result<UsageHistory, RouterError> {
        guard(|| {
            let samples = self.core().usage_history(&name)?;
            let (primary, secondary) = (
                periods(&samples, Which::Primary),
                periods(&samples, Which::Secondary),
            );
            Ok(UsageHistory {
                forecasts: forecasts(&samples, chrono::Utc::now())
                    .into_iter()
                    .map(Into::into)
                    .collect(),
                samples: samples
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let view = SampleView::new(&name, s);
                        UsageSample {
                            at: view.at,
                            at_unix: view.at_unix,
                            primary: view.primary.map(|w| window(w, primary[i])),
                            secondary: view.secondary.map(|w| window(w, secondary[i])),
                            limited_until: view.limited_until,
                            credits: view.credits.map(Into::into),
                        }
                    })
                    .collect(),
                profile: name,
            })
        })
    }
}

/// How much time a chart of a window of `window_minutes` shows, in seconds: three window
/// lengths, 12 hours at least, 30 days at most (a day when the length is unknown).
#[uniffi::export]
pub fn usage_chart_span(window_minutes: Option<u64>) -> i64 {
    pace::chart_span(window_minutes)
}

/// The record of a sample's window in period `period`.
fn window(w: WindowSampleView, period: u32) -> SampleWindow {
    SampleWindow {
        used_percent: w.used_percent,
        window_minutes: w.window_minutes,
        resets_at: w.resets_at,
        period,
    }
}

/// For each sample, the period (the core's [`runs`]) of window `which` it falls in (0 where
/// it has no such window).
fn periods(samples: &[Sample], which: Which) -> Vec<u32> {
    let mut out = vec![0; samples.len()];
    // The runs hold the samples that have the window, in order.
    let mut having = (0..samples.len()).filter(|&i| samples[i].window(which).is_some());
    for (period, run) in runs(samples, which).iter().enumerate() {
        for _ in run {
            if let Some(i) = having.next() {
                out[i] = period as u32;
            }
        }
    }
    out
}

impl From<CoreForecast> for WindowForecast {
    fn from(f: CoreForecast) -> Self {
        Self {
            window: f.window.to_owned(),
            label: f.label,
            per_hour: f.per_hour,
            forecast: f.forecast,
            text: f.text,
            tone: f.tone.into(),
        }
    }
}
