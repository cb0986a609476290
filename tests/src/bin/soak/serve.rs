//! The `codex-router serve` process under test: start, sample its memory and open files
//! from `/proc`, stop.

use crate::options::Options;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long serve gets to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long connections get to close before a quiet sample.
const SETTLE: Duration = Duration::from_millis(1500);

/// A running `codex-router serve`.
pub struct Serve {
    child: Child,
    base_url: String,
    log: PathBuf,
}

/// What serve left behind.
pub struct Stopped {
    /// How it exited (`None`: it had to be killed).
    pub exit: Option<std::process::ExitStatus>,
    /// WARN and ERROR lines in its log.
    pub warnings: Vec<String>,
}

/// Resident memory and open file descriptors of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    /// `VmRSS` in KiB.
    pub rss_kib: u64,
    /// Entries in `/proc/<pid>/fd`.
    pub fds: usize,
}

impl Serve {
    /// Starts serve on a free loopback port for `home` (its log goes to `out/serve.log`)
    /// and waits for its banner.
    pub fn start(opts: &Options, home: &Path) -> Result<Self, String> {
        let log = opts.out.join("serve.log");
        let log_file = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = Command::new(&opts.router)
            .args([
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--idle-timeout",
            ])
            .arg(opts.idle_timeout_secs.to_string())
            .env("CODEX_HOME", home)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", opts.router.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut banner = String::new();
        let _ = stdout.read_line(&mut banner);
        // serve prints a last line when it stops; keep reading so that never hits a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let Some(base_url) = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(|w| {
                w.trim_end_matches([',', ')'])
                    .trim_end_matches("/v1")
                    .to_owned()
            })
        else {
            let _ = child.kill();
            return Err(format!(
                "serve did not start (banner {banner:?}); see {}",
                log.display()
            ));
        };
        Ok(Self {
            child,
            base_url,
            log,
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT` (routes: `/v1/…`, `/p/<name>/v1/…`).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// A sampler of its memory and open files.
    pub fn sampler(&self) -> Sampler {
        Sampler {
            pid: self.pid(),
            peak: Arc::new(Mutex::new(Footprint::default())),
        }
    }

    /// SIGTERM, then waits for it to exit (kills it after a grace period).
    pub fn stop(mut self) -> Result<Stopped, String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + STOP_GRACE;
        let exit = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        let text = std::fs::read_to_string(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let warnings = text
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .map(str::to_owned)
            .collect();
        Ok(Stopped { exit, warnings })
    }
}

impl Drop for Serve {
    /// A soak that gives up half-way leaves no serve process behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Samples one process's [`Footprint`] and remembers the peak.
#[derive(Clone)]
pub struct Sampler {
    pid: u32,
    peak: Arc<Mutex<Footprint>>,
}

impl Sampler {
    /// Reads `/proc/<pid>/status` and `/proc/<pid>/fd` now.
    pub fn sample(&self) -> Result<Footprint, String> {
        let proc = PathBuf::from(format!("/proc/{}", self.pid));
        let status = std::fs::read_to_string(proc.join("status"))
            .map_err(|e| format!("serve is gone? /proc/{}/status: {e}", self.pid))?;
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or("no VmRSS in /proc/<pid>/status")?;
        let fds = std::fs::read_dir(proc.join("fd"))
            .map_err(|e| format!("/proc/{}/fd: {e}", self.pid))?
            .count();
        let usage = Footprint { rss_kib, fds };
        if let Ok(mut peak) = self.peak.lock() {
            peak.rss_kib = peak.rss_kib.max(rss_kib);
            peak.fds = peak.fds.max(fds);
        }
        Ok(usage)
    }

    /// Samples every `every` until aborted (for the peak).
    pub async fn run(self, every: Duration) {
        loop {
            let _ = self.sample();
            tokio::time::sleep(every).await;
        }
    }

    /// A sample taken once the traffic has stopped and connections had time to close.
    pub async fn quiet_sample(&self) -> Result<Footprint, String> {
        tokio::time::sleep(SETTLE).await;
        self.sample()
    }

    /// The highest figures seen so far.
    pub fn peak(&self) -> Footprint {
        self.peak.lock().map(|p| *p).unwrap_or_default()
    }
}
