//! A tiny blocking HTTP/1.1 GET client: the "browser" that walks the login redirects.

use super::types::BrowserOutcome;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// One answer.
pub(crate) struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn addrs(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    if host == "localhost" {
        // Like a browser: try IPv4 loopback first, then IPv6.
        return Ok(vec![
            SocketAddr::from(([127, 0, 0, 1], port)),
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
        ]);
    }
    (host, port)
        .to_socket_addrs()
        .map(|a| a.collect())
        .map_err(|e| format!("cannot resolve {host}: {e}"))
}

/// `GET url` with `Connection: close`; only loopback hosts are contacted.
pub(crate) fn http_get(url: &str) -> Result<HttpAnswer, String> {
    let u = url::Url::parse(url).map_err(|e| format!("bad url {url}: {e}"))?;
    if u.scheme() != "http" {
        return Err(format!("only http:// URLs are supported: {url}"));
    }
    let host = u.host_str().unwrap_or_default().to_owned();
    if !matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]") {
        return Err(format!("refusing to contact a non-loopback host: {url}"));
    }
    let port = u.port_or_known_default().unwrap_or(80);
    let mut stream = None;
    let mut last_err = String::new();
    for a in addrs(host.trim_matches(['[', ']']), port)? {
        match TcpStream::connect_timeout(&a, Duration::from_secs(5)) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = format!("connect {a}: {e}"),
        }
    }
    let mut stream = stream.ok_or(last_err)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    let target = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    };
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: Mozilla/5.0 (fake-upstream browser)\r\nAccept: text/html,*/*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(req.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    parse_answer(&raw)
}

fn parse_answer(raw: &[u8]) -> Result<HttpAnswer, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header end")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {status_line}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut ans = HttpAnswer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    };
    if ans
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        ans.body = dechunk(&ans.body);
    } else if let Some(n) = ans.header("content-length").and_then(|n| n.parse().ok()) {
        ans.body.truncate(n);
    }
    Ok(ans)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
        let size_txt = String::from_utf8_lossy(&b[..pos]);
        let size = usize::from_str_radix(size_txt.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        let end = (start + size).min(b.len());
        out.extend_from_slice(&b[start..end]);
        b = &b[(end + 2).min(b.len())..];
    }
    out
}

/// Where the issuer's authorize endpoint redirects the browser.
pub(crate) fn authorize_redirect(authorize_url: &str) -> Result<String, String> {
    let ans = http_get(authorize_url)?;
    match (ans.status, ans.header("location")) {
        (301..=303 | 307 | 308, Some(loc)) => Ok(loc.to_owned()),
        _ => Err(format!(
            "authorize answered {}: {}",
            ans.status,
            String::from_utf8_lossy(&ans.body)
        )),
    }
}

/// Authorize, then visit the callback and follow loopback redirects (at most 5).
pub(crate) fn sign_in(authorize_url: &str) -> Result<BrowserOutcome, String> {
    let callback_url = authorize_redirect(authorize_url)?;
    let mut current = callback_url.clone();
    for _ in 0..6 {
        let ans = http_get(&current)?;
        let next = ans.header("location").and_then(|loc| {
            let base = url::Url::parse(&current).ok()?;
            let u = base.join(loc).ok()?;
            matches!(u.host_str(), Some("localhost" | "127.0.0.1")).then(|| u.to_string())
        });
        match next {
            Some(n) if (300..400).contains(&ans.status) => current = n,
            _ => {
                return Ok(BrowserOutcome {
                    callback_url,
                    status: ans.status,
                    final_url: current,
                    body: String::from_utf8_lossy(&ans.body).into_owned(),
                });
            }
        }
    }
    Err(format!("too many redirects after {callback_url}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chunked() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        let a = parse_answer(raw).unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(a.body, b"hello world");
    }
}
