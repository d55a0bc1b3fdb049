"""Browser tests: Playwright drives Debian's Chromium against a real server in a thread.

Reusable by any back-office page test: take `live_server` (the base URL of a real werkzeug
server on 127.0.0.1, port chosen by the system, serving the test's `app`) and `page` (a fresh
browser context per test; `page.dialogs` lists every alert/confirm that fired). One Chromium
per test session. These tests run on SQLite only: what they add over the test-client tests is
the browser (CSP, JavaScript, forms, downloads), and the server logic runs on both databases
there. Without /usr/bin/chromium they skip, except under CI=true where they fail.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite only here (see the module docstring)."""
    import shutil

    path = tmp_path / "paroles.db"
    shutil.copy(request.getfixturevalue("_sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"CI=true but {CHROMIUM} is missing: run .ci/install-chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium) : browser tests skipped")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The test's app on a real HTTP server, on loopback; stopped at the end of the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh page (own cookies) in French, whose `dialogs` list records any dialog."""
    context = browser.new_context(base_url=live_server, locale="fr-FR", accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    page.dialogs = dialogs
    page.errors = errors
    yield page
    context.close()


def log_in(page: Any, email: str, password: str, then: str = "/inbox/") -> None:
    """Log in through the form, land on "À faire", then go to `then` (the inbox by default)."""
    page.goto("/auth/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    if then:
        page.goto(then)
