//! Sentences for moments: what to restart after a switch, what to do in an empty home or
//! without a login, what a sign-in or a set-up of Codex or Claude Code did. Every frontend
//! says the same.

use super::phrases::account_words;
use crate::claude_config::{ClaudeSetup, ClaudeSetupState, TOKEN_VAR};
use crate::codex_config::CredentialStore;
use crate::codex_config::provider::{KEY_ENV, PROVIDER_ID, Removal, SetupOutcome, SetupState};
use crate::login::LoginOutcome;
use crate::store::Stored;
use std::path::Path;
use std::time::Duration;

/// After a switch: Codex that is already running keeps the old login in memory.
pub const RESTART_HINT: &str = "Restart Codex to use the new login: anything already running keeps the old one until restarted (quit and start codex again; in VS Code run \"Developer: Reload Window\").";

/// After a failover: which account reached its limit, which one serves now, and when the
/// first one's limit resets (unix seconds), if known.
pub fn failed_over(from: &str, to: &str, resets_at: Option<i64>) -> String {
    let mut text = format!("'{from}' reached its usage limit; requests now go to '{to}'");
    if let Some(at) = resets_at {
        text.push_str(&format!(
            " (its limit resets {})",
            super::phrases::day_time(at)
        ));
    }
    text
}

/// When a profile's login died: it needs a new sign-in, and why.
pub fn needs_sign_in(profile: &str, message: &str) -> String {
    format!("'{profile}' needs a new sign-in: {message}")
}

/// When Codex's login is no profile: where that login is, and that it is not saved.
pub const UNSAVED_LOGIN: &str =
    "Codex's login (auth.json or its keyring entry) is not saved as a profile";

/// What to do when there are no profiles (the README's way in).
pub fn empty_home_hint(profiles_dir: &Path) -> String {
    format!(
        "No profiles in {} yet. Sign in to an account with `codex-router login NAME` (it is saved as profile NAME); \
         already signed in with Codex? `codex-router save NAME` keeps that login.",
        profiles_dir.display()
    )
}

/// Why there is no active login, where Codex keeps it: "not signed in: auth.json does not
/// exist", "not signed in: Codex's keyring entry holds no login", ….
pub fn not_signed_in(credentials: CredentialStore) -> String {
    let why = match credentials {
        CredentialStore::File => "auth.json does not exist",
        CredentialStore::Keyring => "Codex's keyring entry holds no login",
        CredentialStore::Auto => "neither Codex's keyring entry nor auth.json holds a login",
        CredentialStore::Ephemeral => {
            "Codex keeps its login in memory only (cli_auth_credentials_store = \"ephemeral\"), where the router can't see it"
        }
        CredentialStore::Encrypted => {
            "Codex keeps its login in an encrypted file (secret_auth_storage), which the router can't read"
        }
    };
    format!("not signed in: {why}")
}

/// What a finished sign-in did: "Signed in as alice@example.com (plus); saved as profile
/// 'work'."
pub fn login_summary(outcome: &LoginOutcome) -> String {
    let who = account_words(
        outcome.email.as_deref(),
        outcome.plan.as_deref(),
        "the account",
    );
    match &outcome.stored {
        Stored::Created(n) => format!("Signed in as {who}; saved as profile '{n}'."),
        Stored::UpdatedExisting(n) => format!(
            "Signed in as {who}, which is already saved as profile '{n}'; its tokens were updated."
        ),
        Stored::Replaced(n) => format!("Signed in as {who}; profile '{n}' was replaced."),
    }
}

/// What saving an API key as profile `asked` did.
pub fn api_key_summary(stored: &Stored, asked: &str) -> String {
    match stored {
        Stored::UpdatedExisting(n) if n != asked => {
            format!("This key is already saved as profile '{n}'.")
        }
        Stored::Replaced(n) => format!("Replaced profile '{n}' with the API key."),
        _ => format!("Saved the API key as profile '{asked}'."),
    }
}

/// What to do with a device code: where to enter it, and for how long it holds.
pub fn device_code_prompt(verification_url: &str, user_code: &str, lifetime: Duration) -> String {
    format!(
        "On any device, open {verification_url} and enter the code {user_code} (valid for {} minutes).",
        lifetime.as_secs() / 60
    )
}

/// What setting up Codex did, a sentence a line.
pub fn setup_summary(o: &SetupOutcome) -> Vec<String> {
    let (path, id, url) = (o.path.display(), &o.provider_id, &o.base_url);
    if !o.changed {
        return vec![if o.made_default {
            format!("{path} already uses Codex Router ({url}); nothing to change.")
        } else {
            format!("{path} already has the model provider '{id}' ({url}); nothing to change.")
        }];
    }
    let mut lines = vec![format!(
        "Added the model provider '{id}' ({url}) to {path}."
    )];
    if o.made_default {
        lines.push(
            "Codex now sends its requests to Codex Router: keep its endpoint running (`codex-router serve`, or the app's). \
             A switch takes effect at Codex's next request."
                .into(),
        );
    } else {
        lines.push(format!("Use it with `codex -c model_provider={id}`."));
    }
    if o.env_key {
        lines.push(format!(
            "Codex will send ${KEY_ENV} as the key: export it where Codex runs."
        ));
    }
    if let Some(chatgpt) = &o.chatgpt_base_url {
        lines.push(format!(
            "Codex's own ChatGPT calls (usage, plugins) go to {chatgpt}, as the account that serves its requests."
        ));
    }
    let pinned = id
        .strip_prefix(PROVIDER_ID)
        .and_then(|rest| rest.strip_prefix('-'))
        .map(|name| format!(" --profile {name}"))
        .unwrap_or_default();
    lines.push(format!(
        "To undo: `codex-router setup-codex --remove{pinned}`."
    ));
    lines
}

/// What removing the set-up did.
pub fn removal_summary(r: &Removal) -> String {
    let summary = removal_words(r);
    if r.chatgpt_restored {
        format!("{summary} Its chatgpt_base_url is as it was before the set-up.")
    } else {
        summary
    }
}

/// What removing the provider did.
fn removal_words(r: &Removal) -> String {
    let (path, id) = (r.path.display(), &r.provider_id);
    match (r.changed, r.default_removed, &r.restored) {
        (false, ..) => format!("{path} has no model provider '{id}'; nothing to remove."),
        (true, true, Some(previous)) => format!(
            "Removed the model provider '{id}' from {path}; Codex uses model_provider \"{previous}\" again."
        ),
        (true, true, None) => format!(
            "Removed the model provider '{id}' from {path}; Codex talks to its own provider again."
        ),
        (true, false, _) => format!("Removed the model provider '{id}' from {path}."),
    }
}

/// Whether Codex uses the router, in a sentence.
pub fn setup_state_words(s: &SetupState) -> String {
    let url = s.base_url.as_deref().unwrap_or("no URL");
    match (s.added, s.default, s.current) {
        (false, ..) => "Codex is not set up to use Codex Router.".into(),
        (true, true, true) if s.chatgpt => {
            format!("Codex sends its requests and its own ChatGPT calls to Codex Router ({url}).")
        }
        (true, true, true) => format!("Codex sends its requests to Codex Router ({url})."),
        (true, true, false) => format!(
            "Codex sends its requests to {url}, not where the router's settings say its endpoint listens; set it up again."
        ),
        (true, false, _) => format!(
            "Codex Router is a model provider of Codex ('{}', {url}) but not its default.",
            s.provider_id
        ),
    }
}

/// What setting up Claude Code (or removing that) did, a sentence a line.
pub fn claude_setup_summary(done: &ClaudeSetup) -> Vec<String> {
    let path = done.path.display();
    let mut lines = vec![match (&done.base_url, done.changed) {
        (Some(url), true) => format!("Claude Code now sends to {url} ({path})"),
        (Some(url), false) => format!("Claude Code already sends to {url} ({path})"),
        (None, true) => format!("Claude Code no longer uses the router ({path})"),
        (None, false) => format!("Claude Code was not set up to use the router ({path})"),
    }];
    if done.local_key {
        lines.push(format!(
            "The endpoint's local key is Claude Code's token ({TOKEN_VAR})."
        ));
    }
    lines
}

/// Whether Claude Code uses the router, in a sentence.
pub fn claude_state_words(s: &ClaudeSetupState) -> String {
    match (&s.base_url, s.current) {
        (None, _) => "Claude Code is not set up to use Codex Router.".into(),
        (Some(url), true) => format!("Claude Code sends its requests to Codex Router ({url})."),
        (Some(url), false) => format!(
            "Claude Code sends its requests to {url}, not where the router's settings say its endpoint listens; set it up again."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn login_results_in_words() {
        let outcome = |stored, email: Option<&str>| LoginOutcome {
            stored,
            email: email.map(str::to_owned),
            plan: Some("pro".into()),
        };
        assert_eq!(
            login_summary(&outcome(
                Stored::Created("dana".into()),
                Some("dana@example.com")
            )),
            "Signed in as dana@example.com (pro); saved as profile 'dana'."
        );
        assert_eq!(
            login_summary(&outcome(Stored::UpdatedExisting("d".into()), None)),
            "Signed in as the account, which is already saved as profile 'd'; its tokens were updated."
        );
        assert_eq!(
            api_key_summary(&Stored::UpdatedExisting("old".into()), "new"),
            "This key is already saved as profile 'old'."
        );
        assert_eq!(
            api_key_summary(&Stored::Created("new".into()), "new"),
            "Saved the API key as profile 'new'."
        );
    }

    #[test]
    fn no_login_says_where_codex_keeps_it() {
        assert_eq!(
            not_signed_in(CredentialStore::File),
            "not signed in: auth.json does not exist"
        );
        assert!(not_signed_in(CredentialStore::Keyring).contains("keyring entry holds no login"));
        assert!(not_signed_in(CredentialStore::Auto).contains("nor auth.json"));
        assert!(empty_home_hint(Path::new("/h/profiles")).contains("`codex-router login NAME`"));
    }

    #[test]
    fn setup_results_in_words() {
        let mut o = SetupOutcome {
            path: PathBuf::from("/h/config.toml"),
            provider_id: "codex-router-work".into(),
            base_url: "http://127.0.0.1:9876/p/work/v1".into(),
            changed: true,
            made_default: true,
            env_key: true,
            chatgpt_base_url: Some("http://127.0.0.1:9876/p/work/backend-api/".into()),
        };
        let lines = setup_summary(&o);
        assert_eq!(
            lines[0],
            "Added the model provider 'codex-router-work' (http://127.0.0.1:9876/p/work/v1) to /h/config.toml."
        );
        assert!(lines.iter().any(|l| l.contains("$CODEX_ROUTER_KEY")));
        assert!(lines.iter().any(|l| l.contains(
            "own ChatGPT calls (usage, plugins) go to http://127.0.0.1:9876/p/work/backend-api/"
        )));
        assert_eq!(
            lines.last().unwrap(),
            "To undo: `codex-router setup-codex --remove --profile work`."
        );
        o.changed = false;
        assert!(setup_summary(&o)[0].ends_with("nothing to change."));
        let removal = Removal {
            path: o.path.clone(),
            provider_id: "codex-router".into(),
            changed: true,
            default_removed: true,
            restored: Some("ollama".into()),
            chatgpt_restored: false,
        };
        assert_eq!(
            removal_summary(&removal),
            "Removed the model provider 'codex-router' from /h/config.toml; Codex uses model_provider \"ollama\" again."
        );
    }

    #[test]
    fn claude_setup_in_words() {
        let mut done = ClaudeSetup {
            path: PathBuf::from("/c/settings.json"),
            base_url: Some("http://127.0.0.1:9876/p/work".into()),
            local_key: true,
            changed: true,
        };
        assert_eq!(
            claude_setup_summary(&done),
            [
                "Claude Code now sends to http://127.0.0.1:9876/p/work (/c/settings.json)",
                "The endpoint's local key is Claude Code's token (ANTHROPIC_AUTH_TOKEN)."
            ]
        );
        done.base_url = None;
        done.local_key = false;
        assert_eq!(
            claude_setup_summary(&done),
            ["Claude Code no longer uses the router (/c/settings.json)"]
        );
        let state = ClaudeSetupState {
            path: done.path.clone(),
            base_url: None,
            current: false,
        };
        assert_eq!(
            claude_state_words(&state),
            "Claude Code is not set up to use Codex Router."
        );
    }
}
