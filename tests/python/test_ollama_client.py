"""The official `ollama` Python library, unchanged, against `codex-router serve --ollama-port`:
on the main port and on the second one, as a tool made for Ollama uses it."""

from __future__ import annotations

import base64
import json
import re
import time

import ollama
import pytest

from conftest import start_stack, stop_stack

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
}]
# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


def ollama_url(s) -> str:
    """The Ollama address among the lines `serve` prints after it listens."""
    seen = []
    for _ in range(5):
        line = s.router.stdout.readline().strip()
        seen.append(line)
        m = re.search(r"Ollama's API also on (http://127\.0\.0\.1:\d+)", line)
        if m:
            return m.group(1)
    raise AssertionError(f"no Ollama address in {seen}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = start_stack(tmp_path_factory.mktemp("codex-home"), serve_args=("--ollama-port", "0"))
    s.ollama_url = ollama_url(s)
    s.main_url = s.base_url.removesuffix("/v1")
    yield s
    stop_stack(s)


@pytest.fixture(autouse=True)
def alice_active(stack):
    r = stack.cli("switch", "alice")
    assert r.returncode == 0, r.stderr
    yield


@pytest.fixture(params=["main", "ollama"])
def client(request, stack) -> ollama.Client:
    """A client on the main port and one on Ollama's port."""
    url = stack.main_url if request.param == "main" else stack.ollama_url
    return ollama.Client(host=url, timeout=20)


def test_chat_whole(client, stack):
    r = client.chat(model="gpt-5.5", messages=[{"role": "user", "content": "Hello"}])
    assert r.message.role == "assistant"
    assert r.message.content == "You said: Hello"
    assert r.done and r.done_reason == "stop"
    assert r.prompt_eval_count > 0 and r.eval_count > 0
    assert r.total_duration >= r.eval_duration >= 0
    assert r.model == "gpt-5.5"


def test_chat_streamed(client):
    parts = list(client.chat(model="gpt-5.5:latest", stream=True,
                             messages=[{"role": "system", "content": "Be brief."},
                                       {"role": "user", "content": "Tell me more"}]))
    assert len(parts) > 2
    assert "".join(p.message.content or "" for p in parts) == "You said: Tell me more"
    assert [p.done for p in parts].count(True) == 1 and parts[-1].done
    assert parts[-1].eval_count > 0


def test_tools_round_trip(client, stack):
    messages = [{"role": "user", "content": "Please call a tool for Paris"}]
    r = client.chat(model="gpt-5.5", messages=messages, tools=TOOLS)
    calls = r.message.tool_calls
    assert calls and calls[0].function.name == "get_weather"
    assert calls[0].function.arguments == {"city": "fake"}
    messages += [r.message, {"role": "tool", "tool_name": "get_weather", "content": "18C"}]
    r = client.chat(model="gpt-5.5", messages=messages, tools=TOOLS)
    assert r.message.content == "Tool result: 18C"
    sent = stack.last_backend_request()["json"]
    kinds = [i.get("type") for i in sent["input"]]
    assert "function_call" in kinds and "function_call_output" in kinds


def test_think_returns_thinking(client, stack):
    r = client.chat(model="gpt-5.5", think="low", messages=[{"role": "user", "content": "2+2?"}])
    assert "Working out a reply" in r.message.thinking
    assert stack.last_backend_request()["json"]["reasoning"]["effort"] == "low"
    streamed = list(client.chat(model="gpt-5.5", think=True, stream=True,
                                messages=[{"role": "user", "content": "2+2?"}]))
    assert "".join(p.message.thinking or "" for p in streamed)
    r = client.chat(model="gpt-5.5", think=False, messages=[{"role": "user", "content": "2+2?"}])
    assert not r.message.thinking


def test_format_json_and_schema(client, stack):
    stack.knobs(next_response={"text": '{"name": "Ada"}'})
    r = client.chat(model="gpt-5.5", format="json", messages=[{"role": "user", "content": "who?"}])
    assert json.loads(r.message.content) == {"name": "Ada"}
    assert stack.last_backend_request()["json"]["text"]["format"] == {"type": "json_object"}
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    client.chat(model="gpt-5.5", format=schema, messages=[{"role": "user", "content": "who?"}])
    fmt = stack.last_backend_request()["json"]["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["schema"] == schema


def test_images_are_sent_as_data_urls(client, stack):
    client.chat(model="gpt-5.5", messages=[{"role": "user", "content": "What is it?", "images": [PNG]}])
    parts = stack.last_backend_request()["json"]["input"][0]["content"]
    assert parts[1]["type"] == "input_image"
    assert parts[1]["image_url"].startswith("data:image/png;base64,iVBOR")


def test_generate_whole_and_streamed(client):
    r = client.generate(model="gpt-5.5", prompt="Why is the sky blue?", system="Be brief.")
    assert r.response == "You said: Why is the sky blue?"
    assert r.done and r.done_reason == "stop"
    parts = list(client.generate(model="gpt-5.5", prompt="Once more", stream=True))
    assert "".join(p.response for p in parts) == "You said: Once more"
    assert parts[-1].done


def test_list_show_ps_version(client):
    names = [m.model for m in client.list().models]
    assert "gpt-5.5" in names
    info = client.show("gpt-5.5")
    assert "tools" in info.capabilities and info.details.family == "gpt"
    assert client.ps().models == []
    with pytest.raises(ollama.ResponseError) as e:
        client.show("llama3")
    assert e.value.status_code == 404 and e.value.error == "model 'llama3' not found"


def test_errors_are_response_errors(client, stack):
    stack.knobs(next_response={"http_error": {"status": 500, "body": {"detail": "backend exploded"}}})
    with pytest.raises(ollama.ResponseError) as e:
        client.chat(model="gpt-5.5", messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 500 and "backend exploded" in e.value.error

    stack.knobs(next_stream_behaviour={"kind": "drop", "after_events": 4})
    with pytest.raises(ollama.ResponseError) as e:
        for _ in client.chat(model="gpt-5.5", stream=True,
                             messages=[{"role": "user", "content": "hi"}]):
            pass
    assert "closed before response.completed" in e.value.error


def test_pinned_profile(stack):
    client = ollama.Client(host=f"{stack.ollama_url}/p/bob", timeout=20)
    assert client.chat(model="gpt-5.5", messages=[{"role": "user", "content": "hi"}]).done
    assert stack.last_backend_request()["headers"]["chatgpt-account-id"] == "acct-bob"


def test_root_says_ollama_is_running(stack):
    import urllib.request
    for base in (stack.main_url, stack.ollama_url):
        with urllib.request.urlopen(f"{base}/", timeout=20) as r:
            assert r.read() == b"Ollama is running"


def test_failover_on_the_ollama_port(tmp_path):
    # A stack of its own, failover on: the limit it records stays out of the other tests.
    s = start_stack(tmp_path / "home", serve_args=("--ollama-port", "0", "--failover"))
    try:
        url = ollama_url(s)
        s.knobs(usage_limited={"key": "acct-alice", "resets_at": int(time.time()) + 3600})
        r = ollama.Client(host=url, timeout=20).chat(
            model="gpt-5.5", messages=[{"role": "user", "content": "still there?"}])
        assert r.message.content == "You said: still there?"
        assert s.last_backend_request()["headers"]["chatgpt-account-id"] == "acct-bob"
    finally:
        stop_stack(s)
