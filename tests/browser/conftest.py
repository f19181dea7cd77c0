"""Browser tests: a real `tracker serve` on a seeded SQLite file, driven by Debian's
chromium through Playwright (docs/web.md).

No browser is ever downloaded: Playwright launches `/usr/bin/chromium` (the Debian package
`chromium`). Where it is missing these tests skip, naming the package; with
TRACKER_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser fails them instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.reliability.harness import client_mistakes_with_tracebacks

TRACKER = str(Path(sys.executable).parent / "tracker")
CHROMIUM = os.environ.get("TRACKER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_DEADLINE_SECONDS = 90
SEEDED_PROJECTS = 24
# Where to save the pages' screenshots (docs/web.md: `TRACKER_SCREENSHOTS=docs/screenshots`);
# unset, none is taken.
SCREENSHOTS = os.environ.get("TRACKER_SCREENSHOTS")
SCREENSHOT_SIZE = {"width": 1280, "height": 1000}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _require_browser() -> None:
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return
    message = (
        f"no browser at {CHROMIUM}: install the Debian package `chromium` "
        "(apt-get install chromium) to run the browser tests"
    )
    if os.environ.get("TRACKER_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Server:
    url: str
    tokens: dict[str, str]  # "viewer", "auditor", "staff" (of the first lab) -> raw token

    def graphql(self, query: str, variables: dict[str, Any], role: str = "viewer") -> Any:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.tokens[role]}"},
            timeout=30,
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


def _tracker(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [TRACKER, *args], capture_output=True, text=True, env=env, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A seeded demo portfolio served by a real `tracker serve`, projections caught up."""
    _require_browser()
    home = tmp_path_factory.mktemp("web")
    env = {
        **os.environ,
        "TRACKER_DATABASE_URL": f"sqlite:///{home / 'tracker.db'}",
        "TRACKER_SESSION_SECRET": "browser-tests-" + "x" * 40,
        "TRACKER_LOG_FORMAT": "json",
    }
    _tracker(env, "migrate")
    _tracker(env, "seed", "--projects", str(SEEDED_PROJECTS))
    tokens = {
        "viewer": _tracker(env, "token", "create", "--role", "viewer", "--name", "Camille"),
        "auditor": _tracker(env, "token", "create", "--role", "auditor", "--name", "Dominique"),
    }
    port = _free_port()
    log_path = home / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [TRACKER, "serve", "--port", str(port), "--no-migrate"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=home,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited ({process.returncode}):\n{log_path.read_text()}")
            with suppress(httpx.TransportError):
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.2)
            if time.monotonic() > deadline:
                pytest.fail(f"/readyz did not answer 200 within {START_DEADLINE_SECONDS} s")
        served = Server(url=url, tokens=tokens)
        # A staff member of the first lab (its slug is known once the seed has run).
        first_lab = served.graphql("{ labs { slug } }", {})["labs"][0]["slug"]
        tokens["staff"] = _tracker(
            env, "token", "create", "--role", "staff", "--lab", first_lab, "--name", "Sacha"
        )
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    mistakes = client_mistakes_with_tracebacks(log_path.read_text(errors="replace"))
    assert not mistakes, f"a traceback logged at ERROR for an answer below 500: {mistakes}"


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    """Debian's chromium, headless, launched by Playwright (never a downloaded build)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="fr-FR")
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Any, name: str, at: str | None = None) -> None:
    """Save 1280 × 1000 px of the page as `name`.png under TRACKER_SCREENSHOTS when it is
    set (the docs' pictures), from its top or from the element `at` (a CSS selector);
    nothing otherwise."""
    if not SCREENSHOTS:
        return
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(SCREENSHOT_SIZE)
    top = 0.0
    if at is not None:
        top = page.locator(at).first.evaluate(
            "node => Math.max(0, node.getBoundingClientRect().top + window.scrollY - 16)"
        )
    page.screenshot(
        path=str(folder / f"{name}.png"), full_page=True, clip={"x": 0, "y": top, **SCREENSHOT_SIZE}
    )
