//! Anthropic's Messages routes end to end against the fake upstream: failover and usage as on
//! the OpenAI routes, the local key from `x-api-key`, Anthropic's errors from the guards,
//! the stream forwarded event by event.

use crate::proxy::{chatgpt_home, start, start_with};
use codex_router_core::events::{EventBus, RouterEvent};
use codex_router_core::secret::Secret;
use codex_router_testkit::upstream::{FakeUpstream, Reply};
use serde_json::{Value, json};
use std::time::Duration;

const RESPONSES: &str = "/backend-api/codex/responses";

fn hello(stream: bool) -> Value {
    json!({"model": "claude-sonnet-4-6", "max_tokens": 1024, "stream": stream,
           "messages": [{"role": "user", "content": "Hello"}]})
}

/// The `event:` names of an event stream.
fn event_names(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_account_fails_over_and_usage_is_recorded() {
    let up = FakeUpstream::start();
    let bus = EventBus::new();
    let mut events = bus.subscribe();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let r = start_with(&up, chatgpt_home(&up, &["alice", "bob"], 3600), |c| {
        c.settings.failover.enabled = true;
        c.events = Some(bus);
        c.observer = Some(std::sync::Arc::new(move |rec| {
            sink.lock().unwrap().push(rec.clone());
        }));
    })
    .await;
    let resets_at = chrono::Utc::now().timestamp() + 3600;
    up.set_usage_limited("acct-alice", resets_at);

    let resp = r
        .post("/v1/messages?beta=true")
        .header("anthropic-version", "2023-06-01")
        .json(&hello(true))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert_eq!(event_names(&text).first(), Some(&"message_start"));
    assert_eq!(event_names(&text).last(), Some(&"message_stop"));
    assert!(text.contains("\"stop_reason\":\"end_turn\""), "{text}");
    let last = up.last_request(RESPONSES).unwrap();
    assert_eq!(last.header("chatgpt-account-id"), Some("acct-bob"));

    let failed_over = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(RouterEvent::FailedOver { from, to, .. }) = events.recv().await {
                return (from, to);
            }
        }
    })
    .await
    .expect("a FailedOver event");
    assert_eq!(failed_over, ("alice".into(), "bob".into()));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].path, "/v1/messages");
    assert_eq!(seen[0].profile.as_deref(), Some("bob"));
    assert!(
        seen[0]
            .codex_headers
            .contains_key("x-codex-primary-used-percent")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_key_comes_from_x_api_key_and_refusals_are_anthropic_errors() {
    let up = FakeUpstream::start();
    let r = start_with(&up, chatgpt_home(&up, &["alice"], 3600), |c| {
        c.local_key = Some(Secret::new("local-secret-key"));
    })
    .await;
    let refused = r
        .http
        .post(format!("{}/v1/messages", r.url))
        .header("x-api-key", "wrong")
        .json(&hello(false))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");

    let ok = r
        .http
        .post(format!("{}/v1/messages", r.url))
        .header("x-api-key", "local-secret-key")
        .json(&hello(false))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let msg: Value = ok.json().await.unwrap();
    assert_eq!(msg["content"][0]["text"], "You said: Hello");
    assert_ne!(
        up.last_request(RESPONSES).unwrap().bearer(),
        Some("local-secret-key")
    );

    // count_tokens and GET on the Messages path are behind the same key and shapes.
    let wrong_method = r
        .http
        .get(format!("{}/v1/messages", r.url))
        .header("x-api-key", "local-secret-key")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    let body: Value = wrong_method.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_stream_and_errors_keep_openai_shape_on_openai_routes() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    up.set_next_response(Reply::function_call("Bash", &json!({"command": "ls"})));
    let body = json!({"model": "claude-opus-4-7", "max_tokens": 100,
                      "tools": [{"name": "Bash", "input_schema": {"type": "object",
                                 "properties": {"command": {"type": "string"}}}}],
                      "messages": [{"role": "user", "content": "list"}]});
    let msg: Value = r
        .post("/v1/messages")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(msg["stop_reason"], "tool_use");
    assert_eq!(msg["content"][0]["type"], "tool_use");
    assert_eq!(msg["content"][0]["input"], json!({"command": "ls"}));
    let sent = up.last_request(RESPONSES).unwrap().json().unwrap();
    assert_eq!(sent["model"], "gpt-5.5");
    assert_eq!(sent["reasoning"]["effort"], "high");

    // The OpenAI routes' errors stay OpenAI's.
    let resp = r
        .post("/v1/chat/completions")
        .json(&json!({"messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_required_parameter");
}
