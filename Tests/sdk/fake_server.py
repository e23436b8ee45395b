"""The one fake-upstream server of the SDK tests, and the HTTP plumbing every fake shares.

`FakeServer(exchange_class)` is a small threaded HTTP/1.1 server on 127.0.0.1
(ephemeral port) that records every request (method, path, route, query,
headers, parsed JSON body, raw body text, framing, peer port, timings, outcome)
so tests can check what tollgate really sent. What it answers is up to
`exchange_class`, a subclass of `Exchange` that implements `answer()` (and
optionally `answer_get()` and `reject()`): the OpenAI fake of fake_upstream.py
and the provider-family fakes of family_upstreams.py are such subclasses.

Tests find a request by a unique tag: `find(tag)` looks in the text of the last
user message (`match = "user_text"`) or anywhere in the raw body
(`match = "raw"`), as the exchange class says.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class ValidationError(Exception):
    """The request is not what the real API accepts (answered by `reject`)."""


class StreamCut(Exception):
    """A stream reached its planned cut: the connection is dropped."""


class FakeServer:
    """Owns the server thread and the request log of one fake upstream."""

    def __init__(self, exchange_class: type["Exchange"], name: str | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name or exchange_class.family
        self.match = exchange_class.match
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        owner = self

        class Handler(exchange_class):  # type: ignore[valid-type,misc]
            pass

        Handler.owner = owner

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
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"fake-{self.name}", daemon=True)

    # lifecycle -------------------------------------------------------------------
    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (ends in /v1)."""
        return self.origin + "/v1"

    def start(self) -> "FakeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # request log -------------------------------------------------------------------
    def _record(self, entry: dict[str, Any]) -> int:
        with self._lock:
            entry["seq"] = len(self._requests) + 1
            self._requests.append(entry)
            return entry["seq"]

    def _mark_last(self, handler: Any, outcome: str) -> None:
        """Set the outcome of the newest request from this handler's connection."""
        port = handler.client_address[1]
        with self._lock:
            for entry in reversed(self._requests):
                if entry.get("peer_port") == port:
                    entry["outcome"] = outcome
                    return

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def find(self, tag: str) -> list[dict[str, Any]]:
        """All recorded requests carrying `tag` (see the module doc for where it is looked for)."""
        return [r for r in self.requests if tag in r.get(self.match, "")]

    def find_one(self, tag: str) -> dict[str, Any]:
        found = self.find(tag)
        if len(found) != 1:
            raise AssertionError(
                f"expected exactly one request tagged {tag!r} at the fake {self.name} upstream, got {len(found)}; "
                f"recorded: {[(r['method'], r['path'], r.get(self.match, '')[:120]) for r in self.requests[-10:]]}")
        return found[0]

    def summary(self, last: int = 25) -> str:
        """Human-readable log of the last requests (for failure reports)."""
        lines = []
        for r in self.requests[-last:]:
            dur = f" {1000 * (r['t_end'] - r['t_start']):.0f}ms" if "t_end" in r else ""
            framing = {k: v for k, v in r["headers"].items()
                       if k in ("expect", "transfer-encoding", "connection", "content-length")}
            lines.append(f"[{self.name}] #{r['seq']} {r['method']} {r['path']} peer:{r.get('peer_port')} "
                         f"-> {r.get('outcome', '')}{dur} hdrs={framing} body={r['raw'][:300]!r}")
        return "\n".join(lines) or "(no requests recorded)"


class Exchange(BaseHTTPRequestHandler):
    """One request/response of a fake: recording, body reading, JSON/text answers,
    SSE and chunked streams (optionally every event split in two HTTP chunks), cuts."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeUpstream/1.0"
    owner: FakeServer  # set on the subclass FakeServer makes
    family = "fake"
    match = "raw"  # where find(tag) looks: "raw" body or "user_text"
    split_events = False  # write every streamed event as two HTTP chunks
    event_gap = 0.01  # seconds to pause after each streamed event (or half event)
    cut_marker: str | None = None  # in the raw body: cut streams after cut_after events
    cut_after = 0

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep pytest output clean

    # to override ---------------------------------------------------------------------
    def answer(self, entry: dict[str, Any], body: Any) -> None:
        raise NotImplementedError

    def answer_get(self, entry: dict[str, Any]) -> None:
        self.send_json(404, {"error": {"message": f"fake {self.family}: no route for GET {self.path}"}})

    def reject(self, message: str) -> None:
        """Answer a ValidationError in the family's error format."""
        self.send_json(400, {"error": {"message": message}})

    # verbs -------------------------------------------------------------------------
    def _read_body(self) -> tuple[bytes, str]:
        """Return (raw body, framing) where framing is 'length', 'chunked' or 'none'."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers until an empty line
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after the chunk
            return b"".join(chunks), "chunked"
        length = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(length), "length") if length else (b"", "none")

    def _entry(self, method: str, raw: bytes, framing: str) -> dict[str, Any]:
        split = urlsplit(self.path)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        return {"method": method, "path": self.path, "route": split.path,
                "query": {k: v[0] for k, v in parse_qs(split.query).items()},
                "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                "raw": raw.decode("utf-8", "replace"), "raw_len": len(raw), "body_framing": framing,
                "user_text": "", "peer_port": self.client_address[1], "t_start": time.monotonic(),
                "outcome": "in progress"}

    def do_GET(self) -> None:  # noqa: N802
        self.entry = self._entry("GET", b"", "none")
        self.owner._record(self.entry)
        self.answer_get(self.entry)
        self.entry["t_end"] = time.monotonic()
        self.entry["outcome"] = "answered"

    def do_POST(self) -> None:  # noqa: N802
        raw, framing = self._read_body()
        entry = self.entry = self._entry("POST", raw, framing)
        self.owner._record(entry)
        self.events_written = 0
        self.cutting = bool(self.cut_marker and self.cut_marker in entry["raw"])
        try:
            self.answer(entry, entry["body"])
        except StreamCut:
            entry["outcome"] = f"cut after {self.events_written} events"
            self.close_connection = True
            return
        except ValidationError as exc:
            entry["outcome"] = f"rejected: {exc}"
            self.reject(f"fake {self.family} validation: {exc}")
            return
        except (BrokenPipeError, ConnectionResetError) as exc:
            entry["outcome"] = f"peer hung up: {exc!r}"
            self.close_connection = True
            return
        finally:
            entry["t_end"] = time.monotonic()
        if entry["outcome"] == "in progress":
            entry["outcome"] = "answered"

    # whole answers -------------------------------------------------------------------
    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(obj).encode("utf-8"), "application/json", headers)

    def send_text(self, status: int, text: str) -> None:
        self.send_bytes(status, text.encode("utf-8"), "text/plain; charset=utf-8")

    def send_bytes(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None,
                   cut: bool = False) -> None:
        """A Content-Length answer; with `cut`, only half the body is sent, then the connection is dropped."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.entry["sent"] = bytes(data)  # the answer's body, for byte-for-byte comparisons
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.abort()
            return
        self.wfile.write(data)
        self.wfile.flush()

    def send_error_case(self, case: tuple[int, Any, dict[str, str]]) -> None:
        """(status, JSON body, extra headers), as in the families' error tables."""
        status, body, headers = case
        self.entry["outcome"] = f"error {status}"
        self.send_json(status, body, headers)

    def abort(self) -> None:
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

    # streams -------------------------------------------------------------------------
    def start_stream(self, content_type: str = "text/event-stream; charset=utf-8", chunked: bool = True) -> None:
        """Chunked transfer encoding, or (chunked=False) a close-delimited body."""
        self.chunked = chunked
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()

    def write(self, data: bytes) -> None:
        self.entry["sent"] = self.entry.get("sent", b"") + data  # the body as sent, before chunk framing
        if self.chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)
        self.wfile.flush()

    def write_event(self, data: bytes, gap: float | None = None) -> None:
        """One streamed event; split in two chunks if the exchange says so; cut if it is planned."""
        gap = self.event_gap if gap is None else gap
        mid = len(data) // 2
        if self.cutting:
            if self.events_written >= self.cut_after:
                self.write(data[:mid])  # half an event, then the connection goes away
                time.sleep(gap)
                raise StreamCut()
            self.events_written += 1
        parts = (data[:mid], data[mid:]) if self.split_events else (data,)
        for part in parts:
            if part:
                self.write(part)
                if gap:
                    time.sleep(gap)

    def sse(self, data: Any, event: str | None = None, gap: float | None = None) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        head = f"event: {event}\n" if event else ""
        self.write_event(f"{head}data: {text}\n\n".encode("utf-8"), gap)

    def end_stream(self) -> None:
        if self.chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
