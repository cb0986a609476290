//! The endpoint under attack from the same machine: paths that try to leave the upstream's
//! base, methods it never forwards, slow and silent clients, connection floods (also from
//! another local user), crowds of compression bombs, lax header tricks and the answers
//! hyper gives by itself. Limits are set small so each case runs in seconds.

use crate::proxy::{
    Router, bash_as_user, chatgpt_home, health_as_user, raw_request, start, start_with,
};
use codex_router_core::proxy::server::ConnectionLimits;
use codex_router_core::secret::Secret;
use codex_router_testkit::home::{TempHome, api_key_auth};
use codex_router_testkit::upstream::FakeUpstream;
use serde_json::Value;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Every request the fake saw stayed under the two base paths.
fn nothing_left_the_base(up: &FakeUpstream) {
    for req in up.requests() {
        let path = req.path_only();
        assert!(
            path.starts_with("/backend-api/codex/") || path.starts_with("/v1/"),
            "a request left its base path: {} {}",
            req.method,
            req.path
        );
    }
}

fn api_key_home() -> TempHome {
    let home = TempHome::new();
    home.write_profile("key", &api_key_auth("sk-test-key"));
    home.write_auth(&api_key_auth("sk-test-key"));
    home.write_current("key");
    home
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_that_leave_the_upstream_base_are_refused() {
    let up = FakeUpstream::start();
    let chatgpt = start(&up, &["alice"]).await;
    let api = start_with(&up, api_key_home(), |_| {}).await;
    let attempts = [
        "/v1/%2e%2e/%2e%2e/backend-api/conversations",
        "/v1/%2E%2E/%2E%2E/backend-api/conversations",
        "/v1/../../backend-api/conversations",
        "/v1/..\\..\\backend-api/conversations",
        "/v1/files/..%5c..%5cbackend-api",
        "/v1/files/..%2f..%2fbackend-api",
        "/v1/./files",
        "/v1/files//x",
        "/v1/models/%2e%2e",
        "/p/alice/v1/%2e%2e/%2e%2e/backend-api/conversations",
        "/p/alice/v1/../../backend-api/conversations",
        "/p/alice/v1/models/..",
    ];
    for r in [&chatgpt, &api] {
        for path in attempts {
            let addr = r.addr;
            let request = get(path);
            let (status, body) = tokio::task::spawn_blocking(move || raw_request(addr, &request))
                .await
                .unwrap();
            // 400 for a bad segment; 404 where the router already saw no such route (a
            // pinned name that isn't a profile of the API-key home).
            assert!(status == 400 || status == 404, "{path}: {status} {body}");
            let err: Value = serde_json::from_str(&body).unwrap();
            assert!(err["error"]["message"].is_string(), "{path}: {body}");
        }
    }
    nothing_left_the_base(&up);
    // An ordinary pass-through path still works, with its query.
    let resp = chatgpt.get("/v1/models/gpt-5.5").send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_methods_the_api_uses_are_forwarded() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    for method in ["TRACE", "PUT", "PATCH", "OPTIONS", "PROPFIND"] {
        let resp = r
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/v1/files/abc", r.url),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{method}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }
    assert!(up.requests().is_empty(), "nothing was forwarded");
    // /health refuses other methods in OpenAI's shape too.
    let resp = r.post("/health").send().await.unwrap();
    assert_eq!(resp.status(), 405);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

/// Reads until the server closes the connection; whether it did within `within`.
fn closed_within(s: &mut std::net::TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

fn quick_limits() -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_silent_and_idle_clients_are_closed() {
    let up = FakeUpstream::start();
    let r = start_with(&up, chatgpt_home(&up, &["alice"], 3600), |c| {
        c.limits = quick_limits();
    })
    .await;
    let addr = r.addr;
    tokio::task::spawn_blocking(move || {
        // Silent.
        let mut silent = std::net::TcpStream::connect(addr).unwrap();
        assert!(closed_within(&mut silent, Duration::from_secs(10)));
        // Headers one byte at a time, forever.
        let mut slow = std::net::TcpStream::connect(addr).unwrap();
        let start = Instant::now();
        let mut closed = false;
        for b in b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*b]).is_err() {
                closed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(closed || closed_within(&mut slow, Duration::from_secs(10)));
        assert!(start.elapsed() < Duration::from_secs(10));
        // An idle keep-alive after one answer.
        let mut idle = std::net::TcpStream::connect(addr).unwrap();
        idle.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        assert!(closed_within(&mut idle, Duration::from_secs(10)));
        // A body that never finishes: 408 in OpenAI's shape.
        let mut body = std::net::TcpStream::connect(addr).unwrap();
        body.write_all(b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":")
            .unwrap();
        body.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = String::new();
        let _ = body.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    })
    .await
    .unwrap();
    assert!(up.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_held_connections_does_not_lock_the_owner_out() {
    let up = FakeUpstream::start();
    let r = start_with(&up, chatgpt_home(&up, &["alice"], 3600), |c| {
        c.limits = ConnectionLimits {
            max_connections: 8,
            max_refused: 2,
            header_timeout: Duration::from_secs(60),
            ..ConnectionLimits::default()
        };
    })
    .await;
    // Our own user holds 30 silent connections: the oldest idle ones give way.
    let mut held = Vec::new();
    for _ in 0..30 {
        held.push(tokio::net::TcpStream::connect(r.addr).await.unwrap());
    }
    for _ in 0..3 {
        let resp = r.get("/health").send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    drop(held);

    // Another local user holds 30 more (needs root to act as them).
    let other = hold_as_user(r.addr, 65534, 30);
    if let Some(mut child) = other {
        std::thread::sleep(Duration::from_millis(500));
        for _ in 0..3 {
            let fresh = reqwest::Client::new();
            let resp = fresh.get(format!("{}/health", r.url)).send().await.unwrap();
            assert_eq!(resp.status(), 200);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A process of user `uid` holding `n` silent connections to `addr` (`None` without root).
fn hold_as_user(addr: std::net::SocketAddr, uid: u32, n: usize) -> Option<std::process::Child> {
    let script = format!(
        "for i in $(seq {n}); do exec {{fd}}<>/dev/tcp/{}/{} || true; done; sleep 30",
        addr.ip(),
        addr.port()
    );
    let mut cmd = bash_as_user(uid, &script)?;
    Some(
        cmd.stderr(std::process::Stdio::null())
            .spawn()
            .expect("bash runs"),
    )
}

/// The peak memory of this process (each test runs in its own under nextest).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_of_compression_bombs_is_bounded_together() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await; // 32 MiB bodies, 128 MiB decode budget
    let bomb = ruzstd::encoding::compress_to_vec(
        &vec![b' '; 33 * 1024 * 1024][..],
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let before = peak_rss_kib();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (http, url, bomb) = (r.http.clone(), r.url.clone(), bomb.clone());
        tasks.push(tokio::spawn(async move {
            http.post(format!("{url}/v1/responses"))
                .header("content-encoding", "zstd")
                .body(bomb)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status == 413 || status == 503, "{status}");
    }
    let grown_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    // 20 × 32 MiB would be 640 MiB (twice that in Vec growth); the budget keeps it near 128 MiB.
    assert!(grown_mib < 300, "peak memory grew by {grown_mib} MiB");
    assert_eq!(r.get("/health").send().await.unwrap().status(), 200);
    nothing_left_the_base(&up);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_tricks_are_refused() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let addr = r.addr;
    tokio::task::spawn_blocking(move || {
        let cases: [(&[u8], u16); 5] = [
            (
                b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n",
                400,
            ),
            (
                b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://localhost\r\nOrigin: https://evil.example\r\n\r\n",
                400,
            ),
            (b"GET /health HTTP/1.1\r\nHost: [::1]evil.example\r\n\r\n", 403),
            (
                b"GET http://evil.example/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                403,
            ),
            (
                b"GET http://127.0.0.1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                200,
            ),
        ];
        for (request, want) in cases {
            let (status, body) = raw_request(addr, request);
            assert_eq!(status, want, "{}: {body}", String::from_utf8_lossy(request));
            if want != 200 {
                let err: Value = serde_json::from_str(&body).unwrap();
                assert!(err["error"]["code"].is_string(), "{body}");
            }
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answers_hyper_gives_by_itself_are_in_openais_shape() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let addr = r.addr;
    tokio::task::spawn_blocking(move || {
        let huge_header = format!(
            "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
            "a".repeat(600 * 1024)
        );
        let long_uri = format!(
            "GET /v1/{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            "a".repeat(70_000)
        );
        let cases: [(Vec<u8>, u16, &str); 4] = [
            (b"NOT HTTP AT ALL\r\n\r\n".to_vec(), 400, "bad_request"),
            (long_uri.into_bytes(), 414, "uri_too_long"),
            (
                b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n".to_vec(),
                400,
                "bad_request",
            ),
            (huge_header.into_bytes(), 431, "headers_too_large"),
        ];
        for (request, want, code) in cases {
            let (status, body) = raw_request(addr, &request);
            assert_eq!(status, want, "{body}");
            let err: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"));
            assert_eq!(err["error"]["code"], code);
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_key_health_tells_a_stranger_only_that_it_is_up() {
    let up = FakeUpstream::start();
    let r: Router = start_with(&up, chatgpt_home(&up, &["alice"], 3600), |c| {
        c.local_key = Some(Secret::new("local-key"));
    })
    .await;
    let body: Value = r.get("/health").send().await.unwrap().json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));
    let body: Value = r
        .get("/health")
        .bearer_auth("local-key")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["profile"], "alice");
    let addr = r.addr;
    if let Some(answer) = tokio::task::spawn_blocking(move || health_as_user(addr, 65534))
        .await
        .unwrap()
    {
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(!answer.contains("alice"), "{answer}");
    }
}
