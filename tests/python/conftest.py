"""Shared fixtures of the end-to-end tests: the fake upstream, a CODEX_HOME and
`codex-router serve` in front of them, as separate processes.

The fake upstream (`fake-upstream`, from the testkit crate) plays the ChatGPT backend, the
OpenAI API and the OAuth issuer on 127.0.0.1 and writes two ChatGPT profiles (alice, bob) and
an API-key profile into a temporary CODEX_HOME. `codex-router serve --port 0` runs in front of
it, exactly as a user starts it. Both binaries come from target/debug (built by the cargo
step of scripts/test); CODEX_ROUTER_BIN and FAKE_UPSTREAM_BIN override them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import urllib.request
from pathlib import Path

from openai import OpenAI

ROOT = Path(__file__).resolve().parents[2]
ROUTER_BIN = Path(os.environ.get("CODEX_ROUTER_BIN", ROOT / "target/debug/codex-router"))
FAKE_BIN = Path(os.environ.get("FAKE_UPSTREAM_BIN", ROOT / "target/debug/fake-upstream"))
API_KEY = "sk-proj-python-e2e-key"
TIMEOUT = 20


def _readline(proc: subprocess.Popen, what: str) -> str:
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"{what} exited early: {err}")
    return line.strip()


class Stack:
    """The fake upstream, a CODEX_HOME and the router serving it."""

    def __init__(self, home: Path, config_toml: str | None = None, serve_args: tuple = ()):
        self.home = home
        self.fake = subprocess.Popen(
            [str(FAKE_BIN), "--codex-home", str(home), "--accounts", "alice,bob",
             "--api-key", f"apikey={API_KEY}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.upstream = _readline(self.fake, "fake-upstream")
        self.info = json.loads(_readline(self.fake, "fake-upstream"))
        if config_toml is not None:
            (home / "config.toml").write_text(config_toml.replace("{upstream}", self.upstream))
        self.env = dict(os.environ)
        self.env.update({
            "CODEX_HOME": str(home),
            "CODEX_ROUTER_CHATGPT_BASE_URL": self.info["chatgpt_base_url"],
            "CODEX_ROUTER_OPENAI_BASE_URL": self.info["openai_base_url"],
            "CODEX_ROUTER_AUTH_ISSUER": self.info["issuer_url"],
            "RUST_LOG": "info",
        })
        self.env.pop("CODEX_ROUTER_KEY", None)
        self.router = subprocess.Popen(
            [str(ROUTER_BIN), "serve", "--port", "0", "--idle-timeout", "5", *serve_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env,
        )
        banner = _readline(self.router, "codex-router serve")
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+/v1) \(active profile: (\S+)\)", banner)
        assert m, banner
        self.base_url, self.banner_profile = m.group(1), m.group(2)

    def client(self, **kw) -> OpenAI:
        # As the README says: the router's active profile supplies the credentials.
        return OpenAI(base_url=self.base_url, api_key="unused", timeout=TIMEOUT, **kw)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(ROUTER_BIN), *args], env=self.env, capture_output=True,
                              text=True, timeout=TIMEOUT)

    def knobs(self, **knobs) -> None:
        req = urllib.request.Request(
            f"{self.upstream}/_fake/knobs", data=json.dumps(knobs).encode(),
            headers={"content-type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            assert r.status == 200

    def control(self, path: str, body: dict | None = None) -> dict | list:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.upstream}/_fake/{path}", data=data,
            headers={"content-type": "application/json"}, method="GET" if data is None else "POST")
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return json.load(r)

    def requests(self, path: str) -> list[dict]:
        url = f"{self.upstream}/_fake/requests?path={path}"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
            return json.load(r)

    def last_backend_request(self) -> dict:
        reqs = self.requests("/backend-api/codex/responses")
        assert reqs, "nothing reached the ChatGPT backend"
        last = reqs[-1]
        last["headers"] = {k: v for k, v in last["headers"]}
        last["json"] = json.loads(last["body"])
        return last

    def stop(self) -> int | None:
        code = None
        if self.router.poll() is None:
            self.router.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                code = self.router.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.router.kill()
                self.router.wait()
        for p in (self.fake,):
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=10)
        return code


def start_stack(home: Path, config_toml: str | None = None, serve_args: tuple = ()) -> Stack:
    for b in (ROUTER_BIN, FAKE_BIN):
        if not b.exists():
            raise RuntimeError(f"{b} is missing: run `cargo build --workspace` first (scripts/test does)")
    return Stack(home, config_toml, serve_args)


def stop_stack(s: Stack) -> None:
    code = s.stop()
    log = s.router.stderr.read()
    assert code == 0, f"serve did not stop cleanly on Ctrl-C (exit {code}): {log}"
    assert "eyJ" not in log and API_KEY not in log, "a token reached the log"
