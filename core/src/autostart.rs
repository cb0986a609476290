//! Start at login on Linux desktops: an XDG autostart entry,
//! `$XDG_CONFIG_HOME/autostart/codex-router.desktop` (default `~/.config`), that starts the
//! desktop app in the tray with no window (`codex-router-app --hidden`). The entry carries
//! a mark, so turning it off removes exactly what was added and never a file someone else
//! wrote. (The Swift app on macOS registers itself as a login item instead.)

use crate::files::{self, FileError};
use std::path::{Path, PathBuf};

/// The entry's file name in the autostart folder.
pub const ENTRY_FILE: &str = "codex-router.desktop";
/// The desktop app's binary.
pub const APP_BINARY: &str = "codex-router-app";
/// The key that marks an entry as written by Codex Router.
const MARK: &str = "X-Codex-Router-Autostart";

/// Why the entry could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    /// Neither `XDG_CONFIG_HOME` nor `HOME` says where the autostart folder is.
    #[error("cannot tell where the autostart folder is: neither XDG_CONFIG_HOME nor HOME is set")]
    NoConfigDir,
    /// An entry of that name exists that Codex Router did not write; it is left alone.
    #[error("{0} was not written by Codex Router, so it is left alone; remove or edit it yourself")]
    NotOurs(String),
    /// The entry could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
}

/// Whether the app starts at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutostartState {
    /// No entry: it does not.
    Off,
    /// Our entry: it does.
    On,
    /// Our entry, but the desktop's settings turned it off (`Hidden=true`).
    HiddenByDesktop,
    /// An entry of the same name that Codex Router did not write.
    Foreign,
}

/// The autostart entry of one user.
#[derive(Debug, Clone)]
pub struct Autostart {
    path: PathBuf,
    command: String,
}

impl Autostart {
    /// The entry under `$XDG_CONFIG_HOME/autostart` (an absolute `XDG_CONFIG_HOME`, else
    /// `~/.config`), starting [`app_command`].
    pub fn from_env() -> Result<Self, AutostartError> {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|h| !h.is_empty())
                    .map(|h| PathBuf::from(h).join(".config"))
            })
            .ok_or(AutostartError::NoConfigDir)?;
        Ok(Self::at(&config, &app_command()))
    }

    /// The entry under `config_dir/autostart`, starting `command` (a desktop entry `Exec`
    /// value without `--hidden`).
    pub fn at(config_dir: &Path, command: &str) -> Self {
        Self {
            path: config_dir.join("autostart").join(ENTRY_FILE),
            command: command.to_owned(),
        }
    }

    /// The entry's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the app starts at login now.
    pub fn state(&self) -> Result<AutostartState, AutostartError> {
        let text = match files::read_bounded(&self.path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.is_not_found() => return Ok(AutostartState::Off),
            Err(e) => return Err(e.into()),
        };
        let has = |key: &str, value: &str| {
            text.lines().any(|l| {
                l.split_once('=')
                    .is_some_and(|(k, v)| k.trim() == key && v.trim() == value)
            })
        };
        Ok(if !has(MARK, "true") {
            AutostartState::Foreign
        } else if has("Hidden", "true") {
            AutostartState::HiddenByDesktop
        } else {
            AutostartState::On
        })
    }

    /// Writes the entry (again). Refuses when an entry of the same name is not ours.
    pub fn enable(&self) -> Result<(), AutostartError> {
        if self.state()? == AutostartState::Foreign {
            return Err(self.not_ours());
        }
        if let Some(dir) = self.path.parent() {
            files::ensure_dir(dir)?;
        }
        files::write_atomic(&self.path, self.entry().as_bytes())?;
        Ok(())
    }

    /// Removes the entry when it is ours (nothing to do when there is none). Refuses to
    /// remove one Codex Router did not write.
    pub fn disable(&self) -> Result<(), AutostartError> {
        match self.state()? {
            AutostartState::Off => Ok(()),
            AutostartState::Foreign => Err(self.not_ours()),
            AutostartState::On | AutostartState::HiddenByDesktop => {
                std::fs::remove_file(&self.path).or_else(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => Ok(()),
                    _ => Err(FileError::io(&self.path, e).into()),
                })
            }
        }
    }

    /// What the state means, in a sentence.
    pub fn describe(&self, state: &AutostartState) -> String {
        let path = self.path.display();
        match state {
            AutostartState::On => {
                format!("Codex Router starts at login, in the tray with no window ({path}).")
            }
            AutostartState::Off => "Codex Router does not start at login.".to_owned(),
            AutostartState::HiddenByDesktop => format!(
                "Codex Router does not start at login: the desktop's settings turned its entry off ({path})."
            ),
            AutostartState::Foreign => format!(
                "{path} was not written by Codex Router; whether it starts the app is up to that file."
            ),
        }
    }

    fn not_ours(&self) -> AutostartError {
        AutostartError::NotOurs(self.path.display().to_string())
    }

    fn entry(&self) -> String {
        format!(
            "[Desktop Entry]\n\
             Type=Application\n\
             Name=Codex Router\n\
             Comment=Switch Codex accounts from the tray\n\
             Exec={} --hidden\n\
             Icon=codex-router\n\
             Terminal=false\n\
             Categories=Utility;\n\
             X-GNOME-Autostart-enabled=true\n\
             {MARK}=true\n",
            self.command
        )
    }
}

/// How the autostart entry starts the desktop app: the `codex-router-app` beside the
/// running program (the app itself, or the CLI installed with it), else the one on `PATH`.
pub fn app_command() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let beside = exe.with_file_name(APP_BINARY);
            beside.is_file().then_some(beside)
        })
        .map(|p| exec_quoted(&p.to_string_lossy()))
        .unwrap_or_else(|| APP_BINARY.to_owned())
}

/// A path as a desktop entry's `Exec` argument: quoted when it holds anything but plain
/// path characters.
fn exec_quoted(path: &str) -> String {
    let plain = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c));
    if plain {
        return path.to_owned();
    }
    let mut out = String::from("\"");
    for c in path.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_then_off_removes_exactly_what_it_added() {
        let dir = tempfile::tempdir().unwrap();
        let a = Autostart::at(dir.path(), "/usr/bin/codex-router-app");
        assert_eq!(a.state().unwrap(), AutostartState::Off);
        a.enable().unwrap();
        assert_eq!(a.state().unwrap(), AutostartState::On);
        let text = std::fs::read_to_string(a.path()).unwrap();
        assert!(
            text.lines()
                .any(|l| l == "Exec=/usr/bin/codex-router-app --hidden"),
            "{text}"
        );
        a.disable().unwrap();
        assert_eq!(a.state().unwrap(), AutostartState::Off);
        assert!(dir.path().join("autostart").is_dir(), "the folder stays");
        a.disable().unwrap();
    }

    #[test]
    fn an_entry_someone_else_wrote_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let a = Autostart::at(dir.path(), "codex-router-app");
        std::fs::create_dir_all(dir.path().join("autostart")).unwrap();
        let theirs = "[Desktop Entry]\nType=Application\nExec=my-wrapper\n";
        std::fs::write(a.path(), theirs).unwrap();
        assert_eq!(a.state().unwrap(), AutostartState::Foreign);
        assert!(matches!(a.disable(), Err(AutostartError::NotOurs(_))));
        assert!(matches!(a.enable(), Err(AutostartError::NotOurs(_))));
        assert_eq!(std::fs::read_to_string(a.path()).unwrap(), theirs);
    }

    #[test]
    fn an_entry_the_desktop_hid_is_off_and_on_again_restores_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = Autostart::at(dir.path(), "codex-router-app");
        a.enable().unwrap();
        let hidden = std::fs::read_to_string(a.path()).unwrap() + "Hidden=true\n";
        std::fs::write(a.path(), hidden).unwrap();
        assert_eq!(a.state().unwrap(), AutostartState::HiddenByDesktop);
        a.enable().unwrap();
        assert_eq!(a.state().unwrap(), AutostartState::On);
    }

    #[test]
    fn odd_paths_are_quoted_for_exec() {
        assert_eq!(
            exec_quoted("/usr/bin/codex-router-app"),
            "/usr/bin/codex-router-app"
        );
        assert_eq!(
            exec_quoted("/home/a b/$x/codex-router-app"),
            "\"/home/a b/\\$x/codex-router-app\""
        );
    }
}
