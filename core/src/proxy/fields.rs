//! Reading a client's JSON body field by field, for every request translation and for the
//! backend's quirks alike: each refusal is a [`TranslateError`] naming the offending field
//! with a JSON-path-like string such as `messages[2].content[0].text`.

use super::errors::TranslateError;
use serde_json::{Map, Value};

/// A required field is absent (or null).
pub(super) fn missing(field: impl Into<String>) -> TranslateError {
    TranslateError::Missing {
        field: field.into(),
    }
}

/// A field has the wrong JSON type; `expected` says what it should be, e.g. "an array".
pub(super) fn wrong_type(field: impl Into<String>, expected: &'static str) -> TranslateError {
    TranslateError::WrongType {
        field: field.into(),
        expected,
    }
}

/// A field has the right type but a value that cannot be translated.
pub(super) fn invalid(field: impl Into<String>, message: impl Into<String>) -> TranslateError {
    TranslateError::InvalidValue {
        field: field.into(),
        message: message.into(),
    }
}

/// `obj[key]` unless absent or null.
pub(super) fn non_null<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// Text of a content that may only hold text: a string, or an array of `text` (or `refusal`)
/// parts, concatenated.
pub(super) fn text_content(content: &Value, path: &str) -> Result<String, TranslateError> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => {
            let mut out = String::new();
            for (i, part) in parts.iter().enumerate() {
                let part_path = format!("{path}[{i}]");
                let (kind, obj) = part_kind(part, &part_path)?;
                let key = match kind {
                    "text" | "input_text" | "output_text" => "text",
                    "refusal" => "refusal",
                    other => {
                        return Err(invalid(
                            format!("{part_path}.type"),
                            format!("content part type '{other}' is not allowed here; only text"),
                        ));
                    }
                };
                out.push_str(required_str(obj, key, &part_path)?);
            }
            Ok(out)
        }
        _ => Err(wrong_type(path, "a string or an array of content parts")),
    }
}

/// A content part's `type` and its object.
pub(super) fn part_kind<'a>(
    part: &'a Value,
    path: &str,
) -> Result<(&'a str, &'a Map<String, Value>), TranslateError> {
    let obj = part
        .as_object()
        .ok_or_else(|| wrong_type(path, "a content part object"))?;
    match obj.get("type") {
        None | Some(Value::Null) => Err(missing(format!("{path}.type"))),
        Some(Value::String(t)) => Ok((t.as_str(), obj)),
        Some(_) => Err(wrong_type(format!("{path}.type"), "a string")),
    }
}

/// `obj[key]` as a string, required.
pub(super) fn required_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, TranslateError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(missing(format!("{path}.{key}"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(wrong_type(format!("{path}.{key}"), "a string")),
    }
}
