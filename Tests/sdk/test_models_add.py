"""`tollgate models add` (headless and through a pseudo-terminal), `tollgate providers test`
and `tollgate models remove`, against the fake OpenAI upstream; a running daemon picks the
added provider up on SIGHUP.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import openai
import pytest

import conftest as sdk

ORIGINAL = """{
  "listen": "127.0.0.1:4100",
  "ledger": "LEDGER",
  "x_unknown_setting": {"kept": [1, 2, 3]},
  "providers": {
    "first": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": "env:NOPE_UNSET",
              "models": ["m1"]}
  },
  "routes": {"fast": ["first/m1"]}
}
"""


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(ORIGINAL.replace("LEDGER", str(tmp_path / "ledger.sqlite")))
    return path


def run(binary: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_headless_add_test_remove(tollgate_bin, upstream, tmp_path):
    config = write_config(tmp_path)
    out = run(tollgate_bin, "models", "add", "--config", str(config), "--type", "openai_compatible", "--name", "local",
              "--base-url", upstream.base_url, "--api-key-env", "WIZ_KEY", "--model", "gpt-x", "--priority", "2",
              "--daily-usd", "5", "--yes", env={"WIZ_KEY": sdk.UPSTREAM_API_KEY})
    assert out.returncode == 0, out.stderr + out.stdout
    assert "connection test: ok" in out.stdout and "gpt-x answered" in out.stdout, out.stdout
    text = config.read_text()
    # Everything that was there is still there, byte for byte, in its place.
    head = ORIGINAL.replace("LEDGER", str(tmp_path / "ledger.sqlite")).split('"models": ["m1"]}')[0]
    assert text.startswith(head)
    assert text.rstrip().endswith('"routes": {"fast": ["first/m1"]}\n}')
    parsed = json.loads(text)
    assert list(parsed) == ["listen", "ledger", "x_unknown_setting", "providers", "routes"]
    assert parsed["providers"]["local"] == {"type": "openai_compatible", "base_url": upstream.base_url,
                                            "api_key": "env:WIZ_KEY", "models": ["gpt-x"], "priority": 2,
                                            "budget": {"daily_usd": 5}}

    # providers test: the new one answers, the old one (nothing listens on port 9) does not.
    table = run(tollgate_bin, "providers", "test", "--config", str(config), env={"WIZ_KEY": sdk.UPSTREAM_API_KEY})
    assert table.returncode == 1, table.stdout
    rows = {line.split()[0]: line for line in table.stdout.splitlines()[1:] if line.strip()}
    assert " ok " in rows["local"] and "gpt-x" in rows["local"]
    assert "FAIL" in rows["first"]

    # Removing it gives the original file back.
    out = run(tollgate_bin, "models", "remove", "--config", str(config), "local")
    assert out.returncode == 0, out.stderr
    assert config.read_text() == ORIGINAL.replace("LEDGER", str(tmp_path / "ledger.sqlite"))


def test_a_failed_connection_test_writes_nothing(tollgate_bin, tmp_path):
    config = write_config(tmp_path)
    before = config.read_text()
    out = run(tollgate_bin, "models", "add", "--config", str(config), "--type", "openai_compatible", "--name", "dead",
              "--base-url", "http://127.0.0.1:9/v1", "--api-key-env", "WIZ_KEY", "--model", "m", "--yes",
              env={"WIZ_KEY": "k"})
    assert out.returncode != 0 and "connection test failed" in out.stdout
    assert config.read_text() == before


def test_a_running_daemon_picks_it_up_on_reload(tollgate_bin, upstream, launch_gateway):
    with launch_gateway({"providers": {}}, logs=[upstream], name="tollgate-wizard") as gw:
        out = run(tollgate_bin, "models", "add", "--config", str(gw.config_path), "--type", "openai_compatible",
                  "--name", "late", "--base-url", upstream.base_url, "--api-key", sdk.UPSTREAM_API_KEY, "--model", "gpt-x",
                  "--skip-test", "--yes")
        assert out.returncode == 0, out.stderr
        client = sdk.make_client(gw)
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="late/gpt-x", messages=[{"role": "user", "content": "hi"}])
        gw.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = client.chat.completions.create(model="late/gpt-x", messages=[{"role": "user", "content": "hi"}])
                break
            except openai.NotFoundError:
                assert time.monotonic() < deadline, gw.stderr_tail()
                time.sleep(0.1)
        assert answer.choices[0].message.content


class Pty:
    """A program on a pseudo-terminal: read what it prints, type answers."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, env)
        self.seen = b""

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"waited for {text!r}; the terminal shows:\n{self.seen.decode(errors='replace')}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                assert chunk, f"the program ended before {text!r}:\n{self.seen.decode(errors='replace')}"
                self.seen += chunk

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def wait(self) -> int:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.seen += chunk
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


def test_the_wizard_on_a_terminal(tollgate_bin, upstream, tmp_path):
    config = write_config(tmp_path)
    secret = "sk-typed-in-the-wizard-7f3a9c"
    creds = tmp_path / "credentials"
    env = {**os.environ, "TOLLGATE_CREDENTIALS_DIR": str(creds)}
    term = Pty([str(tollgate_bin), "models", "add", "--config", str(config)], env)
    term.expect("Provider type (number or name)")
    assert "anthropic" in term.seen.decode() and "google_vertex" in term.seen.decode()
    term.type("openai_compatible")
    term.expect("Name [openai_compatible]")
    term.type("typed")
    term.expect("Base URL")
    term.type(upstream.base_url)
    term.expect("API key (hidden")
    term.type(secret)
    term.expect("Models it serves")
    term.type("gpt-x")
    term.expect("connection test: ok")
    term.expect("Priority (1 is tried first) [100]")
    term.type("3")
    term.expect("Daily budget in USD")
    term.type("2.5")
    term.expect("Write provider \"typed\"")
    term.type("y")
    assert term.wait() == 0, term.seen.decode(errors="replace")
    shown = term.seen.decode(errors="replace")
    assert secret not in shown, "the key was echoed on the terminal"
    entry = json.loads(config.read_text())["providers"]["typed"]
    assert entry["priority"] == 3 and entry["budget"] == {"daily_usd": 2.5} and entry["models"] == ["gpt-x"]
    assert secret not in config.read_text()
    if entry["api_key"].startswith("credential:"):
        sealed = creds / "typed.cred"
        assert sealed.exists() and secret.encode() not in sealed.read_bytes()
        assert oct(sealed.stat().st_mode & 0o777) == "0o600"
        opened = subprocess.run(["systemd-creds", "decrypt", "--name=typed", str(sealed), "-"], capture_output=True, text=True)
        assert opened.stdout == secret
    else:
        assert entry["api_key"] == "env:OPENAI_COMPATIBLE_API_KEY" and "set OPENAI_COMPATIBLE_API_KEY" in shown
