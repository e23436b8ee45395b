"""A deterministic fake OpenAI-compatible upstream for the tollgate SDK tests.

It is a small threaded HTTP/1.1 server bound to 127.0.0.1 on an ephemeral
port. Every request is recorded (method, path, headers, parsed JSON body)
so tests can check what tollgate actually forwarded.

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
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


class FakeUpstream:
    """Owns the server thread and the request log."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._counter = 0
        upstream = self

        class Handler(_Handler):
            owner = upstream

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

            def handle_error(self, request: Any, client_address: Any) -> None:
                # Peers hanging up (tollgate cancelling a relay, our own
                # deliberate aborts) are expected; anything else is printed.
                if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                    return
                super().handle_error(request, client_address)

        self.server = Server((host, port), Handler)
        self.host, self.port = self.server.server_address[:2]
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="fake-upstream",
            daemon=True,
        )

    # lifecycle -----------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (ends in /v1)."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> "FakeUpstream":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeUpstream":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # request log -----------------------------------------------------------
    def _record(self, entry: dict[str, Any]) -> int:
        with self._lock:
            self._counter += 1
            entry["seq"] = self._counter
            self._requests.append(entry)
            return self._counter

    def _mark_last(self, handler: Any, outcome: str) -> None:
        """Set the outcome of the newest request from this handler's connection."""
        port = handler.client_address[1]
        with self._lock:
            for entry in reversed(self._requests):
                if entry.get("peer_port") == port:
                    entry["outcome"] = outcome
                    return

    def summary(self, last: int = 25) -> str:
        """Human-readable log of the last requests (for failure reports)."""
        lines = []
        for r in self.requests[-last:]:
            dur = ""
            if "t_end" in r:
                dur = f" {1000 * (r['t_end'] - r['t_start']):.0f}ms"
            interesting = {k: v for k, v in r["headers"].items()
                           if k in ("expect", "transfer-encoding", "connection", "content-length")}
            lines.append(
                f"#{r['seq']} {r['method']} {r['path']} peer:{r.get('peer_port')} "
                f"{r.get('outcome', '')}{dur} model={(r.get('body') or {}).get('model')!r} "
                f"stream={(r.get('body') or {}).get('stream')!r} hdrs={interesting} "
                f"text={r.get('user_text', '')[:70]!r}"
            )
        return "\n".join(lines) or "(no requests recorded)"

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def find(self, tag: str) -> list[dict[str, Any]]:
        """All recorded requests whose last user message contains `tag`."""
        return [r for r in self.requests if tag in r.get("user_text", "")]

    def find_one(self, tag: str) -> dict[str, Any]:
        found = self.find(tag)
        if len(found) != 1:
            summary = [
                (r["method"], r["path"], r.get("user_text", "")[:80])
                for r in self.requests
            ]
            raise AssertionError(
                f"expected exactly one upstream request tagged {tag!r}, "
                f"got {len(found)}; all recorded requests: {summary}"
            )
        return found[0]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeUpstream/1.0"
    owner: FakeUpstream  # set by the subclass FakeUpstream creates

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep pytest output clean

    # helpers -------------------------------------------------------------
    def _read_body(self) -> tuple[bytes, str]:
        """Return (raw body, framing) where framing is 'length', 'chunked' or 'none'."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until an empty line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after the chunk
            return b"".join(chunks), "chunked"
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length), "length"
        return b"", "none"

    def _send_json(self, status: int, obj: Any, extra_headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra_headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_text(self, status: int, text: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _error(self, status: int, message: str, type_: str, code: str | None = None) -> None:
        self._send_json(
            status,
            {"error": {"message": message, "type": type_, "param": None, "code": code}},
        )

    def _abort(self) -> None:
        """Close the TCP connection right now (mid-response)."""
        self.owner._mark_last(self, "deliberately cut")
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # verbs -----------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        self.owner._record(
            {
                "method": "GET",
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": None,
                "raw_len": 0,
                "user_text": "",
            }
        )
        if self.path.rstrip("/") == "/v1/models":
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": CREATED, "owned_by": "fake"}
                        for m in ("gpt-4.1-mini", "gpt-4.1")
                    ],
                },
            )
        else:
            self._error(404, f"no route for GET {self.path}", "invalid_request_error")

    def do_POST(self) -> None:  # noqa: N802
        raw, framing = self._read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        user_text = last_user_text(body)
        entry: dict[str, Any] = {
            "method": "POST",
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "raw_len": len(raw),
            "body_framing": framing,
            "user_text": user_text,
            "peer_port": self.client_address[1],
            "t_start": time.monotonic(),
            "outcome": "in progress",
        }
        seq = self.owner._record(entry)
        try:
            self._answer(entry, seq, body, user_text)
        except (BrokenPipeError, ConnectionResetError) as exc:
            entry["outcome"] = f"peer hung up: {exc!r}"
            self.close_connection = True
            return
        finally:
            entry["t_end"] = time.monotonic()
        if entry["outcome"] == "in progress":
            entry["outcome"] = "answered"

    def _answer(self, entry: dict[str, Any], seq: int, body: Any, user_text: str) -> None:
        if self.path != "/v1/chat/completions":
            self._error(404, f"no route for POST {self.path}", "invalid_request_error")
            return
        if not isinstance(body, dict):
            self._error(400, "fake upstream: body is not a JSON object", "invalid_request_error")
            return

        model = body.get("model", "")
        stream = bool(body.get("stream"))
        completion_id = f"chatcmpl-fake-{seq:05d}"
        entry["response_id"] = completion_id

        if "#error400" in user_text:
            self._error(400, ERROR_400_MESSAGE, "invalid_request_error")
        elif "#error429" in user_text:
            self._error(429, ERROR_429_MESSAGE, "rate_limit_error", "rate_limit_exceeded")
        elif "#error500" in user_text:
            self._error(500, ERROR_500_MESSAGE, "server_error")
        elif "#textError" in user_text:
            self._send_text(500, TEXT_ERROR_BODY)
        elif "#tool" in user_text:
            if stream:
                self._stream_tool(completion_id, model, body)
            else:
                self._complete_tool(completion_id, model, user_text)
        else:
            answer = reply_text(user_text)
            entry["reply_text"] = answer
            if stream:
                self._stream_text(completion_id, model, body, user_text, answer)
            else:
                self._complete_text(completion_id, model, user_text, answer)

    # non-stream answers ----------------------------------------------------
    def _complete_text(self, cid: str, model: str, user_text: str, answer: str) -> None:
        obj = {
            "id": cid,
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": usage_for(user_text, answer),
        }
        if "#die" in user_text:
            data = json.dumps(obj).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self._abort()
            return
        self._send_json(200, obj)

    def _complete_tool(self, cid: str, model: str, user_text: str) -> None:
        self._send_json(
            200,
            {
                "id": cid,
                "object": "chat.completion",
                "created": CREATED,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "refusal": None,
                            "tool_calls": [
                                {
                                    "id": TOOL_CALL_ID,
                                    "type": "function",
                                    "function": {"name": TOOL_NAME, "arguments": TOOL_ARGUMENTS},
                                }
                            ],
                        },
                        "logprobs": None,
                        "finish_reason": "tool_calls",
                    }
                ],
                "usage": usage_for(user_text, TOOL_ARGUMENTS),
            },
        )

    # streams ---------------------------------------------------------------
    def _start_stream(self, chunked: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()

    def _write(self, chunked: bool, data: bytes) -> None:
        if chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)
        self.wfile.flush()

    def _event(self, chunked: bool, payload: Any, gap: float) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._write(chunked, f"data: {text}\n\n".encode("utf-8"))
        if gap:
            time.sleep(gap)

    def _end_stream(self, chunked: bool) -> None:
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _chunk(self, cid: str, model: str, delta: dict, finish: str | None, with_usage: bool) -> dict:
        obj: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if with_usage:
            obj["usage"] = None
        return obj

    def _stream_text(self, cid: str, model: str, body: dict, user_text: str, answer: str) -> None:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        dies = "#die" in user_text  # covers #die and #dieclose
        chunked = "#dieclose" not in user_text and "#sseclose" not in user_text
        gap = SLOW_GAP if "#slow" in user_text else EVENT_GAP
        try:
            self._start_stream(chunked)
            self._event(chunked, self._chunk(cid, model, {"role": "assistant", "content": ""}, None, include_usage), gap)
            pieces = split_pieces(answer)
            for index, piece in enumerate(pieces):
                if dies and index == 3:
                    self._abort()
                    return
                self._event(chunked, self._chunk(cid, model, {"content": piece}, None, include_usage), gap)
            self._event(chunked, self._chunk(cid, model, {}, "stop", include_usage), gap)
            if include_usage:
                final = {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": CREATED,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [],
                    "usage": usage_for(user_text, answer),
                }
                self._event(chunked, final, gap)
            self._event(chunked, "[DONE]", 0)
            self._end_stream(chunked)
        except (BrokenPipeError, ConnectionResetError) as exc:
            self.owner._mark_last(self, f"peer hung up mid-stream: {exc!r}")
            self.close_connection = True

    def _stream_tool(self, cid: str, model: str, body: dict) -> None:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunked = True
        try:
            self._start_stream(chunked)
            first = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": TOOL_CALL_ID,
                        "type": "function",
                        "function": {"name": TOOL_NAME, "arguments": ""},
                    }
                ],
            }
            self._event(chunked, self._chunk(cid, model, first, None, include_usage), EVENT_GAP)
            for piece in split_pieces(TOOL_ARGUMENTS, 6):
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                self._event(chunked, self._chunk(cid, model, delta, None, include_usage), EVENT_GAP)
            self._event(chunked, self._chunk(cid, model, {}, "tool_calls", include_usage), EVENT_GAP)
            self._event(chunked, "[DONE]", 0)
            self._end_stream(chunked)
        except (BrokenPipeError, ConnectionResetError) as exc:
            self.owner._mark_last(self, f"peer hung up mid-stream: {exc!r}")
            self.close_connection = True


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    with FakeUpstream(port=port) as up:
        print(f"fake upstream listening on {up.base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
