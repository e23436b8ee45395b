"""Helpers shared by the metrics, tracing and dashboard tests: plain HTTP to tollgate
(always with `Host: localhost`) and a scrape parsed by prometheus_client's own parser."""
from __future__ import annotations

import http.client
import json
import socket
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def request(port: int, method: str, path: str, body: Any = None,
            headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = {"Host": "localhost"}
    if body is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers=h)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload


def chat(port: int, model: str, text: str, stream: bool = False,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return request(port, "POST", "/v1/chat/completions",
                   {"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]},
                   headers=headers)


class Scrape:
    """One GET /metrics, parsed; `value(sample_name, **labels)` sums the matching samples."""

    def __init__(self, port: int) -> None:
        status, headers, body = request(port, "GET", "/metrics")
        assert status == 200, body
        assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
        self.text = body.decode()
        # The parser raises on any line it cannot read: every line must be valid.
        self.families = {f.name: f for f in text_string_to_metric_families(self.text)}
        self.samples = [s for f in self.families.values() for s in f.samples]

    def value(self, metric: str, /, **labels: str) -> float:
        return sum(s.value for s in self.samples
                   if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items()))

    def label_sets(self, name: str) -> list[dict[str, str]]:
        return [s.labels for s in self.samples if s.name == name]


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
