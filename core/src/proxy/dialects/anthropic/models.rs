//! The model list in Anthropic's shape (`GET /v1/models` with `anthropic-version`): the
//! Claude models `anthropic.models` maps, each naming the Codex model that serves it.

use crate::settings::AnthropicSettings;
use serde_json::{Value, json};

/// A Claude model id for each family that `anthropic.models` maps by family.
const FAMILY_MODELS: &[(&str, &str, &str)] = &[
    ("opus", "claude-opus-4-7", "Claude Opus 4.7"),
    ("sonnet", "claude-sonnet-4-6", "Claude Sonnet 4.6"),
    ("haiku", "claude-haiku-4-5", "Claude Haiku 4.5"),
];

/// Anthropic's model list: `{"data":[{"type":"model","id","display_name","created_at"}],
/// "has_more":false,"first_id","last_id"}`.
pub fn model_list(settings: &AnthropicSettings) -> Value {
    let mut data = Vec::new();
    for (key, target) in &settings.models {
        let (id, name) = match FAMILY_MODELS.iter().find(|(f, _, _)| f == key) {
            Some((_, id, name)) => ((*id).to_owned(), (*name).to_owned()),
            None if key.starts_with("claude-") => (key.clone(), key.clone()),
            None => continue, // another family: no one model to name
        };
        data.push(json!({
            "type": "model",
            "id": id,
            "display_name": format!("{name} (served by {})", target.model),
            "created_at": "2025-01-01T00:00:00Z",
        }));
    }
    let first = data.first().map(|m| m["id"].clone()).unwrap_or(Value::Null);
    let last = data.last().map(|m| m["id"].clone()).unwrap_or(Value::Null);
    json!({"data": data, "has_more": false, "first_id": first, "last_id": last})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_mapped_claude_models() {
        let list = model_list(&AnthropicSettings::default());
        let ids: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["claude-haiku-4-5", "claude-opus-4-7", "claude-sonnet-4-6"]
        );
        assert_eq!(
            list["data"][1]["display_name"],
            "Claude Opus 4.7 (served by gpt-5.5)"
        );
        assert_eq!(list["first_id"], "claude-haiku-4-5");
        assert_eq!(list["has_more"], false);
    }
}
