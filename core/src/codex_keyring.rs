//! Codex's login in the OS keyring (`cli_auth_credentials_store = "keyring"` or `"auto"`),
//! found and written exactly as Codex does (`codex-rs/keyring-store`,
//! `codex-rs/login/src/auth/storage.rs`): the `keyring` crate with Codex's backends (the
//! Secret Service over D-Bus on Linux, the Keychain on macOS), service `Codex Auth`, account
//! `cli|` + the first 16 hex digits of the SHA-256 of the canonical `CODEX_HOME`, and as the
//! secret the compact JSON of the same object `auth.json` holds.
//!
//! The secret never reaches a log, an error or `Debug`: errors carry the keyring's own
//! message, which names the entry at most.

use crate::auth_file::AuthFile;
use crate::home::CodexHome;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::mpsc;
use std::time::Duration;

/// The keyring service Codex files its login under.
pub const SERVICE: &str = "Codex Auth";

/// The longest wait for the keyring: a Secret Service that hangs, or one waiting on an
/// unlock prompt nobody sees, must not hang a switch or the app.
const KEYRING_WAIT: Duration = Duration::from_secs(15);

/// Why the keyring entry could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the OS keyring can't be used: {0}")]
pub struct KeyringError(String);

/// Codex's keyring entry for one `CODEX_HOME`.
#[derive(Clone, PartialEq, Eq)]
pub struct CodexKeyring {
    account: String,
}

impl fmt::Debug for CodexKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodexKeyring")
            .field("service", &SERVICE)
            .field("account", &self.account)
            .finish()
    }
}

impl CodexKeyring {
    /// The entry of `home`: the same one Codex uses for it.
    pub fn of(home: &CodexHome) -> Self {
        let root = home.root();
        let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            account: format!("cli|{}", &hex[..16]),
        }
    }

    /// The entry's account name (`cli|` and 16 hex digits).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The secret Codex stored, or `None` when there is no entry.
    pub fn load(&self) -> Result<Option<String>, KeyringError> {
        let entry = self.entry()?;
        within_wait(KEYRING_WAIT, move || match entry.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(KeyringError(e.to_string())),
        })
    }

    /// Stores `file` as Codex does: compact JSON, replacing any earlier value.
    pub fn save(&self, file: &AuthFile) -> Result<(), KeyringError> {
        let secret = serde_json::to_string(file).expect("an AuthFile always serializes");
        let entry = self.entry()?;
        within_wait(KEYRING_WAIT, move || {
            entry
                .set_password(&secret)
                .map_err(|e| KeyringError(e.to_string()))
        })
    }

    fn entry(&self) -> Result<keyring::Entry, KeyringError> {
        keyring::Entry::new(SERVICE, &self.account).map_err(|e| KeyringError(e.to_string()))
    }
}

/// Runs a keyring call on its own thread and gives up after `wait` (the call may still
/// finish later; identity-based sync-back makes that safe for the next switch).
fn within_wait<T: Send + 'static>(
    wait: Duration,
    call: impl FnOnce() -> Result<T, KeyringError> + Send + 'static,
) -> Result<T, KeyringError> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("codex-keyring".into())
        .spawn(move || {
            let _ = tx.send(call());
        })
        .map_err(|e| KeyringError(format!("cannot start a thread: {e}")))?;
    rx.recv_timeout(wait).unwrap_or_else(|_| {
        Err(KeyringError(format!(
            "it did not answer within {} s (waiting for an unlock prompt?)",
            wait.as_secs_f32()
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyring_that_hangs_is_given_up_on_with_a_reason() {
        let started = std::time::Instant::now();
        let hung = within_wait(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(2));
            Ok(())
        });
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "it did not wait for the call"
        );
        let err = hung.unwrap_err().to_string();
        assert!(err.contains("did not answer within 0.05 s"), "{err}");
        assert_eq!(within_wait(KEYRING_WAIT, || Ok(7)), Ok(7));
    }
}
