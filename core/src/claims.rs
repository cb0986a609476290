//! JWT payload decoding (no signature check, as Codex does): email, plan, account id,
//! user id and expiry.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// The namespace OpenAI puts its own claims under.
const AUTH_NAMESPACE: &str = "https://api.openai.com/auth";
/// The namespace that holds the fallback `email` claim.
const PROFILE_NAMESPACE: &str = "https://api.openai.com/profile";
/// Tokens larger than this are refused before decoding.
const MAX_JWT_LEN: usize = 64 * 1024;

/// Why a JWT could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClaimsError {
    /// Not three dot-separated parts.
    #[error("token is not a JWT (expected three dot-separated parts)")]
    NotAJwt,
    /// Larger than any real token.
    #[error("token is too large to be a JWT")]
    TooLarge,
    /// The payload is not base64url.
    #[error("token payload is not base64url")]
    BadBase64,
    /// The payload is not a JSON object.
    #[error("token payload is not a JSON object")]
    BadJson,
}

/// The claims Codex reads from a token (id token or access token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// `email`, else `https://api.openai.com/profile`.`email`.
    pub email: Option<String>,
    /// `chatgpt_plan_type` in the auth namespace, lowercase as sent.
    pub plan: Option<String>,
    /// `chatgpt_user_id`, else `user_id`, in the auth namespace.
    pub user_id: Option<String>,
    /// `chatgpt_account_id` in the auth namespace.
    pub account_id: Option<String>,
    /// The standard `exp` claim.
    pub expires_at: Option<DateTime<Utc>>,
    /// The standard `iat` claim.
    pub issued_at: Option<DateTime<Utc>>,
}

/// Decodes the payload of a JWT without checking its signature.
pub fn decode(jwt: &str) -> Result<Claims, ClaimsError> {
    if jwt.len() > MAX_JWT_LEN {
        return Err(ClaimsError::TooLarge);
    }
    let mut parts = jwt.split('.');
    let (Some(_header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ClaimsError::NotAJwt);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| ClaimsError::BadBase64)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| ClaimsError::BadJson)?;
    let obj = value.as_object().ok_or(ClaimsError::BadJson)?;
    let auth = obj.get(AUTH_NAMESPACE);
    let auth_str = |key: &str| {
        auth.and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let email = obj
        .get("email")
        .and_then(Value::as_str)
        .or_else(|| {
            obj.get(PROFILE_NAMESPACE)
                .and_then(|p| p.get("email"))
                .and_then(Value::as_str)
        })
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let time = |key: &str| {
        obj.get(key)
            .and_then(Value::as_i64)
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
    };
    Ok(Claims {
        email,
        plan: auth_str("chatgpt_plan_type"),
        user_id: auth_str("chatgpt_user_id").or_else(|| auth_str("user_id")),
        account_id: auth_str("chatgpt_account_id"),
        expires_at: time("exp"),
        issued_at: time("iat"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_router_testkit::jwt;
    use serde_json::json;

    #[test]
    fn reads_every_claim() {
        let token = jwt::mint(&json!({
            "email": "a@example.com",
            "exp": 2_000_000_000,
            "iat": 1_900_000_000,
            "https://api.openai.com/auth": {
                "chatgpt_plan_type": "plus",
                "chatgpt_user_id": "user-1",
                "chatgpt_account_id": "acct-1"
            }
        }));
        let c = decode(&token).unwrap();
        assert_eq!(c.email.as_deref(), Some("a@example.com"));
        assert_eq!(c.plan.as_deref(), Some("plus"));
        assert_eq!(c.user_id.as_deref(), Some("user-1"));
        assert_eq!(c.account_id.as_deref(), Some("acct-1"));
        assert_eq!(c.expires_at.unwrap().timestamp(), 2_000_000_000);
        assert_eq!(c.issued_at.unwrap().timestamp(), 1_900_000_000);
    }

    #[test]
    fn email_and_user_fallbacks() {
        let token = jwt::mint(&json!({
            "https://api.openai.com/profile": {"email": "b@example.com"},
            "https://api.openai.com/auth": {"user_id": "user-2"}
        }));
        let c = decode(&token).unwrap();
        assert_eq!(c.email.as_deref(), Some("b@example.com"));
        assert_eq!(c.user_id.as_deref(), Some("user-2"));
        assert_eq!(c.plan, None);
    }

    #[test]
    fn malformed_tokens_are_errors_not_panics() {
        assert_eq!(decode("abc"), Err(ClaimsError::NotAJwt));
        assert_eq!(decode("a.b.c.d"), Err(ClaimsError::NotAJwt));
        assert_eq!(decode("a.@@@.c"), Err(ClaimsError::BadBase64));
        assert_eq!(decode("a.bm90IGpzb24.c"), Err(ClaimsError::BadJson));
        assert_eq!(decode("a.WzFd.c"), Err(ClaimsError::BadJson));
        assert_eq!(
            decode(&"a".repeat(MAX_JWT_LEN + 1)),
            Err(ClaimsError::TooLarge)
        );
    }
}
