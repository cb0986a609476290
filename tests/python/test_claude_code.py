"""End-to-end: the real Claude Code CLI (from npm) on Codex accounts through the router's
Messages routes.

`codex-router setup-claude` writes ANTHROPIC_BASE_URL into a temporary CLAUDE_CONFIG_DIR's
settings.json, then headless `claude -p` runs against `codex-router serve` and the fake
upstream. The CLI is found at $CLAUDE_CODE_CLI (scripts/test installs a pinned version from
npm and sets it); without it these tests are skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import start_stack, stop_stack

CLAUDE_CLI = Path(os.environ.get("CLAUDE_CODE_CLI", "/nonexistent/claude"))

pytestmark = pytest.mark.skipif(not CLAUDE_CLI.exists(), reason=f"no Claude Code at {CLAUDE_CLI}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = start_stack(tmp_path_factory.mktemp("claude-code-home"))
    claude_dir = tmp_path_factory.mktemp("claude-config")
    (claude_dir / "settings.json").write_text('{"theme": "dark"}')
    s.env.update({
        "CLAUDE_CONFIG_DIR": str(claude_dir),
        "HOME": str(tmp_path_factory.mktemp("user-home")),
        # Nothing but the model requests: no telemetry, error reports or update checks.
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
    })
    for var in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL"):
        s.env.pop(var, None)
    port = s.base_url.rsplit(":", 1)[1].split("/")[0]
    r = s.cli("setup-claude", "--port", port)
    assert r.returncode == 0, r.stderr
    settings = json.loads((claude_dir / "settings.json").read_text())
    assert settings["theme"] == "dark"
    assert settings["env"]["ANTHROPIC_BASE_URL"] == s.base_url.removesuffix("/v1")
    yield s
    stop_stack(s)


def claude(stack, prompt: str, cwd: Path, *args: str) -> dict:
    r = subprocess.run(
        [str(CLAUDE_CLI), "-p", prompt, "--output-format", "json", *args],
        env=stack.env, cwd=cwd, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    return json.loads(r.stdout)


def backend_requests(stack) -> list[dict]:
    out = []
    for r in stack.requests("/backend-api/codex/responses"):
        r["headers"] = {k: v for k, v in r["headers"]}
        r["json"] = json.loads(r["body"])
        out.append(r)
    return out


def test_claude_p_answers_through_the_router(stack, tmp_path):
    assert stack.cli("switch", "alice").returncode == 0
    before = len(backend_requests(stack))
    out = claude(stack, "Say hello", tmp_path)
    assert out["is_error"] is False
    assert out["result"].startswith("You said: ") and out["result"].endswith("Say hello")
    sent = backend_requests(stack)[before:]
    assert sent, "Claude Code's request did not reach the backend"
    assert all(r["headers"]["chatgpt-account-id"] == "acct-alice" for r in sent)
    body = sent[-1]["json"]
    assert body["model"].startswith("gpt-")  # a Claude model, mapped
    assert body["instructions"]  # Claude Code's system prompt
    assert body["tools"] and all(t["type"] == "function" for t in body["tools"])
    assert "max_output_tokens" not in body and "temperature" not in body
    # Claude Code's session id is the prompt cache key.
    assert body["prompt_cache_key"] == out["session_id"]


def test_claude_code_runs_a_tool_call(stack, tmp_path):
    command = "echo made-by-claude-code > tool-output.txt"
    stack.knobs(next_responses=[
        {"function_calls": [{"name": "Bash", "arguments": json.dumps(
            {"command": command, "description": "Write a file"})}]},
        {"text": "The file is written."},
    ])
    before = len(backend_requests(stack))
    out = claude(stack, "Write the file", tmp_path, "--allowedTools", "Bash")
    assert out["result"] == "The file is written."
    assert (tmp_path / "tool-output.txt").read_text().strip() == "made-by-claude-code"
    sent = backend_requests(stack)[before:]
    items = sent[-1]["json"]["input"]
    call = [i for i in items if i["type"] == "function_call"][-1]
    result = [i for i in items if i["type"] == "function_call_output"][-1]
    assert call["name"] == "Bash" and json.loads(call["arguments"])["command"] == command
    assert result["call_id"] == call["call_id"]
    # Claude Code gave the thinking back with the tool result: the reasoning is restored.
    reasoning = [i for i in items if i["type"] == "reasoning"]
    assert reasoning and reasoning[-1]["encrypted_content"]


def test_a_switch_between_two_runs(stack, tmp_path):
    assert stack.cli("switch", "alice").returncode == 0
    claude(stack, "First run", tmp_path)
    assert backend_requests(stack)[-1]["headers"]["chatgpt-account-id"] == "acct-alice"
    assert stack.cli("switch", "bob").returncode == 0
    out = claude(stack, "Second run", tmp_path)
    assert out["result"].endswith("Second run")
    assert backend_requests(stack)[-1]["headers"]["chatgpt-account-id"] == "acct-bob"
