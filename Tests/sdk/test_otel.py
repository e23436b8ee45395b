"""OpenTelemetry traces: tollgate exports one server span per request and a client span per
upstream attempt over OTLP/HTTP (JSON) to a fake collector on 127.0.0.1, which decodes each
payload with the official OTLP protobuf definitions (opentelemetry-proto); a client's
`traceparent` is continued; a collector that is down costs nothing but dropped, counted spans."""
from __future__ import annotations

import base64
import json
import socket
import threading
import time
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from fake_upstream import FakeUpstream
from observe_support import Scrape, chat, closed_port

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes trace and span ids as hex; protobuf's JSON mapping reads bytes as base64."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                assert len(value) in (16, 32) and all(c in "0123456789abcdef" for c in value), (key, value)
                out[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


class FakeCollector:
    """POST /v1/traces on 127.0.0.1: each body parsed into an ExportTraceServiceRequest (unknown
    fields refused), then answered 200 with head and body in one send."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        self.content_types: list[str] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
                length = int(headers.get("content-length", "0"))
                while len(buf) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                body, buf = buf[:length], buf[length:]
                try:
                    message = json_format.Parse(json.dumps(_hex_ids_to_base64(json.loads(body))),
                                                ExportTraceServiceRequest())
                    with self.lock:
                        self.requests.append(message)
                        self.paths.append(lines[0].split(" ")[1])
                        self.content_types.append(headers.get("content-type", ""))
                    answer = b"{}"
                    status = b"200 OK"
                except Exception as error:  # noqa: BLE001 - reported by the test
                    with self.lock:
                        self.errors.append(f"{error}: {body[:500]!r}")
                    answer, status = b'{"error":"bad payload"}', b"400 Bad Request"
                conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(answer)).encode() + b"\r\n\r\n" + answer)

    def spans(self) -> list[tuple[dict[str, Any], Span]]:
        """(resource attributes, span) of every span received so far."""
        out = []
        with self.lock:
            for request in self.requests:
                for rs in request.resource_spans:
                    resource = attributes(rs.resource.attributes)
                    for ss in rs.scope_spans:
                        out += [(resource, span) for span in ss.spans]
        return out

    def wait_for(self, predicate, timeout: float = 10.0) -> list[tuple[dict[str, Any], Span]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.spans()
            if predicate(spans):
                return spans
            time.sleep(0.05)
        pytest.fail(f"the collector did not get the spans in {timeout}s; got {len(self.spans())}; errors: {self.errors}")

    def close(self) -> None:
        self.sock.close()


def attributes(kvs) -> dict[str, Any]:
    out = {}
    for kv in kvs:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which)
    return out


@pytest.fixture(scope="module")
def traced(launch_gateway):
    upstream = FakeUpstream().start()
    collector = FakeCollector()
    config = {
        "providers": {
            "broken": {"type": "openai_compatible", "base_url": f"http://127.0.0.1:{closed_port()}/v1",
                       "api_key": "k", "priority": 1, "retries": 0, "models": ["gpt-4.1-mini"]},
            "main": {"type": "openai", "base_url": upstream.base_url, "api_key": "k", "priority": 2,
                     "retries": 0, "models": ["gpt-4.1-mini"]},
        },
        "routes": {"fast": ["main/gpt-4.1-mini"]},
        "failover": {"failure_threshold": 1000},
        "otel": {"endpoint": collector.endpoint, "service_name": "tollgate-test"},
    }
    try:
        with launch_gateway(config, logs=[upstream], name="otel") as gw:
            yield gw, collector
    finally:
        collector.close()
        upstream.stop()


def test_request_and_attempt_spans_with_genai_attributes(traced) -> None:
    gw, collector = traced
    status, headers, body = chat(gw.port, "gpt-4.1-mini", "trace me",
                                 headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    assert status == 200
    usage = json.loads(body)["usage"]
    request_id = headers["x-tollgate-request-id"]

    def complete(spans):
        return sum(1 for _, s in spans if s.trace_id.hex() == TRACE_ID) >= 3

    spans = [(r, s) for r, s in collector.wait_for(complete) if s.trace_id.hex() == TRACE_ID]
    assert collector.paths[0] == "/v1/traces" and collector.content_types[0] == "application/json"
    assert not collector.errors
    servers = [s for _, s in spans if s.kind == Span.SPAN_KIND_SERVER]
    clients = sorted((s for _, s in spans if s.kind == Span.SPAN_KIND_CLIENT),
                     key=lambda s: attributes(s.attributes)["tollgate.attempt"])
    assert len(servers) == 1 and len(clients) == 2
    server = servers[0]
    resource = spans[0][0]
    assert resource["service.name"] == "tollgate-test"

    # The client's trace is continued: same trace id, its span is the parent.
    assert server.parent_span_id.hex() == PARENT_ID
    assert server.name == "chat gpt-4.1-mini"
    assert 0 < server.start_time_unix_nano <= server.end_time_unix_nano
    a = attributes(server.attributes)
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.system"] == "openai"
    assert a["gen_ai.request.model"] == "gpt-4.1-mini"
    assert a["gen_ai.response.model"] == "gpt-4.1-mini"
    assert a["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert a["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert a["tollgate.provider"] == "main"
    assert a["tollgate.attempts"] == 2
    assert a["tollgate.outcome"] == "ok"
    assert a["tollgate.cost_usd"] > 0
    assert a["tollgate.request_id"] == request_id
    assert a["http.response.status_code"] == 200
    assert server.status.code != Status.STATUS_CODE_ERROR

    for child in clients:
        assert child.trace_id.hex() == TRACE_ID
        assert child.parent_span_id == server.span_id
        assert child.span_id != server.span_id
        assert server.start_time_unix_nano <= child.start_time_unix_nano <= child.end_time_unix_nano
    failed, ok = (attributes(c.attributes) for c in clients)
    assert failed["tollgate.provider"] == "broken" and failed["tollgate.outcome"] == "failed_over"
    assert failed["error.type"] == "connection"
    assert clients[0].status.code == Status.STATUS_CODE_ERROR
    assert ok["tollgate.provider"] == "main" and ok["tollgate.outcome"] == "ok"
    assert ok["gen_ai.system"] == "openai" and ok["server.address"] == "127.0.0.1"
    assert ok["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert "error.type" not in ok


def test_a_stream_without_traceparent_starts_a_trace(traced) -> None:
    gw, collector = traced
    status, headers, _ = chat(gw.port, "fast", "a traced stream", stream=True)
    assert status == 200
    rid = headers["x-tollgate-request-id"]

    def arrived(spans):
        return any(attributes(s.attributes).get("tollgate.request_id") == rid for _, s in spans)

    spans = collector.wait_for(arrived)
    server = next(s for _, s in spans if attributes(s.attributes).get("tollgate.request_id") == rid)
    assert len(server.trace_id) == 16 and server.trace_id != bytes(16)
    assert server.parent_span_id == b""
    children = [s for _, s in spans if s.parent_span_id == server.span_id]
    assert len(children) == 1
    a = attributes(server.attributes)
    assert a["tollgate.streamed"] is True and a["gen_ai.usage.output_tokens"] > 0
    # Exported spans are counted.
    assert Scrape(gw.port).value("tollgate_otel_spans_exported_total") >= 3


def test_collector_down_drops_and_counts(launch_gateway) -> None:
    upstream = FakeUpstream().start()
    config = {
        "providers": {"main": {"type": "openai_compatible", "base_url": upstream.base_url, "api_key": "k",
                               "models": ["m"]}},
        "otel": {"endpoint": f"http://127.0.0.1:{closed_port()}"},
    }
    try:
        with launch_gateway(config, logs=[upstream], name="otel-down") as gw:
            started = time.monotonic()
            for i in range(40):
                status, _, _ = chat(gw.port, "m", f"nobody collects {i}")
                assert status == 200
            assert time.monotonic() - started < 10  # answers never wait for the exporter
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                s = Scrape(gw.port)
                if s.value("tollgate_otel_spans_dropped_total") >= 80:
                    break
                time.sleep(0.2)
            assert s.value("tollgate_otel_spans_dropped_total") >= 80
            assert s.value("tollgate_otel_spans_exported_total") == 0
            assert s.value("tollgate_otel_export_failures_total") >= 1
    finally:
        upstream.stop()


def test_spans_waiting_at_stop_are_sent(launch_gateway) -> None:
    upstream = FakeUpstream().start()
    collector = FakeCollector()
    config = {
        "providers": {"main": {"type": "openai_compatible", "base_url": upstream.base_url, "api_key": "k",
                               "models": ["m"]}},
        "otel": {"endpoint": collector.endpoint},
    }
    try:
        with launch_gateway(config, logs=[upstream], name="otel-stop") as gw:
            status, headers, _ = chat(gw.port, "m", "the last words")
            assert status == 200
            rid = headers["x-tollgate-request-id"]
        # Stopped (SIGTERM) at once: the span had not been handed over yet, the stop sends it.
        spans = collector.spans()
        assert any(attributes(s.attributes).get("tollgate.request_id") == rid for _, s in spans), len(spans)
    finally:
        collector.close()
        upstream.stop()
