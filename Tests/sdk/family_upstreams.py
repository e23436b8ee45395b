"""Fake upstreams, one per provider family tollgate translates to, for the
end-to-end tests in test_provider_families.py.

Each fake is the suite's one server class (fake_server.FakeServer, 127.0.0.1,
ephemeral port) answering with one family's FamilyExchange subclass, which is
that family's table: its path matcher (`route`), its error cases (`errors`),
the usage it reports (`usage`), how it reads a request into a `Turn`
(`read_turn`), and how it renders a text answer, a tool-call answer (each
streamed or not) and a validation error (`text`, `tool`, `reject`). The flow
that picks the answer is written once, in FamilyExchange.answer
(the family modules are fake_families_native.py and fake_families_openai.py):

    AnthropicExchange   POST /v1/messages                      (SSE with event: lines)
    GeminiExchange      POST /v1beta/models/M:generateContent
                        POST /v1beta/models/M:streamGenerateContent?alt=sse
                        POST /v1beta/models/M:batchEmbedContents
    BedrockExchange     POST /model/ID/converse
                        POST /model/ID/converse-stream         (application/vnd.amazon.eventstream)
                        POST /model/ID/invoke                  (Titan text embeddings)
    ResponsesExchange   POST /v1/responses                     (SSE with response.* events)
    Azure/CompatibleExchange POST {prefix}/chat/completions, {prefix}/embeddings
                        (Azure: prefix /openai/deployments/DEP and ?api-version=...;
                         an OpenAI-compatible server: prefix /v1)

Every request is recorded (path, query, headers, parsed JSON body, raw body
text) so tests can check what tollgate really sent; `find(tag)` looks for a
test's unique tag anywhere in the raw body.

What a fake answers depends first on the request (a tool result in the last
turn is answered with TOOL_OK text), then on markers in the text of the last
user turn:

    #tool        a tool call (get_weather, Paris) instead of text
    #tools2      two tool calls in one answer (Paris, then London)
    #midstream   a stream that sends some text, then the family's mid-stream
                 error (Anthropic `error` event, Gemini `{"error":...}` data,
                 Bedrock exception frame, Responses `error` event, OpenAI
                 `data: {"error":...}`)
    #midfailed   Responses only: `response.failed` instead of an `error` event
    #cut         any stream (every family): after CUT_AFTER_EVENTS whole events,
                 half of the next one, then the connection is closed without the
                 chunked terminator (no error event, no usage after that point);
                 checked only in the raw request body, so it works with any answer
    #err-...     an HTTP error in the family's format (see each ERRORS table)
    otherwise    a text answer: reply_text(family, user text)

Each fake also checks the request the way the real API does (roles
alternate, required fields present, tool results match tool calls, ...) and
answers a 400 in its own format, with a message starting "fake <family>
validation:", when it is not acceptable.

Streams use chunked transfer encoding; every event is written in two HTTP
chunks (split in the middle, so SSE lines, UTF-8 characters and event-stream
frames arrive split) with a flush and a tiny pause between them.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from fake_server import Exchange, FakeServer, StreamCut, ValidationError  # noqa: F401  (re-exported)

EVENT_GAP = 0.002  # seconds between the halves of streamed events
CREATED = 1_750_000_000

API_KEYS = {
    "anthropic": "k-ant",
    "gemini": "k-gem",
    "bedrock": "k-br",
    "responses": "k-resp",
    "azure": "k-az",
    "openai": "k-oai",
}

TOOL_NAME = "get_weather"
TOOL_ARGS = {"city": "Paris", "unit": "celsius"}
TOOL_ARGS_JSON = '{"city": "Paris", "unit": "celsius"}'
# The second call of a "#tools2" answer (two calls in one turn).
TOOL_ARGS_2 = {"city": "London", "unit": "celsius"}
TOOL_ARGS_2_JSON = '{"city": "London", "unit": "celsius"}'

# Tool call ids the fakes use (Gemini has none: tollgate makes them up).
TOOL_CALL_IDS = {
    "anthropic": "toolu_01FakeWeatherCall",
    "bedrock": "tooluse_FakeWeatherCall01",
    "responses": "call_resp_fake_weather_1",
    "azure": "call_az_fake_weather_1",
}
SECOND_TOOL_CALL_IDS = {
    "anthropic": "toolu_01FakeWeatherCall2",
    "bedrock": "tooluse_FakeWeatherCall02",
    "responses": "call_resp_fake_weather_2",
    "azure": "call_az_fake_weather_2",
}
RESPONSES_ITEM_ID = "fc_fake_weather_item_1"
GEMINI_THOUGHT_SIGNATURE = "ZmFrZS10aG91Z2h0LXNpZ25hdHVyZS0x"

# Text some families put before a tool call in the same answer.
TOOL_PREAMBLE = {
    "anthropic": "Let me check the weather.",
    "bedrock": "Checking the weather.",
}

# Usage each fake reports, in its own terms.
ANTHROPIC_USAGE = {"input_tokens": 11, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 5,
                   "output_tokens": 7}
GEMINI_USAGE = {"promptTokenCount": 13, "candidatesTokenCount": 6, "thoughtsTokenCount": 4,
                "cachedContentTokenCount": 2, "totalTokenCount": 23}
BEDROCK_USAGE = {"inputTokens": 17, "outputTokens": 9, "totalTokens": 32, "cacheReadInputTokens": 4,
                 "cacheWriteInputTokens": 2}
RESPONSES_USAGE = {"input_tokens": 21, "input_tokens_details": {"cached_tokens": 8}, "output_tokens": 12,
                   "output_tokens_details": {"reasoning_tokens": 5}, "total_tokens": 33}
OPENAI_USAGE = {"prompt_tokens": 15, "completion_tokens": 8, "total_tokens": 23,
                "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}
TITAN_INPUT_TOKENS = 6
OPENAI_EMBED_PROMPT_TOKENS = 9

MIDSTREAM_MESSAGES = {
    "anthropic": "Overloaded (fake anthropic, mid-stream)",
    "gemini": "The model is overloaded. Please try again later. (fake gemini, mid-stream)",
    "bedrock": "The model stream failed: fake bedrock mid-stream failure",
    "responses": "The server had an error while processing your request (fake responses, mid-stream)",
    "responses-failed": "The response failed: fake responses model crashed",
    "azure": "The server had an error processing your request (fake azure, mid-stream)",
}

# marker -> (status, JSON body, extra headers), per family.
ANTHROPIC_ERRORS: dict[str, tuple[int, Any, dict[str, str]]] = {
    "#err-overloaded": (529, {"type": "error", "error": {"type": "overloaded_error",
                                                           "message": "Overloaded (fake anthropic)"},
                              "request_id": "req_fake_529"}, {}),
    "#err-invalid": (400, {"type": "error", "error": {"type": "invalid_request_error",
                                                        "message": "messages.0.content: fake anthropic rejects this prompt"},
                           "request_id": "req_fake_400"}, {}),
    "#err-ratelimit": (429, {"type": "error", "error": {"type": "rate_limit_error",
                                                          "message": "Number of request tokens has exceeded your per-minute rate limit (fake anthropic)"},
                             "request_id": "req_fake_429"}, {"retry-after": "3"}),
}
GEMINI_ERRORS: dict[str, tuple[int, Any, dict[str, str]]] = {
    "#err-quota": (429, {"error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details. (fake gemini)",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                             "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "quotaValue": "10"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"},
        ]}}, {}),
    "#err-invalid": (400, {"error": {"code": 400,
                                     "message": "Invalid JSON payload received. Unknown name \"foo\" (fake gemini)",
                                     "status": "INVALID_ARGUMENT"}}, {}),
    "#err-unavailable": (503, {"error": {"code": 503,
                                         "message": "The model is overloaded. Please try again later. (fake gemini)",
                                         "status": "UNAVAILABLE"}}, {}),
}
BEDROCK_ERRORS: dict[str, tuple[int, Any, dict[str, str]]] = {
    "#err-validation": (400, {"message": "The provided model identifier is invalid. (fake bedrock)"},
                        {"x-amzn-errortype": "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"}),
    "#err-throttle": (429, {"message": "Too many requests, please wait before trying again. (fake bedrock)"},
                      {"x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"}),
    "#err-unavailable": (503, {"message": "Bedrock is unable to process your request. (fake bedrock)"},
                         {"x-amzn-errortype": "ServiceUnavailableException:http://internal.amazon.com/coral/com.amazon.bedrock/"}),
}
RESPONSES_ERRORS: dict[str, tuple[int, Any, dict[str, str]]] = {
    "#err-ratelimit": (429, {"error": {"message": "Rate limit reached for gpt-r on tokens per min (TPM) (fake responses)",
                                       "type": "tokens", "param": None, "code": "rate_limit_exceeded"}},
                       {"retry-after-ms": "1500"}),
    "#err-invalid": (400, {"error": {"message": "Invalid value for 'input' (fake responses)",
                                     "type": "invalid_request_error", "param": "input", "code": None}}, {}),
    "#err-server": (500, {"error": {"message": "The server had an error while processing your request (fake responses)",
                                    "type": "server_error", "param": None, "code": None}}, {}),
}
AZURE_ERRORS: dict[str, tuple[int, Any, dict[str, str]]] = {
    "#err-ratelimit": (429, {"error": {"code": "429", "message":
                                       "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
                                       "2024-10-21 have exceeded token rate limit. Please retry after 4 seconds. (fake azure)"}},
                       {"retry-after": "4"}),
    "#err-filter": (400, {"error": {"message": "The response was filtered due to the prompt triggering Azure OpenAI's "
                                               "content management policy. (fake azure)",
                                    "type": None, "param": "prompt", "code": "content_filter", "status": 400,
                                    "innererror": {"code": "ResponsibleAIPolicyViolation"}}}, {}),
    "#err-server": (500, {"error": {"code": "InternalServerError",
                                    "message": "The server had an error while processing your request. (fake azure)"}}, {}),
}


def reply_text(family: str, user_text: str) -> str:
    """The deterministic text answer of a family's fake (non-ASCII on purpose)."""
    return f"[{family}] Grüße — ✓ you said: {user_text}"


def tool_ok_text(key: str, result: str) -> str:
    """The answer to a well-formed tool result (`key` is the call id, or `name=...` for Gemini)."""
    return f"TOOL_OK {key} result={result}"


def tool_calls_for(family: str, user_text: str) -> list[tuple[str, dict, str]]:
    """(id, args, args JSON) of each call a "#tool" / "#tools2" answer makes."""
    calls = [(TOOL_CALL_IDS.get(family, ""), TOOL_ARGS, TOOL_ARGS_JSON)]
    if "#tools2" in user_text:
        calls.append((SECOND_TOOL_CALL_IDS.get(family, ""), TOOL_ARGS_2, TOOL_ARGS_2_JSON))
    return calls


def tool_ok_answer(pairs: list[tuple[str, str]]) -> str:
    """The answer to a turn of tool results: one TOOL_OK per (key, result), in order."""
    return "; ".join(tool_ok_text(key, result) for key, result in pairs)


def split_pieces(text: str, size: int = 7) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def embedding_for(text: str, dims: int = 8) -> list[float]:
    """A vector made from the text; every value is a multiple of 1/64 (exact as float32)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    while len(digest) < dims:
        digest += hashlib.sha256(digest).digest()
    return [(digest[i] - 128) / 64 for i in range(dims)]


def eventstream_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (total length, headers length, CRC),
    string headers (type 7), payload and the message CRC."""
    hb = b""
    for name, value in headers.items():
        n = name.encode("utf-8")
        v = value.encode("utf-8")
        hb += bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v
    total = 12 + len(hb) + len(payload) + 4
    prelude = struct.pack(">II", total, len(hb))
    message = prelude + struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF) + hb + payload
    return message + struct.pack(">I", zlib.crc32(message) & 0xFFFFFFFF)

CUT_MARKER = "#cut"
CUT_AFTER_EVENTS = 6  # whole streamed events a "#cut" stream sends before it is cut

# The error table of each family, by family name.
ERRORS = {"anthropic": ANTHROPIC_ERRORS, "gemini": GEMINI_ERRORS, "bedrock": BEDROCK_ERRORS,
          "responses": RESPONSES_ERRORS, "azure": AZURE_ERRORS}


@dataclass
class Turn:
    """What a family's request asks for, read by its `read_turn`."""
    body: dict[str, Any]
    stream: bool
    user_text: str  # text of the last user turn
    results: list[tuple[str, str]] = field(default_factory=list)  # (key, text) of trailing tool results
    model: str = ""
    include_usage: bool = False


class FamilyExchange(Exchange):
    """The answer flow every family fake shares; subclasses fill in the family's table."""

    family = ""
    match = "raw"  # find(tag) looks anywhere in the raw body
    split_events = True
    event_gap = EVENT_GAP
    cut_marker = CUT_MARKER
    cut_after = CUT_AFTER_EVENTS
    server_version = "FakeFamilyUpstream/1.0"
    route: re.Pattern[str]
    errors: dict[str, tuple[int, Any, dict[str, str]]] = {}
    usage: dict[str, Any] = {}
    failures = {"#midstream": "error"}  # marker in the user text -> how the stream fails midway
    tool_family: str | None = None  # whose tool call ids the answers use (default: this family's)

    def answer(self, entry: dict[str, Any], body: Any) -> None:
        if not isinstance(body, dict):
            raise ValidationError("the body is not a JSON object")
        match = self.route.match(entry["route"])
        if not match:
            return self.not_found(entry)
        turn = self.read_turn(entry, body, match)
        if turn is None:  # answered already (embeddings, unknown method)
            return
        text = entry["user_text"] = turn.user_text
        if turn.results:
            return self.text(turn, tool_ok_answer(turn.results))
        for marker, case in self.errors.items():
            if marker in text:
                return self.send_error_case(case)
        if "#tool" in text:
            return self.tool(turn, tool_calls_for(self.tool_family or self.family, text))
        fail = next((kind for marker, kind in self.failures.items() if marker in text), None)
        return self.text(turn, reply_text(self.family, text), fail)

    def not_found(self, entry: dict[str, Any]) -> None:
        self.send_json(404, {"error": {"message": f"fake {self.family}: no route {entry['path']}"}})

    def read_turn(self, entry: dict[str, Any], body: dict[str, Any], match: re.Match[str]) -> Turn | None:
        raise NotImplementedError

    def text(self, turn: Turn, text: str, fail: str | None = None) -> None:
        raise NotImplementedError

    def tool(self, turn: Turn, calls: list[tuple[str, dict, str]]) -> None:
        raise NotImplementedError


FamilyUpstream = FakeServer  # the fakes' type, for annotations

# family -> "module.ExchangeClass" (imported when the fakes start: those modules import this one)
EXCHANGES = {
    "anthropic": "fake_families_native.AnthropicExchange",
    "gemini": "fake_families_native.GeminiExchange",
    "bedrock": "fake_families_native.BedrockExchange",
    "responses": "fake_families_openai.ResponsesExchange",
    "azure": "fake_families_openai.AzureExchange",
    "openai": "fake_families_openai.CompatibleExchange",
}


def exchange_class(family: str) -> type[FamilyExchange]:
    module, name = EXCHANGES[family].rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def start_all() -> dict[str, FakeServer]:
    return {family: FakeServer(exchange_class(family), family).start() for family in EXCHANGES}


if __name__ == "__main__":
    fakes = start_all()
    for name, fake in fakes.items():
        print(f"{name:10s} {fake.origin}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
