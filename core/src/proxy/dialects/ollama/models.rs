//! The serving profile's models in Ollama's shapes: `/api/tags`, `/api/show`, and the
//! fixed answers of `/api/ps` and `/api/version`.

use crate::proxy::dialects::models::models_to_openai_list;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The Ollama version `/api/version` reports: tools check for a recent Ollama, and every
/// route they need from one is served.
pub const OLLAMA_VERSION: &str = "0.12.6";

/// When every model says it was modified (there are no model files).
const MODIFIED_AT: &str = "2025-01-01T00:00:00Z";

/// One model a profile can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// Its name (the backend's model id).
    pub name: String,
    /// Its context window in tokens, when the backend says.
    pub context_window: Option<u64>,
}

/// The visible models of a ChatGPT backend catalog (`{"models":[{slug, context_window}]}`).
pub fn models_of_catalog(catalog: &Value) -> Vec<ModelInfo> {
    let entries = catalog.get("models").and_then(Value::as_array);
    models_of_openai_list(&models_to_openai_list(catalog))
        .into_iter()
        .map(|mut m| {
            m.context_window = entries
                .and_then(|e| e.iter().find(|c| c["slug"] == m.name.as_str()))
                .and_then(|c| c.get("context_window"))
                .and_then(Value::as_u64);
            m
        })
        .collect()
}

/// The models of OpenAI's model list (`{"data":[{"id"}]}`).
pub fn models_of_openai_list(list: &Value) -> Vec<ModelInfo> {
    list.get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("id").and_then(Value::as_str))
        .map(|id| ModelInfo {
            name: id.to_owned(),
            context_window: None,
        })
        .collect()
}

/// Ollama's `details` of a model: its family, no file format or size.
fn details() -> Value {
    json!({
        "parent_model": "",
        "format": "",
        "family": "gpt",
        "families": ["gpt"],
        "parameter_size": "",
        "quantization_level": "",
    })
}

/// `GET /api/tags`: `{"models":[{name, model, modified_at, size, digest, details}]}`.
pub fn tags(models: &[ModelInfo]) -> Value {
    let models: Vec<Value> = models
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "model": m.name,
                "modified_at": MODIFIED_AT,
                "size": 0,
                "digest": digest(&m.name),
                "details": details(),
            })
        })
        .collect();
    json!({ "models": models })
}

/// `POST /api/show` for `model`: its details, capabilities and context length.
pub fn show(model: &ModelInfo) -> Value {
    let mut info = json!({
        "general.architecture": "gpt",
        "general.basename": model.name,
    });
    if let Some(n) = model.context_window {
        info["gpt.context_length"] = json!(n);
    }
    json!({
        "modelfile": "",
        "parameters": "",
        "template": "",
        "details": details(),
        "model_info": info,
        "capabilities": ["completion", "tools", "thinking", "vision"],
        "modified_at": MODIFIED_AT,
    })
}

/// `GET /api/ps`: no model is loaded in memory here.
pub fn ps() -> Value {
    json!({"models": []})
}

/// `GET /api/version`.
pub fn version() -> Value {
    json!({ "version": OLLAMA_VERSION })
}

/// A stable digest for a model name (Ollama tools tell models apart by it).
fn digest(name: &str) -> String {
    Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_to_tags_and_show() {
        let catalog = json!({"models": [
            {"slug": "gpt-5.5", "visibility": "list", "context_window": 272000},
            {"slug": "hidden", "visibility": "hide"},
            {"slug": "gpt-5.4-mini"}
        ]});
        let models = models_of_catalog(&catalog);
        assert_eq!(models.len(), 2);
        let t = tags(&models);
        assert_eq!(t["models"][0]["name"], "gpt-5.5");
        assert_eq!(t["models"][1]["model"], "gpt-5.4-mini");
        assert_eq!(t["models"][0]["digest"].as_str().unwrap().len(), 64);
        assert_ne!(t["models"][0]["digest"], t["models"][1]["digest"]);
        let s = show(&models[0]);
        assert_eq!(s["model_info"]["gpt.context_length"], 272000);
        assert!(
            s["capabilities"]
                .as_array()
                .unwrap()
                .contains(&json!("tools"))
        );
        assert!(
            show(&models[1])["model_info"]
                .get("gpt.context_length")
                .is_none()
        );
    }
}
