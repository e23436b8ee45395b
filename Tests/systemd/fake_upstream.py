"""A minimal OpenAI-compatible upstream for `make test-systemd`, run on the container's loopback.

    python3 fake_upstream.py PORT LOGFILE

Answers POST .../chat/completions with a short completion, or an SSE stream when the
request says "stream": true. A user message containing "#slow N" streams N chunks half a
second apart (a long answer to drain on stop). Each request appends one line to LOGFILE:
`<model> <stream> <Authorization header>` so the driver can see which key arrived.
Every response is written with a single send (head and body together) to avoid Nagle delays.
"""

import json
import re
import socket
import sys
import threading
import time


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return method, path, headers, rest[:length]


def chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def event(obj) -> bytes:
    return chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")


def serve(conn, log_path):
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            request = read_request(conn)
            if request is None:
                return
            method, path, headers, body = request
            if method != "POST" or not path.endswith("/chat/completions"):
                text = b'{"error":{"message":"not found","type":"invalid_request_error"}}'
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(text), text))
                continue
            req = json.loads(body)
            model = req.get("model", "")
            stream = bool(req.get("stream"))
            with open(log_path, "a") as log:
                log.write(f"{model} {int(stream)} {headers.get('authorization', '-')}\n")
            user = " ".join(str(m.get("content", "")) for m in req.get("messages", []) if m.get("role") == "user")
            usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
            base = {"id": "chatcmpl-systemd", "created": 1_700_000_000, "model": model}
            if not stream:
                answer = dict(base, object="chat.completion", usage=usage, choices=[
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "pong from the fake"}}])
                text = json.dumps(answer).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(text), text))
                continue
            slow = re.search(r"#slow (\d+)", user)
            count, gap = (int(slow.group(1)), 0.5) if slow else (3, 0.0)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            out = head
            for i in range(count):
                piece = dict(base, object="chat.completion.chunk", choices=[
                    {"index": 0, "finish_reason": None, "delta": {"content": f"part{i} "}}])
                out += event(piece)
                conn.sendall(out)
                out = b""
                if gap:
                    time.sleep(gap)
            last = dict(base, object="chat.completion.chunk", choices=[{"index": 0, "finish_reason": "stop", "delta": {}}])
            tail = event(last)
            if (req.get("stream_options") or {}).get("include_usage"):
                tail += event(dict(base, object="chat.completion.chunk", choices=[], usage=usage))
            conn.sendall(tail + chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")


def main():
    port, log_path = int(sys.argv[1]), sys.argv[2]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    print(f"fake upstream on 127.0.0.1:{port}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, log_path), daemon=True).start()


if __name__ == "__main__":
    main()
