"""The README's screenshots of the back-office, made from the demo territory so they stay true.

    .venv/bin/python docs/screenshots.py   # writes docs/img/*.png

Builds the demo territory (`paroles serve --demo`'s) in a temporary SQLite file, serves the real
app on loopback, logs in with Debian's Chromium (Playwright, as the browser tests do) at
1366×768 and takes the inbox, a contribution, the tableau de bord and a campaign's results.
Screens, not whole pages: what a chef de projet sees on a small laptop.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.models import Campaign, Contribution, Publication  # noqa: E402
from web import create_app  # noqa: E402
from web.cli.database import prepare_database  # noqa: E402
from web.cli.demo import DEMO_EMAIL, seed_demo  # noqa: E402
from web.suggestions.service import retrain_if_needed, suggest_pending  # noqa: E402

OUT = Path(__file__).resolve().parent / "img"
NOW = datetime(2026, 11, 16, 10, tzinfo=UTC)  # the demo's own "today", as in the tests
CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {
                "PAROLES_DATABASE_URL": f"sqlite:///{tmp}/demo.db",
                "PAROLES_SECRET_KEY": "screenshots-secret-key-0123456789",
                "PAROLES_DATA_DIR": tmp,
            }
        )
        runtime = Runtime.from_settings(settings)
        prepare_database(runtime)
        password = seed_demo(runtime, now=NOW)
        # What the worker does after the seed: train the thème model on the confirmed ones and
        # suggest a thème for the others, so the inbox shows suggestions to confirm.
        retrain_if_needed(runtime, NOW)
        while suggest_pending(runtime, NOW):
            pass
        with runtime.sessions() as session:
            # A contribution with a suggestion and a few words of explanation, and the published
            # campaign (the one whose results are worth showing).
            contribution = session.scalars(
                select(Contribution.id).where(func.length(Contribution.text) > 120).limit(1)
            ).one()
            campaign = session.scalars(select(Publication.campaign_id)).first() or (
                session.scalars(select(Campaign.id)).first()
            )
        app = create_app({"TESTING": False}, settings=settings, runtime=runtime)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            shoot(base, password, contribution, campaign)
        finally:
            server.shutdown()
            runtime.engine.dispose()


def shoot(base: str, password: str, contribution: int, campaign: int | None) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(
            base_url=base, locale="fr-FR", viewport={"width": 1366, "height": 768}
        )
        page.goto("/auth/login")
        page.get_by_label("Adresse e-mail").fill(DEMO_EMAIL)
        page.get_by_label("Mot de passe").fill(password)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(f"{base}/")
        shots = {
            "a-faire": "/",
            "contributions": "/inbox/",
            "contribution": f"/contributions/{contribution}",
            "tableau-de-bord": "/tableau-de-bord/",
        }
        if campaign:
            shots["resultats-campagne"] = f"/campagnes/{campaign}"
        for name, url in shots.items():
            page.goto(url)
            page.wait_for_load_state("networkidle")
            if name == "contributions":  # one line open, as after pressing Entrée on it
                page.keyboard.press("j")
                page.keyboard.press("j")
                page.keyboard.press("Enter")
            path = OUT / f"{name}.png"
            page.screenshot(path=str(path))
            print(f"{path.relative_to(OUT.parent.parent)}  {path.stat().st_size // 1024} Kio")
        browser.close()


if __name__ == "__main__":
    main()
