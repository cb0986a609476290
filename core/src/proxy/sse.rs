//! Server-sent events, the codec alone: [`SseDecoder`] turns byte chunks (split anywhere)
//! into [`SseEvent`]s per the WHATWG event-stream rules, with a bounded buffer;
//! [`encode_event`], [`encode_json`] and [`DONE_EVENT`] write outgoing events.
//!
//! Everything here is synchronous and pure, and knows no dialect: what the events mean is
//! read in `dialects/`.

use serde_json::Value;
use std::sync::Arc;

/// Default bound on one event (its current line plus its accumulated data): 16 MiB.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// The terminator OpenAI's Chat Completions stream ends with, ready to write.
pub const DONE_EVENT: &str = "data: [DONE]\n\n";

/// Why the upstream byte stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// One event grew past the decoder's bound; the stream is abandoned.
    #[error("server-sent event larger than {limit} bytes")]
    EventTooLarge {
        /// The bound in bytes.
        limit: usize,
    },
}

/// One dispatched server-sent event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name, `None` when absent or empty (the spec's default "message").
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last `id:` seen on the stream so far, if any; shared by the events that carry
    /// it, so a long id is held once, not once per event.
    pub id: Option<Arc<str>>,
}

impl SseEvent {
    /// True for OpenAI's `data: [DONE]` terminator.
    pub fn is_done(&self) -> bool {
        self.data == "[DONE]"
    }

    /// The data parsed as JSON.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.data)
    }
}

/// Incremental SSE decoder: feed byte chunks split at any point (inside a UTF-8 character,
/// between `\r` and `\n`), get complete events. Handles LF, CRLF and CR line endings, a
/// leading BOM, comments and multi-line data. Invalid UTF-8 becomes U+FFFD.
///
/// At the end of the stream an unfinished event (no blank line after it) is discarded, as the
/// spec says. After an [`SseError`] the decoder keeps returning that error.
#[derive(Debug)]
pub struct SseDecoder {
    max_event_bytes: usize,
    line: Vec<u8>,
    after_cr: bool,
    first_line: bool,
    event: String,
    data: String,
    last_id: Option<Arc<str>>,
    failed: bool,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder bounded at [`MAX_EVENT_BYTES`] per event.
    pub fn new() -> Self {
        Self::with_limit(MAX_EVENT_BYTES)
    }

    /// A decoder bounded at `max_event_bytes` per event.
    pub fn with_limit(max_event_bytes: usize) -> Self {
        Self {
            max_event_bytes,
            line: Vec::new(),
            after_cr: false,
            first_line: true,
            event: String::new(),
            data: String::new(),
            last_id: None,
            failed: false,
        }
    }

    /// Feeds the next chunk of bytes and returns the events it completed, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        if self.failed {
            return Err(self.too_large());
        }
        let mut events = Vec::new();
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        loop {
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                None => {
                    self.append_line(rest)?;
                    break;
                }
                Some(p) => {
                    self.append_line(&rest[..p])?;
                    let cr = rest[p] == b'\r';
                    rest = &rest[p + 1..];
                    if cr {
                        match rest.first() {
                            Some(b'\n') => rest = &rest[1..],
                            Some(_) => {}
                            None => self.after_cr = true,
                        }
                    }
                    let line = std::mem::take(&mut self.line);
                    if let Some(ev) = self.process_line(&line)? {
                        events.push(ev);
                    }
                    // Keep the allocation for the next line.
                    self.line = line;
                    self.line.clear();
                }
            }
        }
        Ok(events)
    }

    fn too_large(&self) -> SseError {
        SseError::EventTooLarge {
            limit: self.max_event_bytes,
        }
    }

    fn fail(&mut self) -> SseError {
        self.failed = true;
        self.line = Vec::new();
        self.data = String::new();
        self.event = String::new();
        self.too_large()
    }

    fn append_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + self.data.len() + bytes.len() > self.max_event_bytes {
            return Err(self.fail());
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, raw: &[u8]) -> Result<Option<SseEvent>, SseError> {
        let mut raw = raw;
        if self.first_line {
            self.first_line = false;
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        if raw.is_empty() {
            return Ok(self.dispatch());
        }
        if raw[0] == b':' {
            return Ok(None);
        }
        let line = String::from_utf8_lossy(raw);
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&line[..], ""),
        };
        match field {
            "event" => {
                self.event.clear();
                self.event.push_str(value);
            }
            "data" => {
                if self.data.len() + value.len() + 1 > self.max_event_bytes {
                    return Err(self.fail());
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.into()),
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return None;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the trailing '\n' every data line adds
        Some(SseEvent {
            event: (!event.is_empty()).then_some(event),
            data,
            id: self.last_id.clone(),
        })
    }
}

/// Encodes one outgoing event: an optional `event:` line (line breaks removed from the name),
/// one `data:` line per line of `data`, and the blank line that ends it.
pub fn encode_event(event: Option<&str>, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 16);
    if let Some(name) = event {
        out.push_str("event: ");
        out.extend(name.chars().filter(|c| *c != '\r' && *c != '\n'));
        out.push('\n');
    }
    let normalized = data.replace("\r\n", "\n").replace('\r', "\n");
    for line in normalized.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Encodes a JSON value as one event (`data: {json}\n\n`, with an optional `event:` line).
pub fn encode_json(event: Option<&str>, value: &Value) -> String {
    encode_event(event, &value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::fixtures::{TEXT_STREAM, decode_all};
    use serde_json::json;

    #[test]
    fn decoder_parses_recorded_stream() {
        let events = decode_all(TEXT_STREAM.as_bytes());
        let names: Vec<_> = events.iter().map(|e| e.event.clone().unwrap()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_text.delta",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for e in &events {
            let v = e.json().unwrap();
            assert_eq!(v["type"].as_str(), e.event.as_deref());
        }
        assert_eq!(events[8].json().unwrap()["delta"], ", wörld 👋");
    }

    #[test]
    fn decoder_gives_same_events_at_every_split_and_line_ending() {
        let crlf = TEXT_STREAM.replace('\n', "\r\n");
        let cr = TEXT_STREAM.replace('\n', "\r");
        let expected = decode_all(TEXT_STREAM.as_bytes());
        assert_eq!(expected.len(), 12);
        for stream in [TEXT_STREAM, crlf.as_str(), cr.as_str()] {
            let bytes = stream.as_bytes();
            assert_eq!(decode_all(bytes), expected);
            for split in 0..=bytes.len() {
                let mut d = SseDecoder::new();
                let mut got = d.feed(&bytes[..split]).unwrap();
                got.extend(d.feed(&[]).unwrap());
                got.extend(d.feed(&bytes[split..]).unwrap());
                assert_eq!(got, expected, "split at byte {split}");
            }
            // One byte at a time.
            let mut d = SseDecoder::new();
            let mut got = Vec::new();
            for b in bytes {
                got.extend(d.feed(std::slice::from_ref(b)).unwrap());
            }
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn decoder_follows_the_spec_details() {
        let stream = concat!(
            "\u{feff}: comment first\n",
            "data\n", // no colon: field "data", empty value
            "\n",
            "event: ignored-without-data\n",
            "\n",
            "id: 7\n",
            "data:no-space\n",
            "data:  two spaces\n",
            "retry: 1000\n",
            "unknown: field\n",
            "\n",
            "event: second\n",
            "data: {\"a\":1}\n",
            "\n",
            "data: [DONE]\n",
            "\n",
            "data: cut off at the end\n",
        );
        let events = decode_all(stream.as_bytes());
        assert_eq!(
            events,
            [
                SseEvent {
                    event: None,
                    data: String::new(),
                    id: None
                },
                SseEvent {
                    event: None,
                    data: "no-space\n two spaces".into(),
                    id: Some("7".into()),
                },
                SseEvent {
                    event: Some("second".into()),
                    data: "{\"a\":1}".into(),
                    id: Some("7".into()),
                },
                SseEvent {
                    event: None,
                    data: "[DONE]".into(),
                    id: Some("7".into())
                },
            ]
        );
        assert!(events[3].is_done());
        assert!(!events[2].is_done());
    }

    #[test]
    fn decoder_replaces_invalid_utf8() {
        let events = decode_all(b"data: a\xffb\n\n");
        assert_eq!(events[0].data, "a\u{fffd}b");
    }

    #[test]
    fn decoder_bounds_an_event() {
        let mut d = SseDecoder::with_limit(64);
        assert_eq!(d.feed(b"data: short\n\n").unwrap().len(), 1);
        // Many lines that each fit, but add up past the bound.
        let mut err = None;
        for _ in 0..20 {
            if let Err(e) = d.feed(b"data: 0123456789\n") {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(SseError::EventTooLarge { limit: 64 }));
        // Once failed, it stays failed.
        assert!(d.feed(b"\n").is_err());

        // One endless line with no terminator.
        let mut d = SseDecoder::with_limit(1024);
        let chunk = [b'x'; 100];
        let failed = (0..20).any(|_| d.feed(&chunk).is_err());
        assert!(failed);
    }

    #[test]
    fn encoder_round_trips() {
        assert_eq!(
            encode_json(None, &json!({"a": "b"})),
            "data: {\"a\":\"b\"}\n\n"
        );
        assert_eq!(
            encode_event(Some("error\nx"), "line1\nline2\r\nline3"),
            "event: errorx\ndata: line1\ndata: line2\ndata: line3\n\n"
        );
        assert_eq!(DONE_EVENT, "data: [DONE]\n\n");
        let mut wire = encode_event(Some("message"), "a\nb");
        wire.push_str(&encode_event(None, ""));
        wire.push_str(DONE_EVENT);
        assert_eq!(
            decode_all(wire.as_bytes()),
            [
                SseEvent {
                    event: Some("message".into()),
                    data: "a\nb".into(),
                    id: None
                },
                SseEvent {
                    event: None,
                    data: String::new(),
                    id: None
                },
                SseEvent {
                    event: None,
                    data: "[DONE]".into(),
                    id: None
                },
            ]
        );
    }

    #[test]
    fn a_long_event_id_is_held_once() {
        // Regression: each event carried its own copy of the last id, so a 1 MiB id
        // followed by many small events in one chunk multiplied into gigabytes.
        let mut stream = format!("id: {}\n", "i".repeat(1 << 20)).into_bytes();
        for _ in 0..10_000 {
            stream.extend_from_slice(b"data: x\n\n");
        }
        let events = SseDecoder::new().feed(&stream).unwrap();
        assert_eq!(events.len(), 10_000);
        let first = events[0].id.as_ref().unwrap();
        assert_eq!(first.len(), 1 << 20);
        assert!(
            events
                .iter()
                .all(|e| Arc::ptr_eq(e.id.as_ref().unwrap(), first))
        );
    }
}
