"""A deterministic fake OpenAI-compatible upstream for the tollgate SDK tests.

It is the suite's one fake server (fake_server.FakeServer, on 127.0.0.1, an
ephemeral port, every request recorded) answering with OpenAIExchange below.

The answer is chosen from markers found in the text of the *last user
message* of a chat completion request:

    #error400   -> 400 JSON error, message "bad thing"
    #error429   -> 429 JSON error, message "slow down, fake rate limit"
    #error500   -> 500 JSON error, message "upstream internal failure"
    #textError  -> 500 with a plain-text body "upstream exploded"
    #tool       -> assistant answer with a tool call (get_weather, Paris)
    #die        -> stream: chunked response that is cut (TCP close) after a
                   few events, without [DONE] and without the terminating
                   zero-length chunk.
                   non-stream: a Content-Length body cut short.
    #dieclose   -> stream: close-delimited response (Connection: close, no
                   Content-Length, no chunking) that stops after a few events
                   without [DONE].
    #sseclose   -> a normal, complete stream, but framed with
                   Connection: close instead of chunked transfer encoding.
    #slow       -> a normal stream whose events are spaced SLOW_GAP seconds
                   apart (to check that the relay does not buffer).
    #sha        -> the answer text is "sha256=<hex> len=<n>" of the last
                   user message text (used for the large-body test).
    otherwise   -> the answer text is reply_text(last user text).

Streams are real SSE (`data: {...}\\n\\n` events) written with a flush and
a tiny sleep between events; by default they use chunked transfer encoding.

Run it standalone with `python fake_upstream.py [port]` for manual poking.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from typing import Any

from fake_server import Exchange, FakeServer

SLOW_GAP = 0.4  # seconds between events for "#slow" streams
EVENT_GAP = 0.01  # seconds between events for ordinary streams
CREATED = 1_700_000_000

TOOL_NAME = "get_weather"
TOOL_ARGUMENTS = '{"city": "Paris", "unit": "celsius"}'
TOOL_CALL_ID = "call_fake_weather_1"

ERROR_400_MESSAGE = "bad thing"
ERROR_429_MESSAGE = "slow down, fake rate limit"
ERROR_500_MESSAGE = "upstream internal failure"
TEXT_ERROR_BODY = "upstream exploded"

# marker -> (status, message, type, code)
ERRORS = {
    "#error400": (400, ERROR_400_MESSAGE, "invalid_request_error", None),
    "#error429": (429, ERROR_429_MESSAGE, "rate_limit_error", "rate_limit_exceeded"),
    "#error500": (500, ERROR_500_MESSAGE, "server_error", None),
}


def message_text(message: dict[str, Any]) -> str:
    """Text of one chat message (string content or list of text parts)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict)
        )
    return ""


def last_user_text(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message)
    return ""


def reply_text(user_text: str) -> str:
    """The deterministic assistant answer for an ordinary request."""
    if "#slow" in user_text:
        return "slow and steady wins"  # 3 pieces: keeps #slow streams short
    if "#sha" in user_text:
        digest = hashlib.sha256(user_text.encode("utf-8")).hexdigest()
        return f"sha256={digest} len={len(user_text)}"
    shown = user_text if len(user_text) <= 200 else user_text[:200] + "..."
    return f"Hello from the fake upstream! You said: {shown}"


def split_pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def usage_for(user_text: str, answer: str) -> dict[str, int]:
    prompt = len(user_text) // 4 + 1
    completion = len(answer) // 4 + 1
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class OpenAIExchange(Exchange):
    """The answers of the OpenAI-compatible fake (see the module doc for the markers)."""

    family = "openai-compatible"
    match = "user_text"
    event_gap = EVENT_GAP

    def answer_get(self, entry: dict[str, Any]) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": CREATED, "owned_by": "fake"}
                for m in ("gpt-4.1-mini", "gpt-4.1")]})
        else:
            self._error(404, f"no route for GET {self.path}", "invalid_request_error")

    def _error(self, status: int, message: str, type_: str, code: str | None = None) -> None:
        self.send_json(status, {"error": {"message": message, "type": type_, "param": None, "code": code}})

    def answer(self, entry: dict[str, Any], body: Any) -> None:
        user_text = entry["user_text"] = last_user_text(body)
        if self.path != "/v1/chat/completions":
            self._error(404, f"no route for POST {self.path}", "invalid_request_error")
            return
        if not isinstance(body, dict):
            self._error(400, "fake upstream: body is not a JSON object", "invalid_request_error")
            return

        model = body.get("model", "")
        stream = bool(body.get("stream"))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        cid = entry["response_id"] = f"chatcmpl-fake-{entry['seq']:05d}"
        for marker, (status, message, type_, code) in ERRORS.items():
            if marker in user_text:
                self._error(status, message, type_, code)
                return
        if "#textError" in user_text:
            self.send_text(500, TEXT_ERROR_BODY)
        elif "#tool" in user_text:
            if stream:
                self._stream_tool(cid, model, include_usage)
            else:
                self._complete(cid, model, user_text, TOOL_ARGUMENTS, {
                    "role": "assistant", "content": None, "refusal": None,
                    "tool_calls": [{"id": TOOL_CALL_ID, "type": "function",
                                    "function": {"name": TOOL_NAME, "arguments": TOOL_ARGUMENTS}}]},
                    "tool_calls", fingerprint=False)
        else:
            answer = entry["reply_text"] = reply_text(user_text)
            if stream:
                self._stream_text(cid, model, include_usage, user_text, answer)
            else:
                self._complete(cid, model, user_text, answer,
                               {"role": "assistant", "content": answer, "refusal": None}, "stop")

    def _complete(self, cid: str, model: str, user_text: str, answer: str, message: dict, finish: str,
                  fingerprint: bool = True) -> None:
        obj: dict[str, Any] = {"id": cid, "object": "chat.completion", "created": CREATED, "model": model}
        if fingerprint:
            obj["system_fingerprint"] = "fp_fake"
        obj["choices"] = [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]
        obj["usage"] = usage_for(user_text, answer)
        data = json.dumps(obj).encode("utf-8")
        # "#die": a Content-Length body cut short
        self.send_bytes(200, data, "application/json", cut=finish == "stop" and "#die" in user_text)

    def _chunk(self, cid: str, model: str, delta: dict, finish: str | None, with_usage: bool) -> dict:
        obj: dict[str, Any] = {
            "id": cid, "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if with_usage:
            obj["usage"] = None
        return obj

    def _stream_text(self, cid: str, model: str, include_usage: bool, user_text: str, answer: str) -> None:
        dies = "#die" in user_text  # covers #die and #dieclose
        chunked = "#dieclose" not in user_text and "#sseclose" not in user_text
        gap = SLOW_GAP if "#slow" in user_text else EVENT_GAP
        self.start_stream(chunked=chunked)
        self.sse(self._chunk(cid, model, {"role": "assistant", "content": ""}, None, include_usage), gap=gap)
        for index, piece in enumerate(split_pieces(answer)):
            if dies and index == 3:
                self.abort()
                return
            self.sse(self._chunk(cid, model, {"content": piece}, None, include_usage), gap=gap)
        self.sse(self._chunk(cid, model, {}, "stop", include_usage), gap=gap)
        if include_usage:
            self.sse({"id": cid, "object": "chat.completion.chunk", "created": CREATED, "model": model,
                      "system_fingerprint": "fp_fake", "choices": [], "usage": usage_for(user_text, answer)},
                     gap=gap)
        self.sse("[DONE]", gap=0)
        self.end_stream()

    def _stream_tool(self, cid: str, model: str, include_usage: bool) -> None:
        self.start_stream()
        first = {"role": "assistant", "content": None, "tool_calls": [
            {"index": 0, "id": TOOL_CALL_ID, "type": "function", "function": {"name": TOOL_NAME, "arguments": ""}}]}
        self.sse(self._chunk(cid, model, first, None, include_usage))
        for piece in split_pieces(TOOL_ARGUMENTS, 6):
            delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
            self.sse(self._chunk(cid, model, delta, None, include_usage))
        self.sse(self._chunk(cid, model, {}, "tool_calls", include_usage))
        self.sse("[DONE]", gap=0)
        self.end_stream()


class FakeUpstream(FakeServer):
    """The OpenAI-compatible fake upstream (FakeServer answering with OpenAIExchange)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(OpenAIExchange, "openai-compatible", host, port)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    with FakeUpstream(port=port) as up:
        print(f"fake upstream listening on {up.base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
