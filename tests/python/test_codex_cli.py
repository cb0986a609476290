"""End-to-end: the real Codex CLI (from npm) using Codex Router as its model provider.

`codex-router setup-codex` writes the provider into CODEX_HOME/config.toml, then `codex exec`
runs against `codex-router serve` and the fake upstream. Every test runs with each Codex CLI
it finds: the pinned one at $CODEX_CLI and the newest release at $CODEX_CLI_LATEST
(scripts/test installs both from npm and sets them; `scripts/codex-compat VERSION` points
$CODEX_CLI_LATEST at any other version). A CLI that is missing is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import ROUTER_BIN, start_stack, stop_stack

CLIS = {
    "pinned": Path(os.environ.get("CODEX_CLI", "/nonexistent/codex")),
    "latest": Path(os.environ.get("CODEX_CLI_LATEST", "/nonexistent/codex-latest")),
}


@pytest.fixture(params=sorted(CLIS))
def cli(request) -> Path:
    path = CLIS[request.param]
    if not path.exists():
        pytest.skip(f"no Codex CLI at {path} ({request.param})")
    return path

# The user's own settings, which setup-codex must keep. `chatgpt_base_url` keeps Codex's
# other ChatGPT traffic (connectors, usage) on the fake upstream: nothing leaves 127.0.0.1.
USER_CONFIG = """\
# my Codex settings
model = "gpt-5.5"  # the model I like
chatgpt_base_url = "{upstream}/backend-api/"

[tui]
notifications = false
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = start_stack(tmp_path_factory.mktemp("codex-cli-home"), USER_CONFIG)
    port = s.base_url.rsplit(":", 1)[1].split("/")[0]
    r = s.cli("setup-codex", "--port", port)
    assert r.returncode == 0, r.stderr
    again = s.cli("setup-codex", "--port", port)
    assert "nothing to change" in again.stdout
    yield s
    stop_stack(s)


def codex(stack, cli: Path, prompt: str, cwd: Path, *config: str) -> subprocess.CompletedProcess:
    env = dict(stack.env)
    env.pop("OPENAI_API_KEY", None)
    overrides = [arg for c in config for arg in ("-c", c)]
    return subprocess.run(
        [str(cli), "exec", "--skip-git-repo-check",
         "--dangerously-bypass-approvals-and-sandbox", *overrides, prompt],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )


def backend_requests(stack) -> list[dict]:
    out = []
    for r in stack.requests("/backend-api/codex/responses"):
        r["headers"] = {k: v for k, v in r["headers"]}
        r["json"] = json.loads(r["body"])
        out.append(r)
    return out


def test_setup_codex_keeps_the_users_lines(stack):
    text = (stack.home / "config.toml").read_text()
    for line in USER_CONFIG.replace("{upstream}", stack.upstream).splitlines():
        assert line in text
    assert 'model_provider = "codex-router"' in text
    assert f'base_url = "{stack.base_url}"' in text
    assert 'wire_api = "responses"' in text


def test_codex_exec_through_the_router(stack, cli, tmp_path):
    assert stack.cli("switch", "alice").returncode == 0
    before = len(backend_requests(stack))
    r = codex(stack, cli, "Say hello", tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "You said: Say hello" in r.stdout
    sent = backend_requests(stack)[before:]
    assert sent, "Codex's request did not reach the backend"
    h = sent[-1]["headers"]
    assert h["chatgpt-account-id"] == "acct-alice"
    assert h["originator"] == "codex_cli_rs"
    # Codex's session headers went through.
    assert any(k in h for k in ("session_id", "session-id", "thread-id", "x-client-request-id"))
    body = sent[-1]["json"]
    assert body["stream"] is True and body["store"] is False and isinstance(body["input"], list)


def test_a_switch_during_a_running_codex_session_takes_effect_at_its_next_request(stack, cli, tmp_path):
    """The model asks Codex to run `codex-router switch bob`; Codex's next request (with the
    command's output) goes out as bob, in the same session, with no restart."""
    assert stack.cli("switch", "alice").returncode == 0
    before = len(backend_requests(stack))
    cmd = f"CODEX_HOME='{stack.home}' '{ROUTER_BIN}' switch bob"
    stack.knobs(next_response={"function_calls": [
        {"name": "exec_command", "arguments": json.dumps({"cmd": cmd})}]})
    r = codex(stack, cli, "Switch the account, please", tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Tool result:" in r.stdout and "Switched to 'bob'" in r.stdout
    sent = backend_requests(stack)[before:]
    accounts = [s["headers"]["chatgpt-account-id"] for s in sent]
    assert accounts[0] == "acct-alice" and accounts[-1] == "acct-bob", accounts
    sessions = {s["headers"].get("session-id") or s["headers"].get("session_id") for s in sent}
    assert len(sessions) == 1, "one Codex session throughout"


def test_codex_built_in_provider_with_openai_base_url(stack, cli, tmp_path):
    """The other way to point Codex at the router: its built-in provider with
    `openai_base_url`. Codex then speaks the Responses API's WebSocket mode, which the router
    relays to the backend's socket (each `response.create` logged as a WEBSOCKET request)."""
    assert stack.cli("switch", "alice").returncode == 0
    before = len(backend_requests(stack))
    r = codex(stack, cli, "Say hello again", tmp_path,
              'model_provider="openai"', f'openai_base_url="{stack.base_url}"')
    assert r.returncode == 0, r.stderr[-3000:]
    assert "You said: Say hello again" in r.stdout
    sent = backend_requests(stack)[before:]
    assert sent and sent[-1]["headers"]["chatgpt-account-id"] == "acct-alice"
    # Every request went over the socket: no refused upgrade, no HTTP fallback.
    assert [s["method"] for s in sent] == ["WEBSOCKET"] * len(sent)
    assert sent[-1]["headers"]["openai-beta"].startswith("responses_websockets=")
    assert "content-encoding" not in sent[-1]["headers"]


def test_a_switch_takes_effect_at_the_next_turn_over_the_websocket(stack, cli, tmp_path):
    """With the built-in provider (WebSocket mode), a switch during a running session closes
    the socket at the end of the response; Codex reconnects and its next request, with its
    whole context, goes out as the new account over a new socket."""
    assert stack.cli("switch", "alice").returncode == 0
    before = len(backend_requests(stack))
    cmd = f"CODEX_HOME='{stack.home}' '{ROUTER_BIN}' switch bob"
    stack.knobs(next_response={"function_calls": [
        {"name": "exec_command", "arguments": json.dumps({"cmd": cmd})}]})
    r = codex(stack, cli, "Switch the account over the socket", tmp_path,
              'model_provider="openai"', f'openai_base_url="{stack.base_url}"')
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Switched to 'bob'" in r.stdout
    sent = backend_requests(stack)[before:]
    assert [s["method"] for s in sent] == ["WEBSOCKET"] * len(sent)
    accounts = [s["headers"]["chatgpt-account-id"] for s in sent]
    assert accounts[0] == "acct-alice" and accounts[-1] == "acct-bob", accounts
    # The new account's first request carries the tool's output: the context came along.
    last = sent[-1]["json"]
    assert "previous_response_id" not in last or not last["previous_response_id"]
    assert "Switched to 'bob'" in json.dumps(last["input"])


def test_codex_built_in_provider_with_its_chatgpt_calls_through_the_router(stack, cli, tmp_path):
    """`setup-codex --chatgpt`: Codex's own ChatGPT calls (workspace discovery, settings,
    plugins) reach the backend through the router as the serving account, and its model
    requests stay on the router (the discovery does not move them)."""
    assert stack.cli("switch", "bob").returncode == 0
    port = stack.base_url.rsplit(":", 1)[1].split("/")[0]
    r = stack.cli("setup-codex", "--port", port, "--chatgpt")
    assert r.returncode == 0, r.stderr
    text = (stack.home / "config.toml").read_text()
    assert f'chatgpt_base_url = "http://127.0.0.1:{port}/backend-api/"' in text
    try:
        before = len(backend_requests(stack))
        checks = len(stack.requests("/backend-api/wham/accounts/check"))
        r = codex(stack, cli, "Say hello through everything", tmp_path,
                  'model_provider="openai"', f'openai_base_url="{stack.base_url}"')
        assert r.returncode == 0, r.stderr[-3000:]
        assert "You said: Say hello through everything" in r.stdout
        sent = backend_requests(stack)[before:]
        assert sent and sent[-1]["headers"]["chatgpt-account-id"] == "acct-bob"
        # The turn went over the socket, with no refused upgrade and HTTP fallback first.
        assert [s["method"] for s in sent] == ["WEBSOCKET"] * len(sent)
        discovery = stack.requests("/backend-api/wham/accounts/check")[checks:]
        assert discovery, "Codex's workspace discovery did not come through the router"
        headers = {k: v for k, v in discovery[-1]["headers"]}
        assert headers["chatgpt-account-id"] == "acct-bob"
    finally:
        r = stack.cli("setup-codex", "--port", port)
        assert r.returncode == 0, r.stderr
        restored = (stack.home / "config.toml").read_text()
        assert f'chatgpt_base_url = "{stack.upstream}/backend-api/"' in restored
        assert "codex-router replaced: chatgpt_base_url" not in restored
