"""End-to-end tests: the official openai Python SDK talking to tollgate,
which relays to the fake upstream in fake_upstream.py.

Every test puts a unique `tag` in its last user message so the request
tollgate forwarded can be found in the fake upstream's log.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest

from fake_upstream import (
    ERROR_400_MESSAGE,
    ERROR_429_MESSAGE,
    ERROR_500_MESSAGE,
    TEXT_ERROR_BODY,
    TOOL_ARGUMENTS,
    TOOL_CALL_ID,
    TOOL_NAME,
    reply_text,
    usage_for,
)

MODEL = "up/gpt-4.1-mini"
UPSTREAM_MODEL = "gpt-4.1-mini"

gateway_only = pytest.mark.gateway

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


# helpers ---------------------------------------------------------------------

def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def collect_stream(stream) -> tuple[str, list]:
    chunks = list(stream)
    text = "".join(
        (c.choices[0].delta.content or "") for c in chunks if c.choices
    )
    return text, chunks


def assert_openai_error(exc: openai.APIStatusError, status: int, needle: str) -> dict:
    """The error has `status` and an OpenAI-shaped JSON body whose message contains `needle`."""
    assert exc.status_code == status, f"status {exc.status_code} != {status}; body: {exc.response.text!r}"
    try:
        body = exc.response.json()
    except ValueError:
        pytest.fail(f"error body is not JSON: {exc.response.text!r}")
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), \
        f"error body is not OpenAI-shaped ({{'error': {{...}}}}): {body!r}"
    message = body["error"].get("message")
    assert isinstance(message, str), f"error.message is not a string: {body!r}"
    assert needle in message, f"{needle!r} not in error message {message!r}"
    assert needle in exc.message, f"{needle!r} not in SDK exception message {exc.message!r}"
    return body["error"]


def raw_request(gateway, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A plain HTTP request to tollgate (bypasses the SDK), path relative to /v1."""
    url = urlsplit(gateway.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Authorization": f"Bearer {gateway.client_api_key}"}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        conn.request(method, url.path + path, body=data, headers=all_headers)
        resp = conn.getresponse()
        payload = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload
    finally:
        conn.close()


# health ----------------------------------------------------------------------

@gateway_only
def test_health_endpoint(gateway):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    conn.request("GET", "/health")
    assert conn.getresponse().status == 200
    conn.close()


# non-streamed ----------------------------------------------------------------

def test_non_stream_answer(client, upstream, tag):
    text = f"hello there {tag}"
    resp = client.chat.completions.create(model=MODEL, messages=user(text))
    rec = upstream.find_one(tag)
    assert resp.id == rec["response_id"]
    assert resp.object == "chat.completion"
    assert len(resp.choices) == 1
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == reply_text(text)
    assert resp.choices[0].finish_reason == "stop"
    expected_usage = usage_for(text, reply_text(text))
    assert resp.usage is not None
    assert resp.usage.model_dump(include=set(expected_usage)) == expected_usage


@gateway_only
def test_forwarded_request_rewrites_model_and_uses_upstream_key(client, upstream, gateway, tag):
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": f"forward me {tag}"},
    ]
    client.chat.completions.create(
        model=MODEL, messages=messages, temperature=0.25, top_p=0.9,
        max_tokens=64, seed=7, stop=["END"], user="tester-1",
    )
    rec = upstream.find_one(tag)
    assert rec["method"] == "POST"
    assert rec["path"] == "/v1/chat/completions"
    assert rec["body"]["model"] == UPSTREAM_MODEL
    assert rec["headers"].get("authorization") == f"Bearer {gateway.upstream_api_key}"
    leaked = {k: v for k, v in rec["headers"].items() if gateway.client_api_key in v}
    assert not leaked, f"client API key forwarded upstream in headers: {leaked}"
    body = rec["body"]
    assert body["messages"] == messages
    assert body["temperature"] == 0.25
    assert body["top_p"] == 0.9
    assert body["max_tokens"] == 64
    assert body["seed"] == 7
    assert body["stop"] == ["END"]
    assert body["user"] == "tester-1"
    assert not body.get("stream"), f"non-stream request forwarded with stream={body.get('stream')!r}"


@gateway_only
def test_unknown_fields_pass_through(client, upstream, tag):
    extra = {"x_tollgate_test": {"nested": [1, 2.5, {"k": "v"}], "flag": True, "none": None}}
    client.chat.completions.create(
        model=MODEL, messages=user(f"extra fields {tag}"),
        response_format={"type": "json_object"}, extra_body=extra,
    )
    body = upstream.find_one(tag)["body"]
    assert body.get("x_tollgate_test") == extra["x_tollgate_test"]
    assert body.get("response_format") == {"type": "json_object"}


@gateway_only
@pytest.mark.parametrize(
    "model, upstream_model",
    [
        ("up/gpt-4.1-mini", "gpt-4.1-mini"),
        ("up/gpt-4.1", "gpt-4.1"),
        ("gpt-4.1-mini", "gpt-4.1-mini"),
        ("gpt-4.1", "gpt-4.1"),
        ("fast", "gpt-4.1-mini"),
    ],
    ids=["provider-prefixed-mini", "provider-prefixed-full", "bare-mini", "bare-full", "alias-fast"],
)
def test_routing(client, upstream, gateway, tag, model, upstream_model):
    text = f"route me {tag}"
    resp = client.chat.completions.create(model=model, messages=user(text))
    assert resp.choices[0].message.content == reply_text(text)
    rec = upstream.find_one(tag)
    assert rec["body"]["model"] == upstream_model
    assert rec["headers"].get("authorization") == f"Bearer {gateway.upstream_api_key}"


@gateway_only
def test_alias_stream(client, upstream, tag):
    text = f"alias stream {tag}"
    stream = client.chat.completions.create(model="fast", messages=user(text), stream=True)
    got, _ = collect_stream(stream)
    assert got == reply_text(text)
    rec = upstream.find_one(tag)
    assert rec["body"]["model"] == UPSTREAM_MODEL
    assert rec["body"].get("stream") is True


# streaming -------------------------------------------------------------------

@pytest.mark.parametrize("framing", ["", "#sseclose"], ids=["upstream-chunked", "upstream-connection-close"])
def test_stream_text(client, upstream, gateway, tag, framing):
    text = f"stream please {framing} {tag}"
    stream = client.chat.completions.create(model=MODEL, messages=user(text), stream=True)
    got, chunks = collect_stream(stream)
    expected = reply_text(text)
    assert got == expected
    rec = upstream.find_one(tag)
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) > 1, "expected the answer to arrive in several chunks"
    assert all(c.id == rec["response_id"] for c in chunks)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert rec["body"].get("stream") is True
    if not gateway.direct:
        assert rec["body"]["model"] == UPSTREAM_MODEL
        assert rec["headers"].get("authorization") == f"Bearer {gateway.upstream_api_key}"


def test_stream_include_usage(client, upstream, tag):
    text = f"usage please {tag}"
    stream = client.chat.completions.create(
        model=MODEL, messages=user(text), stream=True, stream_options={"include_usage": True}
    )
    got, chunks = collect_stream(stream)
    assert got == reply_text(text)
    assert upstream.find_one(tag)["body"].get("stream_options") == {"include_usage": True}
    final = chunks[-1]
    assert final.choices == []
    assert final.usage is not None, "last chunk carries no usage"
    expected = usage_for(text, reply_text(text))
    assert final.usage.model_dump(include=set(expected)) == expected
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_raw_sse_framing(gateway, upstream, tag):
    text = f"raw sse {tag}"
    status, headers, payload = raw_request(
        gateway, "POST", "/chat/completions",
        {"model": MODEL, "messages": user(text), "stream": True},
    )
    assert status == 200, payload[:500]
    assert headers.get("content-type", "").startswith("text/event-stream"), headers
    events = [e for e in payload.decode("utf-8").replace("\r\n", "\n").split("\n\n") if e.strip()]
    data = []
    for event in events:
        lines = [ln[len("data:"):].strip() for ln in event.split("\n") if ln.startswith("data:")]
        if lines:
            data.append("\n".join(lines))
    assert data, f"no data events in {payload[:500]!r}"
    assert data[-1] == "[DONE]", f"stream does not end with data: [DONE]: last events {data[-3:]}"
    assert data.count("[DONE]") == 1
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    got = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert got == reply_text(text)


def test_stream_is_relayed_incrementally(client, upstream, tag):
    """The upstream spaces its events 0.4 s apart; the client must see them
    spread out too (the relay must not buffer the whole answer)."""
    text = f"#slow {tag}"
    stream = client.chat.completions.create(model=MODEL, messages=user(text), stream=True)
    arrivals = []
    pieces = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())
            pieces.append(chunk.choices[0].delta.content)
    assert "".join(pieces) == reply_text(text)
    assert len(arrivals) >= 3
    spread = arrivals[-1] - arrivals[0]
    assert spread >= 0.5, f"content chunks arrived within {spread:.3f}s: the stream looks buffered"


@pytest.mark.parametrize(
    "marker",
    ["#die", pytest.param("#dieclose", marks=gateway_only)],
    ids=["upstream-chunked-cut", "upstream-close-delimited-no-done"],
)
def test_mid_stream_death_raises(client, upstream, tag, marker):
    text = f"{marker} {tag}"
    stream = client.chat.completions.create(model=MODEL, messages=user(text), stream=True)
    pieces = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    assert "".join(pieces) != reply_text(text)
    assert len(upstream.find(tag)) >= 1


def test_non_stream_upstream_truncated_body_is_an_error(client, upstream, tag):
    with pytest.raises(openai.APIError) as info:
        client.chat.completions.create(model=MODEL, messages=user(f"#die {tag}"))
    if isinstance(info.value, openai.APIStatusError):
        assert info.value.status_code >= 500


# errors ----------------------------------------------------------------------

ERROR_CASES = [
    ("#error400", 400, openai.BadRequestError, ERROR_400_MESSAGE),
    ("#error429", 429, openai.RateLimitError, ERROR_429_MESSAGE),
    ("#error500", 500, openai.InternalServerError, ERROR_500_MESSAGE),
    ("#textError", 500, openai.InternalServerError, TEXT_ERROR_BODY),
]
ERROR_IDS = ["400", "429", "500", "500-plain-text"]


@pytest.mark.parametrize("marker, status, exc_type, needle", ERROR_CASES, ids=ERROR_IDS)
def test_upstream_error_mapping(client, upstream, tag, marker, status, exc_type, needle):
    with pytest.raises(exc_type) as info:
        client.chat.completions.create(model=MODEL, messages=user(f"{marker} {tag}"))
    assert_openai_error(info.value, status, needle)
    assert len(upstream.find(tag)) >= 1


@pytest.mark.parametrize("marker, status, exc_type, needle", ERROR_CASES, ids=ERROR_IDS)
def test_upstream_error_mapping_stream_request(client, upstream, tag, marker, status, exc_type, needle):
    with pytest.raises(exc_type) as info:
        stream = client.chat.completions.create(model=MODEL, messages=user(f"{marker} {tag}"), stream=True)
        list(stream)
    assert_openai_error(info.value, status, needle)


@gateway_only
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize(
    "model, needle",
    [("no-such-model-xyz", "no-such-model-xyz"), ("nosuchprovider/gpt-4.1-mini", "nosuchprovider")],
    ids=["unknown-model", "unknown-provider"],
)
def test_unknown_model_404(client, upstream, tag, model, needle, stream):
    with pytest.raises(openai.NotFoundError) as info:
        result = client.chat.completions.create(model=model, messages=user(f"nobody home {tag}"), stream=stream)
        if stream:
            list(result)
    assert_openai_error(info.value, 404, needle)
    assert upstream.find(tag) == [], "an unknown model must not reach the upstream"


@gateway_only
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("model", ["dead/gpt-4o", "gpt-4o"])
def test_disabled_provider_503(client, upstream, tag, model, stream):
    with pytest.raises(openai.APIStatusError) as info:
        result = client.chat.completions.create(model=model, messages=user(f"are you dead {tag}"), stream=stream)
        if stream:
            list(result)
    exc = info.value
    assert exc.status_code == 503, f"status {exc.status_code}; body {exc.response.text!r}"
    assert isinstance(exc, openai.InternalServerError)
    error = assert_openai_error(exc, 503, "")
    assert "disabled" in error["message"].lower(), error["message"]
    assert upstream.find(tag) == []


# models ----------------------------------------------------------------------

@gateway_only
def test_models_list(client):
    page = client.models.list()
    ids = [m.id for m in page.data]
    for expected in ("up/gpt-4.1-mini", "up/gpt-4.1", "gpt-4.1-mini", "fast"):
        assert expected in ids, f"{expected!r} missing from /v1/models ids {ids}"
    for hidden in ("gpt-4o", "dead/gpt-4o"):
        assert hidden not in ids, f"disabled provider's model {hidden!r} listed: {ids}"
    assert all(m.object == "model" for m in page.data)


@gateway_only
def test_models_list_raw_shape(gateway):
    status, headers, payload = raw_request(gateway, "GET", "/models")
    assert status == 200, payload[:500]
    assert headers.get("content-type", "").startswith("application/json"), headers
    body = json.loads(payload)
    assert body.get("object") == "list"
    assert isinstance(body.get("data"), list) and body["data"]
    for item in body["data"]:
        assert isinstance(item.get("id"), str) and item.get("object") == "model", item


# tool calls ------------------------------------------------------------------

def test_tool_call_non_stream(client, upstream, tag):
    resp = client.chat.completions.create(
        model=MODEL,
        messages=user(f"#tool weather in Paris? {tag}"),
        tools=[WEATHER_TOOL],
        tool_choice="auto",
        parallel_tool_calls=False,
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].id == TOOL_CALL_ID
    assert calls[0].type == "function"
    assert calls[0].function.name == TOOL_NAME
    assert calls[0].function.arguments == TOOL_ARGUMENTS
    assert json.loads(calls[0].function.arguments) == {"city": "Paris", "unit": "celsius"}
    body = upstream.find_one(tag)["body"]
    assert body["tools"] == [WEATHER_TOOL]
    assert body["tool_choice"] == "auto"
    assert body["parallel_tool_calls"] is False


def test_tool_result_messages_pass_through(client, upstream, tag):
    messages = [
        {"role": "user", "content": f"weather in Paris? {tag}"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": TOOL_CALL_ID, "type": "function",
                 "function": {"name": TOOL_NAME, "arguments": TOOL_ARGUMENTS}},
            ],
        },
        {"role": "tool", "tool_call_id": TOOL_CALL_ID, "content": '{"temp_c": 21, "sky": "clear"}'},
    ]
    resp = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert resp.choices[0].message.content == reply_text(messages[0]["content"])
    body = upstream.find_one(tag)["body"]
    assert body["messages"] == messages
    assert body["tools"] == [WEATHER_TOOL]


def test_tool_call_stream_manual_accumulation(client, upstream, tag):
    stream = client.chat.completions.create(
        model=MODEL, messages=user(f"#tool stream it {tag}"), tools=[WEATHER_TOOL], stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    delta_count = 0
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for tc in choice.delta.tool_calls or []:
            delta_count += 1
            slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
            if tc.id:
                slot["id"] = tc.id
            if tc.function and tc.function.name:
                slot["name"] += tc.function.name
            if tc.function and tc.function.arguments:
                slot["arguments"] += tc.function.arguments
    assert finish == "tool_calls"
    assert delta_count > 2, "tool call arguments should arrive in several deltas"
    assert calls == {0: {"id": TOOL_CALL_ID, "name": TOOL_NAME, "arguments": TOOL_ARGUMENTS}}
    assert upstream.find_one(tag)["body"]["tools"] == [WEATHER_TOOL]


def test_tool_call_stream_helper(client, upstream, tag):
    done_events = []
    with client.chat.completions.stream(
        model=MODEL, messages=user(f"#tool helper {tag}"), tools=[WEATHER_TOOL],
    ) as stream:
        for event in stream:
            if event.type == "tool_calls.function.arguments.done":
                done_events.append(event)
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].id == TOOL_CALL_ID
    assert calls[0].function.name == TOOL_NAME
    assert calls[0].function.arguments == TOOL_ARGUMENTS
    assert len(done_events) == 1 and done_events[0].arguments == TOOL_ARGUMENTS


# size and concurrency ------------------------------------------------------------

def test_large_request_body(client, upstream, tag):
    line = "The quick brown fox jumps over the lazy dog; 0123456789 ~ äöü €.\n"
    filler = "".join(f"{i:06d} {line}" for i in range(1_048_576 // (len(line) + 7) + 1))
    text = f"#sha {tag}\n{filler}"
    assert len(text.encode("utf-8")) > 1_000_000
    resp = client.chat.completions.create(model=MODEL, messages=user(text), timeout=60)
    assert resp.choices[0].message.content == reply_text(text)
    rec = upstream.find_one(tag)
    assert rec["user_text"] == text
    assert rec["raw_len"] > 1_000_000


def test_concurrent_requests(client_factory, upstream, tag):
    n = 20
    barrier = threading.Barrier(n)

    def work(i: int) -> tuple[str, str]:
        c = client_factory()
        text = f"concurrent #{i:02d} {tag}"
        barrier.wait(timeout=30)
        if i % 2:
            got, _ = collect_stream(
                c.chat.completions.create(model=MODEL, messages=user(text), stream=True)
            )
        else:
            got = c.chat.completions.create(model=MODEL, messages=user(text)).choices[0].message.content
        return text, got

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(work, i) for i in range(n)]
        results, errors = [], []
        for f in futures:
            try:
                results.append(f.result(timeout=90))
            except Exception as exc:  # noqa: BLE001 - report them all below
                errors.append(repr(exc))
    assert not errors, f"{len(errors)}/{n} concurrent requests failed: {errors}"
    for text, got in results:
        assert got == reply_text(text), f"wrong answer for {text!r}: {got!r}"
    assert len(upstream.find(tag)) == n
