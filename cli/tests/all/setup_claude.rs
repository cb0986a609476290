//! `setup-claude` and `setup-claude --remove` as a user runs them: Claude Code's
//! settings.json gains the endpoint's address, keeps every other key, and loses only that.

use codex_router_testkit::home::TempHome;
use std::process::{Command, Output};

fn router(home: &TempHome, claude: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codex-router"))
        .args(args)
        .env("CODEX_HOME", home.path())
        .env("CLAUDE_CONFIG_DIR", claude)
        .output()
        .expect("run codex-router")
}

#[test]
fn setup_claude_then_remove() {
    let home = TempHome::new();
    let claude = tempfile::tempdir().unwrap();
    let file = claude.path().join("settings.json");
    std::fs::write(&file, "{\"theme\": \"dark\"}").unwrap();

    let added = router(&home, claude.path(), &["setup-claude", "--profile", "work"]);
    assert!(added.status.success(), "{added:?}");
    let out = String::from_utf8_lossy(&added.stdout);
    assert!(
        out.contains("Claude Code now sends to http://127.0.0.1:9876/p/work"),
        "{out}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["theme"], "dark");
    assert_eq!(
        doc["env"]["ANTHROPIC_BASE_URL"],
        "http://127.0.0.1:9876/p/work"
    );

    let removed = router(&home, claude.path(), &["setup-claude", "--remove"]);
    assert!(removed.status.success(), "{removed:?}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc, serde_json::json!({"theme": "dark"}));

    let clash = router(
        &home,
        claude.path(),
        &["setup-claude", "--remove", "--port", "1"],
    );
    assert!(!clash.status.success());
}
