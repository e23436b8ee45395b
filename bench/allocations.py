#!/usr/bin/env python3
"""Heap allocations per request in tollgate: counted by bench/malloc_count.c (LD_PRELOAD),
read before and after N keep-alive requests (non-streamed and streamed), divided by N.

Usage: allocations.py TOLLGATE_BIN MALLOC_COUNT_SO   (N from ALLOC_REQUESTS, default 2000;
ALLOC_SERVE_ARGS adds arguments to `tollgate serve`, e.g. --no-ledger)
Everything runs on 127.0.0.1.
"""
import http.client
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
N = int(os.environ.get("ALLOC_REQUESTS", "2000"))
COMPLETION = open(os.path.join(HERE, "canned", "completion.json"), "rb").read()
STREAM = open(os.path.join(HERE, "canned", "stream.sse"), "rb").read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Canned(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        payload, kind = (STREAM, "text/event-stream") if body.get("stream") else (COMPLETION, "application/json")
        # One write: a head and a body in two small writes would meet Nagle and delayed ACKs.
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
                         % (kind.encode(), len(payload), payload))


def counts(proc, log_path):
    before = open(log_path).read().count("malloc_count")
    proc.send_signal(signal.SIGUSR2)
    for _ in range(100):
        text = open(log_path).read()
        found = re.findall(r"malloc_count allocations=(\d+) frees=(\d+) bytes=(\d+)", text)
        if len(found) > before:
            return tuple(int(x) for x in found[-1])
        time.sleep(0.02)
    raise SystemExit("no malloc_count line from tollgate")


def run(conn, stream):
    body = json.dumps({"model": "m", "stream": stream, "messages": [{"role": "user", "content": "Say hello."}]})
    conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status


def main():
    binary, preload = sys.argv[1], sys.argv[2]
    upstream = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", upstream), Canned)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = free_port()
    folder = tempfile.mkdtemp(prefix="tollgate-alloc-")
    config = {"listen": f"127.0.0.1:{port}", "ledger": f"{folder}/ledger.sqlite", "log_level": "warning",
              "providers": {"canned": {"type": "openai_compatible", "base_url": f"http://127.0.0.1:{upstream}/v1",
                                       "auth": "none", "models": ["m"]}}}
    with open(f"{folder}/config.json", "w") as f:
        json.dump(config, f)
    log_path = f"{folder}/stderr.log"
    env = dict(os.environ, LD_PRELOAD=preload)
    with open(log_path, "w") as log:
        extra = os.environ.get("ALLOC_SERVE_ARGS", "").split()
        proc = subprocess.Popen([binary, "serve", "--config", f"{folder}/config.json", "--loops", "1"] + extra,
                                stderr=log, env=env)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        print(f"tollgate heap allocations per request ({N} keep-alive requests each, 1 loop{', ' + ' '.join(extra) if extra else ''})")
        for stream in (False, True):
            for _ in range(200):
                run(conn, stream)
            time.sleep(0.3)
            a0, f0, b0 = counts(proc, log_path)
            for _ in range(N):
                run(conn, stream)
            time.sleep(0.3)
            a1, f1, b1 = counts(proc, log_path)
            print(f"  {'sse ' if stream else 'json'}: {(a1 - a0) / N:.0f} allocations, {(b1 - b0) / N / 1024:.1f} KiB allocated, "
                  f"{(f1 - f0) / N:.0f} frees per request")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        server.shutdown()


if __name__ == "__main__":
    main()
