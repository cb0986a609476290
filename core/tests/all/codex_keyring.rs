//! The store when Codex keeps its login in the OS keyring, with the keyring crate's own
//! injection point (`set_default_credential_builder`) holding entries in memory, so the rules
//! are checked on any machine. `cli/tests/all/keyring.rs` runs the same kind of switch against a
//! real Secret Service.

use codex_router_core::codex_keyring::{CodexKeyring, SERVICE};
use codex_router_core::home::{CodexHome, ProfileName};
use codex_router_core::proxy::server::{Server, ServerConfig};
use codex_router_core::settings::Settings;
use codex_router_core::store::{Store, StoreError};
use codex_router_testkit::home::{TempHome, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::upstream::FakeUpstream;
use keyring::credential::{Credential, CredentialApi, CredentialBuilderApi};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

const RESPONSES: &str = "/backend-api/codex/responses";

/// Entries by (service, account), and the accounts whose keyring is "unavailable".
#[derive(Default)]
struct Memory {
    entries: Mutex<HashMap<(String, String), Vec<u8>>>,
    broken: Mutex<HashSet<String>>,
}

fn memory() -> &'static Memory {
    static MEMORY: OnceLock<&'static Memory> = OnceLock::new();
    MEMORY.get_or_init(|| {
        let memory: &'static Memory = Box::leak(Box::default());
        keyring::set_default_credential_builder(Box::new(Builder(memory)));
        memory
    })
}

struct Builder(&'static Memory);

impl CredentialBuilderApi for Builder {
    fn build(
        &self,
        _target: Option<&str>,
        service: &str,
        user: &str,
    ) -> keyring::Result<Box<Credential>> {
        Ok(Box::new(Cred {
            memory: self.0,
            key: (service.to_owned(), user.to_owned()),
        }))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[derive(Debug)]
struct Cred {
    memory: &'static Memory,
    key: (String, String),
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memory")
    }
}

impl Cred {
    fn check(&self) -> keyring::Result<()> {
        if self.memory.broken.lock().unwrap().contains(&self.key.1) {
            return Err(keyring::Error::NoStorageAccess(
                "the keyring is locked".into(),
            ));
        }
        Ok(())
    }
}

impl CredentialApi for Cred {
    fn set_secret(&self, secret: &[u8]) -> keyring::Result<()> {
        self.check()?;
        let mut entries = self.memory.entries.lock().unwrap();
        entries.insert(self.key.clone(), secret.to_vec());
        Ok(())
    }

    fn get_secret(&self) -> keyring::Result<Vec<u8>> {
        self.check()?;
        let entries = self.memory.entries.lock().unwrap();
        entries
            .get(&self.key)
            .cloned()
            .ok_or(keyring::Error::NoEntry)
    }

    fn delete_credential(&self) -> keyring::Result<()> {
        self.check()?;
        let mut entries = self.memory.entries.lock().unwrap();
        entries
            .remove(&self.key)
            .map(drop)
            .ok_or(keyring::Error::NoEntry)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn home_with(mode: &str) -> (TempHome, Store, String) {
    let home = TempHome::new();
    std::fs::write(
        home.path().join("config.toml"),
        format!("cli_auth_credentials_store = \"{mode}\"\n"),
    )
    .unwrap();
    let store = Store::new(CodexHome::at(home.path()));
    let account = CodexKeyring::of(store.home()).account().to_owned();
    (home, store, account)
}

fn entry(account: &str) -> Option<String> {
    let entries = memory().entries.lock().unwrap();
    entries
        .get(&(SERVICE.to_owned(), account.to_owned()))
        .map(|b| String::from_utf8(b.clone()).unwrap())
}

fn set_entry(account: &str, value: &Value) {
    let mut entries = memory().entries.lock().unwrap();
    entries.insert(
        (SERVICE.to_owned(), account.to_owned()),
        serde_json::to_vec(value).unwrap(),
    );
}

#[test]
fn the_entry_is_the_one_codex_uses() {
    let (home, _, account) = home_with("keyring");
    let real = home.path().canonicalize().unwrap();
    let hex: String = <sha2::Sha256 as sha2::Digest>::digest(real.to_string_lossy().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(account, format!("cli|{}", &hex[..16]));
    // The same folder reached through a symlink is the same entry.
    let link = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(home.path(), link.path().join("h")).unwrap();
    assert_eq!(
        CodexKeyring::of(&CodexHome::at(link.path().join("h"))).account(),
        account
    );
}

#[test]
fn keyring_mode_switch_syncs_back_from_the_entry_then_writes_compact_json() {
    memory();
    let (home, store, account) = home_with("keyring");
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &chatgpt_auth(&alice, 1, 3600));
    home.write_profile("b", &chatgpt_auth(&bob, 1, 3600));
    let rotated = chatgpt_auth(&alice, 2, 3600);
    set_entry(&account, &rotated);
    assert_eq!(store.current().unwrap().as_deref(), Some("a"));

    let outcome = store.switch("b", false).unwrap();
    assert_eq!(outcome.previous.as_deref(), Some("a"));
    assert_eq!(outcome.synced_back, vec!["a".to_owned()]);
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    assert_eq!(home.read_json(&home.profile_path("a")), rotated);
    let stored = entry(&account).unwrap();
    assert!(!stored.contains('\n'), "compact JSON, as Codex writes it");
    assert_eq!(
        serde_json::from_str::<Value>(&stored).unwrap(),
        home.read_json(&home.profile_path("b"))
    );
    assert!(!home.auth_path().exists());
    assert_eq!(store.current().unwrap().as_deref(), Some("b"));
}

#[test]
fn an_unsaved_login_in_the_entry_is_not_discarded_without_force() {
    memory();
    let (home, store, account) = home_with("keyring");
    home.write_profile("b", &chatgpt_auth(&Identity::new("bob", "pro"), 1, 3600));
    let carol = chatgpt_auth(&Identity::new("carol", "team"), 1, 3600);
    set_entry(&account, &carol);
    assert!(matches!(
        store.switch("b", false),
        Err(StoreError::UnsavedLogin(_))
    ));
    assert_eq!(
        serde_json::from_str::<Value>(&entry(&account).unwrap()).unwrap(),
        carol
    );
}

#[test]
fn keyring_mode_with_the_keyring_unavailable_changes_nothing() {
    memory();
    let (home, store, account) = home_with("keyring");
    home.write_profile("a", &chatgpt_auth(&Identity::new("alice", "plus"), 1, 3600));
    home.write_profile("b", &chatgpt_auth(&Identity::new("bob", "pro"), 1, 3600));
    home.write_current("a");
    memory().broken.lock().unwrap().insert(account.clone());
    let err = store.switch("b", false).unwrap_err();
    assert!(matches!(err, StoreError::Keyring(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("the keyring is locked"), "{text}");
    assert!(
        text.contains("set cli_auth_credentials_store = \"file\""),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(home.path().join(".current_profile")).unwrap(),
        "a\n"
    );
    assert!(!home.auth_path().exists());
    // Listing still works and says why the login can't be read.
    let status = store.status().unwrap();
    assert!(
        status
            .login
            .unwrap()
            .unwrap_err()
            .contains("the keyring is locked")
    );
    // The active profile's refresh is refused rather than risk a token Codex rotated.
    let a = ProfileName::new("a").unwrap();
    assert!(matches!(store.adopt_newer(&a), Err(StoreError::Keyring(_))));
    assert!(store.adopt_newer(&ProfileName::new("b").unwrap()).is_ok());
}

#[test]
fn refresh_adopts_and_writes_the_entry() {
    memory();
    let (home, store, account) = home_with("keyring");
    let alice = Identity::new("alice", "plus");
    home.write_profile("a", &chatgpt_auth(&alice, 1, 3600));
    let rotated = chatgpt_auth(&alice, 2, 3600);
    set_entry(&account, &rotated);
    let a = ProfileName::new("a").unwrap();
    let adopted = store.adopt_newer(&a).unwrap();
    assert_eq!(serde_json::to_value(&adopted).unwrap(), rotated);
    assert_eq!(home.read_json(&home.profile_path("a")), rotated);

    let refreshed: codex_router_core::auth_file::AuthFile =
        serde_json::from_value(chatgpt_auth(&alice, 3, 3600)).unwrap();
    assert!(store.persist_refreshed(&a, &refreshed).unwrap());
    assert_eq!(
        serde_json::from_str::<Value>(&entry(&account).unwrap()).unwrap(),
        chatgpt_auth(&alice, 3, 3600)
    );
    assert!(!home.auth_path().exists());
}

#[test]
fn auto_mode_reads_the_entry_first_and_falls_back_to_auth_json() {
    memory();
    let (home, store, account) = home_with("auto");
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &chatgpt_auth(&alice, 1, 3600));
    home.write_profile("b", &chatgpt_auth(&bob, 1, 3600));
    // No entry: Codex reads auth.json.
    home.write_auth(&chatgpt_auth(&bob, 1, 3600));
    assert_eq!(store.current().unwrap().as_deref(), Some("b"));
    // An entry wins over auth.json.
    set_entry(&account, &chatgpt_auth(&alice, 1, 3600));
    assert_eq!(store.current().unwrap().as_deref(), Some("a"));
    // The keyring unavailable: Codex reads auth.json, and a switch writes it, saying why.
    memory().broken.lock().unwrap().insert(account.clone());
    assert_eq!(store.current().unwrap().as_deref(), Some("b"));
    let outcome = store.switch("a", false).unwrap();
    assert_eq!(
        home.read_json(&home.auth_path()),
        chatgpt_auth(&alice, 1, 3600)
    );
    assert!(
        outcome.warnings.iter().any(|w| w.contains("auth.json")),
        "{:?}",
        outcome.warnings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_serves_the_profile_whose_login_is_in_the_keyring() {
    memory();
    let up = FakeUpstream::start();
    let (home, store, account) = home_with("keyring");
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &up.chatgpt_auth_json(&alice, 3600));
    home.write_profile("b", &up.chatgpt_auth_json(&bob, 3600));
    set_entry(&account, &home.read_json(&home.profile_path("a")));
    let mut settings = Settings::default();
    settings.upstream.chatgpt_base_url = up.chatgpt_base_url();
    settings.upstream.openai_base_url = up.openai_base_url();
    settings.upstream.auth_issuer = up.issuer_url();
    let server = Server::bind(
        ServerConfig::new(store.home().clone(), settings),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let url = format!("http://{}/v1/responses", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let ask = || async {
        let r = http
            .post(&url)
            .header("authorization", "Bearer unused")
            .json(&serde_json::json!({"model": "gpt-5.2-codex", "input": "hi", "stream": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let _ = r.text().await.unwrap();
        up.last_request(RESPONSES)
            .unwrap()
            .header("chatgpt-account-id")
            .map(str::to_owned)
    };
    assert_eq!(ask().await.as_deref(), Some("acct-alice"));
    tokio::task::spawn_blocking(move || store.switch("b", false).unwrap())
        .await
        .unwrap();
    assert_eq!(ask().await.as_deref(), Some("acct-bob"));
    let _ = stop.send(());
}

#[test]
fn auto_mode_reads_auth_json_when_the_entry_does_not_parse_as_codex_does() {
    memory();
    let (home, store, account) = home_with("auto");
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &chatgpt_auth(&alice, 1, 3600));
    home.write_profile("b", &chatgpt_auth(&bob, 1, 3600));
    home.write_auth(&chatgpt_auth(&alice, 1, 3600));
    memory()
        .entries
        .lock()
        .unwrap()
        .insert((SERVICE.to_owned(), account.clone()), b"not json".to_vec());
    assert_eq!(store.current().unwrap().as_deref(), Some("a"));
    let outcome = store.switch("b", false).unwrap();
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.starts_with("replaced Codex's keyring entry, which could not be read")),
        "{:?}",
        outcome.warnings
    );
    let b = home.read_json(&home.profile_path("b"));
    assert_eq!(
        serde_json::from_str::<Value>(&entry(&account).unwrap()).unwrap(),
        b
    );
    assert_eq!(home.read_json(&home.auth_path()), b);
}

#[test]
fn auto_mode_switch_keeps_the_newest_of_the_entry_and_auth_json() {
    memory();
    let (home, store, account) = home_with("auto");
    let (alice, bob) = (Identity::new("alice", "plus"), Identity::new("bob", "pro"));
    home.write_profile("a", &chatgpt_auth(&alice, 1, 3600));
    home.write_profile("b", &chatgpt_auth(&bob, 1, 3600));
    // Codex once fell back to auth.json (generation 2), then rotated again in the keyring
    // (generation 3): the profile must end up with the newest, whichever place is read last.
    home.write_auth(&chatgpt_auth(&alice, 2, 3600));
    set_entry(&account, &chatgpt_auth(&alice, 3, 3600));

    let outcome = store.switch("b", false).unwrap();
    assert_eq!(outcome.synced_back, vec!["a".to_owned()]);
    assert_eq!(
        home.read_json(&home.profile_path("a")),
        chatgpt_auth(&alice, 3, 3600)
    );

    // The other order too: auth.json newer than the entry Codex reads first.
    let (home, store, account) = home_with("auto");
    home.write_profile("a", &chatgpt_auth(&alice, 1, 3600));
    home.write_profile("b", &chatgpt_auth(&bob, 1, 3600));
    home.write_auth(&chatgpt_auth(&alice, 3, 3600));
    set_entry(&account, &chatgpt_auth(&alice, 2, 3600));
    store.switch("b", false).unwrap();
    assert_eq!(
        home.read_json(&home.profile_path("a")),
        chatgpt_auth(&alice, 3, 3600)
    );
}
