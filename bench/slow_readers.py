#!/usr/bin/env python3
"""Memory under slow readers: N clients ask tollgate for a long, fast stream and read it at
1 byte per second; tollgate's RSS is sampled while they do. With back-pressure it stays flat;
without, tollgate buffers the upstream for every slow client.

Usage: slow_readers.py TOLLGATE_BIN [TOLLGATE_BIN ...]   (each binary is measured in turn)
Knobs (environment): SLOW_CLIENTS (4), SLOW_STREAM_MB (50), SLOW_SECONDS (20).
Everything runs on 127.0.0.1.
"""
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

CLIENTS = int(os.environ.get("SLOW_CLIENTS", "4"))
STREAM_MB = int(os.environ.get("SLOW_STREAM_MB", "50"))
SECONDS = int(os.environ.get("SLOW_SECONDS", "20"))
PIECE = "x" * 16384


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Firehose(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        event = ('data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":'
                 '[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}\n\n' % PIECE).encode()
        batch = event * 16
        try:
            for _ in range(STREAM_MB * (1 << 20) // len(batch)):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(batch), batch))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(binary, upstream_port):
    port = free_port()
    folder = tempfile.mkdtemp(prefix="tollgate-slow-")
    config = {"listen": f"127.0.0.1:{port}", "ledger": f"{folder}/ledger.sqlite", "log_level": "error",
              "providers": {"fire": {"type": "openai_compatible", "base_url": f"http://127.0.0.1:{upstream_port}/v1",
                                      "auth": "none", "models": ["m"]}}}
    path = f"{folder}/config.json"
    with open(path, "w") as f:
        json.dump(config, f)
    proc = subprocess.Popen([binary, "serve", "--config", path], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        idle = rss_mb(proc.pid)
        body = json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
        request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        clients = []
        for _ in range(CLIENTS):
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(request)
            clients.append(s)
        samples = []
        for second in range(SECONDS):
            for s in clients:
                s.recv(1)
            time.sleep(1)
            samples.append(rss_mb(proc.pid))
        for s in clients:
            s.close()
        return idle, samples
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    upstream_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", upstream_port), Firehose)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"{CLIENTS} clients reading 1 byte/s from a {STREAM_MB} MB stream, {SECONDS} s; tollgate RSS in MB")
    for binary in sys.argv[1:]:
        idle, samples = measure(binary, upstream_port)
        print(f"{binary}: idle {idle:.1f}, after 5 s {samples[min(4, len(samples) - 1)]:.1f}, "
              f"peak {max(samples):.1f}, end {samples[-1]:.1f}")
    server.shutdown()


if __name__ == "__main__":
    main()
