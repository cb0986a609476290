//! Unsigned JWTs shaped like the ones OpenAI's issuer hands out.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// Mints an unsigned JWT (`alg: none`) with the given payload.
pub fn mint(payload: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).expect("json"));
    format!("{header}.{body}.sig")
}

/// Who a minted login belongs to.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The email claim.
    pub email: String,
    /// `chatgpt_plan_type`.
    pub plan: String,
    /// `chatgpt_account_id` (shared by members of one workspace).
    pub account_id: String,
    /// `chatgpt_user_id`.
    pub user_id: String,
}

impl Identity {
    /// An identity whose ids derive from `who` (e.g. "alice" → alice@example.com).
    pub fn new(who: &str, plan: &str) -> Self {
        Self {
            email: format!("{who}@example.com"),
            plan: plan.to_owned(),
            account_id: format!("acct-{who}"),
            user_id: format!("user-{who}"),
        }
    }

    /// Same identity in another workspace account id (e.g. a Team member).
    pub fn in_account(mut self, account_id: &str) -> Self {
        self.account_id = account_id.to_owned();
        self
    }

    fn auth_claims(&self) -> Value {
        json!({
            "chatgpt_plan_type": self.plan,
            "chatgpt_user_id": self.user_id,
            "user_id": self.user_id,
            "chatgpt_account_id": self.account_id,
        })
    }

    /// An id token for this identity.
    pub fn id_token(&self, iat: i64, exp: i64) -> String {
        mint(&json!({
            "iss": "https://auth.openai.com",
            "aud": ["app_EMoamEEZ73f0CkXaXp7hrann"],
            "email": self.email,
            "email_verified": true,
            "iat": iat,
            "exp": exp,
            "https://api.openai.com/auth": self.auth_claims(),
        }))
    }

    /// An access token for this identity; `nonce` makes each one distinct.
    pub fn access_token(&self, iat: i64, exp: i64, nonce: &str) -> String {
        mint(&json!({
            "iss": "https://auth.openai.com",
            "aud": ["https://api.openai.com/v1"],
            "iat": iat,
            "exp": exp,
            "jti": nonce,
            "https://api.openai.com/profile": {"email": self.email},
            "https://api.openai.com/auth": self.auth_claims(),
        }))
    }
}
