//! What bounds the endpoint's connections: how many may be open (and how many of them may
//! belong to refused peers), which one gives way when the endpoint is full, which ones are
//! busy, the file limit, and OpenAI-shaped bodies for the errors hyper answers by itself.
//!
//! A connection is *busy* from the moment a request reaches the routes until its answer's
//! body has been sent or dropped. When the endpoint is full, the oldest connection that is not
//! busy (an idle keep-alive, a client still sending its headers) is closed to make room, so
//! clients that hold connections without sending requests can't lock the owner out; only
//! when every connection is busy is the new one closed at once. A connection upgraded to a
//! WebSocket stays open, and busy, until its socket closes ([`Upgrades`]).

use axum::body::{Body, Bytes, HttpBody};
use std::collections::BTreeMap;
use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Notify;

/// The limits on connections and request reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most (all peers).
    pub max_connections: usize,
    /// Open connections of refused peers (other local users) at most; each is closed after
    /// its 403.
    pub max_refused: usize,
    /// The time a client has to send a request's headers, from the connection's start or
    /// from the end of the previous answer: it also closes silent connections and idle
    /// keep-alives.
    pub header_timeout: Duration,
    /// The time a client has to send a whole request body.
    pub body_timeout: Duration,
}

impl Default for ConnectionLimits {
    /// 1024 connections (of which 32 refused ones), 15 s for headers and idle keep-alives,
    /// 60 s for a body.
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_refused: 32,
            header_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(60),
        }
    }
}

/// One open connection.
pub(super) struct Slot {
    id: u64,
    busy: AtomicUsize,
    /// Notified when the connection must close to make room.
    pub(super) evicted: Notify,
}

/// The open connections, oldest first.
pub(super) struct Connections {
    limits: ConnectionLimits,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    open: BTreeMap<u64, Arc<Slot>>,
    refused: usize,
}

/// A connection's place; gives it back when dropped.
pub(super) struct Admission {
    connections: Arc<Connections>,
    pub(super) slot: Arc<Slot>,
    refused: bool,
}

impl Connections {
    pub(super) fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            table: Mutex::new(Table::default()),
        })
    }

    /// A place for a new connection, closing the oldest idle one when full; `None` when
    /// every open connection is busy.
    pub(super) fn admit(self: &Arc<Self>) -> Option<Admission> {
        let mut table = self.table.lock().expect("connection table");
        if table.open.len() >= self.limits.max_connections.max(1) {
            let idle = table
                .open
                .values()
                .find(|s| s.busy.load(Ordering::Acquire) == 0)
                .cloned()?;
            table.open.remove(&idle.id);
            idle.evicted.notify_one();
            tracing::warn!(
                open = table.open.len() + 1,
                "the endpoint is at its connection limit: closed its oldest idle connection"
            );
        }
        table.next_id += 1;
        let slot = Arc::new(Slot {
            id: table.next_id,
            busy: AtomicUsize::new(0),
            evicted: Notify::new(),
        });
        table.open.insert(slot.id, slot.clone());
        Some(Admission {
            connections: self.clone(),
            slot,
            refused: false,
        })
    }
}

impl Admission {
    /// Counts the connection as a refused peer's; `false` when there are too many already
    /// (close it without an answer).
    pub(super) fn mark_refused(&mut self) -> bool {
        let mut table = self.connections.table.lock().expect("connection table");
        if table.refused >= self.connections.limits.max_refused {
            return false;
        }
        table.refused += 1;
        self.refused = true;
        true
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut table = self.connections.table.lock().expect("connection table");
        table.open.remove(&self.slot.id);
        if self.refused {
            table.refused -= 1;
        }
    }
}

/// Marks a connection busy while it lives.
pub(super) struct Busy(Arc<Slot>);

impl Busy {
    pub(super) fn new(slot: &Arc<Slot>) -> Self {
        slot.busy.fetch_add(1, Ordering::AcqRel);
        Self(slot.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The work of a connection upgraded to a WebSocket (its relay).
pub(super) type UpgradedWork = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a handler needs to take its connection over after a `101`: the place to leave the
/// work for the connection's own task (which runs it once hyper hands the socket over, so
/// the connection keeps its place in the table and the endpoint's limits), and the signal
/// that the endpoint stops. One per connection, in every request's extensions.
#[derive(Clone)]
pub(super) struct Upgrades {
    slot: Arc<Slot>,
    work: Arc<Mutex<Option<UpgradedWork>>>,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl Upgrades {
    pub(super) fn new(slot: &Arc<Slot>, stop: tokio::sync::watch::Receiver<bool>) -> Self {
        Self {
            slot: slot.clone(),
            work: Arc::default(),
            stop,
        }
    }

    /// Leaves `work` for the connection's task; the connection is busy (never closed to
    /// make room) until the work ends.
    pub(super) fn hand_over(&self, work: impl Future<Output = ()> + Send + 'static) {
        let busy = Busy::new(&self.slot);
        let work = Box::pin(async move {
            work.await;
            drop(busy);
        });
        *self.work.lock().expect("upgraded work") = Some(work);
    }

    /// The work left by a handler, if any.
    pub(super) fn take(&self) -> Option<UpgradedWork> {
        self.work.lock().expect("upgraded work").take()
    }

    /// Becomes true when the endpoint stops.
    pub(super) fn stop(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.clone()
    }
}

/// An answer's body that keeps its connection busy until it is sent or dropped.
pub(super) struct BusyBody {
    inner: Body,
    _busy: Busy,
}

impl BusyBody {
    pub(super) fn wrap(inner: Body, busy: Busy) -> Body {
        Body::new(Self { inner, _busy: busy })
    }
}

impl HttpBody for BusyBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Raises the soft limit on open files to the hard limit (Linux and macOS), so a flood of
/// connections meets the endpoint's own cap before the process runs out of descriptors.
/// Returns the soft limit now in force.
pub fn raise_file_limit() -> Option<libc::rlim_t> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let mut want = lim;
            want.rlim_cur = lim.rlim_max;
            // macOS refuses more than OPEN_MAX for the soft limit.
            #[cfg(target_os = "macos")]
            {
                want.rlim_cur = want.rlim_cur.min(10240);
            }
            // SAFETY: as above.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } == 0 {
                lim = want;
            }
        }
        Some(lim.rlim_cur)
    }
    #[cfg(not(unix))]
    None
}

/// The errors hyper answers itself when a request head can't be parsed, with the OpenAI
/// error body our own answers have instead of hyper's empty one.
const PARSE_ERRORS: [(&[u8], u16, &str, &str); 3] = [
    (
        b"HTTP/1.1 400 Bad Request\r\n",
        400,
        "The request could not be parsed as HTTP/1.1",
        "bad_request",
    ),
    (
        b"HTTP/1.1 414 URI Too Long\r\n",
        414,
        "The request's URI is too long",
        "uri_too_long",
    ),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        431,
        "The request's headers are too large",
        "headers_too_large",
    ),
];

/// The full answer to write instead of `head`, when `head` is one of hyper's automatic,
/// bodyless parse-error answers (our own answers always carry a body and a content type).
fn parse_error_answer(head: &[u8]) -> Option<Vec<u8>> {
    let (line, status, message, code) = PARSE_ERRORS
        .iter()
        .find(|(line, ..)| head.starts_with(line))?;
    let text = std::str::from_utf8(head).ok()?.to_ascii_lowercase();
    if !(text.ends_with("\r\n\r\n")
        && text.contains("\r\ncontent-length: 0\r\n")
        && !text.contains("\r\ncontent-type:"))
    {
        return None;
    }
    let body = serde_json::json!({"error": {
        "message": message, "type": "invalid_request_error", "param": null, "code": code
    }})
    .to_string();
    let _ = status;
    let mut out = line.to_vec();
    out.extend_from_slice(
        format!(
            "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    Some(out)
}

/// A connection's IO that replaces hyper's bodyless parse-error answers ([`PARSE_ERRORS`]).
/// After a `101 Switching Protocols` it passes everything through untouched: what follows
/// are WebSocket frames.
pub(super) struct ErrorBodies<T> {
    inner: T,
    /// A replacement being written, how much of it is out, and the length to report.
    pending: Option<(Vec<u8>, usize, usize)>,
    /// Whether the connection switched protocols.
    upgraded: bool,
}

/// The start of the answer that switches a connection to another protocol.
const SWITCHING: &[u8] = b"HTTP/1.1 101 ";

impl<T> ErrorBodies<T> {
    pub(super) fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
            upgraded: false,
        }
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for ErrorBodies<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> ErrorBodies<T> {
    /// Writes the rest of a pending replacement; the length of what it replaced when done.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        while let Some((bytes, done, replaced)) = &mut self.pending {
            if *done == bytes.len() {
                let n = *replaced;
                self.pending = None;
                return Poll::Ready(Ok(n));
            }
            let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
        Poll::Ready(Ok(0))
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for ErrorBodies<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.upgraded || buf.starts_with(SWITCHING) {
            self.upgraded = true;
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        }
        if self.pending.is_none() {
            match parse_error_answer(buf) {
                Some(answer) => self.pending = Some((answer, 0, buf.len())),
                None => return Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        self.poll_pending(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let first = bufs.iter().find(|b| !b.is_empty());
        if self.upgraded || first.is_some_and(|b| b.starts_with(SWITCHING)) {
            self.upgraded = true;
            return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        }
        let answers_error = self.pending.is_some()
            || first.is_some_and(|b| PARSE_ERRORS.iter().any(|(l, ..)| b.starts_with(l)));
        if answers_error && let Some(first) = first {
            return self.poll_write(cx, first);
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bodyless_parse_errors_are_replaced() {
        let hyper_head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 12:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(parse_error_answer(hyper_head).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 431 "));
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "headers_too_large");
        // Our own answers carry a content type and a body.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n";
        assert!(parse_error_answer(ours).is_none());
        assert!(parse_error_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }

    #[test]
    fn after_a_switch_of_protocols_nothing_is_rewritten() {
        let mut io = ErrorBodies::new(hyper_util::rt::TokioIo::new(Vec::<u8>::new()));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut write = |io: &mut ErrorBodies<_>, b: &[u8]| {
            let Poll::Ready(Ok(n)) = hyper::rt::Write::poll_write(Pin::new(io), &mut cx, b) else {
                panic!("a write to memory is ready");
            };
            n
        };
        let head = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n";
        assert_eq!(write(&mut io, head), head.len());
        // Even bytes that look like one of hyper's bodyless answers are frames now.
        let lookalike = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(write(&mut io, lookalike), lookalike.len());
        let mut expected = head.to_vec();
        expected.extend_from_slice(lookalike);
        assert_eq!(io.inner.inner(), &expected);
    }

    #[test]
    fn a_full_table_closes_its_oldest_idle_connection_and_keeps_busy_ones() {
        let conns = Connections::new(ConnectionLimits {
            max_connections: 2,
            ..ConnectionLimits::default()
        });
        let a = conns.admit().unwrap();
        let b = conns.admit().unwrap();
        let busy_a = Busy::new(&a.slot);
        let c = conns.admit().expect("b is idle: it gives way");
        assert_eq!(conns.table.lock().unwrap().open.len(), 2);
        let _busy_c = Busy::new(&c.slot);
        assert!(conns.admit().is_none(), "every connection is busy");
        drop(busy_a);
        assert!(conns.admit().is_some());
        drop((a, b, c));
    }

    #[test]
    fn refused_peers_have_their_own_small_cap() {
        let conns = Connections::new(ConnectionLimits {
            max_refused: 1,
            ..ConnectionLimits::default()
        });
        let mut a = conns.admit().unwrap();
        let mut b = conns.admit().unwrap();
        assert!(a.mark_refused());
        assert!(!b.mark_refused());
        drop(a);
        assert!(b.mark_refused());
    }
}
