//! What the router remembers about one profile beside its `auth.json`, in
//! `profiles/<name>/router.json`: currently whether it needs a new sign-in. The file moves
//! and disappears with the profile folder.

use crate::files;
use crate::secret::Secret;
use crate::usage::Usage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The file name inside a profile folder.
const FILE_NAME: &str = "router.json";

/// Router state of one profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileState {
    /// Set when a refresh failed for good; the login must be signed in again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_sign_in: Option<SignInNeeded>,
    /// The latest usage figures seen for this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Keys of newer versions, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why a profile needs a new sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInNeeded {
    /// The issuer's error code, e.g. `refresh_token_reused`.
    pub code: String,
    /// What to tell the user.
    pub message: String,
    /// When it was recorded (RFC 3339).
    pub at: String,
    /// Which refresh token failed (a hash, never the token). The mark only holds while the
    /// profile still has that token: a new sign-in clears it by itself.
    pub token_fingerprint: String,
}

impl ProfileState {
    /// Reads the state of the profile in `dir`; missing or unreadable means "nothing known".
    pub fn load(dir: &Path) -> Self {
        files::read_bounded(&path(dir))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes it atomically (0600).
    pub fn save(&self, dir: &Path) -> Result<(), files::FileError> {
        let bytes = serde_json::to_vec_pretty(self).expect("state always serializes");
        files::write_atomic(&path(dir), &bytes)
    }

    /// The sign-in mark, if it is about `refresh_token` (the profile's current one).
    pub fn needs_sign_in_for(&self, refresh_token: &Secret) -> Option<&SignInNeeded> {
        self.needs_sign_in
            .as_ref()
            .filter(|n| n.token_fingerprint == fingerprint(refresh_token))
    }
}

/// A short, one-way hash of a token, safe to store and compare.
pub fn fingerprint(token: &Secret) -> String {
    let digest = Sha256::digest(token.expose().as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_applies_only_to_the_token_it_was_made_for() {
        let dir = tempfile::tempdir().unwrap();
        let old = Secret::new("rt-old");
        let state = ProfileState {
            needs_sign_in: Some(SignInNeeded {
                code: "refresh_token_reused".into(),
                message: "refresh token was already used".into(),
                at: "2026-01-01T00:00:00Z".into(),
                token_fingerprint: fingerprint(&old),
            }),
            usage: None,
            extra: Map::new(),
        };
        state.save(dir.path()).unwrap();
        let back = ProfileState::load(dir.path());
        assert!(back.needs_sign_in_for(&old).is_some());
        assert!(back.needs_sign_in_for(&Secret::new("rt-new")).is_none());
        let raw = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(!raw.contains("rt-old"));
    }
}
