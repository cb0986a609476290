//! The commands that fit the program into a desktop: start at login (`autostart`), shell
//! completions and the man page (both generated from the command line's definitions).

use crate::Cli;
use clap::{CommandFactory, Subcommand};
use clap_complete::Shell;
use codex_router_core::autostart::{Autostart, AutostartState};
use std::io::Write;

/// Commands about the program itself rather than the profiles.
#[derive(Debug, Subcommand)]
pub enum DesktopCommand {
    /// Start the desktop app at login, in the tray with no window (an XDG autostart entry
    /// under $XDG_CONFIG_HOME/autostart); no argument: say whether it does
    Autostart {
        /// on or off
        #[arg(value_parser = ["on", "off"])]
        state: Option<String>,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell), e.g.
    /// `codex-router completions bash > ~/.local/share/bash-completion/completions/codex-router`
    Completions {
        /// The shell
        shell: Shell,
    },
    /// Print the man page (roff)
    #[command(hide = true)]
    Manpage,
}

/// Runs one of them; the error is the one-line message for stderr.
pub fn run(command: DesktopCommand) -> Result<(), String> {
    match command {
        DesktopCommand::Autostart { state } => autostart(state.as_deref()),
        DesktopCommand::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "codex-router", &mut text);
            print_all(&text)
        }
        DesktopCommand::Manpage => {
            let mut text = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut text)
                .map_err(|e| format!("cannot make the man page: {e}"))?;
            print_all(&text)
        }
    }
}

/// Writes `text` to stdout; a reader that stopped early (`| head`) is fine.
fn print_all(text: &[u8]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

fn autostart(state: Option<&str>) -> Result<(), String> {
    let entry = Autostart::from_env().map_err(|e| e.to_string())?;
    match state {
        Some("on") => entry.enable().map_err(|e| e.to_string())?,
        Some(_) => entry.disable().map_err(|e| e.to_string())?,
        None => {}
    }
    let now = entry.state().map_err(|e| e.to_string())?;
    println!("{}", entry.describe(&now));
    if state.is_none() && now == AutostartState::Off {
        println!("`codex-router autostart on` turns it on.");
    }
    Ok(())
}
