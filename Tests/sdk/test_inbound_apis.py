"""The inbound APIs besides Chat Completions, driven by the official clients:
the `anthropic` SDK on `/v1/messages` (and count_tokens), the `openai` SDK's
`responses` on `/v1/responses`, and the OpenAI Agents SDK with its default model
(Responses). Each runs against every chat family's fake (families.py): the
same-family upstream (anthropic for Messages, responses for Responses) gets the
client's bytes with only the model id rewritten and its answer is relayed byte for
byte; every other family is translated both ways.

The fakes answer by markers in the last user text (family_upstreams.py): `#tool`
one tool call, `#tools2` two in one turn, `#midstream` an error mid-stream, and a
tool result turn is answered `TOOL_OK <id> result=...`.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
from typing import Any, Iterator

import anthropic
import openai
import pytest

import conftest as sdk
import family_upstreams as fu
from fake_families_native import ANTHROPIC_COUNT_TOKENS
from families import CHAT_FAMILIES, TABLE, providers

pytestmark = pytest.mark.gateway

FAMILIES = CHAT_FAMILIES  # anthropic, gemini, bedrock, responses, azure
WEATHER = {
    "name": fu.TOOL_NAME,
    "description": "Current weather for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                     "required": ["city"]},
}
RESPONSES_WEATHER = {
    "type": "function", "name": fu.TOOL_NAME, "description": "Current weather for a city.",
    "parameters": WEATHER["input_schema"], "strict": False,
}
RESULT = '{"temp_c": 21}'


@pytest.fixture(scope="module")
def gw(launch_gateway, fakes) -> Iterator[sdk.Gateway]:
    config = {"providers": providers(fakes), "failover": {"failure_threshold": 1000}}
    with launch_gateway(config, logs=list(fakes.values()), name="tollgate-inbound") as gateway:
        yield gateway


@pytest.fixture(scope="module")
def claude(gw) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{gw.port}", api_key=gw.client_api_key, max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def oai(gw) -> Iterator[openai.OpenAI]:
    client = sdk.make_client(gw)
    yield client
    client.close()


def rows(gw: sdk.Gateway, request_id: str) -> list[dict[str, Any]]:
    with sqlite3.connect(gw.ledger) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM requests WHERE request_id = ? ORDER BY id", (request_id,))]


def raw(gw: sdk.Gateway, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    try:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def events(payload: bytes) -> list[tuple[str | None, Any]]:
    """(event name, parsed data) of each SSE event."""
    out = []
    for block in payload.decode().replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            out.append((name, json.loads("\n".join(data))))
    return out


# --------------------------------------------------------------------------- Anthropic Messages


@pytest.mark.parametrize("family", FAMILIES)
def test_messages_text(gw, claude, tag, family):
    raw_response = claude.messages.with_raw_response.create(
        model=TABLE[family].model, max_tokens=256, system="Be brief.",
        messages=[{"role": "user", "content": f"hello {tag}"}])
    message = raw_response.parse()
    request_id = raw_response.headers["x-tollgate-request-id"]
    assert message.type == "message" and message.role == "assistant"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == fu.reply_text(family, f"hello {tag}")
    assert message.stop_reason == "end_turn"
    prompt, cached, completion, _ = TABLE[family].tokens
    assert (message.usage.input_tokens + (message.usage.cache_read_input_tokens or 0)
            + (message.usage.cache_creation_input_tokens or 0), message.usage.output_tokens) == (prompt, completion)
    [row] = rows(gw, request_id)
    assert (row["api"], row["outcome"], row["input_tokens"], row["output_tokens"]) == ("messages", "ok", prompt, completion)
    assert row["tokens_estimated"] == 0 and row["cost_usd"] >= 0


@pytest.mark.parametrize("family", FAMILIES)
def test_messages_stream_helper(gw, claude, tag, family):
    with claude.messages.stream(model=TABLE[family].model, max_tokens=256,
                                messages=[{"role": "user", "content": f"stream {tag}"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == fu.reply_text(family, f"stream {tag}")
    assert final.content[0].text == text and final.stop_reason == "end_turn"
    prompt, _, completion, _ = TABLE[family].tokens
    assert final.usage.output_tokens == completion


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("family", FAMILIES)
def test_messages_parallel_tools_round_trip(claude, fakes, tag, family, stream):
    """Two tool calls in one turn, both answered in the next: the Claude Code loop."""
    model = TABLE[family].model
    turn = [{"role": "user", "content": f"weather #tools2 {tag}"}]
    kwargs = dict(model=model, max_tokens=512, tools=[WEATHER], messages=turn)
    if stream:
        with claude.messages.stream(**kwargs) as s:
            first = s.get_final_message()
    else:
        first = claude.messages.create(**kwargs)
    uses = [b for b in first.content if b.type == "tool_use"]
    assert first.stop_reason == "tool_use"
    assert [u.input for u in uses] == [fu.TOOL_ARGS, fu.TOOL_ARGS_2], first.content
    assert len({u.id for u in uses}) == 2 and all(u.name == fu.TOOL_NAME for u in uses)
    # Block indexes are 0..n-1 in order (a text preamble may come first).
    turn = turn + [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u.id, "content": RESULT}
                                                for u in uses]}]
    second = claude.messages.create(model=model, max_tokens=512, tools=[WEATHER], messages=turn)
    text = second.content[0].text
    assert text.count("TOOL_OK") == 2 and RESULT in text, text
    check_thought_signature(fakes, tag, family)


def check_thought_signature(fakes, tag: str, family: str) -> None:
    """Gemini's thought signature went out inside the call id and came back to Gemini with the call."""
    if family != "gemini":
        return
    replayed = fakes["gemini"].find(tag)[-1]["body"]["contents"][1]["parts"]
    assert replayed[0].get("thoughtSignature") == fu.GEMINI_THOUGHT_SIGNATURE, replayed


@pytest.mark.parametrize("family", FAMILIES)
def test_messages_stream_event_sequence(gw, tag, family):
    """Anthropic's exact order: message_start, blocks with rising indexes (start, deltas, stop),
    message_delta with the stop reason and usage, message_stop."""
    status, headers, body = raw(gw, "/v1/messages", {
        "model": TABLE[family].model, "max_tokens": 300, "stream": True, "tools": [WEATHER],
        "messages": [{"role": "user", "content": f"go #tools2 {tag}"}]}, {"anthropic-version": "2023-06-01"})
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    seq = [(n, d) for n, d in events(body) if n != "ping"]
    assert seq[0][0] == "message_start" and seq[-1][0] == "message_stop" and seq[-2][0] == "message_delta"
    assert all(n == d["type"] for n, d in seq)
    open_index, next_index, inputs = None, 0, {}
    for name, data in seq[1:-2]:
        if name == "content_block_start":
            assert open_index is None and data["index"] == next_index
            open_index = data["index"]
            if data["content_block"]["type"] == "tool_use":
                inputs[open_index] = ""
        elif name == "content_block_delta":
            assert data["index"] == open_index
            if data["delta"]["type"] == "input_json_delta":
                inputs[open_index] += data["delta"]["partial_json"]
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index, next_index = None, next_index + 1
    assert open_index is None
    assert [json.loads(v) for v in inputs.values()] == [fu.TOOL_ARGS, fu.TOOL_ARGS_2]
    assert seq[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert seq[-2][1]["usage"]["output_tokens"] == TABLE[family].tokens.output


@pytest.mark.parametrize("family", FAMILIES)
def test_messages_mid_stream_failure_is_an_error_event(gw, claude, tag, family):
    with pytest.raises(anthropic.APIStatusError) as caught:
        with claude.messages.stream(model=TABLE[family].model, max_tokens=100,
                                    messages=[{"role": "user", "content": f"#midstream {tag}"}]) as stream:
            for _ in stream.text_stream:
                pass
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["message"]
    status, _, body = raw(gw, "/v1/messages", {"model": TABLE[family].model, "max_tokens": 100, "stream": True,
                                               "messages": [{"role": "user", "content": f"#midstream raw {tag}"}]})
    names = [n for n, _ in events(body)]
    assert names[-1] == "error" and "message_stop" not in names


def test_messages_errors_are_anthropic_shaped(gw, claude, tag):
    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model=TABLE["gemini"].model, max_tokens=10, messages=[{"role": "robot", "content": "x"}])
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    status, _, body = raw(gw, "/v1/messages", b"{not json")
    assert status == 400 and json.loads(body)["type"] == "error"
    # An Anthropic upstream's own refusal keeps its type and message.
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model=TABLE["anthropic"].model, max_tokens=10,
                               messages=[{"role": "user", "content": f"#err-invalid {tag}"}])
    assert "fake anthropic rejects this prompt" in caught.value.body["error"]["message"]


def test_messages_pass_through_is_byte_for_byte(gw, fakes, tag):
    """To an Anthropic upstream: the request bytes reach it with only the model id rewritten
    (cache_control, thinking signatures, betas and unknown fields intact), and the answer's
    bytes reach the client as the upstream sent them, streamed and not."""
    for stream in (False, True):
        body = (
            '{"model": "ant/claude-x", "max_tokens": 2048, "stream": %s, "future_field": {"x": [1, 2.50]},\n'
            ' "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],\n'
            ' "thinking": {"type": "enabled", "budget_tokens": 1024},\n'
            ' "messages": [{"role": "user", "content": "first %s"},\n'
            '   {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "c2lnbmF0dXJl"},'
            ' {"type": "text", "text": "ok"}]},\n'
            '   {"role": "user", "content": [{"type": "text", "text": "again \\u00e9 %s", "cache_control": {"type": "ephemeral"}}]}]}'
        ) % ("true" if stream else "false", tag, tag)
        sent = body.encode()
        status, headers, received = raw(gw, "/v1/messages", sent,
                                        {"anthropic-version": "2023-06-01", "anthropic-beta": "interleaved-thinking-2025-05-14"})
        assert status == 200, received
        rec = [r for r in fakes["anthropic"].find(tag) if r["body"]["stream"] == stream][0]
        assert rec["raw"].encode() == sent.replace(b'"ant/claude-x"', b'"claude-x"')
        assert rec["headers"]["anthropic-beta"] == "interleaved-thinking-2025-05-14"
        assert rec["headers"]["x-api-key"] == TABLE["anthropic"].api_key
        assert received == rec["sent"], "the answer was not relayed byte for byte"
        [row] = rows(gw, headers["x-tollgate-request-id"])
        assert (row["api"], row["input_tokens"], row["output_tokens"]) == ("messages", 19, 7)


def test_count_tokens(gw, claude, tag):
    exact = claude.messages.with_raw_response.count_tokens(
        model=TABLE["anthropic"].model, messages=[{"role": "user", "content": f"count {tag}"}])
    assert exact.parse().input_tokens == ANTHROPIC_COUNT_TOKENS
    assert "x-tollgate-tokens-estimated" not in exact.headers
    [row] = rows(gw, exact.headers["x-tollgate-request-id"])
    assert (row["api"], row["cost_usd"]) == ("count_tokens", 0)
    estimate = claude.messages.with_raw_response.count_tokens(
        model=TABLE["gemini"].model, system="A system prompt of some length.",
        messages=[{"role": "user", "content": "count these words please " * 20}])
    assert estimate.headers["x-tollgate-tokens-estimated"] == "true"
    assert 100 < estimate.parse().input_tokens < 400


def test_models_in_anthropic_shape(claude):
    page = claude.models.list()
    ids = [m.id for m in page.data]
    assert TABLE["anthropic"].model in ids and all(m.type == "model" for m in page.data)


# --------------------------------------------------------------------------- OpenAI Responses


@pytest.mark.parametrize("family", FAMILIES)
def test_responses_text(gw, oai, tag, family):
    raw_response = oai.responses.with_raw_response.create(model=TABLE[family].model, instructions="Be brief.",
                                                          input=f"hello {tag}")
    response = raw_response.parse()
    assert response.status == "completed"
    assert response.output_text == fu.reply_text(family, f"hello {tag}")
    prompt, _, completion, _ = TABLE[family].tokens
    assert (response.usage.input_tokens, response.usage.output_tokens) == (prompt, completion)
    [row] = rows(gw, raw_response.headers["x-tollgate-request-id"])
    assert (row["api"], row["outcome"], row["output_tokens"]) == ("responses", "ok", completion)


@pytest.mark.parametrize("family", FAMILIES)
def test_responses_stream(oai, tag, family):
    with oai.responses.stream(model=TABLE[family].model, input=[{"role": "user", "content": f"stream {tag}"}]) as s:
        deltas = [e.delta for e in s if e.type == "response.output_text.delta"]
        final = s.get_final_response()
    assert "".join(deltas) == fu.reply_text(family, f"stream {tag}") == final.output_text
    assert final.usage.output_tokens == TABLE[family].tokens.output


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("family", FAMILIES)
def test_responses_function_tools_round_trip(oai, fakes, tag, family, stream):
    model = TABLE[family].model
    items: list[Any] = [{"role": "user", "content": f"weather #tools2 {tag}"}]
    if stream:
        with oai.responses.stream(model=model, input=items, tools=[RESPONSES_WEATHER]) as s:
            first = s.get_final_response()
    else:
        first = oai.responses.create(model=model, input=items, tools=[RESPONSES_WEATHER])
    calls = [o for o in first.output if o.type == "function_call"]
    assert [json.loads(c.arguments) for c in calls] == [fu.TOOL_ARGS, fu.TOOL_ARGS_2], first.output
    items += [c.model_dump(exclude_none=True) for c in first.output if c.type in ("function_call", "message")]
    items += [{"type": "function_call_output", "call_id": c.call_id, "output": RESULT} for c in calls]
    second = oai.responses.create(model=model, input=items, tools=[RESPONSES_WEATHER])
    assert second.output_text.count("TOOL_OK") == 2 and RESULT in second.output_text
    check_thought_signature(fakes, tag, family)


def test_responses_structured_output(fakes, oai, tag):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
              "additionalProperties": False}
    response = oai.responses.create(model=TABLE["azure"].model, input=f"json please {tag}",
                                    text={"format": {"type": "json_schema", "name": "reply", "schema": schema, "strict": True}},
                                    reasoning={"effort": "low"}, max_output_tokens=300)
    assert response.status == "completed"
    sent = fakes["azure"].find_one(tag)["body"]
    assert sent["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "reply", "schema": schema, "strict": True}}
    assert sent["max_completion_tokens"] == 300 and sent.get("reasoning_effort") == "low"


@pytest.mark.parametrize("family", FAMILIES)
def test_responses_mid_stream_failure(gw, tag, family):
    status, _, body = raw(gw, "/v1/responses", {"model": TABLE[family].model, "stream": True,
                                                "input": f"#midstream {tag}"})
    assert status == 200
    names = [n for n, _ in events(body)]
    assert names[-1] == "response.failed" and "response.completed" not in names, names
    failed = events(body)[-1][1]["response"]
    assert failed["status"] == "failed" and failed["error"]["message"]


def test_responses_previous_response_id(gw, fakes, tag):
    status, _, body = raw(gw, "/v1/responses", {"model": TABLE["gemini"].model, "input": "x",
                                                "previous_response_id": "resp_abc"})
    assert status == 400 and json.loads(body)["error"]["param"] == "previous_response_id"
    status, _, body = raw(gw, "/v1/responses", {"model": TABLE["responses"].model, "input": f"continue {tag}",
                                                "previous_response_id": "resp_abc"})
    assert status == 200, body
    assert fakes["responses"].find_one(tag)["body"]["previous_response_id"] == "resp_abc"


def test_responses_pass_through_is_byte_for_byte(gw, fakes, tag):
    for stream in (False, True):
        sent = ('{"model":"resp/gpt-r","stream":%s,"store":false,"include":["reasoning.encrypted_content"],'
                '"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi %s"}]}],'
                '"reasoning":{"effort":"high","summary":"auto"},"prompt_cache_key":"k1"}'
                % ("true" if stream else "false", tag)).encode()
        status, headers, received = raw(gw, "/v1/responses", sent)
        assert status == 200, received
        rec = [r for r in fakes["responses"].find(tag) if r["body"]["stream"] == stream][0]
        assert rec["raw"].encode() == sent.replace(b'"resp/gpt-r"', b'"gpt-r"')
        assert received == rec["sent"]
        [row] = rows(gw, headers["x-tollgate-request-id"])
        assert (row["api"], row["input_tokens"], row["output_tokens"]) == ("responses", 21, 12)


@pytest.mark.parametrize("family", FAMILIES)
def test_agents_sdk_default_model(gw, tag, family):
    """The OpenAI Agents SDK with its default model class (Responses) and a function tool."""
    import asyncio

    from agents import Agent, OpenAIResponsesModel, RunConfig, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)
    calls = []

    @function_tool
    def get_weather(city: str, unit: str = "celsius") -> str:
        """Current weather for a city."""
        calls.append(city)
        return RESULT

    client = openai.AsyncOpenAI(base_url=gw.base_url, api_key=gw.client_api_key, max_retries=0)
    agent = Agent(name="w", instructions="Use the tool.", tools=[get_weather],
                  model=OpenAIResponsesModel(model=TABLE[family].model, openai_client=client))
    result = asyncio.run(Runner.run(agent, f"weather #tool {tag}", run_config=RunConfig(tracing_disabled=True)))
    assert calls == ["Paris"]
    assert "TOOL_OK" in result.final_output and RESULT in result.final_output


# --------------------------------------------------------------------------- embeddings


def test_embeddings_token_arrays(gw, oai, fakes, tag):
    one = oai.embeddings.create(model=TABLE["openai"].embed, input=[101, 202, 303])
    assert len(one.data) == 1
    many = oai.embeddings.create(model=TABLE["azure"].embed, input=[[1, 2], [3, 4, 5]])
    assert len(many.data) == 2
    with pytest.raises(openai.BadRequestError) as caught:
        oai.embeddings.create(model=TABLE["gemini"].embed, input=[[1, 2]])
    message = caught.value.body["message"]
    assert "gem" in message and "token" in message
