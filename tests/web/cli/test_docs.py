"""`paroles docs privacy`: the AIPD, the registre entry and the notice follow the settings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from bots.runtime import Runtime
from storage.config import Settings
from web.cli.privacy_docs import render_documents


def test_the_command_writes_the_three_documents(runner: Any, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    result = runner.invoke(args=["docs", "privacy", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["aipd.md", "confidentialite.md", "registre.md"]
    aipd = (out / "aipd.md").read_text(encoding="utf-8")
    for module in ("bots/personal_data.py", "bots/retention.py", "web/admin/participants.py"):
        assert module in aipd and Path(module).exists()  # every measure points at real code


def test_durations_and_who_come_from_the_settings(runtime: Runtime, settings: Settings) -> None:
    configured = replace(
        settings,
        retention_days=180,
        journal_retention_days=270,
        organisation="La Ville de Montreuil",
        contact="dpo@mtr.fr",
    )
    docs = render_documents(configured)
    assert "**180 jours** (environ 6 mois)" in docs["aipd.md"]
    assert "**270 jours** (environ 9 mois)" in docs["aipd.md"]  # the journal's own period
    assert "journal des actions de l'équipe 270 jours" in docs["registre.md"]
    assert "La Ville de Montreuil" in docs["registre.md"] and "dpo@mtr.fr" in docs["registre.md"]
    notice = docs["confidentialite.md"]
    assert "6 mois après votre dernier message" in notice and "MES DONNEES" in notice
    assert "santé, la religion ou la politique" in notice
    assert "[à compléter" in render_documents(settings)["aipd.md"]  # unknown: said so
