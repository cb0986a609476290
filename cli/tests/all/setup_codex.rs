//! `setup-codex` and `setup-codex --remove` as a user runs them: Codex's `config.toml` gains
//! the provider, keeps every other line, and comes back as it was.

use codex_router_testkit::home::TempHome;
use std::process::{Command, Output};

fn router(home: &TempHome, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codex-router"))
        .args(args)
        .env("CODEX_HOME", home.path())
        .output()
        .expect("run codex-router")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const USER_CONFIG: &str = "# my Codex settings\nmodel = \"gpt-5.5\"  # the model I like\n\n[tui]\nnotifications = false\n";

#[test]
fn setup_codex_then_remove_gives_the_file_back() {
    let home = TempHome::new();
    let path = home.path().join("config.toml");
    std::fs::write(&path, USER_CONFIG).unwrap();

    let added = router(&home, &["setup-codex", "--port", "4444"]);
    assert!(added.status.success(), "{added:?}");
    assert!(
        stdout(&added)
            .contains("Added the model provider 'codex-router' (http://127.0.0.1:4444/v1)"),
        "{}",
        stdout(&added)
    );
    assert!(stdout(&added).contains("codex-router setup-codex --remove"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("model_provider = \"codex-router\""), "{text}");
    for line in USER_CONFIG.lines() {
        assert!(text.contains(line), "lost {line:?}");
    }
    let again = router(&home, &["setup-codex", "--port", "4444"]);
    assert!(stdout(&again).contains("nothing to change"));

    let removed = router(&home, &["setup-codex", "--remove"]);
    assert!(removed.status.success(), "{removed:?}");
    assert!(
        stdout(&removed).contains("Removed the model provider 'codex-router'"),
        "{}",
        stdout(&removed)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), USER_CONFIG);
    let nothing = router(&home, &["setup-codex", "--remove"]);
    assert!(nothing.status.success());
    assert!(stdout(&nothing).contains("nothing to remove"));

    // --remove takes no set-up options.
    let mixed = router(&home, &["setup-codex", "--remove", "--port", "1"]);
    assert!(!mixed.status.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), USER_CONFIG);
}

#[test]
fn a_pinned_provider_is_removed_by_its_profile() {
    let home = TempHome::new();
    let path = home.path().join("config.toml");
    let out = router(&home, &["setup-codex", "--profile", "work", "--env-key"]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("$CODEX_ROUTER_KEY"));
    assert!(stdout(&out).contains("setup-codex --remove --profile work"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("base_url = \"http://127.0.0.1:9876/p/work/v1\""),
        "{text}"
    );
    // Without --profile, the provider that follows the active profile is meant: not there.
    assert!(stdout(&router(&home, &["setup-codex", "--remove"])).contains("nothing to remove"));
    let removed = router(&home, &["setup-codex", "--remove", "--profile", "work"]);
    assert!(removed.status.success());
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("codex-router")
    );
}
