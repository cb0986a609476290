//! The network benchmark (not a test; `scripts/bench --network` sets up the network and runs
//! it once per round-trip time, in release mode).
//!
//! The fake upstream runs behind TLS and a simulated round-trip time (another network
//! namespace, `tc netem`), reached as `https://chatgpt.com` through a hosts file, with its
//! CA trusted through `CODEX_CA_CERTIFICATE` (the router), `REQUESTS_CA_BUNDLE` (ChatMock)
//! and the core's own network settings (the direct client). For N sequential requests and
//! for rounds of concurrent ones, it measures the time to the first byte of the answer and
//! to its end: direct (one client that keeps its connection), through `codex-router serve`,
//! and through ChatMock when given; and the TCP connections the fake accepted per 100
//! requests. Prints a Markdown table.
//!
//! Where the kernel has no `netem`, `--relay LISTEN=TARGET --rtt MS` stands in for it: a
//! relay in this process, on LISTEN (where the hosts file sends `chatgpt.com`), that holds
//! every chunk for half the round-trip time each way, and a new connection's first bytes
//! for the TCP handshake's round trip too.
//!
//! `network_bench --router BIN --home DIR --ca FILE --upstream https://chatgpt.com
//! [--chatmock BIN] [--rtt-label "20 ms"] [--requests 50] [--concurrency 10] [--header]
//! [--relay 127.0.0.2:443=10.231.0.2:443 --rtt 20]`

use codex_router_core::net::Network;
use codex_router_core::settings::NetworkSettings;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    router: String,
    chatmock: Option<String>,
    home: String,
    ca: String,
    upstream: String,
    rtt_label: String,
    requests: usize,
    concurrency: usize,
    header: bool,
    relay: Option<(String, String)>,
    rtt_ms: u64,
}

fn args() -> Args {
    let mut a = Args {
        router: "target/release/codex-router".into(),
        chatmock: None,
        home: String::new(),
        ca: String::new(),
        upstream: "https://chatgpt.com".into(),
        rtt_label: "?".into(),
        requests: 50,
        concurrency: 10,
        header: false,
        relay: None,
        rtt_ms: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--header" {
            a.header = true;
            continue;
        }
        let v = it.next().unwrap_or_default();
        match flag.as_str() {
            "--router" => a.router = v,
            "--chatmock" => a.chatmock = Some(v),
            "--home" => a.home = v,
            "--ca" => a.ca = v,
            "--upstream" => a.upstream = v,
            "--rtt-label" => a.rtt_label = v,
            "--requests" => a.requests = v.parse().unwrap_or(a.requests),
            "--concurrency" => a.concurrency = v.parse().unwrap_or(a.concurrency),
            "--relay" => {
                let (listen, target) = v.split_once('=').expect("--relay LISTEN=TARGET");
                a.relay = Some((listen.to_owned(), target.to_owned()));
            }
            "--rtt" => a.rtt_ms = v.parse().expect("--rtt MS"),
            other => {
                eprintln!("unknown option {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("addr").port()
}

fn start_router(a: &Args) -> (Proc, String) {
    let mut child = Command::new(&a.router)
        .args(["serve", "--port", "0", "--idle-timeout", "600"])
        .env("CODEX_HOME", &a.home)
        .env(
            "CODEX_ROUTER_CHATGPT_BASE_URL",
            format!("{}/backend-api/codex", a.upstream),
        )
        .env("CODEX_ROUTER_AUTH_ISSUER", &a.upstream)
        .env("CODEX_CA_CERTIFICATE", &a.ca)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", a.router));
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("banner");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("listening URL in the banner")
        .trim_end_matches("/v1")
        .to_owned();
    (Proc(child), url)
}

fn start_chatmock(a: &Args, bin: &str) -> (Proc, String) {
    let port = free_port();
    let child = Command::new(bin)
        .args(["serve", "--port", &port.to_string()])
        .env("CHATGPT_LOCAL_HOME", &a.home)
        .env("CHATGPT_LOCAL_ISSUER", &a.upstream)
        .env("REQUESTS_CA_BUNDLE", &a.ca)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "ChatMock did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (Proc(child), url)
}

/// The stand-in for `netem`: accepts on `listen`, connects each client to `target`, and
/// delays every chunk by half of `rtt` each way (a client's first bytes by the handshake's
/// round trip too, as its SYN would have taken).
async fn latency_relay(listen: String, target: String, rtt: Duration) {
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .unwrap_or_else(|e| panic!("relay on {listen}: {e}"));
    while let Ok((client, _)) = listener.accept().await {
        let target = target.clone();
        tokio::spawn(async move {
            let opened = tokio::time::Instant::now();
            let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                return;
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            let half = rtt / 2;
            tokio::spawn(delayed_copy(cr, sw, half, Some(opened + rtt + half)));
            tokio::spawn(delayed_copy(sr, cw, half, None));
        });
    }
}

/// Copies `from` to `to`, each chunk `delay` after it was read (and not before `not_before`).
async fn delayed_copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
    not_before: Option<tokio::time::Instant>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut at = tokio::time::Instant::now() + delay;
                if let Some(nb) = not_before {
                    at = at.max(nb);
                }
                if tx.send((at, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// One way to reach the model.
#[derive(Clone)]
struct Target {
    name: &'static str,
    url: String,
    body: Value,
    bearer: Option<(String, String)>,
}

impl Target {
    fn request(&self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        let mut r = http.post(&self.url).json(&self.body);
        if let Some((token, account)) = &self.bearer {
            r = r
                .bearer_auth(token)
                .header("chatgpt-account-id", account)
                .header("originator", "codex_cli_rs")
                .header("accept", "text/event-stream");
        }
        r
    }
}

/// (time to the first byte of the answer's body, time to its end), in ms.
async fn one(http: &reqwest::Client, t: &Target) -> (f64, f64) {
    let start = Instant::now();
    let mut resp = t.request(http).send().await.expect("send");
    if !resp.status().is_success() {
        let status = resp.status();
        panic!(
            "{}: {status} {}",
            t.name,
            resp.text().await.unwrap_or_default()
        );
    }
    let mut first = None;
    while let Some(chunk) = resp.chunk().await.expect("body") {
        if first.is_none() && !chunk.is_empty() {
            first = Some(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let end = start.elapsed().as_secs_f64() * 1000.0;
    (first.unwrap_or(end), end)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The fake's count of accepted connections, read over a connection of its own (opened once).
async fn accepted(stats: &reqwest::Client, upstream: &str) -> u64 {
    let v: Value = stats
        .get(format!("{upstream}/_fake/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats json");
    v["connections_accepted"].as_u64().unwrap_or(0)
}

struct Row {
    target: &'static str,
    mode: String,
    ttfb: f64,
    total: f64,
    conns_per_100: f64,
}

/// Sequential requests, then rounds of concurrent ones, each on a new client of `t`'s
/// kind (the client keeps its connections within a phase).
async fn measure(
    a: &Args,
    t: &Target,
    client: impl Fn() -> reqwest::Client,
    stats: &reqwest::Client,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let before = accepted(stats, &a.upstream).await;
    let http = client();
    let mut ttfb = Vec::new();
    let mut total = Vec::new();
    for _ in 0..a.requests {
        let (f, e) = one(&http, t).await;
        ttfb.push(f);
        total.push(e);
    }
    let opened = accepted(stats, &a.upstream).await - before;
    rows.push(Row {
        target: t.name,
        mode: format!("{} sequential", a.requests),
        ttfb: median(ttfb),
        total: median(total),
        conns_per_100: opened as f64 * 100.0 / a.requests as f64,
    });

    let before = accepted(stats, &a.upstream).await;
    let http = client();
    let rounds = a.requests.div_ceil(a.concurrency);
    let (mut ttfb, mut total) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..a.concurrency {
            let (http, t) = (http.clone(), t.clone());
            set.spawn(async move { one(&http, &t).await });
        }
        while let Some(r) = set.join_next().await {
            let (f, e) = r.expect("task");
            ttfb.push(f);
            total.push(e);
        }
    }
    let n = rounds * a.concurrency;
    let opened = accepted(stats, &a.upstream).await - before;
    rows.push(Row {
        target: t.name,
        mode: format!("{rounds}×{} concurrent", a.concurrency),
        ttfb: median(ttfb),
        total: median(total),
        conns_per_100: opened as f64 * 100.0 / n as f64,
    });
    rows
}

fn main() {
    let a = args();
    let auth: Value = serde_json::from_slice(
        &std::fs::read(format!("{}/auth.json", a.home)).expect("the home's auth.json"),
    )
    .expect("auth.json");
    let token = auth["tokens"]["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let account = auth["tokens"]["account_id"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let network = Network::new(&NetworkSettings {
        ca_certificate: Some(a.ca.clone()),
        ..NetworkSettings::default()
    })
    .expect("the CA file");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    if let Some((listen, target)) = a.relay.clone() {
        rt.spawn(latency_relay(
            listen,
            target,
            Duration::from_millis(a.rtt_ms),
        ));
    }
    let (_router, router_url) = start_router(&a);
    let chatmock = a.chatmock.as_deref().map(|bin| start_chatmock(&a, bin));

    let ask = "Hello there, how are you today?";
    let chat = json!({"model": "gpt-5.5", "stream": true,
                      "messages": [{"role": "user", "content": ask}]});
    let responses = json!({
        "model": "gpt-5.5", "instructions": "", "stream": true, "store": false,
        "input": [{"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": ask}]}],
    });
    let mut targets = vec![
        Target {
            name: "direct",
            url: format!("{}/backend-api/codex/responses", a.upstream),
            body: responses,
            bearer: Some((token, account)),
        },
        Target {
            name: "router",
            url: format!("{router_url}/v1/chat/completions"),
            body: chat.clone(),
            bearer: None,
        },
    ];
    if let Some((_, url)) = &chatmock {
        targets.push(Target {
            name: "ChatMock",
            url: format!("{url}/v1/chat/completions"),
            body: chat,
            bearer: None,
        });
    }
    let upstream_client = || {
        network
            .client_builder()
            .tcp_nodelay(true)
            .build()
            .expect("client")
    };
    let local_client = || {
        reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .build()
            .expect("client")
    };
    let stats = upstream_client();
    let rows: Vec<Row> = rt.block_on(async {
        // The router and ChatMock: one request each before measuring, so their start-up
        // (the router's first connection, ChatMock's model list) is not measured.
        for t in &targets[1..] {
            one(&local_client(), t).await;
        }
        let mut rows = Vec::new();
        for t in &targets {
            let rows_t = if t.name == "direct" {
                measure(&a, t, upstream_client, &stats).await
            } else {
                measure(&a, t, local_client, &stats).await
            };
            rows.extend(rows_t);
        }
        rows
    });
    if a.header {
        println!(
            "| RTT | requests | path | TTFB p50 ms | end p50 ms | TTFB ÷ direct | end ÷ direct | upstream connections per 100 requests |"
        );
        println!("|---|---|---|---:|---:|---:|---:|---:|");
    }
    for row in &rows {
        let direct = rows
            .iter()
            .find(|r| r.target == "direct" && r.mode == row.mode)
            .expect("direct row");
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.2} | {:.2} | {:.0} |",
            a.rtt_label,
            row.mode,
            row.target,
            row.ttfb,
            row.total,
            row.ttfb / direct.ttfb,
            row.total / direct.total,
            row.conns_per_100,
        );
    }
}
