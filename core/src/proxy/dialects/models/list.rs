//! The backend's model catalog as OpenAI's model list, for every OpenAI-compatible dialect.

use serde_json::{Value, json};

/// Maps a Codex model catalog (`{"models":[{slug, display_name, visibility, …}]}`) to
/// OpenAI's model list (`{"object":"list","data":[{"id","object":"model","created":0,"owned_by":"openai"}]}`).
/// Hidden models (`visibility:"hide"`) and entries without a `slug` are skipped; anything
/// that is not a catalog gives an empty list.
pub fn models_to_openai_list(catalog: &Value) -> Value {
    let data: Vec<Value> = catalog
        .get("models")
        .and_then(Value::as_array)
        .map(|models| {
            models
                .iter()
                .filter(|m| m.get("visibility").and_then(Value::as_str) != Some("hide"))
                .filter_map(|m| m.get("slug").and_then(Value::as_str))
                .map(|slug| {
                    json!({
                        "id": slug,
                        "object": "model",
                        "created": 0,
                        "owned_by": "openai",
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({"object": "list", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_catalog_to_openai_list() {
        let catalog = json!({"models": [
            {"slug": "gpt-5.5", "display_name": "GPT-5.5", "visibility": "list", "priority": 0},
            {"slug": "codex-auto-review", "display_name": "Auto review", "visibility": "hide"},
            {"slug": "gpt-5.4-mini", "display_name": "GPT-5.4 mini"},
            {"display_name": "no slug"}
        ]});
        assert_eq!(
            models_to_openai_list(&catalog),
            json!({"object": "list", "data": [
                {"id": "gpt-5.5", "object": "model", "created": 0, "owned_by": "openai"},
                {"id": "gpt-5.4-mini", "object": "model", "created": 0, "owned_by": "openai"}
            ]})
        );
        assert_eq!(
            models_to_openai_list(&json!(null)),
            json!({"object": "list", "data": []})
        );
    }
}
