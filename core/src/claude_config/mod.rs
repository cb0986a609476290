//! Claude Code's `settings.json` (`~/.claude/settings.json`, or under `CLAUDE_CONFIG_DIR`)
//! pointed at the router's Messages routes: `env.ANTHROPIC_BASE_URL` set to the endpoint
//! (`/p/NAME` for a pinned profile) and `env.ANTHROPIC_AUTH_TOKEN` to the local key when the
//! endpoint requires one, else a placeholder; every other key kept, the file written
//! atomically (0600). What `setup-claude` does, and `--remove` undoes.

use crate::files::{self, FileError};
use crate::home::{CodexHome, NameError, ProfileName};
use crate::settings::{Settings, SettingsError};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The variable with the endpoint's address.
pub const BASE_URL_VAR: &str = "ANTHROPIC_BASE_URL";

/// The variable with the key Claude Code sends (as `Authorization: Bearer`).
pub const TOKEN_VAR: &str = "ANTHROPIC_AUTH_TOKEN";

/// The token written when the endpoint requires no key (Claude Code wants one).
pub const PLACEHOLDER_TOKEN: &str = "codex-router";

/// Why Claude Code's settings could not be read or updated; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ClaudeSetupError {
    /// The file is not a JSON object (or its `env` is not one).
    #[error("{path} is not valid Claude Code settings, so it was left alone: {detail}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// Neither `CLAUDE_CONFIG_DIR` nor `HOME` is set.
    #[error("cannot find Claude Code's folder: neither CLAUDE_CONFIG_DIR nor HOME is set")]
    NoFolder,
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

/// What a set-up or removal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeSetup {
    /// Claude Code's `settings.json`.
    pub path: PathBuf,
    /// The address Claude Code now sends to (`None` after a removal).
    pub base_url: Option<String>,
    /// Whether the local key was written as the token (the endpoint requires it).
    pub local_key: bool,
    /// Whether the file changed.
    pub changed: bool,
}

/// Whether Claude Code is set up to use the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudeSetupState {
    /// Claude Code's `settings.json`.
    pub path: PathBuf,
    /// Its `ANTHROPIC_BASE_URL`, when it points at this machine (what [`remove`] takes out).
    pub base_url: Option<String>,
    /// Whether `base_url` is the endpoint in the router's settings now (or a profile pinned
    /// under it); a set-up with another port, or a changed setting, makes it `false`.
    pub current: bool,
}

/// Claude Code's folder: `CLAUDE_CONFIG_DIR`, else `~/.claude`.
pub fn claude_dir() -> Result<PathBuf, ClaudeSetupError> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    match (var("CLAUDE_CONFIG_DIR"), var("HOME")) {
        (Some(dir), _) => Ok(PathBuf::from(dir)),
        (None, Some(home)) => Ok(PathBuf::from(home).join(".claude")),
        (None, None) => Err(ClaudeSetupError::NoFolder),
    }
}

/// The address of the endpoint for Claude Code (its SDK adds `/v1/messages`): the settings'
/// host and port (`port` instead, when given), `/p/NAME` for a pinned profile.
pub fn base_url(settings: &Settings, port: Option<u16>, profile: Option<&ProfileName>) -> String {
    let v1 = crate::codex_config::provider::base_url(&settings.proxy, port, profile);
    v1.trim_end_matches("/v1").to_owned()
}

/// Points Claude Code (settings in `claude_dir`) at the endpoint of `home`'s settings,
/// pinned to `profile` when given.
pub fn setup(
    home: &CodexHome,
    claude_dir: &Path,
    port: Option<u16>,
    profile: Option<&str>,
) -> Result<ClaudeSetup, ClaudeSetupError> {
    let profile = profile.map(ProfileName::new).transpose()?;
    let settings = Settings::load(home)?;
    let url = base_url(&settings, port, profile.as_ref());
    let key = settings
        .proxy
        .key
        .as_ref()
        .filter(|_| settings.proxy.require_key);
    let token = key.map_or(PLACEHOLDER_TOKEN, |k| k.expose());
    let path = claude_dir.join("settings.json");
    let changed = update(&path, |env| {
        env.insert(BASE_URL_VAR.into(), Value::String(url.clone()));
        env.insert(TOKEN_VAR.into(), Value::String(token.to_owned()));
    })?;
    Ok(ClaudeSetup {
        path,
        base_url: Some(url),
        local_key: key.is_some(),
        changed,
    })
}

/// Takes the router out of Claude Code's settings (in `claude_dir`): `ANTHROPIC_BASE_URL`
/// when it points at a loopback address, and the token with it; an `env` left empty goes
/// too. Anything else is left alone.
pub fn remove(claude_dir: &Path) -> Result<ClaudeSetup, ClaudeSetupError> {
    let path = claude_dir.join("settings.json");
    let changed = update(&path, |env| {
        let ours = env
            .get(BASE_URL_VAR)
            .and_then(Value::as_str)
            .is_some_and(is_loopback_url);
        if ours {
            env.remove(BASE_URL_VAR);
            env.remove(TOKEN_VAR);
        }
    })?;
    Ok(ClaudeSetup {
        path,
        base_url: None,
        local_key: false,
        changed,
    })
}

/// Whether Claude Code (settings in `claude_dir`) sends to the endpoint of `home`'s
/// settings. A missing `settings.json` means "not set up".
pub fn state(home: &CodexHome, claude_dir: &Path) -> Result<ClaudeSetupState, ClaudeSetupError> {
    let path = claude_dir.join("settings.json");
    let doc = match files::read_bounded(&path) {
        Ok(bytes) => {
            serde_json::from_slice::<Value>(&bytes).map_err(|e| ClaudeSetupError::Invalid {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?
        }
        Err(e) if e.is_not_found() => Value::Null,
        Err(e) => return Err(e.into()),
    };
    let url = doc
        .pointer(&format!("/env/{BASE_URL_VAR}"))
        .and_then(Value::as_str)
        .filter(|u| is_loopback_url(u))
        .map(str::to_owned);
    let expected = base_url(&Settings::load(home)?, None, None);
    let current = url.as_deref().is_some_and(|u| {
        u == expected
            || u.strip_prefix(expected.as_str())
                .is_some_and(|rest| rest.starts_with("/p/"))
    });
    Ok(ClaudeSetupState {
        path,
        base_url: url,
        current,
    })
}

/// Whether `url` is an `http://` address on this machine.
fn is_loopback_url(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Reads `path` (a missing file is `{}`), lets `edit` change its `env`, and writes it back
/// atomically when anything changed; whether it did.
fn update(
    path: &Path,
    edit: impl FnOnce(&mut Map<String, Value>),
) -> Result<bool, ClaudeSetupError> {
    let shown = path.display().to_string();
    let invalid = |detail: String| ClaudeSetupError::Invalid {
        path: shown.clone(),
        detail,
    };
    let mut doc = match files::read_bounded(path) {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes).map_err(|e| invalid(e.to_string()))?,
        Err(e) if e.is_not_found() => Value::Object(Map::new()),
        Err(e) => return Err(e.into()),
    };
    let before = doc.clone();
    let root = doc
        .as_object_mut()
        .ok_or_else(|| invalid("it is not a JSON object".into()))?;
    let env = root
        .entry("env")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| invalid("env is not an object".into()))?;
    edit(env);
    if env.is_empty() {
        root.remove("env");
    }
    if doc == before {
        return Ok(false);
    }
    let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| invalid(e.to_string()))?;
    bytes.push(b'\n');
    files::write_atomic(path, &bytes)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn dirs(state: Option<&str>) -> (tempfile::TempDir, CodexHome, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let home = CodexHome::at(dir.path().join("codex"));
        std::fs::create_dir_all(home.router_dir()).unwrap();
        if let Some(s) = state {
            std::fs::write(home.state_file(), s).unwrap();
        }
        let claude = dir.path().join("claude");
        (dir, home, claude)
    }

    fn read(path: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn setup_keeps_every_other_key_and_remove_undoes_it() {
        let (_d, home, claude) = dirs(None);
        std::fs::create_dir_all(&claude).unwrap();
        let file = claude.join("settings.json");
        std::fs::write(
            &file,
            r#"{"model": "opus", "env": {"DISABLE_TELEMETRY": "1"}, "permissions": {"allow": ["Bash(ls)"]}}"#,
        )
        .unwrap();
        let done = setup(&home, &claude, None, None).unwrap();
        assert!(done.changed && !done.local_key);
        assert_eq!(done.base_url.as_deref(), Some("http://127.0.0.1:9876"));
        assert_eq!(
            read(&file),
            json!({"model": "opus",
                   "env": {"DISABLE_TELEMETRY": "1", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9876",
                           "ANTHROPIC_AUTH_TOKEN": "codex-router"},
                   "permissions": {"allow": ["Bash(ls)"]}})
        );
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!setup(&home, &claude, None, None).unwrap().changed);

        let pinned = setup(&home, &claude, Some(4000), Some("work")).unwrap();
        assert_eq!(
            pinned.base_url.as_deref(),
            Some("http://127.0.0.1:4000/p/work")
        );

        assert!(remove(&claude).unwrap().changed);
        assert_eq!(
            read(&file),
            json!({"model": "opus", "env": {"DISABLE_TELEMETRY": "1"},
                   "permissions": {"allow": ["Bash(ls)"]}})
        );
        assert!(!remove(&claude).unwrap().changed);
    }

    #[test]
    fn state_says_whether_claude_code_sends_here() {
        let (_d, home, claude) = dirs(Some(r#"{"proxy": {"port": 4321}}"#));
        let none = state(&home, &claude).unwrap();
        assert!(none.base_url.is_none() && !none.current);
        setup(&home, &claude, None, Some("work")).unwrap();
        let pinned = state(&home, &claude).unwrap();
        assert_eq!(
            pinned.base_url.as_deref(),
            Some("http://127.0.0.1:4321/p/work")
        );
        assert!(pinned.current);
        setup(&home, &claude, Some(1234), None).unwrap();
        let elsewhere = state(&home, &claude).unwrap();
        assert!(elsewhere.base_url.is_some() && !elsewhere.current);
        std::fs::write(
            claude.join("settings.json"),
            r#"{"env": {"ANTHROPIC_BASE_URL": "https://gateway.example"}}"#,
        )
        .unwrap();
        assert!(state(&home, &claude).unwrap().base_url.is_none());
    }

    #[test]
    fn the_local_key_is_the_token_when_required() {
        let (_d, home, claude) = dirs(Some(
            r#"{"proxy": {"port": 5555, "require_key": true, "key": "local-secret-key"}}"#,
        ));
        let done = setup(&home, &claude, None, None).unwrap();
        assert!(done.local_key);
        let doc = read(&claude.join("settings.json"));
        assert_eq!(doc["env"]["ANTHROPIC_AUTH_TOKEN"], "local-secret-key");
        assert_eq!(doc["env"]["ANTHROPIC_BASE_URL"], "http://127.0.0.1:5555");
        // Removing leaves no env behind when nothing else was in it.
        remove(&claude).unwrap();
        assert_eq!(read(&claude.join("settings.json")), json!({}));
    }

    #[test]
    fn broken_or_foreign_settings_are_left_alone() {
        let (_d, home, claude) = dirs(None);
        std::fs::create_dir_all(&claude).unwrap();
        let file = claude.join("settings.json");
        std::fs::write(&file, "{not json").unwrap();
        assert!(matches!(
            setup(&home, &claude, None, None),
            Err(ClaudeSetupError::Invalid { .. })
        ));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{not json");
        std::fs::write(
            &file,
            r#"{"env": {"ANTHROPIC_BASE_URL": "https://gateway.example"}}"#,
        )
        .unwrap();
        assert!(!remove(&claude).unwrap().changed);
        assert!(matches!(
            setup(&home, &claude, None, Some("../x")),
            Err(ClaudeSetupError::Name(_))
        ));
    }
}
