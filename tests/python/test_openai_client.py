"""End-to-end: the official `openai` Python library against `codex-router serve` (see
conftest.py for the processes it runs against)."""

from __future__ import annotations

import contextlib
import io
import json
import time
import urllib.request

import openai
import pytest
from conftest import API_KEY, TIMEOUT, start_stack, stop_stack
from openai import OpenAI


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = start_stack(tmp_path_factory.mktemp("codex-home"))
    yield s
    stop_stack(s)


@pytest.fixture(autouse=True)
def alice_active(stack):
    """Each test starts with alice active and the default stream behaviour."""
    r = stack.cli("switch", "alice")
    assert r.returncode == 0, r.stderr
    yield


def test_banner_and_health(stack):
    assert stack.banner_profile == "alice"
    with urllib.request.urlopen(stack.base_url.removesuffix("/v1") + "/health", timeout=TIMEOUT) as r:
        health = json.load(r)
    assert health["profile"] == "alice"
    assert health["auth_mode"] == "chatgpt"


def test_readme_snippet_streams_with_reasoning_effort(stack):
    """The README's snippet, as written (only the base URL's port differs)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        client = OpenAI(base_url=stack.base_url, api_key="unused")  # the router's active profile supplies the credentials
        response = client.chat.completions.create(
            model="gpt-5.2-codex",
            messages=[{"role": "user", "content": "Hello, how are you?"}],
            stream=True,
            extra_body={"reasoning_effort": "medium"},
        )
        for chunk in response:
            if chunk.choices[0].delta.content:
                print(chunk.choices[0].delta.content, end="", flush=True)
    assert out.getvalue() == "You said: Hello, how are you?"
    sent = stack.last_backend_request()
    assert sent["json"]["reasoning"] == {"effort": "medium"}
    assert sent["json"]["stream"] is True and sent["json"]["store"] is False
    assert sent["headers"]["chatgpt-account-id"] == "acct-alice"
    assert sent["headers"]["originator"] == "codex_cli_rs"
    assert sent["headers"]["authorization"] != "Bearer unused"


def test_non_streaming_chat_with_system_message_and_usage(stack):
    r = stack.client().chat.completions.create(
        model="gpt-5.5",
        messages=[{"role": "system", "content": "Answer briefly."},
                  {"role": "user", "content": "What is 2+2?"}],
        max_tokens=100,
    )
    assert r.object == "chat.completion"
    assert r.choices[0].message.content == "You said: What is 2+2?"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.total_tokens > 0
    sent = stack.last_backend_request()["json"]
    assert sent["instructions"] == "Answer briefly."
    assert "max_output_tokens" not in sent


def test_streaming_usage_chunk(stack):
    stream = stack.client().chat.completions.create(
        model="gpt-5.5", messages=[{"role": "user", "content": "count"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)


WEATHER = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
}]


def test_tool_calls_round_trip(stack):
    client = stack.client()
    messages = [{"role": "user", "content": "Please call a tool for Paris"}]
    r = client.chat.completions.create(model="gpt-5.5", messages=messages, tools=WEATHER)
    assert r.choices[0].finish_reason == "tool_calls"
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments)["city"], str)

    # Streamed: tool_calls deltas the library assembles.
    stream = client.chat.completions.create(model="gpt-5.5", messages=messages, tools=WEATHER,
                                            stream=True)
    name, args, finish = "", "", None
    for chunk in stream:
        if not chunk.choices:
            continue
        for tc in chunk.choices[0].delta.tool_calls or []:
            name += tc.function.name or ""
            args += tc.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert name == "get_weather" and finish == "tool_calls"
    assert "city" in json.loads(args)

    messages += [r.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "18C and cloudy"}]
    r = client.chat.completions.create(model="gpt-5.5", messages=messages, tools=WEATHER)
    assert r.choices[0].message.content == "Tool result: 18C and cloudy"


def test_responses_streaming(stack):
    stream = stack.client().responses.create(model="gpt-5.5", input="Say hi",
                                             instructions="You are terse.", stream=True)
    types, text = [], ""
    for event in stream:
        types.append(event.type)
        if event.type == "response.output_text.delta":
            text += event.delta
    assert text == "You said: Say hi"
    assert types[0] == "response.created" and types[-1] == "response.completed"


def test_responses_not_streaming(stack):
    r = stack.client().responses.create(
        model="gpt-5.5", input=[{"role": "user", "content": "Say hello"}], max_output_tokens=50)
    assert r.status == "completed"
    assert r.output_text == "You said: Say hello"
    sent = stack.last_backend_request()["json"]
    assert sent["instructions"] == "" and "max_output_tokens" not in sent


def test_models_list(stack):
    ids = [m.id for m in stack.client().models.list()]
    assert "gpt-5.5" in ids and "gpt-5.2-codex" in ids
    assert "codex-auto-review" not in ids


def test_switch_in_another_process_takes_effect_at_the_next_request(stack):
    client = stack.client()
    client.chat.completions.create(model="gpt-5.5", messages=[{"role": "user", "content": "a"}])
    assert stack.last_backend_request()["headers"]["chatgpt-account-id"] == "acct-alice"
    r = stack.cli("switch", "bob")
    assert r.returncode == 0, r.stderr
    client.chat.completions.create(model="gpt-5.5", messages=[{"role": "user", "content": "b"}])
    assert stack.last_backend_request()["headers"]["chatgpt-account-id"] == "acct-bob"


def test_api_key_profile(stack):
    r = stack.cli("switch", "apikey")
    assert r.returncode == 0, r.stderr
    r = stack.client().chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == "You said: hi"
    sent = stack.requests("/v1/chat/completions")[-1]
    assert dict(sent["headers"])["authorization"] == f"Bearer {API_KEY}"


def test_usage_limit_is_a_rate_limit_error_that_says_when_it_resets(stack):
    resets_at = int(time.time()) + 3 * 3600
    stack.knobs(usage_limited={"key": "acct-alice", "resets_at": resets_at})
    try:
        with pytest.raises(openai.RateLimitError) as e:
            stack.client(max_retries=0).chat.completions.create(
                model="gpt-5.5", messages=[{"role": "user", "content": "hi"}])
    finally:
        stack.knobs(usage_limited={"key": "acct-alice", "resets_at": None})
    assert e.value.status_code == 429
    assert e.value.body["type"] == "usage_limit_reached"
    assert e.value.body["resets_at"] == resets_at
    assert "resets at" in e.value.message


def test_a_dropped_stream_raises_instead_of_ending_quietly(stack):
    stack.knobs(next_response={"text": "this answer will be cut off in the middle"},
                next_stream_behaviour={"kind": "drop", "after_events": 5})
    stream = stack.client().chat.completions.create(
        model="gpt-5.5", messages=[{"role": "user", "content": "hi"}], stream=True)
    with pytest.raises(openai.APIError) as e:
        for _ in stream:
            pass
    assert "closed before response.completed" in e.value.message

    stack.knobs(next_stream_behaviour={"kind": "drop", "after_events": 4})
    stream = stack.client().responses.create(model="gpt-5.5", input="hi", stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_bad_request_is_a_400(stack):
    with pytest.raises(openai.BadRequestError) as e:
        stack.client().chat.completions.create(
            model="gpt-5.5", messages=[{"role": "user", "content": "hi"}],
            extra_body={"reasoning_effort": 5})
    assert e.value.status_code == 400
    assert e.value.body["param"] == "reasoning_effort"


def test_an_expired_token_is_refreshed_once_for_concurrent_requests(stack):
    """A profile whose access token has expired: the router refreshes it (once, however many
    requests wait) and writes the new tokens to the profile and auth.json."""
    from concurrent.futures import ThreadPoolExecutor

    auth = stack.control("accounts", {"name": "carol", "access_ttl": -60})
    profile = stack.home / "profiles" / "carol"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "auth.json").write_text(json.dumps(auth))
    r = stack.cli("switch", "carol")
    assert r.returncode == 0, r.stderr
    client = stack.client()

    def ask(i):
        return client.chat.completions.create(
            model="gpt-5.5", messages=[{"role": "user", "content": f"q{i}"}]).choices[0].message.content

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert answers == [f"You said: q{i}" for i in range(8)]
    stats = stack.control("stats")
    carol = next(a for a in stats["accounts"] if a["email"] == "carol@example.com")
    assert carol["refresh_calls"] == 1
    assert stats["reused_refresh_tokens"] == []
    saved = json.loads((profile / "auth.json").read_text())
    assert saved["tokens"]["access_token"] != auth["tokens"]["access_token"]
    assert json.loads((stack.home / "auth.json").read_text())["tokens"] == saved["tokens"]


def test_a_stalled_stream_raises_after_the_idle_timeout(stack):
    stack.knobs(next_stream_behaviour={"kind": "stall", "after_events": 4})
    started = time.monotonic()
    stream = stack.client().chat.completions.create(
        model="gpt-5.5", messages=[{"role": "user", "content": "hi"}], stream=True)
    with pytest.raises(openai.APIError) as e:
        for _ in stream:
            pass
    assert "sent nothing for 5 seconds" in e.value.message
    assert time.monotonic() - started < 15


def test_a_web_page_is_refused(stack):
    client = stack.client(default_headers={"Origin": "https://evil.example"}, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as e:
        client.models.list()
    assert e.value.status_code == 403
    assert e.value.body["code"] == "origin_refused"


def test_failover_turned_on_from_the_cli_reaches_the_running_endpoint(stack, tmp_path):
    # A stack of its own: failover and the limits it records stay out of the other tests.
    s = start_stack(tmp_path / "home")
    try:
        s.cli("switch", "alice")
        s.knobs(usage_limited={"key": "acct-alice", "resets_at": int(time.time()) + 3600})
        client = s.client(max_retries=0)
        ask = {"model": "gpt-5.5", "messages": [{"role": "user", "content": "still there?"}]}
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(**ask)

        r = s.cli("failover", "on")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("Failover is on"), r.stdout
        text = "".join(c.choices[0].delta.content or ""
                       for c in client.chat.completions.create(**ask, stream=True) if c.choices)
        assert text == "You said: still there?"
        assert s.last_backend_request()["headers"]["chatgpt-account-id"] == "acct-bob"
        assert s.cli("current").stdout.strip() == "bob", "the active profile follows"

        r = s.cli("failover", "off")
        assert r.returncode == 0 and r.stdout.startswith("Failover is off"), r.stdout
        assert s.cli("failover").stdout.startswith("Failover is off")
        assert s.cli("failover", "maybe").returncode == 1
    finally:
        stop_stack(s)


def test_usage_headers_of_answers_are_recorded_for_the_serving_account(stack):
    now = int(time.time())
    stack.control("knobs", {"rate_limits": {"key": "acct-alice", "limits": {
        "primary": {"used_percent": 73.0, "window_minutes": 300, "reset_at": now + 3600},
        "secondary": {"used_percent": 21.0, "window_minutes": 10080, "reset_at": now + 86400},
        "has_credits": False, "unlimited": False, "balance": None}}})
    stack.client().chat.completions.create(
        model="gpt-5.5", messages=[{"role": "user", "content": "how much is left?"}])
    state = stack.home / "profiles/alice/router.json"
    deadline = time.monotonic() + 5
    while True:
        usage = json.loads(state.read_text()).get("usage") if state.exists() else None
        if usage and usage["primary"]["used_percent"] == 73.0:
            break
        assert time.monotonic() < deadline, f"not recorded: {usage}"
        time.sleep(0.05)
    assert usage["secondary"]["used_percent"] == 21.0
