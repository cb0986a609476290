//! The pace of one usage window, from its history: how fast it is being used since its
//! last reset, and whether at that rate it runs out before it resets. Pure functions; the
//! words are in [`crate::view::pace`].

use super::history::{Sample, Which, WindowSample};

/// Two samples closer than this (seconds) tell no rate.
const MIN_SPAN: i64 = 60;
/// A reset time that moves by more than this (seconds) means a new window.
const NEW_WINDOW: i64 = 10 * 60;

/// How a window is being used, and what follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Pace {
    /// Used percentage points per hour since the window's last reset; `None` with fewer
    /// than two samples (a minute apart) since it.
    pub per_hour: Option<f64>,
    /// What happens at this rate.
    pub forecast: Forecast,
}

/// What happens to a window at its current rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Forecast {
    /// Too few samples since the last reset to tell.
    TooFewSamples,
    /// At this rate the window is used up at this moment (unix seconds), before it resets
    /// (or its reset time is not known).
    LimitAt(i64),
    /// At this rate the window lasts until it resets.
    LastsUntilReset,
    /// It is used up; it resets at this moment (unix seconds) when known.
    UsedUp(Option<i64>),
}

/// The pace of window `which` from `samples` (oldest first, as
/// [`super::history::read`] returns them), judged at `now` (unix seconds). `None` when there
/// is nothing to judge: no sample of that window, or its last known reset time has passed
/// (the figures are of a window that is over).
pub fn pace(samples: &[Sample], which: Which, now: i64) -> Option<Pace> {
    let points = since_reset(samples, which);
    let &(last_at, last) = points.last()?;
    let resets_at = last.resets_at;
    if resets_at.is_some_and(|r| r <= now) {
        return None;
    }
    let rate = points
        .iter()
        .find(|(at, _)| last_at - at >= MIN_SPAN)
        .map(|&(at, first)| {
            let hours = (last_at - at) as f64 / 3600.0;
            ((last.used_percent - first.used_percent) / hours).max(0.0)
        });
    let forecast = if last.used_percent >= 100.0 {
        Forecast::UsedUp(resets_at)
    } else {
        match rate {
            None => Forecast::TooFewSamples,
            Some(r) if r <= 0.0 => Forecast::LastsUntilReset,
            Some(r) => {
                let left_secs = ((100.0 - last.used_percent) / r * 3600.0).round() as i64;
                let limit_at = last_at.saturating_add(left_secs);
                match resets_at {
                    Some(reset) if limit_at >= reset => Forecast::LastsUntilReset,
                    _ => Forecast::LimitAt(limit_at),
                }
            }
        }
    };
    Some(Pace {
        per_hour: rate,
        forecast,
    })
}

/// The samples of window `which` since its last reset, oldest first: the last of
/// [`runs`].
pub fn since_reset(samples: &[Sample], which: Which) -> Vec<(i64, &WindowSample)> {
    runs(samples, which).pop().unwrap_or_default()
}

/// The samples of window `which` cut at each reset (a drop of the used percentage or a
/// jump of the reset time), oldest first: one run per window period, for charts that draw
/// each period on its own.
pub fn runs(samples: &[Sample], which: Which) -> Vec<Vec<(i64, &WindowSample)>> {
    let mut runs: Vec<Vec<(i64, &WindowSample)>> = Vec::new();
    for (at, w) in samples
        .iter()
        .filter_map(|s| s.window(which).map(|w| (s.at, w)))
    {
        let reset = runs.last().and_then(|r| r.last()).is_none_or(|(_, prev)| {
            let dropped = w.used_percent < prev.used_percent;
            let moved =
                matches!((prev.resets_at, w.resets_at), (Some(x), Some(y)) if y - x > NEW_WINDOW);
            dropped || moved
        });
        match runs.last_mut() {
            Some(run) if !reset => run.push((at, w)),
            _ => runs.push(vec![(at, w)]),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;

    fn at(t: i64, used: f64, reset: Option<i64>) -> Sample {
        Sample {
            at: t,
            primary: Some(WindowSample {
                used_percent: used,
                window_minutes: Some(300),
                resets_at: reset,
            }),
            secondary: None,
            limited_until: None,
            credits: None,
        }
    }

    #[test]
    fn no_samples_no_pace() {
        assert_eq!(pace(&[], Which::Primary, 0), None);
        // A window the samples don't have.
        assert_eq!(pace(&[at(0, 5.0, None)], Which::Secondary, 0), None);
    }

    #[test]
    fn one_sample_is_too_few() {
        let p = pace(&[at(0, 5.0, Some(5 * H))], Which::Primary, 60).unwrap();
        assert_eq!(
            p,
            Pace {
                per_hour: None,
                forecast: Forecast::TooFewSamples
            }
        );
    }

    #[test]
    fn a_fast_rate_reaches_the_limit_before_the_reset() {
        // 10% → 30% in an hour: 20%/h, 70% left → 3.5 h after the last sample.
        let s = [at(0, 10.0, Some(10 * H)), at(H, 30.0, Some(10 * H))];
        let p = pace(&s, Which::Primary, H).unwrap();
        assert_eq!(p.per_hour, Some(20.0));
        assert_eq!(p.forecast, Forecast::LimitAt(H + 3 * H + H / 2));
    }

    #[test]
    fn a_slow_or_flat_rate_lasts_until_the_reset() {
        let slow = [at(0, 10.0, Some(2 * H)), at(H, 15.0, Some(2 * H))];
        assert_eq!(
            pace(&slow, Which::Primary, H).unwrap().forecast,
            Forecast::LastsUntilReset
        );
        let flat = [at(0, 40.0, Some(4 * H)), at(H, 40.0, Some(4 * H))];
        let p = pace(&flat, Which::Primary, H).unwrap();
        assert_eq!(p.per_hour, Some(0.0));
        assert_eq!(p.forecast, Forecast::LastsUntilReset);
        // Without a known reset, a rising rate still names its moment.
        let unknown = [at(0, 50.0, None), at(H, 75.0, None)];
        assert_eq!(
            pace(&unknown, Which::Primary, H).unwrap().forecast,
            Forecast::LimitAt(2 * H)
        );
    }

    #[test]
    fn only_samples_since_the_last_reset_count() {
        // A busy old window, a reset (the used share drops), then a slow new one.
        let s = [
            at(0, 50.0, Some(2 * H)),
            at(H, 90.0, Some(2 * H)),
            at(2 * H + 60, 1.0, Some(7 * H)),
            at(3 * H + 60, 3.0, Some(7 * H)),
        ];
        let p = pace(&s, Which::Primary, 3 * H + 60).unwrap();
        assert_eq!(p.per_hour, Some(2.0));
        assert_eq!(p.forecast, Forecast::LastsUntilReset);
        // A reset the used share does not show (0 → 0) is seen by its reset time moving.
        let quiet = [
            at(0, 0.0, Some(H)),
            at(2 * H, 0.0, Some(7 * H)),
            at(2 * H + 30, 0.0, Some(7 * H)),
        ];
        assert_eq!(since_reset(&quiet, Which::Primary).len(), 2);
        let lengths: Vec<usize> = runs(&s, Which::Primary).iter().map(Vec::len).collect();
        assert_eq!(lengths, [2, 2]);
        assert!(runs(&[], Which::Primary).is_empty());
        assert_eq!(
            pace(&quiet, Which::Primary, 2 * H + 30).unwrap().forecast,
            Forecast::TooFewSamples
        );
    }

    #[test]
    fn used_up_and_over_windows() {
        let s = [at(0, 80.0, Some(3 * H)), at(H, 100.0, Some(3 * H))];
        assert_eq!(
            pace(&s, Which::Primary, H).unwrap().forecast,
            Forecast::UsedUp(Some(3 * H))
        );
        // Once its reset has passed, the figures say nothing of the window now.
        assert_eq!(pace(&s, Which::Primary, 3 * H), None);
    }
}
