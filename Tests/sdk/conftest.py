"""Fixtures for the tollgate end-to-end tests driven by the official openai SDK.

Environment:
    TOLLGATE_BIN          path to the tollgate binary
                          (default: <repo>/.build/debug/tollgate)
    TOLLGATE_SDK_DIRECT=1 development aid: point the SDK straight at the fake
                          upstream (no tollgate); tests marked `gateway` are
                          skipped. Useful to validate the tests themselves.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_upstream import FakeUpstream  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / ".build" / "debug" / "tollgate"
CLIENT_API_KEY = "sk-client-secret-must-not-leak"
UPSTREAM_API_KEY = "sk-upstream-test"
UNSET_ENV_VAR = "TOLLGATE_TEST_SURELY_UNSET_VAR"
READY_TIMEOUT = 15.0
DIRECT = os.environ.get("TOLLGATE_SDK_DIRECT") == "1"

# Everything in this suite talks to 127.0.0.1 only; make sure no proxy from
# the environment gets in the way (httpx honours these variables).
_NO_PROXY = "127.0.0.1,localhost"
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = _NO_PROXY
for _var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)
os.environ.pop("OPENAI_BASE_URL", None)

_current_gateway: "Gateway | None" = None
_current_upstream: "FakeUpstream | None" = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "gateway: checks tollgate-specific behaviour (skipped with TOLLGATE_SDK_DIRECT=1)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not DIRECT:
        return
    skip = pytest.mark.skip(reason="TOLLGATE_SDK_DIRECT=1: needs the real gateway")
    for item in items:
        if "gateway" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and _current_gateway is not None:
        report.sections.append(("tollgate stderr (tail)", _current_gateway.stderr_tail()))
    if report.failed and _current_upstream is not None:
        report.sections.append(("fake upstream requests (last 25)", _current_upstream.summary()))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gateway:
    """A running tollgate process (or, in direct mode, the fake upstream)."""

    def __init__(self, base_url: str, port: int, proc: subprocess.Popen | None,
                 stderr_path: Path | None, config_path: Path | None, config: dict | None) -> None:
        self.base_url = base_url  # ends in /v1
        self.port = port
        self.proc = proc
        self.stderr_path = stderr_path
        self.config_path = config_path
        self.config = config
        self.direct = proc is None  # TOLLGATE_SDK_DIRECT mode
        self.client_api_key = CLIENT_API_KEY
        self.upstream_api_key = UPSTREAM_API_KEY
        self.killed = False  # set by kill(): a non-zero exit is expected

    @property
    def ledger(self) -> Path:
        return Path(self.config["ledger"])

    def kill(self) -> None:
        """SIGKILL (durability tests); the clean stop afterwards finds it gone."""
        self.killed = True
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stderr_text(self) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return "(no stderr captured)"
        return self.stderr_path.read_text(errors="replace")

    def stderr_tail(self, limit: int = 8000) -> str:
        text = self.stderr_text()
        return text if len(text) <= limit else "...\n" + text[-limit:]

    def is_alive(self) -> bool:
        return self.proc is None or self.proc.poll() is None


def _health_ok(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/health")
        status = conn.getresponse().status
        conn.close()
        return status == 200
    except (OSError, http.client.HTTPException):
        return False


@pytest.fixture(scope="session")
def tollgate_bin() -> Path:
    path = Path(os.environ.get("TOLLGATE_BIN") or DEFAULT_BIN)
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"tollgate binary not found or not executable: {path} (set TOLLGATE_BIN)")
    return path


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    global _current_upstream
    with FakeUpstream() as up:
        _current_upstream = up
        try:
            yield up
        finally:
            _current_upstream = None


class _Logs:
    """The request logs of several fakes, for the failure report."""

    def __init__(self, servers: list[Any]) -> None:
        self.servers = servers

    def summary(self) -> str:
        parts = [s.summary() for s in self.servers if s.requests]
        return "\n".join(parts) or "(no requests recorded)"


@contextlib.contextmanager
def running_gateway(binary: Path, tmp: Path, config: dict[str, Any],
                    logs: list[Any] | None = None) -> Iterator[Gateway]:
    """The one way to run tollgate in this suite: `config` (without `listen`; `ledger`
    defaults to tmp/ledger.sqlite) in, a healthy daemon out; its stderr tail and the
    fakes' `logs` go into failure reports; stopped with SIGTERM at the end."""
    global _current_gateway, _current_upstream
    port = free_port()
    config = dict(config, listen=f"127.0.0.1:{port}")
    config.setdefault("ledger", str(tmp / "ledger.sqlite"))
    config_path = tmp / "config.json"
    config_path.write_text(json.dumps(config, indent=2))
    stderr_path = tmp / "tollgate.stderr"
    env = dict(os.environ)
    env.pop(UNSET_ENV_VAR, None)
    cmd = [str(binary), "serve", "--config", str(config_path),
           "--listen", f"127.0.0.1:{port}", "--loops", "2"]
    with open(stderr_path, "wb") as err, open(tmp / "tollgate.stdout", "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=env, cwd=str(tmp))
    gw = Gateway(f"http://127.0.0.1:{port}/v1", port, proc, stderr_path, config_path, config)

    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        code = proc.poll()
        if code is not None:
            pytest.fail(f"tollgate exited early with code {code}; command: {cmd}\n"
                        f"stderr:\n{gw.stderr_text()}", pytrace=False)
        if _health_ok(port):
            break
        if time.monotonic() > deadline:
            _stop(proc)
            pytest.fail(f"tollgate did not answer GET /health with 200 within {READY_TIMEOUT}s; "
                        f"command: {cmd}\nstderr:\n{gw.stderr_text()}", pytrace=False)
        time.sleep(0.1)

    saved = (_current_gateway, _current_upstream)
    _current_gateway = gw
    if logs is not None:
        _current_upstream = logs[0] if len(logs) == 1 else _Logs(logs)
    try:
        yield gw
    finally:
        _current_gateway, _current_upstream = saved
        code = _stop(proc)
        if code not in (0, -signal.SIGTERM) and not gw.killed:
            sys.stderr.write(f"\n[tollgate exit code after SIGTERM: {code}]\n"
                             f"tollgate stderr:\n{gw.stderr_tail()}\n")


@pytest.fixture(scope="session")
def launch_gateway(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """`with launch_gateway(config, logs=[fakes...]) as gw:` -- see running_gateway."""
    def launch(config: dict[str, Any], logs: list[Any] | None = None, name: str = "tollgate"):
        binary = request.getfixturevalue("tollgate_bin")
        return running_gateway(binary, tmp_path_factory.mktemp(name), config, logs)
    return launch


@pytest.fixture(scope="session")
def fakes() -> Iterator[dict[str, Any]]:
    """One fake upstream per provider family (family_upstreams.py), shared by the family test modules."""
    import family_upstreams

    servers = family_upstreams.start_all()
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="session")
def gateway(upstream: FakeUpstream, launch_gateway) -> Iterator[Gateway]:
    if DIRECT:
        yield Gateway(upstream.base_url, upstream.port, None, None, None, None)
        return
    config: dict[str, Any] = {
        "providers": {
            "up": {
                "type": "openai_compatible",
                "base_url": upstream.base_url,
                "api_key": UPSTREAM_API_KEY,
                "priority": 1,
                "models": ["gpt-4.1-mini", "gpt-4.1"],
                # This suite checks how one upstream's answers and errors reach the client;
                # retries and the circuit breaker are exercised by the Swift failover tests.
                "retries": 0,
            },
            "dead": {
                "type": "openai",
                "api_key": f"env:{UNSET_ENV_VAR}",
                "priority": 2,
                "models": ["gpt-4o"],
            },
        },
        "routes": {"fast": ["up/gpt-4.1-mini"]},
        "failover": {"failure_threshold": 1000},
    }
    with launch_gateway(config, logs=[upstream]) as gw:
        yield gw


def _stop(proc: subprocess.Popen) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode


@pytest.fixture(autouse=True)
def _gateway_still_alive(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail loudly (with stderr) if tollgate died during a test."""
    yield
    gw = _current_gateway
    if gw is not None and not gw.is_alive():
        pytest.fail(f"tollgate process died (exit code {gw.proc.returncode}); "
                    f"stderr:\n{gw.stderr_tail()}", pytrace=False)


def make_client(gateway: Gateway, **kwargs: Any):
    import openai

    kwargs.setdefault("timeout", 30.0)
    return openai.OpenAI(base_url=gateway.base_url, api_key=CLIENT_API_KEY, max_retries=0, **kwargs)


@pytest.fixture
def client(gateway: Gateway):
    c = make_client(gateway)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def client_factory(gateway: Gateway):
    """Build extra clients (e.g. one per thread); all are closed at teardown."""
    made = []

    def factory(**kwargs: Any):
        c = make_client(gateway, **kwargs)
        made.append(c)
        return c

    try:
        yield factory
    finally:
        for c in made:
            c.close()


@pytest.fixture
def tag(request: pytest.FixtureRequest) -> str:
    """A unique marker to put in a prompt and find the upstream request by."""
    return f"[t:{request.node.name}:{time.monotonic_ns()}]"
