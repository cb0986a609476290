//! Browser sign-in (PKCE, `shared/protocol.md` §3): a loopback callback server on
//! 127.0.0.1:1455 (then 1457), the authorize URL with every parameter Codex sends, the code
//! exchange, and the new profile written.

use super::pkce::{self, Pkce};
use super::{LoginError, LoginOutcome, exchange_code, obtain_api_key, store_tokens};
use crate::http::{self, CLIENT_ID, ORIGINATOR};
use crate::net::Network;
use crate::store::Store;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// The scopes Codex asks for.
const SCOPE: &str = "openid profile email offline_access api.connectors.read api.connectors.invoke";
/// The path another login answers on, to tell "a router login is waiting" from "some other
/// program holds the port".
const WHOAMI_PATH: &str = "/codex-router/login";

/// How a browser login is set up.
#[derive(Debug, Clone)]
pub struct BrowserLoginConfig {
    /// The OAuth issuer, e.g. `https://auth.openai.com`.
    pub issuer: String,
    /// Callback ports to try in order (Codex's client allows 1455 and 1457).
    pub ports: Vec<u16>,
    /// How long to wait for the browser.
    pub timeout: Duration,
}

impl BrowserLoginConfig {
    /// Codex's ports and a 10-minute wait.
    pub fn new(issuer: &str) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            ports: vec![1455, 1457],
            timeout: Duration::from_secs(600),
        }
    }
}

/// A browser login in progress: open [`BrowserLogin::url`], then [`BrowserLogin::wait`].
pub struct BrowserLogin {
    url: String,
    port: u16,
    timeout: Duration,
    result: oneshot::Receiver<Result<LoginOutcome, LoginError>>,
    shared: Arc<Shared>,
}

/// Cancels a waiting login from anywhere.
#[derive(Clone)]
pub struct CancelHandle(Arc<Shared>);

impl CancelHandle {
    /// Ends the login with [`LoginError::Cancelled`].
    pub fn cancel(&self) {
        self.0.finish(Err(LoginError::Cancelled));
    }
}

struct Shared {
    store: Store,
    name: String,
    force: bool,
    issuer: String,
    state: String,
    verifier: String,
    redirect_uri: String,
    http: reqwest::Client,
    sender: Mutex<Option<oneshot::Sender<Result<LoginOutcome, LoginError>>>>,
    stop: Notify,
    success_served: Notify,
}

impl Shared {
    fn finish(&self, result: Result<LoginOutcome, LoginError>) {
        if let Some(tx) = self.sender.lock().expect("sender lock").take() {
            let _ = tx.send(result);
        }
    }
}

impl BrowserLogin {
    /// Checks that profile `name` may be written, binds the callback server and builds the
    /// authorize URL. Nothing is written until the sign-in completes; the code is then
    /// exchanged at the issuer through `network`.
    pub async fn start(
        store: Store,
        name: &str,
        force: bool,
        config: &BrowserLoginConfig,
        network: &Network,
    ) -> Result<Self, LoginError> {
        store.ensure_available(name, force)?;
        let (listener, port) = bind(&config.ports).await?;
        let pkce = Pkce::generate();
        let state = pkce::random_state();
        let redirect_uri = format!("http://localhost:{port}/auth/callback");
        let url = authorize_url(&config.issuer, &redirect_uri, &pkce.challenge, &state);
        let (tx, rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            store,
            name: name.to_owned(),
            force,
            issuer: config.issuer.clone(),
            state,
            verifier: pkce.verifier,
            redirect_uri,
            http: http::client(network, Duration::from_secs(30)),
            sender: Mutex::new(Some(tx)),
            stop: Notify::new(),
            success_served: Notify::new(),
        });
        let app = Router::new()
            .route("/auth/callback", get(callback))
            .route("/success", get(success))
            .route("/cancel", get(cancel))
            .route(WHOAMI_PATH, get(whoami))
            .with_state(shared.clone());
        let stopper = shared.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopper.stop.notified().await })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "login callback server failed");
            }
        });
        Ok(Self {
            url,
            port,
            timeout: config.timeout,
            result: rx,
            shared,
        })
    }

    /// The URL to open in a browser.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The callback port in use.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that cancels this login.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle(self.shared.clone())
    }

    /// Waits for the sign-in to finish, fail, be cancelled or time out; then stops the
    /// callback server, once the browser has loaded the result page (or after a moment),
    /// so a caller that exits right away does not cut the page off.
    pub async fn wait(self) -> Result<LoginOutcome, LoginError> {
        let result = match tokio::time::timeout(self.timeout, self.result).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(LoginError::Cancelled),
            Err(_) => Err(LoginError::TimedOut(self.timeout.as_secs())),
        };
        if result.is_ok() {
            let served = self.shared.success_served.notified();
            let _ = tokio::time::timeout(Duration::from_secs(3), served).await;
            // Let the success page's response finish writing.
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.shared.stop.notify_one();
        result
    }
}

/// Binds the first free port; tells "a router login is waiting there" apart.
async fn bind(ports: &[u16]) -> Result<(tokio::net::TcpListener, u16), LoginError> {
    for &port in ports {
        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => {
                let port = listener
                    .local_addr()
                    .map_err(|e| LoginError::Io(e.to_string()))?
                    .port();
                return Ok((listener, port));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                if let Some(who) = router_login_at(port).await {
                    return Err(LoginError::AlreadyWaiting { port, who });
                }
            }
            Err(e) => {
                return Err(LoginError::Io(format!(
                    "cannot listen on 127.0.0.1:{port}: {e}"
                )));
            }
        }
    }
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    Err(LoginError::PortsBusy(list.join(" and ")))
}

async fn router_login_at(port: u16) -> Option<String> {
    // A local call: never through a proxy.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(800))
        .build()
        .ok()?;
    let response = client
        .get(format!("http://127.0.0.1:{port}{WHOAMI_PATH}"))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let text = response.text().await.ok()?;
    text.starts_with("codex-router").then_some(text)
}

/// `{issuer}/oauth/authorize?…` with Codex's parameters, in Codex's order.
fn authorize_url(issuer: &str, redirect_uri: &str, challenge: &str, state: &str) -> String {
    let params = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", redirect_uri),
        ("scope", SCOPE),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("id_token_add_organizations", "true"),
        ("codex_cli_simplified_flow", "true"),
        ("state", state),
        ("originator", ORIGINATOR),
    ];
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{issuer}/oauth/authorize?{query}")
}

/// The parameters of a callback to `/auth/callback`, as the browser brought them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` echoed back (must be the one the login sent).
    pub state: Option<String>,
    /// The issuer's error (`access_denied`, …) when the sign-in failed.
    pub error: Option<String>,
    /// The issuer's description of that error.
    pub error_description: Option<String>,
}

impl CallbackParams {
    /// When the callback reports an error: what it means, in words.
    pub fn denial(&self) -> Option<String> {
        let error = self.error.as_deref()?;
        Some(denial_message(
            error,
            self.error_description.as_deref().unwrap_or(""),
        ))
    }
}

/// Parses the query string of a callback (form-encoded; a repeated key keeps its last
/// value; unknown keys are ignored).
pub fn parse_callback(query: &str) -> CallbackParams {
    let mut params = CallbackParams::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match key.as_ref() {
            "code" => &mut params.code,
            "state" => &mut params.state,
            "error" => &mut params.error,
            "error_description" => &mut params.error_description,
            _ => continue,
        };
        *slot = Some(value.into_owned());
    }
    params
}

async fn callback(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params = parse_callback(query.as_deref().unwrap_or(""));
    if let Some(message) = params.denial() {
        let page = page("Sign-in failed", &message);
        shared.finish(Err(LoginError::Denied(message)));
        return (StatusCode::OK, page).into_response();
    }
    if params.state.as_ref() != Some(&shared.state) {
        // A forged or stale callback: refuse it, keep waiting for the real one.
        return (StatusCode::BAD_REQUEST, "State mismatch").into_response();
    }
    let Some(code) = params.code.as_ref().filter(|c| !c.is_empty()) else {
        return (StatusCode::BAD_REQUEST, "Missing authorization code").into_response();
    };
    let exchanged = exchange_code(
        &shared.http,
        &shared.issuer,
        code,
        &shared.redirect_uri,
        &shared.verifier,
    )
    .await;
    let tokens = match exchanged {
        Ok(t) => t,
        Err(e) => {
            let page = page("Sign-in failed", &e.to_string());
            shared.finish(Err(e));
            return (StatusCode::OK, page).into_response();
        }
    };
    let api_key = obtain_api_key(&shared.http, &shared.issuer, &tokens.id_token).await;
    let store = shared.store.clone();
    let (name, force) = (shared.name.clone(), shared.force);
    let stored =
        tokio::task::spawn_blocking(move || store_tokens(&store, &name, force, tokens, api_key))
            .await
            .unwrap_or_else(|_| Err(LoginError::Io("storing the profile failed".into())));
    match stored {
        Ok(outcome) => {
            shared.finish(Ok(outcome));
            Redirect::to("/success").into_response()
        }
        Err(e) => {
            let page = page("Sign-in failed", &e.to_string());
            shared.finish(Err(e));
            (StatusCode::OK, page).into_response()
        }
    }
}

async fn success(State(shared): State<Arc<Shared>>) -> Html<String> {
    shared.success_served.notify_one();
    page(
        "Signed in",
        &format!(
            "Codex Router saved this account as profile '{}'. You can close this tab.",
            shared.name
        ),
    )
}

async fn cancel(State(shared): State<Arc<Shared>>) -> &'static str {
    shared.finish(Err(LoginError::Cancelled));
    "Login cancelled"
}

async fn whoami(State(shared): State<Arc<Shared>>) -> String {
    format!("codex-router login for profile '{}'", shared.name)
}

/// What an `error=` callback means, in words; at most about 400 characters of what the
/// callback said (any local page can send one).
fn denial_message(error: &str, description: &str) -> String {
    if error == "access_denied" && description.contains("missing_codex_entitlement") {
        return "Codex is not enabled for your workspace; ask its admin".into();
    }
    let error: String = error.chars().take(100).collect();
    let description: String = description.chars().take(300).collect();
    if description.is_empty() {
        error.to_owned()
    } else {
        format!("{error}: {description}")
    }
}

pub(crate) fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;line-height:1.5}}</style>\
         </head><body><h1>{t}</h1><p>{b}</p></body></html>",
        t = escape(title),
        b = escape(body)
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_carries_every_codex_parameter_in_order() {
        let url = authorize_url(
            "https://auth.example",
            "http://localhost:1455/auth/callback",
            "CH",
            "ST",
        );
        let parsed = url::Url::parse(&url).unwrap();
        assert_eq!(parsed.path(), "/oauth/authorize");
        let keys: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(
            keys,
            [
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "code_challenge",
                "code_challenge_method",
                "id_token_add_organizations",
                "codex_cli_simplified_flow",
                "state",
                "originator"
            ]
        );
        let get = |k: &str| {
            parsed
                .query_pairs()
                .find(|(key, _)| key == k)
                .unwrap()
                .1
                .into_owned()
        };
        assert_eq!(get("redirect_uri"), "http://localhost:1455/auth/callback");
        assert_eq!(get("scope"), SCOPE);
        assert_eq!(get("client_id"), CLIENT_ID);
    }

    #[test]
    fn callback_query_is_parsed_like_a_form() {
        let p = parse_callback("state=a%2Bb&code=c+d&x=1&code=last");
        assert_eq!(p.state.as_deref(), Some("a+b"));
        assert_eq!(p.code.as_deref(), Some("last"));
        assert_eq!(p.denial(), None);
        let p = parse_callback(
            "error=access_denied&error_description=missing_codex_entitlement&state=s",
        );
        assert_eq!(
            p.denial().as_deref(),
            Some("Codex is not enabled for your workspace; ask its admin")
        );
        let long = format!(
            "error={}&error_description={}",
            "e".repeat(5000),
            "d".repeat(5000)
        );
        assert_eq!(parse_callback(&long).denial().unwrap().chars().count(), 402);
        assert_eq!(parse_callback(""), CallbackParams::default());
        assert_eq!(parse_callback("&&=&%ZZ").code, None);
    }

    #[test]
    fn pages_escape_what_they_show() {
        assert!(!page("x", "<script>").0.contains("<script>"));
        assert_eq!(
            denial_message("access_denied", "missing_codex_entitlement"),
            "Codex is not enabled for your workspace; ask its admin"
        );
    }
}
