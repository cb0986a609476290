//! `codex-router`: manage several Codex logins from the command line.

mod auth_commands;
mod commands;
mod output;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Keep several OpenAI Codex accounts and switch between them.
#[derive(Debug, Parser)]
#[command(name = "codex-router", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List profiles: name, email, plan, account, token state, the active one marked
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Print the active profile's name
    Current,
    /// Make NAME the active login (saving newer tokens of the outgoing one first)
    Switch {
        /// The profile to switch to
        name: String,
        /// Switch even if the current login is saved in no profile (it is then lost)
        #[arg(long)]
        force: bool,
    },
    /// Save the active login (auth.json) as a new profile
    Save {
        /// The new profile's name
        name: String,
    },
    /// Rename a profile
    Rename {
        /// The current name
        old: String,
        /// The new name
        new: String,
    },
    /// Remove a profile (asks first; --yes when not on a terminal)
    Remove {
        /// The profile to remove
        name: String,
        /// Do not ask
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Refresh tokens now (every ChatGPT profile when no NAME is given)
    Refresh {
        /// The profile to refresh
        name: Option<String>,
    },
    /// Sign in to an account in the browser and save it as profile NAME
    Login {
        /// The new profile's name
        name: String,
        /// Print the sign-in URL instead of opening a browser
        #[arg(long)]
        no_browser: bool,
        /// Use a device code (for machines without a browser)
        #[arg(long, conflicts_with = "no_browser")]
        device: bool,
        /// Replace an existing profile NAME that holds another account
        #[arg(long)]
        force: bool,
        /// Callback port(s) to try instead of 1455 and 1457 (the real issuer accepts only those)
        #[arg(long = "callback-port", hide = true)]
        callback_ports: Vec<u16>,
    },
    /// Save an OpenAI API key as profile NAME (the key is read from stdin)
    AddKey {
        /// The new profile's name
        name: String,
        /// Replace an existing profile NAME
        #[arg(long)]
        force: bool,
    },
    /// Show the active login and its token state
    Status {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    init_tracing();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("codex-router: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
