"""Fake upstreams, one per provider family tollgate translates to, for the
end-to-end tests in test_provider_families.py.

Each fake is a small threaded HTTP/1.1 server on 127.0.0.1 (ephemeral port)
speaking one family's wire format:

    AnthropicUpstream   POST /v1/messages                      (SSE with event: lines)
    GeminiUpstream      POST /v1beta/models/M:generateContent
                        POST /v1beta/models/M:streamGenerateContent?alt=sse
                        POST /v1beta/models/M:batchEmbedContents
    BedrockUpstream     POST /model/ID/converse
                        POST /model/ID/converse-stream         (application/vnd.amazon.eventstream)
                        POST /model/ID/invoke                  (Titan text embeddings)
    ResponsesUpstream   POST /v1/responses                     (SSE with response.* events)
    OpenAIUpstream      POST {prefix}/chat/completions, {prefix}/embeddings
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
import json
import re
import struct
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

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


class ValidationError(Exception):
    """The request is not what the real API accepts."""


CUT_MARKER = "#cut"
CUT_AFTER_EVENTS = 6  # whole streamed events a "#cut" stream sends before it is cut


class StreamCut(Exception):
    """A "#cut" stream reached its cut: the handler drops the connection."""


# --------------------------------------------------------------------------- server


class FamilyUpstream:
    """A fake upstream of one family: the server thread and the request log."""

    handler_class: type["_Handler"]
    family = ""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.family
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        owner = self

        class Handler(self.handler_class):  # type: ignore[name-defined,misc]
            pass

        Handler.owner = owner

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

            def handle_error(self, request: Any, client_address: Any) -> None:
                if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                    return
                super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.host, self.port = self.server.server_address[:2]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"fake-{self.name}", daemon=True)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "FamilyUpstream":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    # request log -------------------------------------------------------------
    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            entry["seq"] = len(self._requests) + 1
            self._requests.append(entry)

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def find(self, tag: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if tag in r["raw"]]

    def find_one(self, tag: str) -> dict[str, Any]:
        found = self.find(tag)
        if len(found) != 1:
            raise AssertionError(
                f"expected exactly one request tagged {tag!r} at the fake {self.name} upstream, got {len(found)}; "
                f"recorded: {[(r['path'], r['raw'][:120]) for r in self.requests[-10:]]}")
        return found[0]

    def summary(self, last: int = 10) -> str:
        lines = []
        for r in self.requests[-last:]:
            lines.append(f"[{self.name}] #{r['seq']} {r['method']} {r['path']} -> {r.get('outcome')} "
                         f"body={r['raw'][:300]!r}")
        return "\n".join(lines)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeFamilyUpstream/1.0"
    owner: FamilyUpstream
    family = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # plumbing -----------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:  # noqa: N802
        self.entry = {"method": "GET", "path": self.path, "route": urlsplit(self.path).path, "query": {},
                      "headers": {k.lower(): v for k, v in self.headers.items()}, "body": None, "raw": ""}
        self.owner._record(self.entry)
        self.send_json(404, {"error": {"message": f"fake {self.family}: no route for GET {self.path}"}})

    def do_POST(self) -> None:  # noqa: N802
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        split = urlsplit(self.path)
        entry: dict[str, Any] = {
            "method": "POST",
            "path": self.path,
            "route": split.path,
            "query": {k: v[0] for k, v in parse_qs(split.query).items()},
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "raw": raw.decode("utf-8", "replace"),
            "outcome": "in progress",
        }
        self.entry = entry
        self.owner._record(entry)
        self.cut_after = CUT_AFTER_EVENTS if CUT_MARKER in entry["raw"] else None
        self.events_written = 0
        try:
            if not isinstance(body, dict):
                raise ValidationError("the body is not a JSON object")
            self.answer(entry, body)
        except StreamCut:
            entry["outcome"] = f"cut after {self.events_written} events"
            self.close_connection = True
            return
        except ValidationError as exc:
            entry["outcome"] = f"rejected: {exc}"
            self.validation_error(f"fake {self.family} validation: {exc}")
            return
        except (BrokenPipeError, ConnectionResetError) as exc:
            entry["outcome"] = f"peer hung up: {exc!r}"
            self.close_connection = True
            return
        if entry["outcome"] == "in progress":
            entry["outcome"] = "answered"

    def answer(self, entry: dict[str, Any], body: dict[str, Any]) -> None:
        raise NotImplementedError

    def validation_error(self, message: str) -> None:
        raise NotImplementedError

    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def send_error_case(self, case: tuple[int, Any, dict[str, str]]) -> None:
        status, body, headers = case
        self.entry["outcome"] = f"error {status}"
        self.send_json(status, body, headers)

    def start_stream(self, content_type: str = "text/event-stream; charset=utf-8") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def write_split(self, data: bytes) -> None:
        """One event as two HTTP chunks, cut in the middle."""
        mid = len(data) // 2
        if getattr(self, "cut_after", None) is not None:
            if self.events_written >= self.cut_after:
                self.write_chunk(data[:mid])  # half an event, then the connection goes away
                time.sleep(EVENT_GAP)
                raise StreamCut()
            self.events_written += 1
        for part in (data[:mid], data[mid:]):
            if part:
                self.write_chunk(part)
                time.sleep(EVENT_GAP)

    def sse(self, data: Any, event: str | None = None) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        head = f"event: {event}\n" if event else ""
        self.write_split(f"{head}data: {text}\n\n".encode("utf-8"))

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    @staticmethod
    def marker(text: str, table: dict[str, Any]) -> str | None:
        for key in table:
            if key in text:
                return key
        return None


# --------------------------------------------------------------------------- Anthropic


def anthropic_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return []


class _AnthropicHandler(_Handler):
    family = "anthropic"

    def validation_error(self, message: str) -> None:
        self.send_json(400, {"type": "error", "error": {"type": "invalid_request_error", "message": message}})

    def answer(self, entry: dict[str, Any], body: dict[str, Any]) -> None:
        if entry["route"] != "/v1/messages":
            self.send_json(404, {"type": "error", "error": {"type": "not_found_error",
                                                            "message": f"fake anthropic: no route {entry['path']}"}})
            return
        messages = body.get("messages")
        if not isinstance(body.get("model"), str):
            raise ValidationError("model: Field required")
        if not isinstance(body.get("max_tokens"), int):
            raise ValidationError("max_tokens: Field required")
        if not isinstance(messages, list) or not messages:
            raise ValidationError("messages: at least one message is required")
        tool_ids: set[str] = set()
        pending: list[str] = []  # tool_use ids of the previous assistant turn
        for i, m in enumerate(messages):
            role = m.get("role")
            if role != ("user" if i % 2 == 0 else "assistant"):
                raise ValidationError(f"messages.{i}: roles must alternate between user and assistant, starting with user")
            content = m.get("content")
            if not content:
                raise ValidationError(f"messages.{i}: content must not be empty")
            blocks = content if isinstance(content, list) else []
            answered = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
            if role == "user" and pending and not set(pending) <= answered:
                raise ValidationError(f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                                      f"immediately after: {sorted(set(pending) - answered)}")
            pending = [b.get("id") for b in blocks if b.get("type") == "tool_use"]
            for block in blocks:
                if block.get("type") == "tool_use":
                    tool_ids.add(block.get("id"))
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in tool_ids:
                    raise ValidationError(f"messages.{i}: tool_result block(s) provided when previous message "
                                          f"does not contain a matching tool_use ({block.get('tool_use_id')!r})")
        last = messages[-1]
        user_text = "".join(anthropic_texts(last.get("content"))) if last.get("role") == "user" else ""
        entry["user_text"] = user_text
        stream = bool(body.get("stream"))
        results = [b for b in last.get("content") if isinstance(b, dict) and b.get("type") == "tool_result"] \
            if isinstance(last.get("content"), list) else []
        if results:
            pairs = []
            for result in results:
                content = result.get("content")
                text = content if isinstance(content, str) else "".join(anthropic_texts(content))
                pairs.append((result.get("tool_use_id"), text))
            return self.text_answer(body, stream, tool_ok_answer(pairs))
        error = self.marker(user_text, ANTHROPIC_ERRORS)
        if error:
            return self.send_error_case(ANTHROPIC_ERRORS[error])
        if "#tool" in user_text:
            return self.tool_answer(body, stream, tool_calls_for("anthropic", user_text))
        return self.text_answer(body, stream, reply_text("anthropic", user_text),
                                fail_midway="#midstream" in user_text)

    def message_id(self) -> str:
        return f"msg_fake_{self.entry['seq']:04d}"

    def text_answer(self, body: dict, stream: bool, text: str, fail_midway: bool = False) -> None:
        if not stream:
            self.send_json(200, {
                "id": self.message_id(), "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn", "stop_sequence": None, "usage": ANTHROPIC_USAGE,
            })
            return
        self.start_stream()
        self.message_start(body)
        self.sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                 "content_block_start")
        self.sse({"type": "ping"}, "ping")
        for i, piece in enumerate(split_pieces(text)):
            if fail_midway and i == 3:
                self.sse({"type": "error", "error": {"type": "overloaded_error",
                                                     "message": MIDSTREAM_MESSAGES["anthropic"]}}, "error")
                self.end_stream()
                return
            self.sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
                     "content_block_delta")
        self.sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.message_end("end_turn")

    def message_start(self, body: dict) -> None:
        usage = dict(ANTHROPIC_USAGE, output_tokens=1)
        self.sse({"type": "message_start", "message": {
            "id": self.message_id(), "type": "message", "role": "assistant", "model": body["model"], "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": usage}}, "message_start")

    def message_end(self, stop_reason: str) -> None:
        self.sse({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                  "usage": {"output_tokens": ANTHROPIC_USAGE["output_tokens"]}}, "message_delta")
        self.sse({"type": "message_stop"}, "message_stop")
        self.end_stream()

    def tool_answer(self, body: dict, stream: bool, calls: list[tuple[str, dict, str]]) -> None:
        if not stream:
            self.send_json(200, {
                "id": self.message_id(), "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "text", "text": TOOL_PREAMBLE["anthropic"]}] + [
                    {"type": "tool_use", "id": call_id, "name": TOOL_NAME, "input": args}
                    for call_id, args, _ in calls],
                "stop_reason": "tool_use", "stop_sequence": None, "usage": ANTHROPIC_USAGE,
            })
            return
        self.start_stream()
        self.message_start(body)
        self.sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                 "content_block_start")
        self.sse({"type": "content_block_delta", "index": 0,
                  "delta": {"type": "text_delta", "text": TOOL_PREAMBLE["anthropic"]}}, "content_block_delta")
        self.sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        for block, (call_id, _, args_json) in enumerate(calls, start=1):
            self.sse({"type": "content_block_start", "index": block,
                      "content_block": {"type": "tool_use", "id": call_id, "name": TOOL_NAME, "input": {}}},
                     "content_block_start")
            for piece in [""] + split_pieces(args_json, 6):
                self.sse({"type": "content_block_delta", "index": block,
                          "delta": {"type": "input_json_delta", "partial_json": piece}}, "content_block_delta")
            self.sse({"type": "content_block_stop", "index": block}, "content_block_stop")
        self.message_end("tool_use")


class AnthropicUpstream(FamilyUpstream):
    family = "anthropic"
    handler_class = _AnthropicHandler


# --------------------------------------------------------------------------- Gemini


def gemini_texts(parts: Any) -> list[str]:
    return [p["text"] for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]


class _GeminiHandler(_Handler):
    family = "gemini"
    route = re.compile(r"^/v1beta/models/([^:/]+):([A-Za-z]+)$")

    def validation_error(self, message: str) -> None:
        self.send_json(400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}})

    def answer(self, entry: dict[str, Any], body: dict[str, Any]) -> None:
        match = self.route.match(entry["route"])
        if not match:
            self.send_json(404, {"error": {"code": 404, "message": f"fake gemini: no route {entry['path']}",
                                           "status": "NOT_FOUND"}})
            return
        model, method = match.groups()
        entry["model"] = model
        if method == "batchEmbedContents":
            return self.embed(body, model)
        if method == "streamGenerateContent":
            if entry["query"].get("alt") != "sse":
                raise ValidationError("streamGenerateContent without alt=sse answers a JSON array, not SSE")
            stream = True
        elif method == "generateContent":
            stream = False
        else:
            self.send_json(404, {"error": {"code": 404, "message": f"fake gemini: unknown method {method}",
                                           "status": "NOT_FOUND"}})
            return
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise ValidationError("* GenerateContentRequest.contents: contents is not specified")
        calls_before = 0  # functionCall parts of the previous turn
        for i, c in enumerate(contents):
            if c.get("role") not in ("user", "model") or not c.get("parts"):
                raise ValidationError(f"contents[{i}]: a role (user or model) and parts are required")
            for part in c["parts"]:
                if "functionResponse" in part and not part["functionResponse"].get("name"):
                    raise ValidationError(f"contents[{i}]: functionResponse.name is required")
            responses_here = sum("functionResponse" in p for p in c["parts"])
            if calls_before and responses_here != calls_before:
                raise ValidationError("Please ensure that the number of function response parts is equal to the "
                                      "number of function call parts of the function call turn.")
            calls_before = sum("functionCall" in p for p in c["parts"])
        last = contents[-1]
        user_text = "".join(gemini_texts(last.get("parts"))) if last.get("role") == "user" else ""
        entry["user_text"] = user_text
        responses = [p["functionResponse"] for p in last.get("parts") or [] if "functionResponse" in p]
        if responses and last.get("role") == "user":
            pairs = [(f"name={fr.get('name')}", str((fr.get("response") or {}).get("output"))) for fr in responses]
            return self.text_answer(model, stream, tool_ok_answer(pairs))
        error = self.marker(user_text, GEMINI_ERRORS)
        if error:
            return self.send_error_case(GEMINI_ERRORS[error])
        if "#tool" in user_text:
            return self.tool_answer(model, stream, tool_calls_for("gemini", user_text))
        return self.text_answer(model, stream, reply_text("gemini", user_text),
                                fail_midway="#midstream" in user_text)

    def response_id(self) -> str:
        return f"fakeGeminiResponse{self.entry['seq']:04d}"

    def document(self, model: str, parts: list, finish: str | None, usage: dict | None) -> dict:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        doc: dict[str, Any] = {"candidates": [candidate]}
        if usage:
            doc["usageMetadata"] = usage
        doc["modelVersion"] = model
        doc["responseId"] = self.response_id()
        return doc

    def text_answer(self, model: str, stream: bool, text: str, fail_midway: bool = False) -> None:
        if not stream:
            self.send_json(200, self.document(model, [{"text": text}], "STOP", GEMINI_USAGE))
            return
        self.start_stream()
        pieces = split_pieces(text)
        partial_usage = {"promptTokenCount": GEMINI_USAGE["promptTokenCount"],
                         "totalTokenCount": GEMINI_USAGE["promptTokenCount"]}
        for i, piece in enumerate(pieces):
            if fail_midway and i == 3:
                self.sse({"error": {"code": 503, "message": MIDSTREAM_MESSAGES["gemini"], "status": "UNAVAILABLE"}})
                self.end_stream()
                return
            last = i == len(pieces) - 1
            self.sse(self.document(model, [{"text": piece}], "STOP" if last else None,
                                   GEMINI_USAGE if last else partial_usage))
        self.end_stream()

    def tool_answer(self, model: str, stream: bool, calls: list[tuple[str, dict, str]]) -> None:
        # Only the first call of a turn carries the thought signature, as Gemini does.
        parts = [{"functionCall": {"name": TOOL_NAME, "args": args}} for _, args, _ in calls]
        parts[0]["thoughtSignature"] = GEMINI_THOUGHT_SIGNATURE
        if not stream:
            self.send_json(200, self.document(model, parts, "STOP", GEMINI_USAGE))
            return
        self.start_stream()
        for i, part in enumerate(parts):  # one event per call; the last one finishes
            last = i == len(parts) - 1
            self.sse(self.document(model, [part], "STOP" if last else None, GEMINI_USAGE if last else None))
        self.end_stream()

    def embed(self, body: dict, model: str) -> None:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise ValidationError("requests: at least one request is required")
        embeddings = []
        for i, r in enumerate(requests):
            if r.get("model") != f"models/{model}":
                raise ValidationError(f"requests[{i}].model {r.get('model')!r} does not match the URL's models/{model}")
            texts = gemini_texts((r.get("content") or {}).get("parts"))
            if not texts:
                raise ValidationError(f"requests[{i}].content has no text part")
            dims = r.get("outputDimensionality") or 8
            embeddings.append({"values": embedding_for("".join(texts), dims)})
        self.send_json(200, {"embeddings": embeddings})


class GeminiUpstream(FamilyUpstream):
    family = "gemini"
    handler_class = _GeminiHandler


# --------------------------------------------------------------------------- Bedrock


def bedrock_texts(content: Any) -> list[str]:
    return [b["text"] for b in content or [] if isinstance(b, dict) and isinstance(b.get("text"), str)]


class _BedrockHandler(_Handler):
    family = "bedrock"
    route = re.compile(r"^/model/([^/]+)/(converse|converse-stream|invoke)$")

    def validation_error(self, message: str) -> None:
        self.send_json(400, {"message": message},
                       {"x-amzn-errortype": "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"})

    def answer(self, entry: dict[str, Any], body: dict[str, Any]) -> None:
        match = self.route.match(entry["route"])
        if not match:
            self.send_json(404, {"message": f"fake bedrock: no route {entry['path']}"},
                           {"x-amzn-errortype": "UnknownOperationException"})
            return
        model_id, operation = unquote(match.group(1)), match.group(2)
        entry["model_id"] = model_id
        if operation == "invoke":
            return self.invoke(body, model_id)
        stream = operation == "converse-stream"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValidationError("messages: at least one message is required")
        tool_ids: set[str] = set()
        uses_tools = False
        pending: list[str] = []  # toolUse ids of the previous assistant turn
        for i, m in enumerate(messages):
            if m.get("role") != ("user" if i % 2 == 0 else "assistant"):
                raise ValidationError("A conversation must alternate between user and assistant roles "
                                      "and start with a user message.")
            if not isinstance(m.get("content"), list) or not m["content"]:
                raise ValidationError(f"messages.{i}.content: at least one content block is required")
            answered = {b["toolResult"].get("toolUseId") for b in m["content"] if "toolResult" in b}
            if m["role"] == "user" and pending and answered != set(pending):
                raise ValidationError(f"Expected toolResult blocks at messages.{i}.content for the following "
                                      f"Ids: {', '.join(sorted(set(pending) - answered))}")
            pending = [b["toolUse"].get("toolUseId") for b in m["content"] if "toolUse" in b]
            for block in m["content"]:
                if "toolUse" in block:
                    uses_tools = True
                    tool_ids.add(block["toolUse"].get("toolUseId"))
                if "toolResult" in block:
                    uses_tools = True
                    if block["toolResult"].get("toolUseId") not in tool_ids:
                        raise ValidationError("The toolResult blocks at messages.%d.content contain a toolUseId "
                                              "that does not match the previous turn's toolUse blocks." % i)
        if uses_tools and not body.get("toolConfig"):
            raise ValidationError("The toolConfig field must be defined when using toolUse and toolResult "
                                  "content blocks.")
        last = messages[-1]
        user_text = "".join(bedrock_texts(last.get("content"))) if last.get("role") == "user" else ""
        entry["user_text"] = user_text
        results = [b["toolResult"] for b in last.get("content") if "toolResult" in b]
        if results:
            pairs = [(r.get("toolUseId"), "".join(bedrock_texts(r.get("content")))) for r in results]
            return self.text_answer(stream, tool_ok_answer(pairs))
        error = self.marker(user_text, BEDROCK_ERRORS)
        if error:
            return self.send_error_case(BEDROCK_ERRORS[error])
        if "#tool" in user_text:
            return self.tool_answer(stream, tool_calls_for("bedrock", user_text))
        return self.text_answer(stream, reply_text("bedrock", user_text), fail_midway="#midstream" in user_text)

    # event stream ----------------------------------------------------------------
    def start_eventstream(self) -> None:
        self.start_stream("application/vnd.amazon.eventstream")

    def frame(self, event_type: str, payload: dict) -> None:
        payload = dict(payload, p="abcdefghijklmnopqrstuvwxyzABCDEFGH"[: 4 + len(event_type)])
        self.write_split(eventstream_frame(
            {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
            json.dumps(payload).encode("utf-8")))

    def exception_frame(self, exception_type: str, message: str) -> None:
        self.write_split(eventstream_frame(
            {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"},
            json.dumps({"message": message, "originalStatusCode": 500}).encode("utf-8")))

    def finish_eventstream(self, stop_reason: str) -> None:
        self.frame("messageStop", {"stopReason": stop_reason})
        self.frame("metadata", {"usage": BEDROCK_USAGE, "metrics": {"latencyMs": 321}})
        self.end_stream()

    def text_answer(self, stream: bool, text: str, fail_midway: bool = False) -> None:
        if not stream:
            self.send_json(200, {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                                 "stopReason": "end_turn", "usage": BEDROCK_USAGE, "metrics": {"latencyMs": 321}})
            return
        self.start_eventstream()
        self.frame("messageStart", {"role": "assistant"})
        for i, piece in enumerate(split_pieces(text)):
            if fail_midway and i == 3:
                self.exception_frame("modelStreamErrorException", MIDSTREAM_MESSAGES["bedrock"])
                self.end_stream()
                return
            self.frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
        self.frame("contentBlockStop", {"contentBlockIndex": 0})
        self.finish_eventstream("end_turn")

    def tool_answer(self, stream: bool, calls: list[tuple[str, dict, str]]) -> None:
        if not stream:
            self.send_json(200, {"output": {"message": {"role": "assistant", "content": [
                {"text": TOOL_PREAMBLE["bedrock"]}] + [
                {"toolUse": {"toolUseId": call_id, "name": TOOL_NAME, "input": args}} for call_id, args, _ in calls
            ]}}, "stopReason": "tool_use", "usage": BEDROCK_USAGE, "metrics": {"latencyMs": 321}})
            return
        self.start_eventstream()
        self.frame("messageStart", {"role": "assistant"})
        self.frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": TOOL_PREAMBLE["bedrock"]}})
        self.frame("contentBlockStop", {"contentBlockIndex": 0})
        for block, (call_id, _, args_json) in enumerate(calls, start=1):
            self.frame("contentBlockStart", {"contentBlockIndex": block,
                                             "start": {"toolUse": {"toolUseId": call_id, "name": TOOL_NAME}}})
            for piece in split_pieces(args_json, 6):
                self.frame("contentBlockDelta", {"contentBlockIndex": block, "delta": {"toolUse": {"input": piece}}})
            self.frame("contentBlockStop", {"contentBlockIndex": block})
        self.finish_eventstream("tool_use")

    # embeddings ------------------------------------------------------------------
    def invoke(self, body: dict, model_id: str) -> None:
        if not model_id.startswith("amazon.titan-embed-text"):
            raise ValidationError(f"fake bedrock only serves Titan text embeddings through invoke, not {model_id}")
        text = body.get("inputText")
        if not isinstance(text, str) or not text:
            raise ValidationError("inputText: expected a non-empty string")
        unknown = set(body) - {"inputText", "dimensions", "normalize", "embeddingTypes"}
        if unknown:
            raise ValidationError(f"extraneous key [{sorted(unknown)[0]}] is not permitted")
        self.entry["user_text"] = text
        self.send_json(200, {"embedding": embedding_for(text, body.get("dimensions") or 8),
                             "inputTextTokenCount": TITAN_INPUT_TOKENS},
                       {"x-amzn-bedrock-input-token-count": str(TITAN_INPUT_TOKENS)})


class BedrockUpstream(FamilyUpstream):
    family = "bedrock"
    handler_class = _BedrockHandler


# --------------------------------------------------------------------------- OpenAI Responses


def responses_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [p.get("text", "") for p in content or []
            if isinstance(p, dict) and p.get("type") in ("input_text", "output_text")]


class _ResponsesHandler(_Handler):
    family = "responses"

    def validation_error(self, message: str) -> None:
        self.send_json(400, {"error": {"message": message, "type": "invalid_request_error", "param": None,
                                       "code": None}})

    def answer(self, entry: dict[str, Any], body: dict[str, Any]) -> None:
        if entry["route"] != "/v1/responses":
            self.send_json(404, {"error": {"message": f"fake responses: no route {entry['path']}",
                                           "type": "invalid_request_error", "param": None, "code": None}})
            return
        items = body.get("input")
        if not isinstance(body.get("model"), str):
            raise ValidationError("Missing required parameter: 'model'.")
        if not isinstance(items, list) or not items:
            raise ValidationError("Missing required parameter: 'input'.")
        calls: set[str] = set()
        outputs = {it.get("call_id") for it in items if it.get("type") == "function_call_output"}
        for i, item in enumerate(items):
            kind = item.get("type")
            if kind == "function_call":
                calls.add(item.get("call_id"))
                if item.get("call_id") not in outputs:
                    raise ValidationError(f"No tool output found for function call {item.get('call_id')}.")
                if not isinstance(item.get("arguments"), str):
                    raise ValidationError(f"input[{i}].arguments must be a string")
            elif kind == "function_call_output":
                if item.get("call_id") not in calls:
                    raise ValidationError(f"No tool call found for function call output with call_id "
                                          f"{item.get('call_id')}.")
            elif kind == "message":
                if item.get("role") not in ("user", "system", "developer", "assistant"):
                    raise ValidationError(f"input[{i}].role is invalid")
            else:
                raise ValidationError(f"input[{i}].type {kind!r} is invalid")
        stream = bool(body.get("stream"))
        last = items[-1]
        user_msgs = [it for it in items if it.get("type") == "message" and it.get("role") == "user"]
        user_text = "".join(responses_texts(user_msgs[-1].get("content"))) if user_msgs else ""
        entry["user_text"] = user_text
        if last.get("type") == "function_call_output":
            trailing = []
            for item in reversed(items):
                if item.get("type") != "function_call_output":
                    break
                trailing.insert(0, (item.get("call_id"), str(item.get("output"))))
            return self.text_answer(body, stream, tool_ok_answer(trailing))
        error = self.marker(user_text, RESPONSES_ERRORS)
        if error:
            return self.send_error_case(RESPONSES_ERRORS[error])
        if "#tool" in user_text:
            return self.tool_answer(body, stream, tool_calls_for("responses", user_text))
        fail = "failed" if "#midfailed" in user_text else "error" if "#midstream" in user_text else None
        return self.text_answer(body, stream, reply_text("responses", user_text), fail_midway=fail)

    def response_id(self) -> str:
        return f"resp_fake_{self.entry['seq']:04d}"

    def response(self, body: dict, status: str, output: list, usage: dict | None, error: Any = None) -> dict:
        return {
            "id": self.response_id(), "object": "response", "created_at": CREATED, "status": status,
            "error": error, "incomplete_details": None, "instructions": None,
            "max_output_tokens": body.get("max_output_tokens"), "model": body["model"], "output": output,
            "parallel_tool_calls": True, "previous_response_id": None, "store": False,
            "temperature": body.get("temperature", 1.0), "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools", []), "top_p": 1.0,
            "truncation": "disabled", "usage": usage, "user": None, "metadata": {},
        }

    def message_item(self, text: str, status: str = "completed") -> dict:
        return {"id": f"msg_fake_{self.entry['seq']:04d}", "type": "message", "status": status, "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}] if text else []}

    def event(self, obj: dict) -> None:
        self.seq_no += 1
        obj["sequence_number"] = self.seq_no
        self.sse(obj, obj["type"])

    def begin(self, body: dict) -> None:
        self.seq_no = -1
        self.start_stream()
        self.event({"type": "response.created", "response": self.response(body, "in_progress", [], None)})
        self.event({"type": "response.in_progress", "response": self.response(body, "in_progress", [], None)})

    def text_answer(self, body: dict, stream: bool, text: str, fail_midway: str | None = None) -> None:
        item = self.message_item(text)
        if not stream:
            self.send_json(200, self.response(body, "completed", [item], RESPONSES_USAGE))
            return
        self.begin(body)
        item_id = item["id"]
        self.event({"type": "response.output_item.added", "output_index": 0,
                    "item": self.message_item("", "in_progress")})
        self.event({"type": "response.content_part.added", "item_id": item_id, "output_index": 0,
                    "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}})
        for i, piece in enumerate(split_pieces(text)):
            if fail_midway and i == 3:
                if fail_midway == "failed":
                    self.event({"type": "response.failed", "response": self.response(
                        body, "failed", [], None,
                        {"code": "server_error", "message": MIDSTREAM_MESSAGES["responses-failed"]})})
                else:
                    self.event({"type": "error", "code": "server_error", "message": MIDSTREAM_MESSAGES["responses"],
                                "param": None})
                self.end_stream()
                return
            self.event({"type": "response.output_text.delta", "item_id": item_id, "output_index": 0,
                        "content_index": 0, "delta": piece, "logprobs": []})
        self.event({"type": "response.output_text.done", "item_id": item_id, "output_index": 0, "content_index": 0,
                    "text": text, "logprobs": []})
        self.event({"type": "response.content_part.done", "item_id": item_id, "output_index": 0, "content_index": 0,
                    "part": {"type": "output_text", "text": text, "annotations": []}})
        self.event({"type": "response.output_item.done", "output_index": 0, "item": item})
        self.event({"type": "response.completed", "response": self.response(body, "completed", [item],
                                                                             RESPONSES_USAGE)})
        self.end_stream()

    def tool_answer(self, body: dict, stream: bool, calls: list[tuple[str, dict, str]]) -> None:
        items = [{"type": "function_call", "id": RESPONSES_ITEM_ID[:-1] + str(n + 1), "call_id": call_id,
                  "name": TOOL_NAME, "arguments": args_json, "status": "completed"}
                 for n, (call_id, _, args_json) in enumerate(calls)]
        if not stream:
            self.send_json(200, self.response(body, "completed", items, RESPONSES_USAGE))
            return
        self.begin(body)
        for n, item in enumerate(items):
            self.event({"type": "response.output_item.added", "output_index": n,
                        "item": dict(item, arguments="", status="in_progress")})
            for piece in split_pieces(item["arguments"], 6):
                self.event({"type": "response.function_call_arguments.delta", "item_id": item["id"],
                            "output_index": n, "delta": piece})
            self.event({"type": "response.function_call_arguments.done", "item_id": item["id"],
                        "output_index": n, "name": TOOL_NAME, "arguments": item["arguments"]})
            self.event({"type": "response.output_item.done", "output_index": n, "item": item})
        self.event({"type": "response.completed", "response": self.response(body, "completed", items,
                                                                             RESPONSES_USAGE)})
        self.end_stream()


class ResponsesUpstream(FamilyUpstream):
    family = "responses"
    handler_class = _ResponsesHandler


# --------------------------------------------------------------------------- OpenAI Chat (Azure, compatible)


def openai_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [p.get("text", "") for p in content or [] if isinstance(p, dict) and p.get("type") == "text"]


class _OpenAIHandler(_Handler):
    """Chat Completions and Embeddings under `prefix` (Azure: /openai/deployments/DEP, with api-version)."""

    family = "azure"
    prefix = "/openai/deployments/dep1"
    api_version: str | None = "2024-10-21"
    reverse_embeddings = False

    def validation_error(self, message: str) -> None:
        self.send_json(400, {"error": {"message": message, "type": "invalid_request_error", "param": None,
                                       "code": None}})

    def answer(self, entry: dict[str, Any], body: dict[str, Any]) -> None:
        if self.api_version and entry["query"].get("api-version") != self.api_version:
            self.send_json(404, {"error": {"code": "404", "message": "Resource not found (api-version missing "
                                                                      f"or not {self.api_version})"}})
            return
        if entry["route"] == self.prefix + "/embeddings":
            return self.embed(body)
        if entry["route"] != self.prefix + "/chat/completions":
            self.send_json(404, {"error": {"code": "404", "message": f"fake {self.family}: no route {entry['path']}"}})
            return
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValidationError("'messages' is a required property")
        calls: set[str] = set()
        for i, m in enumerate(messages):
            for call in m.get("tool_calls") or []:
                calls.add(call.get("id"))
            if m.get("role") == "tool" and m.get("tool_call_id") not in calls:
                raise ValidationError("messages with role 'tool' must be a response to a preceeding message "
                                      "with 'tool_calls'.")
            if m.get("tool_calls"):
                following = set()
                for later in messages[i + 1:]:
                    if later.get("role") != "tool":
                        break
                    following.add(later.get("tool_call_id"))
                missing = {c.get("id") for c in m["tool_calls"]} - following
                if missing:
                    raise ValidationError("An assistant message with 'tool_calls' must be followed by tool messages "
                                          f"responding to each 'tool_call_id'. Missing: {sorted(missing)}")
        users = [m for m in messages if m.get("role") == "user"]
        user_text = "".join(openai_texts(users[-1].get("content"))) if users else ""
        entry["user_text"] = user_text
        stream = bool(body.get("stream"))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        last = messages[-1]
        if last.get("role") == "tool":
            trailing = []
            for m in reversed(messages):
                if m.get("role") != "tool":
                    break
                content = m.get("content")
                text = content if isinstance(content, str) else "".join(openai_texts(content))
                trailing.insert(0, (m.get("tool_call_id"), text))
            return self.text_answer(body, stream, include_usage, tool_ok_answer(trailing))
        error = self.marker(user_text, AZURE_ERRORS)
        if error:
            return self.send_error_case(AZURE_ERRORS[error])
        if "#tool" in user_text:
            return self.tool_answer(body, stream, include_usage, tool_calls_for("azure", user_text))
        return self.text_answer(body, stream, include_usage, reply_text(self.family, user_text),
                                fail_midway="#midstream" in user_text)

    def completion_id(self) -> str:
        return f"chatcmpl-fake-{self.family}-{self.entry['seq']:04d}"

    def chunk(self, body: dict, delta: dict, finish: str | None) -> dict:
        return {"id": self.completion_id(), "object": "chat.completion.chunk", "created": CREATED,
                "model": body.get("model", ""), "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    def stream_end(self, body: dict, finish: str, include_usage: bool) -> None:
        self.sse(self.chunk(body, {}, finish))
        if include_usage:
            self.sse({"id": self.completion_id(), "object": "chat.completion.chunk", "created": CREATED,
                      "model": body.get("model", ""), "system_fingerprint": "fp_fake", "choices": [],
                      "usage": OPENAI_USAGE})
        self.sse("[DONE]")
        self.end_stream()

    def text_answer(self, body: dict, stream: bool, include_usage: bool, text: str, fail_midway: bool = False) -> None:
        if not stream:
            self.send_json(200, {
                "id": self.completion_id(), "object": "chat.completion", "created": CREATED,
                "model": body.get("model", ""), "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                             "logprobs": None, "finish_reason": "stop"}],
                "usage": OPENAI_USAGE,
            })
            return
        self.start_stream()
        self.sse(self.chunk(body, {"role": "assistant", "content": ""}, None))
        for i, piece in enumerate(split_pieces(text)):
            if fail_midway and i == 3:
                self.sse({"error": {"message": MIDSTREAM_MESSAGES["azure"], "type": "server_error", "param": None,
                                    "code": None}})
                self.end_stream()
                return
            self.sse(self.chunk(body, {"content": piece}, None))
        self.stream_end(body, "stop", include_usage)

    def tool_answer(self, body: dict, stream: bool, include_usage: bool, calls: list[tuple[str, dict, str]]) -> None:
        if not stream:
            self.send_json(200, {
                "id": self.completion_id(), "object": "chat.completion", "created": CREATED,
                "model": body.get("model", ""),
                "choices": [{"index": 0, "message": {
                    "role": "assistant", "content": None, "refusal": None,
                    "tool_calls": [{"id": call_id, "type": "function",
                                    "function": {"name": TOOL_NAME, "arguments": args_json}}
                                   for call_id, _, args_json in calls]},
                    "logprobs": None, "finish_reason": "tool_calls"}],
                "usage": OPENAI_USAGE,
            })
            return
        self.start_stream()
        self.sse(self.chunk(body, {"role": "assistant", "content": None}, None))
        for n, (call_id, _, args_json) in enumerate(calls):
            self.sse(self.chunk(body, {"tool_calls": [{"index": n, "id": call_id, "type": "function",
                                                       "function": {"name": TOOL_NAME, "arguments": ""}}]}, None))
            for piece in split_pieces(args_json, 6):
                self.sse(self.chunk(body, {"tool_calls": [{"index": n, "function": {"arguments": piece}}]}, None))
        self.stream_end(body, "tool_calls", include_usage)

    def embed(self, body: dict) -> None:
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(t, str) for t in inputs):
            raise ValidationError("'input' must be a string or an array of strings")
        fmt = body.get("encoding_format", "float")
        if fmt != "float":
            raise ValidationError(f"this fake answers only encoding_format float, not {fmt!r}")
        self.entry["user_text"] = " | ".join(inputs)
        dims = body.get("dimensions") or 8
        data = [{"object": "embedding", "index": i, "embedding": embedding_for(t, dims)} for i, t in enumerate(inputs)]
        if self.reverse_embeddings:
            data.reverse()  # OpenAI-compatible servers may answer out of order; `index` says where each goes
        self.send_json(200, {"object": "list", "data": data, "model": body.get("model"),
                             "usage": {"prompt_tokens": OPENAI_EMBED_PROMPT_TOKENS,
                                       "total_tokens": OPENAI_EMBED_PROMPT_TOKENS}})


class _CompatibleHandler(_OpenAIHandler):
    family = "openai"
    prefix = "/v1"
    api_version = None
    reverse_embeddings = True


class AzureUpstream(FamilyUpstream):
    family = "azure"
    handler_class = _OpenAIHandler


class OpenAICompatibleUpstream(FamilyUpstream):
    family = "openai"
    handler_class = _CompatibleHandler


ALL_UPSTREAMS = {
    "anthropic": AnthropicUpstream,
    "gemini": GeminiUpstream,
    "bedrock": BedrockUpstream,
    "responses": ResponsesUpstream,
    "azure": AzureUpstream,
    "openai": OpenAICompatibleUpstream,
}


def start_all() -> dict[str, FamilyUpstream]:
    return {name: cls().start() for name, cls in ALL_UPSTREAMS.items()}


if __name__ == "__main__":
    fakes = start_all()
    for name, fake in fakes.items():
        print(f"{name:10s} {fake.origin}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
