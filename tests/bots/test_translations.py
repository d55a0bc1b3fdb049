"""Machine translation through LibreTranslate: the real client over HTTP to a loopback stand-in.

The stand-in (tests/fakes/libretranslate_api.py) answers LibreTranslate's `/translate`, `/detect`
and `/languages`, and fails on request (HTTP errors, garbage, slowness). A translation is stored
beside the original, is searchable, and a failure is kept, retried later, and never raised into
the page or the reply that asked for it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bots import translations
from bots.personal_data_job import detect_pending
from bots.runtime import Runtime
from bots.translate import TranslationError, Translator, translator_from
from storage import search
from storage.db import transaction
from storage.models import Contribution, ContributionTranslation
from tests.factories import make_contribution
from tests.fakes.libretranslate_api import FakeLibreTranslate, fake_libretranslate  # noqa: F401

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TURKISH = "Asansör iki haftadır bozuk"
FRENCH = "L'ascenseur est en panne depuis deux semaines"


@pytest.fixture
def translating(runtime: Runtime, fake_libretranslate: FakeLibreTranslate) -> Runtime:  # noqa: F811
    fake_libretranslate.phrases[(TURKISH, "fr")] = FRENCH
    runtime.settings = replace(runtime.settings, translate_url=fake_libretranslate.base_url)
    return runtime


def add(runtime: Runtime, text: str = TURKISH, language: str = "tr") -> int:
    with runtime.sessions.begin() as session:
        return make_contribution(session, text=text, language=language).id


def row_of(runtime: Runtime, contribution_id: int) -> ContributionTranslation | None:
    with runtime.sessions() as session:
        return session.scalars(
            select(ContributionTranslation).where(
                ContributionTranslation.contribution_id == contribution_id
            )
        ).one_or_none()


# -- the client ------------------------------------------------------------------------------


def test_the_client_speaks_libretranslates_api(fake_libretranslate: FakeLibreTranslate) -> None:  # noqa: F811
    fake_libretranslate.api_key = "secret-key-123"
    fake_libretranslate.detections["Merhaba komşular"] = "tr"
    client = Translator(fake_libretranslate.base_url + "/", "secret-key-123")
    assert client.translate("Merhaba komşular", "fr", source="tr") == "[fr] Merhaba komşular"
    sent = fake_libretranslate.calls("/translate")[0].body
    assert sent == {
        "q": "Merhaba komşular",
        "source": "tr",
        "target": "fr",
        "format": "text",
        "api_key": "secret-key-123",
    }
    detected = client.detect("Merhaba komşular")
    assert detected is not None and detected.language == "tr" and detected.confidence == 90.0
    assert set(client.languages()) >= {"fr", "ar", "tr", "uk"}
    assert "secret-key-123" not in repr(client)


@pytest.mark.parametrize(
    ("status", "retry"), [(400, False), (403, False), (429, True), (500, True), (502, True)]
)
def test_every_refusal_is_one_clear_error(
    fake_libretranslate: FakeLibreTranslate,  # noqa: F811
    status: int,
    retry: bool,
) -> None:
    fake_libretranslate.outages.append(status)
    with pytest.raises(TranslationError, match=f"HTTP {status}") as caught:
        Translator(fake_libretranslate.base_url).translate("Salam", "fr")
    assert caught.value.retry is retry and not caught.value.away


def test_a_wrong_key_an_unknown_language_and_garbage(
    fake_libretranslate: FakeLibreTranslate,  # noqa: F811
) -> None:
    fake_libretranslate.api_key = "right"
    with pytest.raises(TranslationError, match="Invalid API key"):
        Translator(fake_libretranslate.base_url, "wrong").translate("Salam", "fr")
    fake_libretranslate.api_key = ""
    with pytest.raises(TranslationError, match="xx is not supported"):
        Translator(fake_libretranslate.base_url).translate("Salam", "xx")
    fake_libretranslate.garbage = 1
    with pytest.raises(TranslationError, match="illisible"):
        Translator(fake_libretranslate.base_url).translate("Salam", "fr")


def test_a_slow_or_absent_server_times_out(fake_libretranslate: FakeLibreTranslate) -> None:  # noqa: F811
    fake_libretranslate.delay = 1.0
    slow = Translator(fake_libretranslate.base_url, read_timeout=0.2)
    with pytest.raises(TranslationError, match="à temps") as caught:
        slow.translate("Salam", "fr")
    assert caught.value.away
    fake_libretranslate.stop()
    with pytest.raises(TranslationError, match="injoignable") as caught:
        Translator(fake_libretranslate.base_url, connect_timeout=0.5).translate("Salam", "fr")
    assert caught.value.away


def test_no_url_no_translator(runtime: Runtime) -> None:
    assert translator_from(runtime.settings) is None
    contribution_id = add(runtime)
    assert translations.translate_now(runtime, contribution_id, T0).status == "off"
    assert translations.translate_pending(runtime, T0) == 0
    assert row_of(runtime, contribution_id) is None


# -- stored beside the original ----------------------------------------------------------------


def test_a_translation_is_stored_beside_the_original_and_searchable(
    translating: Runtime,
    fake_libretranslate: FakeLibreTranslate,  # noqa: F811
) -> None:
    contribution_id = add(translating)
    outcome = translations.translate_now(translating, contribution_id, T0)
    assert (outcome.status, outcome.text) == ("done", FRENCH)
    assert fake_libretranslate.calls("/translate")[0].body["source"] == "tr"
    row = row_of(translating, contribution_id)
    assert row is not None
    assert (row.status, row.text, row.target, row.provider) == (
        "done",
        FRENCH,
        "fr",
        "libretranslate",
    )
    with translating.sessions() as session:
        assert session.get(Contribution, contribution_id).text == TURKISH  # never replaced
        dialect = session.get_bind().dialect.name
        for query in ("ascenseurs", "asansör"):  # the French translation, and the original
            found = session.scalars(
                select(Contribution.id).where(search.matches(dialect, query))
            ).all()
            assert found == [contribution_id], query
    # Asking again does not call the server again.
    assert translations.translate_now(translating, contribution_id, T0).status == "done"
    assert len(fake_libretranslate.calls("/translate")) == 1


def test_a_failure_is_kept_and_retried_later_by_the_job(
    translating: Runtime,
    fake_libretranslate: FakeLibreTranslate,  # noqa: F811
) -> None:
    contribution_id = add(translating)
    fake_libretranslate.outages.append(500)
    outcome = translations.translate_now(translating, contribution_id, T0)
    assert outcome.status == "pending" and "HTTP 500" in outcome.error
    row = row_of(translating, contribution_id)
    assert (
        row is not None and row.attempts == 1 and row.next_attempt_at == T0 + timedelta(minutes=1)
    )
    # Not yet due: the job leaves it.
    assert translations.translate_pending(translating, T0 + timedelta(seconds=30)) == 0
    assert translations.translate_pending(translating, T0 + timedelta(minutes=1)) == 1
    row = row_of(translating, contribution_id)
    assert row is not None and (row.status, row.text, row.error) == ("done", FRENCH, "")


def test_waits_grow_then_the_job_gives_up_until_asked_again(
    translating: Runtime,
    fake_libretranslate: FakeLibreTranslate,  # noqa: F811
) -> None:
    contribution_id = add(translating)
    with translating.sessions.begin() as session:
        translations.request(session, session.get(Contribution, contribution_id), T0)
    fake_libretranslate.outages.extend([503] * translations.MAX_ATTEMPTS)
    now, waits = T0, []
    for _ in range(translations.MAX_ATTEMPTS):
        translations.translate_pending(translating, now)
        row = row_of(translating, contribution_id)
        assert row is not None
        if row.next_attempt_at is None:
            break
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert max(waits) <= translations.LONGEST_WAIT
    row = row_of(translating, contribution_id)
    assert row is not None and row.status == "failed"
    # "Traduire" again: queued afresh and done.
    assert translations.translate_now(translating, contribution_id, now).status == "done"


def test_automatic_mode_queues_what_is_not_french(
    translating: Runtime,
    fake_libretranslate: FakeLibreTranslate,  # noqa: F811
) -> None:
    turkish = add(translating)
    french = add(translating, "Les poubelles débordent", "fr")
    empty = add(translating, "", "ar")  # a photo without a caption
    assert translations.translate_pending(translating, T0) == 0  # not automatic: nothing asked
    translating.settings = replace(translating.settings, translate_auto=True)
    assert translations.translate_pending(translating, T0) == 1
    assert row_of(translating, turkish) is not None
    assert row_of(translating, french) is None and row_of(translating, empty) is None


def test_a_server_that_is_away_stops_the_run_and_loses_nothing(
    translating: Runtime,
    fake_libretranslate: FakeLibreTranslate,  # noqa: F811
) -> None:
    translating.settings = replace(translating.settings, translate_auto=True)
    ids = [add(translating, f"Mesaj {n} komşular", "tr") for n in range(3)]
    fake_libretranslate.stop()
    assert translations.translate_pending(translating, T0) == 0
    tried = [row_of(translating, i) for i in ids]
    assert all(r is not None and r.status == "pending" for r in tried)
    assert sum(r.attempts for r in tried if r is not None) == 1  # one try, then the run stops


def test_a_reply_is_translated_into_the_habitants_language(
    translating: Runtime,
    fake_libretranslate: FakeLibreTranslate,  # noqa: F811
) -> None:
    fake_libretranslate.phrases[("Merci, nous transmettons au bailleur.", "tr")] = (
        "Teşekkürler, ev sahibine iletiyoruz."
    )
    assert (
        translations.translate_reply(translating, "Merci, nous transmettons au bailleur.", "tr")
        == "Teşekkürler, ev sahibine iletiyoruz."
    )
    assert fake_libretranslate.calls("/translate")[0].body["source"] == "fr"
    fake_libretranslate.outages.append(429)
    with pytest.raises(TranslationError, match="HTTP 429"):
        translations.translate_reply(translating, "Merci", "tr")


def test_erasing_a_contribution_erases_its_translation_and_its_search_entry(
    translating: Runtime,
) -> None:
    from sqlalchemy import delete

    contribution_id = add(translating)
    translations.translate_now(translating, contribution_id, T0)
    with translating.sessions.begin() as session:  # as OUBLIER does: one SQL delete
        session.execute(delete(Contribution).where(Contribution.id == contribution_id))
    assert row_of(translating, contribution_id) is None
    with translating.sessions() as session:
        dialect = session.get_bind().dialect.name
        assert not session.scalars(
            select(Contribution.id).where(search.matches(dialect, "ascenseur"))
        ).all()


def test_a_translation_that_arrives_is_read_again_by_the_personal_data_job(
    translating: Runtime,
) -> None:
    contribution_id = add(translating)
    with transaction(translating.sessions) as session:
        contribution = session.get(Contribution, contribution_id)
        assert contribution is not None
        translations.request(session, contribution, T0)
    assert detect_pending(translating, T0)["translations"] == 1  # read while still empty
    row = row_of(translating, contribution_id)
    assert row is not None and row.personal_data_version and row.personal_data_spans == []
    assert translations.translate_now(translating, contribution_id, T0).status == "done"
    row = row_of(translating, contribution_id)
    assert row is not None and (row.personal_data_version, row.personal_data_spans) == (None, None)
    assert detect_pending(translating, T0)["translations"] == 1
    row = row_of(translating, contribution_id)
    assert row is not None and row.personal_data_version is not None
