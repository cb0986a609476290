//! A small HTTP proxy for tests, as a company's is: it opens `CONNECT host:port` tunnels
//! (RFC 9110 §9.3.6) and forwards plain `http://` requests sent in absolute form, optionally
//! only for a client that sends the right basic `Proxy-Authorization`, and records the
//! targets it was asked for. Anything else gets 405. Runs on 127.0.0.1 on its own thread;
//! dropping it stops it.

use base64::Engine;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Seen {
    targets: Vec<String>,
    refused: usize,
}

/// The running proxy.
pub struct ConnectProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    credentials: Option<(String, String)>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl std::fmt::Debug for ConnectProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectProxy")
            .field("addr", &self.addr)
            .finish()
    }
}

impl ConnectProxy {
    /// A proxy that tunnels for anyone.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A proxy that tunnels only for `user`:`password` (others get 407).
    pub fn with_auth(user: &str, password: &str) -> Self {
        Self::start_with(Some((user.to_owned(), password.to_owned())))
    }

    fn start_with(credentials: Option<(String, String)>) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("proxy addr");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let expected = credentials.as_ref().map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = seen.clone();
        std::thread::Builder::new()
            .name("connect-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("proxy runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("proxy listener");
                    let accept = async {
                        while let Ok((client, _)) = listener.accept().await {
                            let (state, expected) = (state.clone(), expected.clone());
                            tokio::spawn(tunnel(client, state, expected));
                        }
                    };
                    tokio::select! {
                        _ = accept => {}
                        _ = rx => {}
                    }
                });
                rt.shutdown_timeout(std::time::Duration::from_millis(100));
            })
            .expect("proxy thread");
        Self {
            addr,
            seen,
            credentials,
            _stop: tx,
        }
    }

    /// `http://127.0.0.1:PORT` (with the credentials when it wants some).
    pub fn url(&self) -> String {
        match &self.credentials {
            Some((u, p)) => format!("http://{u}:{p}@{}", self.addr),
            None => format!("http://{}", self.addr),
        }
    }

    /// `http://127.0.0.1:PORT`, without credentials.
    pub fn bare_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `host:port` of every tunnel opened or plain request forwarded, in order.
    pub fn targets(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .targets
            .clone()
    }

    /// How many requests were refused (bad or missing credentials, not `CONNECT`).
    pub fn refused(&self) -> usize {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).refused
    }
}

async fn tunnel(mut client: TcpStream, seen: Arc<Mutex<Seen>>, expected: Option<String>) {
    let _ = client.set_nodelay(true);
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte).await {
            Ok(1) if head.len() < 16 * 1024 => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.lines();
    let request = lines.next().unwrap_or("");
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let auth = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_owned())
    });
    let refuse = |status: &'static str| {
        seen.lock().unwrap_or_else(|e| e.into_inner()).refused += 1;
        status
    };
    // A plain request in absolute form goes on as it came (the server takes that form too).
    let forwarded = (method != "CONNECT")
        .then(|| target.strip_prefix("http://"))
        .flatten()
        .map(|rest| rest.split('/').next().unwrap_or(rest));
    let target = forwarded.unwrap_or(target);
    let answer = if method != "CONNECT" && forwarded.is_none() {
        Err(refuse("405 Method Not Allowed"))
    } else if expected.is_some() && auth != expected {
        Err(refuse("407 Proxy Authentication Required"))
    } else {
        match TcpStream::connect(target).await {
            Ok(upstream) => Ok(upstream),
            Err(_) => Err(refuse("502 Bad Gateway")),
        }
    };
    match answer {
        Err(status) => {
            let _ = client
                .write_all(
                    format!("HTTP/1.1 {status}\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await;
        }
        Ok(mut upstream) => {
            let _ = upstream.set_nodelay(true);
            seen.lock()
                .unwrap_or_else(|e| e.into_inner())
                .targets
                .push(target.to_owned());
            let started = if forwarded.is_some() {
                upstream.write_all(&head).await
            } else {
                client
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await
            };
            if started.is_ok() {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
        }
    }
}
