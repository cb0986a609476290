//! Codex Router as a model provider in Codex's `config.toml` (`shared/protocol.md` §8):
//! adding it while keeping every other line (idempotent), removing exactly what was added,
//! and telling whether it is there. What `setup-codex` and the apps' "Set up Codex" do.

use super::{chatgpt_url, config_file};
use crate::files::{self, FileError};
use crate::home::{CodexHome, NameError, ProfileName};
use crate::settings::{ProxySettings, Settings, SettingsError};
use std::path::{Path, PathBuf};
use toml_edit::{DocumentMut, Item, Table, Value, value};

/// The provider id in `config.toml` (`openai` and the other built-in ids are reserved).
pub const PROVIDER_ID: &str = "codex-router";

/// The environment variable Codex sends as the key when asked to (`env_key`): the local
/// key of an endpoint that requires one.
pub const KEY_ENV: &str = "CODEX_ROUTER_KEY";

/// The start of the comment that keeps the `model_provider` a set-up replaced, so that
/// removing the set-up puts it back.
const REPLACED_NOTE: &str = "# codex-router replaced: model_provider = ";

/// What a set-up asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupOptions {
    /// The router's port (default: `proxy.port` of `router/state.json`, 9876).
    pub port: Option<u16>,
    /// Have Codex send [`KEY_ENV`] as the bearer (for an endpoint that requires the key).
    pub env_key: bool,
    /// Add the provider without making it Codex's default.
    pub no_default: bool,
    /// Pin the provider to this profile (`/p/NAME/v1`, provider `codex-router-NAME`)
    /// instead of following the active one.
    pub profile: Option<String>,
    /// Also point Codex's `chatgpt_base_url` at the router (`…/backend-api/`), so that
    /// Codex's own ChatGPT calls (usage, workspace discovery, plugins) go out as the
    /// serving account ([`super::chatgpt_url`]); `false` puts back what a set-up with it
    /// replaced.
    pub chatgpt: bool,
}

/// Why `config.toml` could not be read or updated; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// It is not valid TOML.
    #[error("{path} is not valid TOML, so it was left alone: {detail}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        detail: String,
    },
    /// A key the provider needs holds something that is not a table.
    #[error("{path}: `{key}` is not a table; fix it by hand")]
    NotATable {
        /// The file.
        path: String,
        /// The key.
        key: String,
    },
    /// The pinned profile's name is not a valid name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// Reading or writing failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// `router/state.json` could not be read.
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// What a set-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupOutcome {
    /// Codex's `config.toml`.
    pub path: PathBuf,
    /// The provider id written (`codex-router` or `codex-router-NAME`).
    pub provider_id: String,
    /// Where Codex now sends its requests through this provider.
    pub base_url: String,
    /// Whether the file changed (`false`: it was already set up so).
    pub changed: bool,
    /// Whether the provider is Codex's default (`model_provider`).
    pub made_default: bool,
    /// Whether Codex sends [`KEY_ENV`] as the key.
    pub env_key: bool,
    /// Codex's `chatgpt_base_url` now, when the set-up pointed it at the router.
    pub chatgpt_base_url: Option<String>,
}

/// What a removal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// Codex's `config.toml`.
    pub path: PathBuf,
    /// The provider id removed.
    pub provider_id: String,
    /// Whether the file changed (`false`: the provider was not there).
    pub changed: bool,
    /// Whether it was Codex's default provider (its `model_provider` line went too).
    pub default_removed: bool,
    /// The `model_provider` put back (the one the set-up had replaced), if any.
    pub restored: Option<String>,
    /// Whether `chatgpt_base_url` was the set-up's and was put back as it was.
    pub chatgpt_restored: bool,
}

/// Whether Codex is set up to use the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupState {
    /// Codex's `config.toml`.
    pub path: PathBuf,
    /// The provider id asked about.
    pub provider_id: String,
    /// Whether `config.toml` has the provider.
    pub added: bool,
    /// Whether it is Codex's default provider (`model_provider`).
    pub default: bool,
    /// The URL the provider sends to, when it is there.
    pub base_url: Option<String>,
    /// Whether Codex sends [`KEY_ENV`] as the key.
    pub env_key: bool,
    /// Whether `base_url` is the address in the router's settings now (a set-up with
    /// another `--port`, or a changed setting, makes it `false`).
    pub current: bool,
    /// Whether Codex's `chatgpt_base_url` is the router's (set up with `chatgpt`).
    pub chatgpt: bool,
}

/// The provider id for a profile: `codex-router`, or `codex-router-NAME` when pinned.
pub fn provider_id(profile: Option<&str>) -> String {
    match profile {
        Some(name) => format!("{PROVIDER_ID}-{name}"),
        None => PROVIDER_ID.to_owned(),
    }
}

/// The URL Codex should send to: the endpoint's address from the settings (a wildcard
/// host becomes loopback), `port` instead of the configured one, `/p/NAME/v1` for a
/// pinned profile.
pub fn base_url(proxy: &ProxySettings, port: Option<u16>, profile: Option<&ProfileName>) -> String {
    let port = port.unwrap_or(proxy.port);
    let host = match proxy.host.as_str() {
        "0.0.0.0" | "::" | "" => "127.0.0.1".to_owned(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_owned(),
    };
    match profile {
        Some(name) => format!("http://{host}:{port}/p/{name}/v1"),
        None => format!("http://{host}:{port}/v1"),
    }
}

/// Adds (or updates) the provider in `home`'s `config.toml`, creating the file when
/// missing; every other line stays as it was.
pub fn setup(home: &CodexHome, opts: &SetupOptions) -> Result<SetupOutcome, SetupError> {
    let profile = opts.profile.as_deref().map(ProfileName::new).transpose()?;
    let settings = Settings::load(home)?;
    let url = base_url(&settings.proxy, opts.port, profile.as_ref());
    let path = config_file(home);
    let existing = read(&path)?;
    let updated = updated_config(&existing, &url, opts, &path.display().to_string())?;
    let changed = updated != existing;
    if changed {
        files::ensure_dir(home.root())?;
        files::write_atomic(&path, updated.as_bytes())?;
    }
    Ok(SetupOutcome {
        path,
        provider_id: provider_id(opts.profile.as_deref()),
        changed,
        made_default: !opts.no_default,
        env_key: opts.env_key,
        chatgpt_base_url: opts.chatgpt.then(|| chatgpt_url::beside(&url)),
        base_url: url,
    })
}

/// Removes the provider (pinned to `profile`, or the one following the active profile)
/// from `home`'s `config.toml`, and its `model_provider` line, putting back the one the
/// set-up replaced. A file without the provider is left alone.
pub fn remove(home: &CodexHome, profile: Option<&str>) -> Result<Removal, SetupError> {
    let id = provider_id(profile);
    let path = config_file(home);
    let existing = read(&path)?;
    let shown = path.display().to_string();
    let before = parse(&existing, &shown)?;
    let default_removed = before.get("model_provider").and_then(Item::as_str) == Some(id.as_str());
    let chatgpt_restored = chatgpt_url::is_set(&before, profile);
    let (updated, restored) = config_without(&existing, &id, &shown)?;
    let changed = updated != existing;
    if changed {
        files::write_atomic(&path, updated.as_bytes())?;
    }
    Ok(Removal {
        path,
        provider_id: id,
        changed,
        default_removed,
        restored,
        chatgpt_restored,
    })
}

/// Whether `home`'s Codex uses the provider (pinned to `profile`, or the one following the
/// active profile). A missing `config.toml` means "not set up".
pub fn state(home: &CodexHome, profile: Option<&str>) -> Result<SetupState, SetupError> {
    let id = provider_id(profile);
    let path = config_file(home);
    let doc = parse(&read(&path)?, &path.display().to_string())?;
    let provider = doc
        .get("model_providers")
        .and_then(Item::as_table_like)
        .and_then(|t| t.get(&id))
        .and_then(Item::as_table_like);
    let text = |key: &str| {
        provider
            .and_then(|p| p.get(key))
            .and_then(Item::as_str)
            .map(str::to_owned)
    };
    let url = text("base_url");
    let pinned = profile.map(ProfileName::new).transpose()?;
    let expected = base_url(&Settings::load(home)?.proxy, None, pinned.as_ref());
    Ok(SetupState {
        path,
        added: provider.is_some(),
        default: doc.get("model_provider").and_then(Item::as_str) == Some(id.as_str()),
        current: url.as_deref() == Some(expected.as_str()),
        base_url: url,
        env_key: text("env_key").as_deref() == Some(KEY_ENV),
        chatgpt: chatgpt_url::is_set(&doc, profile),
        provider_id: id,
    })
}

/// The new `config.toml` text for `existing`: the provider block set, everything else kept.
/// A `model_provider` of the user's that it replaces is kept in a comment above the line.
pub fn updated_config(
    existing: &str,
    base_url: &str,
    opts: &SetupOptions,
    path: &str,
) -> Result<String, SetupError> {
    let mut doc = parse(existing, path)?;
    let id = provider_id(opts.profile.as_deref());
    if !opts.no_default {
        set_default(&mut doc, &id);
    }
    let providers = doc
        .entry("model_providers")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| not_a_table(path, "model_providers"))?;
    let provider = providers
        .entry(&id)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| not_a_table(path, &format!("model_providers.{id}")))?;
    provider["name"] = value(match &opts.profile {
        Some(name) => format!("Codex Router ({name})"),
        None => "Codex Router".to_owned(),
    });
    provider["base_url"] = value(base_url);
    provider["wire_api"] = value("responses");
    if opts.env_key {
        provider["env_key"] = value(KEY_ENV);
    } else {
        provider.remove("env_key");
    }
    if opts.chatgpt {
        chatgpt_url::set(&mut doc, &chatgpt_url::beside(base_url));
    } else {
        chatgpt_url::restore(&mut doc, opts.profile.as_deref());
    }
    Ok(doc.to_string())
}

/// The `config.toml` text for `existing` without provider `id`, and the `model_provider`
/// put back (the one its set-up replaced), if any.
pub fn config_without(
    existing: &str,
    id: &str,
    path: &str,
) -> Result<(String, Option<String>), SetupError> {
    let mut doc = parse(existing, path)?;
    let mut restored = None;
    let profile = id
        .strip_prefix(PROVIDER_ID)
        .and_then(|rest| rest.strip_prefix('-'));
    chatgpt_url::restore(&mut doc, profile);
    if doc.get("model_provider").and_then(Item::as_str) == Some(id) {
        let note = doc
            .key("model_provider")
            .and_then(|k| k.leaf_decor().prefix())
            .and_then(|p| p.as_str())
            .and_then(replaced_note);
        match note {
            Some((before, previous)) => {
                let item = doc.get_mut("model_provider").expect("checked above");
                if let Some(v) = item.as_value_mut() {
                    let decor = v.decor().clone();
                    *v = previous.clone();
                    *v.decor_mut() = decor;
                }
                if let Some(mut key) = doc.key_mut("model_provider") {
                    key.leaf_decor_mut().set_prefix(before);
                }
                restored = previous.as_str().map(str::to_owned);
            }
            None => {
                doc.remove("model_provider");
            }
        }
    }
    if let Some(providers) = doc
        .get_mut("model_providers")
        .and_then(Item::as_table_like_mut)
    {
        providers.remove(id);
        if providers.is_empty()
            && doc["model_providers"]
                .as_table()
                .is_some_and(Table::is_implicit)
        {
            doc.remove("model_providers");
        }
    }
    Ok((doc.to_string(), restored))
}

/// Sets `model_provider = "id"`, keeping a user's other value in a comment above it.
fn set_default(doc: &mut DocumentMut, id: &str) {
    let previous = doc.get("model_provider").and_then(Item::as_value).cloned();
    match previous {
        Some(v) if is_ours(&v) => {
            let decor = v.decor().clone();
            let mut new = Value::from(id);
            *new.decor_mut() = decor;
            doc["model_provider"] = Item::Value(new);
        }
        Some(v) => {
            let mut new = Value::from(id);
            *new.decor_mut() = v.decor().clone();
            doc["model_provider"] = Item::Value(new);
            let mut bare = v.clone();
            bare.decor_mut().clear();
            if let Some(mut key) = doc.key_mut("model_provider") {
                let before = key
                    .leaf_decor()
                    .prefix()
                    .and_then(|p| p.as_str())
                    .unwrap_or("")
                    .to_owned();
                key.leaf_decor_mut().set_prefix(format!(
                    "{before}{REPLACED_NOTE}{}\n",
                    bare.to_string().trim()
                ));
            }
        }
        None => doc["model_provider"] = value(id),
    }
}

/// Whether a `model_provider` value is one of the router's providers.
fn is_ours(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s == PROVIDER_ID || s.starts_with(&format!("{PROVIDER_ID}-")))
}

/// Splits a key's comment prefix into what was there before the set-up's note, and the
/// value the note keeps.
fn replaced_note(prefix: &str) -> Option<(String, Value)> {
    let start = prefix.rfind(REPLACED_NOTE)?;
    let line = prefix[start + REPLACED_NOTE.len()..].lines().next()?;
    let previous: Value = line.trim().parse().ok()?;
    Some((prefix[..start].to_owned(), previous))
}

fn not_a_table(path: &str, key: &str) -> SetupError {
    SetupError::NotATable {
        path: path.to_owned(),
        key: key.to_owned(),
    }
}

fn parse(text: &str, path: &str) -> Result<DocumentMut, SetupError> {
    text.parse()
        .map_err(|e: toml_edit::TomlError| SetupError::Parse {
            path: path.to_owned(),
            detail: e.to_string(),
        })
}

/// The file's text; a missing file reads as empty.
fn read(path: &Path) -> Result<String, SetupError> {
    match files::read_bounded(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| SetupError::Parse {
            path: path.display().to_string(),
            detail: "not UTF-8".into(),
        }),
        Err(e) if e.is_not_found() => Ok(String::new()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:9876/v1";

    fn pinned(name: &str) -> SetupOptions {
        SetupOptions {
            profile: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn adds_the_provider_and_keeps_everything_else() {
        let existing = "# my settings\nmodel = \"gpt-5.5\"  # favourite\n\n[profiles.fast]\nmodel = \"gpt-5.4-mini\"\n\n[model_providers.other]\nname = \"Other\"\nbase_url = \"http://x\"\n";
        let out = updated_config(existing, URL, &SetupOptions::default(), "c").unwrap();
        for line in existing.lines() {
            assert!(out.contains(line), "lost {line:?} in\n{out}");
        }
        let doc: DocumentMut = out.parse().unwrap();
        assert_eq!(doc["model_provider"].as_str(), Some(PROVIDER_ID));
        let p = &doc["model_providers"][PROVIDER_ID];
        assert_eq!(p["base_url"].as_str(), Some(URL));
        assert_eq!(p["wire_api"].as_str(), Some("responses"));
        assert_eq!(p["name"].as_str(), Some("Codex Router"));
        assert!(p.get("env_key").is_none());
        // model_provider stays a top-level key, before any table.
        let first_table = out.find('[').unwrap();
        assert!(out.find("model_provider =").unwrap() < first_table, "{out}");
        // Idempotent.
        let again = updated_config(&out, URL, &SetupOptions::default(), "c").unwrap();
        assert_eq!(again, out);
        // Removing gives back the file as it was.
        assert_eq!(
            config_without(&out, PROVIDER_ID, "c").unwrap(),
            (existing.to_owned(), None)
        );
    }

    #[test]
    fn empty_file_env_key_and_updates() {
        let opts = SetupOptions {
            env_key: true,
            ..Default::default()
        };
        let out = updated_config("", URL, &opts, "c").unwrap();
        let doc: DocumentMut = out.parse().unwrap();
        assert_eq!(
            doc["model_providers"][PROVIDER_ID]["env_key"].as_str(),
            Some("CODEX_ROUTER_KEY")
        );
        let moved = updated_config(
            &out,
            "http://127.0.0.1:1234/v1",
            &SetupOptions::default(),
            "c",
        )
        .unwrap();
        let doc: DocumentMut = moved.parse().unwrap();
        assert_eq!(
            doc["model_providers"][PROVIDER_ID]["base_url"].as_str(),
            Some("http://127.0.0.1:1234/v1")
        );
        assert!(doc["model_providers"][PROVIDER_ID].get("env_key").is_none());
        assert_eq!(moved.matches("[model_providers.codex-router]").count(), 1);
        assert_eq!(
            config_without(&moved, PROVIDER_ID, "c").unwrap().0.trim(),
            ""
        );
    }

    #[test]
    fn a_replaced_default_comes_back_on_removal() {
        let existing = "model_provider = \"ollama\"  # local\nmodel = \"m\"\n";
        let out = updated_config(existing, URL, &SetupOptions::default(), "c").unwrap();
        let doc: DocumentMut = out.parse().unwrap();
        assert_eq!(doc["model_provider"].as_str(), Some(PROVIDER_ID));
        assert!(out.contains("# local"), "{out}");
        assert!(out.contains("model_provider = \"ollama\""), "{out}");
        // Setting up again, or a pinned provider on top, keeps the user's value noted once.
        let again = updated_config(&out, URL, &SetupOptions::default(), "c").unwrap();
        assert_eq!(again, out);
        let work = updated_config(
            &out,
            "http://127.0.0.1:9876/p/work/v1",
            &pinned("work"),
            "c",
        )
        .unwrap();
        assert_eq!(work.matches("ollama").count(), 1, "{work}");
        let (back, restored) = config_without(&work, "codex-router-work", "c").unwrap();
        assert_eq!(restored.as_deref(), Some("ollama"));
        let (back, _) = config_without(&back, PROVIDER_ID, "c").unwrap();
        assert_eq!(back, existing);
        // Removing a provider that is not the default leaves model_provider alone.
        let (kept, restored) = config_without(&out, "codex-router-other", "c").unwrap();
        assert_eq!((kept, restored), (out.clone(), None));
    }

    #[test]
    fn a_pinned_profile_gets_its_own_provider() {
        let out =
            updated_config("", "http://127.0.0.1:9876/p/work/v1", &pinned("work"), "c").unwrap();
        let doc: DocumentMut = out.parse().unwrap();
        assert_eq!(doc["model_provider"].as_str(), Some("codex-router-work"));
        let p = &doc["model_providers"]["codex-router-work"];
        assert_eq!(
            p["base_url"].as_str(),
            Some("http://127.0.0.1:9876/p/work/v1")
        );
        assert_eq!(p["name"].as_str(), Some("Codex Router (work)"));
    }

    #[test]
    fn chatgpt_base_url_follows_the_set_up_and_comes_back() {
        let existing = "chatgpt_base_url = \"https://chatgpt.com/backend-api/\"\nmodel = \"m\"\n";
        let opts = SetupOptions {
            chatgpt: true,
            ..Default::default()
        };
        let out = updated_config(existing, URL, &opts, "c").unwrap();
        let doc: DocumentMut = out.parse().unwrap();
        assert_eq!(
            doc["chatgpt_base_url"].as_str(),
            Some("http://127.0.0.1:9876/backend-api/")
        );
        assert_eq!(updated_config(&out, URL, &opts, "c").unwrap(), out);
        // A set-up without it puts Codex's own back; so does removing the provider.
        let without = updated_config(&out, URL, &SetupOptions::default(), "c").unwrap();
        assert!(without.contains("chatgpt_base_url = \"https://chatgpt.com/backend-api/\""));
        assert!(
            !without.contains("codex-router replaced: chatgpt"),
            "{without}"
        );
        assert_eq!(config_without(&out, PROVIDER_ID, "c").unwrap().0, existing);
        // Pinned: its own URL under /p/NAME.
        let work = SetupOptions {
            chatgpt: true,
            ..pinned("work")
        };
        let out = updated_config("", "http://127.0.0.1:9876/p/work/v1", &work, "c").unwrap();
        assert!(out.contains("chatgpt_base_url = \"http://127.0.0.1:9876/p/work/backend-api/\""));
        assert_eq!(config_without(&out, PROVIDER_ID, "c").unwrap().0, out);
        assert_eq!(
            config_without(&out, "codex-router-work", "c")
                .unwrap()
                .0
                .trim(),
            ""
        );
    }

    #[test]
    fn broken_toml_is_left_alone() {
        let err = updated_config("model = [", URL, &SetupOptions::default(), "c").unwrap_err();
        assert!(matches!(err, SetupError::Parse { .. }));
        let err =
            updated_config("model_providers = 3", URL, &SetupOptions::default(), "c").unwrap_err();
        assert!(matches!(err, SetupError::NotATable { .. }));
        assert!(matches!(
            config_without("model = [", PROVIDER_ID, "c"),
            Err(SetupError::Parse { .. })
        ));
    }

    #[test]
    fn wildcard_and_ipv6_hosts_become_urls_codex_can_reach() {
        let mut proxy = ProxySettings::default();
        assert_eq!(base_url(&proxy, Some(1), None), "http://127.0.0.1:1/v1");
        proxy.host = "0.0.0.0".into();
        assert_eq!(base_url(&proxy, None, None), "http://127.0.0.1:9876/v1");
        proxy.host = "::1".into();
        let work = ProfileName::new("work").unwrap();
        assert_eq!(
            base_url(&proxy, None, Some(&work)),
            "http://[::1]:9876/p/work/v1"
        );
    }
}
