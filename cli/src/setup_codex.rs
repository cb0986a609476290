//! `setup-codex`: adds Codex Router as a model provider to Codex's `config.toml`
//! (`shared/protocol.md` §8), keeping every other line, and idempotent.

use codex_router_core::files;
use codex_router_core::home::CodexHome;
use codex_router_core::settings::Settings;
use toml_edit::{DocumentMut, Item, Table, value};

/// The provider id in `config.toml` (`openai` and the other built-in ids are reserved).
pub const PROVIDER_ID: &str = "codex-router";

/// What `setup-codex` was asked for.
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// The router's port (default from state.json: 9876).
    pub port: Option<u16>,
    /// Send `CODEX_ROUTER_KEY` as the bearer (for `serve --require-key`).
    pub env_key: bool,
    /// Add the provider without making it Codex's default.
    pub no_default: bool,
    /// Pin the provider to this profile (`/p/NAME/v1`, provider `codex-router-NAME`)
    /// instead of following the active one.
    pub profile: Option<String>,
}

impl SetupOptions {
    /// The provider id: `codex-router`, or `codex-router-NAME` for a pinned profile.
    pub fn provider_id(&self) -> String {
        match &self.profile {
            Some(name) => format!("{PROVIDER_ID}-{name}"),
            None => PROVIDER_ID.to_owned(),
        }
    }
}

/// Why `config.toml` could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// It is not valid TOML; nothing was changed.
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
    /// Reading or writing failed.
    #[error(transparent)]
    File(#[from] files::FileError),
    /// The settings could not be read.
    #[error("{0}")]
    Settings(String),
}

/// The new `config.toml` text for `existing`: the provider block set, everything else kept.
pub fn updated_config(
    existing: &str,
    base_url: &str,
    opts: &SetupOptions,
    path: &str,
) -> Result<String, SetupError> {
    let mut doc: DocumentMut =
        existing
            .parse()
            .map_err(|e: toml_edit::TomlError| SetupError::Parse {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
    let id = opts.provider_id();
    if !opts.no_default {
        doc["model_provider"] = value(id.as_str());
    }
    let providers = doc
        .entry("model_providers")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| SetupError::NotATable {
            path: path.to_owned(),
            key: "model_providers".into(),
        })?;
    let provider = providers
        .entry(&id)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| SetupError::NotATable {
            path: path.to_owned(),
            key: format!("model_providers.{id}"),
        })?;
    provider["name"] = value(match &opts.profile {
        Some(name) => format!("Codex Router ({name})"),
        None => "Codex Router".to_owned(),
    });
    provider["base_url"] = value(base_url);
    provider["wire_api"] = value("responses");
    if opts.env_key {
        provider["env_key"] = value(crate::serve::ENV_KEY);
    } else {
        provider.remove("env_key");
    }
    Ok(doc.to_string())
}

/// `setup-codex`.
pub fn setup_codex(home: &CodexHome, opts: &SetupOptions) -> Result<(), String> {
    run(home, opts).map_err(|e| e.to_string())
}

fn run(home: &CodexHome, opts: &SetupOptions) -> Result<(), SetupError> {
    let settings = Settings::load(home).map_err(|e| SetupError::Settings(e.to_string()))?;
    let port = opts.port.unwrap_or(settings.proxy.port);
    let host = match settings.proxy.host.as_str() {
        "0.0.0.0" | "::" | "" => "127.0.0.1".to_owned(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_owned(),
    };
    let base_url = match &opts.profile {
        Some(name) => {
            let name = codex_router_core::home::ProfileName::new(name)
                .map_err(|e| SetupError::Settings(e.to_string()))?;
            format!("http://{host}:{port}/p/{name}/v1")
        }
        None => format!("http://{host}:{port}/v1"),
    };
    let id = opts.provider_id();
    let path = home.root().join("config.toml");
    let shown = path.display().to_string();
    let existing = match files::read_bounded(&path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| SetupError::Parse {
            path: shown.clone(),
            detail: "not UTF-8".into(),
        })?,
        Err(e) if e.is_not_found() => String::new(),
        Err(e) => return Err(e.into()),
    };
    let updated = updated_config(&existing, &base_url, opts, &shown)?;
    if updated == existing {
        println!("{shown} already uses Codex Router ({base_url}); nothing to change.");
        return Ok(());
    }
    files::ensure_dir(home.root())?;
    files::write_atomic(&path, updated.as_bytes())?;
    println!("Added the model provider '{id}' ({base_url}) to {shown}.");
    if opts.no_default {
        println!("Use it with `codex -c model_provider={id}`.");
    } else {
        println!(
            "Codex now sends its requests to Codex Router: keep `codex-router serve` running. A switch takes effect at Codex's next request."
        );
        println!("To undo, remove the line `model_provider = \"{id}\"` from {shown}.");
    }
    if opts.env_key {
        println!(
            "Codex will send ${} as the key: export it where Codex runs.",
            crate::serve::ENV_KEY
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:9876/v1";

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
    }

    #[test]
    fn a_pinned_profile_gets_its_own_provider() {
        let opts = SetupOptions {
            profile: Some("work".into()),
            ..Default::default()
        };
        let out = updated_config("", "http://127.0.0.1:9876/p/work/v1", &opts, "c").unwrap();
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
    fn broken_toml_is_left_alone() {
        let err = updated_config("model = [", URL, &SetupOptions::default(), "c").unwrap_err();
        assert!(matches!(err, SetupError::Parse { .. }));
        let err =
            updated_config("model_providers = 3", URL, &SetupOptions::default(), "c").unwrap_err();
        assert!(matches!(err, SetupError::NotATable { .. }));
    }
}
