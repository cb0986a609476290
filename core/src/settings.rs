//! The router's settings in `router/state.json`: defaults when the file is missing, a
//! clear error when it is broken, and the environment wins over the file.

use crate::files::{self, FileError};
use crate::home::CodexHome;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Environment variable for the API-key upstream.
pub const ENV_OPENAI_BASE_URL: &str = "CODEX_ROUTER_OPENAI_BASE_URL";
/// Environment variable for the ChatGPT upstream.
pub const ENV_CHATGPT_BASE_URL: &str = "CODEX_ROUTER_CHATGPT_BASE_URL";
/// Environment variable for the OAuth issuer.
pub const ENV_AUTH_ISSUER: &str = "CODEX_ROUTER_AUTH_ISSUER";

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error(transparent)]
    File(#[from] FileError),
    /// The file is not valid settings.
    #[error("{path} is broken ({detail}); fix or delete it to use the defaults")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

/// All settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The local endpoint.
    pub proxy: ProxySettings,
    /// Where requests and sign-ins go.
    pub upstream: UpstreamSettings,
    /// Token refresh.
    pub refresh: RefreshSettings,
    /// Usage figures.
    pub usage: UsageSettings,
    /// Moving to another account when the active one hits its usage limit.
    pub failover: FailoverSettings,
    /// Anthropic's Messages API on the local endpoint (Claude Code).
    pub anthropic: AnthropicSettings,
    /// Which desktop notifications the apps show.
    pub notifications: NotificationSettings,
    /// Which Codex the router presents itself as.
    pub codex: CodexSettings,
    /// How outgoing connections go out: a company proxy and extra root certificates.
    pub network: NetworkSettings,
    /// Sections added by newer versions, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Settings of the local endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxySettings {
    /// The address to listen on (loopback unless told otherwise).
    pub host: String,
    /// The port.
    pub port: u16,
    /// Whether the desktop app starts the endpoint when it starts.
    pub start_with_app: bool,
    /// Whether other local users may use the endpoint without a local key (off: their
    /// connections get 403; Linux tells who owns a loopback connection).
    pub allow_other_users: bool,
    /// Whether every request must carry the local key (`serve --require-key` forces it).
    pub require_key: bool,
    /// The local key clients send as their API key; `CODEX_ROUTER_KEY` wins over it.
    pub key: Option<Secret>,
    /// A second port, on the same host, for tools that expect Ollama at its default
    /// `http://localhost:11434` (`serve --ollama-port`); the same routes and guards as `port`.
    pub ollama_port: Option<u16>,
    /// Settings added by newer versions, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 9876,
            start_with_app: false,
            allow_other_users: false,
            require_key: false,
            key: None,
            ollama_port: None,
            extra: Map::new(),
        }
    }
}

/// The upstream URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpstreamSettings {
    /// The OpenAI API, for API-key profiles.
    pub openai_base_url: String,
    /// The ChatGPT backend, for ChatGPT profiles.
    pub chatgpt_base_url: String,
    /// The OAuth issuer.
    pub auth_issuer: String,
    /// Settings added by newer versions, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            openai_base_url: "https://api.openai.com/v1".into(),
            chatgpt_base_url: "https://chatgpt.com/backend-api/codex".into(),
            auth_issuer: "https://auth.openai.com".into(),
            extra: Map::new(),
        }
    }
}

/// The Codex CLI version the router presents itself as by default: the newest Codex its tests
/// run against (the backend hides its newest models from clients that do not send a matching
/// `originator` and `version`, and refuses versions too old for them). `codex.version` in
/// `router/state.json` overrides it ([`CodexSettings::version`]).
pub const CODEX_VERSION: &str = "0.171.0";

/// Which Codex the router presents itself as to the ChatGPT backend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CodexSettings {
    /// The version that goes out (`version` header, `User-Agent`, the model list's
    /// `client_version`); `None`: [`CODEX_VERSION`]. For when the backend asks for a newer
    /// Codex than the router knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Settings added by newer versions, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CodexSettings {
    /// The Codex version that goes out: `version`, else [`CODEX_VERSION`].
    pub fn version(&self) -> &str {
        self.version.as_deref().unwrap_or(CODEX_VERSION)
    }
}

/// Whether `v` looks like a Codex version: `MAJOR.MINOR.PATCH` with an optional pre-release
/// (`0.172.0-alpha.3`), at most 32 characters.
fn is_codex_version(v: &str) -> bool {
    let (core, pre) = v.split_once('-').unwrap_or((v, ""));
    let numbers: Vec<&str> = core.split('.').collect();
    v.len() <= 32
        && numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && pre
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// How outgoing connections go out (every call to OpenAI: model requests, WebSockets, token
/// refresh, sign-in, usage). Each key can also come from the environment, which wins (the
/// apps don't inherit a shell's environment, so they need the file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkSettings {
    /// The proxy for `https://` URLs (`HTTPS_PROXY`, `https_proxy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub https_proxy: Option<String>,
    /// The proxy for `http://` URLs (`HTTP_PROXY`, `http_proxy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_proxy: Option<String>,
    /// The proxy for both when the one of the scheme is not set (`ALL_PROXY`, `all_proxy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_proxy: Option<String>,
    /// Hosts reached directly: comma-separated names (with their subdomains), IP addresses or
    /// networks (`10.0.0.0/8`), or `*` (`NO_PROXY`, `no_proxy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
    /// A PEM file of extra root certificates, trusted besides the bundled and the system
    /// ones (`CODEX_CA_CERTIFICATE`, else `SSL_CERT_FILE`, as Codex reads them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<String>,
    /// Which environment variable set each value (not in the file).
    #[serde(skip)]
    pub from_env: NetworkEnv,
    /// Settings added by newer versions, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The environment variable each network value came from; `None`: `router/state.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkEnv {
    /// Of [`NetworkSettings::https_proxy`].
    pub https_proxy: Option<&'static str>,
    /// Of [`NetworkSettings::http_proxy`].
    pub http_proxy: Option<&'static str>,
    /// Of [`NetworkSettings::all_proxy`].
    pub all_proxy: Option<&'static str>,
    /// Of [`NetworkSettings::no_proxy`].
    pub no_proxy: Option<&'static str>,
    /// Of [`NetworkSettings::ca_certificate`].
    pub ca_certificate: Option<&'static str>,
}

/// The environment variables of a company CA bundle, in Codex's order (the first set wins).
pub const ENV_CA_CERTIFICATE: [&str; 2] = ["CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"];

impl NetworkSettings {
    /// Lets the environment win over the file, key by key: the upper-case variable, then
    /// the lower-case one (an empty value counts as unset).
    fn apply_env(&mut self, env: &impl Fn(&str) -> Option<String>) {
        let from_env = &mut self.from_env;
        for (vars, slot, source) in [
            (
                &["HTTPS_PROXY", "https_proxy"][..],
                &mut self.https_proxy,
                &mut from_env.https_proxy,
            ),
            (
                &["HTTP_PROXY", "http_proxy"],
                &mut self.http_proxy,
                &mut from_env.http_proxy,
            ),
            (
                &["ALL_PROXY", "all_proxy"],
                &mut self.all_proxy,
                &mut from_env.all_proxy,
            ),
            (
                &["NO_PROXY", "no_proxy"],
                &mut self.no_proxy,
                &mut from_env.no_proxy,
            ),
            (
                &ENV_CA_CERTIFICATE,
                &mut self.ca_certificate,
                &mut from_env.ca_certificate,
            ),
        ] {
            for var in vars {
                if let Some(v) = env(var).filter(|v| !v.trim().is_empty()) {
                    *slot = Some(v);
                    *source = Some(var);
                    break;
                }
            }
        }
    }
}

/// Token refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshSettings {
    /// Whether long-running processes refresh tokens before they expire.
    pub proactive: bool,
    /// How long before `exp` to refresh, in seconds.
    pub margin_seconds: u64,
    /// Settings added by newer versions, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        Self {
            proactive: true,
            margin_seconds: 300,
            extra: Map::new(),
        }
    }
}

/// Usage figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UsageSettings {
    /// How often long-running processes fetch every account's usage, in minutes (0: never;
    /// the active account's figures still come with every proxied answer).
    pub refresh_minutes: u64,
    /// Settings added by newer versions, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for UsageSettings {
    fn default() -> Self {
        Self {
            refresh_minutes: 5,
            extra: Map::new(),
        }
    }
}

/// Failover: a request the active account cannot serve because of its usage limit is
/// retried on another ChatGPT account (off by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FailoverSettings {
    /// Whether the proxy fails over at all.
    pub enabled: bool,
    /// Profiles to try first, in this order; the others follow in name order.
    pub order: Vec<String>,
    /// Whether the active profile (`auth.json`) follows the proxy to the other account;
    /// `false`: only the proxy uses it and `auth.json` is left alone.
    pub follow_active: bool,
    /// Settings added by newer versions, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for FailoverSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            order: Vec::new(),
            follow_active: true,
            extra: Map::new(),
        }
    }
}

/// Desktop notifications (the desktop app's, and the Swift app's through the FFI): each kind
/// can be turned off; all are on by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationSettings {
    /// An account reached its usage limit (and when it resets).
    pub limit_reached: bool,
    /// An account that was limited can be used again.
    pub available_again: bool,
    /// An account used `threshold_percent` of a usage window.
    pub threshold: bool,
    /// The share of a window (1–100) from which [`NotificationSettings::threshold`] tells.
    pub threshold_percent: u8,
    /// The local endpoint moved requests to another account.
    pub failed_over: bool,
    /// A login needs a new sign-in.
    pub needs_sign_in: bool,
    /// Settings added by newer versions, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            limit_reached: true,
            available_again: true,
            threshold: true,
            threshold_percent: 90,
            failed_over: true,
            needs_sign_in: true,
            extra: Map::new(),
        }
    }
}

/// Anthropic's Messages API on the local endpoint: which Codex model serves a Claude model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnthropicSettings {
    /// Claude model names to Codex models. A key is an exact model name
    /// (`claude-sonnet-4-5-20250929`), a family (`opus`, `sonnet`, `haiku`: any Claude model
    /// whose name contains it) or `*` (any other Claude model); exact names win, then the
    /// longest family. A name that is not a Claude model (not starting with `claude`) goes to
    /// the backend as it is.
    pub models: std::collections::BTreeMap<String, ClaudeModelTarget>,
    /// Settings added by newer versions, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The Codex model (and reasoning effort) that serves a Claude model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaudeModelTarget {
    /// The Codex model, e.g. `gpt-5.5`.
    pub model: String,
    /// The reasoning effort when the request does not ask for thinking (`low`, `medium`,
    /// `high`); `None`: the model's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
}

impl Default for AnthropicSettings {
    /// `opus` → `gpt-5.5` at high effort, `sonnet` → `gpt-5.5` at medium effort, `haiku` →
    /// `gpt-5.4-mini` at low effort, any other Claude model (`*`) → `gpt-5.5` at medium
    /// effort.
    fn default() -> Self {
        let target = |model: &str, effort: &str| ClaudeModelTarget {
            model: model.into(),
            effort: Some(effort.into()),
        };
        Self {
            models: [
                ("*".to_owned(), target("gpt-5.5", "medium")),
                ("opus".to_owned(), target("gpt-5.5", "high")),
                ("sonnet".to_owned(), target("gpt-5.5", "medium")),
                ("haiku".to_owned(), target("gpt-5.4-mini", "low")),
            ]
            .into(),
            extra: Map::new(),
        }
    }
}

impl AnthropicSettings {
    /// The Codex model serving `model`: an exact entry, else the longest family whose name
    /// the model contains, else `*` (for Claude models only), else `None` (the name goes
    /// through as is).
    pub fn target(&self, model: &str) -> Option<&ClaudeModelTarget> {
        if let Some(t) = self.models.get(model) {
            return Some(t);
        }
        let lower = model.to_ascii_lowercase();
        if !lower.starts_with("claude") {
            return None;
        }
        self.models
            .iter()
            .filter(|(family, _)| {
                *family != "*" && lower.contains(family.to_ascii_lowercase().as_str())
            })
            .max_by_key(|(family, _)| family.len())
            .map(|(_, t)| t)
            .or_else(|| self.models.get("*"))
    }
}

impl Settings {
    /// Reads `router/state.json` (defaults when missing) and applies the environment.
    pub fn load(home: &CodexHome) -> Result<Self, SettingsError> {
        Self::load_with_env(home, |k| std::env::var(k).ok())
    }

    /// Like [`Settings::load`], with the environment given as a lookup.
    pub fn load_with_env(
        home: &CodexHome,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let path = home.state_file();
        let mut settings = match files::read_bounded(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| SettingsError::Invalid {
                    path: path.display().to_string(),
                    // Settings hold no secrets, so serde's message (which names the bad
                    // field) is safe and useful here.
                    detail: e.to_string(),
                })?
            }
            Err(e) if e.is_not_found() => Settings::default(),
            Err(e) => return Err(e.into()),
        };
        for (var, slot) in [
            (ENV_OPENAI_BASE_URL, &mut settings.upstream.openai_base_url),
            (
                ENV_CHATGPT_BASE_URL,
                &mut settings.upstream.chatgpt_base_url,
            ),
            (ENV_AUTH_ISSUER, &mut settings.upstream.auth_issuer),
        ] {
            if let Some(v) = env(var).filter(|v| !v.is_empty()) {
                *slot = v;
            }
        }
        settings.network.apply_env(&env);
        settings.validate(&path.display().to_string())?;
        Ok(settings)
    }

    /// Turns failover on or off in `router/state.json`, keeping everything else in the file
    /// as it is (the environment's overrides are never written). Running endpoints of any
    /// process follow at their next request. Refuses to touch a broken file.
    pub fn set_failover_enabled(home: &CodexHome, enabled: bool) -> Result<(), SettingsError> {
        Self::set_value(home, "failover", "enabled", Value::Bool(enabled))
    }

    /// Sets `section.key` in `router/state.json` to `value`, keeping everything else in the
    /// file as it is (the environment's overrides are never written). Refuses to touch a
    /// broken file, and to write a value that would not load.
    pub fn set_value(
        home: &CodexHome,
        section: &str,
        key: &str,
        value: Value,
    ) -> Result<(), SettingsError> {
        let path = home.state_file();
        let _lock = files::FileLock::exclusive(&home.router_dir().join("state.lock"))?;
        let invalid = |detail: String| SettingsError::Invalid {
            path: path.display().to_string(),
            detail,
        };
        let mut doc = match files::read_bounded(&path) {
            Ok(bytes) => {
                serde_json::from_slice::<Value>(&bytes).map_err(|e| invalid(e.to_string()))?
            }
            Err(e) if e.is_not_found() => Value::Object(Map::new()),
            Err(e) => return Err(e.into()),
        };
        // What is written must load: check the file as it will be.
        let root = doc
            .as_object_mut()
            .ok_or_else(|| invalid("it is not a JSON object".into()))?;
        let entry = root
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        let entry = entry
            .as_object_mut()
            .ok_or_else(|| invalid(format!("{section} is not an object")))?;
        entry.insert(key.into(), value);
        let parsed: Settings =
            serde_json::from_value(doc.clone()).map_err(|e| invalid(e.to_string()))?;
        parsed.validate(&path.display().to_string())?;
        let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| invalid(e.to_string()))?;
        bytes.push(b'\n');
        files::write_atomic(&path, &bytes)?;
        Ok(())
    }

    fn validate(&self, path: &str) -> Result<(), SettingsError> {
        let up = &self.upstream;
        for (key, url) in [
            ("openai_base_url", &up.openai_base_url),
            ("chatgpt_base_url", &up.chatgpt_base_url),
            ("auth_issuer", &up.auth_issuer),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(SettingsError::Invalid {
                    path: path.to_owned(),
                    detail: format!("upstream.{key} must be an http:// or https:// URL"),
                });
            }
        }
        if let Some(v) = &self.codex.version
            && !is_codex_version(v)
        {
            return Err(SettingsError::Invalid {
                path: path.to_owned(),
                detail: "codex.version must be a version such as 0.171.0".into(),
            });
        }
        if self.proxy.port == 0 {
            return Err(SettingsError::Invalid {
                path: path.to_owned(),
                detail: "proxy.port must be between 1 and 65535".into(),
            });
        }
        if !(1..=100).contains(&self.notifications.threshold_percent) {
            return Err(SettingsError::Invalid {
                path: path.to_owned(),
                detail: "notifications.threshold_percent must be between 1 and 100".into(),
            });
        }
        if self.proxy.ollama_port == Some(0) {
            return Err(SettingsError::Invalid {
                path: path.to_owned(),
                detail: "proxy.ollama_port must be between 1 and 65535".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home_with(state: Option<&str>) -> (tempfile::TempDir, CodexHome) {
        let dir = tempfile::tempdir().unwrap();
        let home = CodexHome::at(dir.path());
        if let Some(s) = state {
            std::fs::create_dir_all(home.router_dir()).unwrap();
            std::fs::write(home.state_file(), s).unwrap();
        }
        (dir, home)
    }

    #[test]
    fn claude_models_map_by_exact_name_then_longest_family() {
        let (_d, home) = home_with(Some(
            r#"{"anthropic": {"models": {"claude-sonnet-4-6": {"model": "gpt-5.2-codex"},
                                          "sonnet": {"model": "gpt-5.4", "effort": "low"}}}}"#,
        ));
        let a = Settings::load_with_env(&home, |_| None).unwrap().anthropic;
        assert_eq!(
            a.target("claude-sonnet-4-6").unwrap().model,
            "gpt-5.2-codex"
        );
        let t = a.target("Claude-Sonnet-4-5-20250929").unwrap();
        assert_eq!(
            (t.model.as_str(), t.effort.as_deref()),
            ("gpt-5.4", Some("low"))
        );
        assert!(a.target("claude-opus-4-7").is_none()); // the file's table replaces the defaults
        assert!(a.target("gpt-5.2-codex").is_none());

        let d = AnthropicSettings::default();
        assert_eq!(
            d.target("claude-opus-4-7").unwrap().effort.as_deref(),
            Some("high")
        );
        assert_eq!(d.target("claude-haiku-4-5").unwrap().model, "gpt-5.4-mini");
        assert_eq!(d.target("claude-mythos-5").unwrap().model, "gpt-5.5");
        assert!(d.target("sonnet-but-not-claude").is_none());
    }

    #[test]
    fn missing_file_gives_defaults() {
        let (_d, home) = home_with(None);
        let s = Settings::load_with_env(&home, |_| None).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.proxy.port, 9876);
        assert!(s.refresh.proactive);
        assert!(!s.failover.enabled);
        assert!(s.failover.follow_active);
    }

    #[test]
    fn failover_section_is_read() {
        let (_d, home) = home_with(Some(
            r#"{"failover":{"enabled":true,"order":["work","home"],"follow_active":false}}"#,
        ));
        let s = Settings::load_with_env(&home, |_| None).unwrap();
        assert!(s.failover.enabled);
        assert_eq!(s.failover.order, ["work", "home"]);
        assert!(!s.failover.follow_active);
    }

    #[test]
    fn failover_toggle_keeps_the_rest_of_the_file() {
        let (_d, home) = home_with(Some(
            r#"{"proxy":{"port":1234},"failover":{"order":["b"]},"future":{"x":1}}"#,
        ));
        Settings::set_failover_enabled(&home, true).unwrap();
        let s = Settings::load_with_env(&home, |_| None).unwrap();
        assert!(s.failover.enabled);
        assert_eq!(s.failover.order, ["b"]);
        assert_eq!(s.proxy.port, 1234);
        assert_eq!(s.extra["future"], serde_json::json!({"x": 1}));
        Settings::set_failover_enabled(&home, false).unwrap();
        assert!(
            !Settings::load_with_env(&home, |_| None)
                .unwrap()
                .failover
                .enabled
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.state_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn failover_toggle_writes_no_environment_and_creates_the_file() {
        let (_d, home) = home_with(None);
        Settings::set_failover_enabled(&home, true).unwrap();
        let text = std::fs::read_to_string(home.state_file()).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc, serde_json::json!({"failover": {"enabled": true}}));
    }

    #[test]
    fn notifications_are_on_by_default_and_each_can_be_turned_off() {
        let (_d, home) = home_with(None);
        let n = Settings::load_with_env(&home, |_| None)
            .unwrap()
            .notifications;
        assert!(n.limit_reached && n.available_again && n.threshold);
        assert!(n.failed_over && n.needs_sign_in);
        assert_eq!(n.threshold_percent, 90);
        Settings::set_value(&home, "notifications", "threshold", Value::Bool(false)).unwrap();
        Settings::set_value(&home, "notifications", "threshold_percent", 75.into()).unwrap();
        let n = Settings::load_with_env(&home, |_| None)
            .unwrap()
            .notifications;
        assert!(!n.threshold && n.limit_reached);
        assert_eq!(n.threshold_percent, 75);
        let err =
            Settings::set_value(&home, "notifications", "threshold_percent", 0.into()).unwrap_err();
        assert!(err.to_string().contains("threshold_percent"), "{err}");
        let n = Settings::load_with_env(&home, |_| None)
            .unwrap()
            .notifications;
        assert_eq!(n.threshold_percent, 75, "a refused value is not written");
    }

    #[test]
    fn ollama_port_is_typed() {
        let (_d, home) = home_with(Some(r#"{"proxy":{"ollama_port":11434}}"#));
        let s = Settings::load_with_env(&home, |_| None).unwrap();
        assert_eq!(s.proxy.ollama_port, Some(11434));
        assert!(s.proxy.extra.is_empty());
        for bad in [
            r#"{"proxy":{"ollama_port":0}}"#,
            r#"{"proxy":{"ollama_port":"x"}}"#,
        ] {
            let (_d, home) = home_with(Some(bad));
            assert!(Settings::load_with_env(&home, |_| None).is_err(), "{bad}");
        }
        let (_d, home) = home_with(None);
        assert_eq!(
            Settings::load_with_env(&home, |_| None)
                .unwrap()
                .proxy
                .ollama_port,
            None
        );
    }

    #[test]
    fn failover_toggle_refuses_a_broken_file_and_leaves_it() {
        for bad in ["{not json", r#"{"failover":3}"#, r#"{"proxy":{"port":0}}"#] {
            let (_d, home) = home_with(Some(bad));
            let err = Settings::set_failover_enabled(&home, true).unwrap_err();
            assert!(
                err.to_string().contains("state.json is broken"),
                "{bad}: {err}"
            );
            assert_eq!(std::fs::read_to_string(home.state_file()).unwrap(), bad);
        }
    }

    #[test]
    fn file_values_and_env_override() {
        let (_d, home) = home_with(Some(
            r#"{"proxy":{"port":1234},"upstream":{"chatgpt_base_url":"http://127.0.0.1:1/codex","auth_issuer":"http://file"}}"#,
        ));
        let s = Settings::load_with_env(&home, |k| {
            (k == ENV_AUTH_ISSUER).then(|| "http://127.0.0.1:2".to_string())
        })
        .unwrap();
        assert_eq!(s.proxy.port, 1234);
        assert_eq!(s.proxy.host, "127.0.0.1");
        assert_eq!(s.upstream.chatgpt_base_url, "http://127.0.0.1:1/codex");
        assert_eq!(s.upstream.auth_issuer, "http://127.0.0.1:2");
        assert_eq!(s.upstream.openai_base_url, "https://api.openai.com/v1");
    }

    #[test]
    fn codex_version_defaults_to_the_newest_tested_and_can_be_set() {
        let (_d, home) = home_with(None);
        let s = Settings::load_with_env(&home, |_| None).unwrap();
        assert_eq!(s.codex.version(), CODEX_VERSION);
        let (_d, home) = home_with(Some(r#"{"codex":{"version":"0.180.1-alpha.2"}}"#));
        let s = Settings::load_with_env(&home, |_| None).unwrap();
        assert_eq!(s.codex.version(), "0.180.1-alpha.2");
        assert!(s.codex.extra.is_empty() && s.extra.is_empty());
        for bad in ["0.180", "v0.180.0", "0.180.0 x", "0.1.2\n", ""] {
            let text = format!(r#"{{"codex":{{"version":{}}}}}"#, Value::from(bad));
            let (_d, home) = home_with(Some(&text));
            let err = Settings::load_with_env(&home, |_| None).unwrap_err();
            assert!(err.to_string().contains("codex.version"), "{bad}: {err}");
        }
    }

    #[test]
    fn network_keys_come_from_the_file_and_the_environment_wins_key_by_key() {
        let (_d, home) = home_with(Some(
            r#"{"network":{"https_proxy":"http://file:1","no_proxy":"corp","ca_certificate":"/file.pem","future":1}}"#,
        ));
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let n = Settings::load_with_env(&home, env(&[])).unwrap().network;
        assert_eq!(n.https_proxy.as_deref(), Some("http://file:1"));
        assert_eq!(n.from_env, NetworkEnv::default());
        assert_eq!(n.extra["future"], 1);
        let n = Settings::load_with_env(
            &home,
            env(&[
                ("https_proxy", "http://lower:2"),
                ("ALL_PROXY", "http://all:3"),
                ("NO_PROXY", ""),
                ("SSL_CERT_FILE", "/ssl.pem"),
            ]),
        )
        .unwrap()
        .network;
        assert_eq!(n.https_proxy.as_deref(), Some("http://lower:2"));
        assert_eq!(n.from_env.https_proxy, Some("https_proxy"));
        assert_eq!(n.all_proxy.as_deref(), Some("http://all:3"));
        assert_eq!(n.no_proxy.as_deref(), Some("corp")); // empty = unset
        assert_eq!(n.from_env.no_proxy, None);
        assert_eq!(n.ca_certificate.as_deref(), Some("/ssl.pem"));
        assert_eq!(n.from_env.ca_certificate, Some("SSL_CERT_FILE"));
        let n = Settings::load_with_env(
            &home,
            env(&[
                ("HTTPS_PROXY", "http://upper:4"),
                ("https_proxy", "http://lower:2"),
                ("SSL_CERT_FILE", "/ssl.pem"),
                ("CODEX_CA_CERTIFICATE", "/codex.pem"),
            ]),
        )
        .unwrap()
        .network;
        assert_eq!(n.https_proxy.as_deref(), Some("http://upper:4"));
        assert_eq!(n.ca_certificate.as_deref(), Some("/codex.pem"));
        assert_eq!(n.from_env.ca_certificate, Some("CODEX_CA_CERTIFICATE"));
    }

    #[test]
    fn broken_file_is_a_clear_error() {
        for bad in [
            "{not json",
            r#"{"proxy":{"port":"x"}}"#,
            r#"{"proxy":{"port":0}}"#,
            r#"{"upstream":{"auth_issuer":"ftp://x"}}"#,
            "[]",
        ] {
            let (_d, home) = home_with(Some(bad));
            let err = Settings::load_with_env(&home, |_| None)
                .unwrap_err()
                .to_string();
            assert!(err.contains("state.json is broken"), "{bad}: {err}");
        }
    }
}
