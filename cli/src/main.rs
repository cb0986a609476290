//! `codex-router`: manage several Codex logins from the command line.

mod auth_commands;
mod commands;
mod desktop_commands;
mod output;
mod serve;
mod usage_command;

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
    /// Save Codex's active login (auth.json or its keyring entry) as a new profile
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
    /// Each account's usage with a forecast per window; --history: the recorded samples
    Usage {
        /// Only this profile
        name: Option<String>,
        /// Print the samples kept in profiles/<name>/usage-history.jsonl (30 days)
        #[arg(long)]
        history: bool,
        /// Print JSON (an array)
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV with a header row (with --history)
        #[arg(long, requires = "history")]
        csv: bool,
    },
    /// Run the local OpenAI-compatible endpoint (http://127.0.0.1:9876/v1) until Ctrl-C
    Serve {
        /// Address to listen on (loopback unless you say otherwise)
        #[arg(long)]
        host: Option<String>,
        /// Port (0 = any free port)
        #[arg(long)]
        port: Option<u16>,
        /// Also listen on this port, for tools that expect Ollama at http://localhost:11434
        /// (also "proxy": {"ollama_port": N} in router/state.json; 0 = any free port)
        #[arg(long, value_name = "N")]
        ollama_port: Option<u16>,
        /// Require the local key (env CODEX_ROUTER_KEY or "proxy.key" in router/state.json)
        #[arg(long)]
        require_key: bool,
        /// Seconds to wait for each chunk of an upstream answer before ending it with an error
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
        idle_timeout: Option<u64>,
        /// Largest request body, in MiB (default 32)
        #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=4096))]
        max_body_mib: Option<u64>,
        /// When the active account hits its usage limit, retry on the next account (also
        /// "failover": {"enabled": true} in router/state.json)
        #[arg(long)]
        failover: bool,
    },
    /// Turn failover on or off for every running endpoint (router/state.json); no argument:
    /// show whether it is on
    Failover {
        /// on or off
        #[arg(value_parser = ["on", "off"])]
        state: Option<String>,
    },
    /// Add Codex Router as a model provider to Codex's config.toml (keeping every other line);
    /// --remove takes it out again
    SetupCodex {
        /// The port `serve` listens on (default: router/state.json, else 9876)
        #[arg(long)]
        port: Option<u16>,
        /// Have Codex send $CODEX_ROUTER_KEY (for `serve --require-key`)
        #[arg(long)]
        env_key: bool,
        /// Add the provider without making it Codex's default
        #[arg(long)]
        no_default: bool,
        /// Always use profile NAME through this provider, whatever is active
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        /// Also point Codex's chatgpt_base_url at the router, so that Codex's own ChatGPT
        /// calls (usage, plugins, workspace discovery) go out as the serving account
        #[arg(long)]
        chatgpt: bool,
        /// Remove what setup-codex added (the provider of --profile NAME, if given), putting
        /// back the model_provider and chatgpt_base_url it replaced
        #[arg(long, conflicts_with_all = ["port", "env_key", "no_default", "chatgpt"])]
        remove: bool,
    },
    /// Point Claude Code at the endpoint's Messages routes (env.ANTHROPIC_BASE_URL in
    /// ~/.claude/settings.json, keeping every other key); --remove takes it out again
    SetupClaude {
        /// The port `serve` listens on (default: router/state.json, else 9876)
        #[arg(long)]
        port: Option<u16>,
        /// Always use profile NAME for Claude Code, whatever is active
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        /// Remove what setup-claude added
        #[arg(long, conflicts_with_all = ["port", "profile"])]
        remove: bool,
    },
    #[command(flatten)]
    Desktop(desktop_commands::DesktopCommand),
}

fn main() -> ExitCode {
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
    // `serve` logs one line per request; the other commands only warnings.
    init_tracing(if matches!(cli.command, Command::Serve { .. }) {
        "warn,codex_router=info,codex_router_core=info"
    } else {
        "warn"
    });
    let result = match cli.command {
        // These need no Codex home.
        Command::Desktop(command) => desktop_commands::run(command),
        command => commands::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("codex-router: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log redirected to a file stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
