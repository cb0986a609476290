//! The checks, each with its figures. The run fails on:
//! - a request lost: no answer, a broken one, or an error not explained by a drop or stall
//!   the fake injected into that very request (an injected fault must end in a proper error);
//! - a request served as the wrong account: a pinned one as any other account than its
//!   profile's, an active-route one as an account whose profile was not active at any moment
//!   between its sending and its answer's head (per the switch timeline);
//! - a switch that failed, or far fewer switches than scheduled;
//! - a refresh token presented twice, a refresh refused, a token refreshed before half its
//!   lifetime, or more refreshes per account than that rule allows over the run;
//! - serve's resident memory or open files growing between the warm-up and the end;
//! - a profile's `auth.json` or `~/.codex/auth.json` not whole, or holding a refresh token
//!   the fake no longer accepts, `auth.json` not the active profile's login, a temp file left;
//! - serve not stopping cleanly on SIGTERM.

use crate::clients::{Answer, Kind, Outcome, Route};
use crate::options::Options;
use crate::serve::{Footprint, Stopped};
use crate::setup::identity;
use crate::slow::SlowFigures;
use crate::switcher::Timeline;
use codex_router_testkit::home::TempHome;
use codex_router_testkit::upstream::{FakeUpstream, StreamBehaviour};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

/// Slack around a request's window when matching it against the switch timeline.
const TIMELINE_TOLERANCE: Duration = Duration::from_millis(20);
/// Allowed resident-memory growth: end ≤ warm-up × 1.5 + this.
const RSS_SLACK_KIB: u64 = 5 * 1024;
/// Allowed growth of open file descriptors.
const FD_SLACK: usize = 8;
/// How early before half its life a token may be refreshed (clock reading jitter).
const HALF_LIFE_JITTER: Duration = Duration::from_millis(50);
/// Failures listed per check (the rest are counted).
const LISTED: usize = 8;
/// Prefix of the router's temp files (`core::files::TEMP_PREFIX`).
const TEMP_PREFIX: &str = ".codex-router-tmp-";

/// Everything the checks look at.
pub struct Evidence<'a> {
    /// The run's options.
    pub opts: &'a Options,
    /// The fake, with its request log and refresh bookkeeping.
    pub up: &'a FakeUpstream,
    /// The Codex home.
    pub home: &'a TempHome,
    /// Every request, in sending order.
    pub outcomes: &'a [Outcome],
    /// The switches.
    pub timeline: &'a Timeline,
    /// serve at the end of the warm-up and at the end, both with no traffic.
    pub warm: Footprint,
    /// See `warm`.
    pub end: Footprint,
    /// The highest figures sampled under traffic.
    pub peak: Footprint,
    /// What the slow clients saw.
    pub slow: SlowFigures,
    /// From the first tokens issued to serve's exit.
    pub elapsed: Duration,
    /// How serve stopped.
    pub serve: &'a Stopped,
}

/// The figures and the failures.
#[derive(Default)]
pub struct Report {
    lines: Vec<String>,
    failures: Vec<String>,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Prints the report and writes it to `path`.
    pub fn print(&self, path: &Path) {
        let mut text = self.lines.join("\n");
        text.push('\n');
        if self.passed() {
            text.push_str("\nPASSED: every check held\n");
        } else {
            text.push_str(&format!("\nFAILED: {} problem(s)\n", self.failures.len()));
            for f in &self.failures {
                text.push_str(&format!("  - {f}\n"));
            }
        }
        print!("{text}");
        if let Err(e) = std::fs::write(path, &text) {
            eprintln!("soak: cannot write {}: {e}", path.display());
        }
    }

    fn section(&mut self, title: &str) {
        self.lines.push(String::new());
        self.lines.push(format!("== {title}"));
    }

    fn row(&mut self, label: &str, value: impl std::fmt::Display) {
        self.lines.push(format!("  {label:<40} {value}"));
    }

    fn fail(&mut self, problem: String) {
        self.failures.push(problem);
    }

    /// Records up to [`LISTED`] of `problems` and a count of the rest.
    fn fail_all(&mut self, what: &str, problems: Vec<String>) {
        let n = problems.len();
        for p in problems.into_iter().take(LISTED) {
            self.fail(format!("{what}: {p}"));
        }
        if n > LISTED {
            self.fail(format!("{what}: … and {} more", n - LISTED));
        }
    }
}

/// Runs every check.
pub fn check(e: &Evidence) -> Report {
    let mut r = Report::default();
    let attempts = upstream_attempts(e.up);
    requests(e, &attempts, &mut r);
    accounts(e, &attempts, &mut r);
    switches(e, &mut r);
    refreshes(e, &mut r);
    resources(e, &mut r);
    slow_clients(e, &mut r);
    files(e, &mut r);
    r
}

/// serve's header-read timeout (also for idle keep-alives), which closes slow clients.
const HEADER_TIMEOUT: Duration = Duration::from_secs(15);

/// The slow clients were closed by serve, again and again, while the traffic was served.
fn slow_clients(e: &Evidence, r: &mut Report) {
    r.section("slow clients (silent, trickled headers, idle keep-alives, unfinished bodies)");
    r.row("clients", e.opts.slow_clients);
    r.row(
        "connections opened / closed by serve",
        format!("{} / {}", e.slow.opened, e.slow.closed_by_serve),
    );
    // Each runs for the whole traffic: it must have been closed at least once when that
    // lasted a few header timeouts.
    let expected = if e.opts.duration > HEADER_TIMEOUT * 3 {
        e.opts.slow_clients
    } else {
        0
    };
    if e.slow.closed_by_serve < expected {
        r.fail(format!(
            "serve closed only {} slow connections in {} s ({} slow clients): slow clients are held open",
            e.slow.closed_by_serve,
            e.opts.duration.as_secs(),
            e.opts.slow_clients
        ));
    }
}

/// What the upstream received for one client request.
struct Attempt {
    account_id: String,
    stream: Option<StreamBehaviour>,
}

impl Attempt {
    fn faulted(&self) -> bool {
        matches!(
            self.stream,
            Some(StreamBehaviour::Drop { .. } | StreamBehaviour::Stall { .. })
        )
    }
}

/// Model requests the fake received, by the soak tag in their body.
fn upstream_attempts(up: &FakeUpstream) -> HashMap<String, Vec<Attempt>> {
    let mut by_tag: HashMap<String, Vec<Attempt>> = HashMap::new();
    for req in up.requests_to("/backend-api/codex/responses") {
        let body = req.body_text();
        let Some(start) = body.find("[soak:") else {
            continue;
        };
        let Some(len) = body[start..].find(']') else {
            continue;
        };
        by_tag
            .entry(body[start..=start + len].to_owned())
            .or_default()
            .push(Attempt {
                account_id: req.header("chatgpt-account-id").unwrap_or("-").to_owned(),
                stream: req.stream,
            });
    }
    by_tag
}

/// Every request answered, and every error explained by a fault injected into it.
fn requests(e: &Evidence, attempts: &HashMap<String, Vec<Attempt>>, r: &mut Report) {
    r.section("requests");
    let mut by_kind: BTreeMap<Kind, [usize; 3]> = BTreeMap::new();
    let mut problems = Vec::new();
    let (mut attributed, mut faulted) = (0, 0);
    for o in e.outcomes {
        let tried = attempts.get(&o.tag).map(Vec::as_slice).unwrap_or_default();
        let fault = tried.iter().any(Attempt::faulted);
        faulted += usize::from(fault);
        let slot = by_kind.entry(o.kind).or_default();
        match &o.answer {
            Answer::Complete => {
                slot[0] += 1;
                if tried.is_empty() {
                    problems.push(format!(
                        "{} {} answered but never reached the upstream",
                        o.tag, o.kind
                    ));
                }
            }
            Answer::Error(msg) => {
                slot[1] += 1;
                if fault {
                    attributed += 1;
                } else {
                    problems.push(format!(
                        "{} {} failed with no fault injected: {msg}",
                        o.tag, o.kind
                    ));
                }
            }
            Answer::Broken(msg) => {
                slot[2] += 1;
                problems.push(format!(
                    "{} {} ({}): {msg}",
                    o.tag,
                    o.kind,
                    fault_note(tried)
                ));
            }
        }
    }
    for (kind, [ok, err, broken]) in &by_kind {
        r.row(
            &kind.to_string(),
            format!(
                "{:>6} sent, {ok} complete, {err} error, {broken} lost",
                ok + err + broken
            ),
        );
    }
    let pinned = e
        .outcomes
        .iter()
        .filter(|o| matches!(o.route, Route::Pinned(_)))
        .count();
    r.row(
        "all",
        format!(
            "{:>6} sent ({pinned} pinned, {} to the active profile)",
            e.outcomes.len(),
            e.outcomes.len() - pinned
        ),
    );
    let injected = |f: fn(&StreamBehaviour) -> bool| {
        let all = attempts.values().flatten();
        all.filter(|a| a.stream.as_ref().is_some_and(f)).count()
    };
    let drops = injected(|b| matches!(b, StreamBehaviour::Drop { .. }));
    let stalls = injected(|b| matches!(b, StreamBehaviour::Stall { .. }));
    r.row(
        "faults injected upstream",
        format!("{drops} drops, {stalls} stalls, into {faulted} requests"),
    );
    r.row(
        "errors explained by a fault",
        format!(
            "{attributed} (a faulted request completes when its fault comes after the last event)"
        ),
    );
    r.row("lost or unexplained", problems.len());
    latency(e.outcomes, r);
    r.fail_all("request", problems);
}

/// What the upstream did to a request, for a failure message.
fn fault_note(tried: &[Attempt]) -> String {
    match tried.iter().find(|a| a.faulted()).and_then(|a| a.stream) {
        Some(b) => format!("{b:?} injected"),
        None if tried.is_empty() => "never reached the upstream".into(),
        None => "no fault injected".into(),
    }
}

/// Latency figures, for complete answers and for all requests.
fn latency(outcomes: &[Outcome], r: &mut Report) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut all: Vec<Duration> = outcomes.iter().map(Outcome::latency).collect();
    let mut complete: Vec<Duration> = outcomes
        .iter()
        .filter(|o| o.answer == Answer::Complete)
        .map(Outcome::latency)
        .collect();
    for (label, v) in [
        ("latency, complete answers", &mut complete),
        ("latency, all requests", &mut all),
    ] {
        if v.is_empty() {
            continue;
        }
        v.sort();
        let avg = v.iter().sum::<Duration>() / v.len() as u32;
        let p99 = v[(v.len() * 99 / 100).min(v.len() - 1)];
        r.row(
            label,
            format!(
                "avg {:.1} ms, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                ms(avg),
                ms(v[v.len() / 2]),
                ms(p99),
                ms(v[v.len() - 1])
            ),
        );
    }
}

/// Each upstream attempt carried the account the request was entitled to.
fn accounts(e: &Evidence, attempts: &HashMap<String, Vec<Attempt>>, r: &mut Report) {
    r.section("accounts");
    let mut problems = Vec::new();
    let (mut pinned, mut active) = (0, 0);
    for o in e.outcomes {
        let Some(tried) = attempts.get(&o.tag) else {
            continue;
        };
        let from = o.sent - TIMELINE_TOLERANCE;
        let to = o.head.unwrap_or(o.done) + TIMELINE_TOLERANCE;
        for a in tried {
            let profile = a.account_id.strip_prefix("acct-").unwrap_or(&a.account_id);
            let right = match &o.route {
                Route::Pinned(name) => name == profile,
                Route::Active => e.timeline.possibly_active(profile, from, to),
            };
            match &o.route {
                Route::Pinned(_) => pinned += 1,
                Route::Active => active += 1,
            }
            if !right {
                problems.push(format!(
                    "{} {} ({:?}) reached the upstream as {}",
                    o.tag, o.kind, o.route, a.account_id
                ));
            }
        }
    }
    r.row(
        "upstream attempts checked",
        format!(
            "{} ({pinned} pinned, {active} active route)",
            pinned + active
        ),
    );
    r.row("served as the wrong account", problems.len());
    r.fail_all("wrong account", problems);
}

/// The switcher kept switching, and every switch worked.
fn switches(e: &Evidence, r: &mut Report) {
    r.section("switches (another process, `codex-router switch`)");
    let t = e.timeline;
    let failed: Vec<String> = t
        .records
        .iter()
        .filter(|s| !s.ok)
        .map(|s| format!("to {}: {}", s.to, s.error))
        .collect();
    let took: Vec<Duration> = t
        .records
        .iter()
        .map(|s| s.end.duration_since(s.start).unwrap_or_default())
        .collect();
    let scheduled = e.opts.duration.as_millis() / e.opts.switch_every.as_millis().max(1);
    r.row(
        "switches",
        format!(
            "{} ({} ok, {} failed; {scheduled} scheduled)",
            t.records.len(),
            t.succeeded(),
            failed.len()
        ),
    );
    if let Some(max) = took.iter().max() {
        let avg = took.iter().sum::<Duration>() / took.len() as u32;
        r.row(
            "time per switch",
            format!(
                "avg {:.1} ms, max {:.1} ms",
                avg.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3
            ),
        );
    }
    if (t.records.len() as u128) * 2 < scheduled {
        r.fail(format!(
            "only {} switches of {scheduled} scheduled",
            t.records.len()
        ));
    }
    r.fail_all("switch", failed);
}

/// No refresh token presented twice; none refreshed before half its life; no more
/// refreshes per account than that allows.
fn refreshes(e: &Evidence, r: &mut Report) {
    r.section(&format!(
        "refreshes (access tokens live {} s)",
        e.opts.ttl_secs
    ));
    let calls = e.up.refresh_calls();
    let secs = e.elapsed.as_secs_f64();
    // `exp` is whole seconds, so a token lives at least ttl - 1 s; at most one refresh per
    // half of that, plus the first.
    let min_life = (e.opts.ttl_secs - 1) as f64;
    let allowed = (secs / (min_life / 2.0)).floor() as usize + 1;
    r.row("run length", format!("{secs:.0} s: one refresh per lifetime would be {:.0}; the half-life rule allows {allowed}", secs / e.opts.ttl_secs as f64));
    let mut problems = Vec::new();
    for name in &e.opts.profiles {
        let account = identity(name).account_id;
        let mine: Vec<_> = calls.iter().filter(|c| c.account_id == account).collect();
        let refused = mine.iter().filter(|c| !c.accepted).count();
        let earliest = mine
            .iter()
            .filter_map(|c| Some(c.token_age?.as_secs_f64() / c.access_lifetime?.as_secs_f64()))
            .fold(f64::INFINITY, f64::min);
        r.row(name, format!("{:>4} refreshes (allowed {allowed}), {refused} refused, earliest at {:.0}% of a token's life", mine.len(), earliest * 100.0));
        if mine.len() > allowed {
            problems.push(format!(
                "{name}: {} refreshes in {secs:.0} s, more than the {allowed} allowed",
                mine.len()
            ));
        }
        if refused > 0 {
            problems.push(format!("{name}: {refused} refresh calls refused"));
        }
        for c in &mine {
            if let (Some(age), Some(life)) = (c.token_age, c.access_lifetime)
                && age + HALF_LIFE_JITTER < life / 2
            {
                problems.push(format!(
                    "{name}: a token refreshed {:.2} s into its {:.2} s life",
                    age.as_secs_f64(),
                    life.as_secs_f64()
                ));
            }
        }
    }
    let reused = e.up.reused_refresh_tokens();
    r.row("refresh tokens presented twice", reused.len());
    if !reused.is_empty() {
        problems.push(format!("{} refresh tokens presented twice", reused.len()));
    }
    r.fail_all("refresh", problems);
}

/// serve's memory and open files did not grow.
fn resources(e: &Evidence, r: &mut Report) {
    r.section("serve process (quiet samples: traffic stopped, connections closed)");
    let (w, end, peak) = (e.warm, e.end, e.peak);
    r.row(
        "VmRSS",
        format!(
            "{} KiB after warm-up, {} KiB at the end (peak {} KiB)",
            w.rss_kib, end.rss_kib, peak.rss_kib
        ),
    );
    r.row(
        "open fds",
        format!(
            "{} after warm-up, {} at the end (peak {})",
            w.fds, end.fds, peak.fds
        ),
    );
    if end.rss_kib > w.rss_kib * 3 / 2 + RSS_SLACK_KIB {
        r.fail(format!(
            "serve's memory grew from {} KiB to {} KiB",
            w.rss_kib, end.rss_kib
        ));
    }
    if end.fds > w.fds + FD_SLACK {
        r.fail(format!(
            "serve's open files grew from {} to {}",
            w.fds, end.fds
        ));
    }
    match e.serve.exit {
        Some(s) if s.success() => r.row("stop on SIGTERM", "clean exit"),
        Some(s) => r.fail(format!("serve exited with {s} on SIGTERM")),
        None => r.fail("serve did not stop on SIGTERM and was killed".into()),
    }
    r.row("WARN/ERROR log lines", e.serve.warnings.len());
    for w in e.serve.warnings.iter().take(5) {
        r.lines.push(format!("    {w}"));
    }
}

/// Every login on disk whole and alive, and `auth.json` the active profile's.
fn files(e: &Evidence, r: &mut Report) {
    r.section("files after the run");
    let mut problems = Vec::new();
    let mut live = |label: &str, path: &Path| -> Option<String> {
        match refresh_token(path) {
            Ok(rt) if e.up.is_refresh_token_live(&rt) => Some(rt),
            Ok(_) => {
                problems.push(format!("{label}: its refresh token is no longer accepted"));
                None
            }
            Err(why) => {
                problems.push(format!("{label}: {why}"));
                None
            }
        }
    };
    let mut tokens = HashMap::new();
    for name in &e.opts.profiles {
        if let Some(rt) = live(
            &format!("profiles/{name}/auth.json"),
            &e.home.profile_path(name),
        ) {
            tokens.insert(name.clone(), rt);
        }
    }
    let active = live("auth.json", &e.home.auth_path());
    let current =
        std::fs::read_to_string(e.home.path().join(".current_profile")).unwrap_or_default();
    let current = current.trim();
    if active.is_some() && tokens.get(current) != active.as_ref() {
        problems.push(format!(
            "auth.json does not hold the login of '{current}', the active profile"
        ));
    }
    let temps = temp_files(e.home.path());
    if !temps.is_empty() {
        problems.push(format!("temp files left: {}", temps.join(", ")));
    }
    r.row(
        "profiles whole with a live refresh token",
        format!("{} of {}", tokens.len(), e.opts.profiles.len()),
    );
    r.row(
        "auth.json",
        if active.is_some() {
            format!("whole, live, '{current}'")
        } else {
            "NOT OK".into()
        },
    );
    r.fail_all("files", problems);
}

/// The refresh token of a whole ChatGPT `auth.json`.
fn refresh_token(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("unreadable: {e}"))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("not whole JSON: {e}"))?;
    v.pointer("/tokens/refresh_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "no refresh token".into())
}

/// Temp files of the router's atomic writes left in the home or a profile folder.
fn temp_files(home: &Path) -> Vec<String> {
    let mut dirs = vec![home.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(home.join("profiles")) {
        dirs.push(home.join("profiles"));
        dirs.extend(entries.flatten().map(|e| e.path()));
    }
    dirs.iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(TEMP_PREFIX))
        .collect()
}
