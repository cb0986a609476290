//! The fuzz targets' bodies, shared by the cargo-fuzz harness in `fuzz/` and by the test
//! that replays the committed corpora (`core/tests/all/fuzz_corpora.rs`). Only built with the
//! `fuzzing` feature.
//!
//! Each function takes arbitrary bytes, must never panic (nor hang, nor take more than
//! linear-ish time), and asserts the properties the code promises: a panic here is a bug.

use crate::auth_file::{AuthFile, Identity};
use crate::claims;
use crate::home::ProfileName;
use crate::login::browser::{self, CallbackParams};
use crate::proxy::dialects::anthropic;
use crate::proxy::dialects::chat::{
    self, ChatCompletionAssembler, ChatStreamOptions, ChatStreamTranslator, ChatTranslation,
};
use crate::proxy::dialects::responses::ResponsesAssembler;
use crate::proxy::errors::StreamError;
use crate::proxy::sse::{self, SseDecoder, SseError, SseEvent};
use crate::proxy::upstream::apply_chatgpt_quirks;
use crate::secret::Secret;
use crate::settings::AnthropicSettings;
use serde_json::Value;
use std::path::{Component, Path};

/// The names of the fuzz targets, as folders under `fuzz/corpus/`.
pub const TARGETS: &[&str] = &[
    "auth_file",
    "profile_name",
    "chat_request",
    "sse_stream",
    "login_callback",
    "messages_request",
];

/// Runs the target called `name` on `data`; `false` when there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "auth_file" => auth_file(data),
        "profile_name" => profile_name(data),
        "chat_request" => chat_request(data),
        "sse_stream" => sse_stream(data),
        "login_callback" => login_callback(data),
        "messages_request" => messages_request(data),
        _ => return false,
    }
    true
}

/// `auth.json` bytes: [`AuthFile::parse`], then everything that reads a parsed file
/// (`inspect`, `identity`, the claims of its tokens), and [`claims::decode`] of the bytes
/// as a token. A parsed file rewrites to a fixpoint, keeps its identity across the rewrite,
/// and no `Debug` print shows a token or key.
pub fn auth_file(data: &[u8]) {
    let _ = claims::decode(&String::from_utf8_lossy(data));
    let file = match AuthFile::parse(data) {
        Ok(file) => file,
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.starts_with("not valid JSON at line")
                    || message.starts_with("unexpected structure at line"),
                "a parse error quotes the file: {message}"
            );
            return;
        }
    };
    let _ = file.mode().as_str();
    let _ = file.freshness();
    let _ = file.access_claims();
    if let Some(tokens) = &file.tokens {
        for token in [
            &tokens.id_token,
            &tokens.access_token,
            &tokens.refresh_token,
        ] {
            let _ = claims::decode(token.expose());
        }
    }
    let info = file.inspect();
    let identity = file.identity();
    assert_eq!(identity.is_some(), info.is_ok());
    if let Ok(info) = &info {
        let _ = info.auth_mode.label();
    }

    // The file the router writes reads back as the same login, and rewriting is stable.
    let bytes = file.to_bytes();
    let back = AuthFile::parse(&bytes).expect("a written auth file parses");
    assert_eq!(
        back.to_bytes(),
        bytes,
        "rewriting an auth file is not stable"
    );
    assert_eq!(back.inspect(), info);
    assert_eq!(back.identity(), identity);
    assert!(back.same_credentials(&file));

    // Debug never shows a secret: it prints the same with every secret replaced.
    let mut masked = file.clone();
    masked.openai_api_key = masked.openai_api_key.map(|_| Secret::new("m"));
    if let Some(t) = &mut masked.tokens {
        t.id_token = Secret::new("m");
        t.access_token = Secret::new("m");
        t.refresh_token = Secret::new("m");
    }
    assert_eq!(format!("{file:?}"), format!("{masked:?}"));
    if let Some(Identity::ApiKey(_)) = &identity {
        assert_eq!(
            format!("{identity:?}"),
            format!("{:?}", Some(Identity::ApiKey(Secret::new("m"))))
        );
    }

    if let Ok(key) = AuthFile::api_key(&String::from_utf8_lossy(data)) {
        assert!(matches!(key.identity(), Some(Identity::ApiKey(_))));
    }
}

/// A profile name: [`ProfileName::new`] accepts only names that are one plain path
/// component, and its refusals print no control characters.
pub fn profile_name(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match ProfileName::new(&text) {
        Ok(name) => {
            assert_eq!(name.as_str(), text);
            assert_eq!(name.to_string(), text);
            assert!((1..=64).contains(&text.len()));
            assert!(!text.starts_with('.'));
            let components: Vec<_> = Path::new(name.as_str()).components().collect();
            assert_eq!(
                components,
                [Component::Normal(name.as_str().as_ref())],
                "a profile name is not one plain path component"
            );
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                !message.chars().any(char::is_control),
                "a refusal prints a control character: {message:?}"
            );
        }
    }
}

/// A request body: [`chat::chat_to_responses`] then [`apply_chatgpt_quirks`] on
/// the translation, and the quirks alone on the body (a passthrough `/v1/responses`
/// request). A translated request always passes the quirks; the quirks give what the
/// ChatGPT backend needs and are idempotent.
pub fn chat_request(data: &[u8]) {
    let Ok(request) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match chat::chat_to_responses(&request) {
        Ok(ChatTranslation {
            body,
            model,
            stream,
            ..
        }) => {
            assert_eq!(body["model"].as_str(), Some(model.as_str()));
            assert_eq!(body["stream"].as_bool(), Some(stream));
            assert!(body["input"].is_array());
            let mut body = body;
            apply_chatgpt_quirks(&mut body).expect("a translated request passes the quirks");
            check_quirks(&body);
        }
        Err(e) => {
            let error = e.error_body();
            assert_eq!(error["error"]["param"].as_str(), Some(e.field()));
        }
    }
    let mut passthrough = request;
    if apply_chatgpt_quirks(&mut passthrough).is_ok() {
        check_quirks(&passthrough);
    }
}

/// An Anthropic Messages request body: [`anthropic::messages_to_responses`] gives a
/// Responses body the quirks accept (model, input list, `stream:true`, `store:false`, no
/// empty stop sequence) or an error naming a field; [`anthropic::count_tokens`] counts
/// exactly the requests that translate.
pub fn messages_request(data: &[u8]) {
    let Ok(request) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let settings = AnthropicSettings::default();
    let headers = axum::http::HeaderMap::new();
    let translated = anthropic::messages_to_responses(&request, &headers, &settings);
    let counted = anthropic::count_tokens(&request, &headers, &settings);
    assert_eq!(translated.is_ok(), counted.is_ok());
    match translated {
        Ok(t) => {
            assert!(t.body["model"].as_str().is_some_and(|m| !m.is_empty()));
            assert!(t.body["input"].is_array());
            assert!(t.stop_sequences.iter().all(|s| !s.is_empty()));
            let mut body = t.body;
            apply_chatgpt_quirks(&mut body).expect("a translated request passes the quirks");
            check_quirks(&body);
        }
        Err(e) => {
            let error = e.error_body();
            assert_eq!(error["error"]["param"].as_str(), Some(e.field()));
        }
    }
}

/// What [`apply_chatgpt_quirks`] promises about its result.
fn check_quirks(body: &Value) {
    assert!(body["instructions"].is_string());
    assert_eq!(body["stream"], Value::Bool(true));
    assert_eq!(body["store"], Value::Bool(false));
    for field in ["max_output_tokens", "temperature", "previous_response_id"] {
        assert!(body.get(field).is_none(), "{field} kept");
    }
    let input = body["input"].as_array().expect("input is a list");
    for item in input {
        let is_message = item
            .get("type")
            .is_none_or(|t| t.is_null() || t == "message");
        assert!(
            !(is_message && item.get("role").is_some_and(|r| r == "system")),
            "a system message is left in the input"
        );
    }
    let mut again = body.clone();
    apply_chatgpt_quirks(&mut again).expect("the quirks accept their own output");
    assert_eq!(&again, body, "the quirks are not idempotent");
}

/// How one [`sse_stream`] input is laid out: a flags byte (bit 0: include usage, bit 1:
/// include reasoning), a count `n` (0–15), `n` chunk lengths (0 also feeds an empty
/// chunk), then the stream itself.
struct SseInput<'a> {
    include_usage: bool,
    include_reasoning: bool,
    chunks: &'a [u8],
    stream: &'a [u8],
}

impl<'a> SseInput<'a> {
    fn split(data: &'a [u8]) -> Self {
        let flags = data.first().copied().unwrap_or(0);
        let rest = data.get(1..).unwrap_or_default();
        let n =
            usize::from(rest.first().copied().unwrap_or(0) % 16).min(rest.len().saturating_sub(1));
        let chunks = rest.get(1..1 + n).unwrap_or_default();
        let stream = rest.get(1 + n..).unwrap_or_default();
        Self {
            include_usage: flags & 1 != 0,
            include_reasoning: flags & 2 != 0,
            chunks,
            stream,
        }
    }
}

/// The events a decoder gives for `stream` fed in the pieces `pieces` yields, and whether
/// it failed.
fn decode_pieces<'a>(
    mut decoder: SseDecoder,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> (Vec<SseEvent>, Option<SseError>) {
    let mut events = Vec::new();
    for piece in pieces {
        match decoder.feed(piece) {
            Ok(more) => events.extend(more),
            Err(e) => return (events, Some(e)),
        }
    }
    (events, None)
}

/// `stream` cut into the lengths `lengths` gives, in turn, over and over; a length of 0
/// adds an empty piece before a one-byte one.
fn pieces<'a>(stream: &'a [u8], lengths: &'a [u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let len = lengths.get(i % lengths.len().max(1)).copied().unwrap_or(0);
        if len == 0 {
            out.push(&rest[..0]);
        }
        let (head, tail) = rest.split_at(usize::from(len).clamp(1, rest.len()));
        out.push(head);
        rest = tail;
        i += 1;
    }
    out
}

/// What a whole Responses stream turned into: the chat chunks (ids and times set aside),
/// the stream's end, the assembled chat completion and the assembled response.
#[derive(Debug, PartialEq)]
struct Translated {
    chunks: Vec<Value>,
    end: Result<(), StreamError>,
    completion: Result<Value, StreamError>,
    response: Result<Value, StreamError>,
}

/// Runs the translator and both assemblers over `events`, checking the chunks' shape.
fn translate(events: &[SseEvent], options: &ChatStreamOptions) -> Translated {
    let mut translator = ChatStreamTranslator::new(options.clone());
    let mut completion = ChatCompletionAssembler::new(&options.model, options.include_reasoning);
    let mut response = ResponsesAssembler::new();
    let mut chunks = Vec::new();
    let mut end = Ok(());
    for event in events {
        match translator.push_sse(event) {
            Ok(more) => chunks.extend(more),
            Err(e) => {
                assert!(translator.is_ended());
                end = Err(e);
                break;
            }
        }
    }
    if end.is_ok() {
        end = translator.finish().map(|more| assert!(more.is_empty()));
    }
    assert!(translator.push_sse(&events_done()).unwrap().is_empty());
    for event in events {
        if completion.push_sse(event).is_err() {
            break;
        }
    }
    for event in events {
        if response.push_sse(event).is_err() {
            break;
        }
    }
    let completion = completion.finish();
    let response = response.finish();
    assert_eq!(
        end.is_ok(),
        completion.is_ok(),
        "the stream and the whole answer disagree on how it ended"
    );
    if let Ok(c) = &completion {
        assert_eq!(c["object"], "chat.completion");
        assert!(c["choices"][0]["finish_reason"].is_string());
    }
    if let Ok(r) = &response {
        assert!(r["output"].is_array());
    }

    // Every chunk has one id, time and model; at most one finish reason, and exactly one
    // when the stream ended well; tool calls are numbered in order of appearance.
    let mut finishes = 0;
    let mut tools = 0;
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        for key in ["id", "created", "model"] {
            assert_eq!(chunk[key], chunks[0][key], "chunks differ in {key}");
        }
        for choice in chunk["choices"].as_array().expect("choices") {
            if !choice["finish_reason"].is_null() {
                finishes += 1;
            }
            for call in choice["delta"]["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let index = call["index"].as_u64().expect("tool call index");
                if call.get("id").is_some() {
                    assert_eq!(index, tools, "tool calls out of order");
                    tools += 1;
                } else {
                    assert!(index < tools, "arguments for a tool call never announced");
                }
            }
        }
    }
    assert!(finishes <= 1);
    if end.is_ok() {
        assert_eq!(finishes, 1);
    }
    let chunks = chunks
        .into_iter()
        .map(|mut c| {
            c["id"] = Value::Null;
            c["created"] = Value::Null;
            c
        })
        .collect();
    let completion = completion.map(|mut c| {
        c["id"] = Value::Null;
        c["created"] = Value::Null;
        c
    });
    Translated {
        chunks,
        end,
        completion,
        response,
    }
}

fn events_done() -> SseEvent {
    SseEvent {
        data: "[DONE]".into(),
        ..SseEvent::default()
    }
}

/// A Responses event stream as bytes, cut at the points the input says: the decoder gives
/// the same events whole, in those pieces and byte by byte (and fails the same way on an
/// over-long event); the translator and both assemblers never panic and give the same
/// answer for every cut; each decoded event encodes and decodes back to itself.
pub fn sse_stream(data: &[u8]) {
    let input = SseInput::split(data);
    let stream = input.stream;
    let split = pieces(stream, input.chunks);

    let (whole, whole_err) = decode_pieces(SseDecoder::new(), std::iter::once(stream));
    let (cut, cut_err) = decode_pieces(SseDecoder::new(), split.iter().copied());
    assert_eq!(whole_err, None);
    assert_eq!(cut_err, None);
    assert_eq!(whole, cut, "the events depend on where the stream was cut");
    if stream.len() <= 4096 {
        let (bytes, _) = decode_pieces(SseDecoder::new(), stream.chunks(1));
        assert_eq!(whole, bytes, "the events differ when fed byte by byte");
    }

    // A small bound fails on the same streams, wherever they are cut; the events it gave
    // before failing are the first events of the stream.
    let small = || SseDecoder::with_limit(64);
    let (before_whole, small_whole) = decode_pieces(small(), std::iter::once(stream));
    let (before_cut, small_cut) = decode_pieces(small(), split.iter().copied());
    assert_eq!(small_whole.is_some(), small_cut.is_some());
    for before in [&before_whole, &before_cut] {
        assert!(before.len() <= whole.len() && whole[..before.len()] == before[..]);
    }
    if small_whole.is_none() {
        assert_eq!(before_whole, whole);
    }

    for event in &whole {
        assert!(!event.data.contains('\r'));
        let name = event.event.as_deref();
        assert!(!name.is_some_and(|n| n.contains(['\r', '\n'])));
        let encoded = sse::encode_event(name, &event.data);
        let (again, _) = decode_pieces(SseDecoder::new(), std::iter::once(encoded.as_bytes()));
        let expected = SseEvent {
            id: None,
            ..event.clone()
        };
        assert_eq!(again, [expected], "an event does not survive encoding");
    }

    let options = ChatStreamOptions {
        model: "gpt-5.5".into(),
        include_usage: input.include_usage,
        include_reasoning: input.include_reasoning,
    };
    let translated = translate(&whole, &options);
    if split.len() > 1 {
        assert_eq!(translate(&cut, &options), translated);
    }
}

/// A callback query string: [`browser::parse_callback`] never fails, reads back what a
/// form encoder wrote, and a refusal is bounded and escaped on the page that shows it.
pub fn login_callback(data: &[u8]) {
    let query = String::from_utf8_lossy(data);
    let params = browser::parse_callback(&query);
    if let Some(message) = params.denial() {
        assert!(message.chars().count() <= 402, "the refusal is not bounded");
        let html = browser::page("Sign-in failed", &message).0;
        let body = html
            .split_once("<p>")
            .and_then(|(_, rest)| rest.rsplit_once("</p>"))
            .map(|(body, _)| body)
            .expect("the page has a paragraph");
        assert!(
            !body.contains(['<', '>', '"', '\'']),
            "the page does not escape the issuer's message"
        );
    }
    let mut encoder = url::form_urlencoded::Serializer::new(String::new());
    let fields = [
        ("code", &params.code),
        ("state", &params.state),
        ("error", &params.error),
        ("error_description", &params.error_description),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            encoder.append_pair(key, value);
        }
    }
    let back: CallbackParams = browser::parse_callback(&encoder.finish());
    assert_eq!(back, params);
}
