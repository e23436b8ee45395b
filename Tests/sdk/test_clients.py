"""Clients (`"clients"` in the config): recognised by key, by the local user who owns the
calling socket (a Unix socket's SO_PEERCRED, the kernel's socket table for loopback TCP),
or by systemd unit; each with its budget, allow list and rate limits, named on its ledger
rows. Driven with the openai SDK and raw sockets against the fake OpenAI upstream.
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import openai
import pytest

import conftest as sdk

pytestmark = pytest.mark.gateway

KEY_A = "tg-client-alpha-secret-0123456789"
KEY_B = "tg-client-beta-secret-9876543210"
# Priced so a request's worst case is easy to bound: $1 per million tokens in and out.
PRICE = {"input_usd_per_mtok": 1000.0, "output_usd_per_mtok": 1000.0}


def other_user() -> str | None:
    """A local user other than the one running the tests, that the tests may switch to."""
    if os.geteuid() != 0:
        return None
    for name in ("nobody", "daemon"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


OTHER = other_user()
# The other user runs the system's python (the venv under the repo may not be readable to it).
SYSTEM_PYTHON = "/usr/bin/python3"
ME = pwd.getpwuid(os.geteuid()).pw_name
UNIT = "tollgate-test-nightly.service"
UNIFIED = Path("/sys/fs/cgroup/unified") if Path("/sys/fs/cgroup/unified/cgroup.procs").exists() else Path("/sys/fs/cgroup")


def unit_cgroup() -> Path | None:
    """A cgroup named like a systemd unit that this test may move a process into (root and cgroup v2 needed)."""
    if os.geteuid() != 0 or not (UNIFIED / "cgroup.procs").exists():
        return None
    group = UNIFIED / "tollgate-test.slice" / UNIT
    try:
        group.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return group


@pytest.fixture(scope="module")
def gw(launch_gateway, upstream, tmp_path_factory) -> Iterator[sdk.Gateway]:
    sock = tmp_path_factory.mktemp("unix") / "tollgate.sock"
    clients: dict[str, Any] = {
        "alpha": {"key": KEY_A, "allow": ["up/*", "cheap"]},
        "beta": {"key": f"env:TG_TEST_CLIENT_B", "rpm": 3},
        "burst": {"key": "tg-client-burst-key-0000000000", "rpm": 10},
        "spender": {"key": "tg-client-spender-key-000000", "budget": {"total_usd": 0.5}},
        "me": {"unix_user": ME},
    }
    if OTHER:
        clients["other"] = {"unix_user": OTHER, "allow": ["cheap"]}
    clients["nightly"] = {"systemd_unit": UNIT, "budget": {"daily_usd": 5}}
    config = {
        "providers": {"up": {"type": "openai_compatible", "base_url": upstream.base_url, "api_key": sdk.UPSTREAM_API_KEY,
                             "models": ["gpt-x"]}},
        "routes": {"cheap": ["up/gpt-x"]},
        "models": {"up/gpt-x": PRICE},
        "clients": clients,
        "listen_unix": str(sock),
        "listen_unix_mode": "0666",
    }
    os.environ["TG_TEST_CLIENT_B"] = KEY_B
    with launch_gateway(config, logs=[upstream], name="tollgate-clients") as gateway:
        gateway.unix_socket = sock
        yield gateway


def rows(gw: sdk.Gateway) -> list[dict[str, Any]]:
    with sqlite3.connect(gw.ledger) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM requests ORDER BY id")]


def client_of(gw: sdk.Gateway, request_id: str) -> str | None:
    return next(r["client"] for r in rows(gw) if r["request_id"] == request_id)


def chat(key: str | None, gw: sdk.Gateway, model: str = "up/gpt-x", text: str = "hi") -> tuple[int, dict[str, str], dict]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    conn.request("POST", "/v1/chat/completions", json.dumps({"model": model, "max_tokens": 50,
                                                             "messages": [{"role": "user", "content": text}]}), headers)
    resp = conn.getresponse()
    out = resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(resp.read() or b"{}")
    conn.close()
    return out


def test_a_client_key_names_the_client_on_its_rows(gw):
    client = openai.OpenAI(base_url=gw.base_url, api_key=KEY_A, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="up/gpt-x", messages=[{"role": "user", "content": "a"}])
    assert raw.parse().choices[0].message.content
    assert client_of(gw, raw.headers["x-tollgate-request-id"]) == "alpha"
    # x-api-key (as the anthropic SDK sends it) works the same.
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    conn.request("POST", "/v1/chat/completions", json.dumps({"model": "up/gpt-x", "messages": [{"role": "user", "content": "b"}]}),
                 {"Content-Type": "application/json", "x-api-key": KEY_B})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200 and client_of(gw, resp.getheader("x-tollgate-request-id")) == "beta"


def test_an_unknown_key_from_an_unnamed_user_is_refused(gw):
    if OTHER is None:
        pytest.skip("needs root to call as a user no client names")
    # As a user no client names, with a key no client has: 401 (no anonymous client here).
    code = f"""
import http.client, json
c = http.client.HTTPConnection("127.0.0.1", {gw.port}, timeout=30)
c.request("POST", "/v1/chat/completions", json.dumps({{"model": "up/gpt-x", "messages": [{{"role": "user", "content": "x"}}]}}),
          {{"Content-Type": "application/json", "Authorization": "Bearer wrong-key"}})
r = c.getresponse()
print(r.status, r.read().decode())
"""
    uid = pwd.getpwnam(OTHER).pw_uid
    # The other user is named by a client with an allow list; a third uid is needed for 401: use one no client names.
    out = subprocess.run([SYSTEM_PYTHON, "-c", code], capture_output=True, text=True, user=65533 if uid != 65533 else 65532,
                         timeout=60)
    status, body = out.stdout.split(" ", 1)
    assert status == "401", out
    assert json.loads(body)["error"]["code"] == "unknown_client"


def test_the_local_user_is_recognised_without_a_key(gw):
    # Over loopback TCP: the kernel's socket table says who owns the calling socket.
    status, headers, body = chat(None, gw)
    assert status == 200, body
    assert client_of(gw, headers["x-tollgate-request-id"]) == "me"
    # A key that matches no client does not stop the local identity from counting.
    status, headers, _ = chat("unused", gw)
    assert status == 200 and client_of(gw, headers["x-tollgate-request-id"]) == "me"


def test_the_unix_socket_knows_its_caller(gw):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(gw.unix_socket))
    body = json.dumps({"model": "up/gpt-x", "messages": [{"role": "user", "content": "over unix"}]}).encode()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, _ = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), data[:300]
    request_id = next(line.split(b": ", 1)[1].decode() for line in head.split(b"\r\n")
                      if line.lower().startswith(b"x-tollgate-request-id"))
    assert client_of(gw, request_id) == "me"
    # A Unix-socket caller is on this machine: the admin endpoints answer it as they do loopback.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(gw.unix_socket))
    sock.sendall(b"GET /admin/providers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:200]


@pytest.mark.skipif(OTHER is None, reason="needs root to run a client as another user")
def test_another_user_is_another_client(gw):
    """A process of another uid is that user's client, with that client's allow list."""
    code = f"""
import http.client, json, sys
for model in ("cheap", "up/gpt-x"):
    c = http.client.HTTPConnection("127.0.0.1", {gw.port}, timeout=30)
    c.request("POST", "/v1/chat/completions", json.dumps({{"model": model, "messages": [{{"role": "user", "content": "x"}}]}}),
              {{"Content-Type": "application/json"}})
    r = c.getresponse()
    print(r.status, r.getheader("x-tollgate-request-id") or "-", json.dumps(json.loads(r.read()).get("error", {{}}).get("code")))
"""
    out = subprocess.run([SYSTEM_PYTHON, "-c", code], capture_output=True, text=True, user=OTHER, timeout=60)
    assert out.returncode == 0, out.stderr
    allowed, refused = [line.split(" ", 2) for line in out.stdout.strip().splitlines()]
    assert allowed[0] == "200" and client_of(gw, allowed[1]) == "other"
    assert refused[0] == "403" and json.loads(refused[2]) == "model_not_allowed"


def test_a_systemd_unit_is_a_client(gw):
    """The calling process's unit, read from its cgroup: a process placed in a cgroup named
    `…/tollgate-test-nightly.service` (as systemd places a service's processes) is that client."""
    group = unit_cgroup()
    if group is None:
        pytest.skip("needs root and a writable cgroup v2 hierarchy to place a process in a unit's cgroup")
    code = f"""
import http.client, json, sys
sys.stdin.readline()  # wait until moved into the unit's cgroup
c = http.client.HTTPConnection("127.0.0.1", {gw.port}, timeout=30)
c.request("POST", "/v1/chat/completions", json.dumps({{"model": "up/gpt-x", "messages": [{{"role": "user", "content": "nightly"}}]}}),
          {{"Content-Type": "application/json"}})
r = c.getresponse()
r.read()
print(r.status, r.getheader("x-tollgate-request-id"))
"""
    proc = subprocess.Popen([SYSTEM_PYTHON, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        (group / "cgroup.procs").write_text(str(proc.pid))
        assert UNIT in Path(f"/proc/{proc.pid}/cgroup").read_text()
        out, _ = proc.communicate("go\n", timeout=60)
    finally:
        proc.kill()
        proc.wait()
        try:
            group.rmdir()
            group.parent.rmdir()
        except OSError:
            pass
    status, request_id = out.split()
    assert status == "200" and client_of(gw, request_id) == "nightly"


def test_allow_list(gw):
    status, _, body = chat(KEY_A, gw, model="cheap")
    assert status == 200
    status, _, body = chat(KEY_A, gw, model="gpt-x")  # a bare id is not in alpha's list
    assert status == 403 and body["error"]["code"] == "model_not_allowed"


def test_requests_per_minute(gw):
    results = [chat(KEY_B, gw) for _ in range(5)]
    # beta may make 3 requests a minute; test_a_client_key... already made one.
    statuses = [s for s, _, _ in results]
    assert statuses.count(200) <= 2 and 429 in statuses, statuses
    limited = next(h for s, h, _ in results if s == 429)
    assert int(limited["retry-after"]) >= 1


def test_requests_per_minute_hold_under_100_concurrent_requests(gw):
    outcomes: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        status, headers, _ = chat("tg-client-burst-key-0000000000", gw, text=f"burst {i}")
        with lock:
            outcomes.append(status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(200) == 10 and outcomes.count(429) == 90, sorted(outcomes)


def test_a_client_budget_holds_under_100_concurrent_requests(gw):
    key = "tg-client-spender-key-000000"
    outcomes: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        status, _, _ = chat(key, gw, text=f"spend {i} " + "words " * 40)
        with lock:
            outcomes.append(status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 100 and set(outcomes) <= {200, 429}, outcomes
    assert outcomes.count(200) >= 1 and outcomes.count(429) >= 1, outcomes
    spent = sum(r["cost_usd"] for r in rows(gw) if r["client"] == "spender")
    assert 0 < spent <= 0.5 + 1e-9, spent
    # /admin/spend reports it per client, with what remains.
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    conn.request("GET", "/admin/spend", headers={"Host": "localhost"})
    report = json.loads(conn.getresponse().read())
    spender = next(c for c in report["clients"] if c["client"] == "spender")
    assert abs(spender["total_usd"] - spent) < 1e-9
    assert spender["budget"]["total_usd"]["limit"] == 0.5


def test_spend_by_client_cli(gw, tollgate_bin):
    out = subprocess.run([str(tollgate_bin), "spend", "--ledger", str(gw.ledger), "--by", "client", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    names = {row["client"] for row in json.loads(out.stdout)}
    assert {"alpha", "me", "spender"} <= names, names


def test_no_client_key_reaches_a_log_or_the_upstream(gw, upstream):
    text = gw.stderr_text()
    for secret in (KEY_A, KEY_B, "tg-client-spender-key-000000"):
        assert secret not in text
        assert not any(secret in json.dumps(r["headers"]) for r in upstream.requests)


def test_a_public_listener_needs_client_keys(tollgate_bin, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"listen": "0.0.0.0:0", "ledger": str(tmp_path / "l.sqlite"), "providers": {}}))
    out = subprocess.run([str(tollgate_bin), "serve", "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "--allow-unauthenticated" in out.stderr, out.stderr
