"""Confirming, correcting, adding and removing thèmes, statuses, bulk actions, and the audit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import AuditEntry, Categorisation, Contribution, Theme
from tests.factories import make_contribution
from tests.web.conftest import Territory, login_as, post


def theme_ids(runtime: Runtime) -> dict[str, int]:
    with transaction(runtime.sessions) as session:
        return dict(session.execute(select(Theme.code, Theme.id)).all())


def staff_themes(runtime: Runtime, contribution_id: int) -> set[str]:
    with transaction(runtime.sessions) as session:
        return set(
            session.scalars(
                select(Theme.code)
                .join(Categorisation, Categorisation.theme_id == Theme.id)
                .where(
                    Categorisation.contribution_id == contribution_id,
                    Categorisation.source == "staff",
                )
            )
        )


def audit_log(runtime: Runtime) -> list[tuple[str, str, dict[str, Any]]]:
    with transaction(runtime.sessions) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(row.action, row.target, row.detail) for row in rows]


def suggested(
    runtime: Runtime, code: str, confidence: float = 0.9, words: tuple[str, ...] = (), **kwargs: Any
) -> int:
    with transaction(runtime.sessions) as session:
        contribution = make_contribution(session, **kwargs)
        theme = session.scalars(select(Theme).where(Theme.code == code)).one()
        session.add(
            Categorisation(
                contribution_id=contribution.id,
                theme_id=theme.id,
                source="suggestion",
                confidence=confidence,
                model_version="m1",
                detail={"rank": 0, "words": list(words)},
            )
        )
        return contribution.id


def test_confirm_accepts_the_best_suggestion_in_one_click(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    cid = suggested(runtime, "scolarite", 0.9)
    with transaction(runtime.sessions) as session:
        other = session.scalars(select(Theme).where(Theme.code == "aller-vers")).one()
        session.add(
            Categorisation(
                contribution_id=cid, theme_id=other.id, source="suggestion", confidence=0.4
            )
        )
    login_as(client, territory.users["chef_de_projet"])
    response = post(
        client,
        f"/contributions/{cid}/theme",
        {"action": "confirm", "next": "/inbox/?canal=sms", "focus": "7"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/inbox/?canal=sms#c-7")  # on to the next one
    assert staff_themes(runtime, cid) == {"scolarite"}
    action, target, detail = audit_log(runtime)[-1]
    assert (action, target) == ("theme.confirm", f"contribution:{cid}")
    assert (
        detail["theme"] == "scolarite"
        and detail["before"] == []
        and detail["after"] == ["scolarite"]
    )


def test_confirm_falls_back_on_the_habitant_choice_and_refuses_when_nothing(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    ids = theme_ids(runtime)
    with transaction(runtime.sessions) as session:
        chosen = make_contribution(session)
        nothing = make_contribution(session)
        session.add(
            Categorisation(contribution_id=chosen.id, theme_id=ids["scolarite"], source="habitant")
        )
    login_as(client, territory.users["chef_de_projet"])
    post(client, f"/contributions/{chosen.id}/theme", {"action": "confirm"})
    assert staff_themes(runtime, chosen.id) == {"scolarite"}
    response = post(client, f"/contributions/{nothing.id}/theme", {"action": "confirm"})
    assert response.status_code == 302
    assert staff_themes(runtime, nothing.id) == set()
    assert [a for a, _t, _d in audit_log(runtime)] == ["theme.confirm"]


def test_correct_then_add_a_second_then_remove(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    ids = theme_ids(runtime)
    cid = suggested(runtime, "scolarite")
    login_as(client, territory.users["chef_de_projet"])
    url = f"/contributions/{cid}/theme"
    post(client, url, {"action": "confirm"})
    post(client, url, {"action": "set", "theme_id": ids["aller-vers"]})
    assert staff_themes(runtime, cid) == {"aller-vers"}
    post(client, url, {"action": "add", "theme_id": ids["soutien-associations"]})
    assert staff_themes(runtime, cid) == {"aller-vers", "soutien-associations"}
    post(client, url, {"action": "remove", "theme_id": ids["aller-vers"]})
    assert staff_themes(runtime, cid) == {"soutien-associations"}
    assert [a for a, _t, _d in audit_log(runtime)] == [
        "theme.confirm",
        "theme.set",
        "theme.add",
        "theme.remove",
    ]
    # The suggestion stays on record: the team's choice is shown instead of it.
    with transaction(runtime.sessions) as session:
        sources = set(session.scalars(select(Categorisation.source)))
    assert sources == {"suggestion", "staff"}


def test_bad_thème_actions_are_refused(client: Any, runtime: Runtime, territory: Territory):
    ids = theme_ids(runtime)
    with transaction(runtime.sessions) as session:
        cid = make_contribution(session).id
        inactive = session.get(Theme, ids["scolarite"])
        assert inactive is not None
        inactive.active = False
    login_as(client, territory.users["chef_de_projet"])
    url = f"/contributions/{cid}/theme"
    assert (
        post(client, url, {"action": "explode", "theme_id": ids["aller-vers"]}).status_code == 400
    )
    assert post(client, url, {"action": "set", "theme_id": "999999"}).status_code == 400
    assert post(client, url, {"action": "set"}).status_code == 400
    assert post(client, url, {"action": "set", "theme_id": ids["scolarite"]}).status_code == 400
    assert post(client, f"/contributions/{cid}/status", {"status": "parti"}).status_code == 400
    assert post(client, "/contributions/999999/status", {"status": "traite"}).status_code == 404


def test_status_changes_are_recorded(client: Any, runtime: Runtime, territory: Territory):
    with transaction(runtime.sessions) as session:
        cid = make_contribution(session).id
    login_as(client, territory.users["chef_de_projet"])
    post(client, f"/contributions/{cid}/status", {"status": "traite"})
    post(client, f"/contributions/{cid}/status", {"status": "traite"})  # no change, no entry
    with transaction(runtime.sessions) as session:
        assert session.get(Contribution, cid).status == "traite"  # type: ignore[union-attr]
    assert [(a, d["after"]) for a, _t, d in audit_log(runtime)] == [("status.set", "traite")]


def test_bulk_confirm_set_and_status(client: Any, runtime: Runtime, territory: Territory):
    ids = theme_ids(runtime)
    a = suggested(runtime, "scolarite", quartier_id=territory.nord)
    b = suggested(runtime, "aller-vers", quartier_id=territory.nord)
    with transaction(runtime.sessions) as session:
        c = make_contribution(session, quartier_id=territory.nord).id
    login_as(client, territory.users["conseil_citoyen"])
    response = post(client, "/contributions/bulk", {"ids": [a, b, c], "action": "confirm"})
    assert response.status_code == 302
    assert staff_themes(runtime, a) == {"scolarite"}
    assert staff_themes(runtime, b) == {"aller-vers"}
    assert staff_themes(runtime, c) == set()  # nothing suggested: left to sort
    page = client.get("/inbox/").get_data(as_text=True)
    assert "2 contribution(s) mise(s) à jour sur 3." in page
    post(
        client,
        "/contributions/bulk",
        {"ids": [a, c], "action": "set", "theme_id": ids["soutien-associations"]},
    )
    assert staff_themes(runtime, a) == staff_themes(runtime, c) == {"soutien-associations"}
    post(client, "/contributions/bulk", {"ids": [a, b, c], "action": "status", "status": "traite"})
    with transaction(runtime.sessions) as session:
        assert set(session.scalars(select(Contribution.status))) == {"traite"}
    entries = audit_log(runtime)
    assert len(entries) == 2 + 2 + 3
    assert all(detail.get("bulk") for _a, _t, detail in entries)


def test_bulk_without_selection_or_with_nonsense(client: Any, territory: Territory) -> None:
    login_as(client, territory.users["chef_de_projet"])
    response = post(client, "/contributions/bulk", {"action": "confirm"})
    assert response.status_code == 302
    assert "Cochez au moins une contribution" in client.get("/inbox/").get_data(as_text=True)
    assert post(client, "/contributions/bulk", {"ids": [1], "action": "rm -rf"}).status_code == 400
    assert (
        post(client, "/contributions/bulk", {"ids": [424242], "action": "confirm"}).status_code
        == 404
    )


def test_a_suggestion_shows_its_confidence_and_the_words_that_weighed(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    text = "Les devoirs à l'école <b>école</b>"
    cid = suggested(runtime, "scolarite", 0.83, words=("devoirs", "école"), text=text)
    login_as(client, territory.users["chef_de_projet"])
    for page in ("/inbox/", f"/contributions/{cid}"):
        html = client.get(page).get_data(as_text=True)
        assert "Suggéré : Accompagnement à la scolarité (83 %)" in html
        assert "mots qui ont compté : devoirs, école" in html
        assert "<b>école" not in html
