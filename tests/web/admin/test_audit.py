"""The audit log page: the administrateur reads who did what, newest first, by kind."""

from __future__ import annotations

from typing import Any

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import AuditEntry
from tests.web.conftest import Sample, Territory, login_as, page, post


def test_the_administrateur_reads_exports_and_thème_changes(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    client.get("/exports/contributions.csv?canal=sms").close()
    post(client, f"/contributions/{sample.nord}/theme", {"action": "set", "theme_id": 1})
    login_as(client, territory.users["administrateur"])
    log = page(client, "/journal/")
    assert log.index("thème choisi</td>") < log.index("export</td>")  # newest first
    assert "chef_de_projet@ville.example" in log and '"canal": "sms"' in log
    assert f'href="/contributions/{sample.nord}"' in log
    assert "Le journal garde 365 jours d'actions" in log  # and how long it keeps them
    only_exports = page(client, "/journal/?action=export")
    assert "thème choisi</td>" not in only_exports and "export</td>" in only_exports


def test_the_log_pages_by_hundred(client: Any, runtime: Runtime, territory: Territory) -> None:
    with transaction(runtime.sessions) as session:
        session.add_all(AuditEntry(action="export", target=f"n{n}") for n in range(150))
    login_as(client, territory.users["administrateur"])
    first = page(client, "/journal/")
    assert "n149" in first and "n49<" not in first and "avant=" in first
    older = page(client, "/journal/?avant=51")
    assert "n49<" in older and "n0<" in older and "avant=" not in older
