#!/usr/bin/env python3
"""Soak test (`make soak`; not in CI): SOAK_SECONDS (600) of mixed load against one tollgate.

- wrk JSON and wrk SSE load (bench/post.lua) for model "soak-model", which two fake upstreams
  serve (bench/fake_upstream.py, in their own process): "flaky" at priority 1 (cycles ok, 500,
  ok, 429 with retry-after, ok, connection closed without an answer; short breaker cooldowns,
  so failover, retries and half-open probes keep happening) and "good" at priority 2;
- hostile clients: slowloris (a partial head, one byte a second, until tollgate closes it),
  oversized header blocks, garbage bytes, bodies cut short, and streamed requests dropped
  after their first chunk (model "soak-model-slow": 20 chunks 0.1 s apart, on "good");
- every SOAK_SAMPLE (10) s: tollgate's RSS (VmRSS) and open fds (/proc/PID/fd).

At the end (load stopped, tollgate stopped with SIGTERM) the checks, each PASS/FAIL:
- tollgate ran throughout and answered /health after the load;
- RSS flat: no sample after the warm-up mark (SOAK_WARMUP, default 120 s, at most a third of
  the run) above the sample at the mark by more than SOAK_RSS_TOLERANCE (10%);
- fds: no sample after the mark above the one at the mark by more than SOAK_FD_TOLERANCE (64:
  hostile connections in flight vary), and once idle, tollgate's fds minus the connections the
  fake upstreams still hold from it at most SOAK_IDLE_FD_TOLERANCE (8) above the count at start;
- ledger: PRAGMA integrity_check = ok, and one row per upstream attempt: the rows equal the
  requests the fake upstreams received;
- wrk: both loads completed requests; socket errors + non-2xx at most SOAK_MAX_ERROR_RATE
  (0.001) of them; hostile clients got the answers they deserve (431, 400/close, 408/close).
Everything on 127.0.0.1. Files in .build/soak/. Exit status 0 = PASS, 1 = FAIL, 2 = setup error.
Other knobs: TOLLGATE_BIN, WRK_BIN, SOAK_JSON_CONNS (4), SOAK_SSE_CONNS (4),
SOAK_SLOWLORIS (16), SOAK_LOG_LEVEL (warning; info logs a line per request).
"""
import asyncio
import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, ".build", "soak")


def env_num(name, default, kind=int):
    raw = os.environ.get(name, "")
    try:
        v = kind(raw) if raw != "" else default
    except ValueError:
        v = None
    if v is None or v < 0:
        print("soak: %s must be a non-negative number (got %r)" % (name, raw), file=sys.stderr)
        sys.exit(2)
    return v


SECONDS = env_num("SOAK_SECONDS", 600)
SAMPLE = env_num("SOAK_SAMPLE", 10.0, float)
WARMUP = min(env_num("SOAK_WARMUP", 120.0, float), SECONDS / 3.0)
RSS_TOL = env_num("SOAK_RSS_TOLERANCE", 0.10, float)
FD_TOL = env_num("SOAK_FD_TOLERANCE", 64)
IDLE_FD_TOL = env_num("SOAK_IDLE_FD_TOLERANCE", 8)
MAX_ERR_RATE = env_num("SOAK_MAX_ERROR_RATE", 0.001, float)
JSON_CONNS = env_num("SOAK_JSON_CONNS", 4)
SSE_CONNS = env_num("SOAK_SSE_CONNS", 4)
SLOWLORIS = env_num("SOAK_SLOWLORIS", 16)
LOG_LEVEL = os.environ.get("SOAK_LOG_LEVEL", "warning")
HEADER_TIMEOUT = 5   # tollgate's server.header_timeout_seconds in the soak config


def log(msg):
    print("[soak] " + msg, file=sys.stderr, flush=True)


def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def http(port, raw, timeout=5.0):
    """Sends raw bytes, returns (status or 0, bytes read) — status 0 when closed without an answer."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(raw)
        await writer.drain()
        data = b""
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and b"Connection: close" not in data and b"connection: close" not in data:
                break   # a head is enough
        m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        return (int(m.group(1)) if m else 0), data
    finally:
        writer.close()


class Hostile:
    """The misbehaving clients, each kind in its own loop, with counts of what they got."""

    def __init__(self, port, stop):
        self.port, self.stop = port, stop
        self.counts = {}   # kind -> {result: n}

    def note(self, kind, result):
        d = self.counts.setdefault(kind, {})
        d[result] = d.get(result, 0) + 1

    async def loop(self, kind, fn, pause):
        while not self.stop.is_set():
            try:
                self.note(kind, await fn())
            except asyncio.TimeoutError:
                self.note(kind, "timeout")
            except (ConnectionError, OSError) as e:
                self.note(kind, "conn-error:" + type(e).__name__)
            try:
                await asyncio.wait_for(self.stop.wait(), pause)
            except asyncio.TimeoutError:
                pass

    async def slowloris(self):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        start = time.monotonic()
        try:
            writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            await writer.drain()
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(4096), 1.0)
                    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
                    took = time.monotonic() - start
                    late = " LATE" if took > HEADER_TIMEOUT + 5 else ""
                    return ("%s%s" % (m.group(1).decode(), late)) if m else ("closed" + late)
                except asyncio.TimeoutError:
                    if time.monotonic() - start > HEADER_TIMEOUT * 4 + 10:
                        return "NEVER CLOSED"
                    writer.write(b"a")
                    await writer.drain()
        finally:
            writer.close()

    async def oversized(self):
        big = b"X-Big: " + b"b" * (128 * 1024) + b"\r\n"
        status, _ = await http(self.port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + big + b"\r\n")
        return str(status or "closed")

    async def garbage(self):
        junk = bytes(random.getrandbits(8) for _ in range(random.randint(1, 2048)))
        status, _ = await http(self.port, junk + b"\r\n\r\n")
        return str(status or "closed")

    async def cut_body(self):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"model\": \"soak-model\", \"mess")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()
        return "sent"

    async def drop_stream(self):
        body = json.dumps({"model": "soak-model-slow", "stream": True,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            buf = b""
            while b"data:" not in buf.partition(b"\r\n\r\n")[2]:
                chunk = await asyncio.wait_for(reader.read(4096), 10)
                if not chunk:
                    return "closed early"
                buf += chunk
            if not buf.startswith(b"HTTP/1.1 200"):
                return buf.split(b"\r\n", 1)[0].decode("latin-1")
            if random.random() < 0.5:   # half with a reset instead of a FIN
                import socket
                import struct
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return "dropped after first chunk"
        finally:
            writer.close()

    def tasks(self):
        ts = [asyncio.create_task(self.loop("slowloris", self.slowloris, 0.1)) for _ in range(SLOWLORIS)]
        ts += [asyncio.create_task(self.loop("oversized header", self.oversized, 0.2)),
               asyncio.create_task(self.loop("garbage bytes", self.garbage, 0.2)),
               asyncio.create_task(self.loop("body cut short", self.cut_body, 0.2))]
        ts += [asyncio.create_task(self.loop("dropped mid-stream", self.drop_stream, 0.2)) for _ in range(2)]
        return ts


def start_wrk(wrk, name, conns, body_file, port):
    outf = open(os.path.join(OUT, "wrk-%s.txt" % name), "wb")
    env = dict(os.environ, BENCH_BODY_FILE=body_file)
    env.pop("BENCH_AUTH_TOKEN", None)
    p = subprocess.Popen([wrk, "-t1", "-c%d" % conns, "-d%ds" % SECONDS, "--timeout", "10s", "--latency",
                          "-s", os.path.join(HERE, "post.lua"), "http://127.0.0.1:%d/v1/chat/completions" % port],
                         stdin=subprocess.DEVNULL, stdout=outf, stderr=subprocess.STDOUT, env=env)
    return p, outf


def wrk_result(name):
    with open(os.path.join(OUT, "wrk-%s.txt" % name), "rb") as f:
        text = f.read().decode("utf-8", "replace")
    lines = [l for l in text.splitlines() if l.startswith("BENCH_RESULT ")]
    if not lines:
        return None
    return {k: int(float(v)) for k, v in (kv.split("=", 1) for kv in lines[-1].split()[1:])}


async def wait_health(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            status, _ = await http(port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 1)
            if status == 200:
                return True
        except (OSError, asyncio.TimeoutError):
            pass
        await asyncio.sleep(0.1)
    return False


async def upstream_stats(ports):
    out = {}
    for name, port in ports.items():
        _, data = await http(port, b"GET /_stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        out[name] = json.loads(data.partition(b"\r\n\r\n")[2])
    return out


async def run(binary, wrk):
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    # Fake upstreams, in their own process so they do not share a GIL with the hostile clients.
    up = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_upstream.py"), "flaky=flaky:0", "good=good:0"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=open(os.path.join(OUT, "upstreams.log"), "wb"))
    procs = [up]
    try:
        ports = {}
        for _ in range(2):
            line = up.stdout.readline().decode().split()
            if len(line) != 3 or line[0] != "ready":
                raise RuntimeError("fake upstreams did not start (see .build/soak/upstreams.log)")
            ports[line[1]] = int(line[2])
        port = free_port()
        config = {
            "listen": "127.0.0.1:%d" % port, "ledger": os.path.join(OUT, "ledger.sqlite"), "log_level": LOG_LEVEL,
            "server": {"header_timeout_seconds": HEADER_TIMEOUT, "body_timeout_seconds": HEADER_TIMEOUT},
            "providers": {
                "flaky": {"type": "openai_compatible", "base_url": "http://127.0.0.1:%d/v1" % ports["flaky"],
                          "auth": "none", "priority": 1, "models": ["soak-model"]},
                "good": {"type": "openai_compatible", "base_url": "http://127.0.0.1:%d/v1" % ports["good"],
                         "auth": "none", "priority": 2, "models": ["soak-model", "soak-model-slow"]},
            },
            "failover": {"failure_threshold": 3, "cooldown_seconds": 1, "max_cooldown_seconds": 2,
                         "retry_base_delay_seconds": 0.01, "max_retry_wait_seconds": 1},
        }
        cfg_path = os.path.join(OUT, "tollgate.json")
        with open(cfg_path, "w") as f:
            json.dump(config, f, indent=2)
        for name, stream in (("json", False), ("sse", True)):
            with open(os.path.join(OUT, "request-%s.json" % name), "w") as f:
                json.dump({"model": "soak-model", "stream": stream, "max_tokens": 32,
                           "messages": [{"role": "user", "content": "Say hello."}]}, f)
        tg_log = open(os.path.join(OUT, "tollgate.log"), "wb")
        tg = subprocess.Popen([binary, "serve", "--config", cfg_path], stdin=subprocess.DEVNULL,
                              stdout=tg_log, stderr=subprocess.STDOUT)
        procs.append(tg)
        if not await wait_health(port, tg):
            raise RuntimeError("tollgate did not start (see .build/soak/tollgate.log)")
        await asyncio.sleep(1)
        start_rss, start_fds = proc_rss_kb(tg.pid), fd_count(tg.pid)
        log("tollgate pid %d on %d (upstreams: flaky %d, good %d); idle RSS %.1f MB, %d fds; %d s of load, "
            "warm-up mark at %.0f s" % (tg.pid, port, ports["flaky"], ports["good"], start_rss / 1024, start_fds,
                                        SECONDS, WARMUP))

        t0 = time.monotonic()
        loads = []
        if JSON_CONNS:
            loads.append(("json",) + start_wrk(wrk, "json", JSON_CONNS, os.path.join(OUT, "request-json.json"), port))
        if SSE_CONNS:
            loads.append(("sse",) + start_wrk(wrk, "sse", SSE_CONNS, os.path.join(OUT, "request-sse.json"), port))
        procs += [p for _, p, _ in loads]
        stop = asyncio.Event()
        hostile = Hostile(port, stop)
        hostile_tasks = hostile.tasks()

        samples = []   # (t, rss_kb, fds, upstream received total)
        alive = True
        next_t = 0.0
        while True:
            now = time.monotonic() - t0
            if now >= next_t:
                rss, fds = proc_rss_kb(tg.pid), fd_count(tg.pid)
                if rss is None or tg.poll() is not None:
                    alive = False
                    log("tollgate exited during the soak (status %s)" % tg.poll())
                    break
                st = await upstream_stats(ports)
                rcv = sum(s["received"] for s in st.values())
                samples.append((now, rss, fds, rcv))
                log("t=%4.0fs  RSS %6.1f MB  fds %4d  upstream requests %d" % (now, rss / 1024, fds, rcv))
                next_t += SAMPLE
            if now >= SECONDS and all(p.poll() is not None for _, p, _ in loads):
                break
            if now >= SECONDS + 30:
                log("wrk did not finish 30 s after the end; stopping it")
                for _, p, _ in loads:
                    if p.poll() is None:
                        p.terminate()
            await asyncio.sleep(min(1.0, max(0.05, next_t - now)))
        stop.set()
        await asyncio.gather(*hostile_tasks, return_exceptions=True)
        for _, p, f in loads:
            try:
                p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            f.close()

        # Idle: wait for in-flight work to end and connections to close.
        end_idle_fds = end_idle_rss = up_conns = None
        healthy = False
        if alive and tg.poll() is None:
            healthy = await wait_health(port, tg, 5)
            last = None
            for _ in range(20):
                await asyncio.sleep(1)
                cur = fd_count(tg.pid)
                if cur == last:
                    break
                last = cur
            end_idle_fds, end_idle_rss = fd_count(tg.pid), proc_rss_kb(tg.pid)
            st = await upstream_stats(ports)
            up_conns = sum(s["connections"] for s in st.values())
            log("idle after the load: RSS %.1f MB, %d fds (%d connections to the fake upstreams)"
                % (end_idle_rss / 1024, end_idle_fds, up_conns))
        # Stop tollgate (drains, then the ledger is complete), then read the upstreams' counts.
        exit_status = None
        if tg.poll() is None:
            tg.send_signal(signal.SIGTERM)
            try:
                exit_status = tg.wait(timeout=40)
            except subprocess.TimeoutExpired:
                log("tollgate ignored SIGTERM for 40 s; killing it")
                tg.kill()
                tg.wait()
                exit_status = "killed"
        tg_log.close()
        st = await upstream_stats(ports)
        return dict(samples=samples, alive=alive, healthy=healthy, start_rss=start_rss, start_fds=start_fds,
                    end_idle_fds=end_idle_fds, end_idle_rss=end_idle_rss, up_conns=up_conns, upstreams=st,
                    hostile=hostile.counts, exit_status=exit_status, loads=[n for n, _, _ in loads])
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def ledger_check(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        integrity = "; ".join(r[0] for r in db.execute("PRAGMA integrity_check"))
        rows = db.execute("SELECT count(*) FROM requests").fetchone()[0]
        by = db.execute("SELECT provider, outcome, count(*) FROM requests GROUP BY provider, outcome "
                        "ORDER BY provider, outcome").fetchall()
        return integrity, rows, by
    finally:
        db.close()


def main():
    binary = os.environ.get("TOLLGATE_BIN", ".build/release/tollgate")
    if not os.path.isabs(binary):
        binary = os.path.join(ROOT, binary)
    wrk = os.environ.get("WRK_BIN") or shutil.which("wrk")
    if not os.access(binary, os.X_OK):
        log("no tollgate binary at %s (swift build -c release, or set TOLLGATE_BIN)" % binary)
        return 2
    if not wrk:
        log("wrk not found (apt-get install wrk, or set WRK_BIN)")
        return 2
    if SECONDS < 10:
        log("SOAK_SECONDS must be at least 10")
        return 2
    try:
        r = asyncio.run(run(binary, wrk))
    except RuntimeError as e:
        log("setup failed: %s" % e)
        return 2

    checks = []   # (name, ok, detail)

    def check(name, ok, detail):
        checks.append((name, ok, detail))

    samples = r["samples"]
    check("tollgate ran throughout", r["alive"] and r["exit_status"] == 0,
          "alive for every sample; exit status after SIGTERM %s" % r["exit_status"] if r["alive"]
          else "exited during the soak")
    check("answers /health after the load", r["healthy"], "200" if r["healthy"] else "no 200 within 5 s")

    after = [s for s in samples if s[0] >= WARMUP - 0.5]
    if len(after) >= 2:
        base = after[0]
        peak = max(after[1:], key=lambda s: s[1])
        growth = peak[1] / base[1] - 1
        check("RSS flat after warm-up", growth <= RSS_TOL,
              "%.1f MB at %.0f s, highest later %.1f MB at %.0f s (%+.1f%%, limit +%.0f%%)"
              % (base[1] / 1024, base[0], peak[1] / 1024, peak[0], growth * 100, RSS_TOL * 100))
        fpeak = max(after[1:], key=lambda s: s[2])
        check("fds flat after warm-up", fpeak[2] - base[2] <= FD_TOL,
              "%d at %.0f s, highest later %d at %.0f s (limit +%d)" % (base[2], base[0], fpeak[2], fpeak[0], FD_TOL))
    else:
        check("RSS flat after warm-up", False, "fewer than 2 samples after the warm-up mark (run longer)")
    if r["end_idle_fds"] is not None:
        leaked = r["end_idle_fds"] - r["up_conns"] - r["start_fds"]
        check("no fd leak once idle", leaked <= IDLE_FD_TOL,
              "%d fds idle after − %d upstream connections − %d at start = %+d (limit +%d)"
              % (r["end_idle_fds"], r["up_conns"], r["start_fds"], leaked, IDLE_FD_TOL))

    ledger = os.path.join(OUT, "ledger.sqlite")
    received = sum(s["received"] for s in r["upstreams"].values())
    try:
        integrity, rows, by = ledger_check(ledger)
        check("ledger integrity_check", integrity == "ok", integrity[:200])
        check("one ledger row per upstream attempt", rows == received and rows > 0,
              "%d rows, %d requests received by the fake upstreams (%s)"
              % (rows, received, ", ".join("%s %d" % (n, s["received"]) for n, s in sorted(r["upstreams"].items()))))
    except sqlite3.Error as e:
        check("ledger readable", False, str(e))
        by = []

    for name in r["loads"]:
        w = wrk_result(name)
        if w is None:
            check("wrk %s" % name, False, "no result (see .build/soak/wrk-%s.txt)" % name)
            continue
        errs = w["err_connect"] + w["err_read"] + w["err_write"] + w["err_status"] + w["err_timeout"]
        rate = errs / max(w["requests"], 1)
        check("wrk %s load" % name, w["requests"] > 0 and rate <= MAX_ERR_RATE,
              "%d requests (%.0f/s), p50 %d µs, p99 %d µs; errors %d (non-2xx %d, connect %d, read %d, write %d, timeout %d)"
              % (w["requests"], w["requests"] * 1e6 / max(w["duration_us"], 1), w["p50_us"], w["p99_us"], errs,
                 w["err_status"], w["err_connect"], w["err_read"], w["err_write"], w["err_timeout"]))

    expect = {"oversized header": ("431", "closed"), "garbage bytes": ("400", "closed"),
              "slowloris": ("408", "closed"), "dropped mid-stream": ("dropped after first chunk",),
              "body cut short": ("sent",)}
    for kind, counts in sorted(r["hostile"].items()):
        bad = {k: v for k, v in counts.items() if k not in expect.get(kind, ())}
        check("hostile: %s" % kind, not bad and sum(counts.values()) > 0,
              ", ".join("%s %d" % kv for kv in sorted(counts.items())))

    # ---------------------------------------------------------------- report ----
    print()
    print("# tollgate soak: %d s, samples every %.0f s, warm-up mark %.0f s" % (SECONDS, SAMPLE, WARMUP))
    print()
    print("| t (s) | RSS (MB) | open fds | upstream requests |")
    print("|---:|---:|---:|---:|")
    print("| start (idle) | %.1f | %d | 0 |" % (r["start_rss"] / 1024, r["start_fds"]))
    for t, rss, fds, rcv in samples:
        print("| %.0f%s | %.1f | %d | %d |" % (t, " (mark)" if after and (t, rss, fds, rcv) == after[0] else "",
                                            rss / 1024, fds, rcv))
    if r["end_idle_fds"] is not None:
        print("| end (idle) | %.1f | %d | %d |" % (r["end_idle_rss"] / 1024, r["end_idle_fds"], received))
    print()
    print("Upstreams: " + "; ".join("%s (%s) %d requests: %s" % (n, s["behaviour"], s["received"],
                                    ", ".join("%s %d" % kv for kv in sorted(s["outcomes"].items())))
                                    for n, s in sorted(r["upstreams"].items())))
    if by:
        print("Ledger rows: " + ", ".join("%s/%s %d" % row for row in by))
    print()
    print("| check | result | detail |")
    print("|---|---|---|")
    for name, ok, detail in checks:
        print("| %s | %s | %s |" % (name, "PASS" if ok else "**FAIL**", detail))
    ok = all(c[1] for c in checks)
    print()
    print("SOAK %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
