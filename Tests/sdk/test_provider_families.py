"""End-to-end tests of tollgate's protocol translation: the official openai SDK
talks Chat Completions / Embeddings to a real tollgate process, which talks
to fake upstreams of each provider family (family_upstreams.py) on 127.0.0.1;
the families, their models and providers are the table in families.py.

One tollgate serves the whole module, every provider with `retries: 0` and a
failure threshold high enough that error tests never open a breaker.

Every test puts a unique `tag` into its request so the request tollgate sent
can be found in the fake's log; the checks on those requests spell out the
family's wire format (path, auth header, body) independently of tollgate's
sources.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import openai
import pytest

import conftest as sdk
import family_upstreams as fu
from family_checks import SYSTEM, WEATHER_TOOL
from families import CHAT_FAMILIES as FAMILIES, EMBED_FAMILIES, TABLE, check_auth, collect, providers, raw_post, sse_data, user

# These tests exercise tollgate's translation; in TOLLGATE_SDK_DIRECT=1 mode
# (SDK straight at a fake, no gateway) they cannot work: the fakes do not speak
# the OpenAI dialect.
pytestmark = pytest.mark.gateway

MODEL = {family: TABLE[family].model for family in FAMILIES}

TOOL_RESULT = '{"temp_c": 21, "sky": "clear"}'

# fixtures ----------------------------------------------------------------------

# A 429 carrying a retry hint cools its provider down at once, for as long as the
# hint says (ProviderHealth; this is independent of failure_threshold). The rate-limit
# cases therefore go to providers of their own, one per case, pointing at the same fakes.
COOLING_CASES = ("429-non-stream", "429-stream")


def cooling_provider(family: str, case: str) -> str:
    return f"{TABLE[family].provider}-{case}"


@pytest.fixture(scope="module")
def family_gateway(launch_gateway, fakes: dict[str, fu.FamilyUpstream]) -> Iterator[sdk.Gateway]:
    provs = providers(fakes)
    for family in FAMILIES:
        for case in COOLING_CASES:
            # No `models`: reached only as PROVIDER/model, never by a bare model id.
            clone = {k: v for k, v in provs[TABLE[family].provider].items() if k != "models"}
            provs[cooling_provider(family, case)] = clone
    config = {"providers": provs, "failover": {"failure_threshold": 1000}}
    with launch_gateway(config, logs=list(fakes.values()), name="tollgate-families") as gw:
        yield gw


@pytest.fixture(scope="module")
def fclient(family_gateway: sdk.Gateway) -> Iterator[openai.OpenAI]:
    client = sdk.make_client(family_gateway)
    try:
        yield client
    finally:
        client.close()


# helpers -----------------------------------------------------------------------


def with_system(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]


def accumulate_tool_calls(chunks: list) -> tuple[dict[int, dict[str, Any]], int]:
    """Tool calls of a streamed answer by index, and how many tool-call deltas carried them."""
    calls: dict[int, dict[str, Any]] = {}
    deltas = 0
    for chunk in chunks:
        if not chunk.choices:
            continue
        for tc in chunk.choices[0].delta.tool_calls or []:
            deltas += 1
            slot = calls.setdefault(tc.index, {"id": "", "type": None, "name": "", "arguments": "", "extra": {}})
            if tc.id:
                slot["id"] = tc.id
            if tc.type:
                slot["type"] = tc.type
            if tc.function and tc.function.name:
                slot["name"] += tc.function.name
            if tc.function and tc.function.arguments:
                slot["arguments"] += tc.function.arguments
            slot["extra"].update(tc.model_extra or {})
    return calls, deltas


def finish_reasons(chunks: list) -> list[str]:
    return [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]


def assert_usage(usage: Any, family: str) -> None:
    prompt, cached, completion, reasoning = TABLE[family].tokens
    assert usage is not None, "no usage"
    got = (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
    assert got == (prompt, completion, prompt + completion), f"{family} usage (prompt, completion, total) = {got}"
    if cached:
        assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == cached, usage
    if reasoning:
        assert usage.completion_tokens_details is not None \
            and usage.completion_tokens_details.reasoning_tokens == reasoning, usage


# what tollgate must send ----------------------------------------------------------


def check_chat_request(family: str, rec: dict[str, Any], stream: bool) -> None:
    assert rec["method"] == "POST"
    assert rec["path"] == TABLE[family].chat_path(stream)
    assert rec["headers"].get("content-type", "").startswith("application/json"), rec["headers"]
    check_auth(family, rec)


def checks(family: str):
    """The family's entry in family_checks.py: its request bodies and what differs in its answers."""
    return TABLE[family].checks


# (1) non-streamed text -----------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_non_stream_text(fclient, fakes, tag, family):
    messages = with_system(f"hello there {tag}")
    resp = fclient.chat.completions.create(model=MODEL[family], messages=messages, max_tokens=77,
                                           temperature=0.5, seed=7)
    rec = fakes[family].find_one(tag)
    check_chat_request(family, rec, stream=False)
    checks(family).text_body(rec, messages, stream=False)

    assert resp.object == "chat.completion"
    assert isinstance(resp.id, str) and resp.id
    assert len(resp.choices) == 1
    choice = resp.choices[0]
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert choice.message.content == fu.reply_text(family, messages[-1]["content"])
    assert not choice.message.tool_calls
    assert choice.finish_reason == "stop"
    assert_usage(resp.usage, family)


# (2) streamed text ----------------------------------------------------------------


@pytest.mark.parametrize("include_usage", [False, True], ids=["no-usage", "include-usage"])
@pytest.mark.parametrize("family", FAMILIES)
def test_stream_text(fclient, fakes, tag, family, include_usage):
    messages = with_system(f"stream please {tag}")
    extra = {"stream_options": {"include_usage": True}} if include_usage else {}
    stream = fclient.chat.completions.create(model=MODEL[family], messages=messages, max_tokens=77,
                                             temperature=0.5, seed=7, stream=True, **extra)
    got, chunks = collect(stream)
    rec = fakes[family].find_one(tag)
    check_chat_request(family, rec, stream=True)
    checks(family).text_body(rec, messages, stream=True)

    assert got == fu.reply_text(family, messages[-1]["content"])
    assert chunks, "no chunks"
    assert all(c.object == "chat.completion.chunk" for c in chunks), {c.object for c in chunks}
    assert len({c.id for c in chunks}) == 1, "chunks of one answer must share their id"
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) > 1, "the answer should arrive in several chunks"
    first = next(c for c in chunks if c.choices)
    assert first.choices[0].delta.role == "assistant"
    assert finish_reasons(chunks) == ["stop"]
    if include_usage:
        final = chunks[-1]
        assert final.choices == [], f"the usage chunk must have no choices: {final}"
        assert_usage(final.usage, family)
        assert all(c.usage is None for c in chunks[:-1]), "usage on a chunk before the last"
    else:
        assert all(c.usage is None for c in chunks), "usage sent to a client that did not ask for it"
        assert all(c.choices for c in chunks), "a chunk without choices sent to a client that did not ask for usage"


@pytest.mark.parametrize("family", FAMILIES)
def test_stream_raw_sse_ends_with_done(family_gateway, fakes, tag, family):
    text = f"raw stream {tag}"
    status, headers, payload = raw_post(family_gateway, "/chat/completions",
                                        {"model": MODEL[family], "messages": user(text), "stream": True})
    assert status == 200, payload[:500]
    assert headers.get("content-type", "").startswith("text/event-stream"), headers
    data = sse_data(payload)
    assert data and data[-1] == "[DONE]", f"stream does not end with data: [DONE]: {data[-3:]}"
    assert data.count("[DONE]") == 1
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c.get("object") == "chat.completion.chunk" for c in chunks)
    assert not any("error" in c for c in chunks)
    got = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert got == fu.reply_text(family, text)
    assert len(fakes[family].find(tag)) == 1


# (3) tools ---------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_tool_call_non_stream(fclient, fakes, tag, family):
    resp = fclient.chat.completions.create(model=MODEL[family], messages=user(f"#tool weather in Paris? {tag}"),
                                           tools=[WEATHER_TOOL], tool_choice="auto")
    rec = fakes[family].find_one(tag)
    check_chat_request(family, rec, stream=False)
    checks(family).tools_body(rec["body"])

    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == fu.TOOL_PREAMBLE.get(family)
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1, calls
    call = calls[0]
    checks(family).tool_call_ids([call.id])
    assert call.type == "function"
    assert call.function.name == fu.TOOL_NAME
    assert isinstance(call.function.arguments, str), "arguments must be a JSON string"
    assert json.loads(call.function.arguments) == fu.TOOL_ARGS
    assert (call.model_extra or {}).get("extra_content") == checks(family).tool_extra_content, call


@pytest.mark.parametrize("family", FAMILIES)
def test_tool_call_stream(fclient, fakes, tag, family):
    stream = fclient.chat.completions.create(model=MODEL[family], messages=user(f"#tool stream it {tag}"),
                                             tools=[WEATHER_TOOL], tool_choice="auto", stream=True)
    text, chunks = collect(stream)
    rec = fakes[family].find_one(tag)
    check_chat_request(family, rec, stream=True)
    checks(family).tools_body(rec["body"])

    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert finish_reasons(chunks) == ["tool_calls"]
    assert text == (fu.TOOL_PREAMBLE.get(family) or "")
    calls, deltas = accumulate_tool_calls(chunks)
    assert list(calls) == [0], calls
    call = calls[0]
    checks(family).tool_call_ids([call["id"]])
    assert call["type"] == "function"
    assert call["name"] == fu.TOOL_NAME
    assert json.loads(call["arguments"]) == fu.TOOL_ARGS
    checks(family).streamed_tool_args(call, deltas)
    assert call["extra"].get("extra_content") == checks(family).tool_extra_content, call


def tool_round_trip(fclient, fakes, tag: str, family: str, stream: bool, marker: str, args: list[dict],
                    results: list[str]) -> None:
    """Asks for tool calls, checks them, sends the tool results back, checks what the
    upstream received and the text answer."""
    question = f"{marker} weather, please {tag}"
    model = MODEL[family]
    first = fclient.chat.completions.create(model=model, messages=user(question), tools=[WEATHER_TOOL],
                                            stream=stream)
    if stream:
        content, chunks = collect(first)
        by_index, _ = accumulate_tool_calls(chunks)
        assert finish_reasons(chunks) == ["tool_calls"]
        assert sorted(by_index) == list(range(len(args))), f"tool call indexes {sorted(by_index)}"
        calls = [by_index[i] for i in sorted(by_index)]
    else:
        message = first.choices[0].message
        assert first.choices[0].finish_reason == "tool_calls"
        content = message.content
        calls = [{"id": tc.id, "name": tc.function.name, "arguments": tc.function.arguments,
                  "extra": dict(tc.model_extra or {})} for tc in message.tool_calls or []]
    assert [c["name"] for c in calls] == [fu.TOOL_NAME] * len(args)
    assert [json.loads(c["arguments"]) for c in calls] == args
    ids = [c["id"] for c in calls]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids), f"tool call ids {ids}"
    checks(family).tool_call_ids(ids)

    # The conversation goes on as a client writes it: the assistant turn with its tool
    # calls (and whatever extra fields came with them), then one `tool` message per call.
    tool_calls = [{"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]},
                   **c["extra"]} for c in calls]
    messages = [
        {"role": "user", "content": question},
        {"role": "assistant", "content": content or None, "tool_calls": tool_calls},
    ] + [{"role": "tool", "tool_call_id": c["id"], "content": r} for c, r in zip(calls, results)]
    second = fclient.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL], stream=stream)
    if stream:
        answer, chunks = collect(second)
        assert finish_reasons(chunks) == ["stop"]
    else:
        answer = second.choices[0].message.content
        assert second.choices[0].finish_reason == "stop"
        assert not second.choices[0].message.tool_calls

    records = fakes[family].find(tag)
    assert len(records) == 2, [r["path"] for r in records]
    rec = records[1]
    check_chat_request(family, rec, stream=stream)
    checks(family).tool_result_body(rec["body"], question, calls, args, results, messages)
    assert answer == fu.tool_ok_answer([(checks(family).tool_ok_key(c["id"]), r) for c, r in zip(calls, results)])


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("family", FAMILIES)
def test_tool_round_trip(fclient, fakes, tag, family, stream):
    tool_round_trip(fclient, fakes, tag, family, stream, "#tool", [fu.TOOL_ARGS], [TOOL_RESULT])


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("family", FAMILIES)
def test_parallel_tool_calls_round_trip(fclient, fakes, tag, family, stream):
    """Two calls in one answer; both results go back in one request (one turn where the
    family needs alternating roles)."""
    tool_round_trip(fclient, fakes, tag, family, stream, "#tools2", [fu.TOOL_ARGS, fu.TOOL_ARGS_2],
                    [TOOL_RESULT, '{"temp_c": 14, "sky": "rain"}'])


# (4) upstream errors -------------------------------------------------------------------

# (family, marker, client status, SDK exception, Retry-After the client should see)
ERROR_CASES = [
    ("anthropic", "#err-overloaded", 529, openai.InternalServerError, None),
    ("anthropic", "#err-invalid", 400, openai.BadRequestError, None),
    ("anthropic", "#err-ratelimit", 429, openai.RateLimitError, "3"),
    ("gemini", "#err-quota", 429, openai.RateLimitError, "7"),
    ("gemini", "#err-invalid", 400, openai.BadRequestError, None),
    ("gemini", "#err-unavailable", 503, openai.InternalServerError, None),
    ("bedrock", "#err-validation", 400, openai.BadRequestError, None),
    ("bedrock", "#err-throttle", 429, openai.RateLimitError, None),
    ("bedrock", "#err-unavailable", 503, openai.InternalServerError, None),
    ("responses", "#err-ratelimit", 429, openai.RateLimitError, "2"),
    ("responses", "#err-invalid", 400, openai.BadRequestError, None),
    ("responses", "#err-server", 500, openai.InternalServerError, None),
    ("azure", "#err-ratelimit", 429, openai.RateLimitError, "4"),
    ("azure", "#err-filter", 400, openai.BadRequestError, None),
    ("azure", "#err-server", 500, openai.InternalServerError, None),
]


def provider_message(family: str, marker: str) -> str:
    return checks(family).error_message(fu.ERRORS[family][marker][1])


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("family, marker, status, exc_type, retry_after", ERROR_CASES,
                         ids=[f"{c[0]}-{c[1][5:]}-{c[2]}" for c in ERROR_CASES])
def test_upstream_error(fclient, fakes, tag, family, marker, status, exc_type, retry_after, stream):
    model = MODEL[family]
    if status == 429:
        case = f"429-{'stream' if stream else 'non-stream'}"
        model = f"{cooling_provider(family, case)}/{TABLE[family].chat_model}"
    with pytest.raises(openai.APIStatusError) as info:
        result = fclient.chat.completions.create(model=model, messages=user(f"{marker} {tag}"), stream=stream)
        if stream:
            list(result)
    exc = info.value
    needle = provider_message(family, marker)
    assert exc.status_code == status, f"status {exc.status_code} != {status}; body {exc.response.text!r}"
    assert isinstance(exc, exc_type), type(exc)
    body = exc.response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), f"not OpenAI-shaped: {body!r}"
    assert set(body["error"]) >= {"message", "type", "param", "code"}, body
    assert needle in body["error"]["message"], f"{needle!r} not in {body['error']['message']!r}"
    assert needle in exc.message
    if retry_after is not None:
        assert exc.response.headers.get("retry-after") == retry_after, dict(exc.response.headers)
    assert len(fakes[family].find(tag)) == 1, "retries: 0, so exactly one upstream attempt"


# (5) mid-stream errors --------------------------------------------------------------------

MIDSTREAM_CASES = [
    ("anthropic", "#midstream", "anthropic"),
    ("gemini", "#midstream", "gemini"),
    ("bedrock", "#midstream", "bedrock"),
    ("responses", "#midstream", "responses"),
    ("responses", "#midfailed", "responses-failed"),
    ("azure", "#midstream", "azure"),
]
MIDSTREAM_IDS = ["anthropic-error-event", "gemini-error-data", "bedrock-exception-frame", "responses-error-event",
                 "responses-failed-event", "azure-error-data"]


@pytest.mark.parametrize("family, marker, message_key", MIDSTREAM_CASES, ids=MIDSTREAM_IDS)
def test_mid_stream_error_raises(fclient, fakes, tag, family, marker, message_key):
    text = f"{marker} {tag}"
    stream = fclient.chat.completions.create(model=MODEL[family], messages=user(text), stream=True)
    pieces = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    assert fu.MIDSTREAM_MESSAGES[message_key] in info.value.message, info.value.message
    # The fake sent three 7-character pieces before failing; they reach the client first.
    assert "".join(pieces) == fu.reply_text(family, text)[:21]
    assert len(fakes[family].find(tag)) == 1


@pytest.mark.parametrize("family, marker, message_key", MIDSTREAM_CASES, ids=MIDSTREAM_IDS)
def test_mid_stream_error_raw_framing(family_gateway, fakes, tag, family, marker, message_key):
    status, _, payload = raw_post(family_gateway, "/chat/completions",
                                  {"model": MODEL[family], "messages": user(f"{marker} {tag}"), "stream": True})
    assert status == 200, payload[:500]
    data = sse_data(payload)
    assert "[DONE]" not in data, "a failed stream must not end with [DONE]"
    last = json.loads(data[-1])
    assert isinstance(last.get("error"), dict), f"last event is not an error: {data[-1]!r}"
    assert fu.MIDSTREAM_MESSAGES[message_key] in last["error"].get("message", "")


# embeddings --------------------------------------------------------------------------------

def check_embed_request(family: str, rec: dict[str, Any], inputs: list[str] | str, dimensions: int | None) -> None:
    body = rec["body"]
    check_auth(family, rec)
    texts = [inputs] if isinstance(inputs, str) else inputs
    assert rec["path"] == TABLE[family].embed_path
    checks(family).embed_body(body, inputs, texts, dimensions)


@pytest.mark.parametrize("encoding", ["default-base64", "float"])
@pytest.mark.parametrize("family", EMBED_FAMILIES)
def test_embeddings(fclient, fakes, tag, family, encoding):
    inputs = checks(family).embed_inputs(tag)
    texts = [inputs] if isinstance(inputs, str) else inputs
    extra = {"encoding_format": "float"} if encoding == "float" else {}
    raw = fclient.embeddings.with_raw_response.create(model=TABLE[family].embed, input=inputs, **extra)
    payload = json.loads(raw.text)
    resp = raw.parse()

    rec = fakes[family].find_one(tag)
    check_embed_request(family, rec, inputs, None)

    assert payload.get("object") == "list"
    assert [d["index"] for d in payload["data"]] == list(range(len(texts)))
    for item in payload["data"]:
        assert item.get("object") == "embedding"
        if encoding == "float":
            assert isinstance(item["embedding"], list), "encoding_format=float must answer a list of numbers"
        else:
            assert isinstance(item["embedding"], str), "the SDK asked for base64 (its default); got a list"
    vectors = [d.embedding for d in sorted(resp.data, key=lambda d: d.index)]
    assert vectors == [fu.embedding_for(t) for t in texts]
    if TABLE[family].embed_tokens is not None:
        assert resp.usage.prompt_tokens == TABLE[family].embed_tokens


@pytest.mark.parametrize("family", ["openai", "gemini", "bedrock"])
def test_embeddings_dimensions(fclient, fakes, tag, family):
    inputs = checks(family).embed_inputs(tag)
    texts = [inputs] if isinstance(inputs, str) else inputs
    resp = fclient.embeddings.create(model=TABLE[family].embed, input=inputs, dimensions=4,
                                     encoding_format="float")
    check_embed_request(family, fakes[family].find_one(tag), inputs, 4)
    assert [d.embedding for d in sorted(resp.data, key=lambda d: d.index)] == [fu.embedding_for(t, 4) for t in texts]
