//! The `auth.json` model (`shared/protocol.md` §1): auth-mode resolution, token claims,
//! and every key the router does not know kept when the file is rewritten.

use crate::claims::{self, Claims};
use crate::files::{self, FileError};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// How often a read is retried when the file does not parse (Codex writes non-atomically).
const PARSE_RETRIES: u32 = 4;
/// The pause between those retries.
const PARSE_RETRY_PAUSE: Duration = Duration::from_millis(25);

/// Why an auth file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    /// The file could not be read.
    #[error(transparent)]
    File(#[from] FileError),
    /// The file is not JSON of the expected shape. Only the position is kept: serde's own
    /// message can quote the file's content, which may be a secret.
    #[error("{what} at line {line}, column {column}")]
    Parse {
        /// "not valid JSON" or "unexpected structure".
        what: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
}

impl AuthFileError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::File(e) if e.is_not_found())
    }
}

/// How a login authenticates, after the resolution rules of Codex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// A ChatGPT sign-in with OAuth tokens.
    ChatGpt,
    /// An OpenAI API key.
    ApiKey,
    /// A mode the router does not handle (e.g. `agentIdentity`), with its raw name.
    Other(String),
}

impl AuthMode {
    /// The name used in `--json` output: `chatgpt`, `api_key`, or the raw name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::ChatGpt => "chatgpt",
            Self::ApiKey => "api_key",
            Self::Other(raw) => raw,
        }
    }

    /// A label for people: "ChatGPT", "API key".
    pub fn label(&self) -> &str {
        match self {
            Self::ChatGpt => "ChatGPT",
            Self::ApiKey => "API key",
            Self::Other(raw) => raw,
        }
    }
}

/// The OAuth tokens of a ChatGPT login.
#[derive(Clone, Serialize, Deserialize)]
pub struct Tokens {
    /// The raw id token (a JWT).
    pub id_token: Secret,
    /// The bearer for the ChatGPT backend (a JWT; its `exp` drives refresh).
    pub access_token: Secret,
    /// The rotating refresh token.
    pub refresh_token: Secret,
    /// The ChatGPT workspace id Codex sends as `ChatGPT-Account-ID`.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Keys the router does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("account_id", &self.account_id)
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// One `auth.json` file: the active login, or a profile's.
#[derive(Clone, Serialize, Deserialize)]
pub struct AuthFile {
    /// `apikey`, `chatgpt`, or a newer mode; absent in old files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_mode: Option<String>,
    /// The API key; always written, as `null` when absent (as Codex does).
    #[serde(rename = "OPENAI_API_KEY", default)]
    pub openai_api_key: Option<Secret>,
    /// The OAuth tokens of a ChatGPT login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Tokens>,
    /// When the tokens were last refreshed (RFC 3339), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refresh: Option<String>,
    /// Keys the router does not know (`agent_identity`, newer credentials), kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for AuthFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthFile")
            .field("auth_mode", &self.auth_mode)
            .field("openai_api_key", &self.openai_api_key)
            .field("tokens", &self.tokens)
            .field("last_refresh", &self.last_refresh)
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Who a login belongs to. Two logins are the same when their identities are equal.
#[derive(Clone, PartialEq, Eq)]
pub enum Identity {
    /// A ChatGPT login: the workspace account id *and* the user (`chatgpt_user_id`, else
    /// email). Members of one Team workspace share the account id but not the user.
    ChatGpt {
        /// The workspace account id.
        account_id: Option<String>,
        /// The user id, else the email.
        user: Option<String>,
    },
    /// An API key is its own identity.
    ApiKey(Secret),
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ChatGpt { account_id, user } => f
                .debug_struct("ChatGpt")
                .field("account_id", account_id)
                .field("user", user)
                .finish(),
            Self::ApiKey(_) => f.write_str("ApiKey([redacted])"),
        }
    }
}

/// What can be shown about a usable login: never a token or key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginInfo {
    /// The resolved mode.
    pub auth_mode: AuthMode,
    /// The email from the id token.
    pub email: Option<String>,
    /// The ChatGPT plan (`plus`, `team`, …).
    pub plan: Option<String>,
    /// The workspace account id.
    pub account_id: Option<String>,
    /// The user id.
    pub user_id: Option<String>,
    /// When the access token expires (`None` for API keys or tokens without `exp`).
    pub expires_at: Option<DateTime<Utc>>,
    /// When the tokens were last refreshed.
    pub last_refresh: Option<DateTime<Utc>>,
}

impl AuthFile {
    /// An API-key login (`{"auth_mode":"apikey","OPENAI_API_KEY":…}`), as Codex writes it.
    /// The key is trimmed; an empty key or one with spaces or line breaks is refused.
    pub fn api_key(key: &str) -> Result<Self, String> {
        let key = key.trim();
        if key.is_empty() {
            return Err("the API key is empty".into());
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(
                "that does not look like an API key: it contains spaces or line breaks".into(),
            );
        }
        Ok(Self {
            auth_mode: Some("apikey".into()),
            openai_api_key: Some(Secret::new(key)),
            tokens: None,
            last_refresh: None,
            extra: Map::new(),
        })
    }

    /// Reads and parses `path`, retrying briefly when it does not parse (Codex may be
    /// half-way through writing it).
    pub fn load(path: &Path) -> Result<Self, AuthFileError> {
        Self::load_raw(path).map(|(file, _)| file)
    }

    /// Like [`AuthFile::load`], also returning the exact bytes read.
    pub fn load_raw(path: &Path) -> Result<(Self, Vec<u8>), AuthFileError> {
        let mut attempt = 0;
        loop {
            let bytes = files::read_bounded(path)?;
            match Self::parse(&bytes) {
                Ok(file) => return Ok((file, bytes)),
                Err(e) if attempt < PARSE_RETRIES => {
                    tracing::debug!(error = %e, "auth file did not parse, retrying");
                    attempt += 1;
                    std::thread::sleep(PARSE_RETRY_PAUSE);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Parses the bytes of an auth file.
    pub fn parse(bytes: &[u8]) -> Result<Self, AuthFileError> {
        serde_json::from_slice(bytes).map_err(|e| AuthFileError::Parse {
            what: if e.is_data() {
                "unexpected structure"
            } else {
                "not valid JSON"
            },
            line: e.line(),
            column: e.column(),
        })
    }

    /// Serializes as Codex does (pretty JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("an AuthFile always serializes");
        out.push(b'\n');
        out
    }

    /// Writes the file atomically with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), FileError> {
        files::write_atomic(path, &self.to_bytes())
    }

    /// The mode as Codex resolves it: an explicit `auth_mode` wins; else a non-null
    /// `OPENAI_API_KEY` means API key; else ChatGPT.
    pub fn mode(&self) -> AuthMode {
        match self.auth_mode.as_deref() {
            Some("apikey") => AuthMode::ApiKey,
            Some("chatgpt" | "chatgptAuthTokens") => AuthMode::ChatGpt,
            Some(other) => AuthMode::Other(other.to_owned()),
            None if self.openai_api_key.is_some() => AuthMode::ApiKey,
            None => AuthMode::ChatGpt,
        }
    }

    /// The id token's claims, when there are tokens.
    pub fn id_claims(&self) -> Option<Result<Claims, claims::ClaimsError>> {
        self.tokens
            .as_ref()
            .map(|t| claims::decode(t.id_token.expose()))
    }

    /// The access token's claims, when there are tokens and the token decodes.
    pub fn access_claims(&self) -> Option<Claims> {
        self.tokens
            .as_ref()
            .and_then(|t| claims::decode(t.access_token.expose()).ok())
    }

    /// `last_refresh` parsed, when present and valid.
    pub fn last_refresh_time(&self) -> Option<DateTime<Utc>> {
        self.last_refresh
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// How recent the tokens are: the later of `last_refresh` and the access token's `iat`.
    /// Used to decide which of two copies of one login is newer.
    pub fn freshness(&self) -> Option<DateTime<Utc>> {
        let issued = self.access_claims().and_then(|c| c.issued_at);
        self.last_refresh_time().max(issued)
    }

    /// Checks the file is a usable login and describes it; the error says why not.
    pub fn inspect(&self) -> Result<LoginInfo, String> {
        let mode = self.mode();
        match &mode {
            AuthMode::ApiKey => match &self.openai_api_key {
                Some(key) if !key.is_empty() => Ok(LoginInfo {
                    auth_mode: mode,
                    email: None,
                    plan: None,
                    account_id: None,
                    user_id: None,
                    expires_at: None,
                    last_refresh: None,
                }),
                _ => Err("API-key login without an OPENAI_API_KEY".into()),
            },
            AuthMode::ChatGpt => {
                let Some(tokens) = &self.tokens else {
                    return Err("has neither an API key nor tokens".into());
                };
                if tokens.refresh_token.is_empty() && tokens.access_token.is_empty() {
                    return Err("tokens are empty".into());
                }
                let id = claims::decode(tokens.id_token.expose())
                    .map_err(|e| format!("id_token does not decode: {e}"))?;
                let access = self.access_claims();
                Ok(LoginInfo {
                    auth_mode: mode,
                    email: id.email,
                    plan: id
                        .plan
                        .or_else(|| access.as_ref().and_then(|a| a.plan.clone())),
                    account_id: tokens.account_id.clone().or(id.account_id),
                    user_id: id.user_id,
                    expires_at: access.and_then(|a| a.expires_at),
                    last_refresh: self.last_refresh_time(),
                })
            }
            AuthMode::Other(raw) => Err(format!("auth mode '{raw}' is not supported")),
        }
    }

    /// Who the login belongs to, when it is a usable login.
    pub fn identity(&self) -> Option<Identity> {
        let info = self.inspect().ok()?;
        Some(match info.auth_mode {
            AuthMode::ApiKey => Identity::ApiKey(self.openai_api_key.clone()?),
            _ => Identity::ChatGpt {
                account_id: info.account_id,
                user: info.user_id.or(info.email),
            },
        })
    }

    /// Whether two files hold the same credentials (tokens or key).
    pub fn same_credentials(&self, other: &Self) -> bool {
        let tokens = |f: &Self| {
            f.tokens.as_ref().map(|t| {
                (
                    t.access_token.clone(),
                    t.refresh_token.clone(),
                    t.id_token.clone(),
                )
            })
        };
        self.openai_api_key == other.openai_api_key && tokens(self) == tokens(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_router_testkit::home::{api_key_auth, chatgpt_auth};
    use codex_router_testkit::jwt::Identity as Who;
    use serde_json::json;

    fn parse(v: &Value) -> AuthFile {
        AuthFile::parse(&serde_json::to_vec(v).unwrap()).unwrap()
    }

    #[test]
    fn mode_resolution_follows_codex() {
        assert_eq!(
            parse(&json!({"auth_mode":"chatgpt","OPENAI_API_KEY":"sk"})).mode(),
            AuthMode::ChatGpt
        );
        assert_eq!(
            parse(&json!({"OPENAI_API_KEY":"sk"})).mode(),
            AuthMode::ApiKey
        );
        assert_eq!(
            parse(&json!({"OPENAI_API_KEY":null})).mode(),
            AuthMode::ChatGpt
        );
        assert_eq!(
            parse(&json!({"auth_mode":"apikey"})).mode(),
            AuthMode::ApiKey
        );
        assert_eq!(
            parse(&json!({"auth_mode":"agentIdentity"})).mode(),
            AuthMode::Other("agentIdentity".into())
        );
    }

    #[test]
    fn unknown_keys_survive_a_rewrite() {
        let mut v = chatgpt_auth(&Who::new("a", "plus"), 1, 3600);
        v["agent_identity"] = json!({"id": "x", "nested": [1, 2]});
        v["personal_access_token"] = json!("pat");
        v["tokens"]["future_field"] = json!(true);
        let f = parse(&v);
        let back: Value = serde_json::from_slice(&f.to_bytes()).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn unknown_numbers_keep_their_value_across_rewrites() {
        // Regression (found by fuzzing): serde_json's default float parsing is not always
        // correctly rounded, so 4.444444444444445e69, written back for this number, read
        // back one unit off and printed as 4.4444444444444454e69: an unknown key's value
        // changed on a rewrite. Fixed with serde_json's `float_roundtrip`.
        let long = format!("{{\"c\": {}47e00, \"d\": 0.1}}", "4".repeat(68));
        let once = AuthFile::parse(long.as_bytes()).unwrap().to_bytes();
        let twice = AuthFile::parse(&once).unwrap().to_bytes();
        assert_eq!(
            String::from_utf8(twice).unwrap(),
            String::from_utf8(once).unwrap()
        );
    }

    #[test]
    fn api_key_null_is_always_written() {
        let f = parse(
            &json!({"auth_mode":"chatgpt","tokens":{"id_token":"a","access_token":"b","refresh_token":"c"}}),
        );
        let back: Value = serde_json::from_slice(&f.to_bytes()).unwrap();
        assert_eq!(back["OPENAI_API_KEY"], Value::Null);
    }

    #[test]
    fn inspect_reads_claims() {
        let who = Who::new("alice", "team");
        let info = parse(&chatgpt_auth(&who, 0, 3600)).inspect().unwrap();
        assert_eq!(info.email.as_deref(), Some("alice@example.com"));
        assert_eq!(info.plan.as_deref(), Some("team"));
        assert_eq!(info.account_id.as_deref(), Some("acct-alice"));
        assert!(info.expires_at.is_some());
        let key = parse(&api_key_auth("sk-x")).inspect().unwrap();
        assert_eq!(key.auth_mode, AuthMode::ApiKey);
    }

    #[test]
    fn inspect_explains_unusable_files() {
        assert!(
            parse(&json!({"OPENAI_API_KEY": null}))
                .inspect()
                .unwrap_err()
                .contains("neither")
        );
        let bad_jwt = json!({"tokens":{"id_token":"nope","access_token":"b","refresh_token":"c"}});
        assert!(parse(&bad_jwt).inspect().unwrap_err().contains("id_token"));
        assert!(
            parse(&json!({"auth_mode":"apikey"}))
                .inspect()
                .unwrap_err()
                .contains("API")
        );
    }

    #[test]
    fn team_members_sharing_an_account_are_different_identities() {
        let a = Who::new("alice", "team").in_account("acct-team");
        let b = Who::new("bob", "team").in_account("acct-team");
        let ia = parse(&chatgpt_auth(&a, 0, 3600)).identity().unwrap();
        let ib = parse(&chatgpt_auth(&b, 0, 3600)).identity().unwrap();
        assert_ne!(ia, ib);
        assert_eq!(ia, parse(&chatgpt_auth(&a, 5, 3600)).identity().unwrap());
    }

    #[test]
    fn parse_errors_never_quote_the_content() {
        let raw = br#"{"tokens": "sk-SECRET-VALUE"}"#;
        let err = AuthFile::parse(raw).err().unwrap().to_string();
        assert!(!err.contains("SECRET"), "{err}");
        assert!(err.contains("line 1"));
        let dbg = format!("{:?}", parse(&chatgpt_auth(&Who::new("a", "plus"), 0, 10)));
        assert!(
            !dbg.contains("SECRETREFRESH") && !dbg.contains("eyJ"),
            "{dbg}"
        );
    }
}
