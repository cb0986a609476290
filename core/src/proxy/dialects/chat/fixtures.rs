//! Helpers and streams for the unit tests of the chat stream translation and assembly.

use super::stream::{ChatStreamOptions, ChatStreamTranslator};
use crate::proxy::errors::StreamError;
use serde_json::{Value, json};

/// Options for a request of `gpt-5.5-requested`.
pub(super) fn opts(include_usage: bool, include_reasoning: bool) -> ChatStreamOptions {
    ChatStreamOptions {
        model: "gpt-5.5-requested".into(),
        include_usage,
        include_reasoning,
    }
}

/// All chunks for `events`, plus the result of `finish`.
pub(super) fn translate(
    events: &[Value],
    o: ChatStreamOptions,
) -> (Vec<Value>, Result<(), StreamError>) {
    let mut t = ChatStreamTranslator::new(o);
    let mut chunks = Vec::new();
    for e in events {
        match t.push(e) {
            Ok(c) => chunks.extend(c),
            Err(err) => return (chunks, Err(err)),
        }
    }
    match t.finish() {
        Ok(c) => {
            chunks.extend(c);
            (chunks, Ok(()))
        }
        Err(err) => (chunks, Err(err)),
    }
}

/// The `delta` of each chunk that has a choice.
pub(super) fn deltas(chunks: &[Value]) -> Vec<Value> {
    chunks
        .iter()
        .filter_map(|c| c["choices"].get(0).map(|ch| ch["delta"].clone()))
        .collect()
}

/// The non-null `finish_reason`s of the chunks.
pub(super) fn finish_reasons(chunks: &[Value]) -> Vec<Value> {
    chunks
        .iter()
        .filter_map(|c| c["choices"].get(0))
        .map(|ch| ch["finish_reason"].clone())
        .filter(|f| !f.is_null())
        .collect()
}

/// Two function calls, the second one's last argument fragment only in its done item.
pub(super) fn two_calls_stream() -> Vec<Value> {
    vec![
        json!({"type": "response.created", "response": {"id": "resp_tools", "created_at": 1777000100, "model": "gpt-5.5", "status": "in_progress", "output": []}}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "fc_1", "type": "function_call", "status": "in_progress", "name": "get_weather", "call_id": "call_AAA", "arguments": ""}}),
        json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "{\"ci"}),
        json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "ty\":\"Pa"}),
        json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": "ris\"}"}),
        json!({"type": "response.function_call_arguments.done", "item_id": "fc_1", "output_index": 0, "arguments": "{\"city\":\"Paris\"}"}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "fc_1", "type": "function_call", "status": "completed", "name": "get_weather", "call_id": "call_AAA", "arguments": "{\"city\":\"Paris\"}"}}),
        json!({"type": "response.output_item.added", "output_index": 1, "item": {"id": "fc_2", "type": "function_call", "status": "in_progress", "name": "get_time", "call_id": "call_BBB", "arguments": ""}}),
        json!({"type": "response.function_call_arguments.delta", "item_id": "fc_2", "output_index": 1, "delta": "{\"tz\":"}),
        // The last fragment never arrives as a delta; the done item carries it.
        json!({"type": "response.output_item.done", "output_index": 1, "item": {"id": "fc_2", "type": "function_call", "status": "completed", "name": "get_time", "call_id": "call_BBB", "arguments": "{\"tz\":\"CET\"}"}}),
        json!({"type": "response.completed", "response": {"id": "resp_tools", "created_at": 1777000100, "model": "gpt-5.5", "status": "completed", "output": [], "usage": {"input_tokens": 50, "output_tokens": 20, "total_tokens": 70, "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}}}),
    ]
}

/// A text answer cut at `max_output_tokens` (`response.incomplete`).
pub(super) fn incomplete_stream() -> [Value; 4] {
    [
        json!({"type": "response.created", "response": {"id": "resp_len", "created_at": 5, "model": "gpt-5.4"}}),
        json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Once upon a"}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "msg_1", "type": "message", "role": "assistant", "status": "incomplete", "content": [{"type": "output_text", "text": "Once upon a"}]}}),
        json!({"type": "response.incomplete", "response": {"id": "resp_len", "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "output": [], "usage": {"input_tokens": 10, "output_tokens": 16, "total_tokens": 26}}}),
    ]
}
