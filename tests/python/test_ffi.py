"""The FFI as an embedding tool uses it: the generated `codex_router` module (uniffi) and its
shared library, loaded from a folder made by `scripts/bindings python DIR`.

scripts/test generates the bindings and points CODEX_ROUTER_PY_BINDINGS at them; run alone,
this file generates them into target/bindings/python. Every CODEX_HOME here is a temporary
folder whose upstreams point at a closed loopback port: nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import importlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROUTER_BIN = Path(os.environ.get("CODEX_ROUTER_BIN", ROOT / "target/debug/codex-router"))
FAKE_BIN = Path(os.environ.get("FAKE_UPSTREAM_BIN", ROOT / "target/debug/fake-upstream"))
OFFLINE = "http://127.0.0.1:9"
SWIFT_BINDINGS = ROOT / "swift-app/Sources/CodexRouter"


# ---- loading the module ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cr():
    """The generated module, imported from its folder like any embedding tool would."""
    folder = os.environ.get("CODEX_ROUTER_PY_BINDINGS")
    if not folder:
        folder = str(ROOT / "target/bindings/python")
        subprocess.run([str(ROOT / "scripts/bindings"), "python", folder], check=True)
    sys.path.insert(0, folder)
    try:
        module = importlib.import_module("codex_router")
    finally:
        sys.path.remove(folder)
    assert Path(module.__file__).parent == Path(folder).resolve()
    return module


# ---- auth.json files, built here like tests/src/jwt.rs and tests/src/home.rs ---------------


def _b64url(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def jwt(payload: dict) -> str:
    """An unsigned JWT (alg none), shaped like the issuer's."""
    return f"{_b64url({'alg': 'none', 'typ': 'JWT'})}.{_b64url(payload)}.sig"


def _iso(secs: int) -> str:
    return datetime.fromtimestamp(secs, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chatgpt_auth(who: str, plan: str = "plus", generation: int = 1, valid: int = 3600) -> dict:
    """A ChatGPT login of `who` as Codex writes it; a higher `generation` is a newer refresh."""
    now = int(time.time())
    claims = {
        "chatgpt_plan_type": plan,
        "chatgpt_user_id": f"user-{who}",
        "user_id": f"user-{who}",
        "chatgpt_account_id": f"acct-{who}",
    }
    return {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": jwt({
                "iss": "https://auth.openai.com", "aud": ["app_EMoamEEZ73f0CkXaXp7hrann"],
                "email": f"{who}@example.com", "email_verified": True,
                "iat": now, "exp": now + valid, "https://api.openai.com/auth": claims,
            }),
            "access_token": jwt({
                "iss": "https://auth.openai.com", "aud": ["https://api.openai.com/v1"],
                "iat": now + generation, "exp": now + valid + generation,
                "jti": f"{who}-{generation}-SECRETACCESS",
                "https://api.openai.com/profile": {"email": f"{who}@example.com"},
                "https://api.openai.com/auth": claims,
            }),
            "refresh_token": f"rt-{who}-{generation}-SECRETREFRESH",
            "account_id": f"acct-{who}",
        },
        "last_refresh": _iso(now - 1000 + generation),
    }


def api_key_auth(key: str) -> dict:
    return {"auth_mode": "apikey", "OPENAI_API_KEY": key}


class Home:
    """A temporary CODEX_HOME whose upstreams refuse connections (loopback port 9)."""

    def __init__(self, path: Path):
        self.path = path
        self.write("router/state.json", {"upstream": {
            "auth_issuer": OFFLINE,
            "chatgpt_base_url": f"{OFFLINE}/backend-api/codex",
            "openai_base_url": f"{OFFLINE}/v1",
        }})

    def write(self, rel: str, value) -> None:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(value if isinstance(value, str) else json.dumps(value, indent=2))

    def profile(self, name: str, value) -> None:
        self.write(f"profiles/{name}/auth.json", value)

    def auth(self, value) -> None:
        self.write("auth.json", value)

    def read(self, rel: str) -> dict:
        return json.loads((self.path / rel).read_text())


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path)


@pytest.fixture
def open_router(cr):
    """Opens routers and, at the end of the test, stops their listeners: a listener called
    while the interpreter shuts down would abort it (a failed test keeps its router alive)."""
    routers = []

    def open_(path):
        router = cr.Router(str(path))
        routers.append(router)
        return router

    yield open_
    for router in routers:
        router.unsubscribe_all()


class Events:
    """A RouterListener collecting events; `wait_for` blocks until one matches."""

    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def on_event(self, event) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait_for(self, match, timeout: float = 2.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for e in self.events:
                    if match(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching event in {timeout}s; got {self.events}")
                self.cond.wait(left)


def fields(record) -> dict:
    """A record's fields, nested records and enums included, as plain data."""
    if isinstance(record, list):
        return [fields(r) for r in record]
    if isinstance(record, enum.Enum):
        return record.name
    if hasattr(record, "__dict__"):
        return {k: fields(v) for k, v in vars(record).items()}
    return record


# ---- tests ----------------------------------------------------------------------------------


def test_lists_good_and_broken_profiles(cr, home):
    home.profile("work", chatgpt_auth("alice", "team"))
    home.profile("old", chatgpt_auth("bob", valid=-60))
    home.profile("key", api_key_auth("sk-proj-SECRETKEY"))
    home.profile("broken", "{not json")
    home.profile("dead", chatgpt_auth("carol"))
    home.write("profiles/dead/router.json", {"needs_sign_in": {
        "code": "refresh_token_reused", "message": "the refresh token was already used",
        "at": "2026-01-01T00:00:00Z",
        "token_fingerprint": hashlib.sha256(b"rt-carol-1-SECRETREFRESH").hexdigest()[:24],
    }})
    home.auth(chatgpt_auth("alice", "team"))
    router = cr.Router(str(home.path))

    profiles = {p.name: p for p in router.list_profiles()}
    assert list(profiles) == ["broken", "dead", "key", "old", "work"]
    work = profiles["work"]
    assert (work.email, work.plan, work.account_id, work.auth_mode) == (
        "alice@example.com", "team", "acct-alice", "chatgpt")
    assert work.active and work.state == cr.ProfileState.OK and work.error is None
    assert datetime.fromisoformat(work.expires_at.replace("Z", "+00:00")) > datetime.now(timezone.utc)
    assert work.expires_at.endswith("Z") and work.last_refresh.endswith("Z")
    assert work.usage is None
    assert [p.name for p in profiles.values() if p.active] == ["work"]

    assert profiles["old"].state == cr.ProfileState.EXPIRED and profiles["old"].error is None
    key = profiles["key"]
    assert (key.auth_mode, key.expires_at, key.email, key.state) == (
        "api_key", None, None, cr.ProfileState.OK)
    broken = profiles["broken"]
    assert broken.state == cr.ProfileState.INVALID and broken.auth_mode is None
    assert "JSON" in broken.error or "json" in broken.error
    dead = profiles["dead"]
    assert dead.state == cr.ProfileState.NEEDS_SIGN_IN
    assert dead.error == "needs sign-in: the refresh token was already used"

    assert router.current_profile() == "work"
    status = router.status()
    assert (status.profile, status.email, status.plan, status.error) == (
        "work", "alice@example.com", "team", None)


@pytest.mark.skipif(not ROUTER_BIN.exists(), reason="target/debug/codex-router is not built")
def test_records_mean_what_list_json_says(cr, home):
    home.profile("work", chatgpt_auth("alice", "pro"))
    home.profile("key", api_key_auth("sk-proj-SECRETKEY"))
    home.profile("broken", "{}")
    home.auth(chatgpt_auth("alice", "pro"))
    out = subprocess.run([str(ROUTER_BIN), "list", "--json"], capture_output=True, text=True,
                         env={**os.environ, "CODEX_HOME": str(home.path)}, check=True, timeout=20)
    cli = json.loads(out.stdout)
    ffi = cr.Router(str(home.path)).list_profiles()
    assert [c["name"] for c in cli] == [p.name for p in ffi]
    for c, p in zip(cli, ffi):
        for key in ("email", "plan", "account_id", "auth_mode", "expires_at", "active", "error"):
            assert c[key] == getattr(p, key), (p.name, key)
        assert c["state"] == {cr.ProfileState.OK: "ok", cr.ProfileState.EXPIRED: "expired",
                              cr.ProfileState.NEEDS_SIGN_IN: "needs_sign_in",
                              cr.ProfileState.INVALID: "invalid"}[p.state]
        assert c["usage"] is None and p.usage is None


def test_switch_copies_newer_tokens_back_first(cr, home):
    home.profile("a", chatgpt_auth("alice", generation=1))
    home.profile("b", chatgpt_auth("bob", generation=1))
    home.auth(chatgpt_auth("alice", generation=1))
    router = cr.Router(str(home.path))
    assert router.current_profile() == "a"
    # Codex refreshed alice's login in auth.json: the profile's refresh token is now used up.
    newer = chatgpt_auth("alice", generation=2)
    home.auth(newer)

    done = router.switch_profile("b")
    assert (done.name, done.previous, done.synced_back, done.warnings) == ("b", "a", ["a"], [])
    assert home.read("profiles/a/auth.json")["tokens"]["refresh_token"] == "rt-alice-2-SECRETREFRESH"
    assert home.read("profiles/a/auth.json")["tokens"] == newer["tokens"]
    assert home.read("auth.json")["tokens"]["refresh_token"] == "rt-bob-1-SECRETREFRESH"
    assert (home.path / ".current_profile").read_text().strip() == "b"
    assert router.current_profile() == "b"
    assert [p.name for p in router.list_profiles() if p.active] == ["b"]

    # And back: nothing newer this time.
    again = router.switch_profile("a")
    assert again.synced_back == []
    assert home.read("auth.json")["tokens"]["refresh_token"] == "rt-alice-2-SECRETREFRESH"


def test_errors_are_typed_with_readable_messages(cr, home):
    home.profile("a", chatgpt_auth("alice"))
    home.profile("broken", "{not json")
    home.profile("k", api_key_auth("sk-proj-SECRETKEY"))
    home.auth(chatgpt_auth("alice"))
    router = cr.Router(str(home.path))

    for bad in ["../x", "a/b", "", ".hidden", "x" * 65, "with space"]:
        with pytest.raises(cr.RouterError.BadName) as e:
            router.switch_profile(bad)
        assert "profile name" in str(e.value)
    with pytest.raises(cr.RouterError.NotFound, match="no profile named 'nope'"):
        router.switch_profile("nope")
    with pytest.raises(cr.RouterError.NotFound):
        router.remove_profile("nope")
    with pytest.raises(cr.RouterError.Unusable, match="broken"):
        router.switch_profile("broken")
    with pytest.raises(cr.RouterError.Exists):
        router.rename_profile("a", "broken")
    with pytest.raises(cr.RouterError.Exists, match="already saved as profile 'a'"):
        router.save_profile("again")
    with pytest.raises(cr.RouterError.Invalid):
        router.start_proxy("not-a-host", 0)
    with pytest.raises(cr.RouterError.BadName):
        router.start_login("../x")
    with pytest.raises(cr.RouterError.Exists):
        router.start_login("k")
    with pytest.raises(cr.RouterError.Invalid, match="not a ChatGPT login"):
        asyncio.run(router.refresh_profile("k"))
    with pytest.raises(cr.RouterError.NotFound):
        asyncio.run(router.refresh_profile("nope"))
    # Every variant is a RouterError, and a plain Exception for generic handlers.
    with pytest.raises(cr.RouterError):
        router.remove_profile("nope")

    # A login that no profile holds is not dropped unless forced.
    home.auth(chatgpt_auth("eve"))
    with pytest.raises(cr.RouterError.UnsavedLogin, match="would be lost"):
        router.switch_profile("a")
    forced = router.switch_profile("a", force=True)
    assert len(forced.warnings) == 1 and "eve@example.com" in forced.warnings[0]

    # A broken settings file stops the constructor with its own variant.
    home.write("router/state.json", "{oops")
    with pytest.raises(cr.RouterError.Settings, match="state.json"):
        cr.Router(str(home.path))
    # A Codex home that is a file.
    with pytest.raises(cr.RouterError.Io):
        cr.Router(str(home.path / "auth.json"))


def test_listener_hears_a_profile_appear_on_disk(cr, home, open_router):
    home.profile("a", chatgpt_auth("alice"))
    home.auth(chatgpt_auth("alice"))
    router = open_router(home.path)
    events = Events()
    router.subscribe(events)

    start = time.monotonic()
    home.profile("b", chatgpt_auth("bob"))
    events.wait_for(lambda e: e.is_PROFILES_CHANGED(), timeout=2.0)
    assert time.monotonic() - start < 2.0
    assert [p.name for p in router.list_profiles()] == ["a", "b"]

    # Another program (Codex, the CLI) puts bob's login in place.
    home.auth(chatgpt_auth("bob"))
    switched = events.wait_for(lambda e: e.is_SWITCHED(), timeout=2.0)
    assert (switched.previous, switched.current) == ("a", "b")


def test_failover_toggle_is_written_and_heard(cr, home, open_router):
    home.profile("a", chatgpt_auth("alice"))
    router = open_router(home.path)
    events = Events()
    router.subscribe(events)
    assert router.failover_enabled() is False

    router.set_failover_enabled(True)
    assert router.failover_enabled() is True
    state = home.read("router/state.json")
    assert state["failover"] == {"enabled": True}
    assert state["upstream"]["auth_issuer"] == OFFLINE, "the rest of the file is kept"
    events.wait_for(lambda e: e.is_SETTINGS_CHANGED(), timeout=2.0)

    # A broken state.json is refused with a typed error and left as it was.
    (home.path / "router/state.json").write_text("{broken")
    with pytest.raises(cr.RouterError.Settings) as e:
        router.set_failover_enabled(False)
    assert "state.json is broken" in str(e.value)
    assert (home.path / "router/state.json").read_text() == "{broken"


def test_proxy_starts_and_stops(cr, home, open_router):
    home.profile("k", api_key_auth("sk-proj-SECRETKEY"))
    home.auth(api_key_auth("sk-proj-SECRETKEY"))
    router = open_router(home.path)
    events = Events()
    router.subscribe(events)
    state = router.proxy_state()
    assert not state.running and state.address is None
    assert (state.host, state.port) == ("127.0.0.1", 9876)

    address = router.start_proxy("127.0.0.1", 0)
    assert address.startswith("http://127.0.0.1:") and address.endswith("/v1")
    base = address[: -len("/v1")]
    with urllib.request.urlopen(f"{base}/health", timeout=10) as r:
        assert r.status == 200
        health = json.loads(r.read())
    assert health["profile"] == "k"
    assert "SECRET" not in json.dumps(health)
    state = router.proxy_state()
    assert state.running and state.address == address
    events.wait_for(lambda e: e.is_PROXY_STARTED() and e.address == address)

    router.stop_proxy()
    events.wait_for(lambda e: e.is_PROXY_STOPPED())
    assert not router.proxy_state().running
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{base}/health", timeout=5)
    router.stop_proxy()  # stopping again is fine


@pytest.mark.skipif(not FAKE_BIN.exists(), reason="target/debug/fake-upstream is not built")
def test_the_apps_endpoint_keeps_serves_promises(cr, home, open_router):
    """The endpoint the apps start (Router.start_proxy) is the one `serve` runs: a local key
    required in state.json is required here too, and /health names no profile without it."""
    fake = subprocess.Popen([str(FAKE_BIN), "--codex-home", str(home.path), "--accounts", "alice"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fake.stdout.readline()
        info = json.loads(fake.stdout.readline())
        home.write("router/state.json", {
            "upstream": {
                "auth_issuer": info["issuer_url"],
                "chatgpt_base_url": info["chatgpt_base_url"],
                "openai_base_url": info["openai_base_url"],
            },
            "proxy": {"require_key": True, "key": "app-local-key"},
        })
        router = open_router(home.path)
        base = router.start_proxy("127.0.0.1", 0)[: -len("/v1")]

        def get(path, key=None):
            req = urllib.request.Request(f"{base}{path}")
            if key:
                req.add_header("Authorization", f"Bearer {key}")
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())

        status, body = get("/v1/models")
        assert status == 401 and body["error"]["code"] == "invalid_api_key"
        status, body = get("/v1/models", "wrong-key")
        assert status == 401
        status, body = get("/v1/models", "app-local-key")
        assert status == 200 and body["object"] == "list"
        assert get("/health") == (200, {"status": "ok"})
        status, body = get("/health", "app-local-key")
        assert body["profile"] == "alice"
        # A path that tries to leave the backend's base never reaches it.
        status, body = get("/v1/%2e%2e/%2e%2e/backend-api/conversations", "app-local-key")
        assert status == 400 and body["error"]["code"] == "invalid_path"
        router.stop_proxy()

        # Required without any key set: the app says so instead of serving unprotected.
        home.write("router/state.json", {"proxy": {"require_key": True}})
        with pytest.raises(cr.RouterError) as err:
            router.start_proxy("127.0.0.1", 0)
        assert "CODEX_ROUTER_KEY" in str(err.value)
        assert not router.proxy_state().running
    finally:
        fake.terminate()
        fake.wait()


def test_add_api_key(cr, home):
    router = cr.Router(str(home.path))
    result = router.add_api_key("work-key", "  sk-proj-SECRETKEY1\n")
    assert (result.profile, result.stored) == ("work-key", cr.LoginStored.CREATED)
    assert home.read("profiles/work-key/auth.json")["OPENAI_API_KEY"] == "sk-proj-SECRETKEY1"
    assert oct((home.path / "profiles/work-key/auth.json").stat().st_mode & 0o777) == "0o600"
    (p,) = router.list_profiles()
    assert (p.name, p.auth_mode, p.state) == ("work-key", "api_key", cr.ProfileState.OK)

    # The same key under another name updates the profile that has it.
    again = router.add_api_key("other", "sk-proj-SECRETKEY1")
    assert (again.profile, again.stored) == ("work-key", cr.LoginStored.UPDATED_EXISTING)
    with pytest.raises(cr.RouterError.Exists):
        router.add_api_key("work-key", "sk-proj-SECRETKEY2")
    replaced = router.add_api_key("work-key", "sk-proj-SECRETKEY2", force=True)
    assert replaced.stored == cr.LoginStored.REPLACED
    for bad in ["", "two words", "line\nbreak"]:
        with pytest.raises(cr.RouterError.Invalid):
            router.add_api_key("k2", bad)
    with pytest.raises(cr.RouterError.BadName):
        router.add_api_key("a/b", "sk-proj-SECRETKEY3")


def test_no_record_or_error_carries_a_secret(cr, home, open_router):
    home.profile("a", chatgpt_auth("alice"))
    home.profile("b", chatgpt_auth("bob"))
    home.auth(chatgpt_auth("alice", generation=2))
    home.profile("broken", "{not json")
    router = open_router(home.path)
    events = Events()
    router.subscribe(events)
    seen = []
    seen.append(fields(router.add_api_key("key", "sk-proj-SECRETKEY")))
    seen.append(fields(router.switch_profile("b")))
    seen.append(fields(router.list_profiles()))
    seen.append(fields(router.status()))
    seen.append(fields(router.proxy_state()))
    for call in (lambda: router.switch_profile("broken"), lambda: router.add_api_key("key", "sk-x y")):
        with pytest.raises(cr.RouterError) as e:
            call()
        seen.append(str(e.value))
    events.wait_for(lambda e: e.is_PROFILES_CHANGED())
    seen.append([str(e) for e in events.events])
    text = json.dumps(seen, default=str)
    assert "SECRET" not in text
    assert "sk-" not in text
    tokens = chatgpt_auth("alice")["tokens"]
    assert tokens["id_token"].split(".")[0] not in text  # no JWT at all
    assert "alice@example.com" in text  # the check above would see one


@pytest.mark.skipif(not FAKE_BIN.exists(), reason="target/debug/fake-upstream is not built")
def test_refresh_is_async_and_reports_each_profile(cr, home, open_router):
    fake = subprocess.Popen([str(FAKE_BIN), "--codex-home", str(home.path), "--accounts", "alice,bob",
                             "--access-ttl", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fake.stdout.readline()
        info = json.loads(fake.stdout.readline())
        home.write("router/state.json", {"upstream": {
            "auth_issuer": info["issuer_url"],
            "chatgpt_base_url": info["chatgpt_base_url"],
            "openai_base_url": info["openai_base_url"],
        }})
        router = open_router(home.path)
        events = Events()
        router.subscribe(events)
        before = {p.name: p.expires_at for p in router.list_profiles()}

        async def both():
            # The event loop stays free while the refresh runs on the router's thread.
            ticks = 0

            async def tick():
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.001)

            ticker = asyncio.create_task(tick())
            one = await router.refresh_profile("alice")
            every = await router.refresh_profile()
            ticker.cancel()
            return one, every, ticks

        one, every, ticks = asyncio.run(both())
        assert ticks > 0
        assert [(r.profile, r.refreshed, r.error) for r in one] == [("alice", True, None)]
        assert [r.profile for r in every] == ["alice", "bob"]
        assert all(r.error is None and not r.needs_sign_in for r in every)
        events.wait_for(lambda e: e.is_TOKENS_REFRESHED() and e.profile == "bob")
        after = {p.name: p.expires_at for p in router.list_profiles()}
        assert after["bob"] >= before["bob"]
        assert "SECRET" not in json.dumps(fields(every))
    finally:
        fake.kill()
        fake.wait()


def _start_fake(*args: str):
    """The fake upstream (target/debug/fake-upstream) and its URLs."""
    fake = subprocess.Popen([str(FAKE_BIN), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    fake.stdout.readline()
    return fake, json.loads(fake.stdout.readline())


@pytest.mark.skipif(not FAKE_BIN.exists(), reason="target/debug/fake-upstream is not built")
def test_device_sign_in_shows_a_code_then_saves_the_profile(cr, home, open_router):
    fake, info = _start_fake("--accounts", "carol:team", "--device-poll-interval", "0",
                             "--device-pending-polls", "2")
    try:
        home.write("router/state.json", {"upstream": {
            "auth_issuer": info["issuer_url"],
            "chatgpt_base_url": info["chatgpt_base_url"],
            "openai_base_url": info["openai_base_url"],
        }})
        router = open_router(home.path)

        async def sign_in():
            login = await router.start_device_login("carol")
            return login, await login.wait()

        login, result = asyncio.run(sign_in())
        assert login.verification_url() == f"{info['issuer_url']}/codex/device"
        assert login.user_code() and login.user_code() in login.prompt()
        assert (result.profile, result.stored) == ("carol", cr.LoginStored.CREATED)
        assert result.summary == "Signed in as carol@example.com (team); saved as profile 'carol'."
        assert home.read("profiles/carol/auth.json")["tokens"]["account_id"]
        (p,) = router.list_profiles()
        assert (p.name, p.email, p.state) == ("carol", "carol@example.com", cr.ProfileState.OK)

        async def cancelled():
            waiting = await router.start_device_login("dave", force=False)
            waiting.cancel()
            await waiting.wait()

        urllib.request.urlopen(urllib.request.Request(
            f"{info['control_url']}/knobs",
            data=json.dumps({"device_pending_polls": 1_000_000}).encode(),
            headers={"content-type": "application/json"}, method="POST"), timeout=10).read()
        with pytest.raises(cr.RouterError.Cancelled):
            asyncio.run(cancelled())
        assert not (home.path / "profiles/dave").exists()
        with pytest.raises(cr.RouterError.Exists):
            asyncio.run(router.start_device_login("carol"))
    finally:
        fake.kill()
        fake.wait()


def test_setting_codex_up_and_removing_it_leaves_its_config_as_it_was(cr, home):
    mine = '# mine\nmodel = "gpt-5.5"  # favourite\nmodel_provider = "ollama"\n\n[tui]\nx = 1\n'
    home.write("config.toml", mine)
    router = cr.Router(str(home.path))
    before = router.codex_setup_state()
    assert (before.added, before.is_default) == (False, False)
    assert before.summary == "Codex is not set up to use Codex Router."
    change = router.setup_codex()
    assert change.changed and change.provider_id == "codex-router"
    assert change.summary[0].startswith("Added the model provider 'codex-router' (http://127.0.0.1:9876/v1)")
    text = (home.path / "config.toml").read_text()
    assert 'model_provider = "codex-router"' in text and 'model = "gpt-5.5"  # favourite' in text
    state = router.codex_setup_state()
    assert (state.added, state.is_default, state.current, state.env_key) == (True, True, True, False)
    assert state.base_url == "http://127.0.0.1:9876/v1"
    # The CLI sees the same set-up, and the removal puts back the user's provider.
    out = subprocess.run([str(ROUTER_BIN), "setup-codex"], capture_output=True, text=True,
                         env={**os.environ, "CODEX_HOME": str(home.path)}, timeout=20)
    assert "nothing to change" in out.stdout, out
    removed = router.remove_codex_setup()
    assert removed.changed
    assert removed.summary == [f"Removed the model provider 'codex-router' from {home.path / 'config.toml'}; "
                               'Codex uses model_provider "ollama" again.']
    assert (home.path / "config.toml").read_text() == mine
    home.write("config.toml", "model = [")
    with pytest.raises(cr.RouterError.CodexConfig):
        router.setup_codex(port=1)
    assert (home.path / "config.toml").read_text() == "model = ["


def test_setting_claude_code_up_and_removing_it_keeps_its_other_settings(cr, home, tmp_path, monkeypatch):
    claude = tmp_path / "claude"
    claude.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    settings = claude / "settings.json"
    settings.write_text('{"theme": "dark"}')
    router = cr.Router(str(home.path))
    before = router.claude_setup_state()
    assert (before.added, before.base_url) == (False, None)
    assert before.summary == "Claude Code is not set up to use Codex Router."
    change = router.setup_claude(profile="work")
    assert change.changed and change.base_url == "http://127.0.0.1:9876/p/work"
    assert change.summary == [f"Claude Code now sends to http://127.0.0.1:9876/p/work ({settings})"]
    doc = json.loads(settings.read_text())
    assert doc["theme"] == "dark" and doc["env"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9876/p/work"
    state = router.claude_setup_state()
    assert (state.added, state.current) == (True, True)
    assert state.summary == "Claude Code sends its requests to Codex Router (http://127.0.0.1:9876/p/work)."
    removed = router.remove_claude_setup()
    assert removed.changed and removed.base_url is None
    assert removed.summary == [f"Claude Code no longer uses the router ({settings})"]
    assert json.loads(settings.read_text()) == {"theme": "dark"}
    settings.write_text("[1]")
    with pytest.raises(cr.RouterError.ClaudeConfig):
        router.setup_claude()
    assert settings.read_text() == "[1]"


@pytest.mark.skipif(not ROUTER_BIN.exists(), reason="target/debug/codex-router is not built")
def test_the_app_and_the_cli_use_the_same_words(cr, home):
    home.profile("work", chatgpt_auth("alice", "pro", valid=3 * 86400 + 600))
    home.profile("old", chatgpt_auth("bob", valid=-7200))
    home.profile("key", api_key_auth("sk-proj-SECRETKEY"))
    home.profile("broken", "{}")
    now = int(time.time())
    home.write("profiles/work/router.json", {"usage": {
        "plan": "pro", "updated_at": now, "limited_until": None, "credits": None,
        "primary": {"used_percent": 42.4, "window_minutes": 300, "resets_at": None},
        "secondary": {"used_percent": 17, "window_minutes": 1440, "resets_at": None}}})
    router = cr.Router(str(home.path))
    records = {p.name: p for p in router.list_profiles()}
    # Usage figures younger than a minute are not fetched again: `list` shows these.
    out = subprocess.run([str(ROUTER_BIN), "list"], capture_output=True, text=True,
                         env={**os.environ, "CODEX_HOME": str(home.path)}, check=True, timeout=20)
    for line in out.stdout.splitlines()[1:]:
        name = line[2:].split()[0]
        assert line.endswith(records[name].token_state.text), (line, records[name].token_state)
    assert records["old"].token_state.text == "expired 2 hours ago, renewed at next use"
    assert records["old"].token_state.tone == cr.Tone.WARN
    assert records["broken"].token_state.tone == cr.Tone.ERROR
    usage = records["work"].usage
    assert usage.summary.text == "5 h 42% \u00b7 day 17%"
    assert usage.summary.text in out.stdout
    assert [usage.primary.label, usage.secondary.label] == ["5 h", "day"]
    assert usage.primary.bar.text == "5 h: 42%" and abs(usage.primary.bar.fraction - 0.424) < 1e-6
    assert cr.window_label(1440) == "day" and cr.window_label(300) == "5 h"
    assert cr.window_label(10080) == "week" and cr.window_label(2880) == "2 d"
    assert "Developer: Reload Window" in cr.restart_hint()
    assert cr.plan_label("team") == "Team"
    assert cr.suggest_profile_name("alice@example.com", ["alice"]) == "alice-2"
    empty = cr.Router(str(Home(home.path / "elsewhere").path))
    assert "`codex-router login NAME`" in empty.empty_home_hint()
    assert empty.status().error == "not signed in: auth.json does not exist"


def test_swift_bindings_are_up_to_date(tmp_path):
    """The Swift app builds against a committed copy of the generated bindings (its Swift
    file, C header and modulemap); a change to the FFI must come with a regenerated copy."""
    subprocess.run([str(ROOT / "scripts/bindings"), "swift", str(tmp_path)], check=True,
                   stdout=subprocess.DEVNULL)
    names = ["codex_router.swift", "codex_routerFFI.h", "codex_routerFFI.modulemap"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for name in names:
        committed = SWIFT_BINDINGS / name
        assert committed.exists(), f"{committed} is missing"
        assert committed.read_text() == (tmp_path / name).read_text(), (
            f"{committed} is stale: run scripts/bindings swift {SWIFT_BINDINGS.relative_to(ROOT)}")


def test_phrases_for_the_swift_app_come_from_the_core(cr):
    """Sentences the Swift app shows for events and unsaved logins are the core's."""
    assert cr.who("alice@example.com", "plus", "chatgpt") == "alice@example.com (plus)"
    assert cr.who(None, None, "api_key") == "an API key"
    assert "without an email" in cr.who(None, "plus", "chatgpt")
    stamp = int(datetime(2026, 12, 1, 14, 20, tzinfo=timezone.utc).timestamp())
    when = cr.day_time(stamp)
    assert len(when.split()) == 2 and ":" in when
    moved = cr.failed_over_message("work", "personal", stamp)
    assert moved.startswith("'work' reached its usage limit; requests now go to 'personal'")
    assert when in moved
    assert cr.failed_over_message("work", "personal", None).endswith("'personal'")
    assert cr.needs_sign_in_message("work", "the refresh token was already used") == (
        "'work' needs a new sign-in: the refresh token was already used")
    assert "not saved as a profile" in cr.unsaved_login_message()


def test_notifications_arrive_as_events_once_and_each_kind_can_be_turned_off(cr, home, open_router):
    """The Swift app posts what `Notify` events carry: the core's words, once per event."""
    now = int(time.time())
    home.profile("work", chatgpt_auth("alice"))
    home.write("profiles/work/router.json", {"usage": {
        "plan": "plus", "primary": {"used_percent": 100.0, "window_minutes": 300,
                                    "resets_at": now + 7200},
        "secondary": None, "credits": None, "limited_until": now + 7200, "updated_at": now}})
    router = open_router(home.path)
    settings = router.notification_settings()
    assert settings.threshold_percent == 90
    assert [t.kind for t in settings.kinds] == [
        cr.NotificationKind.LIMIT_REACHED, cr.NotificationKind.AVAILABLE_AGAIN,
        cr.NotificationKind.THRESHOLD, cr.NotificationKind.FAILED_OVER,
        cr.NotificationKind.NEEDS_SIGN_IN]
    assert all(t.enabled and t.label for t in settings.kinds)
    router.set_notification_enabled(cr.NotificationKind.THRESHOLD, False)
    assert home.read("router/state.json")["notifications"] == {"threshold": False}
    off = [t.kind for t in router.notification_settings().kinds if not t.enabled]
    assert off == [cr.NotificationKind.THRESHOLD]

    events = Events()
    router.subscribe(events)
    router.start_notifications()
    router.start_notifications()  # twice is once
    told = events.wait_for(lambda e: isinstance(e, cr.RouterEvent.NOTIFY)).notification
    assert told.kind == cr.NotificationKind.LIMIT_REACHED
    assert (told.profile, told.title) == ("work", "'work' reached its usage limit")
    assert cr.day_time(now + 7200) in told.body
    assert told.id == f"limit_reached:work:{now + 7200}"
    assert "SECRET" not in told.title + told.body
    # Remembered beside the profile, so a restart does not tell it again.
    assert home.read("profiles/work/notified.json")["limit"] == now + 7200
    assert sum(isinstance(e, cr.RouterEvent.NOTIFY) for e in events.events) == 1


def test_autostart_through_the_ffi(cr, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert not cr.autostart_status().enabled
    on = cr.set_autostart(True)
    assert on.enabled and "starts at login" in on.words
    assert "--hidden" in (tmp_path / "autostart/codex-router.desktop").read_text()
    off = cr.set_autostart(False)
    assert not off.enabled and not (tmp_path / "autostart/codex-router.desktop").exists()


def test_usage_history_and_forecasts_for_charts(cr, home):
    """The Swift app's charts read the samples `usage NAME --history --json` prints (a damaged
    line skipped), with the core's forecast words for each window."""
    home.profile("work", chatgpt_auth("alice"))
    now = int(time.time())
    reset = now + 3 * 3600
    credits = {"has_credits": True, "unlimited": False, "balance": "3"}
    home.write("profiles/work/usage-history.jsonl", "\n".join([
        json.dumps({"t": now - 3600, "p": {"used": 20.0, "min": 300, "reset": reset}}),
        "not json",
        json.dumps({"t": now, "p": {"used": 50.0, "min": 300, "reset": reset}, "cr": credits}),
    ]) + "\n")
    router = cr.Router(str(home.path))
    h = router.usage_history("work")
    assert h.profile == "work"
    assert [s.primary.used_percent for s in h.samples] == [20.0, 50.0]
    assert h.samples[0].secondary is None and h.samples[0].credits is None
    assert h.samples[1].credits == cr.Credits(has_credits=True, unlimited=False, balance="3")
    assert h.samples[1].at_unix == now
    out = subprocess.run([str(ROUTER_BIN), "usage", "work", "--history", "--json"],
                         capture_output=True, text=True, check=True, timeout=20,
                         env={**os.environ, "CODEX_HOME": str(home.path)})
    cli = json.loads(out.stdout)
    assert [(c["at"], c["at_unix"]) for c in cli] == [(s.at, s.at_unix) for s in h.samples]
    assert [c["primary"]["resets_at"] for c in cli] == [s.primary.resets_at for s in h.samples]
    # 20% → 50% in an hour: 30%/h, so the 50% left last 1 h 40 min, before the reset in 3 h.
    (f,) = h.forecasts
    assert (f.window, f.label, f.per_hour) == ("primary", "5 h", 30.0)
    assert f.forecast.startswith("at this pace: limit around ")
    assert f.text == "5 h: 30%/h \u00b7 " + f.forecast
    assert f.tone == cr.Tone.WARN
    home.profile("new", chatgpt_auth("bob"))
    assert router.usage_history("new") == cr.UsageHistory(profile="new", samples=[], forecasts=[])
    with pytest.raises(cr.RouterError.NotFound):
        router.usage_history("nope")
    with pytest.raises(cr.RouterError.BadName):
        router.usage_history("../x")


def test_usage_periods_split_at_resets_and_chart_spans(cr, home):
    """Each sample's window carries its period, so a chart never joins two periods with a
    line across a reset; the time a chart shows is the core's."""
    home.profile("work", chatgpt_auth("alice"))
    now = int(time.time())
    lines = [{"t": now - 3 * 3600, "p": {"used": 60.0, "min": 300, "reset": now - 3600}},
             {"t": now - 2 * 3600, "p": {"used": 90.0, "min": 300, "reset": now - 3600}},
             {"t": now - 1800, "p": {"used": 5.0, "min": 300, "reset": now + 3600}},
             {"t": now, "p": {"used": 9.0, "min": 300, "reset": now + 3600}}]
    home.write("profiles/work/usage-history.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    h = cr.Router(str(home.path)).usage_history("work")
    assert [s.primary.period for s in h.samples] == [0, 0, 1, 1]
    assert cr.usage_chart_span(300) == 15 * 3600
    assert cr.usage_chart_span(10080) == 21 * 86400
    assert cr.usage_chart_span(None) == 86400
