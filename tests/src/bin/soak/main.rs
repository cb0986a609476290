//! `soak`: minutes of mixed traffic against `codex-router serve`, pointed at the fake upstream
//! on 127.0.0.1, while another process switches the active profile every half second, access
//! tokens live a few seconds and the fake cuts or stalls a fraction of the streams. It prints
//! a report and exits 1 when any check fails (see `checks.rs`), 2 when it could not run.
//!
//! `scripts/soak` builds the binaries and runs it; `soak --help` lists the options.
//! `soak switcher …` is the switching child process (started by the soak itself).

mod checks;
mod clients;
mod options;
mod serve;
mod setup;
mod slow;
mod switcher;

use checks::{Evidence, Report};
use clients::Outcome;
use codex_router_testkit::upstream::{FakeUpstream, StreamFaults};
use options::Options;
use serve::{Footprint, Serve};
use slow::{SlowClients, SlowFigures};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use switcher::Switcher;

/// The longest warm-up before the first resource sample (a quarter of shorter runs).
const WARM_UP: Duration = Duration::from_secs(20);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("switcher") {
        return switcher::child_main(&args[1..]);
    }
    let opts = match Options::parse(&args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{}", options::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("soak: {e}\n\n{}", options::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(report) if report.passed() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::from(2)
        }
    }
}

/// Sets everything up, runs the traffic, stops, checks and reports.
fn run(opts: &Options) -> Result<Report, String> {
    std::fs::create_dir_all(&opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    let up = FakeUpstream::start();
    up.set_access_ttl(opts.ttl_secs);
    let began = Instant::now();
    let home = setup::codex_home(&up, &opts.profiles, opts.ttl_secs);
    let serve = Serve::start(opts, home.path())?;
    up.set_stream_faults(StreamFaults {
        drop: opts.drop_rate,
        stall: opts.stall_rate,
        max_after_events: 5,
    });
    let switcher = Switcher::start(opts, home.path())?;
    println!(
        "soak: {} s of traffic from {} clients (and {} slow ones), {} profiles, tokens living {} s, a switch every {} ms, {:.0}% of streams cut and {:.0}% stalled; serve (pid {}) at {}; logs in {}",
        opts.duration.as_secs(),
        opts.clients,
        opts.slow_clients,
        opts.profiles.len(),
        opts.ttl_secs,
        opts.switch_every.as_millis(),
        opts.drop_rate * 100.0,
        opts.stall_rate * 100.0,
        serve.pid(),
        serve.base_url(),
        opts.out.display(),
    );
    let traffic = traffic(opts, &serve);
    // Stop the switcher and serve before reading the files they write.
    let timeline = switcher.stop();
    let stopped = serve.stop()?;
    let (mut outcomes, warm, end, peak, slow) = traffic?;
    let timeline = timeline?;
    outcomes.sort_by_key(|o| o.sent);
    let report = checks::check(&Evidence {
        opts,
        up: &up,
        home: &home,
        outcomes: &outcomes,
        timeline: &timeline,
        warm,
        end,
        peak,
        slow,
        elapsed: began.elapsed(),
        serve: &stopped,
    });
    report.print(&opts.out.join("report.txt"));
    Ok(report)
}

/// The requests of every client, serve's usage after the warm-up, at the end (both quiet:
/// no traffic, connections closed) and at its peak under traffic, and what the slow
/// clients saw.
type Traffic = (Vec<Outcome>, Footprint, Footprint, Footprint, SlowFigures);

/// Runs the clients for the warm-up, takes a quiet sample, runs them for the rest of the
/// duration, takes another.
fn traffic(opts: &Options, serve: &Serve) -> Result<Traffic, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let start = Instant::now();
    let warm_up = (opts.duration / 4).min(WARM_UP);
    let base = serve.base_url();
    let sampler = serve.sampler();
    rt.block_on(async {
        let peak = tokio::spawn(sampler.clone().run(Duration::from_secs(1)));
        // Slow clients run beside the traffic, stopped for the quiet samples.
        let addr = base
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let slow = SlowClients::start(opts.slow_clients, &addr);
        let mut outcomes = clients::run(opts, &base, start + warm_up).await;
        let first = slow.stop().await;
        let warm = sampler.quiet_sample().await?;
        let slow = SlowClients::start(opts.slow_clients, &addr);
        outcomes.extend(clients::run(opts, &base, start + opts.duration).await);
        let second = slow.stop().await;
        peak.abort();
        let end = sampler.quiet_sample().await?;
        let slow = SlowFigures {
            opened: first.opened + second.opened,
            closed_by_serve: first.closed_by_serve + second.closed_by_serve,
        };
        Ok((outcomes, warm, end, sampler.peak(), slow))
    })
}
