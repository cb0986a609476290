//! The fake's mutable state: issued tokens, knobs, the request log.

use super::types::{
    RateLimits, RecordedRequest, RefreshCall, Reply, StreamBehaviour, StreamFaults,
};
use crate::home::now;
use crate::jwt::Identity;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// Shared between the server thread and the test-facing handle.
pub(crate) struct Shared {
    pub base_url: String,
    /// TCP connections accepted so far (plain or TLS).
    pub connections: std::sync::atomic::AtomicUsize,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(base_url: String) -> Arc<Self> {
        Arc::new(Self {
            base_url,
            connections: Default::default(),
            state: Mutex::new(State::default()),
        })
    }

    /// Locks the state (a panicking test thread never wedges the fake).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A stable key for one identity (a user in one workspace).
pub(crate) fn who_key(who: &Identity) -> String {
    format!("{}|{}", who.user_id, who.account_id)
}

pub(crate) struct AccessRecord {
    pub who: Identity,
    pub exp: i64,
    pub family: u64,
    pub revoked: bool,
}

pub(crate) struct RefreshRecord {
    pub who: Identity,
    pub family: u64,
    pub used: bool,
    pub revoked: bool,
    /// The `iat` of the access token issued with it and that token's lifetime (`exp - iat`);
    /// `None` for adopted tokens.
    pub issued: Option<(SystemTime, Duration)>,
}

/// A request's place in the log, counting requests forgotten since (handed to its handler).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestSeq(usize);

pub(crate) struct CodeRecord {
    pub who: Identity,
    pub challenge: String,
    pub redirect_uri: String,
    pub used: bool,
}

pub(crate) struct DeviceRecord {
    pub user_code: String,
    pub polls: u32,
    pub pending_polls: u32,
    pub result: Option<Value>,
}

/// Issued tokens of one login.
pub(crate) struct TokenSet {
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: String,
}

pub(crate) struct State {
    pub access_ttl: i64,
    pub accounts: Vec<Identity>,
    pub access: HashMap<String, AccessRecord>,
    pub refresh: HashMap<String, RefreshRecord>,
    pub id_tokens: HashMap<String, Identity>,
    next_family: u64,
    pub presented: Vec<String>,
    pub refresh_calls: HashMap<String, usize>,
    pub refresh_log: Vec<RefreshCall>,
    pub fail_next_refresh: VecDeque<(u16, Value)>,
    pub refresh_delay_ms: u64,
    pub revoke_family_on_reuse: bool,
    pub login_identity: Option<Identity>,
    pub login_error: Option<(String, String)>,
    pub codes: HashMap<String, CodeRecord>,
    pub devices: HashMap<String, DeviceRecord>,
    pub device_pending_polls: u32,
    pub device_interval: u64,
    pub device_enabled: bool,
    /// Whether a Responses body may leave out `instructions` (ChatMock's do).
    pub instructions_optional: bool,
    pub api_keys: HashSet<String>,
    pub api_key_exchange_fails: bool,
    pub usage_limited: HashMap<String, i64>,
    pub rate_limits: HashMap<String, RateLimits>,
    pub stream: StreamBehaviour,
    pub next_stream: VecDeque<StreamBehaviour>,
    pub stream_faults: StreamFaults,
    pub replies: VecDeque<Reply>,
    pub requests: Vec<RecordedRequest>,
    /// Whether WebSocket handshakes are refused with 426.
    pub refuse_websockets: bool,
    /// Whether `/v1/responses` takes WebSocket upgrades (else a 405, HTTP only).
    pub api_websockets: bool,
    /// Close codes (and reasons) for sockets, each taken by the next response that ends.
    pub next_websocket_close: VecDeque<(u16, String)>,
    /// Requests dropped from the front of `requests` by clearing it.
    requests_forgotten: usize,
}

impl Default for State {
    fn default() -> Self {
        Self {
            access_ttl: 3600,
            accounts: Vec::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            id_tokens: HashMap::new(),
            next_family: 1,
            presented: Vec::new(),
            refresh_calls: HashMap::new(),
            refresh_log: Vec::new(),
            fail_next_refresh: VecDeque::new(),
            refresh_delay_ms: 0,
            revoke_family_on_reuse: true,
            login_identity: None,
            login_error: None,
            codes: HashMap::new(),
            devices: HashMap::new(),
            device_pending_polls: 0,
            device_interval: 1,
            device_enabled: true,
            instructions_optional: false,
            api_keys: HashSet::new(),
            api_key_exchange_fails: false,
            usage_limited: HashMap::new(),
            rate_limits: HashMap::new(),
            stream: StreamBehaviour::Normal,
            next_stream: VecDeque::new(),
            stream_faults: StreamFaults::default(),
            replies: VecDeque::new(),
            requests: Vec::new(),
            refuse_websockets: false,
            api_websockets: true,
            next_websocket_close: VecDeque::new(),
            requests_forgotten: 0,
        }
    }
}

/// A random url-safe string of `n` bytes of entropy.
pub(crate) fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes[..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a JWT's payload (no signature check), like Codex does.
pub(crate) fn jwt_payload(jwt: &str) -> Option<Value> {
    let mut parts = jwt.split('.');
    let (_h, p, _s) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The identity an id token describes.
pub(crate) fn identity_from_id_token(jwt: &str) -> Option<Identity> {
    let claims = jwt_payload(jwt)?;
    let auth = claims.get("https://api.openai.com/auth")?;
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    Some(Identity {
        email: s(claims.get("email"))?,
        plan: s(auth.get("chatgpt_plan_type")).unwrap_or_else(|| "plus".into()),
        account_id: s(auth.get("chatgpt_account_id"))?,
        user_id: s(auth.get("chatgpt_user_id")).or_else(|| s(auth.get("user_id")))?,
    })
}

impl State {
    pub fn register(&mut self, who: &Identity) {
        if !self.accounts.iter().any(|a| who_key(a) == who_key(who)) {
            self.accounts.push(who.clone());
        }
    }

    fn new_family(&mut self) -> u64 {
        self.next_family += 1;
        self.next_family
    }

    /// Mints a token set for `who` in `family` (a new family when `None`).
    pub fn mint(&mut self, who: &Identity, ttl: i64, family: Option<u64>) -> TokenSet {
        self.register(who);
        let family = family.unwrap_or_else(|| self.new_family());
        let now = now();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let id_token = who.id_token(now, now + 3600);
        let access_token = who.access_token(now, now + ttl, &nonce);
        let refresh_token = format!("rt_{}", random_token(30));
        let iat = SystemTime::UNIX_EPOCH + Duration::from_secs(now.max(0) as u64);
        let lifetime = Duration::from_secs(ttl.max(0) as u64);
        self.id_tokens.insert(id_token.clone(), who.clone());
        self.access.insert(
            access_token.clone(),
            AccessRecord {
                who: who.clone(),
                exp: now + ttl,
                family,
                revoked: false,
            },
        );
        self.refresh.insert(
            refresh_token.clone(),
            RefreshRecord {
                who: who.clone(),
                family,
                used: false,
                revoked: false,
                issued: Some((iat, lifetime)),
            },
        );
        TokenSet {
            id_token,
            access_token,
            refresh_token,
        }
    }

    /// Adopts externally minted tokens as if this issuer had issued them.
    pub fn adopt(&mut self, who: &Identity, id_token: &str, access_token: &str, refresh: &str) {
        self.register(who);
        let family = self.new_family();
        let exp = jwt_payload(access_token)
            .and_then(|c| c.get("exp").and_then(Value::as_i64))
            .unwrap_or_else(|| now() + self.access_ttl);
        self.id_tokens.insert(id_token.to_owned(), who.clone());
        self.access.insert(
            access_token.to_owned(),
            AccessRecord {
                who: who.clone(),
                exp,
                family,
                revoked: false,
            },
        );
        if !refresh.is_empty() {
            self.refresh.insert(
                refresh.to_owned(),
                RefreshRecord {
                    who: who.clone(),
                    family,
                    used: false,
                    revoked: false,
                    issued: None,
                },
            );
        }
    }

    pub fn revoke_family(&mut self, family: u64) {
        for r in self.refresh.values_mut().filter(|r| r.family == family) {
            r.revoked = true;
        }
        for a in self.access.values_mut().filter(|a| a.family == family) {
            a.revoked = true;
        }
    }

    /// Which rate-limit key applies: the account id if one is set there, else the bearer.
    pub fn limits_for(&self, keys: &[&str]) -> RateLimits {
        keys.iter()
            .find_map(|k| self.rate_limits.get(*k).cloned())
            .unwrap_or_else(|| RateLimits::default_at(now()))
    }

    /// `resets_at` if any of `keys` is usage-limited.
    pub fn limited_until(&self, keys: &[&str]) -> Option<i64> {
        keys.iter()
            .find_map(|k| self.usage_limited.get(*k).copied())
    }

    /// How the next streamed answer is delivered: a queued behaviour, else a random fault
    /// (see [`StreamFaults`]), else the persistent behaviour.
    pub fn take_stream_behaviour(&mut self) -> StreamBehaviour {
        if let Some(b) = self.next_stream.pop_front() {
            return b;
        }
        let f = self.stream_faults;
        let roll: f64 = rand::random();
        let after_events = rand::random_range(0..=f.max_after_events);
        if roll < f.drop {
            StreamBehaviour::Drop { after_events }
        } else if roll < f.drop + f.stall {
            StreamBehaviour::Stall { after_events }
        } else {
            self.stream
        }
    }

    /// Logs a request; its handler gets the returned [`RequestSeq`].
    pub fn record(&mut self, request: RecordedRequest) -> RequestSeq {
        self.requests.push(request);
        RequestSeq(self.requests_forgotten + self.requests.len() - 1)
    }

    /// Forgets the request log.
    pub fn clear_requests(&mut self) {
        self.requests_forgotten += self.requests.len();
        self.requests.clear();
    }

    /// Notes on request `seq` (unless forgotten) how its answer's stream is delivered.
    pub fn note_stream(&mut self, seq: RequestSeq, behaviour: StreamBehaviour) {
        if let Some(r) = seq
            .0
            .checked_sub(self.requests_forgotten)
            .and_then(|i| self.requests.get_mut(i))
        {
            r.stream = Some(behaviour);
        }
    }
}
