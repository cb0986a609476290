//! The output items of a Responses stream told apart, and the function calls among them.
//!
//! The stream names an item by its id, its output index or both, depending on the event.

use serde_json::{Value, json};
use std::collections::HashMap;

/// Identifies an output item by its id and/or its output index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ItemRef {
    /// The item's id.
    pub(super) id: Option<String>,
    /// The item's output index.
    pub(super) index: Option<u64>,
}

impl ItemRef {
    /// From an event's `item_id` / `output_index`.
    pub(super) fn of_event(event: &Value) -> Self {
        Self {
            id: event
                .get("item_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            index: event.get("output_index").and_then(Value::as_u64),
        }
    }

    /// From an item's `id` and the event's (or array's) output index.
    pub(super) fn of_item(item: &Value, index: Option<u64>) -> Self {
        Self {
            id: item.get("id").and_then(Value::as_str).map(str::to_owned),
            index,
        }
    }
}

/// Output items seen so far, each at a position (the order they were added in). Two
/// references match when both have ids and the ids are equal, or else when they have the
/// same output index. Lookups take constant time: a scan per event made a stream of many
/// distinct items quadratic.
#[derive(Debug, Default)]
pub(super) struct ItemSet {
    len: usize,
    /// The first position of each id.
    ids: HashMap<String, usize>,
    /// The first position of each output index.
    indices: HashMap<u64, usize>,
    /// The first position of each output index among the items without an id.
    indices_without_id: HashMap<u64, usize>,
}

impl ItemSet {
    /// Adds an item; returns its position.
    pub(super) fn insert(&mut self, r: &ItemRef) -> usize {
        let position = self.len;
        self.len += 1;
        if let Some(id) = &r.id {
            self.ids.entry(id.clone()).or_insert(position);
        }
        if let Some(index) = r.index {
            self.indices.entry(index).or_insert(position);
            if r.id.is_none() {
                self.indices_without_id.entry(index).or_insert(position);
            }
        }
        position
    }

    /// The first position of an item that matches `r`.
    pub(super) fn find(&self, r: &ItemRef) -> Option<usize> {
        let index = |map: &HashMap<u64, usize>| r.index.and_then(|i| map.get(&i).copied());
        match &r.id {
            Some(id) => {
                let by_id = self.ids.get(id).copied();
                let by_index = index(&self.indices_without_id);
                by_id.into_iter().chain(by_index).min()
            }
            None => index(&self.indices),
        }
    }

    /// Whether an item that matches `r` was added.
    pub(super) fn contains(&self, r: &ItemRef) -> bool {
        self.find(r).is_some()
    }
}

/// The function calls announced so far, by position (their `tool_calls` index).
#[derive(Debug, Default)]
pub(super) struct ToolCalls {
    items: ItemSet,
    /// The first position of each call id.
    call_ids: HashMap<String, usize>,
    /// The arguments sent so far, by position.
    arguments: Vec<String>,
}

impl ToolCalls {
    /// True until a function call was announced.
    pub(super) fn is_empty(&self) -> bool {
        self.arguments.is_empty()
    }

    /// The position of the call `item` (referenced by `r`), matched as an item or by its
    /// `call_id`.
    pub(super) fn find(&self, r: &ItemRef, item: &Value) -> Option<usize> {
        let by_call_id = item
            .get("call_id")
            .and_then(Value::as_str)
            .and_then(|c| self.call_ids.get(c).copied());
        self.items.find(r).into_iter().chain(by_call_id).min()
    }

    /// Announces a new function call: its first `tool_calls` delta.
    pub(super) fn start(&mut self, r: &ItemRef, item: &Value) -> Value {
        let index = self.arguments.len();
        let call_id = item
            .get("call_id")
            .and_then(Value::as_str)
            .or(r.id.as_deref())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("call_{index}"));
        let name = item.get("name").and_then(Value::as_str).unwrap_or("");
        let arguments = item
            .get("arguments")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let d = json!({"tool_calls": [{
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }]});
        self.items.insert(r);
        self.call_ids.entry(call_id).or_insert(index);
        self.arguments.push(arguments);
        d
    }

    /// A piece of the arguments of the call at `r`: its delta, unless the call is unknown.
    pub(super) fn arguments(&mut self, r: &ItemRef, delta: &str) -> Option<Value> {
        let i = self.items.find(r)?;
        self.arguments[i].push_str(delta);
        Some(json!({"tool_calls": [{"index": i, "function": {"arguments": delta}}]}))
    }

    /// A finished function call item: the delta of what its events did not send, if
    /// anything (the whole call when it was never announced).
    pub(super) fn done(&mut self, r: &ItemRef, item: &Value) -> Option<Value> {
        let Some(i) = self.find(r, item) else {
            return Some(self.start(r, item));
        };
        let full = item.get("arguments").and_then(Value::as_str).unwrap_or("");
        let rest = full
            .strip_prefix(self.arguments[i].as_str())
            .filter(|rest| !rest.is_empty())?
            .to_owned();
        self.arguments[i].push_str(&rest);
        Some(json!({"tool_calls": [{"index": i, "function": {"arguments": rest}}]}))
    }
}

#[cfg(test)]
mod tests {
    use crate::proxy::dialects::chat::ChatStreamTranslator;
    use crate::proxy::dialects::chat::fixtures::{
        deltas, finish_reasons, opts, translate, two_calls_stream,
    };
    use serde_json::{Value, json};

    #[test]
    fn two_function_calls_to_tool_call_deltas() {
        let (chunks, end) = translate(&two_calls_stream(), opts(false, false));
        end.unwrap();
        assert_eq!(
            deltas(&chunks),
            [
                json!({"role": "assistant", "content": ""}),
                json!({"tool_calls": [{"index": 0, "id": "call_AAA", "type": "function",
                                       "function": {"name": "get_weather", "arguments": ""}}]}),
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"ci"}}]}),
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "ty\":\"Pa"}}]}),
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "ris\"}"}}]}),
                json!({"tool_calls": [{"index": 1, "id": "call_BBB", "type": "function",
                                       "function": {"name": "get_time", "arguments": ""}}]}),
                json!({"tool_calls": [{"index": 1, "function": {"arguments": "{\"tz\":"}}]}),
                json!({"tool_calls": [{"index": 1, "function": {"arguments": "\"CET\"}"}}]}),
                json!({}),
            ]
        );
        assert_eq!(finish_reasons(&chunks), [json!("tool_calls")]);
        assert!(chunks.iter().all(|c| c["id"] == "chatcmpl-tools"));
    }

    #[test]
    fn function_call_known_only_from_done_item() {
        let events = [
            json!({"type": "response.created", "response": {"id": "resp_x", "created_at": 1, "model": "m"}}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "fc_9", "type": "function_call", "name": "f", "call_id": "call_9", "arguments": "{}"}}),
            json!({"type": "response.completed", "response": {"id": "resp_x", "output": []}}),
        ];
        let (chunks, end) = translate(&events, opts(false, false));
        end.unwrap();
        assert_eq!(
            deltas(&chunks)[1],
            json!({"tool_calls": [{"index": 0, "id": "call_9", "type": "function",
                                   "function": {"name": "f", "arguments": "{}"}}]})
        );
        assert_eq!(finish_reasons(&chunks), [json!("tool_calls")]);
    }

    #[test]
    fn items_match_by_id_else_by_output_index() {
        let mut t = ChatStreamTranslator::new(opts(false, false));
        let mut deltas_of = |event: Value| deltas(&t.push(&event).unwrap());
        // A call known by its index only, then its done item with an id: the same call.
        deltas_of(
            json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "function_call", "call_id": "c0", "name": "f"}}),
        );
        assert_eq!(
            deltas_of(
                json!({"type": "response.function_call_arguments.delta", "item_id": "fc_0", "output_index": 0, "delta": "{"})
            ),
            [json!({"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]})]
        );
        // A different id at the same index is another call once ids are known on both.
        deltas_of(
            json!({"type": "response.output_item.added", "output_index": 1, "item": {"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "g"}}),
        );
        assert!(deltas_of(json!({"type": "response.function_call_arguments.delta", "item_id": "fc_x", "output_index": 1, "delta": "?"})).is_empty());
        // Known by call id alone.
        assert_eq!(
            deltas_of(
                json!({"type": "response.output_item.done", "item": {"type": "function_call", "call_id": "c1", "arguments": "{}"}})
            ),
            [json!({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]})]
        );
        // Text streamed for an item without id is not sent again by its done item.
        deltas_of(json!({"type": "response.output_text.delta", "output_index": 2, "delta": "hi"}));
        assert!(deltas_of(json!({"type": "response.output_item.done", "output_index": 2, "item": {"id": "msg", "type": "message", "content": [{"type": "output_text", "text": "hi"}]}})).is_empty());
    }

    #[test]
    fn many_distinct_items_take_linear_time() {
        // Regression: every event scanned every item seen before, so a stream of many
        // distinct items took minutes of CPU (this one over a minute; now well under 10 s).
        let started = std::time::Instant::now();
        let mut t = ChatStreamTranslator::new(opts(false, false));
        let mut push = |event: Value| t.push(&event).unwrap();
        push(json!({"type": "response.created", "response": {"id": "resp_many"}}));
        for i in 0..10_000 {
            push(
                json!({"type": "response.output_item.added", "output_index": i, "item": {"id": format!("fc{i}"), "type": "function_call", "call_id": format!("c{i}"), "name": "f"}}),
            );
            push(
                json!({"type": "response.output_item.done", "item": {"id": format!("r{i}"), "type": "reasoning"}}),
            );
        }
        for i in 0..100_000 {
            push(
                json!({"type": "response.output_text.delta", "item_id": format!("m{i}"), "delta": ""}),
            );
            push(
                json!({"type": "response.function_call_arguments.delta", "item_id": format!("x{i}"), "delta": "{}"}),
            );
        }
        let end = push(json!({"type": "response.completed", "response": {"id": "resp_many"}}));
        assert_eq!(finish_reasons(&end), [json!("tool_calls")]);
        let elapsed = started.elapsed();
        assert!(elapsed.as_secs() < 10, "took {elapsed:?}");
    }
}
