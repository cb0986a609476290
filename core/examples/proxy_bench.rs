//! Benchmark of the local endpoint (not a test; `scripts/bench` runs it in release mode).
//!
//! Runs the fake upstream in this process and `codex-router serve` as its own process, then
//! measures, against calling the fake upstream directly in the same run:
//! - the latency the router adds (p50/p99 over sequential requests, interleaved with direct
//!   ones) for Responses passthrough, for Chat Completions and for Ollama's `/api/chat` (each
//!   streamed and not);
//! - whether streamed chunks reach the client as they arrive (per-event arrival time through
//!   the router minus direct, with the upstream pacing events 20 ms apart);
//! - one turn of Codex's WebSocket mode over a kept socket (`response.create` sent to
//!   `response.completed` read), through the router against a socket to the fake directly;
//! - the router's memory (RSS) while it holds N concurrent streams.
//!
//! `proxy_bench --router target/release/codex-router [--requests 2000] [--streams 1000]
//! [--stream-path chat|responses]`

use codex_router_testkit::home::TempHome;
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::upstream::{FakeUpstream, Reply, StreamBehaviour};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    router: String,
    requests: usize,
    streams: usize,
    /// Hold Responses passthrough streams instead of chat streams.
    responses_streams: bool,
}

fn args() -> Args {
    let mut a = Args {
        router: "target/release/codex-router".into(),
        requests: 2000,
        streams: 1000,
        responses_streams: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_default();
        match flag.as_str() {
            "--router" => a.router = v,
            "--requests" => a.requests = v.parse().unwrap_or(a.requests),
            "--streams" => a.streams = v.parse().unwrap_or(a.streams),
            "--stream-path" => a.responses_streams = v == "responses",
            other => {
                eprintln!("unknown option {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

struct RouterProc {
    child: Child,
    url: String,
}

impl Drop for RouterProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_router(bin: &str, home: &TempHome, up: &FakeUpstream) -> RouterProc {
    let mut child = Command::new(bin)
        .args(["serve", "--port", "0", "--idle-timeout", "600"])
        .env("CODEX_HOME", home.path())
        .env("CODEX_ROUTER_CHATGPT_BASE_URL", up.chatgpt_base_url())
        .env("CODEX_ROUTER_OPENAI_BASE_URL", up.openai_base_url())
        .env("CODEX_ROUTER_AUTH_ISSUER", up.issuer_url())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("banner");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("listening URL in the banner")
        .trim_end_matches("/v1")
        .to_owned();
    RouterProc { child, url }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v
}

struct Target {
    url: String,
    body: Value,
    direct_auth: Option<(String, String)>,
}

impl Target {
    fn request(&self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        let mut r = http.post(&self.url).json(&self.body);
        if let Some((token, account)) = &self.direct_auth {
            r = r
                .bearer_auth(token)
                .header("chatgpt-account-id", account)
                .header("originator", "codex_cli_rs")
                .header("accept", "text/event-stream");
        }
        r
    }
}

/// Milliseconds from send to the whole answer read.
async fn one(http: &reqwest::Client, t: &Target) -> f64 {
    let start = Instant::now();
    let resp = t.request(http).send().await.expect("send");
    assert!(resp.status().is_success(), "{}", resp.status());
    let body = resp.bytes().await.expect("body");
    assert!(!body.is_empty());
    start.elapsed().as_secs_f64() * 1000.0
}

/// Arrival times (ms from send) of each text delta of a streamed answer.
async fn arrivals(http: &reqwest::Client, t: &Target, marker: &str) -> Vec<f64> {
    let start = Instant::now();
    let mut resp = t.request(http).send().await.expect("send");
    let mut out = Vec::new();
    let mut pending = String::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let now = start.elapsed().as_secs_f64() * 1000.0;
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            if event.contains(marker) {
                out.push(now);
            }
        }
    }
    out
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket to `url` (`ws://…`) with `headers`.
async fn socket(url: &str, headers: &[(&str, String)]) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = url.into_client_request().expect("request");
    for (k, v) in headers {
        let name: tokio_tungstenite::tungstenite::http::HeaderName = k.parse().expect("name");
        req.headers_mut().insert(name, v.parse().expect("value"));
    }
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("a socket");
    ws
}

/// Milliseconds from sending `frame` to reading its `response.completed`.
async fn ws_turn(ws: &mut Socket, frame: &str) -> f64 {
    use tokio_tungstenite::tungstenite::Message;
    let start = Instant::now();
    ws.send(Message::Text(frame.into())).await.expect("send");
    while let Some(msg) = ws.next().await {
        if let Message::Text(t) = msg.expect("frame")
            && t.as_str().contains("\"response.completed\"")
        {
            return start.elapsed().as_secs_f64() * 1000.0;
        }
    }
    panic!("the socket closed before response.completed");
}

fn main() {
    let a = args();
    let up = FakeUpstream::start();
    let home = TempHome::new();
    let alice = Identity::new("alice", "plus");
    let auth = up.chatgpt_auth_json(&alice, 24 * 3600);
    home.write_profile("alice", &auth);
    home.write_auth(&auth);
    home.write_current("alice");
    let token = auth["tokens"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let router = start_router(&a.router, &home, &up);
    let pid = router.child.id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .tcp_nodelay(true)
        .build()
        .expect("client");

    let responses_body_for_ws = || {
        json!({
            "model": "gpt-5.5", "instructions": "", "stream": true, "store": false,
            "input": [{"type": "message", "role": "user",
                       "content": [{"type": "input_text", "text": "Hello there, how are you today?"}]}],
        })
    };
    let responses_body = responses_body_for_ws();
    let chat = |stream: bool| {
        json!({"model": "gpt-5.5", "stream": stream,
               "messages": [{"role": "user", "content": "Hello there, how are you today?"}]})
    };
    let direct = Target {
        url: format!("{}/responses", up.chatgpt_base_url()),
        body: responses_body.clone(),
        direct_auth: Some((token.clone(), alice.account_id.clone())),
    };
    let via_responses = Target {
        url: format!("{}/v1/responses", router.url),
        body: responses_body,
        direct_auth: None,
    };
    let via_chat_stream = Target {
        url: format!("{}/v1/chat/completions", router.url),
        body: chat(true),
        direct_auth: None,
    };
    // The same request in Anthropic's dialect (a non-Claude model name: no mapped effort, so
    // the backend does the same work as for the direct request).
    let via_messages = Target {
        url: format!("{}/v1/messages", router.url),
        body: json!({"model": "gpt-5.5", "max_tokens": 1024, "stream": true,
                     "messages": [{"role": "user", "content": "Hello there, how are you today?"}]}),
        direct_auth: None,
    };
    let via_chat = Target {
        url: format!("{}/v1/chat/completions", router.url),
        body: chat(false),
        direct_auth: None,
    };
    // Ollama's chat takes the same body shape (`stream` defaults to true there).
    let via_ollama_stream = Target {
        url: format!("{}/api/chat", router.url),
        body: chat(true),
        direct_auth: None,
    };
    let via_ollama = Target {
        url: format!("{}/api/chat", router.url),
        body: chat(false),
        direct_auth: None,
    };

    println!("# Codex Router benchmark (router: {})", a.router);
    println!();
    let idle_rss = rss_kib(pid);

    // ---- added latency ----------------------------------------------------------------------
    let routes: [(&str, &Target); 6] = [
        ("POST /v1/responses (stream, passthrough)", &via_responses),
        (
            "POST /v1/chat/completions (stream, translated)",
            &via_chat_stream,
        ),
        (
            "POST /v1/chat/completions (non-stream, assembled)",
            &via_chat,
        ),
        ("POST /api/chat (Ollama, NDJSON stream)", &via_ollama_stream),
        (
            "POST /api/chat (Ollama, non-stream, assembled)",
            &via_ollama,
        ),
        ("POST /v1/messages (stream, translated)", &via_messages),
    ];
    rt.block_on(async {
        for _ in 0..200 {
            one(&http, &direct).await;
            for (_, t) in &routes {
                one(&http, t).await;
            }
        }
    });
    up.clear_requests();
    let mut direct_ms = Vec::new();
    let mut routed_ms: Vec<Vec<f64>> = vec![Vec::new(); routes.len()];
    rt.block_on(async {
        for i in 0..a.requests {
            direct_ms.push(one(&http, &direct).await);
            for (k, (_, t)) in routes.iter().enumerate() {
                routed_ms[k].push(one(&http, t).await);
            }
            if i % 500 == 499 {
                up.clear_requests();
            }
        }
    });
    let d = sorted(direct_ms);
    let (d50, d99) = (pct(&d, 0.5), pct(&d, 0.99));
    println!(
        "## Added latency ({} sequential requests each, interleaved, whole answer read)",
        a.requests
    );
    println!();
    println!("| path | p50 ms | p99 ms | added p50 ms | added p99 ms | p50 ratio |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!("| direct to the fake backend (baseline) | {d50:.3} | {d99:.3} | — | — | 1.00 |");
    for (k, (name, _)) in routes.iter().enumerate() {
        let r = sorted(std::mem::take(&mut routed_ms[k]));
        let (r50, r99) = (pct(&r, 0.5), pct(&r, 0.99));
        println!(
            "| via router: {name} | {r50:.3} | {r99:.3} | {:+.3} | {:+.3} | {:.2} |",
            r50 - d50,
            r99 - d99,
            r50 / d50
        );
    }
    println!();

    // ---- one WebSocket turn over a kept socket ---------------------------------------------------
    let mut frame = responses_body_for_ws();
    frame["type"] = json!("response.create");
    let frame = frame.to_string();
    let (ws_direct, ws_routed) = rt.block_on(async {
        let direct_url = format!(
            "{}/responses",
            up.chatgpt_base_url().replace("http://", "ws://")
        );
        let mut direct = socket(
            &direct_url,
            &[
                ("authorization", format!("Bearer {token}")),
                ("chatgpt-account-id", alice.account_id.clone()),
                ("openai-beta", "responses_websockets=2026-02-06".into()),
            ],
        )
        .await;
        let routed_url = format!("{}/v1/responses", router.url.replace("http://", "ws://"));
        let beta = [("openai-beta", "responses_websockets=2026-02-06".to_owned())];
        let mut routed = socket(&routed_url, &beta).await;
        for _ in 0..200 {
            ws_turn(&mut direct, &frame).await;
            ws_turn(&mut routed, &frame).await;
        }
        let (mut d, mut r) = (Vec::new(), Vec::new());
        for i in 0..a.requests {
            d.push(ws_turn(&mut direct, &frame).await);
            r.push(ws_turn(&mut routed, &frame).await);
            if i % 500 == 499 {
                up.clear_requests();
            }
        }
        (sorted(d), sorted(r))
    });
    up.clear_requests();
    println!(
        "## One WebSocket turn over a kept socket ({} sequential turns each, interleaved, `response.create` to `response.completed`)",
        a.requests
    );
    println!();
    println!("| path | p50 ms | p99 ms | added p50 ms | added p99 ms | p50 ratio |");
    println!("|---|---:|---:|---:|---:|---:|");
    let (w50, w99) = (pct(&ws_direct, 0.5), pct(&ws_direct, 0.99));
    println!(
        "| direct socket to the fake backend (baseline) | {w50:.3} | {w99:.3} | — | — | 1.00 |"
    );
    let (v50, v99) = (pct(&ws_routed, 0.5), pct(&ws_routed, 0.99));
    println!(
        "| via router: WebSocket /v1/responses (relayed) | {v50:.3} | {v99:.3} | {:+.3} | {:+.3} | {:.2} |",
        v50 - w50,
        v99 - w99,
        v50 / w50
    );
    println!();

    // ---- a new connection per request ---------------------------------------------------------
    // What a client without keep-alive pays: TCP setup, and on the router's side the check of
    // which local user owns the connection (`/proc/net/tcp`).
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let (mut fresh_direct, mut fresh_routed) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for _ in 0..a.requests.min(1000) {
            fresh_direct.push(one(&fresh, &direct).await);
            fresh_routed.push(one(&fresh, &via_responses).await);
        }
    });
    let (fd, fr) = (sorted(fresh_direct), sorted(fresh_routed));
    println!("## A new connection per request (no keep-alive; includes the owner check)");
    println!();
    println!("| path | p50 ms | p99 ms | added p50 ms | p50 ratio |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| direct to the fake backend (baseline) | {:.3} | {:.3} | — | 1.00 |",
        pct(&fd, 0.5),
        pct(&fd, 0.99)
    );
    println!(
        "| via router: POST /v1/responses | {:.3} | {:.3} | {:+.3} | {:.2} |",
        pct(&fr, 0.5),
        pct(&fr, 0.99),
        pct(&fr, 0.5) - pct(&fd, 0.5),
        pct(&fr, 0.5) / pct(&fd, 0.5)
    );
    println!();

    // ---- chunk forwarding --------------------------------------------------------------------
    // Each routed stream runs at the same time as a direct one, so both see the upstream's
    // timer ticks alike; per text delta k, the routed arrival minus the direct arrival is
    // the time the router adds to that chunk (request path included for the first one).
    let words: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
    let text = words.join(" ");
    let runs = 10;
    let mut first_pass = Vec::new();
    let mut later_pass = Vec::new();
    let mut first_chat = Vec::new();
    let mut later_chat = Vec::new();
    let mut gaps = Vec::new();
    rt.block_on(async {
        for _ in 0..runs {
            for (routed, marker, first, later) in [
                (
                    &via_responses,
                    "response.output_text.delta",
                    &mut first_pass,
                    &mut later_pass,
                ),
                (
                    &via_chat_stream,
                    "\"content\":\"word",
                    &mut first_chat,
                    &mut later_chat,
                ),
            ] {
                for _ in 0..2 {
                    up.set_next_response(Reply::text(&text));
                    up.set_next_stream_behaviour(StreamBehaviour::Slow { delay_ms: 20 });
                }
                let (d, r) = tokio::join!(
                    arrivals(&http, &direct, "response.output_text.delta"),
                    arrivals(&http, routed, marker),
                );
                let n = d.len().min(r.len());
                for k in 0..n {
                    let diff = r[k] - d[k];
                    if k == 0 {
                        first.push(diff);
                    } else {
                        later.push(diff);
                        if marker.starts_with('"') {
                            gaps.push(r[k] - r[k - 1]);
                        }
                    }
                }
            }
        }
    });
    println!(
        "## Chunk forwarding ({runs} streams per path of 40 text deltas, one every 20 ms upstream; each routed stream runs beside a direct one)"
    );
    println!();
    println!("| time the router adds to a chunk | p50 ms | p99 ms |");
    println!("|---|---:|---:|");
    for (name, v) in [
        (
            "Responses passthrough, first delta (request path included)",
            first_pass,
        ),
        ("Responses passthrough, later deltas", later_pass),
        (
            "translated to chat chunks, first delta (request path included)",
            first_chat,
        ),
        ("translated to chat chunks, later deltas", later_chat),
    ] {
        let v = sorted(v);
        println!("| {name} | {:.3} | {:.3} |", pct(&v, 0.5), pct(&v, 0.99));
    }
    let g = sorted(gaps);
    println!(
        "| (gap between consecutive chat chunks at the client, 20 ms upstream) | {:.3} | {:.3} |",
        pct(&g, 0.5),
        pct(&g, 0.99)
    );
    println!();

    // ---- memory at N concurrent streams ------------------------------------------------------
    up.clear_requests();
    up.clear_responses();
    let before = rss_kib(pid);
    let fds_before = open_fds(pid);
    up.set_stream_behaviour(StreamBehaviour::Stall { after_events: 3 });
    let n = a.streams;
    let (held, at_peak, fds_peak) = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(n);
        let mut tasks = Vec::new();
        for _ in 0..n {
            let req = if a.responses_streams {
                via_responses.request(&http)
            } else {
                via_chat_stream.request(&http)
            };
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                let Ok(mut resp) = req.send().await else {
                    return;
                };
                if let Ok(Some(_)) = resp.chunk().await {
                    let _ = tx.send(()).await;
                }
                // Hold the stream open until aborted.
                while let Ok(Some(_)) = resp.chunk().await {}
            }));
        }
        drop(tx);
        let mut held = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        while held < n && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                Ok(Some(())) => held += 1,
                _ => break,
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let peak = rss_kib(pid);
        let fds = open_fds(pid);
        for t in &tasks {
            t.abort();
        }
        (held, peak, fds)
    });
    up.set_stream_behaviour(StreamBehaviour::Normal);
    std::thread::sleep(Duration::from_millis(1500));
    let after = rss_kib(pid);
    let fds_after = open_fds(pid);
    println!("## Memory (router process RSS)");
    println!();
    println!("| state | RSS MiB |");
    println!("|---|---:|");
    println!("| idle, after start | {:.1} |", idle_rss as f64 / 1024.0);
    println!(
        "| after the latency runs, before the streams ({fds_before} open fds) | {:.1} |",
        before as f64 / 1024.0
    );
    println!(
        "| holding {held} of {n} concurrent {} streams open ({fds_peak} open fds) | {:.1} |",
        if a.responses_streams {
            "Responses"
        } else {
            "chat"
        },
        at_peak as f64 / 1024.0
    );
    println!(
        "| per stream held | {:.1} KiB |",
        (at_peak.saturating_sub(before)) as f64 / held.max(1) as f64
    );
    println!(
        "| 1.5 s after the clients went away ({fds_after} open fds) | {:.1} |",
        after as f64 / 1024.0
    );
    drop(router);
}
