//! Where everything lives under `CODEX_HOME`, and the rules for profile names.

use std::fmt;
use std::path::{Path, PathBuf};

/// The longest profile name.
const MAX_NAME_LEN: usize = 64;

/// Why `CODEX_HOME` could not be found.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// Neither `CODEX_HOME` nor `HOME` is set.
    #[error("cannot find the Codex folder: neither CODEX_HOME nor HOME is set")]
    NoHome,
    /// `CODEX_HOME` is set to something that is not a folder.
    #[error("CODEX_HOME is set to {0}, which is not an existing folder")]
    NotADir(PathBuf),
}

/// Why a profile name was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    /// Empty.
    #[error("a profile name cannot be empty")]
    Empty,
    /// Over 64 characters.
    #[error("profile name is too long (at most {MAX_NAME_LEN} characters)")]
    TooLong,
    /// Starts with a dot.
    #[error("profile name '{0}' cannot start with '.'")]
    LeadingDot(String),
    /// Holds a character outside the allowed set.
    #[error(
        "profile name {0} may only contain letters, digits, '.', '_', '-' and '@' (no '/', spaces or control characters)"
    )]
    BadChar(String),
}

/// A valid profile name: 1–64 of ASCII letters, digits, `.`, `_`, `-`, `@`, not starting
/// with `.`. Such a name is always one plain path component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProfileName(String);

impl ProfileName {
    /// Checks a name.
    pub fn new(name: &str) -> Result<Self, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong);
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err(NameError::BadChar(format!("{name:?}")));
        }
        if name.starts_with('.') {
            return Err(NameError::LeadingDot(name.to_owned()));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Codex home folder and the paths the router uses inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexHome {
    root: PathBuf,
}

impl CodexHome {
    /// `CODEX_HOME` when set (it must be an existing folder, as Codex requires), else
    /// `~/.codex` (which may not exist yet).
    pub fn from_env() -> Result<Self, HomeError> {
        match std::env::var_os("CODEX_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                if dir.is_dir() {
                    Ok(Self::at(dir))
                } else {
                    Err(HomeError::NotADir(dir))
                }
            }
            None => std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| Self::at(PathBuf::from(h).join(".codex")))
                .ok_or(HomeError::NoHome),
        }
    }

    /// A home at an explicit path.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `auth.json`: the active login, the file Codex reads.
    pub fn auth_file(&self) -> PathBuf {
        self.root.join("auth.json")
    }

    /// `.current_profile`: the active profile's name.
    pub fn current_file(&self) -> PathBuf {
        self.root.join(".current_profile")
    }

    /// `profiles/`.
    pub fn profiles_dir(&self) -> PathBuf {
        self.root.join("profiles")
    }

    /// `profiles/<name>/`.
    pub fn profile_dir(&self, name: &ProfileName) -> PathBuf {
        self.profiles_dir().join(name.as_str())
    }

    /// `profiles/<name>/auth.json`.
    pub fn profile_auth_file(&self, name: &ProfileName) -> PathBuf {
        self.profile_dir(name).join("auth.json")
    }

    /// `router/`: the router's own files.
    pub fn router_dir(&self) -> PathBuf {
        self.root.join("router")
    }

    /// `router/state.json`: the router's settings.
    pub fn state_file(&self) -> PathBuf {
        self.router_dir().join("state.json")
    }

    /// `router/store.lock`: held while profiles or `auth.json` change.
    pub fn store_lock(&self) -> PathBuf {
        self.router_dir().join("store.lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names() {
        for n in ["work", "a", "me@example.com", "team-2.b_c", &"x".repeat(64)] {
            assert!(ProfileName::new(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn bad_names_are_refused_with_a_reason() {
        assert_eq!(ProfileName::new(""), Err(NameError::Empty));
        assert_eq!(ProfileName::new(&"x".repeat(65)), Err(NameError::TooLong));
        assert!(matches!(
            ProfileName::new(".hidden"),
            Err(NameError::LeadingDot(_))
        ));
        assert!(matches!(
            ProfileName::new(".."),
            Err(NameError::LeadingDot(_))
        ));
        for n in ["../x", "a/b", "a\0b", "a b", "é", "a\\b", "tab\t"] {
            let err = ProfileName::new(n).unwrap_err();
            assert!(matches!(err, NameError::BadChar(_)), "{n}: {err}");
            assert!(!err.to_string().contains('\0'));
        }
    }
}
