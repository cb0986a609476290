//! What runs before every request: the one-line request log, the guards (web pages by
//! `Origin`, DNS rebinding by `Host`, the local key, the body size) and, per connection, the
//! check of which local user owns it.

use super::AppState;
use super::config::RequestRecord;
use super::request::ServedBy;
use crate::proxy::errors::ProxyError;
use crate::proxy::peer::{self, Peer};
use crate::secret::Secret;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// One line per request: method, path, profile, status, milliseconds to the answer's head.
pub(super) async fn log_request(
    State(st): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let profile = resp.extensions().get::<ServedBy>().map(|p| p.0.clone());
    tracing::info!(
        target: "codex_router::proxy",
        %method,
        %path,
        profile = %profile.as_deref().unwrap_or("-"),
        status = resp.status().as_u16(),
        ms = format_args!("{ms:.1}"),
        "request"
    );
    if let Some(observer) = &st.observer {
        let mut codex_headers = HeaderMap::new();
        for (name, value) in resp.headers() {
            if name.as_str().starts_with("x-codex-") {
                codex_headers.append(name.clone(), value.clone());
            }
        }
        observer(&RequestRecord {
            method: method.to_string(),
            path,
            profile,
            status: resp.status().as_u16(),
            ms,
            codex_headers,
        });
    }
    resp
}

/// Whether a connection may be served when only the endpoint's own user may use it: its
/// socket is ours, or its owner can't be known (not Linux; a peer on another machine).
pub(super) async fn peer_allowed(tcp: &tokio::net::TcpStream) -> bool {
    let (Ok(ours), Ok(theirs)) = (tcp.local_addr(), tcp.peer_addr()) else {
        return false;
    };
    if !(theirs.ip().is_loopback() || theirs.ip() == ours.ip()) {
        return true;
    }
    let owner = tokio::task::spawn_blocking(move || peer::owner(ours, theirs))
        .await
        .unwrap_or(Peer::OtherUser(None));
    match owner {
        Peer::SameUser => true,
        Peer::Unknown => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                tracing::warn!("cannot tell which local user a connection belongs to on this system; any local user can use the endpoint unless it requires a key (--require-key)");
            });
            true
        }
        Peer::OtherUser(uid) => {
            tracing::warn!(peer = %theirs, ?uid, "refused a connection of another local user");
            false
        }
    }
}

/// Refuses web pages, DNS rebinding, strangers (with a local key) and oversized bodies.
pub(super) async fn guard(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    for (name, shown) in [(header::ORIGIN, "Origin"), (header::HOST, "Host")] {
        if headers.get_all(&name).iter().nth(1).is_some() {
            return ProxyError::RepeatedHeader(shown).into_response();
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
        if !loopback_origin(&origin) {
            return ProxyError::OriginRefused(origin).into_response();
        }
    }
    // An absolute-form request line (`GET http://host/…`) names its host itself, and that
    // is the one a proxy-aware client meant (RFC 9112 §3.2.2): judge it, and the header too.
    let hosts = [
        req.uri().authority().map(|a| a.to_string()),
        headers
            .get(header::HOST)
            .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned()),
    ];
    for host in hosts.into_iter().flatten() {
        if !allowed_host(&host, &st.bind_host) {
            return ProxyError::HostRefused(host).into_response();
        }
    }
    if let Some(key) = &st.local_key
        && req.uri().path() != "/health"
        && !has_key(headers, key)
    {
        return ProxyError::BadLocalKey.into_response();
    }
    let too_long = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > st.body_limit as u64);
    if too_long {
        // Refused before a byte of it is read.
        let mut resp = ProxyError::BodyTooLarge {
            limit: st.body_limit,
        }
        .into_response();
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return resp;
    }
    next.run(req).await
}

/// `http(s)://localhost`, `127.0.0.1`, `[::1]` (any port).
fn loopback_origin(origin: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(d)) => is_localhost_name(d),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// The host part of a `Host` header (no port, no brackets); `None` when what follows the
/// host is anything but `:port` (`[::1]evil.example`).
fn host_name(host: &str) -> Option<&str> {
    let host = host.trim();
    let port_ok = |p: &str| p.is_empty() || p.bytes().all(|c| c.is_ascii_digit());
    if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) if port_ok(port) => Some(inside),
            None if after.is_empty() => Some(inside),
            _ => None,
        };
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port_ok(port) && !h.contains(':') => Some(h),
        Some(_) => None,
        None => Some(host),
    }
}

/// A loopback name or address, or the address the server was told to listen on (any IP
/// address when that is the unspecified one). DNS names other than `localhost` are refused:
/// that is what a DNS-rebinding page sends.
fn allowed_host(host: &str, bind_host: &str) -> bool {
    let Some(name) = host_name(host) else {
        return false;
    };
    if is_localhost_name(name) {
        return true;
    }
    let bind = host_name(bind_host).unwrap_or(bind_host);
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip.is_loopback()
            || bind
                .parse::<IpAddr>()
                .is_ok_and(|b| b == ip || b.is_unspecified());
    }
    !bind.is_empty() && name.eq_ignore_ascii_case(bind)
}

/// Whether the request carries the local key (constant-time comparison).
pub(super) fn has_key(headers: &HeaderMap, key: &Secret) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()));
    given.is_some_and(|g| constant_time_eq(g.as_bytes(), key.expose().as_bytes()))
}

/// Equality whose time does not depend on where the inputs differ (only on their length).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        for ok in [
            "http://localhost:3000",
            "http://127.0.0.1:9876",
            "http://[::1]:8080",
            "https://localhost",
            "http://app.localhost:1",
        ] {
            assert!(loopback_origin(ok), "{ok}");
        }
        for bad in [
            "https://evil.example",
            "null",
            "http://127.0.0.1.evil.example",
            "file://",
            "http://192.168.1.2",
            "chrome-extension://abc",
        ] {
            assert!(!loopback_origin(bad), "{bad}");
        }
    }

    #[test]
    fn hosts() {
        for ok in [
            "127.0.0.1:9876",
            "localhost:9876",
            "LOCALHOST",
            "[::1]:9876",
            "127.0.0.2",
        ] {
            assert!(allowed_host(ok, "127.0.0.1"), "{ok}");
        }
        for bad in [
            "evil.example:9876",
            "rebind.attacker.test",
            "192.168.1.2:9876",
            "localhost.evil.example",
            "[::1]evil.example",
            "[::1]:80evil",
            "[::1]:80:81",
            "127.0.0.1:80:81",
            "127.0.0.1:x",
            "[::1",
        ] {
            assert!(!allowed_host(bad, "127.0.0.1"), "{bad}");
        }
        assert!(allowed_host("192.168.1.2:9876", "0.0.0.0"));
        assert!(allowed_host("192.168.1.2:9876", "192.168.1.2"));
        assert!(!allowed_host("evil.example", "0.0.0.0"));
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(!constant_time_eq(b"x", b""));
        assert!(constant_time_eq(b"", b""));
    }
}
