//! `autostart`, `completions` and `--version`: start at login through an XDG autostart
//! entry in a temporary `XDG_CONFIG_HOME`, and what packaging needs from the command line.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn router(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codex-router"))
        .args(args)
        .env("XDG_CONFIG_HOME", config)
        .env_remove("CODEX_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("run codex-router")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

#[test]
fn autostart_on_off_and_status() {
    let config = tempfile::tempdir().unwrap();
    let entry = config.path().join("autostart/codex-router.desktop");

    let out = router(config.path(), &["autostart"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("does not start at login"),
        "{}",
        text(&out)
    );

    let out = router(config.path(), &["autostart", "on"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("starts at login"), "{}", text(&out));
    let written = std::fs::read_to_string(&entry).unwrap();
    assert!(written.contains("[Desktop Entry]"));
    let exec = written.lines().find(|l| l.starts_with("Exec=")).unwrap();
    assert!(exec.ends_with("codex-router-app --hidden"), "{exec}");

    let out = router(config.path(), &["autostart"]);
    assert!(
        text(&out).contains("starts at login, in the tray"),
        "{}",
        text(&out)
    );

    // Off removes exactly the entry, and the folder's other entries stay.
    std::fs::write(config.path().join("autostart/other.desktop"), "x").unwrap();
    let out = router(config.path(), &["autostart", "off"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!entry.exists());
    assert!(config.path().join("autostart/other.desktop").exists());
    assert!(text(&router(config.path(), &["autostart"])).contains("does not start"));
}

#[test]
fn autostart_leaves_an_entry_it_did_not_write() {
    let config = tempfile::tempdir().unwrap();
    let entry = config.path().join("autostart/codex-router.desktop");
    std::fs::create_dir_all(entry.parent().unwrap()).unwrap();
    let theirs = "[Desktop Entry]\nType=Application\nExec=my-own-wrapper\n";
    std::fs::write(&entry, theirs).unwrap();
    for arg in ["off", "on"] {
        let out = router(config.path(), &["autostart", arg]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains("not written by Codex Router"),
            "{}",
            text(&out)
        );
        assert_eq!(std::fs::read_to_string(&entry).unwrap(), theirs);
    }
}

#[test]
fn completions_and_version_for_packaging() {
    let config = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef codex-router"),
        ("fish", "complete -c codex-router"),
    ] {
        let out = router(config.path(), &["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("autostart") && script.contains("setup-codex"));
    }
    let out = router(config.path(), &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("invalid value 'tcsh'"),
        "{}",
        text(&out)
    );

    let out = router(config.path(), &["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("codex-router {}", env!("CARGO_PKG_VERSION"))
    );
    let man = router(config.path(), &["manpage"]);
    assert!(man.status.success());
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(
        page.contains(".TH codex-router 1") && page.contains("autostart"),
        "{page}"
    );
}
