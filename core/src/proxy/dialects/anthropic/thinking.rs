//! A `thinking` block's `signature`: the reasoning item's encrypted content behind a marker,
//! so the next turn restores the reasoning item for the account that made it. A signature
//! without the marker (Anthropic's own, another proxy's) carries nothing to restore and its
//! block is dropped; encrypted reasoning of another account is dropped by the route when the
//! backend refuses it.

use serde_json::{Value, json};

/// What starts a signature this endpoint wrote.
const MARKER: &str = "codex-router.reasoning.v1:";

/// The signature for a reasoning item's `encrypted_content`.
pub(super) fn signature_for(encrypted_content: &str) -> String {
    format!("{MARKER}{encrypted_content}")
}

/// The reasoning item a thinking block (`thinking` text and `signature`) stands for, when its
/// signature is one of ours.
pub(super) fn restored_reasoning(thinking: &str, signature: &str) -> Option<Value> {
    let encrypted = signature.strip_prefix(MARKER).filter(|e| !e.is_empty())?;
    let summary = if thinking.is_empty() {
        json!([])
    } else {
        json!([{"type": "summary_text", "text": thinking}])
    };
    Some(json!({
        "type": "reasoning",
        "summary": summary,
        "encrypted_content": encrypted,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_signatures_restore_reasoning_others_do_not() {
        let sig = signature_for("gAAAAB-enc");
        assert_eq!(
            restored_reasoning("Thinking about it", &sig),
            Some(json!({"type": "reasoning",
                        "summary": [{"type": "summary_text", "text": "Thinking about it"}],
                        "encrypted_content": "gAAAAB-enc"}))
        );
        assert_eq!(restored_reasoning("", &sig).unwrap()["summary"], json!([]));
        assert_eq!(restored_reasoning("x", "EqQBCkgIARABGAIiQL"), None);
        assert_eq!(restored_reasoning("x", MARKER), None);
        assert_eq!(restored_reasoning("x", ""), None);
    }
}
