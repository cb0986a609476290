//! The decisions, pure: given what was told about a profile ([`Memory`]) and what is known
//! of it now, what is new. Each decision marks what it decided in the memory, whether the
//! settings then let it through or not, so turning a kind on later does not tell old news.

use super::memory::{Memory, same_reset};
use super::{Notification, words};
use crate::profile_state::SignInNeeded;
use crate::usage::{Usage, UsageWindow};

/// A profile as the notifier sees it.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its latest usage figures.
    pub usage: Option<&'a Usage>,
    /// Its login's sign-in mark, when it holds for the profile's current token.
    pub sign_in: Option<&'a SignInNeeded>,
}

/// What is new about `p` at `now` (unix seconds), with `threshold_percent` as the share of a
/// window worth telling: a limit reached, a limit over, a window crossing the threshold, a
/// dead login. Marks each in `memory`.
pub fn news(
    memory: &mut Memory,
    p: &Observed<'_>,
    threshold_percent: u8,
    now: i64,
) -> Vec<Notification> {
    let mut out = Vec::new();
    match p.usage.and_then(|u| current_limit(u, now)) {
        Some(until) => {
            if !same_reset(memory.limit, until) {
                out.push(words::limit_reached(p.name, until));
            }
            // Keep the latest end of this limit: "available again" waits for it.
            if memory.limit.is_none_or(|l| l < until) {
                memory.limit = Some(until);
            }
        }
        None => {
            if let Some(ended) = memory.pending_available().filter(|e| *e <= now) {
                memory.available = Some(ended);
                out.push(words::available_again(p.name, ended));
            }
        }
    }
    if let Some(usage) = p.usage {
        for (slot, w) in [("primary", &usage.primary), ("secondary", &usage.secondary)] {
            let Some(w) = w else { continue };
            if w.used_percent < f64::from(threshold_percent) {
                continue;
            }
            let key = w
                .window_minutes
                .map_or_else(|| slot.to_owned(), |m| m.to_string());
            let reset = w.resets_at.unwrap_or_default();
            if same_reset(memory.windows.get(&key).copied(), reset) {
                continue;
            }
            memory.windows.insert(key, reset);
            // A full window is a limit, told as one.
            if w.used_percent < 100.0 {
                out.push(words::threshold(p.name, w));
            }
        }
    }
    if let Some(mark) = p.sign_in
        && memory.sign_in.as_deref() != Some(mark.token_fingerprint.as_str())
    {
        memory.sign_in = Some(mark.token_fingerprint.clone());
        out.push(words::needs_sign_in(
            p.name,
            &mark.message,
            &mark.token_fingerprint,
        ));
    }
    out
}

/// A failover from `from` (whose `memory` this is) to `to`, unless this limit's failover was
/// told already (the endpoint announces one for every request it moves).
pub fn failover(
    memory: &mut Memory,
    from: &str,
    to: &str,
    resets_at: Option<i64>,
) -> Option<Notification> {
    let reset = resets_at.unwrap_or_default();
    if same_reset(memory.failed_over, reset) {
        return None;
    }
    memory.failed_over = Some(reset);
    Some(words::failed_over(from, to, resets_at))
}

/// Until when `usage` says the account is limited at `now`: the recorded limit, else the
/// latest reset of a window used up.
pub fn current_limit(usage: &Usage, now: i64) -> Option<i64> {
    if usage.is_limited(now) {
        return usage.limited_until;
    }
    [&usage.primary, &usage.secondary]
        .into_iter()
        .flatten()
        .filter(|w: &&UsageWindow| w.used_percent >= 100.0)
        .filter_map(|w| w.resets_at)
        .filter(|t| *t > now)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::NotificationKind::{self, *};

    const NOW: i64 = 1_800_000_000;
    const HOUR: i64 = 3600;

    fn window(used: f64, minutes: u64, resets_at: i64) -> Option<UsageWindow> {
        Some(UsageWindow {
            used_percent: used,
            window_minutes: Some(minutes),
            resets_at: Some(resets_at),
        })
    }

    fn usage(primary: f64, secondary: f64, limited_until: Option<i64>) -> Usage {
        Usage {
            plan: Some("plus".into()),
            primary: window(primary, 300, NOW + 2 * HOUR),
            secondary: window(secondary, 10_080, NOW + 72 * HOUR),
            credits: None,
            limited_until,
            updated_at: NOW,
        }
    }

    fn kinds(n: &[Notification]) -> Vec<NotificationKind> {
        n.iter().map(|n| n.kind).collect()
    }

    fn seen(memory: &mut Memory, u: &Usage, now: i64) -> Vec<Notification> {
        let p = Observed {
            name: "work",
            usage: Some(u),
            sign_in: None,
        };
        news(memory, &p, 90, now)
    }

    #[test]
    fn a_limit_is_told_once_with_its_reset_then_available_again_once_it_passes() {
        let mut m = Memory::default();
        let limited = usage(100.0, 40.0, Some(NOW + 2 * HOUR));
        let told = seen(&mut m, &limited, NOW);
        assert_eq!(kinds(&told), [LimitReached]);
        assert!(told[0].body.contains("until its limit resets"), "{told:?}");
        assert!(seen(&mut m, &limited, NOW + 60).is_empty(), "never twice");
        // The same limit read again a few seconds off ("resets in N seconds").
        let again = usage(100.0, 40.0, Some(NOW + 2 * HOUR + 4));
        assert!(seen(&mut m, &again, NOW + 120).is_empty());
        // "Available again" waits for the latest end read.
        assert_eq!(m.pending_available(), Some(NOW + 2 * HOUR + 4));
        assert!(seen(&mut m, &limited, NOW + HOUR).is_empty());
        let after = NOW + 2 * HOUR + 5;
        let told = seen(&mut m, &usage(3.0, 41.0, None), after);
        assert_eq!(kinds(&told), [AvailableAgain]);
        assert_eq!(told[0].title, "'work' can be used again");
        assert!(seen(&mut m, &usage(3.0, 41.0, None), after + 60).is_empty());
        assert_eq!(m.pending_available(), None);
    }

    #[test]
    fn a_limit_from_before_is_not_news_and_a_new_one_is() {
        let mut m = Memory::default();
        // An old limit long over: nothing to say (the app was not running then).
        assert!(seen(&mut m, &usage(10.0, 10.0, Some(NOW - HOUR)), NOW).is_empty());
        // A limit that a later one replaces before it ends: only the new one is told, and
        // "available again" waits for the later end.
        assert_eq!(
            kinds(&seen(&mut m, &usage(100.0, 50.0, Some(NOW + HOUR)), NOW)),
            [LimitReached]
        );
        let longer = usage(100.0, 100.0, Some(NOW + 72 * HOUR));
        assert_eq!(
            kinds(&seen(&mut m, &longer, NOW + HOUR + 5)),
            [LimitReached]
        );
        assert_eq!(m.pending_available(), Some(NOW + 72 * HOUR));
    }

    #[test]
    fn a_used_up_window_is_a_limit_even_before_a_429() {
        let mut m = Memory::default();
        let told = seen(&mut m, &usage(100.0, 20.0, None), NOW);
        assert_eq!(kinds(&told), [LimitReached], "not a threshold as well");
        assert_eq!(told[0].id, format!("limit_reached:work:{}", NOW + 2 * HOUR));
    }

    #[test]
    fn a_threshold_is_told_once_per_window_and_reset() {
        let mut m = Memory::default();
        assert!(seen(&mut m, &usage(89.0, 10.0, None), NOW).is_empty());
        let told = seen(&mut m, &usage(91.0, 10.0, None), NOW);
        assert_eq!(kinds(&told), [Threshold]);
        assert!(told[0].body.contains("91% of its 5 h window"), "{told:?}");
        assert!(seen(&mut m, &usage(95.0, 10.0, None), NOW + 60).is_empty());
        // The weekly window crossing is its own news.
        let told = seen(&mut m, &usage(95.0, 92.0, None), NOW + 120);
        assert_eq!(kinds(&told), [Threshold]);
        assert!(told[0].body.contains("of its week window"), "{told:?}");
        // The 5 h window resets and fills up again: a new window, told again.
        let mut next = usage(93.0, 92.0, None);
        next.primary = window(93.0, 300, NOW + 7 * HOUR);
        assert_eq!(kinds(&seen(&mut m, &next, NOW + 6 * HOUR)), [Threshold]);
        // A lower threshold in the settings.
        let mut m = Memory::default();
        let p = Observed {
            name: "work",
            usage: Some(&usage(60.0, 10.0, None)),
            sign_in: None,
        };
        assert_eq!(kinds(&news(&mut m, &p, 50, NOW)), [Threshold]);
    }

    #[test]
    fn a_dead_login_is_told_once_per_token() {
        let mut m = Memory::default();
        let mark = SignInNeeded {
            code: "refresh_token_reused".into(),
            message: "the refresh token was already used".into(),
            at: "2027-01-15T08:00:00Z".into(),
            token_fingerprint: "abc123".into(),
        };
        let p = Observed {
            name: "work",
            usage: None,
            sign_in: Some(&mark),
        };
        let told = news(&mut m, &p, 90, NOW);
        assert_eq!(kinds(&told), [NeedsSignIn]);
        assert_eq!(
            told[0].body,
            "'work' needs a new sign-in: the refresh token was already used"
        );
        assert!(news(&mut m, &p, 90, NOW + 1).is_empty());
        let newer = SignInNeeded {
            token_fingerprint: "def456".into(),
            ..mark.clone()
        };
        let p = Observed {
            sign_in: Some(&newer),
            ..p
        };
        assert_eq!(kinds(&news(&mut m, &p, 90, NOW + 2)), [NeedsSignIn]);
    }

    #[test]
    fn a_failover_is_told_once_per_limit() {
        let mut m = Memory::default();
        let told = failover(&mut m, "work", "home", Some(NOW + HOUR)).unwrap();
        assert_eq!(told.kind, FailedOver);
        assert_eq!(told.title, "Requests moved to 'home'");
        assert!(
            told.body
                .starts_with("'work' reached its usage limit; requests now go to 'home'")
        );
        assert!(failover(&mut m, "work", "home", Some(NOW + HOUR + 2)).is_none());
        assert!(failover(&mut m, "work", "other", Some(NOW + 9 * HOUR)).is_some());
    }
}
