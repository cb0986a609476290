//! The fake upstream behaves like protocol.md says the real services do.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use codex_router_testkit::home::now;
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::upstream::{
    CLIENT_ID, FakeUpstream, FunctionCall, Reply, StreamBehaviour, StreamFaults, pkce_challenge,
};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::time::Duration;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn claims(jwt: &str) -> Value {
    let p = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

/// (event line, parsed data) per SSE frame.
fn parse_sse(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let mut ev = String::new();
            let mut data = Value::Null;
            for line in f.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    ev = e.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(d).unwrap_or(Value::String(d.to_owned()));
                }
            }
            (ev, data)
        })
        .collect()
}

fn codex_body(text: &str) -> Value {
    json!({
        "model": "gpt-5.5",
        "instructions": "You are Codex.",
        "input": [{"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": text}]}],
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "reasoning": null,
        "store": false,
        "stream": true,
        "include": [],
        "prompt_cache_key": "019a0000-0000-7000-8000-000000000000",
    })
}

struct Account {
    who: Identity,
    access: String,
    refresh: String,
}

fn login(up: &FakeUpstream, name: &str) -> Account {
    let who = Identity::new(name, "plus");
    let (_id, access, refresh) = up.issue_tokens(&who, 3600);
    Account {
        who,
        access,
        refresh,
    }
}

async fn post_responses(up: &FakeUpstream, acct: &Account, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/responses", up.chatgpt_base_url()))
        .bearer_auth(&acct.access)
        .header("ChatGPT-Account-Id", &acct.who.account_id)
        .header("originator", "codex_cli_rs")
        .header("Accept", "text/event-stream")
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn refresh(up: &FakeUpstream, token: &str) -> (u16, Value) {
    let r = client()
        .post(up.token_url())
        .json(
            &json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": token}),
        )
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_is_refused() {
    let up = FakeUpstream::start();
    up.set_access_ttl(120);
    let alice = login(&up, "alice");

    let (status, body) = refresh(&up, &alice.refresh).await;
    assert_eq!(status, 200, "{body}");
    let new_rt = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_rt, alice.refresh);
    let access = body["access_token"].as_str().unwrap();
    let exp = claims(access)["exp"].as_i64().unwrap();
    assert!((exp - (now() + 120)).abs() <= 2, "exp follows the ttl");
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["https://api.openai.com/auth"]["chatgpt_account_id"],
        "acct-alice"
    );
    assert!(up.is_access_token_live(access));

    let (status, body) = refresh(&up, &alice.refresh).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": {"message": "Your refresh token has already been used to generate a new access token. Please try signing in again.",
                         "type": "invalid_request_error", "param": null, "code": "refresh_token_reused"}})
    );
    // Reuse revoked the whole login, as reported for the real service.
    let (status, body) = refresh(&up, &new_rt).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "refresh_token_invalidated");

    let (status, body) = refresh(&up, "rt_unknown").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "refresh_token_invalidated");

    assert_eq!(up.refresh_count(&alice.who), 3);
    assert_eq!(up.total_refresh_count(), 4);
    assert_eq!(up.reused_refresh_tokens(), vec![alice.refresh.clone()]);
    // The log of known tokens presented: who, whether accepted, the token's age and life.
    let calls = up.refresh_calls();
    let accepted: Vec<bool> = calls.iter().map(|c| c.accepted).collect();
    assert_eq!(accepted, [true, false, false]);
    assert!(calls.iter().all(|c| c.account_id == "acct-alice"));
    assert_eq!(calls[0].access_lifetime, Some(Duration::from_secs(3600)));
    assert!(calls[0].token_age.unwrap() < Duration::from_secs(3));
    assert_eq!(calls[2].access_lifetime, Some(Duration::from_secs(120)));
}

#[tokio::test]
async fn refresh_failures_can_be_injected_and_need_the_client_id() {
    let up = FakeUpstream::start();
    let alice = login(&up, "alice");
    up.fail_next_refresh_with(503, json!({"error": "temporarily_unavailable"}));
    let (status, _) = refresh(&up, &alice.refresh).await;
    assert_eq!(status, 503);
    assert!(
        up.is_refresh_token_live(&alice.refresh),
        "an injected failure consumes nothing"
    );
    let r = client()
        .post(up.token_url())
        .json(&json!({"client_id": "other", "grant_type": "refresh_token", "refresh_token": alice.refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (status, _) = refresh(&up, &alice.refresh).await;
    assert_eq!(status, 200);
}

fn authorize_url(up: &FakeUpstream, redirect: &str, challenge: &str, state: &str) -> String {
    let mut u = url::Url::parse(&format!("{}/oauth/authorize", up.issuer_url())).unwrap();
    u.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", redirect)
        .append_pair(
            "scope",
            "openid profile email offline_access api.connectors.read api.connectors.invoke",
        )
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("id_token_add_organizations", "true")
        .append_pair("codex_cli_simplified_flow", "true")
        .append_pair("state", state)
        .append_pair("originator", "codex_cli_rs");
    u.to_string()
}

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn exchange(up: &FakeUpstream, code: &str, redirect: &str, verifier: &str) -> (u16, Value) {
    let r = client()
        .post(up.token_url())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("client_id", CLIENT_ID),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn browser_login_checks_pkce_and_carries_state() {
    let up = FakeUpstream::start();
    let carol = Identity::new("carol", "pro");
    up.set_login_identity(&carol);
    let redirect = "http://localhost:1455/auth/callback";
    let verifier = "v".repeat(86);
    let url = authorize_url(&up, redirect, &pkce_challenge(&verifier), "st4te");

    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(redirect), "{location}");
    let q = query_of(&location);
    assert_eq!(q["state"], "st4te");
    let code = q["code"].clone();

    let (status, body) = exchange(&up, &code, redirect, &"w".repeat(86)).await;
    assert_eq!(status, 400, "a wrong verifier is refused");
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = exchange(&up, &code, "http://localhost:1457/auth/callback", &verifier).await;
    assert_eq!(status, 400, "the redirect_uri must match");
    let (status, body) = exchange(&up, &code, redirect, &verifier).await;
    assert_eq!(status, 200, "{body}");
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["email"], "carol@example.com");
    assert_eq!(
        id["https://api.openai.com/auth"]["chatgpt_plan_type"],
        "pro"
    );
    assert!(body["refresh_token"].as_str().unwrap().starts_with("rt_"));
    let (status, _) = exchange(&up, &code, redirect, &verifier).await;
    assert_eq!(status, 400, "codes are single-use");

    // API-key exchange with the id_token.
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        ("client_id", CLIENT_ID),
        ("requested_token", "openai-api-key"),
        ("subject_token", body["id_token"].as_str().unwrap()),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:id_token",
        ),
    ];
    let r = client()
        .post(up.token_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let key: Value = r.json().await.unwrap();
    let key = key["access_token"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk-"));
    let r = client()
        .get(format!("{}/models", up.openai_base_url()))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the exchanged key works on /v1");
    up.fail_api_key_exchange(true);
    let r = client()
        .post(up.token_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn authorize_validates_params_and_can_deny() {
    let up = FakeUpstream::start();
    up.set_login_identity(&Identity::new("dave", "plus"));
    let ch = pkce_challenge("verifier");
    let get = |url: String| async move { client().get(url).send().await.unwrap() };
    let r = get(authorize_url(
        &up,
        "http://127.0.0.1:1455/auth/callback",
        &ch,
        "s",
    ))
    .await;
    assert_eq!(
        r.status(),
        400,
        "only localhost redirect URIs are registered"
    );
    let r = get(authorize_url(
        &up,
        "http://localhost:1455/auth/callback",
        "short",
        "s",
    ))
    .await;
    assert_eq!(r.status(), 400);
    let r = get(authorize_url(
        &up,
        "http://localhost:1455/auth/callback",
        &ch,
        "",
    ))
    .await;
    assert_eq!(r.status(), 400, "state is required");
    let bad_client =
        authorize_url(&up, "http://localhost:1455/auth/callback", &ch, "s").replace(CLIENT_ID, "x");
    assert_eq!(get(bad_client).await.status(), 400);

    up.deny_login("access_denied", "missing_codex_entitlement");
    let r = get(authorize_url(
        &up,
        "http://localhost:1455/auth/callback",
        &ch,
        "s1",
    ))
    .await;
    assert_eq!(r.status(), 302);
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["error_description"], "missing_codex_entitlement");
    assert_eq!(q["state"], "s1");
    assert!(!q.contains_key("code"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sign_in_lands_on_the_callback() {
    let up = FakeUpstream::start();
    up.set_login_identity(&Identity::new("erin", "plus"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let (mut s, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(s.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nsigned in")
            .unwrap();
        line
    });
    let redirect = format!("http://localhost:{port}/auth/callback");
    let url = authorize_url(&up, &redirect, &pkce_challenge("x"), "abc");
    let up_url = url.clone();
    let outcome = {
        let up = &up;
        tokio::task::block_in_place(|| up.browser_sign_in(&up_url))
    };
    let outcome = outcome.unwrap();
    assert_eq!(outcome.status, 200);
    assert_eq!(outcome.body, "signed in");
    assert_eq!(query_of(&outcome.callback_url)["state"], "abc");
    let line = server.join().unwrap();
    assert!(line.starts_with("GET /auth/callback?code=ac_"), "{line}");
}

#[tokio::test]
async fn device_flow_pends_then_succeeds() {
    let up = FakeUpstream::start();
    up.set_login_identity(&Identity::new("frank", "team").in_account("acct-team"));
    up.set_device_pending_polls(2);
    let r = client()
        .post(format!(
            "{}/api/accounts/deviceauth/usercode",
            up.issuer_url()
        ))
        .json(&json!({"client_id": CLIENT_ID}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let start: Value = r.json().await.unwrap();
    assert_eq!(start["interval"], json!("1"), "interval is a string");
    let poll = json!({"device_auth_id": start["device_auth_id"], "user_code": start["user_code"]});
    let mut statuses = vec![];
    let mut done = Value::Null;
    for _ in 0..3 {
        let r = client()
            .post(format!("{}/api/accounts/deviceauth/token", up.issuer_url()))
            .json(&poll)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        done = r.json().await.unwrap();
    }
    assert_eq!(statuses, vec![403, 403, 200]);
    let verifier = done["code_verifier"].as_str().unwrap();
    assert_eq!(pkce_challenge(verifier), done["code_challenge"]);
    let redirect = format!("{}/deviceauth/callback", up.issuer_url());
    let code = done["authorization_code"].as_str().unwrap();
    let (status, body) = exchange(&up, code, &redirect, verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["id_token"].as_str().unwrap())["https://api.openai.com/auth"]["chatgpt_account_id"],
        "acct-team"
    );

    up.set_device_auth_enabled(false);
    let r = client()
        .post(format!(
            "{}/api/accounts/deviceauth/usercode",
            up.issuer_url()
        ))
        .json(&json!({"client_id": CLIENT_ID}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

fn assert_sequence(events: &[(String, Value)], expected: &[&str]) {
    let got: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(got, expected);
    for (i, (e, d)) in events.iter().enumerate() {
        assert_eq!(d["type"], json!(e), "data.type matches the event line");
        assert_eq!(d["sequence_number"], json!(i));
    }
}

#[tokio::test]
async fn responses_stream_text_with_headers() {
    let up = FakeUpstream::start();
    let alice = login(&up, "alice");
    let mut body = codex_body("hello there");
    let r = client()
        .post(format!("{}/responses", up.chatgpt_base_url()))
        .bearer_auth(&alice.access)
        .header("ChatGPT-Account-Id", "acct-alice")
        .header("x-codex-turn-state", "ts-abc")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h: HeaderMap = r.headers().clone();
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert_eq!(h["x-codex-turn-state"], "ts-abc", "turn state is echoed");
    assert_eq!(h["x-codex-primary-used-percent"], "12");
    assert_eq!(h["x-codex-primary-window-minutes"], "300");
    assert_eq!(h["x-codex-secondary-window-minutes"], "10080");
    assert!(
        h["x-codex-primary-reset-at"]
            .to_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > now()
    );
    assert!(h.contains_key("x-codex-secondary-used-percent"));
    assert!(h.contains_key("x-codex-secondary-reset-at"));
    assert_eq!(h["x-codex-plan-type"], "plus");
    let events = parse_sse(&r.text().await.unwrap());
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    let deltas = events
        .iter()
        .filter(|(e, _)| e == "response.output_text.delta")
        .count();
    assert!(deltas >= 2, "text arrives in several chunks");
    expected.extend(std::iter::repeat_n("response.output_text.delta", deltas));
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_sequence(&events, &expected);
    let text: String = events
        .iter()
        .filter(|(e, _)| e == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(text, "You said: hello there");
    let done = &events[events.len() - 2].1;
    assert_eq!(done["item"]["type"], "message");
    assert_eq!(done["item"]["role"], "assistant");
    assert_eq!(done["item"]["content"][0]["text"], "You said: hello there");
    let completed = &events.last().unwrap().1["response"];
    assert_eq!(completed["output"], json!([]), "store:false → empty output");
    assert_eq!(completed["status"], "completed");
    let usage = &completed["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["input_tokens"].as_u64().unwrap() + usage["output_tokens"].as_u64().unwrap()
    );
    assert!(usage["input_tokens_details"]["cached_tokens"].is_u64());
    assert!(usage["output_tokens_details"]["reasoning_tokens"].is_u64());

    // Without a turn state the server hands one out; a queued reply wins over the rule.
    up.set_next_response(Reply::text("queued answer"));
    body["input"][0]["content"][0]["text"] = json!("ignored");
    let r = post_responses(&up, &alice, &body).await;
    assert!(
        r.headers()["x-codex-turn-state"]
            .to_str()
            .unwrap()
            .starts_with("ts_")
    );
    let events = parse_sse(&r.text().await.unwrap());
    let done = events
        .iter()
        .find(|(e, _)| e == "response.output_text.done")
        .unwrap();
    assert_eq!(done.1["text"], "queued answer");

    let rec = up.last_request("/backend-api/codex/responses").unwrap();
    assert_eq!(rec.method, "POST");
    assert_eq!(rec.header("chatgpt-account-id"), Some("acct-alice"));
    assert_eq!(rec.header("ORIGINATOR"), Some("codex_cli_rs"));
    assert_eq!(
        rec.json().unwrap()["input"][0]["content"][0]["text"],
        "ignored"
    );
    assert_eq!(up.count("/backend-api/codex/responses"), 2);
}

#[tokio::test]
async fn responses_stream_function_calls_and_reasoning() {
    let up = FakeUpstream::start();
    let alice = login(&up, "alice");
    let mut body = codex_body("please call a tool");
    body["tools"] = json!([{"type": "function", "name": "shell", "description": "run",
        "strict": false, "parameters": {"type": "object",
        "properties": {"command": {"type": "array", "items": {"type": "string"}}},
        "required": ["command"]}}]);
    body["reasoning"] = json!({"effort": "medium", "summary": "auto"});
    body["include"] = json!(["reasoning.encrypted_content"]);
    let r = post_responses(&up, &alice, &body).await;
    assert_eq!(r.status(), 200);
    let events = parse_sse(&r.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert!(names.contains(&"response.reasoning_summary_text.delta"));
    assert!(names.contains(&"response.function_call_arguments.delta"));
    assert_eq!(names.last(), Some(&"response.completed"));
    let args: String = events
        .iter()
        .filter(|(e, _)| e == "response.function_call_arguments.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"command": []})
    );
    let items: Vec<&Value> = events
        .iter()
        .filter(|(e, _)| e == "response.output_item.done")
        .map(|(_, d)| &d["item"])
        .collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "reasoning");
    let enc = items[0]["encrypted_content"].as_str().unwrap().to_owned();
    let call = items[1];
    assert_eq!(call["type"], "function_call");
    assert_eq!(call["name"], "shell");
    assert_eq!(call["arguments"], json!(args));
    assert!(call["call_id"].as_str().unwrap().starts_with("call_"));

    // Tool output → the model reports it; the reasoning item replays fine on the same account.
    body["input"] = json!([
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "please call a tool"}]},
        items[0],
        call,
        {"type": "function_call_output", "call_id": call["call_id"], "output": "done!"},
    ]);
    let r = post_responses(&up, &alice, &body).await;
    assert_eq!(r.status(), 200);
    let events = parse_sse(&r.text().await.unwrap());
    let done = events
        .iter()
        .find(|(e, _)| e == "response.output_text.done")
        .unwrap();
    assert_eq!(done.1["text"], "Tool result: done!");

    // Replaying alice's encrypted reasoning through bob fails like the real backend.
    let bob = login(&up, "bob");
    let r = post_responses(&up, &bob, &body).await;
    assert_eq!(r.status(), 400);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid_encrypted_content");
    assert!(enc.starts_with("gAAAA"));

    // Explicit function calls from the queue.
    up.set_next_response(Reply::FunctionCalls(vec![FunctionCall {
        name: "apply_patch".into(),
        arguments: r#"{"input":"x"}"#.into(),
        call_id: Some("call_fixed".into()),
    }]));
    let r = post_responses(&up, &alice, &codex_body("hi")).await;
    let events = parse_sse(&r.text().await.unwrap());
    let item = &events
        .iter()
        .rfind(|(e, _)| e == "response.output_item.done")
        .unwrap()
        .1["item"];
    assert_eq!(item["call_id"], "call_fixed");
    assert_eq!(item["name"], "apply_patch");
}

#[tokio::test]
async fn queued_failures() {
    let up = FakeUpstream::start();
    let alice = login(&up, "alice");
    up.set_next_response(Reply::Failed {
        code: "server_is_overloaded".into(),
        message: "Our servers are busy.".into(),
    });
    up.set_next_response(Reply::HttpError {
        status: 503,
        body: json!({"detail": "overloaded"}),
    });
    let r = post_responses(&up, &alice, &codex_body("x")).await;
    assert_eq!(r.status(), 200);
    let events = parse_sse(&r.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.failed"
        ]
    );
    let failed = &events[2].1["response"];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "server_is_overloaded");
    let r = post_responses(&up, &alice, &codex_body("x")).await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "overloaded"})
    );
    assert_eq!(
        post_responses(&up, &alice, &codex_body("x")).await.status(),
        200
    );
}

#[tokio::test]
async fn backend_quirks_answer_the_real_400s() {
    let up = FakeUpstream::start();
    let alice = login(&up, "alice");
    type Mutate = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Mutate, Value)> = vec![
        (
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("instructions");
            }),
            json!({"detail": "Instructions are required"}),
        ),
        (
            Box::new(|b| b["input"] = json!("hello")),
            json!({"detail": "Input must be a list"}),
        ),
        (
            Box::new(|b| b["max_output_tokens"] = json!(100)),
            json!({"detail": "Unsupported parameter: max_output_tokens"}),
        ),
        (
            Box::new(|b| b["stream"] = json!(false)),
            json!({"detail": "Stream must be set to true"}),
        ),
        (
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("stream");
            }),
            json!({"detail": "Stream must be set to true"}),
        ),
        (
            Box::new(|b| b["store"] = json!(true)),
            json!({"detail": "Store must be set to false"}),
        ),
        (
            Box::new(|b| {
                b["input"]
                    .as_array_mut()
                    .unwrap()
                    .insert(0, json!({"role": "system", "content": "be nice"}))
            }),
            json!({"detail": "System messages are not allowed"}),
        ),
        (
            Box::new(|b| b["model"] = json!("gpt-4o")),
            json!({"detail": "The 'gpt-4o' model is not supported when using Codex with a ChatGPT account."}),
        ),
    ];
    for (mutate, expected) in cases {
        let mut body = codex_body("x");
        mutate(&mut body);
        let r = post_responses(&up, &alice, &body).await;
        assert_eq!(r.status(), 400, "{expected}");
        assert_eq!(r.json::<Value>().await.unwrap(), expected);
    }
    // Empty instructions pass.
    let mut body = codex_body("x");
    body["instructions"] = json!("");
    assert_eq!(post_responses(&up, &alice, &body).await.status(), 200);
}

#[tokio::test]
async fn usage_limit_answers_429_and_shows_in_usage() {
    let up = FakeUpstream::start();
    let alice = login(&up, "alice");
    let resets_at = now() + 5000;
    up.set_usage_limited("acct-alice", resets_at);
    let r = post_responses(&up, &alice, &codex_body("x")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-codex-primary-used-percent"], "100");
    let body: Value = r.json().await.unwrap();
    let e = &body["error"];
    assert_eq!(e["type"], "usage_limit_reached");
    assert_eq!(e["message"], "The usage limit has been reached");
    assert_eq!(e["plan_type"], "plus");
    assert_eq!(e["resets_at"], json!(resets_at));
    let secs = e["resets_in_seconds"].as_i64().unwrap();
    assert!((4990..=5000).contains(&secs));

    let usage = |acct: &Account| {
        client()
            .get(up.usage_url())
            .bearer_auth(&acct.access)
            .header("ChatGPT-Account-Id", &acct.who.account_id)
            .send()
    };
    let u: Value = usage(&alice).await.unwrap().json().await.unwrap();
    assert_eq!(u["plan_type"], "plus");
    assert_eq!(u["rate_limit"]["limit_reached"], true);
    assert_eq!(u["rate_limit"]["allowed"], false);
    assert_eq!(
        u["rate_limit"]["primary_window"]["reset_at"],
        json!(resets_at)
    );
    assert_eq!(u["rate_limit"]["primary_window"]["used_percent"], 100);
    assert_eq!(u["rate_limit_reached_type"]["type"], "rate_limit_reached");

    up.clear_usage_limited("acct-alice");
    let u: Value = usage(&alice).await.unwrap().json().await.unwrap();
    assert_eq!(u["rate_limit"]["limit_reached"], false);
    assert_eq!(
        u["rate_limit"]["primary_window"]["limit_window_seconds"],
        18000
    );
    assert_eq!(
        u["rate_limit"]["secondary_window"]["limit_window_seconds"],
        604800
    );
    assert_eq!(u["credits"]["has_credits"], false);
    assert!(u["rate_limit_reached_type"].is_null());
    assert_eq!(
        post_responses(&up, &alice, &codex_body("x")).await.status(),
        200
    );
}

#[tokio::test]
async fn stream_behaviours_drop_stall_and_slow() {
    let up = FakeUpstream::start();
    let alice = login(&up, "alice");

    up.set_next_stream_behaviour(StreamBehaviour::Drop { after_events: 3 });
    let mut r = post_responses(&up, &alice, &codex_body("hello")).await;
    assert_eq!(r.status(), 200);
    let mut got = Vec::new();
    let mut failed = false;
    loop {
        match r.chunk().await {
            Ok(Some(c)) => got.extend_from_slice(&c),
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body ends in a transport error");
    let events = parse_sse(&String::from_utf8_lossy(&got));
    assert_eq!(events.len(), 3);
    assert!(!events.iter().any(|(e, _)| e == "response.completed"));

    up.set_next_stream_behaviour(StreamBehaviour::Stall { after_events: 2 });
    let mut r = post_responses(&up, &alice, &codex_body("hello")).await;
    let mut got = Vec::new();
    let stalled = loop {
        match tokio::time::timeout(Duration::from_millis(150), r.chunk()).await {
            Ok(Ok(Some(c))) => got.extend_from_slice(&c),
            Ok(_) => break false,
            Err(_) => break true,
        }
    };
    assert!(stalled, "the stream stays open without sending");
    assert_eq!(parse_sse(&String::from_utf8_lossy(&got)).len(), 2);
    drop(r);

    up.set_stream_behaviour(StreamBehaviour::Slow { delay_ms: 5 });
    let started = std::time::Instant::now();
    let r = post_responses(&up, &alice, &codex_body("hello")).await;
    let events = parse_sse(&r.text().await.unwrap());
    assert_eq!(events.last().unwrap().0, "response.completed");
    assert!(started.elapsed() >= Duration::from_millis(5 * events.len() as u64));
}

#[tokio::test]
async fn random_stream_faults_are_noted_on_the_request() {
    let up = FakeUpstream::start();
    let alice = login(&up, "alice");
    up.set_stream_faults(StreamFaults {
        drop: 1.0,
        stall: 0.0,
        max_after_events: 2,
    });
    let r = post_responses(&up, &alice, &codex_body("hello")).await;
    assert!(r.text().await.is_err(), "the stream is cut");
    let recorded = up.last_request("/backend-api/codex/responses").unwrap();
    assert!(
        matches!(recorded.stream, Some(StreamBehaviour::Drop { after_events }) if after_events <= 2),
        "{:?}",
        recorded.stream
    );

    up.set_stream_faults(StreamFaults::default());
    let r = post_responses(&up, &alice, &codex_body("hello")).await;
    let events = parse_sse(&r.text().await.unwrap());
    assert_eq!(events.last().unwrap().0, "response.completed");
    let recorded = up.last_request("/backend-api/codex/responses").unwrap();
    assert_eq!(recorded.stream, Some(StreamBehaviour::Normal));
    assert_eq!(up.last_request("/oauth/token").and_then(|r| r.stream), None);
}

#[tokio::test]
async fn dropping_the_fake_cuts_stalled_streams() {
    let up = FakeUpstream::start();
    let alice = login(&up, "alice");
    up.set_stream_behaviour(StreamBehaviour::Stall { after_events: 1 });
    let mut r = post_responses(&up, &alice, &codex_body("hello")).await;
    let first = r.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).starts_with("event: response.created"));
    let started = std::time::Instant::now();
    drop(up);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "drop does not wait for streams"
    );
    let end = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match r.chunk().await {
                Ok(Some(_)) => continue,
                other => break other.is_err(),
            }
        }
    })
    .await
    .expect("the stalled stream ends when the fake stops");
    assert!(end, "it ends in a transport error");
}

#[tokio::test]
async fn bearer_and_account_checks() {
    let up = FakeUpstream::start();
    let alice = login(&up, "alice");
    let url = format!("{}/responses", up.chatgpt_base_url());
    let body = codex_body("x");

    let r = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client()
        .post(&url)
        .bearer_auth("eyJ.not.issued")
        .header("ChatGPT-Account-Id", "acct-alice")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["type"], "invalid_request_error");

    let (_, expired, _) = up.issue_tokens(&alice.who, -10);
    let r = client()
        .post(&url)
        .bearer_auth(&expired)
        .header("ChatGPT-Account-Id", "acct-alice")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "token_expired"
    );

    let r = client()
        .post(&url)
        .bearer_auth(&alice.access)
        .header("ChatGPT-Account-Id", "acct-bob")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the account header must match the token");

    up.revoke_access_tokens(&alice.who);
    assert_eq!(post_responses(&up, &alice, &body).await.status(), 401);

    // The OpenAI API takes registered API keys only.
    up.add_api_key("sk-test");
    let r = client()
        .get(format!("{}/models", up.openai_base_url()))
        .bearer_auth("sk-wrong-key-123456")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "invalid_api_key");
    assert_eq!(e["error"]["type"], "invalid_request_error");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Incorrect API key provided")
    );
    assert!(
        !e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wrong-key"),
        "key is masked"
    );
    let r = client()
        .get(format!("{}/models", up.openai_base_url()))
        .bearer_auth("sk-test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["object"], "list");
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "gpt-5.5")
    );
    // A ChatGPT token is not an API key.
    let (_, fresh, _) = up.issue_tokens(&alice.who, 3600);
    let r = client()
        .get(format!("{}/models", up.openai_base_url()))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn openai_api_responses_and_chat() {
    let up = FakeUpstream::start();
    up.add_api_key("sk-test");
    let post = |path: &str, body: Value| {
        client()
            .post(format!("{}{path}", up.openai_base_url()))
            .bearer_auth("sk-test")
            .json(&body)
            .send()
    };
    // Plain JSON response; string input and max_output_tokens are fine here.
    let r = post(
        "/responses",
        json!({"model": "gpt-5.5", "input": "ping", "max_output_tokens": 50}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["output"][0]["content"][0]["text"], "You said: ping");

    // Streamed: completed carries the output on the API.
    let r = post(
        "/responses",
        json!({"model": "gpt-5.5", "input": [{"role": "user", "content": "ping"}], "stream": true}),
    )
    .await
    .unwrap();
    let events = parse_sse(&r.text().await.unwrap());
    let completed = &events.last().unwrap().1["response"];
    assert_eq!(completed["output"][0]["type"], "message");

    // Chat completions, JSON and streamed.
    let r = post(
        "/chat/completions",
        json!({"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "yo"}]}),
    )
    .await
    .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "You said: yo");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let r = post(
        "/chat/completions",
        json!({"model": "gpt-5.4-mini", "stream": true, "stream_options": {"include_usage": true},
               "messages": [{"role": "user", "content": "yo"}]}),
    )
    .await
    .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let frames = parse_sse(&text);
    let content: String = frames
        .iter()
        .filter_map(|(_, d)| d["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "You said: yo");
    assert!(frames[frames.len() - 2].1["usage"]["total_tokens"].is_u64());

    // Tool calls in chat.
    let r = post(
        "/chat/completions",
        json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "call a tool"}],
               "tools": [{"type": "function", "function": {"name": "get_weather",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]}),
    )
    .await
    .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], r#"{"city":"fake"}"#);

    let r = post("/responses", json!({"model": "nope", "input": "x"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    up.set_usage_limited("sk-test", now() + 30);
    let r = post("/responses", json!({"model": "gpt-5.5", "input": "x"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "rate_limit_exceeded"
    );
}

#[tokio::test]
async fn codex_models_catalog() {
    let up = FakeUpstream::start();
    let alice = login(&up, "alice");
    let r = client()
        .get(format!(
            "{}/models?client_version=0.125.0",
            up.chatgpt_base_url()
        ))
        .bearer_auth(&alice.access)
        .header("ChatGPT-Account-Id", "acct-alice")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("etag"));
    let v: Value = r.json().await.unwrap();
    let models = v["models"].as_array().unwrap();
    let slugs: Vec<&str> = models.iter().map(|m| m["slug"].as_str().unwrap()).collect();
    for s in [
        "gpt-5.5",
        "gpt-5.4-mini",
        "gpt-5.2-codex",
        "codex-auto-review",
    ] {
        assert!(slugs.contains(&s), "{s}");
    }
    assert!(models.iter().any(|m| m["visibility"] == "hide"));
    for m in models {
        for k in [
            "display_name",
            "description",
            "supported_in_api",
            "priority",
            "default_reasoning_level",
            "supported_reasoning_levels",
            "context_window",
            "shell_type",
            "base_instructions",
            "truncation_policy",
        ] {
            assert!(m.get(k).is_some(), "{k} in {m}");
        }
    }
    assert_eq!(
        up.last_request("/backend-api/codex/models")
            .unwrap()
            .query(),
        Some("client_version=0.125.0")
    );
    let r = client()
        .get(format!("{}/models", up.chatgpt_base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn adopts_tokens_from_existing_auth_files() {
    let up = FakeUpstream::start();
    let who = Identity::new("gina", "pro");
    let auth = codex_router_testkit::home::chatgpt_auth(&who, 1, 3600);
    assert_eq!(up.adopt_auth_json(&auth).unwrap().email, "gina@example.com");
    let acct = Account {
        who,
        access: auth["tokens"]["access_token"].as_str().unwrap().to_owned(),
        refresh: auth["tokens"]["refresh_token"].as_str().unwrap().to_owned(),
    };
    assert_eq!(
        post_responses(&up, &acct, &codex_body("x")).await.status(),
        200
    );
    assert_eq!(refresh(&up, &acct.refresh).await.0, 200);

    let ready = up.chatgpt_auth_json(&Identity::new("hank", "plus"), 60);
    assert_eq!(ready["auth_mode"], "chatgpt");
    assert!(ready["OPENAI_API_KEY"].is_null());
    assert_eq!(ready["tokens"]["account_id"], "acct-hank");
    assert!(up.is_refresh_token_live(ready["tokens"]["refresh_token"].as_str().unwrap()));
}

#[test]
fn binary_writes_profiles_and_serves() {
    use std::io::{BufRead, BufReader};
    let home = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fake-upstream"))
        .args(["--codex-home", home.path().to_str().unwrap()])
        .args(["--accounts", "alice,bob:pro", "--api-key", "work=sk-test"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let mut second = String::new();
    out.read_line(&mut second).unwrap();
    let base = first.trim().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let summary: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(
        summary["chatgpt_base_url"],
        format!("{base}/backend-api/codex")
    );
    assert_eq!(summary["profiles"].as_array().unwrap().len(), 3);

    let read = |p: &std::path::Path| -> Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let bob = read(&home.path().join("profiles/bob/auth.json"));
    let active = read(&home.path().join("auth.json"));
    let alice = read(&home.path().join("profiles/alice/auth.json"));
    assert_eq!(active, alice, "the first account is active");
    assert_eq!(
        std::fs::read_to_string(home.path().join(".current_profile")).unwrap(),
        "alice\n"
    );
    assert_eq!(
        read(&home.path().join("profiles/work/auth.json"))["OPENAI_API_KEY"],
        "sk-test"
    );
    assert_eq!(
        claims(bob["tokens"]["id_token"].as_str().unwrap())["https://api.openai.com/auth"]["chatgpt_plan_type"],
        "pro"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = client()
            .get(format!(
                "{base}/backend-api/codex/models?client_version=0.125.0"
            ))
            .bearer_auth(bob["tokens"]["access_token"].as_str().unwrap())
            .header("ChatGPT-Account-Id", "acct-bob")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = client()
            .post(format!("{base}/_fake/knobs"))
            .json(&json!({"next_response": {"text": "from control"}, "login_as": {"name": "zed"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = client()
            .post(format!("{base}/v1/responses"))
            .bearer_auth("sk-test")
            .json(&json!({"model": "gpt-5.5", "input": "x"}))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["output"][0]["content"][0]["text"], "from control");
        let log: Value = client()
            .get(format!("{base}/_fake/requests?path=/v1/responses"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(log.as_array().unwrap().len(), 1);
    });
    child.kill().unwrap();
    child.wait().unwrap();
}
