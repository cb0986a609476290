//! `usage`: the samples a running `serve` records from its answers' `x-codex-*` headers,
//! read back as CSV, JSON and lines with a forecast.

use codex_router_testkit::home::TempHome;
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::upstream::{FakeUpstream, RateLimits};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

fn router(home: &TempHome, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codex-router"))
        .args(args)
        .env("CODEX_HOME", home.path())
        .stdin(Stdio::null())
        .output()
        .expect("run codex-router")
}

/// Starts `serve` on a free port; returns it and its base URL.
fn serve(home: &TempHome) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_codex-router"))
        .args(["serve", "--port", "0"])
        .env("CODEX_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let base = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("serve prints its address")
        .trim_end_matches([',', ')'])
        .to_owned();
    (child, base)
}

/// Waits (boundedly) until the history file has `n` lines: usage is stored off the
/// request's task, just after the answer.
fn wait_for_lines(file: &Path, n: usize) {
    for _ in 0..400 {
        let lines = std::fs::read_to_string(file)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if lines >= n {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("the history never reached {n} samples");
}

#[test]
fn usage_history_csv_shows_what_a_running_serve_recorded() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    // Only the answers' headers feed the history here: no background poll of the usage
    // endpoint.
    home.write_state(&serde_json::json!({
        "upstream": {
            "auth_issuer": up.issuer_url(),
            "chatgpt_base_url": up.chatgpt_base_url(),
            "openai_base_url": up.openai_base_url(),
        },
        "usage": {"refresh_minutes": 0},
    }));
    let alice = Identity::new("alice", "plus");
    let auth = up.chatgpt_auth_json(&alice, 3600);
    home.write_profile("work", &auth);
    home.write_auth(&auth);
    let now = codex_router_testkit::home::now();
    let mut limits = RateLimits::default_at(now);
    limits.primary.used_percent = 10.0;
    limits.has_credits = true;
    limits.balance = Some("7.5".into());
    up.set_rate_limits(&alice.account_id, limits.clone());

    let (mut child, base) = serve(&home);
    let history = home.path().join("profiles/work/usage-history.jsonl");
    let client = reqwest::blocking::Client::new();
    let chat = serde_json::json!({"model": "gpt-5.2-codex", "messages": [{"role": "user", "content": "hi"}]});
    let ask = || {
        let reply = client
            .post(format!("{base}/chat/completions"))
            .json(&chat)
            .send()
            .unwrap();
        assert_eq!(reply.status(), 200);
    };
    ask();
    wait_for_lines(&history, 1);
    limits.primary.used_percent = 30.0;
    up.set_rate_limits(&alice.account_id, limits);
    ask();
    ask(); // the same figures again: no new sample
    wait_for_lines(&history, 2);
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();

    let out = router(&home, &["usage", "--history", "--csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..3], ["profile", "time", "primary_used_percent"]);
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    for row in &rows {
        assert_eq!(row[col("profile")], "work");
        assert!(chrono::DateTime::parse_from_rfc3339(row[col("time")]).is_ok());
        assert_eq!(row[col("primary_window_minutes")], "300");
        assert_eq!(row[col("secondary_used_percent")], "34");
        assert_eq!(row[col("credits_balance")], "7.5");
    }
    let used: Vec<&str> = rows
        .iter()
        .map(|r| r[col("primary_used_percent")])
        .collect();
    assert_eq!(used, ["10", "30"], "{csv}");

    let out = router(&home, &["usage", "work", "--history", "--json"]);
    let samples: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[1]["primary"]["used_percent"], 30.0);
    assert_eq!(samples[1]["credits"]["balance"], "7.5");

    let table = String::from_utf8(router(&home, &["usage", "--history"]).stdout).unwrap();
    assert!(table.starts_with("PROFILE"), "{table}");
    assert!(
        table.contains("30% of 5 h") && table.contains("34% of week"),
        "{table}"
    );

    // Without --history: the figures now, a forecast per window, the credits.
    let text = String::from_utf8(router(&home, &["usage"]).stdout).unwrap();
    assert!(text.starts_with("* work\n"), "{text}");
    assert!(text.contains("5 h: 30%"), "{text}");
    assert!(
        text.contains("not enough history yet for a forecast"),
        "{text}"
    );
    assert!(text.contains("credits: 7.5"), "{text}");
    let json: Vec<Value> =
        serde_json::from_slice(&router(&home, &["usage", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["profile"], "work");
    assert_eq!(json[0]["usage"]["primary"]["used_percent"], 30.0);
    assert_eq!(json[0]["forecasts"][0]["window"], "primary");
}

#[test]
fn usage_names_errors_like_the_other_commands() {
    let home = TempHome::new();
    home.write_profile(
        "work",
        &codex_router_testkit::home::api_key_auth("sk-proj-USAGEKEY"),
    );
    let out = router(&home, &["usage", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no profile named 'nobody'"), "{err}");
    let out = router(&home, &["usage", "../x", "--history"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("codex-router: "));
    // --csv is for the history only.
    assert!(!router(&home, &["usage", "--csv"]).status.success());
    // A folder that is no valid profile name is listed, and stops nothing.
    std::fs::create_dir_all(home.path().join("profiles/bad name")).unwrap();
    let out = router(&home, &["usage"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("bad name\n  no usage known yet"));
    let out = router(&home, &["usage", "work"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "work\n  no usage known yet\n"
    );
    let out = router(&home, &["usage", "--history", "--csv"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}
