"""The inbox: newest first, thèmes as they really are, every filter, keyset paging."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Categorisation, Contribution, Question, Survey, Theme
from tests.factories import make_contribution
from tests.web.conftest import Territory, login_as

CARD = re.compile(r'<article class="contribution line[^"]*" id="c-(\d+)"')
NEXT = re.compile(r'href="([^"]+)" rel="next"')
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def ids(client: Any, url: str = "/inbox/") -> list[int]:
    response = client.get(url)
    assert response.status_code == 200
    return [int(i) for i in CARD.findall(response.get_data(as_text=True))]


def theme(session: Any, code: str) -> Theme:
    return session.scalars(select(Theme).where(Theme.code == code)).one()


def test_newest_first_with_quartier_channel_origin_and_status(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as session:
        old = make_contribution(session, created_at=T0, quartier_id=territory.nord)
        new = make_contribution(
            session, created_at=T0 + timedelta(hours=1), channel="sms", status="a_traiter"
        )
    login_as(client, territory.users["chef_de_projet"])
    assert ids(client) == [new.id, old.id]
    page = client.get("/inbox/").get_data(as_text=True)
    assert "Les Tilleuls" in page and "SMS" in page and "message libre" in page
    assert "À traiter" in page and "Nouveau" in page
    assert "2 mars 2026" in page or "02/03/2026" in page  # dates in French, Paris time


def test_thèmes_show_confirmed_suggested_habitant_or_to_sort(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as session:
        plain = make_contribution(session, text="rien de classé")
        suggested = make_contribution(session, text="suggestion seule")
        chosen = make_contribution(session, text="choix de l'habitant")
        confirmed = make_contribution(session, text="déjà confirmé")
        school, youth = theme(session, "scolarite"), theme(session, "aller-vers")
        session.add_all(
            [
                Categorisation(
                    contribution_id=suggested.id,
                    theme_id=school.id,
                    source="suggestion",
                    confidence=0.82,
                    model_version="tfidf-1",
                ),
                Categorisation(contribution_id=chosen.id, theme_id=youth.id, source="habitant"),
                Categorisation(contribution_id=confirmed.id, theme_id=school.id, source="staff"),
            ]
        )
    login_as(client, territory.users["chef_de_projet"])
    page = client.get("/inbox/").get_data(as_text=True)
    cards = dict(
        zip(CARD.findall(page), map(html.unescape, re.split(CARD, page)[2::2]), strict=True)
    )
    assert "À trier" in cards[str(plain.id)] and "Suggéré" not in cards[str(plain.id)]
    assert "Confirmer" not in cards[str(plain.id)]  # nothing to confirm: no fake suggestion
    assert "Suggéré : Accompagnement à la scolarité (82 %)" in cards[str(suggested.id)]
    assert "Confirmer « Accompagnement à la scolarité »" in cards[str(suggested.id)]
    assert "Choisi par l'habitant : Aller-vers les habitants" in cards[str(chosen.id)]
    assert "Confirmer « Aller-vers les habitants »" in cards[str(chosen.id)]
    assert "À trier" in cards[str(chosen.id)]  # a habitant's choice still needs the team
    assert 'class="badge confirmed theme-' in cards[str(confirmed.id)]
    assert "Confirmer" not in cards[str(confirmed.id)]


def test_every_filter(client: Any, runtime: Runtime, territory: Territory) -> None:
    with transaction(runtime.sessions) as session:
        survey = session.scalars(select(Survey).where(Survey.slug == "scolarite")).one()
        question = session.scalars(select(Question).where(Question.survey_id == survey.id)).first()
        school = theme(session, "scolarite")
        a = make_contribution(
            session, quartier_id=territory.nord, channel="telegram", created_at=T0
        )
        b = make_contribution(
            session,
            quartier_id=territory.sud,
            channel="sms",
            kind="answer",
            survey_id=survey.id,
            question_id=question.id,
            created_at=T0 + timedelta(days=3),
            media=[{"kind": "voice", "file_id": "v", "path": "", "mime": "audio/ogg"}],
        )
        c = make_contribution(
            session,
            status="archive",
            created_at=T0 + timedelta(days=5),
            media=[{"kind": "photo", "file_id": "p", "path": "", "mime": "image/jpeg"}],
        )
        d = make_contribution(session, status="traite", created_at=T0 + timedelta(days=6))
        session.add(Categorisation(contribution_id=a.id, theme_id=school.id, source="staff"))
        session.add(
            Categorisation(
                contribution_id=b.id, theme_id=school.id, source="suggestion", confidence=0.5
            )
        )
    login_as(client, territory.users["chef_de_projet"])
    cases = {
        "": {a.id, b.id, d.id},  # archived ones only when asked for
        "?statut=tous": {a.id, b.id, c.id, d.id},
        "?statut=archive": {c.id},
        "?statut=traite": {d.id},
        f"?quartier={territory.nord}": {a.id},
        "?canal=sms": {b.id},
        "?theme=scolarite": {a.id, b.id},
        "?etat=confirme": {a.id},
        "?etat=suggere": {b.id},
        "?etat=a_trier&statut=tous": {c.id, d.id},
        "?enquete=libre": {a.id, d.id},
        f"?enquete={survey.id}": {b.id},
        f"?enquete={survey.id}&question={question.id}": {b.id},
        "?pj=any&statut=tous": {b.id, c.id},
        "?pj=photo&statut=tous": {c.id},
        "?pj=voice": {b.id},
        "?du=2026-03-05&statut=tous": {b.id, c.id, d.id},
        "?au=2026-03-05": {a.id, b.id},
    }
    results = {query: set(ids(client, "/inbox/" + query)) for query in cases}
    assert results == cases


def test_full_text_search_in_the_inbox(client: Any, runtime: Runtime, territory: Territory):
    with transaction(runtime.sessions) as session:
        hit = make_contribution(session, text="Les Poubelles débordent encore")
        make_contribution(session, text="Il manque un ascenseur")
    login_as(client, territory.users["chef_de_projet"])  # searches originals
    assert ids(client, "/inbox/?q=poubelle") == [hit.id]
    assert ids(client, "/inbox/?q=poubelle+debordent") == [hit.id]  # plural, accent
    assert ids(client, "/inbox/?q=ascenseurs+poubelles") == []


def test_keyset_paging_visits_every_contribution_once_in_order(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    rows = [
        # Pairs with the same instant: the id breaks the tie, so no row is skipped or repeated.
        {"channel": "sms", "text": f"message {n}", "created_at": T0 + timedelta(minutes=n // 2)}
        for n in range(123)
    ]
    with transaction(runtime.sessions) as session:
        session.execute(insert(Contribution), rows)
        expected = list(
            session.scalars(
                select(Contribution.id).order_by(
                    Contribution.created_at.desc(), Contribution.id.desc()
                )
            )
        )
    login_as(client, territory.users["lecteur"])
    seen: list[int] = []
    url = "/inbox/"
    pages = 0
    while url:
        page = client.get(url.replace("&amp;", "&")).get_data(as_text=True)
        seen.extend(int(i) for i in CARD.findall(page))
        link = NEXT.search(page)
        url = link.group(1) if link else ""
        pages += 1
    assert seen == expected
    assert pages == 3
    assert "(123)" in client.get("/inbox/").get_data(as_text=True)


def test_a_malformed_cursor_shows_the_first_page(client: Any, territory: Territory) -> None:
    login_as(client, territory.users["lecteur"])
    for cursor in ("x", "2026-13-01_5", "2026-03-02T09:00:00_abc", "2026-03-02T09:00:00_1"):
        assert client.get("/inbox/", query_string={"apres": cursor}).status_code == 200


def test_photo_shown_and_voice_playable(client: Any, runtime: Runtime, territory: Territory):
    with transaction(runtime.sessions) as session:
        c = make_contribution(
            session,
            media=[
                {"kind": "photo", "file_id": "p", "path": "p/1.jpg", "mime": "image/jpeg"},
                {"kind": "voice", "file_id": "v", "path": "v/1.ogg", "mime": "audio/ogg"},
            ],
        )
    login_as(client, territory.users["lecteur"])
    for url in ("/inbox/", f"/contributions/{c.id}"):
        page = client.get(url).get_data(as_text=True)
        assert f'<img src="/contributions/{c.id}/media/0"' in page
        assert f'<audio controls preload="none" src="/contributions/{c.id}/media/1"' in page


def test_an_attachment_deleted_at_the_end_of_retention_says_so(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as session:
        c = make_contribution(session, media=[{"kind": "voice", "removed": "retention"}])
    login_as(client, territory.users["lecteur"])
    page = client.get(f"/contributions/{c.id}").get_data(as_text=True)
    assert "Pièce jointe supprimée à la fin de la durée de conservation (message vocal)" in page
    assert f"/contributions/{c.id}/media/0" not in page
    assert client.get(f"/contributions/{c.id}/media/0").status_code == 404
