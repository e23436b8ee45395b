#!/usr/bin/env python3
"""Fake OpenAI-compatible upstreams for bench/streams.py and bench/soak.py (asyncio, 127.0.0.1).

Behaviours (one per listening server):
  good    answers POST …/chat/completions at once: bench/canned/completion.json, or
          bench/canned/stream.sse (chunked) when the body says "stream": true. A model whose
          name ends in "-slow" streams SLOW_CHUNKS content chunks SLOW_INTERVAL s apart instead
          (for clients that disconnect mid-stream). Keep-alive.
  drip    streams one chunk at once, then one every DRIP_INTERVAL s, never ending; `open`
          counts the streams currently held (requests without "stream": true get JSON).
  flaky   cycles through FLAKY_CYCLE: ok (as good), 500, 429 (retry-after-ms: FAKE_RETRY_AFTER_MS,
          default 20, so the provider is back soon) and close (the
          request is read, then the connection is closed without an answer). Every answer
          carries Connection: close, so no connection is reused (libcurl re-sends a request
          on a reused connection that died, which would count one attempt twice).

Every request read in full counts once in `received` (and in `outcomes`); GET /_stats
answers them as JSON. Run standalone (used by soak.py, in its own process):
  fake_upstream.py NAME=BEHAVIOUR:PORT ...   prints "ready NAME PORT" per server (PORT 0 = any).
"""
import asyncio
import json
import os
import signal
import sys
import time

CANNED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "canned")
FLAKY_CYCLE = ("ok", "500", "ok", "429", "ok", "close")
RETRY_AFTER_MS = int(os.environ.get("FAKE_RETRY_AFTER_MS", "20"))   # a 429's cool-down (retry-after-ms wins)


def _canned(name):
    with open(os.path.join(CANNED, name), "rb") as f:
        return f.read()


COMPLETION = _canned("completion.json").rstrip(b"\r\n")
STREAM = _canned("stream.sse")


def _chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


def _event(content, model=b"fake"):
    return (b'data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,'
            b'"model":"' + model + b'","choices":[{"index":0,"delta":{"content":"' + content +
            b'"},"finish_reason":null}]}\n\n')


class Upstream:
    def __init__(self, name, behaviour, drip_interval=1.0, slow_chunks=20, slow_interval=0.1):
        assert behaviour in ("good", "drip", "flaky"), behaviour
        self.name = name
        self.behaviour = behaviour
        self.drip_interval = drip_interval
        self.slow_chunks = slow_chunks
        self.slow_interval = slow_interval
        self.received = 0          # requests read in full
        self.outcomes = {}         # what they got: ok / 500 / 429 / close / drip / aborted
        self.open = 0              # drip streams held right now
        self.connections = 0       # connections open right now
        self.server = None
        self.port = None

    async def start(self, port=0):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port, backlog=4096,
                                                 limit=1 << 20)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    def stats(self):
        return {"name": self.name, "behaviour": self.behaviour, "received": self.received,
                "outcomes": dict(self.outcomes), "open": self.open, "connections": self.connections}

    def _count(self, outcome):
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    async def _serve(self, reader, writer):
        self.connections += 1
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            self.connections -= 1
            writer.close()

    async def _one(self, reader, writer):
        """Serves one request; False when the connection is done."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, path = (lines[0].split(" ") + ["", ""])[:2]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await reader.readexactly(size + 2)
                if size == 0:
                    break
                body += data[:-2]
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        if method == "GET" and path.startswith("/_stats"):
            payload = json.dumps(self.stats()).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(payload), payload))
            await writer.drain()
            return True
        self.received += 1
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = {}
        stream = bool(req.get("stream"))
        model = str(req.get("model", ""))
        if self.behaviour == "flaky":
            what = FLAKY_CYCLE[(self.received - 1) % len(FLAKY_CYCLE)]
            self._count(what)
            if what == "close":
                return False
            if what in ("500", "429"):
                err = json.dumps({"error": {"message": "fake %s from %s" % (what, self.name),
                                            "type": "server_error" if what == "500" else "rate_limit_error"}}).encode()
                reason = b"Internal Server Error" if what == "500" else b"Too Many Requests"
                extra = b"Retry-After: 1\r\nRetry-After-Ms: %d\r\n" % RETRY_AFTER_MS if what == "429" else b""
                writer.write(b"HTTP/1.1 %s %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s"
                             b"Connection: close\r\n\r\n%s" % (what.encode(), reason, len(err), extra, err))
                await writer.drain()
                return False
            await self._answer(writer, stream, model, close=True)
            return False
        if self.behaviour == "drip" and stream:
            self._count("drip")
            await self._drip(writer)
            return False
        self._count("ok")
        return await self._answer(writer, stream, model, close=False)

    async def _answer(self, writer, stream, model, close):
        conn = b"Connection: close\r\n" if close else b""
        if not stream:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
                         % (len(COMPLETION), conn, COMPLETION))
            await writer.drain()
            return not close
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     b"Transfer-Encoding: chunked\r\n%s\r\n" % conn)
        if model.endswith("-slow"):
            for i in range(self.slow_chunks):
                writer.write(_chunk(_event(b"tick %d " % i)))
                await writer.drain()
                await asyncio.sleep(self.slow_interval)
            writer.write(_chunk(b"data: [DONE]\n\n"))
        else:
            writer.write(_chunk(STREAM))
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return not close

    async def _drip(self, writer):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        self.open += 1
        try:
            i = 0
            while True:
                writer.write(_chunk(_event(b"drip %d " % i)))
                await writer.drain()
                i += 1
                await asyncio.sleep(self.drip_interval)
        finally:
            self.open -= 1


async def _main(specs):
    servers = []
    for spec in specs:
        name, rest = spec.split("=", 1)
        behaviour, port = rest.split(":", 1)
        up = Upstream(name, behaviour)
        await up.start(int(port))
        servers.append(up)
        print("ready %s %d" % (name, up.port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print(json.dumps([s.stats() for s in servers]), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    asyncio.run(_main(sys.argv[1:]))
