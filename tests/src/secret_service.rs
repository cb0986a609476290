//! A real Secret Service for tests: a private D-Bus session bus with gnome-keyring on it,
//! its login keyring created and unlocked with a throwaway password, all under a temporary
//! folder (the user's own keyring and session bus are never touched). Processes a test runs
//! reach it through [`SecretService::env`].

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian packages it needs (installed by `scripts/setup`).
pub const PACKAGES: &str = "dbus-daemon (dbus), gnome-keyring, secret-tool (libsecret-tools)";

/// A running private bus with gnome-keyring's Secret Service, stopped on drop.
pub struct SecretService {
    dir: tempfile::TempDir,
    address: String,
    bus: Child,
    keyring: Option<Child>,
}

/// A private session bus without any Secret Service (a headless machine's bus), stopped on
/// drop.
pub struct BareBus {
    _dir: tempfile::TempDir,
    address: String,
    bus: Child,
}

impl BareBus {
    /// Starts one, or says which program is missing.
    pub fn start() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let (bus, address) = start_bus(dir.path())?;
        Ok(Self {
            _dir: dir,
            address,
            bus,
        })
    }

    /// `DBUS_SESSION_BUS_ADDRESS` for processes that should use it.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for BareBus {
    fn drop(&mut self) {
        stop(&mut self.bus);
    }
}

impl SecretService {
    /// Starts the bus and gnome-keyring and waits until the Secret Service answers, or says
    /// what is missing.
    pub fn start() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        for sub in ["home", "data", "config", "run"] {
            std::fs::create_dir_all(dir.path().join(sub)).map_err(|e| e.to_string())?;
        }
        set_private(&dir.path().join("run"))?;
        let (bus, address) = start_bus(dir.path())?;
        let mut service = Self {
            dir,
            address,
            bus,
            keyring: None,
        };
        // --unlock reads the password on stdin and creates the login keyring with it when
        // there is none; --foreground keeps it our child so drop can stop it.
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .envs(service.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run gnome-keyring-daemon ({e}); need {PACKAGES}"))?;
        let mut stdin = keyring.stdin.take().expect("piped stdin");
        stdin
            .write_all(b"test-only-password")
            .map_err(|e| e.to_string())?;
        drop(stdin);
        service.keyring = Some(keyring);
        service.wait_until_ready()?;
        Ok(service)
    }

    /// The environment a process needs to use this Secret Service (and nothing of the
    /// user's): the bus address and private home, data, config and runtime folders.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let sub = |s: &str| self.dir.path().join(s).to_string_lossy().into_owned();
        vec![
            ("DBUS_SESSION_BUS_ADDRESS", self.address.clone()),
            ("HOME", sub("home")),
            ("XDG_DATA_HOME", sub("data")),
            ("XDG_CONFIG_HOME", sub("config")),
            ("XDG_RUNTIME_DIR", sub("run")),
        ]
    }

    /// Stores `secret` as the `keyring` crate does for `Entry::new(service, user)`: the same
    /// attributes (so the crate finds it), in the default collection.
    pub fn store(&self, service: &str, user: &str, secret: &str) {
        let mut child = self
            .secret_tool()
            .args([
                "store",
                "--label",
                &format!("{user}@{service}:default (keyring v3.6.3)"),
                "service",
                service,
                "username",
                user,
                "target",
                "default",
                "application",
                "rust-keyring",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run secret-tool");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(secret.as_bytes())
            .expect("write the secret");
        let out = child.wait_with_output().expect("secret-tool store");
        assert!(
            out.status.success(),
            "secret-tool store: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The secret of the item whose `service` and `username` attributes match, read as any
    /// other program would, or `None` when there is none.
    pub fn lookup(&self, service: &str, user: &str) -> Option<String> {
        let out = self
            .secret_tool()
            .args(["lookup", "service", service, "username", user])
            .stdin(Stdio::null())
            .output()
            .expect("run secret-tool");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn secret_tool(&self) -> Command {
        let mut c = Command::new("secret-tool");
        c.envs(self.env());
        c
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let owned = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .envs(self.env())
                .output()
                .map_err(|e| format!("cannot run dbus-send ({e}); need {PACKAGES}"))?;
            if String::from_utf8_lossy(&owned.stdout).contains("boolean true") {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.keyring.as_mut().map(Child::try_wait) {
                return Err(format!("gnome-keyring-daemon exited at start: {status}"));
            }
            if Instant::now() > deadline {
                return Err("gnome-keyring's Secret Service did not appear on the bus".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        if let Some(keyring) = &mut self.keyring {
            stop(keyring);
        }
        stop(&mut self.bus);
    }
}

/// Starts a session bus listening in `dir`, with no services to start on demand, and
/// returns it with its address.
fn start_bus(dir: &Path) -> Result<(Child, String), String> {
    let config = dir.join("bus.conf");
    std::fs::write(
        &config,
        format!(
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
             \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n\
             <busconfig><type>session</type>\
             <listen>unix:path={}</listen>\
             <auth>EXTERNAL</auth>\
             <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
             <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n",
            dir.join("bus").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut bus = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--nopidfile", "--print-address=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run dbus-daemon ({e}); need {PACKAGES}"))?;
    let mut line = String::new();
    BufReader::new(bus.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let address = line.trim().to_owned();
    if address.is_empty() {
        stop(&mut bus);
        return Err("dbus-daemon printed no address".into());
    }
    Ok((bus, address))
}

fn set_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The account of Codex's keyring entry for `codex_home`, computed as Codex does
/// (`codex-rs/login/src/auth/storage.rs`): `cli|` and the first 16 hex digits of the SHA-256
/// of the canonical path.
pub fn codex_account(codex_home: &Path) -> String {
    use sha2::{Digest, Sha256};
    let canonical = codex_home
        .canonicalize()
        .unwrap_or_else(|_| codex_home.to_path_buf());
    let hex = format!(
        "{:x}",
        Sha256::digest(canonical.to_string_lossy().as_bytes())
    );
    format!("cli|{}", &hex[..16])
}
