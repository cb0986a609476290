//! Switching the active profile from another process: the soak starts itself as
//! `soak switcher ROUTER HOME EVERY_MS NAME…`, which runs `codex-router switch <name>` on a
//! fixed schedule and prints one timeline line per switch until its stdin closes. The
//! [`Timeline`] then says which profiles may have been active at any moment.

use crate::options::Options;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One `codex-router switch` run.
#[derive(Debug, Clone)]
pub struct SwitchRecord {
    /// Just before the process was started.
    pub start: SystemTime,
    /// Just after it exited.
    pub end: SystemTime,
    /// The profile switched to.
    pub to: String,
    /// Whether it exited 0.
    pub ok: bool,
    /// Its stderr's last line when it failed.
    pub error: String,
}

/// Every switch of a run, in order, and the profile active before the first.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Active when the run started.
    pub initial: String,
    /// The switches.
    pub records: Vec<SwitchRecord>,
}

impl Timeline {
    /// Whether `profile` may have been the active one at some moment in `[from, to]`. A
    /// profile may be active from the start of a switch to it (a failed one included) until
    /// the end of the next successful switch.
    pub fn possibly_active(&self, profile: &str, from: SystemTime, to: SystemTime) -> bool {
        let ok_end_after = |i: usize| self.records[i..].iter().find(|r| r.ok).map(|r| r.end);
        let overlaps = |begin: Option<SystemTime>, end: Option<SystemTime>| {
            begin.is_none_or(|b| b <= to) && end.is_none_or(|e| e >= from)
        };
        if self.initial == profile && overlaps(None, ok_end_after(0)) {
            return true;
        }
        self.records
            .iter()
            .enumerate()
            .any(|(i, r)| r.to == profile && overlaps(Some(r.start), ok_end_after(i + 1)))
    }

    /// Switches that exited 0.
    pub fn succeeded(&self) -> usize {
        self.records.iter().filter(|r| r.ok).count()
    }
}

/// The running switcher process.
pub struct Switcher {
    child: Child,
    stdin: ChildStdin,
    reader: JoinHandle<Vec<SwitchRecord>>,
    initial: String,
    log: PathBuf,
}

impl Switcher {
    /// Starts `soak switcher` for `home`; its timeline also goes to `out/switches.tsv`.
    pub fn start(opts: &Options, home: &Path) -> Result<Self, String> {
        let me = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut child = Command::new(me)
            .arg("switcher")
            .arg(&opts.router)
            .arg(home)
            .arg(opts.switch_every.as_millis().to_string())
            .args(&opts.profiles)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the switcher: {e}"))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| parse_line(&l))
                .collect()
        });
        Ok(Self {
            child,
            stdin,
            reader,
            initial: opts.profiles[0].clone(),
            log: opts.out.join("switches.tsv"),
        })
    }

    /// Closes its stdin (it finishes the switch under way and exits) and returns the timeline.
    pub fn stop(mut self) -> Result<Timeline, String> {
        drop(self.stdin);
        let status = self.child.wait().map_err(|e| format!("switcher: {e}"))?;
        let records = self.reader.join().map_err(|_| "switcher reader panicked")?;
        if !status.success() {
            return Err(format!("the switcher failed: {status}"));
        }
        let tsv: String = records.iter().map(format_line).collect();
        std::fs::write(&self.log, tsv).map_err(|e| format!("{}: {e}", self.log.display()))?;
        Ok(Timeline {
            initial: self.initial,
            records,
        })
    }
}

/// `start_ns end_ns name ok error`, tab-separated, times in nanoseconds since the epoch.
fn format_line(r: &SwitchRecord) -> String {
    let ns = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!(
        "{}\t{}\t{}\t{}\t{}\n",
        ns(r.start),
        ns(r.end),
        r.to,
        if r.ok { "ok" } else { "failed" },
        r.error.replace(['\t', '\n'], " ")
    )
}

fn parse_line(line: &str) -> Option<SwitchRecord> {
    let mut f = line.splitn(5, '\t');
    let mut time = || -> Option<SystemTime> {
        let ns: u64 = f.next()?.parse().ok()?;
        Some(UNIX_EPOCH + Duration::from_nanos(ns))
    };
    let (start, end) = (time()?, time()?);
    Some(SwitchRecord {
        start,
        end,
        to: f.next()?.to_owned(),
        ok: f.next()? == "ok",
        error: f.next().unwrap_or_default().to_owned(),
    })
}

/// `soak switcher ROUTER HOME EVERY_MS NAME…`: switches to a random other profile on a
/// fixed schedule until stdin closes; the first NAME is active at the start.
pub fn child_main(args: &[String]) -> ExitCode {
    let [router, home, every_ms, names @ ..] = args else {
        eprintln!("usage: soak switcher ROUTER HOME EVERY_MS NAME...");
        return ExitCode::from(2);
    };
    let Ok(every) = every_ms.parse().map(Duration::from_millis) else {
        eprintln!("soak switcher: EVERY_MS must be a number");
        return ExitCode::from(2);
    };
    if names.len() < 2 {
        eprintln!("soak switcher: needs at least two profiles");
        return ExitCode::from(2);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        flag.store(true, Ordering::SeqCst);
    });
    let mut current = 0;
    let mut next = Instant::now() + every;
    let mut out = std::io::stdout().lock();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        next = (next + every).max(Instant::now());
        if stop.load(Ordering::SeqCst) {
            break;
        }
        current = (current + rand::random_range(1..names.len())) % names.len();
        let record = switch(router, home, &names[current]);
        if out.write_all(format_line(&record).as_bytes()).is_err() || out.flush().is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}

/// Runs `codex-router switch <to>` once.
fn switch(router: &str, home: &str, to: &str) -> SwitchRecord {
    let start = SystemTime::now();
    let output = Command::new(router)
        .args(["switch", to])
        .env("CODEX_HOME", home)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output();
    let end = SystemTime::now();
    let (ok, error) = match output {
        Ok(o) if o.status.success() => (true, String::new()),
        Ok(o) => (
            false,
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("(no message)")
                .to_owned(),
        ),
        Err(e) => (false, e.to_string()),
    };
    SwitchRecord {
        start,
        end,
        to: to.to_owned(),
        ok,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    fn record(start: u64, end: u64, to: &str, ok: bool) -> SwitchRecord {
        SwitchRecord {
            start: at(start),
            end: at(end),
            to: to.into(),
            ok,
            error: String::new(),
        }
    }

    #[test]
    fn a_profile_may_be_active_from_its_switch_to_the_end_of_the_next_good_one() {
        let t = Timeline {
            initial: "a".into(),
            records: vec![
                record(100, 120, "b", true),
                record(200, 220, "c", false),
                record(300, 320, "a", true),
            ],
        };
        // "a" until the first switch ended, and again from 300.
        assert!(t.possibly_active("a", at(0), at(50)));
        assert!(t.possibly_active("a", at(110), at(115)));
        assert!(!t.possibly_active("a", at(121), at(299)));
        assert!(t.possibly_active("a", at(400), at(500)));
        // "b" from 100 to 320 (the failed switch to "c" may not have happened).
        assert!(!t.possibly_active("b", at(0), at(99)));
        assert!(t.possibly_active("b", at(310), at(400)));
        assert!(!t.possibly_active("b", at(321), at(400)));
        // "c" from the start of its failed switch until the next good one ended.
        assert!(t.possibly_active("c", at(250), at(260)));
        assert!(!t.possibly_active("c", at(0), at(199)));
        assert!(!t.possibly_active("c", at(321), at(400)));
        assert_eq!(t.succeeded(), 2);
    }

    #[test]
    fn timeline_lines_round_trip() {
        let r = record(1, 2, "b", false);
        let back = parse_line(format_line(&r).trim_end()).unwrap();
        assert_eq!(
            (back.start, back.end, back.to, back.ok),
            (r.start, r.end, r.to, r.ok)
        );
    }
}
