//! Ollama's API end to end: the endpoint in front of the fake upstream, driven over real HTTP
//! as Ollama's clients do (NDJSON streams by default, `"stream": false` for whole answers).

use super::proxy::{Router, api_key_home, chatgpt_home, settings, start, start_with};
use codex_router_core::home::CodexHome;
use codex_router_core::proxy::service::{Endpoint, Host, Overrides};
use codex_router_testkit::upstream::{FakeUpstream, Reply, StreamBehaviour};
use serde_json::{Value, json};

const RESPONSES: &str = "/backend-api/codex/responses";

/// POSTs `body` to `path`; the status, the content type and the body text.
async fn post(r: &Router, path: &str, body: &Value) -> (u16, String, String) {
    let resp = r.post(path).json(body).send().await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, resp.text().await.unwrap())
}

/// The NDJSON lines of a streamed answer.
fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect()
}

fn hello(stream: bool) -> Value {
    json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "Hello there"}],
           "stream": stream})
}

/// What the last answer line must say.
fn assert_done(last: &Value) {
    assert_eq!(last["done"], true, "{last}");
    assert_eq!(last["done_reason"], "stop", "{last}");
    assert_eq!(last["model"], "gpt-5.5");
    assert!(last["prompt_eval_count"].as_u64().unwrap() > 0, "{last}");
    assert!(last["eval_count"].as_u64().unwrap() > 0, "{last}");
    for d in [
        "total_duration",
        "prompt_eval_duration",
        "eval_duration",
        "load_duration",
    ] {
        assert!(last[d].is_u64(), "{d} in {last}");
    }
    assert!(last["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_streams_ndjson_by_default_and_answers_whole_when_asked() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let mut body = hello(true);
    body.as_object_mut().unwrap().remove("stream");
    let (status, kind, text) = post(&r, "/api/chat", &body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(kind, "application/x-ndjson");
    let lines = lines(&text);
    let content: String = lines
        .iter()
        .filter_map(|l| l["message"]["content"].as_str())
        .collect();
    assert_eq!(content, "You said: Hello there");
    assert!(lines.len() > 2, "streamed in pieces: {text}");
    assert_done(lines.last().unwrap());

    let (status, kind, text) = post(&r, "/api/chat", &hello(false)).await;
    assert_eq!(status, 200, "{text}");
    assert!(kind.starts_with("application/json"));
    let whole: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(whole["message"]["role"], "assistant");
    assert_eq!(whole["message"]["content"], "You said: Hello there");
    assert_done(&whole);
    let sent = up.last_request(RESPONSES).unwrap().json().unwrap();
    assert_eq!(sent["model"], "gpt-5.5");
    assert_eq!(sent["stream"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_calls_and_results_round_trip() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}]);
    let ask = json!({"role": "user", "content": "Please call a tool"});
    let (status, _, text) = post(
        &r,
        "/api/chat",
        &json!({"model": "gpt-5.5", "messages": [ask], "tools": tools, "stream": false}),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let call = &answer["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], json!({"city": "fake"}));

    // The client sends the call back without its id, and the result by tool name.
    let messages = json!([ask,
        {"role": "assistant", "content": "", "tool_calls": [{"function": call["function"].clone()}]},
        {"role": "tool", "tool_name": "get_weather", "content": "18C and sunny"}]);
    let (status, _, text) = post(
        &r,
        "/api/chat",
        &json!({"model": "gpt-5.5", "messages": messages, "tools": tools}),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let content: String = lines(&text)
        .iter()
        .filter_map(|l| l["message"]["content"].as_str())
        .collect();
    assert_eq!(content, "Tool result: 18C and sunny");
    let sent = up.last_request(RESPONSES).unwrap().json().unwrap();
    let input = sent["input"].as_array().unwrap();
    let call_id = input.iter().find(|i| i["type"] == "function_call").unwrap()["call_id"].clone();
    let output = input
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .unwrap();
    assert_eq!(output["call_id"], call_id);
    assert_eq!(sent["tools"][0]["name"], "get_weather");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn think_and_format_reach_the_backend_and_thinking_comes_back() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
    let mut body = hello(false);
    body["think"] = json!("high");
    body["format"] = schema.clone();
    body["options"] = json!({"temperature": 0.1, "seed": 3, "num_ctx": 8192});
    body["keep_alive"] = json!("10m");
    let (status, _, text) = post(&r, "/api/chat", &body).await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert!(
        answer["message"]["thinking"]
            .as_str()
            .is_some_and(|t| t.contains("Working out a reply")),
        "{answer}"
    );
    let sent = up.last_request(RESPONSES).unwrap().json().unwrap();
    assert_eq!(sent["reasoning"]["effort"], "high");
    assert_eq!(sent["text"]["format"]["type"], "json_schema");
    assert_eq!(sent["text"]["format"]["schema"], schema);
    for dropped in ["temperature", "seed", "keep_alive", "options"] {
        assert!(sent.get(dropped).is_none(), "{dropped} reached the backend");
    }

    let mut body = hello(false);
    body["format"] = json!("json");
    body["think"] = json!(false);
    post(&r, "/api/chat", &body).await;
    let sent = up.last_request(RESPONSES).unwrap().json().unwrap();
    assert_eq!(sent["text"]["format"], json!({"type": "json_object"}));
    assert!(sent.get("reasoning").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_streamed_whole_and_load_only() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let (status, _, text) = post(
        &r,
        "/api/generate",
        &json!({"model": "gpt-5.5", "prompt": "Why is the sky blue?", "system": "Be brief."}),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let lines = lines(&text);
    let response: String = lines
        .iter()
        .filter_map(|l| l["response"].as_str())
        .collect();
    assert_eq!(response, "You said: Why is the sky blue?");
    assert_done(lines.last().unwrap());
    let sent = up.last_request(RESPONSES).unwrap().json().unwrap();
    assert_eq!(sent["instructions"], "Be brief.");

    let (_, _, text) = post(
        &r,
        "/api/generate",
        &json!({"model": "gpt-5.5", "prompt": "Hi", "stream": false}),
    )
    .await;
    let whole: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(whole["response"], "You said: Hi");
    assert_done(&whole);

    let before = up.count(RESPONSES);
    let (status, _, text) = post(
        &r,
        "/api/generate",
        &json!({"model": "gpt-5.5", "stream": false}),
    )
    .await;
    assert_eq!(status, 200);
    let load: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(load["done_reason"], "load");
    assert_eq!(
        up.count(RESPONSES),
        before,
        "nothing to generate: no backend request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_version_ps_and_the_root() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let tags: Value = r
        .get("/api/tags")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = tags["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"gpt-5.5"), "{tags}");
    assert_eq!(tags["models"][0]["details"]["family"], "gpt");

    let (status, _, text) = post(&r, "/api/show", &json!({"model": "gpt-5.5:latest"})).await;
    assert_eq!(status, 200, "{text}");
    let show: Value = serde_json::from_str(&text).unwrap();
    assert!(
        show["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("tools"))
    );
    assert!(show["model_info"]["gpt.context_length"].as_u64().unwrap() > 0);
    let (status, _, text) = post(&r, "/api/show", &json!({"model": "llama3"})).await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"error": "model 'llama3' not found"})
    );

    let version: Value = r
        .get("/api/version")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(version["version"].is_string());
    let ps: Value = r.get("/api/ps").send().await.unwrap().json().await.unwrap();
    assert_eq!(ps, json!({"models": []}));
    let root = r.get("/").send().await.unwrap();
    assert_eq!(root.status(), 200);
    assert_eq!(root.text().await.unwrap(), "Ollama is running");
    let head = r.http.head(format!("{}/", r.url)).send().await.unwrap();
    assert_eq!(head.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_come_in_ollamas_shape() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let error_of = |text: &str| -> String {
        let v: Value = serde_json::from_str(text).unwrap();
        v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{v}"))
            .to_owned()
    };
    let resp = r.post("/api/chat").body("{not json").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(error_of(&resp.text().await.unwrap()).contains("JSON"));
    let (status, _, text) = post(&r, "/api/chat", &json!({"messages": []})).await;
    assert_eq!(status, 400);
    assert!(error_of(&text).contains("model"));

    up.set_next_response(Reply::HttpError {
        status: 500,
        body: json!({"detail": "backend exploded"}),
    });
    let (status, _, text) = post(&r, "/api/chat", &hello(false)).await;
    assert_eq!(status, 500);
    assert!(error_of(&text).contains("backend exploded"), "{text}");

    // A stream that fails after it started ends in an error line.
    up.set_next_stream_behaviour(StreamBehaviour::Drop { after_events: 4 });
    let (status, _, text) = post(&r, "/api/chat", &hello(true)).await;
    assert_eq!(status, 200);
    let last = lines(&text).pop().unwrap();
    assert!(last["error"].is_string(), "{text}");
    assert!(last.get("done").is_none());

    let resp = r.get("/api/unknown").send().await.unwrap();
    assert_eq!(resp.status(), 404);
    error_of(&resp.text().await.unwrap());
    let refused = r
        .get("/api/tags")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(error_of(&refused.text().await.unwrap()).contains("web pages"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_profiles_and_failover_as_on_the_other_routes() {
    let up = FakeUpstream::start();
    let r = start_with(&up, chatgpt_home(&up, &["alice", "bob"], 3600), |c| {
        c.settings.failover.enabled = true;
    })
    .await;
    let (status, _, text) = post(&r, "/p/bob/api/chat", &hello(false)).await;
    assert_eq!(status, 200, "{text}");
    let sent = up.last_request(RESPONSES).unwrap();
    assert_eq!(sent.header("chatgpt-account-id"), Some("acct-bob"));
    let tags = r.get("/p/bob/api/tags").send().await.unwrap();
    assert_eq!(tags.status(), 200);
    let (status, _, _) = post(&r, "/p/nobody/api/chat", &hello(false)).await;
    assert!(status >= 400);

    let resets_at = chrono::Utc::now().timestamp() + 3 * 3600;
    up.set_usage_limited("acct-alice", resets_at);
    let before = up.count(RESPONSES);
    let (status, _, text) = post(&r, "/api/chat", &hello(false)).await;
    assert_eq!(status, 200, "{text}");
    let sent = up.requests_to(RESPONSES);
    assert_eq!(sent.len(), before + 2, "alice refused, then bob");
    assert_eq!(
        sent.last().unwrap().header("chatgpt-account-id"),
        Some("acct-bob")
    );

    // Pinned to the limited account: no failover, the limit as an Ollama error.
    let (status, _, text) = post(&r, "/p/alice/api/chat", &hello(false)).await;
    assert_eq!(status, 429, "{text}");
    assert!(serde_json::from_str::<Value>(&text).unwrap()["error"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_profiles_go_to_the_openai_responses_endpoint() {
    let up = FakeUpstream::start();
    let home = api_key_home(&up, "work-key", "sk-proj-ollama-test");
    let r = start_with(&up, home, |_| {}).await;
    let (status, _, text) = post(&r, "/api/chat", &hello(false)).await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["message"]["content"], "You said: Hello there");
    let sent = up.last_request("/v1/responses").unwrap();
    assert_eq!(sent.bearer(), Some("sk-proj-ollama-test"));
    assert_eq!(sent.json().unwrap()["input"][0]["role"], "user");
    let tags: Value = r
        .get("/api/tags")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!tags["models"].as_array().unwrap().is_empty(), "{tags}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_port_serves_the_same_routes() {
    let up = FakeUpstream::start();
    let home = chatgpt_home(&up, &["alice"], 3600);
    let mut s = settings(&up);
    s.proxy.ollama_port = Some(0);
    let overrides = Overrides {
        host: Some("127.0.0.1".into()),
        port: Some(0),
        ..Overrides::default()
    };
    let endpoint = Endpoint::bind(CodexHome::at(home.path()), s, &overrides, Host::default())
        .await
        .unwrap();
    let main = endpoint.url().trim_end_matches("/v1").to_owned();
    let second = endpoint.ollama_url().expect("a second port");
    assert_ne!(main, second);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(endpoint.run(async move {
        let _ = rx.await;
    }));
    let http = reqwest::Client::new();
    for base in [&main, &second] {
        let root = http.get(format!("{base}/")).send().await.unwrap();
        assert_eq!(root.text().await.unwrap(), "Ollama is running");
        let answer: Value = http
            .post(format!("{base}/api/chat"))
            .json(&hello(false))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["message"]["content"], "You said: Hello there");
        let refused = http
            .get(format!("{base}/api/tags"))
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "same guards on {base}");
    }
    let _ = tx.send(());
    running.await.unwrap().unwrap();
    drop(home);
}
