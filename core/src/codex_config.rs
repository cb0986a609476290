//! What the router reads from Codex's own `config.toml`: where Codex keeps its login.

use crate::files;
use crate::home::CodexHome;

/// Where Codex keeps its login (`cli_auth_credentials_store`, `shared/protocol.md` §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialStore {
    /// `auth.json` (the default): what the router switches.
    File,
    /// The OS keyring only.
    Keyring,
    /// The keyring, falling back to `auth.json` when there is none.
    Auto,
    /// Memory only.
    Ephemeral,
}

impl CredentialStore {
    /// Reads `config.toml` of `home`; a missing or unreadable file, or an unknown value,
    /// means the default (`file`).
    pub fn of(home: &CodexHome) -> Self {
        let Ok(bytes) = files::read_bounded(&home.root().join("config.toml")) else {
            return Self::File;
        };
        let Ok(doc) = String::from_utf8_lossy(&bytes).parse::<toml_edit::DocumentMut>() else {
            return Self::File;
        };
        match doc
            .get("cli_auth_credentials_store")
            .and_then(|v| v.as_str())
        {
            Some("keyring") => Self::Keyring,
            Some("auto") => Self::Auto,
            Some("ephemeral") => Self::Ephemeral,
            _ => Self::File,
        }
    }

    /// Why switching `auth.json` does not change Codex's own login, and what to change;
    /// `None` for the file store.
    pub fn switch_caveat(self) -> Option<String> {
        let setting = match self {
            Self::File => return None,
            Self::Keyring => "keyring",
            Self::Auto => "auto",
            Self::Ephemeral => "ephemeral",
        };
        Some(format!(
            "Codex is set to keep its login outside auth.json (cli_auth_credentials_store = \"{setting}\" in config.toml), \
             so Codex itself keeps its current login; clients using the router's endpoint do follow the switch. \
             To let Codex follow switches too, set cli_auth_credentials_store = \"file\" and sign in to Codex once more"
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
        assert!(
            CredentialStore::Keyring
                .switch_caveat()
                .unwrap()
                .contains("cli_auth_credentials_store = \"file\"")
        );
        write("cli_auth_credentials_store = \"auto\"");
        assert_eq!(CredentialStore::of(&home), CredentialStore::Auto);
        write("[broken");
        assert_eq!(CredentialStore::of(&home), CredentialStore::File);
        write("cli_auth_credentials_store = \"file\"");
        assert!(CredentialStore::of(&home).switch_caveat().is_none());
    }
}
