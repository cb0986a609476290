//! The `codex-router` binary as a user runs it: output, exit codes, files on disk.

use codex_router_testkit::home::{TempHome, api_key_auth, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use serde_json::Value;
use std::process::{Command, Output, Stdio};

fn router(home: &TempHome, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codex-router"))
        .args(args)
        .env("CODEX_HOME", home.path())
        .env("RUST_LOG", "trace")
        .envs(offline())
        .stdin(Stdio::null())
        .output()
        .expect("run codex-router")
}

/// Upstream URLs that refuse at once, so no test reaches the internet.
fn offline() -> [(&'static str, &'static str); 3] {
    [
        (
            "CODEX_ROUTER_CHATGPT_BASE_URL",
            "http://127.0.0.1:9/backend-api/codex",
        ),
        ("CODEX_ROUTER_OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
        ("CODEX_ROUTER_AUTH_ISSUER", "http://127.0.0.1:9"),
    ]
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A home with two ChatGPT profiles (one active, one expired), an API key and a broken one.
fn mixed_home() -> (TempHome, Identity, Identity) {
    let home = TempHome::new();
    let (alice, bob) = (Identity::new("alice", "team"), Identity::new("bob", "plus"));
    home.write_profile("work", &chatgpt_auth(&alice, 1, 3 * 86_400 + 600));
    home.write_profile("personal", &chatgpt_auth(&bob, 1, -7200));
    home.write_profile("key", &api_key_auth("sk-proj-SECRETKEY"));
    home.write_profile_raw("broken", b"{\"tokens\": ");
    home.write_auth(&chatgpt_auth(&alice, 2, 3 * 86_400 + 600));
    (home, alice, bob)
}

#[test]
fn list_is_a_readable_table() {
    let (home, _, _) = mixed_home();
    let out = router(&home, &["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().any(|w| w == name))
            .unwrap()
            .to_owned()
    };
    assert!(line("work").starts_with('*'), "{text}");
    assert!(
        line("work").contains("alice@example.com") && line("work").contains("expires in 3 days"),
        "{text}"
    );
    assert!(line("personal").contains("expired 2 hours ago"), "{text}");
    assert!(line("key").contains("API key"), "{text}");
    assert!(line("broken").contains("INVALID: not valid JSON"), "{text}");
}

#[test]
fn list_json_has_the_contract_keys() {
    let (home, _, _) = mixed_home();
    let out = router(&home, &["list", "--json"]);
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 4);
    for row in &rows {
        for key in [
            "name",
            "email",
            "plan",
            "account_id",
            "auth_mode",
            "expires_at",
            "active",
            "error",
            "usage",
        ] {
            assert!(row.get(key).is_some(), "{key} missing in {row}");
        }
    }
    let by = |n: &str| rows.iter().find(|r| r["name"] == n).unwrap().clone();
    assert_eq!(by("work")["active"], true);
    assert_eq!(by("work")["auth_mode"], "chatgpt");
    assert_eq!(by("work")["plan"], "team");
    assert_eq!(by("work")["account_id"], "acct-alice");
    assert!(
        chrono::DateTime::parse_from_rfc3339(by("work")["expires_at"].as_str().unwrap()).is_ok()
    );
    assert_eq!(by("key")["auth_mode"], "api_key");
    assert_eq!(
        by("broken")["error"].as_str().unwrap(),
        "not valid JSON at line 1, column 11"
    );
    assert_eq!(by("broken")["active"], false);
}

#[test]
fn switch_syncs_back_and_reminds_to_restart() {
    let (home, alice, _) = mixed_home();
    let out = router(&home, &["switch", "personal"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Switched to 'personal'"), "{text}");
    assert!(text.contains("Developer: Reload Window"), "{text}");
    assert!(text.contains("newer tokens of 'work'"), "{text}");
    let work = home.read_json(&home.profile_path("work"));
    assert_eq!(
        work["tokens"]["refresh_token"],
        format!("rt-{}-2-SECRETREFRESH", alice.user_id)
    );
    assert_eq!(stdout(&router(&home, &["current"])).trim(), "personal");
    let status: Value =
        serde_json::from_slice(&router(&home, &["status", "--json"]).stdout).unwrap();
    assert_eq!(status["profile"], "personal");
    assert_eq!(status["email"], "bob@example.com");
    for key in ["profile", "email", "plan", "auth_mode", "expires_at"] {
        assert!(status.get(key).is_some());
    }
}

#[test]
fn user_errors_exit_1_with_one_line() {
    let (home, _, _) = mixed_home();
    for (args, needle) in [
        (vec!["switch", "ghost"], "no profile named 'ghost'"),
        (vec!["switch", "../x"], "may only contain"),
        (vec!["switch", ".hidden"], "cannot start with '.'"),
        (vec!["save", "a/b"], "may only contain"),
        (vec!["switch", "broken"], "can't be used"),
        (vec!["rename", "work", "key"], "already exists"),
        (vec!["remove", "work"], "pass --yes"),
        (vec!["switch"], "NAME"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ] {
        let out = router(&home, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    assert!(home.profile_path("work").exists());
    let missing = Command::new(env!("CARGO_BIN_EXE_codex-router"))
        .arg("list")
        .env("CODEX_HOME", home.path().join("nope"))
        .envs(offline())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("not an existing folder"));
}

#[test]
fn save_rename_remove_round_trip() {
    let home = TempHome::new();
    home.write_auth(&chatgpt_auth(&Identity::new("dana", "pro"), 1, 3600));
    assert!(router(&home, &["save", "dana"]).status.success());
    let again = router(&home, &["save", "dana2"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already saved as profile 'dana'"));
    assert!(router(&home, &["rename", "dana", "main"]).status.success());
    assert_eq!(stdout(&router(&home, &["current"])).trim(), "main");
    let removed = router(&home, &["remove", "main", "--yes"]);
    assert!(removed.status.success());
    assert!(stdout(&removed).contains("It was the active login"));
    assert!(home.auth_path().exists());
    assert_eq!(router(&home, &["current"]).status.code(), Some(1));
    assert!(stdout(&router(&home, &["list"])).contains("No profiles"));
}

#[test]
fn an_empty_home_says_how_to_begin() {
    let home = TempHome::new();
    let list = stdout(&router(&home, &["list"]));
    assert!(list.contains("No profiles"), "{list}");
    assert!(list.contains("`codex-router login NAME`"), "{list}");
    let status = router(&home, &["status"]);
    assert!(status.status.success());
    assert_eq!(
        stdout(&status).lines().next(),
        Some("Not signed in: auth.json does not exist.")
    );
    let json: Value = serde_json::from_str(&stdout(&router(&home, &["status", "--json"]))).unwrap();
    assert_eq!(json["error"], "not signed in: auth.json does not exist");
    assert_eq!(json["profile"], Value::Null);
}

#[test]
fn no_secret_reaches_any_output() {
    let (home, _, _) = mixed_home();
    let mut secrets: Vec<String> = vec!["SECRETKEY".into(), "SECRETREFRESH".into()];
    for name in ["work", "personal"] {
        let v = home.read_json(&home.profile_path(name));
        for t in ["id_token", "access_token"] {
            let jwt = v["tokens"][t].as_str().unwrap();
            secrets.push(jwt.split('.').nth(1).unwrap().to_owned());
        }
    }
    let runs: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["list", "--json"],
        vec!["status"],
        vec!["status", "--json"],
        vec!["current"],
        vec!["switch", "key"],
        vec!["status", "--json"],
        vec!["switch", "work"],
        vec!["switch", "broken"],
        vec!["save", "dup"],
    ];
    for args in runs {
        let out = router(&home, &args);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        for s in &secrets {
            assert!(
                !all.contains(s.as_str()),
                "{args:?} printed a secret: {all}"
            );
        }
    }
}

/// A switch killed with SIGKILL at random moments, many times, while "Codex" keeps
/// refreshing the active login, leaves every file whole and never loses the newest
/// refresh token of any login.
#[test]
fn switch_killed_at_random_moments_leaves_valid_files() {
    let home = TempHome::new();
    let names = ["a", "b", "c"];
    let people: Vec<Identity> = names.iter().map(|n| Identity::new(n, "plus")).collect();
    let mut generation = [1u32; 3];
    for (n, p) in names.iter().zip(&people) {
        home.write_profile(n, &chatgpt_auth(p, 1, 3600));
    }
    home.write_auth(&chatgpt_auth(&people[0], 1, 3600));
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut killed = 0;
    for _ in 0..120 {
        // Codex refreshes the active login now and then (rotating its refresh token).
        let current = stdout(&router(&home, &["current"])).trim().to_owned();
        if let Some(i) = names.iter().position(|n| *n == current)
            && next() % 2 == 0
        {
            generation[i] += 1;
            home.write_auth(&chatgpt_auth(&people[i], generation[i], 3600));
        }
        let target = names[(next() % 3) as usize];
        let mut child = Command::new(env!("CARGO_BIN_EXE_codex-router"))
            .args(["switch", target])
            .env("CODEX_HOME", home.path())
            .envs(offline())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(next() % 4000));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();

        // Every file is whole.
        let auth = home.read_json(&home.auth_path());
        for n in names {
            let v = home.read_json(&home.profile_path(n));
            assert!(v["tokens"]["refresh_token"].is_string());
        }
        // No login lost its newest refresh token: it is in its profile or in auth.json.
        for (i, p) in people.iter().enumerate() {
            let newest = format!("rt-{}-{}-SECRETREFRESH", p.user_id, generation[i]);
            let in_profile = home.read_json(&home.profile_path(names[i]))["tokens"]["refresh_token"]
                == newest.as_str();
            let in_auth = auth["tokens"]["refresh_token"] == newest.as_str();
            assert!(in_profile || in_auth, "lost {newest}");
        }
    }
    assert!(
        killed > 5,
        "only {killed} switches were killed mid-way; the test proves little"
    );
    let listed: Vec<Value> =
        serde_json::from_slice(&router(&home, &["list", "--json"]).stdout).unwrap();
    let listed: Vec<&str> = listed.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(listed, names);
    assert!(listed.iter().all(|n| !n.starts_with('.')));
}
