//! The local endpoint end to end: `Server` on 127.0.0.1:0 in front of the fake upstream
//! (ChatGPT backend, OpenAI API, OAuth issuer), driven over real HTTP.

use codex_router_core::home::CodexHome;
use codex_router_core::http::{CODEX_VERSION, ORIGINATOR};
use codex_router_core::proxy::server::{Server, ServerConfig};
use codex_router_core::secret::Secret;
use codex_router_core::settings::Settings;
use codex_router_core::store::Store;
use codex_router_testkit::home::{TempHome, api_key_auth};
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::upstream::{FakeUpstream, Reply, StreamBehaviour};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const RESPONSES: &str = "/backend-api/codex/responses";

/// A running router over a temporary CODEX_HOME.
pub(crate) struct Router {
    pub(crate) url: String,
    pub(crate) addr: std::net::SocketAddr,
    pub(crate) home: TempHome,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub(crate) http: reqwest::Client,
}

impl Drop for Router {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Router {
    pub(crate) fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url))
            .header("authorization", "Bearer unused")
    }

    pub(crate) fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.url))
    }

    async fn chat(&self, body: Value) -> (u16, Value) {
        let r = self
            .post("/v1/chat/completions")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn chat_stream(&self, body: Value) -> (u16, String) {
        let r = self
            .post("/v1/chat/completions")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    pub(crate) fn store(&self) -> Store {
        Store::new(CodexHome::at(self.home.path()))
    }
}

pub(crate) fn settings(up: &FakeUpstream) -> Settings {
    let mut s = Settings::default();
    s.upstream.chatgpt_base_url = up.chatgpt_base_url();
    s.upstream.openai_base_url = up.openai_base_url();
    s.upstream.auth_issuer = up.issuer_url();
    s
}

/// Writes ChatGPT profiles (`ttl` seconds of access token each); the first one is active.
pub(crate) fn chatgpt_home(up: &FakeUpstream, names: &[&str], ttl: i64) -> TempHome {
    let home = TempHome::new();
    for (i, name) in names.iter().enumerate() {
        let auth = up.chatgpt_auth_json(&Identity::new(name, "plus"), ttl);
        home.write_profile(name, &auth);
        if i == 0 {
            home.write_auth(&auth);
            home.write_current(name);
        }
    }
    home
}

/// A home whose only profile, `name`, is active and holds API key `key`, which `up` knows.
pub(crate) fn api_key_home(up: &FakeUpstream, name: &str, key: &str) -> TempHome {
    up.add_api_key(key);
    let home = TempHome::new();
    let auth = api_key_auth(key);
    home.write_profile(name, &auth);
    home.write_auth(&auth);
    home.write_current(name);
    home
}

pub(crate) async fn start_with(
    up: &FakeUpstream,
    home: TempHome,
    tweak: impl FnOnce(&mut ServerConfig),
) -> Router {
    let mut config = ServerConfig::new(CodexHome::at(home.path()), settings(up));
    tweak(&mut config);
    let server = Server::bind(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    Router {
        url: format!("http://{addr}"),
        addr,
        home,
        stop: Some(tx),
        http: reqwest::Client::new(),
    }
}

pub(crate) async fn start(up: &FakeUpstream, names: &[&str]) -> Router {
    start_with(up, chatgpt_home(up, names, 3600), |_| {}).await
}

/// The `data:` payloads of an event stream.
fn data_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

fn chunks(text: &str) -> Vec<Value> {
    data_lines(text)
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn content_of(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .collect()
}

/// Sends raw bytes and reads the answer's status line and body (for headers reqwest would
/// not send as given).
pub(crate) fn raw_request(addr: std::net::SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&out);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(usize::MAX);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn hello(stream: bool) -> Value {
    json!({
        "model": "gpt-5.2-codex",
        "messages": [{"role": "user", "content": "Hello, how are you?"}],
        "stream": stream,
        "reasoning_effort": "medium",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_chat_sends_codex_headers_and_ends_with_done() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let (status, text) = r.chat_stream(hello(true)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let chunks = chunks(&text);
    assert_eq!(chunks[0]["object"], "chat.completion.chunk");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(content_of(&chunks), "You said: Hello, how are you?");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");

    let sent = up.last_request(RESPONSES).unwrap();
    let auth = r.home.read_json(&r.home.auth_path());
    let token = auth["tokens"]["access_token"].as_str().unwrap();
    assert_eq!(sent.bearer(), Some(token));
    assert_eq!(sent.header("chatgpt-account-id"), Some("acct-alice"));
    assert_eq!(sent.header("originator"), Some(ORIGINATOR));
    assert_eq!(sent.header("version"), Some(CODEX_VERSION));
    assert!(
        sent.header("user-agent")
            .unwrap()
            .starts_with(&format!("{ORIGINATOR}/{CODEX_VERSION} ("))
    );
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    let body = sent.json().unwrap();
    assert_eq!(body["instructions"], "");
    assert_eq!(body["stream"], true);
    assert_eq!(body["store"], false);
    assert_eq!(body["reasoning"]["effort"], "medium");
    assert_eq!(body["model"], "gpt-5.2-codex");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_streaming_chat_reads_the_stream_to_its_end() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let (status, body) = r
        .chat(json!({
            "model": "gpt-5.5",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi there"}
            ],
            "max_tokens": 50,
            "temperature": 0.3,
            "stream_options": null
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "You said: Hi there"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let sent = up.last_request(RESPONSES).unwrap().json().unwrap();
    assert_eq!(sent["instructions"], "Be brief.");
    assert!(sent.get("max_output_tokens").is_none());
    assert!(sent.get("temperature").is_none());
    assert!(
        sent["input"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["role"] != "system")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_streamed_and_not_and_tool_results_in_history() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let tools = json!([{"type": "function", "function": {
        "name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
    let ask = json!([{"role": "user", "content": "Please call a tool for Paris"}]);

    let (status, text) = r
        .chat_stream(
            json!({"model": "gpt-5.5", "messages": ask, "tools": tools, "stream": true,
                            "stream_options": {"include_usage": true}}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(text.ends_with("data: [DONE]\n\n"));
    let chunks = chunks(&text);
    let first_call = chunks
        .iter()
        .find_map(|c| c.pointer("/choices/0/delta/tool_calls/0"))
        .unwrap();
    assert_eq!(first_call["function"]["name"], "get_weather");
    assert_eq!(first_call["type"], "function");
    let call_id = first_call["id"].as_str().unwrap().to_owned();
    let args: String = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/delta/tool_calls/0/function/arguments"))
        .filter_map(Value::as_str)
        .collect();
    assert!(serde_json::from_str::<Value>(&args).unwrap()["city"].is_string());
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let (status, body) = r
        .chat(json!({"model": "gpt-5.5", "messages": ask, "tools": tools}))
        .await;
    assert_eq!(status, 200);
    let msg = &body["choices"][0]["message"];
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(msg["tool_calls"][0]["function"]["name"], "get_weather");

    let history = json!([
        {"role": "user", "content": "Please call a tool for Paris"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": call_id, "type": "function",
            "function": {"name": "get_weather", "arguments": args}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "18C and cloudy"}
    ]);
    let (status, body) = r
        .chat(json!({"model": "gpt-5.5", "messages": history, "tools": tools}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Tool result: 18C and cloudy"
    );
    let sent = up.last_request(RESPONSES).unwrap().json().unwrap();
    let items = sent["input"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|i| i["type"] == "function_call" && i["call_id"] == call_id.as_str())
    );
    assert!(
        items
            .iter()
            .any(|i| i["type"] == "function_call_output" && i["output"] == "18C and cloudy")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_pass_through_with_quirks_and_session_headers_both_ways() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    // Streaming: events come through unchanged, ending with response.completed.
    let resp = r
        .post("/v1/responses")
        .header("session_id", "019a-session")
        .header("x-client-request-id", "019a-session")
        .header("x-codex-turn-state", "ts_abc")
        .json(
            &json!({"model": "gpt-5.5", "input": "Say hi", "stream": true,
                      "max_output_tokens": 100, "instructions": "You are Codex."}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-codex-turn-state"], "ts_abc");
    assert!(resp.headers().get("x-codex-primary-used-percent").is_some());
    let text = resp.text().await.unwrap();
    let events: Vec<Value> = data_lines(&text)
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["type"], "response.created");
    assert_eq!(events.last().unwrap()["type"], "response.completed");
    let sent = up.last_request(RESPONSES).unwrap();
    assert_eq!(sent.header("session_id"), Some("019a-session"));
    assert_eq!(sent.header("x-client-request-id"), Some("019a-session"));
    assert_eq!(sent.header("x-codex-turn-state"), Some("ts_abc"));
    let body = sent.json().unwrap();
    assert!(body["input"].is_array());
    assert!(body.get("max_output_tokens").is_none());
    assert_eq!(body["instructions"], "You are Codex.");

    // Not streaming: the final response object, its output assembled from the items.
    let resp = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": [{"role": "user", "content": "Say hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["output"][0]["content"][0]["text"], "You said: Say hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_as_openai_list_and_as_codex_catalog() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let list: Value = r
        .get("/v1/models")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"gpt-5.5") && ids.contains(&"gpt-5.2-codex"));
    assert!(
        !ids.contains(&"codex-auto-review"),
        "hidden models stay hidden"
    );
    let sent = up.last_request("/backend-api/codex/models").unwrap();
    assert_eq!(
        sent.path,
        format!("/backend-api/codex/models?client_version={CODEX_VERSION}")
    );
    assert_eq!(sent.header("chatgpt-account-id"), Some("acct-alice"));

    let resp = r
        .get("/v1/models?client_version=0.125.0")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("etag").is_some());
    let catalog: Value = resp.json().await.unwrap();
    assert!(catalog["models"].as_array().unwrap().len() >= 4);
    assert!(catalog["models"][0]["slug"].is_string());

    let one: Value = r
        .get("/v1/models/gpt-5.5")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], "gpt-5.5");
    let missing = r.get("/v1/models/nope").send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_takes_effect_at_the_next_request() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice", "bob"]).await;
    let health: Value = r.get("/health").send().await.unwrap().json().await.unwrap();
    assert_eq!(health["profile"], "alice");
    for _ in 0..3 {
        assert_eq!(r.chat(hello(false)).await.0, 200);
        let sent = up.last_request(RESPONSES).unwrap();
        assert_eq!(sent.header("chatgpt-account-id"), Some("acct-alice"));
    }
    // As `codex-router switch bob` does from another process.
    r.store().switch("bob", false).unwrap();
    assert_eq!(r.chat(hello(false)).await.0, 200);
    let sent = up.last_request(RESPONSES).unwrap();
    assert_eq!(sent.header("chatgpt-account-id"), Some("acct-bob"));
    let health: Value = r.get("/health").send().await.unwrap().json().await.unwrap();
    assert_eq!(health["profile"], "bob");
    assert!(!health.to_string().contains("eyJ"), "no token in /health");

    r.store().switch("alice", false).unwrap();
    assert_eq!(r.chat_stream(hello(true)).await.0, 200);
    let sent = up.last_request(RESPONSES).unwrap();
    assert_eq!(sent.header("chatgpt-account-id"), Some("acct-alice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_token_is_refreshed_once_for_many_concurrent_requests() {
    let up = FakeUpstream::start();
    up.set_refresh_delay_ms(200);
    let home = chatgpt_home(&up, &["alice"], -60);
    let r = start_with(&up, home, |_| {}).await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let req = r.post("/v1/chat/completions").json(&hello(i % 2 == 0));
        tasks.push(tokio::spawn(async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }));
    }
    for t in tasks {
        let (status, text) = t.await.unwrap();
        assert_eq!(status, 200, "{text}");
    }
    let alice = Identity::new("alice", "plus");
    assert_eq!(up.refresh_count(&alice), 1);
    assert!(up.reused_refresh_tokens().is_empty());
    // The new tokens are in both files and are what went upstream.
    let auth = r.home.read_json(&r.home.auth_path());
    let profile = r.home.read_json(&r.home.profile_path("alice"));
    assert_eq!(auth["tokens"], profile["tokens"]);
    let token = auth["tokens"]["access_token"].as_str().unwrap();
    assert!(up.is_access_token_live(token));
    assert_eq!(up.last_request(RESPONSES).unwrap().bearer(), Some(token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_is_recovered_by_one_refresh_and_one_retry() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    assert_eq!(r.chat(hello(false)).await.0, 200);
    let alice = Identity::new("alice", "plus");
    up.revoke_access_tokens(&alice); // 401 although exp is in the future
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(up.refresh_count(&alice), 1);
    let (status, _) = r.chat_stream(hello(true)).await;
    assert_eq!(status, 200);
    assert_eq!(
        up.refresh_count(&alice),
        1,
        "the new token is used from then on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_login_is_a_401_that_says_sign_in_again() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    up.revoke_access_tokens(&Identity::new("alice", "plus"));
    up.fail_next_refresh_with(
        401,
        json!({"error": {"code": "refresh_token_reused", "message": "Your refresh token has already been used"}}),
    );
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "needs_sign_in");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("alice") && msg.contains("sign-in"), "{msg}");
    assert!(!msg.contains("eyJ"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_limit_429_keeps_its_status_and_says_when_it_resets() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let resets_at = chrono::Utc::now().timestamp() + 2 * 3600;
    up.set_usage_limited("acct-alice", resets_at);
    for stream in [false, true] {
        let resp = r
            .post("/v1/chat/completions")
            .json(&hello(stream))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 429);
        assert!(resp.headers().get("x-codex-primary-used-percent").is_some());
        let body: Value = resp.json().await.unwrap();
        let err = &body["error"];
        assert_eq!(err["type"], "usage_limit_reached");
        assert_eq!(err["code"], "usage_limit_reached");
        assert_eq!(err["resets_at"], resets_at);
        let msg = err["message"].as_str().unwrap();
        assert!(msg.contains("resets at") && msg.contains("UTC"), "{msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_ends_with_an_error_never_done() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    up.set_next_response(Reply::text(
        "a long answer that will be cut in the middle of it",
    ));
    up.set_next_stream_behaviour(StreamBehaviour::Drop { after_events: 5 });
    let (status, text) = r.chat_stream(hello(true)).await;
    assert_eq!(status, 200);
    assert!(!text.contains("[DONE]"), "{text}");
    let last: Value = serde_json::from_str(data_lines(&text).last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "stream_truncated", "{text}");

    // Responses passthrough: a response.failed event at the end.
    up.set_next_stream_behaviour(StreamBehaviour::Drop { after_events: 4 });
    let text = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": "hi", "stream": true}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let last: Value = serde_json::from_str(data_lines(&text).last().unwrap()).unwrap();
    assert_eq!(last["type"], "response.failed");
    assert_eq!(last["error"]["code"], "stream_truncated");
    assert!(!text.contains("\"type\":\"response.completed\""));

    // Not streaming: a 502.
    up.set_next_stream_behaviour(StreamBehaviour::Drop { after_events: 3 });
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "stream_truncated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_ends_with_an_error_after_the_idle_timeout() {
    let up = FakeUpstream::start();
    let home = chatgpt_home(&up, &["alice"], 3600);
    let r = start_with(&up, home, |c| c.idle_timeout = Duration::from_millis(800)).await;
    up.set_next_stream_behaviour(StreamBehaviour::Stall { after_events: 4 });
    let started = Instant::now();
    let (status, text) = r.chat_stream(hello(true)).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!text.contains("[DONE]"));
    let last: Value = serde_json::from_str(data_lines(&text).last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_timeout", "{text}");

    up.set_next_stream_behaviour(StreamBehaviour::Stall { after_events: 2 });
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "upstream_timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_are_forwarded_as_they_arrive() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    up.set_next_response(Reply::text("one two three four five six"));
    up.set_next_stream_behaviour(StreamBehaviour::Slow { delay_ms: 150 });
    let mut resp = r
        .post("/v1/chat/completions")
        .json(&hello(true))
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    let mut arrivals = Vec::new();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        if String::from_utf8_lossy(&chunk).contains("\"content\":\"") {
            arrivals.push(started.elapsed());
        }
    }
    assert!(arrivals.len() >= 4, "{arrivals:?}");
    // With buffering they would all arrive together at the end.
    let spread = *arrivals.last().unwrap() - arrivals[0];
    assert!(spread >= Duration::from_millis(400), "{arrivals:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_json_and_wrong_types_are_400s() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let resp = r
        .post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["code"], "invalid_json");

    let (status, body) = r
        .chat(json!({"model": "gpt-5.5", "messages": "hello"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "messages");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messages")
    );

    let resp = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(up.count(RESPONSES), 0, "nothing bad went upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413_before_they_are_read() {
    let up = FakeUpstream::start();
    let home = chatgpt_home(&up, &["alice"], 3600);
    let r = start_with(&up, home, |c| c.body_limit = 64 * 1024).await;
    // A declared 1 GiB body: answered at once, from the headers alone.
    let started = Instant::now();
    let (status, body) = raw_request(
        r.addr,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{\"model\":",
    );
    assert_eq!(status, 413, "{body}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "request_too_large");

    // A chunked body with no length: refused once it passes the limit.
    let big = "x".repeat(100 * 1024);
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(big)]);
    let resp = r
        .post("/v1/responses")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(up.count(RESPONSES), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_pages_and_dns_rebinding_are_refused() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let resp = r
        .post("/v1/chat/completions")
        .header("origin", "https://evil.example")
        .json(&hello(false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "origin_refused");
    assert!(body["error"]["message"].is_string() && body["error"]["type"].is_string());

    let (status, body) = raw_request(
        r.addr,
        b"GET /v1/models HTTP/1.1\r\nHost: rebind.attacker.example:9876\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("host_refused"));
    assert_eq!(
        up.count(RESPONSES) + up.count("/backend-api/codex/models"),
        0
    );

    // A local page (a dev server on localhost) and local tools are fine.
    let resp = r
        .post("/v1/chat/completions")
        .header("origin", "http://localhost:5173")
        .json(&hello(false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, _) = raw_request(
        r.addr,
        b"GET /health HTTP/1.1\r\nHost: localhost:9876\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_profiles_are_forwarded_unchanged_but_for_authorization() {
    let up = FakeUpstream::start();
    let home = api_key_home(&up, "work-key", "sk-proj-router-test-key");
    let r = start_with(&up, home, |_| {}).await;
    let body = r#"{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"Hello"}],"temperature":0.5,"seed":7}"#;
    let resp = r
        .post("/v1/chat/completions")
        .header("content-type", "application/json")
        .header("openai-organization", "org-123")
        .header("x-custom", "kept")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["object"], "chat.completion");
    let sent = up.last_request("/v1/chat/completions").unwrap();
    assert_eq!(sent.body, body.as_bytes());
    assert_eq!(sent.bearer(), Some("sk-proj-router-test-key"));
    assert_eq!(sent.header("openai-organization"), Some("org-123"));
    assert_eq!(sent.header("x-custom"), Some("kept"));
    assert!(sent.header("chatgpt-account-id").is_none());

    let stream = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": "hi", "stream": true}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(stream.contains("response.completed"));
    let models: Value = r
        .get("/v1/models")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["object"], "list");
    assert_eq!(
        up.last_request("/v1/models").unwrap().bearer(),
        Some("sk-proj-router-test-key")
    );
    // The upstream's own errors come back as they are.
    let (status, body) = r
        .chat(json!({"model": "no-such-model", "messages": []}))
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "model_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_active_profile_is_a_clear_503() {
    let up = FakeUpstream::start();
    let r = start_with(&up, TempHome::new(), |_| {}).await;
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["code"], "no_active_profile");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("auth.json")
    );
    let health: Value = r.get("/health").send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["profile"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_key_is_required_when_configured() {
    let up = FakeUpstream::start();
    let home = chatgpt_home(&up, &["alice"], 3600);
    let r = start_with(&up, home, |c| {
        c.local_key = Some(Secret::new("local-secret-key"));
    })
    .await;
    let (status, body) = r.chat(hello(false)).await; // sends "Bearer unused"
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let resp = r
        .http
        .post(format!("{}/v1/chat/completions", r.url))
        .bearer_auth("local-secret-key")
        .json(&hello(false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The local key never goes upstream.
    let sent = up.last_request(RESPONSES).unwrap();
    assert_ne!(sent.bearer(), Some("local-secret-key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_profile_route_serves_that_profile() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice", "bob"]).await;
    let resp = r
        .post("/p/bob/v1/chat/completions")
        .json(&hello(false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sent = up.last_request(RESPONSES).unwrap();
    assert_eq!(sent.header("chatgpt-account-id"), Some("acct-bob"));
    let resp = r.get("/p/nobody/v1/models").send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nobody")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_switch_another_accounts_reasoning_is_dropped_not_fatal() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice", "bob"]).await;
    let first: Value = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": "Think first", "reasoning": {"effort": "low"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reasoning = first["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "reasoning")
        .cloned()
        .unwrap();
    assert!(reasoning["encrypted_content"].is_string());
    let history = json!([
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Think first"}]},
        reasoning,
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And now?"}]}
    ]);
    // Same account: the history goes through as it is.
    let resp = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": history, "reasoning": {"effort": "low"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    r.store().switch("bob", false).unwrap();
    let before = up.count(RESPONSES);
    let resp = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": history, "reasoning": {"effort": "low"}, "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("You said: And now?"));
    assert_eq!(
        up.count(RESPONSES),
        before + 2,
        "refused once, then retried"
    );
    let sent = up.last_request(RESPONSES).unwrap();
    assert_eq!(sent.header("chatgpt-account-id"), Some("acct-bob"));
    let items = sent.json().unwrap()["input"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["type"] != "reasoning"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observer_hears_of_every_request_with_its_rate_limit_headers() {
    let up = FakeUpstream::start();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let home = chatgpt_home(&up, &["alice"], 3600);
    let r = start_with(&up, home, |c| {
        c.observer = Some(std::sync::Arc::new(move |rec| {
            sink.lock().unwrap().push(rec.clone());
        }));
    })
    .await;
    assert_eq!(r.chat(hello(false)).await.0, 200);
    let resp = r.get("/nowhere").send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(seen[0].profile.as_deref(), Some("alice"));
    assert_eq!(seen[0].status, 200);
    assert!(
        seen[0]
            .codex_headers
            .contains_key("x-codex-primary-used-percent")
    );
    assert_eq!(seen[1].status, 404);
    assert!(seen[1].profile.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_a_502() {
    let up = FakeUpstream::start();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/backend-api/codex", closed.local_addr().unwrap());
    drop(closed);
    let home = chatgpt_home(&up, &["alice"], 3600);
    let r = start_with(&up, home, |c| c.settings.upstream.chatgpt_base_url = dead).await;
    for stream in [false, true] {
        let resp = r
            .post("/v1/chat/completions")
            .json(&hello(stream))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 502);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "upstream_unreachable");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("could not connect")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_response_is_an_error_event_or_status() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let failed = || Reply::Failed {
        code: "server_is_overloaded".into(),
        message: "Our servers are busy".into(),
    };
    up.set_next_response(failed());
    let (status, text) = r.chat_stream(hello(true)).await;
    assert_eq!(status, 200);
    assert!(!text.contains("[DONE]"));
    let last: Value = serde_json::from_str(data_lines(&text).last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "server_is_overloaded");
    assert!(last["error"]["message"].as_str().unwrap().contains("busy"));

    up.set_next_response(failed());
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "server_is_overloaded");

    up.set_next_response(Reply::HttpError {
        status: 500,
        body: json!({"detail": "Internal error"}),
    });
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 500);
    assert_eq!(body["error"]["message"], "Internal error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_bodies_from_codexs_built_in_provider_are_read() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let body = json!({"model": "gpt-5.5", "input": [{"role": "user", "content": "compressed"}],
                      "stream": true, "instructions": "x", "store": false});
    let packed = ruzstd::encoding::compress_to_vec(
        body.to_string().as_bytes(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let resp = r
        .post("/v1/responses")
        .header("content-type", "application/json")
        .header("content-encoding", "zstd")
        .body(packed)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("You said: compressed"));
    let sent = up.last_request(RESPONSES).unwrap();
    assert!(sent.header("content-encoding").is_none());
    assert_eq!(sent.json().unwrap()["model"], "gpt-5.5");

    let resp = r
        .post("/v1/responses")
        .header("content-encoding", "zstd")
        .body("not zstd at all")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = r
        .post("/v1/responses")
        .header("content-encoding", "br")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_api_key_stream_ends_with_an_error_event_too() {
    let up = FakeUpstream::start();
    let home = api_key_home(&up, "key", "sk-proj-cut-test");
    let r = start_with(&up, home, |_| {}).await;
    up.set_next_response(Reply::text("one two three four five six seven eight"));
    up.set_next_stream_behaviour(StreamBehaviour::Drop { after_events: 3 });
    let (status, text) = r
        .chat_stream(json!({"model": "gpt-5.5", "stream": true,
                            "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(status, 200);
    assert!(!text.contains("[DONE]"), "{text}");
    let last: Value = serde_json::from_str(data_lines(&text).last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "stream_truncated");
}

// ---- failover ---------------------------------------------------------------------------------

/// A router over ChatGPT profiles `names` (the first active) with failover on, announcing
/// on the returned bus.
async fn start_failover(
    up: &FakeUpstream,
    names: &[&str],
    tweak: impl FnOnce(&mut Settings),
) -> (Router, codex_router_core::events::Subscription) {
    let bus = codex_router_core::events::EventBus::new();
    let events = bus.subscribe();
    let r = start_with(up, chatgpt_home(up, names, 3600), |c| {
        c.settings.failover.enabled = true;
        tweak(&mut c.settings);
        c.events = Some(bus);
    })
    .await;
    (r, events)
}

/// The bearer stored in profile `name`.
fn stored_token(r: &Router, name: &str) -> String {
    r.home.read_json(&r.home.profile_path(name))["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn limited_until(r: &Router, name: &str) -> Option<i64> {
    r.store()
        .list()
        .unwrap()
        .into_iter()
        .find(|p| p.name == name)
        .and_then(|p| p.usage)
        .and_then(|u| u.limited_until)
}

/// The first `FailedOver` event within a few seconds.
pub(crate) async fn failed_over(
    events: &mut codex_router_core::events::Subscription,
) -> (String, String, Option<i64>) {
    use codex_router_core::events::RouterEvent;
    let deadline = Duration::from_secs(5);
    tokio::time::timeout(deadline, async {
        loop {
            if let Some(RouterEvent::FailedOver {
                from,
                to,
                resets_at,
            }) = events.recv().await
            {
                return (from, to, resets_at);
            }
        }
    })
    .await
    .expect("a FailedOver event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_serves_a_limited_request_from_the_next_account_and_the_active_profile_follows() {
    let up = FakeUpstream::start();
    let (r, mut events) = start_failover(&up, &["alice", "bob"], |_| {}).await;
    let resets_at = chrono::Utc::now().timestamp() + 3 * 3600;
    up.set_usage_limited("acct-alice", resets_at);

    let before = up.count(RESPONSES);
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    let sent = up.requests_to(RESPONSES);
    assert_eq!(sent.len(), before + 2, "alice refused, then bob");
    assert_eq!(
        sent[before].header("chatgpt-account-id"),
        Some("acct-alice")
    );
    let last = sent.last().unwrap();
    assert_eq!(last.header("chatgpt-account-id"), Some("acct-bob"));
    assert_eq!(last.bearer(), Some(stored_token(&r, "bob").as_str()));
    assert_eq!(
        sent[before].body, last.body,
        "the same request body goes to the next account"
    );

    assert_eq!(
        failed_over(&mut events).await,
        ("alice".into(), "bob".into(), Some(resets_at))
    );
    assert_eq!(r.store().current().unwrap().as_deref(), Some("bob"));
    assert_eq!(limited_until(&r, "alice"), Some(resets_at));
    let health: Value = r.get("/health").send().await.unwrap().json().await.unwrap();
    assert_eq!(health["profile"], "bob");

    // Streamed: bob is active now and serves it at once.
    let before = up.count(RESPONSES);
    let (status, text) = r.chat_stream(hello(true)).await;
    assert_eq!(status, 200, "{text}");
    assert!(!content_of(&chunks(&text)).is_empty(), "{text}");
    assert_eq!(data_lines(&text).last().map(String::as_str), Some("[DONE]"));
    assert_eq!(up.count(RESPONSES), before + 1);
    assert_eq!(
        up.last_request(RESPONSES)
            .unwrap()
            .header("chatgpt-account-id"),
        Some("acct-bob")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_without_follow_active_leaves_auth_json_alone_and_drops_foreign_reasoning() {
    let up = FakeUpstream::start();
    let (r, mut events) = start_failover(&up, &["alice", "bob", "carol"], |s| {
        s.failover.follow_active = false;
        s.failover.order = vec!["carol".into()];
    })
    .await;
    // Alice's reasoning, before her limit.
    let first: Value = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": "Think first", "reasoning": {"effort": "low"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reasoning = first["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "reasoning")
        .cloned()
        .unwrap();
    let history = json!([
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Think first"}]},
        reasoning,
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And now?"}]}
    ]);
    let auth_before = std::fs::read(r.home.auth_path()).unwrap();
    let resets_at = chrono::Utc::now().timestamp() + 600;
    up.set_usage_limited("acct-alice", resets_at);

    let before = up.count(RESPONSES);
    let resp = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": history, "reasoning": {"effort": "low"}, "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(text.contains("You said: And now?"), "{text}");
    assert!(text.contains("response.completed"), "{text}");
    assert_eq!(
        up.count(RESPONSES),
        before + 2,
        "alice refused, carol (first in the order) answered; no 400 on the way"
    );
    let sent = up.last_request(RESPONSES).unwrap();
    assert_eq!(sent.header("chatgpt-account-id"), Some("acct-carol"));
    assert_eq!(sent.bearer(), Some(stored_token(&r, "carol").as_str()));
    let items = sent.json().unwrap()["input"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["type"] != "reasoning"));

    assert_eq!(
        failed_over(&mut events).await,
        ("alice".into(), "carol".into(), Some(resets_at))
    );
    assert_eq!(std::fs::read(r.home.auth_path()).unwrap(), auth_before);
    assert_eq!(r.store().current().unwrap().as_deref(), Some("alice"));
    assert_eq!(limited_until(&r, "alice"), Some(resets_at));

    // Not streamed either: alice stays active, the proxy keeps using another account, and
    // alice (known to be limited) is not asked again.
    let before = up.count(RESPONSES);
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(up.count(RESPONSES), before + 1, "only carol is asked");
    assert_eq!(
        up.last_request(RESPONSES)
            .unwrap()
            .header("chatgpt-account-id"),
        Some("acct-carol")
    );
    assert_eq!(std::fs::read(r.home.auth_path()).unwrap(), auth_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_account_is_limited_the_client_gets_429_with_the_earliest_reset() {
    let up = FakeUpstream::start();
    let (r, _events) = start_failover(&up, &["alice", "bob", "carol"], |_| {}).await;
    let now = chrono::Utc::now().timestamp();
    up.set_usage_limited("acct-alice", now + 3 * 3600);
    up.set_usage_limited("acct-bob", now + 2 * 3600);
    // Carol is known to be limited (earliest of all): she is not asked at all.
    let carol = codex_router_core::home::ProfileName::new("carol").unwrap();
    r.store().record_limit(&carol, now + 1800).unwrap();

    for stream in [false, true] {
        let before = up.count(RESPONSES);
        let resp = r
            .post("/v1/chat/completions")
            .json(&hello(stream))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 429);
        let body: Value = resp.json().await.unwrap();
        let err = &body["error"];
        assert_eq!(err["type"], "usage_limit_reached");
        assert_eq!(err["code"], "usage_limit_reached");
        assert_eq!(err["resets_at"], now + 1800, "{body}");
        let msg = err["message"].as_str().unwrap();
        assert!(
            msg.contains("every account") && msg.contains("resets at"),
            "{msg}"
        );
        // First alice and bob (not carol); then bob is known to be limited too and only
        // the active account is asked.
        let asked = if stream { 1 } else { 2 };
        assert_eq!(up.count(RESPONSES), before + asked, "stream: {stream}");
    }
    assert_eq!(r.store().current().unwrap().as_deref(), Some("alice"));
    assert_eq!(limited_until(&r, "alice"), Some(now + 3 * 3600));
    assert_eq!(limited_until(&r, "bob"), Some(now + 2 * 3600));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_failover_a_usage_limit_passes_through_and_is_recorded() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice", "bob"]).await;
    let resets_at = chrono::Utc::now().timestamp() + 3600;
    up.set_usage_limited("acct-alice", resets_at);
    let before = up.count(RESPONSES);
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["type"], "usage_limit_reached");
    assert_eq!(body["error"]["resets_at"], resets_at);
    assert_eq!(up.count(RESPONSES), before + 1, "bob is never asked");
    assert_eq!(r.store().current().unwrap().as_deref(), Some("alice"));
    assert_eq!(limited_until(&r, "alice"), Some(resets_at));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_request_never_fails_over() {
    let up = FakeUpstream::start();
    let (r, _events) = start_failover(&up, &["alice", "bob"], |_| {}).await;
    let resets_at = chrono::Utc::now().timestamp() + 3600;
    up.set_usage_limited("acct-bob", resets_at);
    for path in ["/p/bob/v1/chat/completions", "/p/bob/v1/responses"] {
        let before = up.count(RESPONSES);
        let body = if path.ends_with("responses") {
            json!({"model": "gpt-5.5", "input": "hi"})
        } else {
            hello(false)
        };
        let resp = r.post(path).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 429, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["resets_at"], resets_at);
        assert_eq!(up.count(RESPONSES), before + 1, "{path}: only bob");
        assert_eq!(
            up.last_request(RESPONSES)
                .unwrap()
                .header("chatgpt-account-id"),
            Some("acct-bob")
        );
    }
    assert_eq!(r.store().current().unwrap().as_deref(), Some("alice"));
    assert_eq!(limited_until(&r, "bob"), Some(resets_at));
}

const COMPACT: &str = "/backend-api/codex/responses/compact";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_fails_over_like_responses_and_a_pinned_one_does_not() {
    let up = FakeUpstream::start();
    let (r, mut events) = start_failover(&up, &["alice", "bob"], |_| {}).await;
    let resets_at = chrono::Utc::now().timestamp() + 3600;
    up.set_usage_limited("acct-alice", resets_at);
    let request = json!({"model": "gpt-5.5", "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "long history"}]}
    ]});

    let resp = r
        .post("/v1/responses/compact")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["output"][0]["type"], "compaction", "{body}");
    let sent = up.requests_to(COMPACT);
    let accounts: Vec<_> = sent
        .iter()
        .map(|q| q.header("chatgpt-account-id"))
        .collect();
    assert_eq!(accounts, [Some("acct-alice"), Some("acct-bob")]);
    assert_eq!(
        failed_over(&mut events).await,
        ("alice".into(), "bob".into(), Some(resets_at))
    );
    assert_eq!(limited_until(&r, "alice"), Some(resets_at));

    // Pinned to the limited account: its 429 reaches the client, nobody else is asked.
    let before = up.count(COMPACT);
    let resp = r
        .post("/p/alice/v1/responses/compact")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "usage_limit_reached");
    assert_eq!(body["error"]["resets_at"], resets_at);
    assert_eq!(up.count(COMPACT), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_failover_on_in_state_json_reaches_a_running_endpoint() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice", "bob"]).await;
    let home = r.store().home().clone();
    let resets_at = chrono::Utc::now().timestamp() + 3600;
    up.set_usage_limited("acct-alice", resets_at);
    let (status, _) = r.chat(hello(false)).await;
    assert_eq!(status, 429, "failover is off");

    Settings::set_failover_enabled(&home, true).unwrap();
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        up.last_request(RESPONSES)
            .unwrap()
            .header("chatgpt-account-id"),
        Some("acct-bob")
    );
    assert_eq!(r.store().current().unwrap().as_deref(), Some("bob"));

    // Off again: bob's limit goes to the client as it is.
    Settings::set_failover_enabled(&home, false).unwrap();
    up.set_usage_limited("acct-bob", resets_at);
    up.clear_usage_limited("acct-alice");
    let before = up.count(RESPONSES);
    let (status, body) = r.chat(hello(false)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(up.count(RESPONSES), before + 1);
    assert_eq!(r.store().current().unwrap().as_deref(), Some("bob"));
}

// ---- other local users ------------------------------------------------------------------------

/// `bash -c script` to be run as the user `uid` (for connections made by another local
/// user), or `None` when this test can't act as another user (not root).
pub(crate) fn bash_as_user(uid: u32, script: &str) -> Option<std::process::Command> {
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: acting as another local user needs root");
        return None;
    }
    let mut cmd = std::process::Command::new("bash");
    cmd.args(["-c", script]).uid(uid).gid(uid).current_dir("/");
    Some(cmd)
}

/// What `GET /health` answers to a connection made by the user `uid` (bash's /dev/tcp, run
/// as that user), or `None` when this test can't act as another user (not root).
pub(crate) fn health_as_user(addr: std::net::SocketAddr, uid: u32) -> Option<String> {
    let script = format!(
        "exec 3<>/dev/tcp/{}/{}; printf 'GET /health HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n' >&3; cat <&3",
        addr.ip(),
        addr.port()
    );
    let out = bash_as_user(uid, &script)?.output().expect("bash runs");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_local_user_is_refused_unless_allowed_or_a_key_is_required() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    // Our own connections are served.
    let health = r.get("/health").send().await.unwrap();
    assert_eq!(health.status(), 200);

    let addr = r.addr;
    let Some(answer) = tokio::task::spawn_blocking(move || health_as_user(addr, 65534))
        .await
        .unwrap()
    else {
        return;
    };
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("\"code\":\"other_user\""), "{answer}");
    assert!(answer.contains("--require-key"), "{answer}");
    assert!(
        !answer.contains("alice"),
        "nothing about the accounts: {answer}"
    );

    // Allowed in state.json: served.
    let allowed = start_with(&up, chatgpt_home(&up, &["alice"], 3600), |c| {
        c.other_users = true;
    })
    .await;
    let addr = allowed.addr;
    let answer = tokio::task::spawn_blocking(move || health_as_user(addr, 65534))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // With a local key the key decides, whoever connects.
    let keyed = start_with(&up, chatgpt_home(&up, &["alice"], 3600), |c| {
        c.local_key = Some(Secret::new("local-key"));
    })
    .await;
    let addr = keyed.addr;
    let answer = tokio::task::spawn_blocking(move || health_as_user(addr, 65534))
        .await
        .unwrap()
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "/health needs no key: {answer}"
    );
    assert!(
        !answer.contains("alice"),
        "without the key /health names no profile: {answer}"
    );
}
