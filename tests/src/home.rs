//! A temporary `CODEX_HOME` with helpers to write realistic auth files into it.

use crate::jwt::Identity;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A ChatGPT `auth.json` as Codex writes it, with tokens valid for `valid_secs` from `now()`
/// and `generation` mixed into the refresh token so rotated copies differ.
pub fn chatgpt_auth(who: &Identity, generation: u32, valid_secs: i64) -> Value {
    let now = now();
    let last_refresh = rfc3339(now - 1000 + i64::from(generation));
    json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": who.id_token(now, now + valid_secs),
            "access_token": who.access_token(now + i64::from(generation), now + valid_secs + i64::from(generation), &format!("{}-{generation}", who.user_id)),
            "refresh_token": format!("rt-{}-{generation}-SECRETREFRESH", who.user_id),
            "account_id": who.account_id,
        },
        "last_refresh": last_refresh,
    })
}

/// An API-key `auth.json`.
pub fn api_key_auth(key: &str) -> Value {
    json!({"auth_mode": "apikey", "OPENAI_API_KEY": key})
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .expect("timestamp")
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A temporary CODEX_HOME, removed on drop.
pub struct TempHome {
    dir: tempfile::TempDir,
}

impl Default for TempHome {
    fn default() -> Self {
        Self::new()
    }
}

/// Upstream URLs that refuse connections at once (port 9 on loopback).
pub const OFFLINE_URL: &str = "http://127.0.0.1:9";

impl TempHome {
    /// A CODEX_HOME with no logins whose `router/state.json` points every upstream at a
    /// loopback port that refuses connections, so nothing a test starts (a proactive
    /// refresh, a usage fetch) can reach the internet. Tests that use a fake upstream
    /// overwrite it with [`TempHome::use_upstream`] or the environment.
    pub fn new() -> Self {
        let home = Self {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        home.use_upstream(
            OFFLINE_URL,
            &format!("{OFFLINE_URL}/backend-api/codex"),
            &format!("{OFFLINE_URL}/v1"),
        );
        home
    }

    /// Points `router/state.json` at the given issuer, ChatGPT base URL and OpenAI base URL.
    pub fn use_upstream(&self, issuer: &str, chatgpt_base_url: &str, openai_base_url: &str) {
        self.write_state(&json!({
            "upstream": {
                "auth_issuer": issuer,
                "chatgpt_base_url": chatgpt_base_url,
                "openai_base_url": openai_base_url,
            }
        }));
    }

    /// Writes `router/state.json`.
    pub fn write_state(&self, value: &Value) {
        write_json(&self.path().join("router").join("state.json"), value);
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `auth.json`'s path.
    pub fn auth_path(&self) -> PathBuf {
        self.path().join("auth.json")
    }

    /// `profiles/<name>/auth.json`'s path.
    pub fn profile_path(&self, name: &str) -> PathBuf {
        self.path().join("profiles").join(name).join("auth.json")
    }

    /// Writes `auth.json` (pretty JSON, like Codex).
    pub fn write_auth(&self, value: &Value) {
        write_json(&self.auth_path(), value);
    }

    /// Writes `profiles/<name>/auth.json`.
    pub fn write_profile(&self, name: &str, value: &Value) {
        write_json(&self.profile_path(name), value);
    }

    /// Writes raw bytes to `profiles/<name>/auth.json`.
    pub fn write_profile_raw(&self, name: &str, bytes: &[u8]) {
        let path = self.profile_path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Writes `.current_profile`.
    pub fn write_current(&self, name: &str) {
        std::fs::write(self.path().join(".current_profile"), format!("{name}\n")).unwrap();
    }

    /// Reads a JSON file under the home.
    pub fn read_json(&self, path: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }
}

fn write_json(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}
