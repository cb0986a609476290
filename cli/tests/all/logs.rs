//! `serve` at the most verbose log level never writes a token or key, even while it
//! refreshes an expired login and forwards requests for both kinds of profile.

use codex_router_testkit::home::TempHome;
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::upstream::FakeUpstream;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

#[test]
fn serve_logs_at_trace_level_hold_no_secret() {
    let up = FakeUpstream::start();
    let home = TempHome::new();
    home.use_upstream(
        &up.issuer_url(),
        &up.chatgpt_base_url(),
        &up.openai_base_url(),
    );
    let alice = Identity::new("alice", "plus");
    let auth = up.chatgpt_auth_json(&alice, -30); // expired: the first request refreshes it
    home.write_profile("a", &auth);
    home.write_auth(&auth);
    up.add_api_key("sk-proj-LOGSECRET");
    home.write_profile(
        "k",
        &serde_json::json!({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-proj-LOGSECRET"}),
    );

    let mut serve = Command::new(env!("CARGO_BIN_EXE_codex-router"))
        .args(["serve", "--port", "0"])
        .env("CODEX_HOME", home.path())
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(serve.stdout.take().unwrap());
    let mut banner = String::new();
    stdout.read_line(&mut banner).unwrap();
    let base = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("serve prints its address")
        .trim_end_matches([',', ')'])
        .to_owned();
    let mut stderr = serve.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });

    let client = reqwest::blocking::Client::new();
    let chat = serde_json::json!({"model": "gpt-5.2-codex", "messages": [{"role": "user", "content": "hi"}]});
    let reply = client
        .post(format!("{base}/chat/completions"))
        .json(&chat)
        .send()
        .unwrap();
    assert_eq!(reply.status(), 200);
    let switched = Command::new(env!("CARGO_BIN_EXE_codex-router"))
        .args(["switch", "k"])
        .env("CODEX_HOME", home.path())
        .output()
        .unwrap();
    assert!(switched.status.success());
    let reply = client
        .post(format!("{base}/chat/completions"))
        .json(&chat)
        .send()
        .unwrap();
    assert_eq!(reply.status(), 200);

    // SIGTERM, then read everything it logged.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(serve.id() as i32, libc::SIGTERM) };
    serve.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let all = format!("{banner}{rest}{}", log.join().unwrap());
    assert!(
        all.contains("tokens refreshed") || all.contains("refresh"),
        "the refresh happened: {all}"
    );
    assert!(
        !all.contains('\u{1b}'),
        "a log that is not a terminal has no colour codes: {all}"
    );

    let now = home.read_json(&home.profile_path("a"));
    let mut secrets = vec!["LOGSECRET".to_owned()];
    for v in [&auth, &now] {
        for t in ["access_token", "refresh_token", "id_token"] {
            let token = v["tokens"][t].as_str().unwrap();
            // The JWT payload (or the whole opaque token) must not appear.
            secrets.push(token.split('.').nth(1).unwrap_or(token).to_owned());
        }
    }
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "a secret reached the log");
    }
}
