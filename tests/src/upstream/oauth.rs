//! The OAuth issuer (§2, §3): authorize, token (code, token exchange, refresh), revoke, device.

use super::common::{json_response, openai_error, param, params};
use super::state::{
    CodeRecord, DeviceRecord, Shared, State as FakeState, TokenSet, random_token, who_key,
};
use super::types::{CLIENT_ID, RefreshCall};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// `base64url_nopad(sha256(verifier))`.
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    json_response(
        status,
        json!({"error": error, "error_description": description}),
    )
}

fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

fn token_body(set: &TokenSet, ttl: i64) -> Value {
    json!({
        "id_token": set.id_token,
        "access_token": set.access_token,
        "refresh_token": set.refresh_token,
        "token_type": "bearer",
        "expires_in": ttl,
        "scope": "openid profile email offline_access",
    })
}

/// `redirect_uri` must be `http://localhost:<port>/auth/callback` (the only shape registered
/// for Codex's client id; any port is accepted so tests can use ephemeral ones).
fn valid_browser_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http"
            && u.host_str() == Some("localhost")
            && u.port().is_some()
            && u.path() == "/auth/callback"
            && u.query().is_none()
    })
}

fn is_challenge(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /oauth/authorize`: as if the browser signed in as the login identity.
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let p = |k: &str| param(&pairs, k).unwrap_or_default();
    let bad = |d: &str| oauth_error(400, "invalid_request", d);
    if p("client_id") != CLIENT_ID {
        return oauth_error(400, "invalid_client", "Unknown client_id.");
    }
    let redirect_uri = p("redirect_uri");
    if !valid_browser_redirect(redirect_uri) {
        return bad(
            "redirect_uri is not registered for this client (expected http://localhost:<port>/auth/callback).",
        );
    }
    if p("response_type") != "code" {
        return bad("response_type must be 'code'.");
    }
    let scopes: Vec<&str> = p("scope").split(' ').collect();
    if !scopes.contains(&"openid") || !scopes.contains(&"offline_access") {
        return bad("scope must include openid and offline_access.");
    }
    if p("code_challenge_method") != "S256" {
        return bad("code_challenge_method must be S256.");
    }
    let challenge = p("code_challenge");
    if !is_challenge(challenge) {
        return bad("code_challenge must be a base64url SHA-256 digest (43 characters).");
    }
    let state = p("state");
    if state.is_empty() {
        return bad("state is required.");
    }
    let mut st = shared.lock();
    let mut target = url::Url::parse(redirect_uri).expect("checked above");
    if let Some((error, description)) = st.login_error.clone() {
        target
            .query_pairs_mut()
            .append_pair("error", &error)
            .append_pair("error_description", &description)
            .append_pair("state", state);
        return redirect(target.as_str());
    }
    let Some(who) = st.login_identity.clone() else {
        return bad("fake-upstream: no login identity set (FakeUpstream::set_login_identity).");
    };
    let code = format!("ac_{}", random_token(32));
    st.codes.insert(
        code.clone(),
        CodeRecord {
            who,
            challenge: challenge.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            used: false,
        },
    );
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("scope", p("scope"))
        .append_pair("state", state);
    redirect(target.as_str())
}

/// `POST /oauth/token`: authorization_code, token-exchange (API key) and refresh_token grants.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = params(&headers, &body);
    match param(&pairs, "grant_type").unwrap_or_default() {
        "authorization_code" => code_grant(&shared, &pairs),
        TOKEN_EXCHANGE => token_exchange(&shared, &pairs),
        "refresh_token" => refresh_grant(&shared, &pairs).await,
        "" => oauth_error(400, "invalid_request", "Missing grant_type."),
        other => oauth_error(
            400,
            "unsupported_grant_type",
            &format!("Unsupported grant_type: {other}"),
        ),
    }
}

fn code_grant(shared: &Shared, pairs: &[(String, String)]) -> Response {
    let p = |k: &str| param(pairs, k).unwrap_or_default();
    if p("client_id") != CLIENT_ID {
        return oauth_error(401, "invalid_client", "Unknown client_id.");
    }
    let mut st = shared.lock();
    let Some(rec) = st.codes.get_mut(p("code")) else {
        return oauth_error(400, "invalid_grant", "Invalid authorization code.");
    };
    if rec.used {
        return oauth_error(
            400,
            "invalid_grant",
            "Authorization code has already been used.",
        );
    }
    if rec.redirect_uri != p("redirect_uri") {
        return oauth_error(400, "invalid_grant", "redirect_uri does not match.");
    }
    if p("code_verifier").is_empty() || s256(p("code_verifier")) != rec.challenge {
        return oauth_error(
            400,
            "invalid_grant",
            "code_verifier does not match the code_challenge.",
        );
    }
    rec.used = true;
    let who = rec.who.clone();
    let ttl = st.access_ttl;
    let set = st.mint(&who, ttl, None);
    json_response(200, token_body(&set, ttl))
}

fn token_exchange(shared: &Shared, pairs: &[(String, String)]) -> Response {
    let p = |k: &str| param(pairs, k).unwrap_or_default();
    if p("client_id") != CLIENT_ID {
        return oauth_error(401, "invalid_client", "Unknown client_id.");
    }
    if p("requested_token") != "openai-api-key" || p("subject_token_type") != ID_TOKEN_TYPE {
        return oauth_error(400, "invalid_request", "Unsupported token exchange.");
    }
    let mut st = shared.lock();
    if !st.id_tokens.contains_key(p("subject_token")) {
        return oauth_error(400, "invalid_grant", "Invalid subject_token.");
    }
    if st.api_key_exchange_fails {
        return openai_error(
            401,
            "Unable to create an API key: this account has no API organization.",
            "invalid_request_error",
            Some("missing_organization"),
        );
    }
    let key = format!("sk-proj-{}", random_token(36));
    st.api_keys.insert(key.clone());
    json_response(
        200,
        json!({"access_token": key, "issued_token_type": "openai-api-key", "token_type": "bearer"}),
    )
}

const REUSED: &str = "Your refresh token has already been used to generate a new access token. Please try signing in again.";

async fn refresh_grant(shared: &Shared, pairs: &[(String, String)]) -> Response {
    let presented = param(pairs, "refresh_token").unwrap_or_default().to_owned();
    let arrived = SystemTime::now();
    let delay = {
        let mut st = shared.lock();
        st.presented.push(presented.clone());
        if let Some(who) = st.refresh.get(&presented).map(|r| r.who.clone()) {
            *st.refresh_calls.entry(who_key(&who)).or_default() += 1;
        }
        st.refresh_delay_ms
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let mut st = shared.lock();
    let response = refresh_answer(&mut st, pairs, &presented);
    if let Some(rec) = st.refresh.get(&presented) {
        let call = RefreshCall {
            account_id: rec.who.account_id.clone(),
            email: rec.who.email.clone(),
            at: arrived,
            token_age: rec
                .issued
                .map(|(at, _)| arrived.duration_since(at).unwrap_or_default()),
            access_lifetime: rec.issued.map(|(_, life)| life),
            accepted: response.status().is_success(),
        };
        st.refresh_log.push(call);
    }
    response
}

/// The issuer's answer to a refresh call presenting `presented`.
fn refresh_answer(st: &mut FakeState, pairs: &[(String, String)], presented: &str) -> Response {
    if let Some((status, body)) = st.fail_next_refresh.pop_front() {
        return json_response(status, body);
    }
    if param(pairs, "client_id") != Some(CLIENT_ID) {
        return oauth_error(401, "invalid_client", "Unknown client_id.");
    }
    let Some(rec) = st.refresh.get_mut(presented) else {
        return invalidated();
    };
    if rec.revoked {
        return invalidated();
    }
    if rec.used {
        let family = rec.family;
        if st.revoke_family_on_reuse {
            st.revoke_family(family);
        }
        return json_response(
            400,
            json!({"error": {"message": REUSED, "type": "invalid_request_error",
                             "param": null, "code": "refresh_token_reused"}}),
        );
    }
    rec.used = true;
    let (who, family) = (rec.who.clone(), rec.family);
    let ttl = st.access_ttl;
    let set = st.mint(&who, ttl, Some(family));
    json_response(200, token_body(&set, ttl))
}

fn invalidated() -> Response {
    json_response(
        401,
        json!({"error": {"message": "Your refresh token has been invalidated. Please try signing in again.",
                         "type": "invalid_request_error", "param": null,
                         "code": "refresh_token_invalidated"}}),
    )
}

/// `POST /oauth/revoke` (JSON `{token, token_type_hint, client_id?}`): revokes the token's
/// whole login (refresh and access tokens).
pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = params(&headers, &body);
    let token = param(&pairs, "token").unwrap_or_default();
    let mut st = shared.lock();
    let family = st
        .refresh
        .get(token)
        .map(|r| r.family)
        .or_else(|| st.access.get(token).map(|a| a.family));
    if let Some(f) = family {
        st.revoke_family(f);
    }
    json_response(200, json!({}))
}

/// `POST /api/accounts/deviceauth/usercode` `{client_id}`.
pub(crate) async fn device_usercode(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = params(&headers, &body);
    let mut st = shared.lock();
    if !st.device_enabled {
        return json_response(404, json!({"detail": "Not Found"}));
    }
    if param(&pairs, "client_id") != Some(CLIENT_ID) {
        return oauth_error(400, "invalid_client", "Unknown client_id.");
    }
    let device_auth_id = format!("deviceauth_{}", uuid::Uuid::new_v4().simple());
    let raw = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    let user_code = format!("{}-{}", &raw[..4], &raw[4..9]);
    let pending_polls = st.device_pending_polls;
    st.devices.insert(
        device_auth_id.clone(),
        DeviceRecord {
            user_code: user_code.clone(),
            polls: 0,
            pending_polls,
            result: None,
        },
    );
    json_response(
        200,
        json!({
            "device_auth_id": device_auth_id,
            "user_code": user_code,
            "interval": st.device_interval.to_string(),
        }),
    )
}

/// `POST /api/accounts/deviceauth/token` `{device_auth_id, user_code}`: 403 while pending,
/// then `{authorization_code, code_challenge, code_verifier}`.
pub(crate) async fn device_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = params(&headers, &body);
    let id = param(&pairs, "device_auth_id").unwrap_or_default();
    let code = param(&pairs, "user_code").unwrap_or_default();
    let base = shared.base_url.clone();
    let mut st = shared.lock();
    let login = st.login_identity.clone();
    let Some(dev) = st.devices.get_mut(id) else {
        return oauth_error(400, "invalid_request", "Unknown device_auth_id.");
    };
    if dev.user_code != code {
        return oauth_error(
            400,
            "invalid_request",
            "user_code does not match device_auth_id.",
        );
    }
    dev.polls += 1;
    if let Some(done) = &dev.result {
        return json_response(200, done.clone());
    }
    let pending = || {
        json_response(
            403,
            json!({"error": {"message": "Device authorization is still pending.",
                             "type": "invalid_request_error", "param": null,
                             "code": "deviceauth_authorization_pending"}}),
        )
    };
    if dev.polls <= dev.pending_polls {
        return pending();
    }
    let Some(who) = login else {
        return pending();
    };
    let verifier = random_token(64);
    let challenge = s256(&verifier);
    let authorization_code = format!("ac_{}", random_token(32));
    let result = json!({
        "authorization_code": authorization_code,
        "code_challenge": challenge,
        "code_verifier": verifier,
    });
    dev.result = Some(result.clone());
    st.codes.insert(
        authorization_code,
        CodeRecord {
            who,
            challenge,
            redirect_uri: format!("{base}/deviceauth/callback"),
            used: false,
        },
    );
    json_response(200, result)
}

/// `GET /codex/device` and `/deviceauth/callback`: the pages a browser would see.
pub(crate) async fn device_page() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<html><body><h1>fake-upstream device sign-in</h1></body></html>",
    )
        .into_response()
}
