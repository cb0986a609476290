//! Upstream Responses streams shared by the unit tests of the codec and of the dialects.

use super::sse::{SseDecoder, SseEvent};
use serde_json::{Value, json};

/// A text answer as the ChatGPT backend streams it (store:false: empty `output` at the end),
/// with a reasoning summary, a keep-alive comment and multi-byte characters.
pub(crate) const TEXT_STREAM: &str = concat!(
    "event: response.created\n",
    "data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_0a1b2c\",\"object\":\"response\",\"created_at\":1777000000,\"status\":\"in_progress\",\"model\":\"gpt-5.5\",\"output\":[],\"usage\":null}}\n",
    "\n",
    "event: response.in_progress\n",
    "data: {\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"resp_0a1b2c\",\"created_at\":1777000000,\"status\":\"in_progress\",\"model\":\"gpt-5.5\",\"output\":[]}}\n",
    "\n",
    "event: response.output_item.added\n",
    "data: {\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[]}}\n",
    "\n",
    ": keep-alive\n",
    "\n",
    "event: response.reasoning_summary_text.delta\n",
    "data: {\"type\":\"response.reasoning_summary_text.delta\",\"sequence_number\":3,\"item_id\":\"rs_1\",\"output_index\":0,\"summary_index\":0,\"delta\":\"**Greeting** the user\"}\n",
    "\n",
    "event: response.output_item.done\n",
    "data: {\"type\":\"response.output_item.done\",\"sequence_number\":4,\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"**Greeting** the user\"}],\"encrypted_content\":\"gAAAAB\"}}\n",
    "\n",
    "event: response.output_item.added\n",
    "data: {\"type\":\"response.output_item.added\",\"sequence_number\":5,\"output_index\":1,\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}}\n",
    "\n",
    "event: response.content_part.added\n",
    "data: {\"type\":\"response.content_part.added\",\"sequence_number\":6,\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"\"}}\n",
    "\n",
    "event: response.output_text.delta\n",
    "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":7,\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"delta\":\"Hello\"}\n",
    "\n",
    "event: response.output_text.delta\n",
    "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":8,\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"delta\":\", wörld 👋\"}\n",
    "\n",
    "event: response.output_text.done\n",
    "data: {\"type\":\"response.output_text.done\",\"sequence_number\":9,\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"text\":\"Hello, wörld 👋\"}\n",
    "\n",
    "event: response.output_item.done\n",
    "data: {\"type\":\"response.output_item.done\",\"sequence_number\":10,\"output_index\":1,\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"annotations\":[],\"text\":\"Hello, wörld 👋\"}]}}\n",
    "\n",
    "event: response.completed\n",
    "data: {\"type\":\"response.completed\",\"sequence_number\":11,\"response\":{\"id\":\"resp_0a1b2c\",\"object\":\"response\",\"created_at\":1777000000,\"status\":\"completed\",\"model\":\"gpt-5.5\",\"output\":[],\"usage\":{\"input_tokens\":120,\"input_tokens_details\":{\"cached_tokens\":64},\"output_tokens\":30,\"output_tokens_details\":{\"reasoning_tokens\":12},\"total_tokens\":150}}}\n",
    "\n",
);

/// Every event of `bytes`, decoded in one piece.
pub(crate) fn decode_all(bytes: &[u8]) -> Vec<SseEvent> {
    SseDecoder::new().feed(bytes).unwrap()
}

/// The events of `stream`, as JSON.
pub(crate) fn events_of(stream: &str) -> Vec<Value> {
    decode_all(stream.as_bytes())
        .iter()
        .map(|e| e.json().unwrap())
        .collect()
}

/// A response that fails (`context_length_exceeded`) after it started, then claims to complete.
pub(crate) fn failed_stream() -> [Value; 3] {
    [
        json!({"type": "response.created", "response": {"id": "resp_f", "created_at": 5, "model": "gpt-5.5"}}),
        json!({"type": "response.failed", "response": {"id": "resp_f", "status": "failed", "error": {"code": "context_length_exceeded", "message": "Your input exceeds the context window of this model."}}}),
        json!({"type": "response.completed", "response": {"id": "resp_f"}}),
    ]
}

/// Events of the wrong shape, none of which may panic a translator or an assembler.
pub(crate) fn garbage_events() -> [Value; 10] {
    [
        json!(null),
        json!(1),
        json!([]),
        json!({"type": 5}),
        json!({"type": "response.output_text.delta", "delta": 3}),
        json!({"type": "response.output_item.added", "item": "x"}),
        json!({"type": "response.output_item.done", "item": {"type": "function_call"}}),
        json!({"type": "response.function_call_arguments.delta", "item_id": "nope", "delta": "x"}),
        json!({"type": "response.created", "response": "not an object"}),
        json!({"type": "response.completed", "response": [1, 2]}),
    ]
}
