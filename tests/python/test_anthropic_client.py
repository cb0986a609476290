"""End-to-end: the official `anthropic` Python library against `codex-router serve`'s
Messages routes (see conftest.py for the processes it runs against)."""

from __future__ import annotations

import base64
import json
import time
import urllib.request

import anthropic
import pytest
from conftest import TIMEOUT, start_stack, stop_stack

# A 1x1 PNG.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)).decode()

WEATHER = {
    "name": "get_weather",
    "description": "The weather of a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                     "required": ["city"]},
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = start_stack(tmp_path_factory.mktemp("codex-home"))
    yield s
    stop_stack(s)


@pytest.fixture(autouse=True)
def alice_active(stack):
    r = stack.cli("switch", "alice")
    assert r.returncode == 0, r.stderr
    yield


def root(stack) -> str:
    return stack.base_url.removesuffix("/v1")


def client(stack, base: str | None = None) -> anthropic.Anthropic:
    # What Claude Code does with ANTHROPIC_BASE_URL: the SDK adds /v1/messages.
    return anthropic.Anthropic(base_url=base or root(stack), api_key="unused",
                               timeout=TIMEOUT, max_retries=0)


def test_whole_answer(stack):
    msg = client(stack).messages.create(
        model="claude-sonnet-4-6", max_tokens=1024,
        extra_body={"temperature": 0.2, "top_k": 5, "top_p": 0.9},
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "Hello there"}],
    )
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.id.startswith("msg_")
    assert msg.model == "claude-sonnet-4-6"
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == "You said: Hello there"
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0
    sent = stack.last_backend_request()
    body = sent["json"]
    # sonnet → gpt-5.5 at medium effort (the documented defaults); refused params dropped.
    assert body["model"] == "gpt-5.5"
    assert body["reasoning"] == {"effort": "medium"}
    assert body["instructions"] == "Be brief."
    for dropped in ("max_output_tokens", "max_tokens", "temperature", "top_p", "top_k"):
        assert dropped not in body
    assert sent["headers"]["chatgpt-account-id"] == "acct-alice"


def test_streamed_answer_has_anthropics_event_sequence(stack):
    c = client(stack)
    with c.messages.stream(model="claude-haiku-4-5", max_tokens=100,
                           messages=[{"role": "user", "content": "Stream this"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "You said: Stream this"
    assert final.content[0].text == text and final.stop_reason == "end_turn"
    assert stack.last_backend_request()["json"]["model"] == "gpt-5.4-mini"

    # On the wire: event names and their order, ping included.
    req = urllib.request.Request(
        root(stack) + "/v1/messages?beta=true",
        data=json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 50, "stream": True,
                         "messages": [{"role": "user", "content": "hi"}]}).encode(),
        headers={"content-type": "application/json", "anthropic-version": "2023-06-01",
                 "x-api-key": "unused"})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        wire = r.read().decode()
    names = [line.removeprefix("event: ") for line in wire.splitlines() if line.startswith("event: ")]
    assert names[:4] == ["message_start", "content_block_start", "ping", "content_block_delta"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    for line in wire.splitlines():
        if line.startswith("data: "):
            assert "type" in json.loads(line.removeprefix("data: "))


def test_tool_round_trip_keeps_ids(stack):
    c = client(stack)
    first = c.messages.create(
        model="claude-sonnet-4-6", max_tokens=200, tools=[WEATHER],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        messages=[{"role": "user", "content": "call a tool for Paris"}],
    )
    assert first.stop_reason == "tool_use"
    call = [b for b in first.content if b.type == "tool_use"][0]
    assert call.name == "get_weather" and isinstance(call.input, dict) and "city" in call.input
    sent = stack.last_backend_request()["json"]
    assert sent["tools"][0]["name"] == "get_weather" and sent["tools"][0]["type"] == "function"
    assert sent["tools"][0]["parameters"] == WEATHER["input_schema"]
    assert sent["parallel_tool_calls"] is False and sent["tool_choice"] == "auto"

    second = c.messages.create(
        model="claude-sonnet-4-6", max_tokens=200, tools=[WEATHER],
        messages=[
            {"role": "user", "content": "call a tool for Paris"},
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21 C"}]},
        ],
    )
    assert second.content[0].text == "Tool result: sunny, 21 C"
    items = stack.last_backend_request()["json"]["input"]
    fc = [i for i in items if i["type"] == "function_call"][0]
    out = [i for i in items if i["type"] == "function_call_output"][0]
    assert fc["call_id"] == call.id == out["call_id"]
    assert json.loads(fc["arguments"]) == call.input

    # Streamed: the tool call arrives as input_json_delta and is assembled by the SDK.
    with c.messages.stream(model="claude-sonnet-4-6", max_tokens=200, tools=[WEATHER],
                           tool_choice={"type": "tool", "name": "get_weather"},
                           messages=[{"role": "user", "content": "weather?"}]) as s:
        final = s.get_final_message()
    assert final.stop_reason == "tool_use"
    assert final.content[-1].type == "tool_use" and "city" in final.content[-1].input
    assert stack.last_backend_request()["json"]["tool_choice"] == {"type": "function", "name": "get_weather"}


def test_tool_error_result_is_marked(stack):
    client(stack).messages.create(
        model="claude-sonnet-4-6", max_tokens=200, tools=[WEATHER],
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_01ABC", "name": "get_weather", "input": {"city": "Oslo"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01ABC", "is_error": True,
                 "content": [{"type": "text", "text": "no network"}]},
                {"type": "text", "text": "try again"}]},
        ],
    )
    items = stack.last_backend_request()["json"]["input"]
    assert items[1] == {"type": "function_call", "call_id": "toolu_01ABC", "name": "get_weather",
                        "arguments": '{"city":"Oslo"}'}
    assert items[2] == {"type": "function_call_output", "call_id": "toolu_01ABC",
                        "output": "Error: no network"}
    assert items[3]["role"] == "user" and items[3]["content"][0]["text"] == "try again"


def test_image(stack):
    msg = client(stack).messages.create(
        model="claude-sonnet-4-6", max_tokens=100,
        messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
            {"type": "text", "text": "What is this?"}]}],
    )
    assert msg.content[0].text == "You said: What is this?"
    parts = stack.last_backend_request()["json"]["input"][0]["content"]
    assert parts[0] == {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"}
    assert parts[1]["image_url"] == "https://example.com/cat.png"


def test_thinking_streams_back_and_round_trips_across_a_switch(stack):
    c = client(stack)
    msgs = [{"role": "user", "content": "Think about it"}]
    with c.messages.stream(model="claude-opus-4-7", max_tokens=16000,
                           thinking={"type": "enabled", "budget_tokens": 10000},
                           messages=msgs) as s:
        kinds = [e.type for e in s]
        first = s.get_final_message()
    assert "thinking" in kinds and "signature" in kinds
    assert [b.type for b in first.content] == ["thinking", "text"]
    assert first.content[0].thinking == "**Thinking**\n\nWorking out a reply."
    assert first.content[0].signature
    sent = stack.last_backend_request()["json"]
    assert sent["reasoning"] == {"effort": "medium", "summary": "auto"}  # 10000 → medium
    assert sent["model"] == "gpt-5.5"

    # The next turn gives the thinking back: the encrypted reasoning is restored.
    msgs += [{"role": "assistant", "content": [b.model_dump() for b in first.content]},
             {"role": "user", "content": "And now?"}]
    second = c.messages.create(model="claude-opus-4-7", max_tokens=16000,
                               thinking={"type": "enabled", "budget_tokens": 2000}, messages=msgs)
    assert second.content[-1].text == "You said: And now?"
    items = stack.last_backend_request()["json"]["input"]
    restored = [i for i in items if i["type"] == "reasoning"]
    assert len(restored) == 1 and restored[0]["encrypted_content"]
    assert restored[0]["summary"][0]["text"] == "**Thinking**\n\nWorking out a reply."

    # After a switch, alice's reasoning is refused by bob's account: dropped, sent again.
    assert stack.cli("switch", "bob").returncode == 0
    third = c.messages.create(model="claude-opus-4-7", max_tokens=16000,
                              thinking={"type": "adaptive"}, messages=msgs)
    assert third.content[-1].text == "You said: And now?"
    last = stack.last_backend_request()
    assert last["headers"]["chatgpt-account-id"] == "acct-bob"
    assert not [i for i in last["json"]["input"] if i["type"] == "reasoning"]
    assert last["json"]["reasoning"] == {"effort": "high", "summary": "auto"}  # opus → high

    # A signature of another service restores nothing.
    msgs[1]["content"][0]["signature"] = "EqQBCkgIARABGAIiQL"
    c.messages.create(model="claude-opus-4-7", max_tokens=100, messages=msgs)
    assert not [i for i in stack.last_backend_request()["json"]["input"] if i["type"] == "reasoning"]


def test_stop_sequences(stack):
    c = client(stack)
    stack.knobs(next_response={"text": "one two STOP three four"})
    msg = c.messages.create(model="claude-sonnet-4-6", max_tokens=100, stop_sequences=["STOP", "four"],
                            messages=[{"role": "user", "content": "count"}])
    assert msg.content[0].text == "one two "
    assert msg.stop_reason == "stop_sequence" and msg.stop_sequence == "STOP"

    stack.knobs(next_response={"text": "alpha beta gamma"})
    with c.messages.stream(model="claude-sonnet-4-6", max_tokens=100, stop_sequences=["ta ga"],
                           messages=[{"role": "user", "content": "greek"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "alpha be"
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == "ta ga"

    # A sequence that never comes: the whole text, end_turn.
    stack.knobs(next_response={"text": "no stop here"})
    msg = c.messages.create(model="claude-sonnet-4-6", max_tokens=100, stop_sequences=["STOP"],
                            messages=[{"role": "user", "content": "x"}])
    assert msg.content[0].text == "no stop here" and msg.stop_reason == "end_turn"


def test_errors_are_anthropic_shaped(stack):
    c = client(stack)
    with pytest.raises(anthropic.BadRequestError) as e:
        c.messages.create(model="claude-sonnet-4-6", max_tokens=10,
                          messages=[{"role": "wizard", "content": "hi"}])
    assert e.value.status_code == 400
    assert e.value.body["type"] == "error"
    assert e.value.body["error"]["type"] == "invalid_request_error"
    assert "messages[0].role" in e.value.body["error"]["message"]

    stack.knobs(next_response={"failed": {"code": "server_is_overloaded", "message": "busy"}})
    with pytest.raises(anthropic.APIStatusError) as e:
        c.messages.create(model="claude-sonnet-4-6", max_tokens=10,
                          messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 529
    assert e.value.body["error"]["type"] == "overloaded_error"

    resets_at = int(time.time()) + 600
    stack.knobs(usage_limited={"key": "acct-alice", "resets_at": resets_at})
    try:
        with pytest.raises(anthropic.RateLimitError) as e:
            c.messages.create(model="claude-sonnet-4-6", max_tokens=10,
                              messages=[{"role": "user", "content": "hi"}])
    finally:
        stack.knobs(usage_limited={"key": "acct-alice", "resets_at": None})
    assert e.value.body["error"]["type"] == "rate_limit_error"
    assert 500 <= int(e.value.response.headers["retry-after"]) <= 600

    with pytest.raises(anthropic.NotFoundError) as e:
        client(stack, root(stack) + "/p/nobody").messages.create(
            model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert e.value.body["error"]["type"] == "not_found_error"


def test_cut_stream_ends_with_an_error_event(stack):
    stack.knobs(next_response={"text": "this answer will be cut off in the middle"},
                next_stream_behaviour={"kind": "drop", "after_events": 4})
    with pytest.raises(anthropic.APIStatusError) as e:
        with client(stack).messages.stream(model="claude-sonnet-4-6", max_tokens=100,
                                           messages=[{"role": "user", "content": "hi"}]) as s:
            for _ in s:
                pass
    assert e.value.body["type"] == "error" and e.value.body["error"]["type"] == "api_error"


def test_count_tokens(stack):
    c = client(stack)
    small = c.messages.count_tokens(model="claude-sonnet-4-6",
                                    messages=[{"role": "user", "content": "Hello, world!"}])
    big = c.messages.count_tokens(model="claude-sonnet-4-6", system="You are a careful assistant.",
                                  tools=[WEATHER],
                                  messages=[{"role": "user", "content": "Hello, world! " * 50}])
    assert small.input_tokens == 8  # 4 o200k tokens and 4 of framing
    assert big.input_tokens > small.input_tokens + 100
    # Counted locally: nothing went upstream.
    assert not [r for r in stack.requests("/backend-api/codex/responses")
                if "Hello, world! Hello" in r["body"]]


def test_api_key_profile_goes_to_openai_responses(stack):
    assert stack.cli("switch", "apikey").returncode == 0
    msg = client(stack).messages.create(model="gpt-5.2-codex", max_tokens=100,
                                        messages=[{"role": "user", "content": "via the API"}])
    assert msg.content[0].text == "You said: via the API"
    assert msg.model == "gpt-5.2-codex"
    sent = stack.requests("/v1/responses")[-1]
    headers = {k.lower(): v for k, v in sent["headers"]}
    assert json.loads(sent["body"])["model"] == "gpt-5.2-codex"  # not a Claude name: as is
    assert "x-api-key" not in headers and headers["authorization"].startswith("Bearer sk-")


def test_pinned_profile_and_model_list(stack):
    msg = client(stack, root(stack) + "/p/bob").messages.create(
        model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "pinned"}])
    assert msg.content[0].text == "You said: pinned"
    assert stack.last_backend_request()["headers"]["chatgpt-account-id"] == "acct-bob"
    ids = [m.id for m in client(stack).models.list()]
    assert "claude-sonnet-4-6" in ids and "claude-opus-4-7" in ids
