//! A window's pace and forecast in words ("5 h: 12%/h · at this pace: limit around 15:40"),
//! the same in the CLI, the desktop app and (through the FFI) the Swift app.

use super::phrases::{Phrase, Tone, window_label};
use crate::usage::history::{Sample, Which};
use crate::usage::pace::{Forecast, Pace, pace};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One window's pace and forecast (`forecasts` in `usage --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowForecast {
    /// `primary` (the short window) or `secondary` (the long one).
    pub window: &'static str,
    /// Its name: "5 h", "week", "window".
    pub label: String,
    /// Used percentage points per hour since its last reset, when known.
    pub per_hour: Option<f64>,
    /// The forecast alone: "at this pace: limit around 15:40", "at this pace: lasts until
    /// the reset", "limit reached, resets 15:40", "not enough history yet for a forecast".
    pub forecast: String,
    /// The whole line: "5 h: 12%/h · at this pace: limit around 15:40".
    pub text: String,
    /// How it should stand out (warn when the limit comes before the reset).
    #[serde(skip)]
    pub tone: Tone,
}

/// The forecast of each window the samples know (short window first), judged at `now`;
/// empty when there are no samples. A window that reset after its last figures says so.
pub fn forecasts(samples: &[Sample], now: DateTime<Utc>) -> Vec<WindowForecast> {
    Which::BOTH
        .into_iter()
        .filter_map(|which| {
            let last = samples.iter().rev().find_map(|s| s.window(which))?;
            let label = last
                .window_minutes
                .map(window_label)
                .unwrap_or_else(|| "window".into());
            let Some(p) = pace(samples, which, now.timestamp()) else {
                // The window reset after the last figures: nothing is known of the new one.
                let reset = last.resets_at?;
                let forecast = format!("reset {}; no figures since", clock(reset, now));
                return Some(WindowForecast {
                    window: which_name(which),
                    text: format!("{label}: {forecast}"),
                    label,
                    per_hour: None,
                    forecast,
                    tone: Tone::Muted,
                });
            };
            let words = forecast_phrase(&p, now);
            let text = match p.per_hour {
                Some(r) => format!("{label}: {} \u{b7} {}", rate_words(r), words.text),
                None => format!("{label}: {}", words.text),
            };
            Some(WindowForecast {
                window: which_name(which),
                label,
                per_hour: p.per_hour,
                forecast: words.text,
                text,
                tone: words.tone,
            })
        })
        .collect()
}

/// `primary` or `secondary`, as `usage --json` names a window.
fn which_name(which: Which) -> &'static str {
    match which {
        Which::Primary => "primary",
        Which::Secondary => "secondary",
    }
}

/// The forecast in words: "at this pace: limit around 15:40" (warn; the weekday too when
/// not today), "at this pace: lasts until the reset", "limit reached, resets 15:40" (warn),
/// "not enough history yet for a forecast" (muted).
pub fn forecast_phrase(p: &Pace, now: DateTime<Utc>) -> Phrase {
    let (text, tone) = match p.forecast {
        Forecast::LimitAt(at) => (
            format!("at this pace: limit around {}", clock(at, now)),
            Tone::Warn,
        ),
        Forecast::LastsUntilReset => ("at this pace: lasts until the reset".into(), Tone::Normal),
        Forecast::UsedUp(Some(reset)) => (
            format!("limit reached, resets {}", clock(reset, now)),
            Tone::Warn,
        ),
        Forecast::UsedUp(None) => ("limit reached".into(), Tone::Warn),
        Forecast::TooFewSamples => ("not enough history yet for a forecast".into(), Tone::Muted),
    };
    Phrase { text, tone }
}

/// How much time a chart of a window shows (seconds): three window lengths, 12 hours at
/// least and 30 days (all the history keeps) at most; a day when the length is unknown.
pub fn chart_span(window_minutes: Option<u64>) -> i64 {
    window_minutes.map_or(86_400, |m| {
        (m as i64).saturating_mul(180).clamp(12 * 3600, 30 * 86_400)
    })
}

/// A rate of use: "12%/h", "0.4%/h".
pub fn rate_words(per_hour: f64) -> String {
    if per_hour >= 10.0 || per_hour == 0.0 {
        format!("{per_hour:.0}%/h")
    } else {
        format!("{per_hour:.1}%/h")
    }
}

/// A moment in local time: "15:40" today, "Tue 15:40" on another day.
fn clock(unix: i64, now: DateTime<Utc>) -> String {
    let Some(at) = DateTime::from_timestamp(unix, 0) else {
        return String::new();
    };
    let local = at.with_timezone(&chrono::Local);
    let same_day = local.date_naive() == now.with_timezone(&chrono::Local).date_naive();
    local
        .format(if same_day { "%H:%M" } else { "%a %H:%M" })
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::history::WindowSample;

    fn sample(at: i64, used: f64, reset: i64, minutes: u64) -> Sample {
        let w = Some(WindowSample {
            used_percent: used,
            window_minutes: Some(minutes),
            resets_at: Some(reset),
        });
        Sample {
            at,
            primary: w.clone(),
            secondary: w.map(|w| WindowSample {
                used_percent: w.used_percent / 10.0,
                window_minutes: Some(10_080),
                resets_at: Some(reset + 86_400),
            }),
            limited_until: None,
            credits: None,
        }
    }

    #[test]
    fn each_window_gets_its_line() {
        let now = Utc::now();
        let t = now.timestamp();
        let samples = [
            sample(t - 3600, 10.0, t + 4 * 3600, 300),
            sample(t, 40.0, t + 4 * 3600, 300),
        ];
        let f = forecasts(&samples, now);
        assert_eq!(f.len(), 2);
        // 30%/h with 60% left: the limit comes in 2 h, before the reset in 4 h.
        assert_eq!(f[0].window, "primary");
        assert_eq!(f[0].per_hour, Some(30.0));
        assert_eq!(
            f[0].text,
            format!(
                "5 h: 30%/h \u{b7} at this pace: limit around {}",
                clock(t + 7200, now)
            )
        );
        assert_eq!(f[0].tone, Tone::Warn);
        // 3%/h on the week with 96% left lasts past its reset.
        assert_eq!(
            f[1].text,
            "week: 3.0%/h \u{b7} at this pace: lasts until the reset"
        );
        assert_eq!(f[1].tone, Tone::Normal);
    }

    #[test]
    fn few_or_no_samples_say_so() {
        let now = Utc::now();
        let t = now.timestamp();
        assert!(forecasts(&[], now).is_empty());
        let one = forecasts(&[sample(t, 10.0, t + 3600, 300)], now);
        assert_eq!(one[0].text, "5 h: not enough history yet for a forecast");
        assert_eq!(one[0].tone, Tone::Muted);
        // The window reset after the last figures.
        let stale = forecasts(&[sample(t - 7200, 10.0, t - 60, 300)], now);
        assert_eq!(
            stale[0].text,
            format!("5 h: reset {}; no figures since", clock(t - 60, now))
        );
        assert_eq!(stale[0].per_hour, None);
        let used_up = Pace {
            per_hour: Some(5.0),
            forecast: Forecast::UsedUp(Some(t + 60)),
        };
        assert_eq!(
            forecast_phrase(&used_up, now).text,
            format!("limit reached, resets {}", clock(t + 60, now))
        );
        assert_eq!(rate_words(0.0), "0%/h");
        assert_eq!(chart_span(Some(300)), 15 * 3600);
        assert_eq!(chart_span(Some(60)), 12 * 3600);
        assert_eq!(chart_span(Some(10_080)), 21 * 86_400);
        assert_eq!(chart_span(None), 86_400);
        assert_eq!(rate_words(0.44), "0.4%/h");
        assert_eq!(rate_words(12.4), "12%/h");
    }
}
