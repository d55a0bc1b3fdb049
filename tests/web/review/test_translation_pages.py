"""A contribution not in French: "Traduire", the stored translation, replies sent translated.

The translation server is the loopback stand-in of LibreTranslate (tests/fakes), reached by the
real client; its failures are shown and never stop the page or a reply.
"""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bots.personal_data_job import detect_pending
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Contribution, ContributionTranslation, Message, StaffReply
from tests.factories import make_contribution, make_participant
from tests.fakes.libretranslate_api import FakeLibreTranslate, fake_libretranslate  # noqa: F401
from tests.web.conftest import Territory, login_as, page, post

TURKISH = "Asansör iki haftadır bozuk, yaşlılar merdiven çıkamıyor"
FRENCH = "L'ascenseur est en panne depuis deux semaines, les personnes âgées ne montent plus"
REPLY_FR = "Merci, nous avons prévenu le bailleur."
REPLY_TR = "Teşekkürler, ev sahibine haber verdik."


@pytest.fixture
def turkish(runtime: Runtime, territory: Territory) -> int:
    with transaction(runtime.sessions) as session:
        habitant = make_participant(session, runtime, language="tr", quartier_id=territory.nord)
        return make_contribution(
            session,
            participant_id=habitant.id,
            quartier_id=territory.nord,
            text=TURKISH,
            language="tr",
        ).id


@pytest.fixture
def server(runtime: Runtime, fake_libretranslate: FakeLibreTranslate) -> FakeLibreTranslate:  # noqa: F811
    fake_libretranslate.phrases[(TURKISH, "fr")] = FRENCH
    fake_libretranslate.phrases[(REPLY_FR, "tr")] = REPLY_TR
    runtime.settings = replace(runtime.settings, translate_url=fake_libretranslate.base_url)
    return fake_libretranslate


def test_without_a_server_the_page_says_how_to_set_one_up(
    client: Any, territory: Territory, turkish: int
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    text = page(client, f"/contributions/{turkish}")
    assert TURKISH in text
    assert "Aucun serveur de traduction" in text and "pip install libretranslate" in text
    assert "libretranslate --host 127.0.0.1 --port 5000 --load-only fr," in text
    assert ">Traduire<" not in text


def test_a_french_contribution_offers_no_translation(
    client: Any, territory: Territory, server: FakeLibreTranslate, sample: Any
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    assert 'id="traduction"' not in page(client, f"/contributions/{sample.nord}")


def test_traduire_stores_the_translation_beside_the_original(
    client: Any, runtime: Runtime, territory: Territory, turkish: int, server: FakeLibreTranslate
) -> None:
    login_as(client, territory.users["conseil_citoyen"])  # reading is enough to translate
    assert ">Traduire<" in page(client, f"/contributions/{turkish}")
    response = post(client, f"/contributions/{turkish}/traduire")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/contributions/{turkish}#traduction")
    text = page(client, f"/contributions/{turkish}")
    assert TURKISH in text and FRENCH in text and "traduction automatique" in text
    assert text.index(TURKISH) < text.index(FRENCH)  # the original first, the translation beside
    with transaction(runtime.sessions) as session:
        assert session.get(Contribution, turkish).text == TURKISH
    # Searchable from the inbox, in French: a conseil citoyen searches the masked texts, which
    # the personal-data job indexes again once the translation is there.
    assert f"/contributions/{turkish}" not in page(client, "/inbox/?q=ascenseur")
    detect_pending(runtime, datetime.now(UTC))
    assert f"/contributions/{turkish}" in page(client, "/inbox/?q=ascenseur")


def test_a_failing_server_is_told_and_blocks_nothing(
    client: Any, runtime: Runtime, territory: Territory, turkish: int, server: FakeLibreTranslate
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    server.outages.append(500)
    response = post(client, f"/contributions/{turkish}/traduire")
    assert response.status_code == 303
    text = page(client, f"/contributions/{turkish}")
    assert "La traduction n'a pas abouti" in text and "HTTP 500" in text
    assert "Traduction demandée, en attente" in text  # the scheduler tries again
    server.stop()  # the server gone: the inbox and the page still answer
    assert TURKISH in page(client, "/inbox/")
    assert TURKISH in page(client, f"/contributions/{turkish}")
    with transaction(runtime.sessions) as session:
        row = session.scalars(select(ContributionTranslation)).one()
        assert (row.status, row.attempts) == ("pending", 1)


def test_a_reply_written_in_french_leaves_translated_as_edited(
    client: Any, runtime: Runtime, territory: Territory, turkish: int, server: FakeLibreTranslate
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    text = page(client, f"/contributions/{turkish}")
    assert "Traduire en Türkçe" in text
    response = post(client, f"/contributions/{turkish}/reponse-traduite", {"text": REPLY_FR})
    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    assert REPLY_TR in shown and REPLY_FR in shown  # shown, editable, before it leaves
    assert 'name="translated"' in shown
    assert not outbox(runtime)  # nothing sent yet
    edited = REPLY_TR + " Cuma günü gelecekler."
    post(client, f"/reponses/contribution/{turkish}", {"text": REPLY_FR, "translated": edited})
    [message] = outbox(runtime)
    assert message.body == edited
    with transaction(runtime.sessions) as session:
        reply = session.scalars(select(StaffReply)).one()
        assert (reply.original_text, reply.language) == (REPLY_FR, "tr")
    text = page(client, f"/contributions/{turkish}")
    assert edited in text and REPLY_FR in text


def test_when_the_reply_translation_fails_the_french_can_still_leave(
    client: Any, runtime: Runtime, territory: Territory, turkish: int, server: FakeLibreTranslate
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    server.outages.append(429)
    response = post(client, f"/contributions/{turkish}/reponse-traduite", {"text": REPLY_FR})
    shown = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and "La traduction n'a pas abouti" in shown
    assert REPLY_FR in shown  # the French as written, kept in the form
    post(client, f"/reponses/contribution/{turkish}", {"text": REPLY_FR})
    [message] = outbox(runtime)
    assert message.body == REPLY_FR


def outbox(runtime: Runtime) -> list[Message]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(Message).where(Message.direction == "out")))


def test_the_translation_is_masked_like_the_original(
    client: Any, runtime: Runtime, territory: Territory, server: FakeLibreTranslate
) -> None:
    """A number or an e-mail the habitant wrote must not come back through its translation."""
    original = "Komşum M. Dupont 06 11 22 33 44 numaralı telefondan beni rahatsız ediyor"
    french = "Mon voisin M. Dupont me dérange depuis le 06 11 22 33 44, écrivez à x@exemple.fr"
    server.phrases[(original, "fr")] = french
    with transaction(runtime.sessions) as session:
        habitant = make_participant(session, runtime, language="tr", quartier_id=territory.nord)
        contribution_id = make_contribution(
            session,
            participant_id=habitant.id,
            quartier_id=territory.nord,
            text=original,
            language="tr",
        ).id
    login_as(client, territory.users["chef_de_projet"])
    assert post(client, f"/contributions/{contribution_id}/traduire").status_code == 303
    text = page(client, f"/contributions/{contribution_id}")
    assert "traduction automatique" in text and "me dérange" in text
    assert "06 11 22 33 44" not in text and "x@exemple.fr" not in text and "Dupont" not in text
