//! Command-line options of the soak.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: soak [--duration SECS] [--clients N] [--profiles N] [--ttl SECS] [--faults FRACTION]
            [--switch-ms MS] [--idle-timeout SECS] [--slow-clients N] [--router PATH]
            [--out DIR]

  --duration SECS      how long the traffic runs (default 180, or $SOAK_DURATION)
  --clients N          concurrent clients (default 6)
  --profiles N         ChatGPT profiles, 2-6 (default 4)
  --ttl SECS           access token lifetime (default 5)
  --faults FRACTION    fraction of streams cut, and the same fraction stalled (default 0.03)
  --switch-ms MS       a switch starts every MS milliseconds (default 500)
  --idle-timeout SECS  serve's --idle-timeout, which ends stalled streams (default 3)
  --slow-clients N     connections alongside that stay silent, trickle their headers, idle
                       after one answer or never finish a body (default 8)
  --router PATH        the codex-router binary (default: next to this one)
  --out DIR            where serve.log, switches.tsv and report.txt go (default target/soak)";

/// Profile names, in the order they are used.
const NAMES: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];

/// What the soak was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long the traffic runs.
    pub duration: Duration,
    /// Concurrent clients.
    pub clients: usize,
    /// Profile names (each one a ChatGPT account of the same name); the first starts active.
    pub profiles: Vec<String>,
    /// Lifetime of every access token the fake issues.
    pub ttl_secs: i64,
    /// Fraction of streams the fake cuts.
    pub drop_rate: f64,
    /// Fraction of streams the fake stalls.
    pub stall_rate: f64,
    /// A switch starts this often (at once when the previous one took longer).
    pub switch_every: Duration,
    /// serve's `--idle-timeout`.
    pub idle_timeout_secs: u64,
    /// Slow clients beside the traffic.
    pub slow_clients: usize,
    /// The `codex-router` binary.
    pub router: PathBuf,
    /// Where logs and the report go.
    pub out: PathBuf,
}

impl Options {
    /// Parses the arguments; `Ok(None)` for `--help`.
    pub fn parse(args: &[String]) -> Result<Option<Self>, String> {
        let duration = match std::env::var("SOAK_DURATION") {
            Ok(v) => number(&v, "SOAK_DURATION")?,
            Err(_) => 180,
        };
        let mut o = Self {
            duration: Duration::from_secs(duration),
            clients: 6,
            profiles: names(4)?,
            ttl_secs: 5,
            drop_rate: 0.03,
            stall_rate: 0.03,
            switch_every: Duration::from_millis(500),
            idle_timeout_secs: 3,
            slow_clients: 8,
            router: default_router()?,
            out: PathBuf::from("target/soak"),
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                return Ok(None);
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--duration" => o.duration = Duration::from_secs(number(value, flag)?),
                "--clients" => o.clients = number(value, flag)?.max(1) as usize,
                "--profiles" => o.profiles = names(number(value, flag)? as usize)?,
                "--ttl" => o.ttl_secs = number(value, flag)? as i64,
                "--faults" => {
                    let f: f64 = value
                        .parse()
                        .ok()
                        .filter(|f| (0.0..=0.5).contains(f))
                        .ok_or_else(|| format!("{flag} takes a fraction from 0 to 0.5"))?;
                    (o.drop_rate, o.stall_rate) = (f, f);
                }
                "--switch-ms" => o.switch_every = Duration::from_millis(number(value, flag)?),
                "--idle-timeout" => o.idle_timeout_secs = number(value, flag)?.max(1),
                "--slow-clients" => o.slow_clients = number(value, flag)? as usize,
                "--router" => o.router = PathBuf::from(value),
                "--out" => o.out = PathBuf::from(value),
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        if o.ttl_secs < 2 {
            return Err("--ttl must be at least 2 seconds".into());
        }
        Ok(Some(o))
    }
}

fn number(value: &str, what: &str) -> Result<u64, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{what} takes a whole number, not '{value}'"))
}

fn names(n: usize) -> Result<Vec<String>, String> {
    if !(2..=NAMES.len()).contains(&n) {
        return Err(format!("--profiles takes 2 to {}", NAMES.len()));
    }
    Ok(NAMES[..n].iter().map(|s| (*s).to_owned()).collect())
}

/// `codex-router` next to this executable (both live in `target/<profile>/`).
fn default_router() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    Ok(me.with_file_name("codex-router"))
}
