//! Setting Codex up to use the router, through the façade: its `config.toml` gains the
//! provider and keeps every other line, the set-up can be asked about, and removing it
//! gives the file back as it was.

use codex_router_core::codex_config::provider::SetupOptions;
use codex_router_core::router::{Router, RouterError};
use codex_router_testkit::home::{OFFLINE_URL, TempHome};
use serde_json::json;

/// A user's own settings, with a provider of their own selected.
const USER_CONFIG: &str = "# mine\nmodel = \"gpt-5.5\"  # the model I like\nmodel_provider = \"ollama\"\n\n[tui]\nnotifications = false\n";

fn config(home: &TempHome) -> String {
    std::fs::read_to_string(home.path().join("config.toml")).unwrap()
}

#[test]
fn set_up_asked_about_and_removed_exactly() {
    let home = TempHome::new();
    home.write_state(&json!({
        "proxy": {"port": 4321},
        "upstream": {"auth_issuer": OFFLINE_URL, "chatgpt_base_url": OFFLINE_URL, "openai_base_url": OFFLINE_URL}
    }));
    std::fs::write(home.path().join("config.toml"), USER_CONFIG).unwrap();
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let before = router.codex_setup_state().unwrap();
    assert!(!before.added && !before.default && before.base_url.is_none());

    let done = router.setup_codex(&SetupOptions::default()).unwrap();
    assert!(done.changed && done.made_default);
    assert_eq!(done.base_url, "http://127.0.0.1:4321/v1");
    let text = config(&home);
    for line in USER_CONFIG
        .lines()
        .filter(|l| !l.starts_with("model_provider"))
    {
        assert!(text.contains(line), "lost {line:?} in\n{text}");
    }
    assert!(text.contains("model_provider = \"codex-router\""), "{text}");
    let state = router.codex_setup_state().unwrap();
    assert!(state.added && state.default && state.current && !state.env_key);
    assert_eq!(state.base_url.as_deref(), Some("http://127.0.0.1:4321/v1"));

    // Running it again changes nothing.
    assert!(
        !router
            .setup_codex(&SetupOptions::default())
            .unwrap()
            .changed
    );
    // Another port is noticed as not the configured address.
    router
        .setup_codex(&SetupOptions {
            port: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert!(!router.codex_setup_state().unwrap().current);

    let removed = router.remove_codex_setup(None).unwrap();
    assert!(removed.changed && removed.default_removed);
    assert_eq!(removed.restored.as_deref(), Some("ollama"));
    assert_eq!(config(&home), USER_CONFIG);
    assert!(!router.codex_setup_state().unwrap().added);
    assert!(!router.remove_codex_setup(None).unwrap().changed);
}

#[test]
fn a_pinned_provider_sits_beside_the_default_one() {
    let home = TempHome::new();
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    router.setup_codex(&SetupOptions::default()).unwrap();
    let pinned = router
        .setup_codex(&SetupOptions {
            profile: Some("work".into()),
            no_default: true,
            env_key: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(pinned.provider_id, "codex-router-work");
    assert_eq!(pinned.base_url, "http://127.0.0.1:9876/p/work/v1");
    let text = config(&home);
    assert!(text.contains("env_key = \"CODEX_ROUTER_KEY\""), "{text}");
    // The default provider stays Codex's default.
    assert!(router.codex_setup_state().unwrap().default);
    let removed = router.remove_codex_setup(Some("work")).unwrap();
    assert!(removed.changed && !removed.default_removed);
    assert!(!config(&home).contains("codex-router-work"));
    assert!(router.codex_setup_state().unwrap().default);
    assert!(matches!(
        router.setup_codex(&SetupOptions {
            profile: Some("../x".into()),
            ..Default::default()
        }),
        Err(RouterError::Setup(_))
    ));
}

#[test]
fn a_broken_config_is_refused_and_left_alone() {
    let home = TempHome::new();
    std::fs::write(home.path().join("config.toml"), "model = [").unwrap();
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let err = router.setup_codex(&SetupOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not valid TOML"), "{err}");
    assert!(router.codex_setup_state().is_err());
    assert!(router.remove_codex_setup(None).is_err());
    assert_eq!(config(&home), "model = [");
}
