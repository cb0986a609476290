//! What was already told about one profile, in `profiles/<name>/notified.json`: the resets
//! of the limits, windows and failovers told, and the login that was said to need a sign-in.
//! It moves and disappears with the profile folder; a missing or damaged file means
//! "nothing told yet".

use crate::files::{self, FileError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file name inside a profile folder.
const FILE_NAME: &str = "notified.json";

/// Two reset times this close (seconds) are the same reset: a reset the backend gives as
/// "in N seconds" comes back a little different with every answer.
pub const RESET_SLACK: i64 = 600;

/// What was told about one profile. Each field holds the reset (unix seconds) of the event
/// told, so the next event of a kind is told only once its reset differs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Memory {
    /// The end of the last usage limit seen (told or not, as the settings said then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// The end of the limit after which "available again" was told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    /// Per usage window (its length in minutes, or `primary`/`secondary`): the reset of the
    /// window whose threshold was told.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub windows: BTreeMap<String, i64>,
    /// The reset of the limit that caused the last failover told (0: not known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_over: Option<i64>,
    /// The fingerprint of the refresh token that was said to need a new sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<String>,
}

impl Memory {
    /// Reads the memory of the profile in `dir`; missing or damaged is empty.
    pub fn load(dir: &Path) -> Self {
        files::read_bounded(&path(dir))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes it atomically (0600).
    pub fn save(&self, dir: &Path) -> Result<(), FileError> {
        let bytes = serde_json::to_vec_pretty(self).expect("memory always serializes");
        files::write_atomic(&path(dir), &bytes)
    }

    /// The end of a limit after which "available again" is still to be told.
    pub fn pending_available(&self) -> Option<i64> {
        self.limit.filter(|l| !same_reset(self.available, *l))
    }
}

/// Whether `told` is the reset `now_seen` (within [`RESET_SLACK`]).
pub fn same_reset(told: Option<i64>, now_seen: i64) -> bool {
    told.is_some_and(|t| (t - now_seen).abs() <= RESET_SLACK)
}

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_survives_a_restart_and_a_damaged_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Memory::load(dir.path()), Memory::default());
        let mut m = Memory {
            limit: Some(1_000),
            ..Memory::default()
        };
        m.windows.insert("300".into(), 2_000);
        m.save(dir.path()).unwrap();
        assert_eq!(Memory::load(dir.path()), m);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(dir.path().join(FILE_NAME), b"{broken").unwrap();
        assert_eq!(Memory::load(dir.path()), Memory::default());
    }

    #[test]
    fn resets_a_few_seconds_apart_are_the_same() {
        assert!(same_reset(Some(10_000), 10_003));
        assert!(!same_reset(Some(10_000), 10_000 + 5 * 3600));
        assert!(!same_reset(None, 10_000));
    }
}
