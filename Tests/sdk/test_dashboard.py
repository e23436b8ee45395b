"""The dashboard in a real browser: headless Chromium (Debian's chromium and chromium-driver,
driven through Selenium) loads /dashboard from a tollgate in front of fake upstreams and a
ledger seeded with 30 days of spend, and the test checks the rendered DOM: provider rows with
health and budget bars, a drawn chart, a request appearing in the recent list after it is made,
and a playground answer streamed in piece by piece. Screenshots (wide and narrow, light and
dark) go to .build/screenshots; TOLLGATE_UPDATE_SCREENSHOT=1 also writes docs/dashboard.png."""
from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, UNSET_ENV_VAR
from fake_upstream import FakeUpstream
from observe_support import chat, closed_port

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
SHOTS = REPO_ROOT / ".build" / "screenshots"

pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="chromium and chromium-driver are not installed (make test installs them)")


def seed_ledger(path: Path, days: int = 30) -> None:
    """Rows over the last `days` UTC days for three providers (a fixed pseudo-random pattern)."""
    rng = random.Random(14)
    now_ms = int(time.time() * 1000)
    rows = []
    for d in range(days, -1, -1):
        for provider, model, scale in (("openai", "gpt-4.1-mini", 0.9), ("groq", "llama-3.3-70b", 0.35),
                                       ("flaky", "gpt-4.1", 0.25)):
            if provider == "flaky" and d < 6:
                continue
            for _ in range(rng.randint(2, 5)):
                t = now_ms - d * 86_400_000 - rng.randint(60_000, 3_000_000 if d == 0 else 80_000_000)
                inp, out = rng.randint(200, 4000), rng.randint(50, 900)
                cost = round(scale * rng.uniform(0.05, 0.22) * (1.4 if d % 7 in (1, 2) else 1), 5)
                rows.append((t, f"req_seed{len(rows):012x}", None, model, provider, model, 1, "ok", 1, 200,
                             inp, 0, out, 0, 0, cost, rng.uniform(150, 900), rng.uniform(600, 9000), "chat"))
    rows.sort(key=lambda r: r[0])  # written in time order, as tollgate writes them
    db = sqlite3.connect(path, timeout=10)
    db.executemany("""INSERT INTO requests (time_ms, request_id, client, route, provider, model, streamed, outcome,
                      attempt, status, input_tokens, cached_tokens, output_tokens, reasoning_tokens, tokens_estimated,
                      cost_usd, ttfb_ms, total_ms, api) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
    db.commit()
    db.close()


@pytest.fixture(scope="module")
def dashboard_gateway(launch_gateway, tmp_path_factory):
    upstream = FakeUpstream().start()
    ledger = tmp_path_factory.mktemp("dashboard-ledger") / "ledger.sqlite"
    config = {
        "ledger": str(ledger),
        "providers": {
            "flaky": {"type": "openai_compatible", "base_url": f"http://127.0.0.1:{closed_port()}/v1",
                      "api_key": "k", "priority": 1, "retries": 0, "models": ["gpt-4.1"]},
            "openai": {"type": "openai", "base_url": upstream.base_url, "api_key": "sk-upstream-never-shown",
                       "priority": 2, "models": ["gpt-4.1-mini", "gpt-4.1"],
                       "budget": {"daily_usd": 5, "monthly_usd": 60}},
            "groq": {"type": "groq", "base_url": upstream.base_url, "api_key": "k", "priority": 3,
                     "models": ["llama-3.3-70b"], "budget": {"daily_usd": 1.2}},
            "anthropic": {"type": "anthropic", "api_key": f"env:{UNSET_ENV_VAR}", "priority": 4},
        },
        "routes": {"fast": ["openai/gpt-4.1-mini", "groq/llama-3.3-70b"], "smart": ["flaky/gpt-4.1", "openai/gpt-4.1"]},
        "failover": {"failure_threshold": 1, "cooldown_seconds": 120},
    }
    try:
        with launch_gateway(config, name="dashboard-migrate"):
            pass  # creates the ledger's schema
        seed_ledger(ledger)
        with launch_gateway(config, logs=[upstream], name="dashboard") as gw:
            # One failover: flaky's breaker opens (a cooldown to show).
            status, _, _ = chat(gw.port, "smart", "hello")
            assert status == 200
            yield gw
    finally:
        upstream.stop()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--window-size=1400,1000",
                "--force-device-scale-factor=1", "--proxy-server=direct://", "--proxy-bypass-list=*"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver, script: str, timeout: float = 10.0, what: str = ""):
    """Polls a JS expression until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script("return " + script)
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or script}; console: {console(driver)}")
        time.sleep(0.1)


def console(driver) -> str:
    try:
        return str(driver.get_log("browser"))[-2000:]
    except Exception:  # noqa: BLE001 - only for the failure message
        return "(no browser log)"


def screenshot(driver, name: str, width: int, height: int, dark: bool) -> Path:
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    time.sleep(0.4)
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": max(height, full), "deviceScaleFactor": 1, "mobile": width < 600})
    time.sleep(0.2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def test_dashboard_in_a_real_browser(dashboard_gateway, browser) -> None:
    gw, driver = dashboard_gateway, browser
    driver.get(f"http://127.0.0.1:{gw.port}/dashboard")
    assert driver.title == "tollgate"

    # Providers: one row each, with health, a cooldown and budget bars.
    wait(driver, "document.querySelectorAll('#providers tbody tr[data-provider]').length === 4", what="provider rows")
    states = driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#providers tbody tr')].map(r => [r.dataset.provider, r.dataset.state]))")
    assert states == {"flaky": "cooling_down", "openai": "healthy", "groq": "healthy", "anthropic": "disabled"}
    flaky = driver.execute_script("return document.querySelector('tr[data-provider=flaky] .badge').textContent")
    assert flaky.startswith("cooling down · ") and flaky.endswith(" s")
    meters = driver.execute_script(
        "return [...document.querySelectorAll('tr[data-provider=openai] .meter')].map(m => Number(m.getAttribute('aria-valuenow')))")
    assert len(meters) == 2 and all(0 < m < 100 for m in meters)

    # The 30-day chart, drawn from /admin/spend/daily.
    bars = wait(driver, "document.querySelectorAll('#chart svg rect.bar').length", what="chart bars")
    assert bars >= 60
    providers_in_chart = driver.execute_script(
        "return [...new Set([...document.querySelectorAll('#chart rect.bar')].map(r => r.dataset.provider))].sort()")
    assert providers_in_chart == ["flaky", "groq", "openai"]
    assert driver.execute_script("return document.getElementById('spend-total').textContent").startswith("$")

    # A request made now shows up in the recent list (polled every 2 s).
    status, headers, _ = chat(gw.port, "fast", "show me in the dashboard")
    assert status == 200
    rid = headers["x-tollgate-request-id"]
    wait(driver, f"document.querySelector('tr[data-request-id={rid}]')", timeout=8, what="the new request's row")
    cells = driver.execute_script(f"return [...document.querySelectorAll('tr[data-request-id={rid}] td')].map(td => td.textContent)")
    assert cells[1:4] == ["chat", "fast", "openai"] and cells[8] == "200"
    assert driver.execute_script("return document.getElementById('requests').classList.contains('no-client')")
    # The filter narrows the list.
    driver.find_element("id", "filter-text").send_keys("groq")
    wait(driver, "[...document.querySelectorAll('#requests tbody tr')].every(r => r.children[3].textContent === 'groq')",
         what="filtered rows")
    driver.find_element("id", "filter-text").clear()
    driver.execute_script("document.getElementById('filter-text').dispatchEvent(new Event('input'))")

    # Playground: the answer arrives piece by piece (the fake spaces '#slow' pieces 0.4 s apart).
    wait(driver, "document.querySelectorAll('#model option').length > 0", what="the model picker")
    driver.execute_script("""
        window.__pieces = [];
        const answer = document.getElementById('answer');
        new MutationObserver(() => window.__pieces.push([performance.now(), answer.textContent]))
            .observe(answer, {childList: true, characterData: true, subtree: true});
        document.getElementById('model').value = 'fast';
    """)
    driver.find_element("id", "prompt").send_keys("#slow one piece at a time")
    driver.find_element("id", "send").click()
    wait(driver, "document.getElementById('answer').dataset.done === 'true'", timeout=15, what="the streamed answer")
    assert driver.execute_script("return document.getElementById('answer').textContent") == "slow and steady wins"
    pieces = driver.execute_script("return window.__pieces.filter(p => p[1].length > 0)")
    texts = [t for _, t in pieces]
    assert len(set(texts)) >= 3, texts
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:])), texts
    assert pieces[-1][0] - pieces[0][0] > 600, pieces  # spread over time, not one block
    assert "openai/gpt-4.1-mini" in driver.execute_script("return document.getElementById('answer-meta').textContent")

    # No secret reaches the page.
    assert "sk-upstream-never-shown" not in driver.page_source

    # A normal answer for the pictures, then light and dark, wide and narrow.
    driver.find_element("id", "prompt").clear()
    driver.find_element("id", "prompt").send_keys("Hello! Which provider answered?")
    driver.find_element("id", "send").click()
    wait(driver, "document.getElementById('answer').dataset.done === 'true'", timeout=15)
    time.sleep(2.2)  # one more poll: the playground's own request in the list
    screenshot(driver, "dashboard-wide-light", 1400, 900, dark=False)
    screenshot(driver, "dashboard-wide-dark", 1400, 900, dark=True)
    screenshot(driver, "dashboard-narrow-light", 390, 844, dark=False)
    screenshot(driver, "dashboard-narrow-dark", 390, 844, dark=True)
    # The layout holds on a phone: nothing wider than the screen but the scrollable tables.
    overflow = driver.execute_script("return document.documentElement.scrollWidth")
    assert overflow <= 390, overflow
    if os.environ.get("TOLLGATE_UPDATE_SCREENSHOT") == "1":
        # The README's picture: the first screen only, wide and light, its palette reduced when pngquant is there.
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        time.sleep(0.4)
        target = REPO_ROOT / "docs" / "dashboard.png"
        driver.save_screenshot(str(target))
        if shutil.which("pngquant"):
            subprocess.run(["pngquant", "--force", "--skip-if-larger", "--output", str(target), "64", str(target)],
                           check=False, timeout=60)


def test_dashboard_with_an_admin_key_and_clients(launch_gateway, browser) -> None:
    upstream = FakeUpstream().start()
    config = {
        "admin_key": "admin-secret-1",
        "clients": {"alice": {"key": "client-secret-alice", "budget": {"daily_usd": 2}},
                    "batch": {"key": "client-secret-batch"}},
        "providers": {"main": {"type": "openai_compatible", "base_url": upstream.base_url, "api_key": "k",
                               "models": ["gpt-4.1-mini"]}},
    }
    try:
        with launch_gateway(config, logs=[upstream], name="dashboard-key") as gw:
            driver = browser
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            driver.get(f"http://127.0.0.1:{gw.port}/dashboard")
            wait(driver, "!document.getElementById('key-form').hidden", what="the admin key form")
            assert driver.execute_script("return document.querySelectorAll('#providers tbody tr').length") == 0
            driver.find_element("id", "key").send_keys("admin-secret-1")
            driver.find_element("css selector", "#key-form button").click()
            wait(driver, "document.querySelectorAll('#providers tbody tr[data-provider]').length === 1",
                 what="provider rows after the key")
            assert driver.execute_script("return document.getElementById('key-form').hidden")
            assert driver.execute_script("return document.getElementById('key').value") == ""

            # Clients exist: their budgets are shown.
            wait(driver, "!document.getElementById('clients-card').hidden", what="the clients section")
            clients = driver.execute_script(
                "return [...document.querySelectorAll('#clients tr[data-client]')].map(r => r.dataset.client).sort()")
            assert clients == ["alice", "batch"]
            assert driver.execute_script("return document.querySelectorAll('tr[data-client=alice] .meter').length") == 1

            # The playground needs a client's key here: it asks, then streams as that client.
            driver.find_element("id", "prompt").send_keys("hello as alice")
            driver.find_element("id", "send").click()
            wait(driver, "!document.getElementById('client-key').hidden", what="the client key field")
            driver.find_element("id", "client-key").send_keys("client-secret-alice")
            driver.execute_script("document.getElementById('model').replaceChildren()")
            driver.find_element("id", "send").click()
            wait(driver, "document.getElementById('answer').dataset.done === 'true'", timeout=15, what="the answer")
            assert "hello as alice" in driver.execute_script("return document.getElementById('answer').textContent")
            wait(driver, "[...document.querySelectorAll('tr[data-client=alice] .budget span')].some(s => s.textContent.startsWith('$0.0'))"
                 " && !document.querySelector('tr[data-client=alice] .meter').getAttribute('aria-valuenow').startsWith('-')",
                 what="alice's spend")
            wait(driver, "[...document.querySelectorAll('#requests tbody tr')].some(r => r.children[4].textContent === 'alice')",
                 what="the request's client in the list")
            assert not driver.execute_script("return document.getElementById('requests').classList.contains('no-client')")
            for secret in ("admin-secret-1", "client-secret-alice", "client-secret-batch"):
                assert secret not in driver.page_source
            screenshot(driver, "dashboard-clients-light", 1400, 900, dark=False)
    finally:
        upstream.stop()
