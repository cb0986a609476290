//! Codex's own `config.toml`: where Codex keeps its login (read here), and the router as
//! one of its model providers ([`provider`]: set up, removed, queried), with its
//! `chatgpt_base_url` at the router when asked ([`chatgpt_url`]).

pub mod chatgpt_url;
pub mod provider;

use crate::files;
use crate::home::CodexHome;
use std::path::PathBuf;

/// The path of Codex's `config.toml` in `home`.
pub fn config_file(home: &CodexHome) -> PathBuf {
    home.root().join("config.toml")
}

/// Where Codex keeps its login (`cli_auth_credentials_store`, `shared/protocol.md` §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialStore {
    /// `auth.json` (the default).
    File,
    /// The OS keyring entry only ([`crate::codex_keyring`]); Codex fails when it can't be used.
    Keyring,
    /// The keyring entry when the keyring can be used and holds one, else `auth.json`.
    Auto,
    /// Memory only.
    Ephemeral,
    /// `keyring` or `auto` with `[features] secret_auth_storage = true`: an encrypted file
    /// whose key is in the keyring, which the router cannot write.
    Encrypted,
}

impl CredentialStore {
    /// Reads `config.toml` of `home`; a missing or unreadable file, or an unknown value,
    /// means the default (`file`).
    pub fn of(home: &CodexHome) -> Self {
        let Ok(bytes) = files::read_bounded(&config_file(home)) else {
            return Self::File;
        };
        let Ok(doc) = String::from_utf8_lossy(&bytes).parse::<toml_edit::DocumentMut>() else {
            return Self::File;
        };
        let encrypted = doc
            .get("features")
            .and_then(|f| f.get("secret_auth_storage"))
            .and_then(|v| v.as_bool())
            == Some(true);
        match doc
            .get("cli_auth_credentials_store")
            .and_then(|v| v.as_str())
        {
            Some("keyring" | "auto") if encrypted => Self::Encrypted,
            Some("keyring") => Self::Keyring,
            Some("auto") => Self::Auto,
            Some("ephemeral") => Self::Ephemeral,
            _ => Self::File,
        }
    }

    /// Why a switch does not change Codex's own login, and what to change; `None` where the
    /// router switches what Codex reads (the file, the keyring entry).
    pub fn switch_caveat(self) -> Option<String> {
        let (setting, change) = match self {
            Self::File | Self::Keyring | Self::Auto => return None,
            Self::Ephemeral => (
                "cli_auth_credentials_store = \"ephemeral\"",
                "set cli_auth_credentials_store = \"file\"",
            ),
            Self::Encrypted => (
                "[features] secret_auth_storage = true",
                "set secret_auth_storage = false",
            ),
        };
        Some(format!(
            "Codex is set to keep its login where the router can't write it ({setting} in config.toml), \
             so Codex itself keeps its current login; clients using the router's endpoint do follow the switch. \
             To let Codex follow switches too, {change} and sign in to Codex once more"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let home = CodexHome::at(dir.path());
        assert_eq!(CredentialStore::of(&home), CredentialStore::File);
        let write = |s: &str| std::fs::write(dir.path().join("config.toml"), s).unwrap();
        write(
            "model = \"gpt-5.5\"\ncli_auth_credentials_store = \"keyring\"\n[profiles.x]\nmodel = \"y\"\n",
        );
        assert_eq!(CredentialStore::of(&home), CredentialStore::Keyring);
        assert!(CredentialStore::Keyring.switch_caveat().is_none());
        write("cli_auth_credentials_store = \"auto\"");
        assert_eq!(CredentialStore::of(&home), CredentialStore::Auto);
        write("cli_auth_credentials_store = \"ephemeral\"");
        assert!(
            CredentialStore::of(&home)
                .switch_caveat()
                .unwrap()
                .contains("set cli_auth_credentials_store = \"file\"")
        );
        write("cli_auth_credentials_store = \"keyring\"\n[features]\nsecret_auth_storage = true\n");
        assert_eq!(CredentialStore::of(&home), CredentialStore::Encrypted);
        assert!(
            CredentialStore::Encrypted
                .switch_caveat()
                .unwrap()
                .contains("set secret_auth_storage = false")
        );
        write("[features]\nsecret_auth_storage = true\n");
        assert_eq!(CredentialStore::of(&home), CredentialStore::File);
        write("[broken");
        assert_eq!(CredentialStore::of(&home), CredentialStore::File);
        write("cli_auth_credentials_store = \"file\"");
        assert!(CredentialStore::of(&home).switch_caveat().is_none());
    }
}
