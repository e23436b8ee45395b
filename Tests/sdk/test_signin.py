"""Subscription and CLI sign-in providers end to end, against fake token and API servers
on 127.0.0.1 (fake_signin.py):

- anthropic_subscription passing through the bearer Claude Code sends (and refusing a
  request that carries none), or reading Claude Code's credentials file: an expired token is
  refreshed, written back atomically with every other field kept; a refused refresh and a
  missing file give clear errors;
- codex reading the Codex CLI's auth.json: refresh on an expired JWT, ChatGPT-Account-ID,
  write-back; a refused refresh;
- github_copilot: `tollgate login copilot` (device flow with authorization_pending and
  slow_down; expired_token), then the token exchange, cached until its refresh time, with the
  API base it returns;
- every subscription row costs $0 and records its list price; a budget never blocks it;
- last, every log the test suite wrote is searched for the secrets used here: none may appear.
"""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import conftest as sdk
import fake_signin
from fake_signin import SignInExchange, jwt

pytestmark = pytest.mark.gateway

CLIENT_BEARER = "sk-ant-oat01-clientbearer-7Hq2Lr9Xv4Zk1Mn8Pw3Tb6Yc"
FILE_ACCESS_OLD = "sk-ant-oat01-fileaccess-old-2Gh7Jk4Lm9Nq1Rs6Tv3Wx8Yz"
FILE_REFRESH_OLD = "sk-ant-ort01-filerefresh-old-5Bc8Df1Gh4Jk7Lm2Np6Qr9St"
FILE_ACCESS_NEW = "sk-ant-oat01-fileaccess-new-9Zy6Xw3Vu8Ts1Rq4Po7Nm2Lk"
FILE_REFRESH_NEW = "sk-ant-ort01-filerefresh-new-3Kj6Hg9Fd2Sa5Qw8Er1Ty4Ui"
CODEX_REFRESH_OLD = "codex-refresh-old-4Rt7Yu1Io5Pa8Sd2Fg6Hj9Kl3Zx"
CODEX_REFRESH_NEW = "codex-refresh-new-8Cv2Bn5Mq9We3Rt6Yu1Io4Pa7Sd"
GITHUB_TOKEN = "gho_devicefl0wT0ken6Hj9Kl2Zx5Cv8Bn1Mq4We7"
COPILOT_T1 = "tid=copilot1;exp=1;sku=free:mac1-8Fd3Gh6Jk9Lq2Wr5Ty8Ui1Op"
COPILOT_T2 = "tid=copilot2;exp=2;sku=free:mac2-3Vb6Nm9Qw2Er5Ty8Ui1Op4As"
TOLLGATE_CLIENT_KEY = "tg-client-key-4Hs8Kd2Lf6Jq9Wp3Zx7Cv1Bn5"
PLAIN_BEARER = "plainoauthbearerwithoutanydigits"
CODEX_ACCOUNT = "acct-5e1f0c9a"
NOW = time.time()
CODEX_ACCESS_OLD = jwt({"exp": int(NOW) - 600, "sub": "old-4Rt7Yu1Io5Pa8",
                        "https://api.openai.com/auth": {"chatgpt_account_id": CODEX_ACCOUNT}})
CODEX_ACCESS_NEW = jwt({"exp": int(NOW) + 3600, "sub": "new-8Cv2Bn5Mq9We3",
                        "https://api.openai.com/auth": {"chatgpt_account_id": CODEX_ACCOUNT}})
SECRETS = [CLIENT_BEARER, FILE_ACCESS_OLD, FILE_REFRESH_OLD, FILE_ACCESS_NEW, FILE_REFRESH_NEW, CODEX_REFRESH_OLD,
           CODEX_REFRESH_NEW, GITHUB_TOKEN, COPILOT_T1, COPILOT_T2, CODEX_ACCESS_OLD, CODEX_ACCESS_NEW,
           TOLLGATE_CLIENT_KEY, PLAIN_BEARER, sdk.CLIENT_API_KEY, sdk.UPSTREAM_API_KEY]

# list prices (USD per million tokens, catalog) x the fakes' 1000 input / 500 output tokens
LIST_SONNET_4_6 = 1000 * 3 / 1e6 + 500 * 15 / 1e6
LIST_GPT_5_4 = 1000 * 2.5 / 1e6 + 500 * 15 / 1e6
LIST_GPT_4_1 = 1000 * 2 / 1e6 + 500 * 8 / 1e6


@pytest.fixture(scope="module")
def fake() -> Iterator[Any]:
    server = fake_signin.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def fresh_state(fake: Any) -> None:
    SignInExchange.state.clear()
    fake.clear()


def post(gw: sdk.Gateway, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    try:
        conn.request("POST", path, body=json.dumps(body),
                     headers={"Host": "localhost", "Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(data) if data else None
    finally:
        conn.close()


def message(gw: sdk.Gateway, model: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    return post(gw, "/v1/messages", {"model": model, "max_tokens": 64,
                                     "messages": [{"role": "user", "content": "hi"}]},
                {"anthropic-version": "2023-06-01", "anthropic-beta": "prompt-caching-2024-07-31", **(headers or {})})


def ledger_row(gw: sdk.Gateway, request_id: str) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{gw.ledger}?mode=ro", uri=True, timeout=5)
    try:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM requests WHERE request_id = ?", (request_id,))]
    finally:
        conn.close()
    assert len(rows) == 1, rows
    return rows[0]


def api_requests(fake: Any, suffix: str) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r["route"].endswith(suffix)]


def config(providers: dict[str, Any]) -> dict[str, Any]:
    return {"log_level": "debug", "providers": providers, "failover": {"failure_threshold": 1000}}


# anthropic_subscription ------------------------------------------------------------------

def test_claude_pass_through_bearer_costs_nothing_and_ignores_budgets(fake: Any, launch_gateway) -> None:
    providers = {"claude": {"type": "anthropic_subscription", "base_url": fake.origin, "retries": 0,
                            "models": ["claude-sonnet-4-6"], "budget": {"daily_usd": 0.000001}}}
    with launch_gateway(config(providers), logs=[fake], name="claude-pass") as gw:
        for _ in range(2):  # the second would be over a real budget after the first
            status, headers, body = message(gw, "claude/claude-sonnet-4-6",
                                            {"Authorization": f"Bearer {CLIENT_BEARER}"})
            assert status == 200, body
            assert body["content"][0]["text"] == "hello from the subscription"
            row = ledger_row(gw, headers["x-tollgate-request-id"])
            assert row["cost_usd"] == 0
            assert row["list_cost_usd"] == pytest.approx(LIST_SONNET_4_6)
        sent = api_requests(fake, "/v1/messages")
        assert len(sent) == 2
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
        conn.request("GET", "/admin/spend", headers={"Host": "localhost"})
        spend = json.loads(conn.getresponse().read())
        conn.close()
        claude = next(p for p in spend["providers"] if p["provider"] == "claude")
        assert claude["total_usd"] == 0 and claude["requests"] == 2
        assert claude["list_price_total_usd"] == pytest.approx(2 * LIST_SONNET_4_6)
        for r in sent:
            assert r["headers"]["authorization"] == f"Bearer {CLIENT_BEARER}"
            assert "x-api-key" not in r["headers"]
            flags = r["headers"]["anthropic-beta"].split(",")
            assert "oauth-2025-04-20" in flags and "prompt-caching-2024-07-31" in flags

        # No bearer (an x-api-key client, or a Chat Completions client): refused with a clear error, nothing sent.
        fake.clear()
        status, _, body = message(gw, "claude/claude-sonnet-4-6", {"x-api-key": "unused"})
        assert status == 401, body
        assert "passes through the bearer token" in body["error"]["message"]
        status, _, body = post(gw, "/v1/chat/completions", {"model": "claude/claude-sonnet-4-6",
                                                             "messages": [{"role": "user", "content": "hi"}]},
                               {"Authorization": f"Bearer {sdk.CLIENT_API_KEY}"})
        assert status == 401, body
        assert api_requests(fake, "/v1/messages") == []


def test_a_passed_through_bearer_is_masked_in_upstream_errors(fake: Any, launch_gateway) -> None:
    """Not shaped like a key (no digits), so only the per-request redaction can mask it."""
    SignInExchange.state["echo_auth"] = True
    providers = {"claude": {"type": "anthropic_subscription", "base_url": fake.origin, "retries": 0,
                            "models": ["claude-sonnet-4-6"]}}
    with launch_gateway(config(providers), logs=[fake], name="claude-echo") as gw:
        status, _, body = message(gw, "claude/claude-sonnet-4-6", {"Authorization": f"Bearer {PLAIN_BEARER}"})
        assert status == 400, body
        assert body["error"]["message"] == "token [redacted] is odd"
        assert PLAIN_BEARER not in gw.stderr_text()


def test_claude_pass_through_never_forwards_a_tollgate_client_key(fake: Any, launch_gateway) -> None:
    """With clients, Claude Code is recognised by its local user (or as `anonymous`): its bearer is its
    sign-in. A bearer that is a tollgate client key identifies that client and never goes upstream."""
    providers = {"claude": {"type": "anthropic_subscription", "base_url": fake.origin, "retries": 0,
                            "models": ["claude-sonnet-4-6"]}}
    cfg = dict(config(providers), clients={"laptop": {"key": TOLLGATE_CLIENT_KEY}, "anonymous": {}})
    with launch_gateway(cfg, logs=[fake], name="claude-clients") as gw:
        status, _, body = message(gw, "claude/claude-sonnet-4-6", {"Authorization": f"Bearer {TOLLGATE_CLIENT_KEY}"})
        assert status == 401, body
        assert "passes through the bearer token" in body["error"]["message"]
        assert api_requests(fake, "/v1/messages") == []
        status, headers, body = message(gw, "claude/claude-sonnet-4-6", {"Authorization": f"Bearer {CLIENT_BEARER}"})
        assert status == 200, body
        assert ledger_row(gw, headers["x-tollgate-request-id"])["client"] == "anonymous"
        sent = api_requests(fake, "/v1/messages")
        assert [r["headers"]["authorization"] for r in sent] == [f"Bearer {CLIENT_BEARER}"]
        assert TOLLGATE_CLIENT_KEY not in json.dumps([r["headers"] for r in fake.requests])


def claude_file(tmp: Path, access: str, refresh: str, expires_ms: int) -> Path:
    path = tmp / ".credentials.json"
    path.write_text(json.dumps({
        "claudeAiOauth": {"accessToken": access, "refreshToken": refresh, "expiresAt": expires_ms,
                          "scopes": ["user:inference", "user:profile"], "subscriptionType": "max",
                          "rateLimitTier": "default_claude_max_5x"},
        "mcpOAuth": {"server-x": {"accessToken": "kept-as-is"}},
    }, indent=2))
    path.chmod(0o600)
    return path


def test_claude_code_file_refresh_and_write_back(fake: Any, launch_gateway, tmp_path: Path) -> None:
    path = claude_file(tmp_path, FILE_ACCESS_OLD, FILE_REFRESH_OLD, int((time.time() - 60) * 1000))
    SignInExchange.state["claude_refresh"] = [(200, {"access_token": FILE_ACCESS_NEW, "refresh_token": FILE_REFRESH_NEW,
                                                     "expires_in": 28800, "token_type": "Bearer"})]
    providers = {"claude": {"type": "anthropic_subscription", "sign_in": "claude_code", "credentials_file": str(path),
                            "token_url": f"{fake.origin}/v1/oauth/token", "client_id": "test-client",
                            "base_url": fake.origin, "retries": 0, "models": ["claude-sonnet-4-6"]}}
    with launch_gateway(config(providers), logs=[fake], name="claude-file") as gw:
        before = time.time()
        for _ in range(3):
            status, headers, body = message(gw, "claude/claude-sonnet-4-6", {"x-api-key": "unused"})
            assert status == 200, body
            assert ledger_row(gw, headers["x-tollgate-request-id"])["list_cost_usd"] == pytest.approx(LIST_SONNET_4_6)
        refreshes = api_requests(fake, "/v1/oauth/token")
        assert len(refreshes) == 1, "one refresh, then the cached token"
        assert refreshes[0]["body"] == {"grant_type": "refresh_token", "refresh_token": FILE_REFRESH_OLD,
                                        "client_id": "test-client"}
        for r in api_requests(fake, "/v1/messages"):
            assert r["headers"]["authorization"] == f"Bearer {FILE_ACCESS_NEW}"
            assert "oauth-2025-04-20" in r["headers"]["anthropic-beta"]
            assert "x-api-key" not in r["headers"]
        saved = json.loads(path.read_text())
        oauth = saved["claudeAiOauth"]
        assert oauth["accessToken"] == FILE_ACCESS_NEW and oauth["refreshToken"] == FILE_REFRESH_NEW
        assert before * 1000 + 28800_000 - 5000 <= oauth["expiresAt"] <= time.time() * 1000 + 28800_000 + 5000
        assert oauth["scopes"] == ["user:inference", "user:profile"] and oauth["subscriptionType"] == "max"
        assert saved["mcpOAuth"] == {"server-x": {"accessToken": "kept-as-is"}}
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert [p.name for p in tmp_path.iterdir()] == [".credentials.json"], "no temporary file left behind"


def test_a_slow_refresh_blocks_no_loop_and_runs_once(fake: Any, launch_gateway, tmp_path: Path) -> None:
    """Three requests need the same expired token while the token endpoint takes 1.5 s: one
    refresh serves them all, and meanwhile the event loops keep answering."""
    path = claude_file(tmp_path, FILE_ACCESS_OLD, FILE_REFRESH_OLD, int((time.time() - 60) * 1000))
    SignInExchange.state["refresh_delay"] = 1.5
    SignInExchange.state["claude_refresh"] = [(200, {"access_token": FILE_ACCESS_NEW, "expires_in": 3600})]
    providers = {"claude": {"type": "anthropic_subscription", "sign_in": "claude_code", "credentials_file": str(path),
                            "token_url": f"{fake.origin}/v1/oauth/token", "base_url": fake.origin, "retries": 0,
                            "models": ["claude-sonnet-4-6"]}}
    with launch_gateway(config(providers), logs=[fake], name="claude-slow") as gw:
        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(message(gw, "claude/claude-sonnet-4-6")[0]))
                   for _ in range(3)]
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(0.2)
        health = []
        while time.monotonic() - started < 1.3:
            t0 = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
            conn.request("GET", "/health", headers={"Host": "localhost"})
            assert conn.getresponse().status == 200
            conn.close()
            health.append(time.monotonic() - t0)
        for t in threads:
            t.join(timeout=30)
        assert results == [200, 200, 200]
        assert time.monotonic() - started >= 1.5
        assert len(api_requests(fake, "/v1/oauth/token")) == 1
        assert len(health) >= 5 and max(health) < 0.5, health


def test_claude_code_token_refused_by_the_api_is_refreshed_early(fake: Any, launch_gateway, tmp_path: Path) -> None:
    """A token the API refuses (401) is not used again: the next request refreshes it although
    the file says it is still valid. Claude Code streams: this one does too."""
    path = claude_file(tmp_path, FILE_ACCESS_OLD, FILE_REFRESH_OLD, int((time.time() + 7200) * 1000))
    SignInExchange.state["refuse_tokens"] = {FILE_ACCESS_OLD}
    SignInExchange.state["claude_refresh"] = [(200, {"access_token": FILE_ACCESS_NEW, "expires_in": 3600})]
    providers = {"claude": {"type": "anthropic_subscription", "sign_in": "claude_code", "credentials_file": str(path),
                            "token_url": f"{fake.origin}/v1/oauth/token", "base_url": fake.origin, "retries": 0,
                            "models": ["claude-sonnet-4-6"]}}
    with launch_gateway(config(providers), logs=[fake], name="claude-revoked") as gw:
        status, _, body = message(gw, "claude/claude-sonnet-4-6")
        assert status == 401, body
        assert api_requests(fake, "/v1/oauth/token") == []
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
        conn.request("POST", "/v1/messages", body=json.dumps({
            "model": "claude/claude-sonnet-4-6", "max_tokens": 64, "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}),
            headers={"Host": "localhost", "Content-Type": "application/json", "anthropic-version": "2023-06-01"})
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        assert resp.status == 200, text
        assert "event: message_stop" in text and "hello from the subscription" in text
        assert len(api_requests(fake, "/v1/oauth/token")) == 1
        assert [r["headers"]["authorization"] for r in api_requests(fake, "/v1/messages")] == [
            f"Bearer {FILE_ACCESS_OLD}", f"Bearer {FILE_ACCESS_NEW}"]
        saved = json.loads(path.read_text())["claudeAiOauth"]
        assert saved["accessToken"] == FILE_ACCESS_NEW and saved["refreshToken"] == FILE_REFRESH_OLD


def test_claude_code_refused_refresh_and_missing_file(fake: Any, launch_gateway, tmp_path: Path) -> None:
    path = claude_file(tmp_path, FILE_ACCESS_OLD, FILE_REFRESH_OLD, int((time.time() - 60) * 1000))
    original = path.read_text()
    SignInExchange.state["claude_refresh"] = [(400, {"error": "invalid_grant",
                                                     "error_description": "Refresh token not found or invalid"})]
    providers = {
        "claude": {"type": "anthropic_subscription", "sign_in": "claude_code", "credentials_file": str(path),
                   "token_url": f"{fake.origin}/v1/oauth/token", "base_url": fake.origin, "retries": 0,
                   "models": ["claude-sonnet-4-6"]},
        "nofile": {"type": "anthropic_subscription", "sign_in": "claude_code",
                   "credentials_file": str(tmp_path / "absent.json"), "base_url": fake.origin, "retries": 0,
                   "models": ["claude-sonnet-4-6"]},
    }
    with launch_gateway(config(providers), logs=[fake], name="claude-refused") as gw:
        status, _, body = message(gw, "claude/claude-sonnet-4-6")
        assert status == 401, body
        assert body["type"] == "error"
        assert "refresh was refused (400: invalid_grant" in body["error"]["message"]
        assert "sign in again" in body["error"]["message"]
        assert path.read_text() == original, "a refused refresh leaves the file alone"
        status, _, body = message(gw, "nofile/claude-sonnet-4-6")
        assert status == 401, body
        assert f"Cannot read the sign-in file {tmp_path / 'absent.json'}" in body["error"]["message"]
        assert api_requests(fake, "/v1/messages") == []


def test_claude_code_file_without_oauth_object(fake: Any, launch_gateway, tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"somethingElse": {}}))
    providers = {"claude": {"type": "anthropic_subscription", "sign_in": "claude_code", "credentials_file": str(path),
                            "base_url": fake.origin, "retries": 0, "models": ["claude-sonnet-4-6"]}}
    with launch_gateway(config(providers), logs=[fake], name="claude-noobj") as gw:
        status, _, body = message(gw, "claude/claude-sonnet-4-6")
        assert status == 401 and "has no claudeAiOauth object" in body["error"]["message"], body


# codex ---------------------------------------------------------------------------------------

def codex_file(tmp: Path, access: str, refresh: str, id_token: Any, account: str | None) -> Path:
    path = tmp / "auth.json"
    tokens = {"id_token": id_token, "access_token": access, "refresh_token": refresh}
    if account is not None:
        tokens["account_id"] = account
    path.write_text(json.dumps({"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "tokens": tokens,
                                "last_refresh": "2026-11-27T10:00:00.000000Z"}, indent=2))
    path.chmod(0o600)
    return path


def codex_providers(fake: Any, path: Path) -> dict[str, Any]:
    return {"codex": {"type": "codex", "auth_file": str(path), "token_url": f"{fake.origin}/oauth/token",
                      "base_url": f"{fake.origin}/backend-api/codex", "retries": 0, "models": ["gpt-5.4"]}}


def test_codex_refreshes_an_expired_token(fake: Any, launch_gateway, tmp_path: Path) -> None:
    # id_token as an already-parsed claims object (newer Codex) and no account_id: the claim supplies it.
    path = codex_file(tmp_path, CODEX_ACCESS_OLD, CODEX_REFRESH_OLD,
                      {"email": "a@example.test", "https://api.openai.com/auth": {"chatgpt_account_id": CODEX_ACCOUNT}},
                      None)
    SignInExchange.state["codex_refresh"] = [(200, {"access_token": CODEX_ACCESS_NEW, "refresh_token": CODEX_REFRESH_NEW,
                                                    "id_token": jwt({"email": "a@example.test"})})]
    with launch_gateway(config(codex_providers(fake, path)), logs=[fake], name="codex") as gw:
        before = time.time()
        for _ in range(2):
            status, headers, body = post(gw, "/v1/responses", {"model": "codex/gpt-5.4", "input": "hi",
                                                                 "instructions": "be brief", "store": False},
                                         {"Authorization": f"Bearer {sdk.CLIENT_API_KEY}"})
            assert status == 200, body
            assert body["output"][0]["content"][0]["text"] == "hello from codex"
            row = ledger_row(gw, headers["x-tollgate-request-id"])
            assert row["cost_usd"] == 0 and row["list_cost_usd"] == pytest.approx(LIST_GPT_5_4)
        refreshes = api_requests(fake, "/oauth/token")
        assert len(refreshes) == 1
        assert refreshes[0]["body"]["grant_type"] == "refresh_token"
        assert refreshes[0]["body"]["refresh_token"] == CODEX_REFRESH_OLD
        assert refreshes[0]["body"]["client_id"] == "app_EMoamEEZ73f0CkXaXp7hrann"
        for r in api_requests(fake, "/responses"):
            assert r["route"] == "/backend-api/codex/responses"
            assert r["headers"]["authorization"] == f"Bearer {CODEX_ACCESS_NEW}"
            assert r["headers"]["chatgpt-account-id"] == CODEX_ACCOUNT
            assert sdk.CLIENT_API_KEY not in json.dumps(r["headers"])
        saved = json.loads(path.read_text())
        assert saved["tokens"]["access_token"] == CODEX_ACCESS_NEW
        assert saved["tokens"]["refresh_token"] == CODEX_REFRESH_NEW
        assert saved["auth_mode"] == "chatgpt" and saved["OPENAI_API_KEY"] is None
        assert saved["last_refresh"].startswith(time.strftime("%Y-%m-%dT", time.gmtime(before)))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_codex_refused_refresh(fake: Any, launch_gateway, tmp_path: Path) -> None:
    path = codex_file(tmp_path, CODEX_ACCESS_OLD, CODEX_REFRESH_OLD, jwt({"email": "a@example.test"}), CODEX_ACCOUNT)
    SignInExchange.state["codex_refresh"] = [(401, {"error": {"code": "refresh_token_reused",
                                                              "message": "already used"}})]
    with launch_gateway(config(codex_providers(fake, path)), logs=[fake], name="codex-refused") as gw:
        status, _, body = post(gw, "/v1/responses", {"model": "codex/gpt-5.4", "input": "hi"})
        assert status == 401, body
        assert "refresh was refused (401: refresh_token_reused" in body["error"]["message"]
        assert "codex login" in body["error"]["message"]
        assert api_requests(fake, "/responses") == []


# github_copilot ------------------------------------------------------------------------------

def login(tollgate_bin: Path, fake: Any, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(tollgate_bin), "login", "copilot", "--device-code-url", f"{fake.origin}/login/device/code",
                           "--access-token-url", f"{fake.origin}/login/oauth/access_token",
                           "--credentials-dir", str(tmp / "creds"), *extra],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp)})


def test_copilot_login_device_flow(fake: Any, tollgate_bin: Path, tmp_path: Path) -> None:
    SignInExchange.state["device_poll"] = [{"error": "authorization_pending"},
                                           {"error": "slow_down", "interval": 1},
                                           {"error": "authorization_pending"},
                                           {"access_token": GITHUB_TOKEN, "token_type": "bearer", "scope": "read:user"}]
    started = time.monotonic()
    done = login(tollgate_bin, fake, tmp_path, "--plain-file")
    assert done.returncode == 0, done.stderr
    assert "https://github.com/login/device" in done.stdout and "WDJB-MJHT" in done.stdout
    assert "0600 file" in done.stdout
    assert GITHUB_TOKEN not in done.stdout + done.stderr
    stored = tmp_path / "creds" / "github_copilot"
    assert stored.read_text().strip() == GITHUB_TOKEN
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert f'"api_key": "file:{stored}"' in done.stdout
    polls = api_requests(fake, "/login/oauth/access_token")
    assert len(polls) == 4
    assert polls[0]["raw"].count("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code") == 1
    # Interval 0 at first; after slow_down (interval 1) each poll waits a second.
    assert polls[3]["t_start"] - polls[1]["t_start"] >= 1.9
    assert time.monotonic() - started < 30

    # Without --plain-file: encrypted with systemd-creds when usable, else the 0600 file; the output says which.
    fake.clear()
    SignInExchange.state["device_poll"] = [{"access_token": GITHUB_TOKEN}]
    done = login(tollgate_bin, fake, tmp_path, "--name", "gh2")
    assert done.returncode == 0, done.stderr
    if "encrypted with systemd-creds" in done.stdout:
        cred = tmp_path / "creds" / "gh2.cred"
        assert cred.exists() and GITHUB_TOKEN.encode() not in cred.read_bytes()
        assert '"api_key": "credential:gh2"' in done.stdout
    else:
        assert "0600 file" in done.stdout and (tmp_path / "creds" / "gh2").read_text().strip() == GITHUB_TOKEN


def test_copilot_login_expired_code(fake: Any, tollgate_bin: Path, tmp_path: Path) -> None:
    SignInExchange.state["device_poll"] = [{"error": "authorization_pending"}, {"error": "expired_token"}]
    done = login(tollgate_bin, fake, tmp_path, "--plain-file")
    assert done.returncode != 0
    assert "expired" in done.stderr and "tollgate login copilot" in done.stderr
    assert not (tmp_path / "creds" / "github_copilot").exists()


def test_copilot_exchange_cached_until_refresh_and_its_api_base(fake: Any, launch_gateway, tmp_path: Path) -> None:
    token_file = tmp_path / "github_copilot"
    token_file.write_text(GITHUB_TOKEN + "\n")
    token_file.chmod(0o600)
    issued = []

    def exchange() -> dict[str, Any]:
        token = COPILOT_T1 if not issued else COPILOT_T2
        issued.append(token)
        now = int(time.time())
        return {"token": token, "expires_at": now + 1800, "refresh_in": 3, "sku": "copilot_individual",
                "endpoints": {"api": f"{fake.origin}/copilot-api/", "proxy": "https://proxy.invalid"}}

    SignInExchange.state["copilot_exchange"] = (200, exchange)
    providers = {"copilot": {"type": "github_copilot", "api_key": f"file:{token_file}",
                             "token_url": f"{fake.origin}/copilot_internal/v2/token",
                             # Never used: the exchange names the API base.
                             "base_url": "http://127.0.0.1:9/never", "retries": 0, "models": ["gpt-4.1"]}}
    with launch_gateway(config(providers), logs=[fake], name="copilot") as gw:
        def ask() -> None:
            status, headers, body = post(gw, "/v1/chat/completions",
                                         {"model": "copilot/gpt-4.1", "messages": [{"role": "user", "content": "hi"}]},
                                         {"Authorization": f"Bearer {sdk.CLIENT_API_KEY}"})
            assert status == 200, body
            assert body["choices"][0]["message"]["content"] == "hello from copilot"
            row = ledger_row(gw, headers["x-tollgate-request-id"])
            assert row["cost_usd"] == 0 and row["list_cost_usd"] == pytest.approx(LIST_GPT_4_1)
            assert float(headers["x-tollgate-cost-usd"]) == 0

        ask()
        ask()
        time.sleep(3.3)  # past refresh_in
        ask()
        exchanges = api_requests(fake, "/copilot_internal/v2/token")
        assert len(exchanges) == 2
        assert exchanges[0]["headers"]["authorization"] == f"token {GITHUB_TOKEN}"
        chats = api_requests(fake, "/chat/completions")
        assert [c["route"] for c in chats] == ["/copilot-api/chat/completions"] * 3
        assert [c["headers"]["authorization"] for c in chats] == [f"Bearer {COPILOT_T1}"] * 2 + [f"Bearer {COPILOT_T2}"]
        for c in chats:
            assert c["headers"]["copilot-integration-id"] == "vscode-chat"
            assert GITHUB_TOKEN not in json.dumps(c["headers"])


def test_copilot_token_refused_by_the_api_is_exchanged_anew(fake: Any, launch_gateway) -> None:
    tokens = [COPILOT_T1, COPILOT_T2]
    SignInExchange.state["refuse_tokens"] = {COPILOT_T1}
    SignInExchange.state["copilot_exchange"] = (200, lambda: {
        "token": tokens.pop(0), "expires_at": int(time.time()) + 1800, "refresh_in": 1500,
        "endpoints": {"api": f"{fake.origin}/copilot-api"}})
    providers = {"copilot": {"type": "github_copilot", "api_key": GITHUB_TOKEN,
                             "token_url": f"{fake.origin}/copilot_internal/v2/token", "retries": 0,
                             "models": ["gpt-4.1"]}}
    with launch_gateway(config(providers), logs=[fake], name="copilot-revoked") as gw:
        request = {"model": "copilot/gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
        status, _, body = post(gw, "/v1/chat/completions", request)
        assert status == 401, body
        status, _, body = post(gw, "/v1/chat/completions", request)
        assert status == 200, body
        assert len(api_requests(fake, "/copilot_internal/v2/token")) == 2
        assert [c["headers"]["authorization"] for c in api_requests(fake, "/chat/completions")] == [
            f"Bearer {COPILOT_T1}", f"Bearer {COPILOT_T2}"]


def test_copilot_exchange_refused(fake: Any, launch_gateway, tmp_path: Path) -> None:
    SignInExchange.state["copilot_exchange"] = (403, {
        "message": "Resource not accessible", "error_details": {
            "message": "No Copilot access for this account.", "notification_id": "no_copilot_access",
            "title": "Copilot", "url": "https://github.com/features/copilot"}})
    providers = {"copilot": {"type": "github_copilot", "api_key": GITHUB_TOKEN,
                             "token_url": f"{fake.origin}/copilot_internal/v2/token", "retries": 0,
                             "models": ["gpt-4.1"]}}
    with launch_gateway(config(providers), logs=[fake], name="copilot-refused") as gw:
        status, _, body = post(gw, "/v1/chat/completions",
                               {"model": "copilot/gpt-4.1", "messages": [{"role": "user", "content": "hi"}]})
        assert status == 403, body
        assert "No Copilot access for this account. (no_copilot_access)" in body["error"]["message"]
        assert api_requests(fake, "/chat/completions") == []


# last: no secret in any log --------------------------------------------------------------------

def test_zz_no_secret_in_any_log_of_the_suite(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every stderr/stdout file the suite's daemons wrote (pytest's base temp folder), searched
    for every secret these tests used and the suite's client and upstream keys."""
    base = tmp_path_factory.getbasetemp()
    logs = [p for p in base.rglob("tollgate.std*") if p.is_file()]
    assert any("claude-pass" in str(p) for p in logs), "this module's logs are among them"
    found = []
    for path in logs:
        text = path.read_text(errors="replace")
        found += [(str(path), secret[:12] + "…") for secret in SECRETS if secret in text]
    assert not found, f"secrets in logs: {found}"
