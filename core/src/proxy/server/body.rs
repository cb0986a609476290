//! Reading a request body: within the size limit, uncompressed within the decode budget
//! (the decoded bytes of all requests together), and parsed as a JSON object.

use crate::proxy::errors::ProxyError;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use futures_util::StreamExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Reads the body, refusing it past the limit without reading the rest.
pub(super) async fn read_body(body: Body, limit: usize) -> Result<Bytes, ProxyError> {
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut buf: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ProxyError::BodyRead(e.to_string()))?;
        total = total.saturating_add(chunk.len());
        if total > limit {
            return Err(ProxyError::BodyTooLarge { limit });
        }
        match first.take() {
            None if buf.is_empty() => first = Some(chunk),
            None => buf.extend_from_slice(&chunk),
            Some(f) => {
                buf.extend_from_slice(&f);
                buf.extend_from_slice(&chunk);
            }
        }
    }
    Ok(match first {
        Some(f) => f,
        None => Bytes::from(buf),
    })
}

/// The body as JSON, which must be an object.
pub(super) fn parse_json(bytes: &[u8]) -> Result<Value, ProxyError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ProxyError::BadJson(e.to_string()))?;
    if !value.is_object() {
        return Err(ProxyError::BadJson("the body must be a JSON object".into()));
    }
    Ok(value)
}

/// A request body as the handlers read it, uncompressed; while it lives it holds its share
/// of the decode budget.
pub(super) struct Decoded {
    /// The uncompressed body.
    pub(super) bytes: Bytes,
    _budget: Option<OwnedSemaphorePermit>,
}

/// How much is decoded between two claims on the budget.
const DECODE_CHUNK: usize = 64 * 1024;
/// How long a decode waits for budget held by others before it gives up (503).
const DECODE_WAIT: Duration = Duration::from_secs(2);

/// The body uncompressed: Codex's built-in provider (`openai_base_url`) sends zstd bodies
/// with ChatGPT logins. The result is bounded by the body limit, and the decoded bytes of
/// all requests together by the decode budget (claimed as they are produced), so a crowd
/// of small compression bombs can't take the memory a single one can't.
pub(super) async fn decode_body(
    headers: &HeaderMap,
    body: Bytes,
    limit: usize,
    budget: &Arc<Semaphore>,
) -> Result<Decoded, ProxyError> {
    let encoding = headers.get(header::CONTENT_ENCODING).map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .trim()
            .to_ascii_lowercase()
    });
    match encoding.as_deref() {
        None | Some("identity") => Ok(Decoded {
            bytes: body,
            _budget: None,
        }),
        Some("zstd") => {
            let budget = budget.clone();
            let runtime = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || {
                use std::io::Read;
                let bad = |e: std::io::Error| ProxyError::BodyRead(format!("bad zstd body: {e}"));
                let mut decoder = ruzstd::decoding::StreamingDecoder::new(body.as_ref())
                    .map_err(|e| ProxyError::BodyRead(format!("bad zstd body: {e}")))?;
                let mut out: Vec<u8> = Vec::new();
                let mut held: Option<OwnedSemaphorePermit> = None;
                let mut claimed_kib = 0usize;
                let mut chunk = vec![0u8; DECODE_CHUNK];
                loop {
                    let n = decoder.read(&mut chunk).map_err(bad)?;
                    if n == 0 {
                        break;
                    }
                    let need = out.len() + n;
                    if need > limit {
                        return Err(ProxyError::BodyTooLarge { limit });
                    }
                    if need > out.capacity() {
                        // Grown by doubling as a Vec would, but claimed before it is.
                        let cap = (out.capacity() * 2).min(limit + DECODE_CHUNK).max(need);
                        let cap_kib = cap.div_ceil(1024);
                        let more = u32::try_from(cap_kib - claimed_kib)
                            .map_err(|_| ProxyError::DecodeBusy)?;
                        let claim = runtime.block_on(tokio::time::timeout(
                            DECODE_WAIT,
                            budget.clone().acquire_many_owned(more),
                        ));
                        match (claim, &mut held) {
                            (Ok(Ok(permit)), Some(h)) => h.merge(permit),
                            (Ok(Ok(permit)), None) => held = Some(permit),
                            _ => return Err(ProxyError::DecodeBusy),
                        }
                        claimed_kib = cap_kib;
                        out.reserve_exact(cap - out.len());
                    }
                    out.extend_from_slice(&chunk[..n]);
                }
                Ok(Decoded {
                    bytes: Bytes::from(out),
                    _budget: held,
                })
            })
            .await
            .map_err(|e| ProxyError::BodyRead(e.to_string()))?
        }
        Some(other) => Err(ProxyError::UnsupportedEncoding(other.to_owned())),
    }
}
