"""kill -9 in the middle of a load: every response a client received in full has its ledger row.

tollgate commits an answer's ledger row before it writes the end of that answer (the last
byte of a JSON body, or `data: [DONE]`), so a client can only have seen a complete answer
whose row is already on disk.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.request

from fake_upstream import FakeUpstream


def _complete_request(port: int, stream: bool, i: int) -> str | None:
    """Returns the request id of a response received in full, else None."""
    body = json.dumps({"model": "up/m", "stream": stream,
                       "messages": [{"role": "user", "content": f"durability {i}"}]}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            rid = resp.headers.get("x-tollgate-request-id")
            data = resp.read()
    except Exception:
        return None
    if stream:
        return rid if b"data: [DONE]" in data else None
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    return rid if parsed.get("choices") else None


def test_kill_9_loses_no_row_of_a_completed_response(launch_gateway) -> None:
    upstream = FakeUpstream().start()
    config = {
        "providers": {"up": {"type": "openai_compatible", "base_url": upstream.base_url, "api_key": "k",
                             "retries": 0, "models": ["m"]}},
        "failover": {"failure_threshold": 1000},
    }
    try:
        with launch_gateway(config, logs=[upstream], name="durability") as gw:
            port, ledger = gw.port, gw.ledger
            completed: list[str] = []
            lock = threading.Lock()
            stop = threading.Event()

            def worker(n: int) -> None:
                i = 0
                while not stop.is_set():
                    rid = _complete_request(port, stream=(i + n) % 2 == 0, i=i)
                    if rid:
                        with lock:
                            completed.append(rid)
                    elif not gw.is_alive():
                        return
                    i += 1

            threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            gw.kill()
            stop.set()
            for t in threads:
                t.join(timeout=10)
    finally:
        upstream.stop()

    assert len(completed) > 50, f"the load produced too few answers ({len(completed)}) to mean anything"
    db = sqlite3.connect(str(ledger))
    rows = {rid: outcome for rid, outcome in db.execute("SELECT request_id, outcome FROM requests")}
    missing = [rid for rid in completed if rid not in rows]
    assert not missing, f"{len(missing)} of {len(completed)} completed responses have no ledger row: {missing[:5]}"
    assert all(rows[rid] == "ok" for rid in completed)
