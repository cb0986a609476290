//! Slow clients beside the traffic: connections that stay silent, send their headers a byte
//! at a time, hold an idle keep-alive after one answer, or never finish a body. serve must
//! close each of them (header and body timeouts) while the real clients go on being served;
//! each slow client opens a new connection when its last one was closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the slow clients saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct SlowFigures {
    /// Connections opened.
    pub opened: usize,
    /// Of those, closed by serve (the rest were still open when the phase ended).
    pub closed_by_serve: usize,
}

#[derive(Default)]
struct Counters {
    opened: AtomicUsize,
    closed: AtomicUsize,
}

/// Slow clients running until [`SlowClients::stop`].
pub struct SlowClients {
    counters: Arc<Counters>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl SlowClients {
    /// Starts `n` slow clients against `addr` (host:port), the four kinds in turn.
    pub fn start(n: usize, addr: &str) -> Self {
        let counters = Arc::new(Counters::default());
        let tasks = (0..n)
            .map(|i| {
                let (counters, addr) = (counters.clone(), addr.to_owned());
                tokio::spawn(async move {
                    loop {
                        let Ok(tcp) = TcpStream::connect(&addr).await else {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        };
                        counters.opened.fetch_add(1, Ordering::Relaxed);
                        if hold(tcp, i % 4).await {
                            counters.closed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        Self { counters, tasks }
    }

    /// Stops them (their connections close) and says what they saw.
    pub async fn stop(self) -> SlowFigures {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
        SlowFigures {
            opened: self.counters.opened.load(Ordering::Relaxed),
            closed_by_serve: self.counters.closed.load(Ordering::Relaxed),
        }
    }
}

/// Holds one connection the way `kind` says; whether serve closed it.
async fn hold(mut tcp: TcpStream, kind: usize) -> bool {
    let mut buf = [0u8; 4096];
    match kind {
        // Silent.
        0 => {}
        // Headers a byte every half second, never finished.
        1 => {
            let head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
            for b in head.iter().chain(std::iter::repeat(&b'a')) {
                if tcp.write_all(&[*b]).await.is_err() {
                    return true;
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    n = tcp.read(&mut buf) => return matches!(n, Ok(0) | Err(_)) || drain(&mut tcp).await,
                }
            }
        }
        // One answer, then an idle keep-alive.
        2 => {
            let req = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            if tcp.write_all(req).await.is_err() {
                return true;
            }
        }
        // A body that never finishes.
        _ => {
            let req = b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"model\":";
            if tcp.write_all(req).await.is_err() {
                return true;
            }
        }
    }
    drain(&mut tcp).await
}

/// Reads until serve closes the connection.
async fn drain(tcp: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return true,
            Ok(_) => {}
        }
    }
}
