//! `codex-router-app`: the desktop window and tray menu of Codex Router.

use codex_router_app::desktop::Desktop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

const USAGE: &str = "usage: codex-router-app [--no-tray] [--hidden]

Shows your Codex profiles in a window and a tray menu. --hidden starts in the tray with no
window (Open Window in the tray menu opens it; without a tray the window shows anyway).
CODEX_HOME picks the Codex folder (default ~/.codex); RUST_LOG sets the log filter
(default: warnings).";

fn main() {
    let (mut with_tray, mut hidden) = (true, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // For packaging: the icon as a PNG file.
            "--write-icon" => {
                let size = args.next().and_then(|s| s.parse::<u32>().ok());
                let (Some(size), Some(path)) =
                    (size.filter(|s| (8..=1024).contains(s)), args.next())
                else {
                    eprintln!("usage: codex-router-app --write-icon SIZE FILE");
                    std::process::exit(2);
                };
                if let Err(e) = codex_router_app::icon::write_png(size, path.as_ref()) {
                    eprintln!("codex-router-app: cannot write {path}: {e}");
                    std::process::exit(1);
                }
                return;
            }
            "--no-tray" => with_tray = false,
            "--hidden" => hidden = true,
            "--version" | "-V" => {
                println!("codex-router-app {}", env!("CARGO_PKG_VERSION"));
                return;
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return;
            }
            other => {
                eprintln!("codex-router-app: unknown argument '{other}'\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    init_logging();
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        eprintln!(
            "codex-router-app: no graphical session here (neither DISPLAY nor WAYLAND_DISPLAY is set); the `codex-router` command line does everything the app does"
        );
        std::process::exit(1);
    }
    // Before any thread starts, so every thread inherits the mask and only the waiter
    // below sees SIGTERM/SIGINT.
    let quit = Arc::new(AtomicBool::new(false));
    let ctx_slot: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
    quit_on_signals(quit.clone(), ctx_slot.clone());

    let size = 64;
    let icon = egui::IconData {
        rgba: codex_router_app::icon::rgba(size),
        width: size,
        height: size,
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Codex Router")
            .with_app_id("codex-router")
            .with_inner_size([1060.0, 760.0])
            .with_min_inner_size([560.0, 300.0])
            .with_icon(icon)
            .with_visible(!(hidden && with_tray)),
        ..Default::default()
    };
    let result = eframe::run_native(
        "Codex Router",
        options,
        Box::new(move |cc| {
            let _ = ctx_slot.set(cc.egui_ctx.clone());
            Ok(Box::new(Desktop::new(cc, None, quit, with_tray, hidden)))
        }),
    );
    if let Err(e) = result {
        eprintln!("codex-router-app: cannot open the window: {e}");
        std::process::exit(1);
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log redirected to a file stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// SIGTERM and SIGINT ask the window to close, so the app always exits the same clean way.
#[cfg(unix)]
fn quit_on_signals(quit: Arc<AtomicBool>, ctx: Arc<OnceLock<egui::Context>>) {
    // SAFETY: plain libc signal-set calls on a local set; the mask is set before any other
    // thread exists, and sigwait only reads the set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut signal = 0;
                if libc::sigwait(&set, &mut signal) == 0 {
                    tracing::info!(signal, "asked to quit");
                    quit.store(true, Ordering::SeqCst);
                    if let Some(ctx) = ctx.get() {
                        ctx.request_repaint();
                    }
                }
            });
    }
}

#[cfg(not(unix))]
fn quit_on_signals(_quit: Arc<AtomicBool>, _ctx: Arc<OnceLock<egui::Context>>) {}
