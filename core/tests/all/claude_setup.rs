//! Setting Claude Code up to use the router, through the façade: its `settings.json` (under
//! `CLAUDE_CONFIG_DIR`) gains the endpoint's address and keeps every other key, the set-up
//! can be asked about, and removing it gives the file back as it was.

use codex_router_core::router::{Router, RouterError};
use codex_router_core::view::messages::{claude_setup_summary, claude_state_words};
use codex_router_testkit::home::{OFFLINE_URL, TempHome};
use serde_json::{Value, json};

#[test]
fn set_up_asked_about_and_removed_exactly() {
    let claude = tempfile::tempdir().unwrap();
    // SAFETY: set before any other thread of this test process exists (nextest runs each
    // test in its own process).
    unsafe { std::env::set_var("CLAUDE_CONFIG_DIR", claude.path()) };
    let file = claude.path().join("settings.json");
    std::fs::write(
        &file,
        r#"{"theme": "dark", "env": {"DISABLE_TELEMETRY": "1"}}"#,
    )
    .unwrap();
    let home = TempHome::new();
    home.write_state(&json!({
        "proxy": {"port": 4321},
        "upstream": {"auth_issuer": OFFLINE_URL, "chatgpt_base_url": OFFLINE_URL, "openai_base_url": OFFLINE_URL}
    }));
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let before = router.claude_setup_state().unwrap();
    assert!(before.base_url.is_none());
    assert_eq!(
        claude_state_words(&before),
        "Claude Code is not set up to use Codex Router."
    );

    let done = router.setup_claude(Some("work")).unwrap();
    assert!(done.changed);
    assert_eq!(
        claude_setup_summary(&done)[0],
        format!(
            "Claude Code now sends to http://127.0.0.1:4321/p/work ({})",
            file.display()
        )
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["theme"], "dark");
    assert_eq!(
        doc["env"]["ANTHROPIC_BASE_URL"],
        "http://127.0.0.1:4321/p/work"
    );
    let state = router.claude_setup_state().unwrap();
    assert!(state.current);
    assert_eq!(
        claude_state_words(&state),
        "Claude Code sends its requests to Codex Router (http://127.0.0.1:4321/p/work)."
    );

    assert!(router.remove_claude_setup().unwrap().changed);
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        doc,
        json!({"theme": "dark", "env": {"DISABLE_TELEMETRY": "1"}})
    );
    assert!(router.claude_setup_state().unwrap().base_url.is_none());
    assert!(!router.remove_claude_setup().unwrap().changed);

    std::fs::write(&file, "{broken").unwrap();
    let err = router.setup_claude(None).unwrap_err();
    assert!(matches!(err, RouterError::Claude(_)), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{broken");
}
