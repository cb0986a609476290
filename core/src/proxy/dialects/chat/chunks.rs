//! The envelope of a chat answer's chunks: the same `id` (`chatcmpl-` + the response id
//! without `resp_`), `created` and `model` on every chunk, the assistant role on the first,
//! and the usage, in Chat Completions' shape.

use serde_json::{Value, json};

/// Writes the chunks of one answer.
#[derive(Debug)]
pub(super) struct Chunks {
    /// The model the client asked for; used until (unless) the upstream names its own.
    model: String,
    /// `usage: null` on every chunk, and a final usage chunk.
    include_usage: bool,
    response_id: Option<String>,
    created_at: Option<i64>,
    upstream_model: Option<String>,
    header: Option<(String, i64, String)>,
    role_sent: bool,
}

impl Chunks {
    /// The chunks of an answer to a request of `model`.
    pub(super) fn new(model: String, include_usage: bool) -> Self {
        Self {
            model,
            include_usage,
            response_id: None,
            created_at: None,
            upstream_model: None,
            header: None,
            role_sent: false,
        }
    }

    /// Notes the response's id, creation time and model, the first time each is known.
    pub(super) fn note_response(&mut self, response: Option<&Value>) {
        let Some(r) = response else { return };
        if self.response_id.is_none() {
            self.response_id = r.get("id").and_then(Value::as_str).map(str::to_owned);
        }
        if self.created_at.is_none() {
            self.created_at = r.get("created_at").and_then(Value::as_i64);
        }
        if self.upstream_model.is_none() {
            self.upstream_model = r
                .get("model")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
                .map(str::to_owned);
        }
    }

    /// `id`, `created` and `model`, fixed at the first chunk.
    fn header(&mut self) -> (String, i64, String) {
        if let Some(h) = &self.header {
            return h.clone();
        }
        let now = chrono::Utc::now();
        let id = match &self.response_id {
            Some(r) => format!("chatcmpl-{}", r.strip_prefix("resp_").unwrap_or(r)),
            None => format!(
                "chatcmpl-{:x}",
                now.timestamp_nanos_opt().unwrap_or_default()
            ),
        };
        let created = self.created_at.unwrap_or_else(|| now.timestamp());
        let model = self
            .upstream_model
            .clone()
            .unwrap_or_else(|| self.model.clone());
        let h = (id, created, model);
        self.header = Some(h.clone());
        h
    }

    /// A chunk with the envelope and no choices.
    fn base(&mut self) -> Value {
        let (id, created, model) = self.header();
        let mut chunk = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
        });
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk
    }

    /// The first chunk, with the assistant role, unless it was sent.
    pub(super) fn ensure_role(&mut self, out: &mut Vec<Value>) {
        if !self.role_sent {
            self.role_sent = true;
            let mut chunk = self.base();
            chunk["choices"] = json!([{
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": null,
                "finish_reason": null,
            }]);
            out.push(chunk);
        }
    }

    /// A chunk with `delta` (and `finish_reason`), after the role chunk.
    pub(super) fn emit(&mut self, out: &mut Vec<Value>, delta: Value, finish: Option<&str>) {
        self.ensure_role(out);
        let mut chunk = self.base();
        chunk["choices"] = json!([{
            "index": 0,
            "delta": delta,
            "logprobs": null,
            "finish_reason": finish,
        }]);
        out.push(chunk);
    }

    /// The final usage chunk (`choices: []`), when the client asked for it.
    pub(super) fn usage(&mut self, usage: Option<&Value>) -> Option<Value> {
        if !self.include_usage {
            return None;
        }
        let mut chunk = self.base();
        chunk["choices"] = json!([]);
        chunk["usage"] = chat_usage(usage);
        Some(chunk)
    }
}

/// Responses `usage` → Chat Completions `usage`.
pub(super) fn chat_usage(usage: Option<&Value>) -> Value {
    let get = |ptr: &str| {
        usage
            .and_then(|u| u.pointer(ptr))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let prompt = get("/input_tokens");
    let completion = get("/output_tokens");
    let total = usage
        .and_then(|u| u.get("total_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(prompt.saturating_add(completion));
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "prompt_tokens_details": {"cached_tokens": get("/input_tokens_details/cached_tokens")},
        "completion_tokens_details": {"reasoning_tokens": get("/output_tokens_details/reasoning_tokens")},
    })
}

#[cfg(test)]
mod tests {
    use crate::proxy::dialects::chat::fixtures::{deltas, finish_reasons, opts, translate};
    use crate::proxy::fixtures::{TEXT_STREAM, events_of};
    use serde_json::{Value, json};

    #[test]
    fn text_stream_to_chunks() {
        let (chunks, end) = translate(&events_of(TEXT_STREAM), opts(true, false));
        end.unwrap();
        for c in &chunks {
            assert_eq!(c["id"], "chatcmpl-0a1b2c");
            assert_eq!(c["object"], "chat.completion.chunk");
            assert_eq!(c["created"], 1777000000);
            assert_eq!(c["model"], "gpt-5.5");
        }
        assert_eq!(
            deltas(&chunks),
            [
                json!({"role": "assistant", "content": ""}),
                json!({"content": "Hello"}),
                json!({"content": ", wörld 👋"}),
                json!({}),
            ]
        );
        assert_eq!(finish_reasons(&chunks), [json!("stop")]);
        // All but the last carry usage:null; the last is the usage chunk.
        let (last, rest) = chunks.split_last().unwrap();
        assert!(rest.iter().all(|c| c.get("usage") == Some(&Value::Null)));
        assert_eq!(
            *last,
            json!({
                "id": "chatcmpl-0a1b2c", "object": "chat.completion.chunk",
                "created": 1777000000, "model": "gpt-5.5", "choices": [],
                "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
                          "prompt_tokens_details": {"cached_tokens": 64},
                          "completion_tokens_details": {"reasoning_tokens": 12}}
            })
        );
        assert_eq!(
            chunks[1],
            json!({
                "id": "chatcmpl-0a1b2c", "object": "chat.completion.chunk",
                "created": 1777000000, "model": "gpt-5.5",
                "choices": [{"index": 0, "delta": {"content": "Hello"},
                             "logprobs": null, "finish_reason": null}],
                "usage": null
            })
        );
    }
}
