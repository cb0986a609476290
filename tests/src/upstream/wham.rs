//! The ChatGPT backend's other calls that Codex makes at start-up and during a turn
//! (`docs/codex-compat.md`): its workspace discovery, user settings, plugin lists and
//! analytics. Each checks the bearer as the real backend does and answers a minimal body;
//! the request log shows which account's token arrived.

use super::common::{check_access, check_account, json_response};
use super::state::Shared;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;
use std::sync::Arc;

/// `GET /backend-api/wham/accounts/check`: the token's workspace, in the backend's map form
/// (`{accounts: {id: {account: {...}}}, account_ordering, default_account_id}`), with no
/// routing constraint.
pub(crate) async fn accounts_check(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    let (who, _) = match check_access(&shared, &headers) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let id = who.account_id.clone();
    json_response(
        200,
        json!({
            "accounts": {
                id.clone(): {"account": {
                    "id": id,
                    "plan_type": who.plan,
                    "structure": "personal",
                    "workspace_backend_origin": "NO_CONSTRAINT",
                    "account_routing_override": "NO_CONSTRAINT",
                }}
            },
            "account_ordering": [id],
            "default_account_id": id,
        }),
    )
}

/// Authenticated calls answered with an empty object: `GET /backend-api/wham/settings/user`,
/// `POST /backend-api/codex/analytics-events/events`.
pub(crate) async fn empty(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match check_access(&shared, &headers) {
        Ok((who, _)) => match check_account(&headers, &who) {
            Ok(()) => json_response(200, json!({})),
            Err(r) => r,
        },
        Err(r) => r,
    }
}

/// `GET /backend-api/ps/plugins/…` (installed, suggested, tooling state): no plugins.
pub(crate) async fn plugins(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match check_access(&shared, &headers) {
        Ok(_) => json_response(200, json!({"plugins": [], "items": [], "has_more": false})),
        Err(r) => r,
    }
}
