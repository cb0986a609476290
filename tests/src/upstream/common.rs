//! Small helpers the handlers share: error bodies, bearer checks, body parsing.

use super::state::{AccessRecord, Shared};
use super::types::RateLimits;
use crate::home::now;
use crate::jwt::Identity;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A JSON answer with `status`.
pub(crate) fn json_response(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

/// OpenAI's error shape: `{"error":{"message","type","param","code"}}`.
pub(crate) fn openai_error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Response {
    json_response(
        status,
        json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    )
}

/// The ChatGPT backend's FastAPI-style `{"detail": …}` error.
pub(crate) fn detail_error(status: u16, detail: &str) -> Response {
    json_response(status, json!({ "detail": detail }))
}

/// The bearer token of a request.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// A header value as a string.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks a ChatGPT access token; `Ok((identity, token))` when it is one this issuer handed
/// out, unrevoked and unexpired.
pub(crate) fn check_access(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<(Identity, String), Response> {
    let Some(token) = bearer(headers) else {
        return Err(openai_error(
            401,
            "Missing bearer or basic authentication in header",
            "invalid_request_error",
            None,
        ));
    };
    let st = shared.lock();
    match st.access.get(&token) {
        Some(AccessRecord { revoked: true, .. }) | None => Err(openai_error(
            401,
            "Your authentication token has been invalidated. Please try signing in again.",
            "invalid_request_error",
            Some("token_invalidated"),
        )),
        Some(rec) if rec.exp <= now() => Err(openai_error(
            401,
            "Provided authentication token is expired. Please try signing in again.",
            "invalid_request_error",
            Some("token_expired"),
        )),
        Some(rec) => Ok((rec.who.clone(), token)),
    }
}

/// Checks `ChatGPT-Account-Id` against the token's account.
pub(crate) fn check_account(headers: &HeaderMap, who: &Identity) -> Result<(), Response> {
    match header_str(headers, "chatgpt-account-id") {
        None => Err(detail_error(
            403,
            "Missing ChatGPT-Account-Id header. Please try signing in again.",
        )),
        Some(a) if a != who.account_id => Err(detail_error(
            403,
            "You do not have access to this workspace (ChatGPT-Account-Id does not match your token).",
        )),
        Some(_) => Ok(()),
    }
}

/// Checks an OpenAI API key.
pub(crate) fn check_api_key(shared: &Shared, headers: &HeaderMap) -> Result<String, Response> {
    let token = bearer(headers).unwrap_or_default();
    if shared.lock().api_keys.contains(&token) {
        return Ok(token);
    }
    if token.is_empty() {
        return Err(openai_error(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error",
            None,
        ));
    }
    let masked = if token.len() > 8 {
        format!("{}…{}", &token[..3], &token[token.len() - 4..])
    } else {
        "***".to_owned()
    };
    Err(openai_error(
        401,
        &format!(
            "Incorrect API key provided: {masked}. You can find your API key at https://platform.openai.com/account/api-keys."
        ),
        "invalid_request_error",
        Some("invalid_api_key"),
    ))
}

/// Rejects bodies in a content encoding the fake cannot read.
pub(crate) fn check_encoding(headers: &HeaderMap) -> Result<(), Response> {
    match header_str(headers, "content-encoding") {
        None | Some("identity") => Ok(()),
        Some(other) => Err(detail_error(
            415,
            &format!("fake-upstream cannot decode Content-Encoding: {other}"),
        )),
    }
}

/// Request parameters from a form or JSON body (strings only).
pub(crate) fn params(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let is_json = header_str(headers, "content-type").is_some_and(|c| c.contains("json"));
    if is_json {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Vec::new();
        };
        map.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect()
    } else {
        url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// The value of `name` in `pairs`.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The effective limits for a caller, with a usage-limit override applied.
pub(crate) fn effective_limits(shared: &Shared, keys: &[&str]) -> (RateLimits, Option<i64>) {
    let st = shared.lock();
    let mut limits = st.limits_for(keys);
    let limited = st.limited_until(keys);
    if let Some(resets_at) = limited {
        limits.primary.used_percent = 100.0;
        limits.primary.reset_at = resets_at;
    }
    (limits, limited)
}

/// Adds the `x-codex-*` rate-limit headers.
pub(crate) fn add_rate_limit_headers(headers: &mut HeaderMap, limits: &RateLimits, plan: &str) {
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    let now = now();
    put(
        "x-codex-primary-used-percent",
        fmt_pct(limits.primary.used_percent),
    );
    put(
        "x-codex-primary-window-minutes",
        limits.primary.window_minutes.to_string(),
    );
    put(
        "x-codex-primary-reset-at",
        limits.primary.reset_at.to_string(),
    );
    put(
        "x-codex-primary-reset-after-seconds",
        (limits.primary.reset_at - now).max(0).to_string(),
    );
    if let Some(s) = &limits.secondary {
        put("x-codex-secondary-used-percent", fmt_pct(s.used_percent));
        put(
            "x-codex-secondary-window-minutes",
            s.window_minutes.to_string(),
        );
        put("x-codex-secondary-reset-at", s.reset_at.to_string());
        put(
            "x-codex-secondary-reset-after-seconds",
            (s.reset_at - now).max(0).to_string(),
        );
    }
    put(
        "x-codex-credits-has-credits",
        if limits.has_credits { "True" } else { "False" }.to_owned(),
    );
    put(
        "x-codex-credits-unlimited",
        if limits.unlimited { "True" } else { "False" }.to_owned(),
    );
    if let Some(b) = &limits.balance {
        put("x-codex-credits-balance", b.clone());
    }
    put("x-codex-plan-type", plan.to_owned());
    put("x-codex-active-limit", "codex".to_owned());
}

/// Percentages as Codex sees them live: integers without a fraction when whole.
pub(crate) fn fmt_pct(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{}", p as i64)
    } else {
        format!("{p}")
    }
}

/// The §6 usage-limit 429.
pub(crate) fn usage_limit_response(plan: &str, resets_at: i64) -> Response {
    json_response(
        429,
        json!({"error": {
            "type": "usage_limit_reached",
            "message": "The usage limit has been reached",
            "plan_type": plan,
            "resets_at": resets_at,
            "eligible_promo": null,
            "resets_in_seconds": (resets_at - now()).max(0),
        }}),
    )
}
