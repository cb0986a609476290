//! `fake-upstream`: runs the fake OpenAI upstream on 127.0.0.1 for end-to-end tests with real
//! clients, optionally writing ready `auth.json` profiles into a CODEX_HOME.
//!
//! Prints the base URL as the first stdout line, then one JSON line describing the URLs and
//! the profiles written, then serves until killed.

use codex_router_testkit::tls::TestCa;
use codex_router_testkit::upstream::{AccountSpec, FakeUpstream};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: fake-upstream [options]

  --port N                  port on 127.0.0.1 (default 0 = any free port)
  --host ADDR               listen on ADDR instead of 127.0.0.1
  --tls-dir DIR             serve HTTPS (HTTP/2 or 1.1) with a certificate for localhost,
                            127.0.0.1 and the host, signed by a CA made now and written to
                            DIR/ca.pem
  --instructions-optional   accept Responses bodies without `instructions` (ChatMock sends
                            none for Chat Completions)
  --tls-name NAME           one more name the certificate is for (repeatable), e.g.
                            chatgpt.com for a client run unchanged with a hosts file
  --codex-home DIR          write profiles/<name>/auth.json (+ auth.json and .current_profile
                            for the active one) into DIR
  --accounts a,b:pro        ChatGPT accounts (name or name:plan, default plan plus)
  --api-key [NAME=]KEY      accept KEY on /v1 (repeatable); with --codex-home also writes an
                            API-key profile NAME (default apikey, apikey2, ...)
  --access-ttl SECS         access-token lifetime (default 3600)
  --login-as NAME[:plan]    who signs in on /oauth/authorize and the device flow
                            (default: the first account)
  --active NAME             the profile written as auth.json (default: the first one)
  --device-pending-polls N  device-flow polls answered 403 before success (default 0)
  --device-poll-interval N  device-flow interval in seconds (default 1)
  --config FILE.json        the same settings as JSON: {\"port\", \"codex_home\", \"accounts\":
                            [\"alice:pro\" | {name, plan, account_id, email}], \"api_keys\":
                            [\"sk-..\" | {name, key}], \"access_ttl\", \"login_as\", \"active\",
                            \"device_pending_polls\", \"device_poll_interval\"}

stdout: line 1 the base URL; line 2 JSON {base_url, issuer_url, token_url, chatgpt_base_url,
openai_base_url, usage_url, control_url, profiles:[{name, kind, path, email, account_id}],
api_keys:[..]}. Control API: POST {base}/_fake/knobs, GET {base}/_fake/requests, ...
";

#[derive(Default)]
struct Options {
    port: u16,
    host: Option<std::net::IpAddr>,
    tls_dir: Option<PathBuf>,
    tls_names: Vec<String>,
    instructions_optional: bool,
    codex_home: Option<PathBuf>,
    accounts: Vec<AccountSpec>,
    api_keys: Vec<(Option<String>, String)>,
    access_ttl: i64,
    login_as: Option<AccountSpec>,
    active: Option<String>,
    device_pending_polls: Option<u32>,
    device_poll_interval: Option<u64>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-upstream: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse_num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag} expects a number, got {v:?}"))
}

fn api_key_arg(s: &str) -> (Option<String>, String) {
    match s.split_once('=') {
        Some((name, key)) if !name.is_empty() && !name.starts_with("sk") => {
            (Some(name.to_owned()), key.to_owned())
        }
        _ => (None, s.to_owned()),
    }
}

fn apply_config(o: &mut Options, path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read {path}: {e}"))?;
    let c: Value = serde_json::from_str(&text).map_err(|e| format!("parse {path}: {e}"))?;
    if let Some(p) = c.get("port").and_then(Value::as_u64) {
        o.port = u16::try_from(p).map_err(|_| "port out of range".to_owned())?;
    }
    if let Some(h) = c.get("codex_home").and_then(Value::as_str) {
        o.codex_home = Some(PathBuf::from(h));
    }
    for a in c
        .get("accounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        o.accounts.push(match a {
            Value::String(s) => AccountSpec::parse(s),
            other => serde_json::from_value(other.clone())
                .map_err(|e| format!("bad account {other}: {e}"))?,
        });
    }
    for k in c
        .get("api_keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match k {
            Value::String(s) => o.api_keys.push(api_key_arg(s)),
            other => {
                let key = other
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("bad api key entry {other}"))?;
                let name = other.get("name").and_then(Value::as_str).map(str::to_owned);
                o.api_keys.push((name, key.to_owned()));
            }
        }
    }
    if let Some(t) = c.get("access_ttl").and_then(Value::as_i64) {
        o.access_ttl = t;
    }
    if let Some(l) = c.get("login_as").and_then(Value::as_str) {
        o.login_as = Some(AccountSpec::parse(l));
    }
    if let Some(a) = c.get("active").and_then(Value::as_str) {
        o.active = Some(a.to_owned());
    }
    if let Some(n) = c.get("device_pending_polls").and_then(Value::as_u64) {
        o.device_pending_polls = Some(n as u32);
    }
    if let Some(n) = c.get("device_poll_interval").and_then(Value::as_u64) {
        o.device_poll_interval = Some(n);
    }
    Ok(())
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        access_ttl: 3600,
        ..Options::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (flag, None),
        };
        if flag == "--help" || flag == "-h" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        if flag == "--instructions-optional" {
            o.instructions_optional = true;
            continue;
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => o.port = parse_num(&flag, &value()?)?,
            "--host" => o.host = Some(parse_num(&flag, &value()?)?),
            "--tls-dir" => o.tls_dir = Some(PathBuf::from(value()?)),
            "--tls-name" => o.tls_names.push(value()?),
            "--codex-home" => o.codex_home = Some(PathBuf::from(value()?)),
            "--accounts" => o.accounts.extend(
                value()?
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(AccountSpec::parse),
            ),
            "--api-key" => o.api_keys.extend(
                value()?
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(api_key_arg),
            ),
            "--access-ttl" => o.access_ttl = parse_num(&flag, &value()?)?,
            "--login-as" => o.login_as = Some(AccountSpec::parse(&value()?)),
            "--active" => o.active = Some(value()?),
            "--device-pending-polls" => o.device_pending_polls = Some(parse_num(&flag, &value()?)?),
            "--device-poll-interval" => o.device_poll_interval = Some(parse_num(&flag, &value()?)?),
            "--config" => apply_config(&mut o, &value()?)?,
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    Ok(o)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) {}

fn write_auth(path: &Path, value: &Value) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        restrict(dir, 0o700);
    }
    let text = serde_json::to_string_pretty(value).expect("json");
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
    restrict(path, 0o600);
    Ok(())
}

fn run() -> Result<(), String> {
    let o = parse_args()?;
    let ip = o.host.unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let tls = match &o.tls_dir {
        Some(dir) => {
            let mut names = vec![ip.to_string()];
            names.extend(o.tls_names.iter().cloned());
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let ca = TestCa::for_names("fake-upstream", &names);
            std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
            ca.write_pem(&dir.join("ca.pem"));
            Some(ca.server_config())
        }
        None => None,
    };
    let addr = std::net::SocketAddr::new(ip, o.port);
    let up = FakeUpstream::start_with(addr, tls).map_err(|e| format!("bind {addr}: {e}"))?;
    up.set_access_ttl(o.access_ttl);
    if let Some(n) = o.device_pending_polls {
        up.set_device_pending_polls(n);
    }
    up.set_instructions_optional(o.instructions_optional);
    if let Some(n) = o.device_poll_interval {
        up.set_device_poll_interval(n);
    }
    if let Some(l) = o.login_as.as_ref().or(o.accounts.first()) {
        up.set_login_identity(&l.identity());
    }

    let mut profiles: Vec<(String, Value, Value)> = Vec::new(); // (name, auth.json, description)
    for spec in &o.accounts {
        let who = spec.identity();
        let auth = up.chatgpt_auth_json(&who, o.access_ttl);
        profiles.push((
            spec.name.clone(),
            auth,
            json!({"kind": "chatgpt", "email": who.email, "account_id": who.account_id, "plan": who.plan}),
        ));
    }
    let mut api_keys = Vec::new();
    for (i, (name, key)) in o.api_keys.iter().enumerate() {
        up.add_api_key(key);
        api_keys.push(key.clone());
        let name = name.clone().unwrap_or_else(|| {
            if i == 0 {
                "apikey".to_owned()
            } else {
                format!("apikey{}", i + 1)
            }
        });
        profiles.push((
            name,
            json!({"auth_mode": "apikey", "OPENAI_API_KEY": key}),
            json!({"kind": "api_key", "email": null, "account_id": null, "plan": null}),
        ));
    }

    let mut described = Vec::new();
    if let Some(home) = &o.codex_home {
        std::fs::create_dir_all(home).map_err(|e| format!("create {}: {e}", home.display()))?;
        let active = o
            .active
            .clone()
            .or_else(|| profiles.first().map(|p| p.0.clone()));
        if let Some(a) = active
            .as_ref()
            .filter(|a| !profiles.iter().any(|p| &p.0 == *a))
        {
            return Err(format!("--active {a}: no such profile"));
        }
        for (name, auth, desc) in &profiles {
            let path = home.join("profiles").join(name).join("auth.json");
            write_auth(&path, auth)?;
            if active.as_deref() == Some(name.as_str()) {
                write_auth(&home.join("auth.json"), auth)?;
                std::fs::write(home.join(".current_profile"), format!("{name}\n"))
                    .map_err(|e| format!("write .current_profile: {e}"))?;
            }
            let mut d = desc.clone();
            d["name"] = json!(name);
            d["path"] = json!(path.display().to_string());
            d["active"] = json!(active.as_deref() == Some(name.as_str()));
            described.push(d);
        }
    } else {
        for (name, _, desc) in &profiles {
            let mut d = desc.clone();
            d["name"] = json!(name);
            d["path"] = Value::Null;
            described.push(d);
        }
    }

    let summary = json!({
        "base_url": up.base_url(),
        "issuer_url": up.issuer_url(),
        "token_url": up.token_url(),
        "chatgpt_base_url": up.chatgpt_base_url(),
        "openai_base_url": up.openai_base_url(),
        "usage_url": up.usage_url(),
        "control_url": format!("{}/_fake", up.base_url()),
        "profiles": described,
        "api_keys": api_keys,
    });
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", up.base_url()).map_err(|e| e.to_string())?;
        writeln!(out, "{summary}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    eprintln!(
        "fake-upstream: serving on {} (Ctrl-C to stop)",
        up.base_url()
    );
    up.serve_forever();
    Ok(())
}
