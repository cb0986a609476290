//! A byte stream to `host:port` made by hand (for WebSockets): directly, or through the
//! proxy with an HTTP `CONNECT` tunnel (RFC 9110 §9.3.6), as the HTTP clients do.

use super::{NetError, Network};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest wait for a connection, the tunnel included.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest proxy answer to a `CONNECT`.
const MAX_HEAD: usize = 16 * 1024;

impl Network {
    /// Opens a TCP stream to `host:port` for a URL of `scheme` (`wss`, `https`, `ws`,
    /// `http`): through the scheme's proxy when one applies (an HTTP `CONNECT` tunnel, with
    /// `Proxy-Authorization` from the proxy URL's credentials), else directly. TLS, if
    /// any, is the caller's: wrap the stream with [`Network::websocket_tls`].
    pub async fn connect(
        &self,
        scheme: &str,
        host: &str,
        port: u16,
    ) -> Result<TcpStream, NetError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let proxy = self.proxy_for(scheme, host);
        let dial = proxy.map_or(target.as_str(), |p| p.authority()).to_owned();
        let work = async {
            let mut stream =
                TcpStream::connect(dial.as_str())
                    .await
                    .map_err(|e| NetError::Connect {
                        target: dial.clone(),
                        detail: e.to_string(),
                    })?;
            let _ = stream.set_nodelay(true);
            if let Some(proxy) = proxy {
                let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
                if let Some(auth) = proxy.authorization() {
                    head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
                }
                head.push_str("\r\n");
                let io = |e: std::io::Error| NetError::Connect {
                    target: dial.clone(),
                    detail: e.to_string(),
                };
                stream.write_all(head.as_bytes()).await.map_err(io)?;
                let status = read_head(&mut stream).await.map_err(io)?;
                let code = status.split_whitespace().nth(1).unwrap_or("");
                if !code.starts_with('2') {
                    return Err(NetError::Tunnel {
                        proxy: proxy.redacted(),
                        target: target.clone(),
                        status: status
                            .split_whitespace()
                            .skip(1)
                            .collect::<Vec<_>>()
                            .join(" "),
                    });
                }
            }
            Ok(stream)
        };
        tokio::time::timeout(CONNECT_TIMEOUT, work)
            .await
            .map_err(|_| NetError::Connect {
                target: dial.clone(),
                detail: "timed out".into(),
            })?
    }
}

/// Reads the proxy's answer head byte by byte (nothing of the tunnel after it is taken)
/// and returns its status line.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD || stream.read(&mut byte).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the proxy closed the connection or answered something else than HTTP",
            ));
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    Ok(text.lines().next().unwrap_or("").to_owned())
}
