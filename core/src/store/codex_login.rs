//! Where Codex's active login lives and what it holds: `auth.json`, or its OS keyring entry
//! ([`CodexKeyring`]), in the order Codex's own rule reads them ([`CredentialStore`]), and
//! writing a login back to those places.

use super::{Store, StoreError};
use crate::auth_file::{AuthFile, LoginInfo};
use crate::codex_config::CredentialStore;
use crate::codex_keyring::{CodexKeyring, KeyringError};
use crate::files;

/// What `auth.json` or Codex's keyring entry holds.
pub(super) enum ActiveFile {
    Missing,
    Unreadable(String),
    Unusable(String),
    Login {
        file: Box<AuthFile>,
        bytes: Vec<u8>,
        info: LoginInfo,
    },
}

impl ActiveFile {
    /// Parses what a place holds.
    pub(super) fn parse(bytes: Vec<u8>) -> Self {
        match AuthFile::parse(&bytes) {
            Err(e) => Self::Unreadable(e.to_string()),
            Ok(file) => match file.inspect() {
                Ok(info) => Self::Login {
                    file: Box::new(file),
                    bytes,
                    info,
                },
                Err(reason) => Self::Unusable(reason),
            },
        }
    }

    /// The login's file, if there is one.
    pub(super) fn file(&self) -> Option<&AuthFile> {
        match self {
            Self::Login { file, .. } => Some(file),
            _ => None,
        }
    }
}

/// Where Codex keeps a copy of its login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// `auth.json`.
    File,
    /// Codex's OS keyring entry.
    Keyring,
}

impl Place {
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::File => "auth.json",
            Self::Keyring => "Codex's keyring entry",
        }
    }
}

/// One place that holds, or is to hold, Codex's login.
pub(super) struct Held {
    pub(super) place: Place,
    pub(super) login: ActiveFile,
    /// Whether a switch writes the incoming login here.
    pub(super) write: bool,
}

/// Codex's login as Codex finds it: the places in the order Codex reads them (the first
/// is the login Codex uses) and, in `auto` mode, why the keyring was passed over.
pub(super) struct Live {
    pub(super) mode: CredentialStore,
    pub(super) held: Vec<Held>,
    pub(super) fallback: Option<KeyringError>,
}

impl Live {
    /// The login Codex uses.
    pub(super) fn active(&self) -> &ActiveFile {
        &self.held[0].login
    }
}

impl Store {
    /// The login Codex uses; an unusable keyring (keyring mode) reads as unreadable.
    pub(super) fn read_active(&self) -> ActiveFile {
        match self.live() {
            Ok(mut live) => live.held.swap_remove(0).login,
            Err(e) => ActiveFile::Unreadable(e.to_string()),
        }
    }

    /// Where Codex keeps its login and what each place holds, by Codex's rule: `file` reads
    /// `auth.json`; `keyring` the keyring entry only (an unusable keyring is an error);
    /// `auto` the keyring entry when the keyring can be used and holds one that parses, else
    /// `auth.json`, and it writes the keyring when it can, else the file. In `auto` mode the
    /// router also keeps an existing `auth.json` up to date, so Codex's fallback never holds
    /// another account.
    pub(super) fn live(&self) -> Result<Live, KeyringError> {
        let mode = CredentialStore::of(&self.home);
        let file = |write: bool| {
            let login = self.read_file();
            let write = write || !matches!(login, ActiveFile::Missing);
            Held {
                place: Place::File,
                login,
                write,
            }
        };
        let keyring = |login| Held {
            place: Place::Keyring,
            login,
            write: true,
        };
        let (held, fallback) = match mode {
            CredentialStore::Keyring => (vec![keyring(self.read_keyring()?)], None),
            CredentialStore::Auto => match self.read_keyring() {
                // Codex reads auth.json when the entry is missing or does not parse.
                Ok(login @ (ActiveFile::Missing | ActiveFile::Unreadable(_))) => {
                    (vec![file(false), keyring(login)], None)
                }
                Ok(login) => (vec![keyring(login), file(false)], None),
                Err(e) => (vec![file(true)], Some(e)),
            },
            CredentialStore::File | CredentialStore::Ephemeral | CredentialStore::Encrypted => {
                (vec![file(true)], None)
            }
        };
        Ok(Live {
            mode,
            held,
            fallback,
        })
    }

    fn read_file(&self) -> ActiveFile {
        match AuthFile::load_raw(&self.home.auth_file()) {
            Err(e) if e.is_not_found() => ActiveFile::Missing,
            Err(e) => ActiveFile::Unreadable(e.to_string()),
            Ok((_, bytes)) => ActiveFile::parse(bytes),
        }
    }

    fn read_keyring(&self) -> Result<ActiveFile, KeyringError> {
        Ok(match CodexKeyring::of(&self.home).load()? {
            None => ActiveFile::Missing,
            Some(secret) => ActiveFile::parse(secret.into_bytes()),
        })
    }

    /// Writes `file` to `places` of Codex's login. When the keyring can't be used, `keyring`
    /// mode fails; `auto` mode writes `auth.json` instead, as Codex falls back to it, and
    /// says so in `warnings`.
    pub(super) fn write_live(
        &self,
        live: &Live,
        places: &[Place],
        file: &AuthFile,
        bytes: &[u8],
        warnings: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        let mut fallback = live.fallback.clone();
        for place in places {
            match place {
                Place::File => files::write_atomic(&self.home.auth_file(), bytes)?,
                Place::Keyring => {
                    if let Err(e) = CodexKeyring::of(&self.home).save(file) {
                        if live.mode == CredentialStore::Keyring {
                            return Err(StoreError::Keyring(e));
                        }
                        files::write_atomic(&self.home.auth_file(), bytes)?;
                        fallback = Some(e);
                    }
                }
            }
        }
        if let Some(e) = fallback {
            warnings.push(format!(
                "Codex is set to keep its login in the OS keyring when it can (cli_auth_credentials_store = \"auto\") and {e}, \
                 so the login went to auth.json, which Codex reads instead"
            ));
        }
        Ok(())
    }
}
