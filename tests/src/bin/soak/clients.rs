//! The clients: each sends one request after another — Responses or Chat Completions,
//! streamed or not, plain text, a tool call or a tool result, to the active profile or
//! pinned to one — and records how it ended. Every request carries a unique tag in its user
//! message, so the checks can find what the upstream received for it, and the fake model's
//! answer repeats the message, so a reply meant for another request shows.

use crate::options::Options;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A model the fake's ChatGPT backend serves.
const MODEL: &str = "gpt-5.2-codex";
/// Share of requests pinned to a profile (`/p/<name>/v1/…`).
const PINNED_SHARE: f64 = 0.3;
/// The function tool offered.
const TOOL: &str = "read_file";
/// The arguments of the earlier call in a tool-result conversation.
const TOOL_ARGS: &str = r#"{"path":"README.md"}"#;
/// How long a client waits for a complete answer beyond serve's idle timeout.
const ANSWER_SLACK: Duration = Duration::from_secs(15);

/// Request numbers, unique across the run.
static NEXT: AtomicU64 = AtomicU64::new(1);

/// Which API a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Api {
    /// `POST /v1/responses`.
    Responses,
    /// `POST /v1/chat/completions`.
    Chat,
}

/// What the conversation asks of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    /// A user message: the answer repeats it.
    Text,
    /// Tools offered and "call a tool": the answer is a function call.
    ToolCall,
    /// A function call and its output: the answer quotes the output.
    ToolResult,
}

/// The kind of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Kind {
    /// The API.
    pub api: Api,
    /// Whether the answer is streamed.
    pub stream: bool,
    /// The conversation.
    pub shape: Shape,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let api = match self.api {
            Api::Responses => "responses",
            Api::Chat => "chat",
        };
        let shape = match self.shape {
            Shape::Text => "text",
            Shape::ToolCall => "tool call",
            Shape::ToolResult => "tool result",
        };
        let mode = if self.stream { "streamed" } else { "whole" };
        write!(f, "{api} {mode} {shape}")
    }
}

/// Which profile a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/v1/…`: whichever profile is active.
    Active,
    /// `/p/<name>/v1/…`.
    Pinned(String),
}

/// How a request ended, as its client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The answer asked for, complete.
    Complete,
    /// An explicit error the client can act on: a non-2xx answer with an OpenAI error body,
    /// or an error event that ends the stream.
    Error(String),
    /// Anything else: no answer in time, a cut connection, a stream that just stops, or an
    /// answer that is not the one asked for.
    Broken(String),
}

/// One request and how it went.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `[soak:N]`, in the user message.
    pub tag: String,
    /// Its kind.
    pub kind: Kind,
    /// Its route.
    pub route: Route,
    /// When it was sent.
    pub sent: SystemTime,
    /// When the answer's head arrived.
    pub head: Option<SystemTime>,
    /// When the answer was complete (or given up on).
    pub done: SystemTime,
    /// How it ended.
    pub answer: Answer,
}

impl Outcome {
    /// From sending to the end of the answer.
    pub fn latency(&self) -> Duration {
        self.done.duration_since(self.sent).unwrap_or_default()
    }
}

/// Runs `opts.clients` clients against `base` until `until`; returns once every request
/// they sent has ended. Their connections close when this returns.
pub async fn run(opts: &Options, base: &str, until: Instant) -> Vec<Outcome> {
    let http = reqwest::Client::new();
    let wait = Duration::from_secs(opts.idle_timeout_secs) + ANSWER_SLACK;
    let clients: Vec<_> = (0..opts.clients)
        .map(|_| {
            let (http, base, names) = (http.clone(), base.to_owned(), opts.profiles.clone());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                while Instant::now() < until {
                    let request = Request::random(&names);
                    outcomes.push(request.send(&http, &base, wait).await);
                    let pause = rand::random_range(5..50);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                outcomes
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in clients {
        all.extend(c.await.expect("client task"));
    }
    all
}

/// A request about to be sent.
struct Request {
    tag: String,
    kind: Kind,
    route: Route,
}

/// What a complete answer holds.
#[derive(Debug, Default)]
struct Reply {
    text: String,
    calls: Vec<String>,
}

impl Request {
    /// A random kind and route.
    fn random(names: &[String]) -> Self {
        let api = if rand::random_bool(0.5) {
            Api::Responses
        } else {
            Api::Chat
        };
        let shape = [Shape::Text, Shape::ToolCall, Shape::ToolResult][rand::random_range(0..3)];
        let route = if rand::random_bool(PINNED_SHARE) {
            Route::Pinned(names[rand::random_range(0..names.len())].clone())
        } else {
            Route::Active
        };
        Self {
            tag: format!("[soak:{}]", NEXT.fetch_add(1, Ordering::Relaxed)),
            kind: Kind {
                api,
                stream: rand::random_bool(0.5),
                shape,
            },
            route,
        }
    }

    /// Sends it and waits at most `wait` for the whole answer.
    async fn send(self, http: &reqwest::Client, base: &str, wait: Duration) -> Outcome {
        let sent = SystemTime::now();
        let mut head = None;
        let answer = tokio::time::timeout(wait, self.exchange(http, base, &mut head))
            .await
            .unwrap_or_else(|_| {
                Answer::Broken(format!("no complete answer within {} s", wait.as_secs()))
            });
        Outcome {
            tag: self.tag,
            kind: self.kind,
            route: self.route,
            sent,
            head,
            done: SystemTime::now(),
            answer,
        }
    }

    /// Sends it and reads the answer to its end; `head` gets the time its head arrived.
    async fn exchange(
        &self,
        http: &reqwest::Client,
        base: &str,
        head: &mut Option<SystemTime>,
    ) -> Answer {
        let resp = match http.post(self.url(base)).json(&self.body()).send().await {
            Ok(r) => r,
            Err(e) => return Answer::Broken(format!("request failed: {e}")),
        };
        *head = Some(SystemTime::now());
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            return match error_message(&text) {
                Some(m) => Answer::Error(format!("HTTP {}: {m}", status.as_u16())),
                None => Answer::Broken(format!("HTTP {} without an error body", status.as_u16())),
            };
        }
        let reply = if self.kind.stream {
            read_stream(resp, self.kind.api).await
        } else {
            match resp.json::<Value>().await {
                Ok(v) => Ok(whole_reply(self.kind.api, &v)),
                Err(e) => Err(Answer::Broken(format!("unreadable answer: {e}"))),
            }
        };
        match reply {
            Ok(reply) => self.judge(&reply),
            Err(answer) => answer,
        }
    }

    /// `{base}[/p/<name>]/v1/{responses|chat/completions}`.
    fn url(&self, base: &str) -> String {
        let prefix = match &self.route {
            Route::Active => String::new(),
            Route::Pinned(name) => format!("/p/{name}"),
        };
        let path = match self.kind.api {
            Api::Responses => "responses",
            Api::Chat => "chat/completions",
        };
        format!("{base}{prefix}/v1/{path}")
    }

    /// The user message, starting with the tag.
    fn prompt(&self) -> String {
        match self.kind.shape {
            Shape::Text => format!("{} hello", self.tag),
            Shape::ToolCall | Shape::ToolResult => format!("{} please call a tool", self.tag),
        }
    }

    /// The earlier tool call's output in a tool-result conversation.
    fn tool_output(&self) -> String {
        format!("{} file contents", self.tag)
    }

    /// The request body for its API.
    fn body(&self) -> Value {
        match self.kind.api {
            Api::Responses => self.responses_body(),
            Api::Chat => self.chat_body(),
        }
    }

    /// A Responses request: the user message, then the tool call and its output for a
    /// tool result.
    fn responses_body(&self) -> Value {
        let prompt = json!({"type": "input_text", "text": self.prompt()});
        let mut input = vec![json!({"role": "user", "content": [prompt]})];
        if self.kind.shape == Shape::ToolResult {
            let id = self.call_id();
            input.push(json!({"type": "function_call", "call_id": id, "name": TOOL, "arguments": TOOL_ARGS}));
            input.push(json!({"type": "function_call_output", "call_id": id, "output": self.tool_output()}));
        }
        let mut body = json!({"model": MODEL, "instructions": "You are soaking.", "input": input, "stream": self.kind.stream});
        if self.kind.shape != Shape::Text {
            body["tools"] =
                json!([{"type": "function", "name": TOOL, "parameters": tool_schema()}]);
        }
        body
    }

    /// A Chat Completions request, the same conversation as [`Self::responses_body`].
    fn chat_body(&self) -> Value {
        let mut messages = vec![json!({"role": "user", "content": self.prompt()})];
        if self.kind.shape == Shape::ToolResult {
            let id = self.call_id();
            let call = json!({"id": id, "type": "function", "function": {"name": TOOL, "arguments": TOOL_ARGS}});
            messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
            messages
                .push(json!({"role": "tool", "tool_call_id": id, "content": self.tool_output()}));
        }
        let mut body = json!({"model": MODEL, "messages": messages, "stream": self.kind.stream});
        if self.kind.shape != Shape::Text {
            let function = json!({"name": TOOL, "parameters": tool_schema()});
            body["tools"] = json!([{"type": "function", "function": function}]);
        }
        body
    }

    /// The id of the earlier tool call in a tool-result conversation.
    fn call_id(&self) -> String {
        format!(
            "call_{}",
            self.tag.trim_matches(['[', ']']).replace(':', "_")
        )
    }

    /// Whether `reply` is exactly what the fake model answers this request.
    fn judge(&self, reply: &Reply) -> Answer {
        let ok = match self.kind.shape {
            Shape::Text => {
                reply.calls.is_empty() && reply.text == format!("You said: {}", self.prompt())
            }
            Shape::ToolCall => reply.calls == [TOOL],
            Shape::ToolResult => {
                reply.calls.is_empty()
                    && reply.text == format!("Tool result: {}", self.tool_output())
            }
        };
        if ok {
            Answer::Complete
        } else {
            Answer::Broken(format!("not the answer asked for: {reply:?}"))
        }
    }
}

/// The tool's parameters.
fn tool_schema() -> Value {
    json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]})
}

/// `code: message` of an OpenAI error body.
fn error_message(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    let e = v.get("error")?;
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("(no message)");
    let code = e.get("code").and_then(Value::as_str).unwrap_or("-");
    Some(format!("{code}: {message}"))
}

/// The text and function calls of a whole (not streamed) answer.
fn whole_reply(api: Api, v: &Value) -> Reply {
    let mut reply = Reply::default();
    match api {
        Api::Responses => {
            for item in v["output"].as_array().into_iter().flatten() {
                match item["type"].as_str() {
                    Some("message") => {
                        for part in item["content"].as_array().into_iter().flatten() {
                            reply
                                .text
                                .push_str(part["text"].as_str().unwrap_or_default());
                        }
                    }
                    Some("function_call") => {
                        reply
                            .calls
                            .push(item["name"].as_str().unwrap_or_default().to_owned());
                    }
                    _ => {}
                }
            }
        }
        Api::Chat => {
            let message = &v["choices"][0]["message"];
            reply.text = message["content"].as_str().unwrap_or_default().to_owned();
            for call in message["tool_calls"].as_array().into_iter().flatten() {
                let name = call["function"]["name"].as_str().unwrap_or_default();
                reply.calls.push(name.to_owned());
            }
        }
    }
    reply
}

/// Reads an event stream to its end: the reply when it ended properly (`response.completed`,
/// or `data: [DONE]`), else how it ended.
async fn read_stream(mut resp: reqwest::Response, api: Api) -> Result<Reply, Answer> {
    let mut reply = Reply::default();
    let mut ended = false;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                return Err(Answer::Broken(format!(
                    "stream cut without an error event: {e}"
                )));
            }
        };
        buf.extend_from_slice(&chunk);
        while let Some(data) = next_event(&mut buf) {
            if ended {
                return Err(Answer::Broken(format!("data after the end: {data}")));
            }
            ended = match api {
                Api::Responses => responses_event(&data, &mut reply)?,
                Api::Chat => chat_event(&data, &mut reply)?,
            };
        }
    }
    if ended {
        Ok(reply)
    } else {
        Err(Answer::Broken(
            "the stream stopped without its end or an error event".into(),
        ))
    }
}

/// Takes the next complete event off `buf` and returns its `data`.
fn next_event(buf: &mut Vec<u8>) -> Option<String> {
    loop {
        let end = buf.windows(2).position(|w| w == b"\n\n")?;
        let block: Vec<u8> = buf.drain(..end + 2).collect();
        let text = String::from_utf8_lossy(&block);
        let data: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        if !data.is_empty() {
            return Some(data.join("\n"));
        }
    }
}

/// One Responses event; `Ok(true)` once the answer is complete.
fn responses_event(data: &str, reply: &mut Reply) -> Result<bool, Answer> {
    let v: Value = serde_json::from_str(data)
        .map_err(|_| Answer::Broken(format!("an event that is not JSON: {data}")))?;
    match v["type"].as_str().unwrap_or_default() {
        "response.output_text.delta" => {
            reply.text.push_str(v["delta"].as_str().unwrap_or_default())
        }
        "response.output_item.done" if v["item"]["type"] == "function_call" => {
            reply
                .calls
                .push(v["item"]["name"].as_str().unwrap_or_default().to_owned());
        }
        "response.completed" => return Ok(true),
        "response.failed" | "error" => {
            let e = v.pointer("/response/error").or_else(|| v.get("error"));
            let message = e
                .and_then(|e| e["message"].as_str())
                .unwrap_or("(no message)");
            let code = e.and_then(|e| e["code"].as_str()).unwrap_or("-");
            return Err(Answer::Error(format!(
                "{} event: {code}: {message}",
                v["type"]
            )));
        }
        _ => {}
    }
    Ok(false)
}

/// One Chat Completions chunk; `Ok(true)` at `[DONE]`.
fn chat_event(data: &str, reply: &mut Reply) -> Result<bool, Answer> {
    if data == "[DONE]" {
        return Ok(true);
    }
    let v: Value = serde_json::from_str(data)
        .map_err(|_| Answer::Broken(format!("a chunk that is not JSON: {data}")))?;
    if v.get("error").is_some() {
        return Err(Answer::Error(format!(
            "error chunk: {}",
            error_message(data).unwrap_or_default()
        )));
    }
    let delta = &v["choices"][0]["delta"];
    reply
        .text
        .push_str(delta["content"].as_str().unwrap_or_default());
    for call in delta["tool_calls"].as_array().into_iter().flatten() {
        if let Some(name) = call["function"]["name"].as_str() {
            reply.calls.push(name.to_owned());
        }
    }
    Ok(false)
}
