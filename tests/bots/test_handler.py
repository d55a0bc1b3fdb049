"""`handle_inbound` with a real database: consent, STOP, OUBLIER, thèmes, codes, crashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from bots import handler
from bots.handler import Inbound, Media, handle_inbound
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import (
    Answer,
    Categorisation,
    Contribution,
    JoinCode,
    Message,
    Participant,
    Theme,
)
from tests.bots.campaign_support import make_runtime
from tests.factories import make_participant, make_quartier

_ids = iter(range(1, 10**6))


def send(runtime: Runtime, text: str, address: str = "+33639980001", **kwargs: object) -> list[str]:
    outcome = handle_inbound(
        runtime,
        Inbound("sms", address, text, external_id=f"m{next(_ids)}", **kwargs),  # type: ignore[arg-type]
    )
    with runtime.sessions() as session:
        return [session.get(Message, i).body for i in outcome.reply_ids]  # type: ignore[union-attr]


def count(runtime: Runtime, model: type, *where: object) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_consent_refused_blanks_what_was_said(runtime: Runtime) -> None:
    send(runtime, "Mon voisin fait du bruit, c'est Mr Dupont au 3e")
    send(runtime, "non")
    with runtime.sessions() as session:
        bodies = session.scalars(select(Message.body).where(Message.direction == "in")).all()
        assert bodies == ["", ""]
        assert session.scalars(select(Participant)).one().consent_at is None
    assert count(runtime, Contribution) == 0


def test_consent_refused_deletes_the_photos_held_before_it(runtime: Runtime) -> None:
    media_dir = runtime.settings.media_dir
    media_dir.mkdir(parents=True, exist_ok=True)
    held, other = media_dir / "held.jpg", media_dir / "other.jpg"
    held.write_bytes(b"jpeg")
    other.write_bytes(b"jpeg")
    send(runtime, "Regardez", media=(Media("photo", path=held.name),))  # before any consent
    send(runtime, "non")
    assert not held.exists() and other.exists()
    with runtime.sessions() as session:
        assert session.scalars(select(Message.media).where(Message.direction == "in")).all() == [
            [],
            [],
        ]


def test_stop_cancels_pending_outbox_rows(runtime: Runtime) -> None:
    send(runtime, "Bonjour")
    send(runtime, "oui")
    send(runtime, "STOP")
    with runtime.sessions() as session:
        statuses = session.scalars(
            select(Message.status).where(Message.direction == "out").order_by(Message.id)
        ).all()
        assert statuses == ["cancelled", "cancelled", "pending"]  # only the STOP confirmation
        assert session.scalars(select(Participant)).one().opted_out_at is not None
    assert send(runtime, "allo ?") == []


def test_forget_erases_everything_of_that_participant_only(runtime: Runtime) -> None:
    media_dir = runtime.settings.media_dir
    media_dir.mkdir(parents=True, exist_ok=True)
    photo = media_dir / "a.jpg"
    photo.write_bytes(b"jpeg")
    kept = media_dir / "b.jpg"
    kept.write_bytes(b"jpeg")
    for address, media in (("+33639980001", photo), ("+33639980002", kept)):
        send(runtime, "Bonjour", address)
        send(runtime, "oui", address)
        send(runtime, "Regardez la cave", address, media=(Media("photo", path=media.name),))
        send(runtime, "SCOLARITE", address)
        send(runtime, "oui", address)
    assert count(runtime, Answer) == 2
    send(runtime, "OUBLIER")
    assert "tout est effacé" in send(runtime, "oui")[0]
    assert not photo.exists() and kept.exists()
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Participant.id))) == 1
        assert session.scalar(select(func.count(Answer.id))) == 1
        other = session.scalars(select(Contribution)).one()
        assert other.text == "Regardez la cave" and other.participant_id is not None
        bodies = session.scalars(
            select(Message.body).where(Message.direction == "in", Message.participant_id.is_(None))
        ).all()
        assert bodies and set(bodies) == {""}
        assert "Regardez la cave" in session.scalars(select(Message.body)).all()


def test_theme_choice_is_a_habitant_categorisation(runtime: Runtime) -> None:
    send(runtime, "Bonjour")
    send(runtime, "oui")
    assert "C'est à propos de quoi" in send(runtime, "Les bus passent plus le soir")[0]
    send(runtime, "logement")
    with runtime.sessions() as session:
        category = session.scalars(select(Categorisation)).one()
        assert category.source == "habitant" and category.confidence is None
        assert session.get(Theme, category.theme_id).code == "cadre-de-vie"  # type: ignore[union-attr]


def test_join_code_sets_joined_via_and_quartier(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        quartier = make_quartier(session, code="QP093012", name="Les Tilleuls")
        session.add(JoinCode(code="TILLEULS", quartier_id=quartier.id, action="affiche"))
    send(runtime, "tilleuls")  # an SMS keyword, case ignored
    with runtime.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.joined_via == "TILLEULS" and participant.quartier_id == quartier.id
    send(runtime, "oui")
    replies = send(runtime, "", start_code="SCOLARITE")
    assert "1/5" in replies[0]
    with runtime.sessions() as session:
        assert session.scalars(select(Participant)).one().joined_via == "TILLEULS"  # first wins


@pytest.mark.parametrize(
    ("channel", "address"),
    [("sms", "+33639980042"), ("telegram", "424242042"), ("simulator", "sim-0a1b2c")],
)
def test_whoever_writes_again_is_reachable_again(
    runtime: Runtime, channel: str, address: str
) -> None:
    marked = datetime(2026, 3, 2, 10, 0, 0, 400_000, tzinfo=UTC)  # a send failed for good
    with transaction(runtime.sessions) as session:
        pid = make_participant(
            session, runtime, channel=channel, address=address, unreachable_at=marked
        ).id

    def write(external_id: str, at: datetime) -> datetime | None:
        inbound = Inbound(channel, address, "Bonjour", external_id=external_id, received_at=at)
        handle_inbound(runtime, inbound)
        with runtime.sessions() as session:
            return session.get(Participant, pid).unreachable_at  # type: ignore[union-attr]

    # Written before the mark and delivered late (a provider's retry): it tells nothing new.
    assert write("late", marked - timedelta(minutes=5)) == marked
    # Written after, even in the same second (Telegram's dates have no fraction).
    assert write("again", marked.replace(microsecond=0)) is None
    assert write("again", marked.replace(microsecond=0)) is None  # the retry changes nothing


def test_a_crash_mid_handle_records_nothing_and_a_retry_succeeds(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(runtime, "Bonjour")
    send(runtime, "oui")
    before = count(runtime, Message)

    def explode(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(handler, "enqueue_reply", explode)
    inbound = Inbound("sms", "+33639980001", "Le parc est sale", external_id="crash-1")
    with pytest.raises(RuntimeError):
        handle_inbound(runtime, inbound)
    assert count(runtime, Message) == before
    assert count(runtime, Contribution) == 0
    monkeypatch.undo()
    outcome = handle_inbound(runtime, inbound)
    assert not outcome.duplicate and len(outcome.reply_ids) == 1
    assert count(runtime, Contribution) == 1
    assert handle_inbound(runtime, inbound).duplicate


def test_media_path_outside_the_media_folder_is_never_deleted(
    runtime: Runtime, tmp_path: Path
) -> None:
    outside = tmp_path / "precious.txt"
    outside.write_text("keep")
    send(runtime, "Bonjour", media=(Media("photo", path="../../precious.txt"),))
    send(runtime, "non")
    assert outside.exists()


def test_info_tells_the_organisation_contact_and_retention_of_the_settings(
    database_url: str, tmp_path: Path
) -> None:
    runtime = make_runtime(
        database_url,
        tmp_path,
        PAROLES_ORGANISATION="La Ville de Montreuil",
        PAROLES_CONTACT="dpo@montreuil.fr",
        PAROLES_RETENTION_DAYS="730",
    )
    try:
        (reply,) = send(runtime, "INFO")  # before any consent: nothing is kept
        assert "La Ville de Montreuil garde vos messages 24 mois" in reply
        assert reply.endswith("Questions : dpo@montreuil.fr")
        assert count(runtime, Contribution) == 0
    finally:
        runtime.engine.dispose()


# --- words held before consent, words beside a survey (issue 16, items 5 and 7) -------------


def test_stop_before_consent_blanks_the_held_words_and_photos(runtime: Runtime) -> None:
    media_dir = runtime.settings.media_dir
    media_dir.mkdir(parents=True, exist_ok=True)
    photo = media_dir / "held.jpg"
    photo.write_bytes(b"jpeg")
    send(runtime, "Le gardien s'appelle Mr Martin", media=(Media("photo", path=photo.name),))
    send(runtime, "STOP")
    with runtime.sessions() as session:
        bodies = session.scalars(select(Message.body).where(Message.direction == "in")).all()
        assert "Mr Martin" not in " ".join(bodies)
        state = session.scalars(select(Participant.state)).one()
    assert "Martin" not in str(state)
    assert not photo.exists()
    assert count(runtime, Contribution) == 0


def test_each_held_message_is_its_own_contribution_with_its_own_photo(runtime: Runtime) -> None:
    send(runtime, "Mon voisin fait du bruit la nuit")
    send(runtime, "Regardez", media=(Media("photo", path="telegram/p.jpg"),))
    send(runtime, "6")
    (reply,) = send(runtime, "oui")
    assert reply.count("Merci") == 1
    with runtime.sessions() as session:
        rows = session.scalars(select(Contribution).order_by(Contribution.id)).all()
        assert [(c.text, [m["path"] for m in c.media]) for c in rows] == [
            ("Mon voisin fait du bruit la nuit", []),
            ("Regardez", ["telegram/p.jpg"]),
            ("6", []),
        ]


def test_free_text_in_a_survey_reaches_the_inbox_linked_to_its_question(
    runtime: Runtime,
) -> None:
    with transaction(runtime.sessions) as session:
        code = session.scalars(select(JoinCode).where(JoinCode.code == "SCOLARITE")).one()
        survey_id = code.survey_id
    send(runtime, "Bonjour")
    send(runtime, "oui")
    send(runtime, "SCOLARITE")
    (reply,) = send(runtime, "Il y a des rats dans la cave depuis des mois")
    assert reply.startswith("Merci, votre message est transmis")
    with runtime.sessions() as session:
        contribution = session.scalars(select(Contribution)).one()
        assert contribution.text == "Il y a des rats dans la cave depuis des mois"
        assert contribution.survey_id == survey_id and contribution.question_id is not None
        answer = session.scalars(select(Answer)).one()
        assert answer.understood is False and answer.question_id == contribution.question_id
        assert answer.raw_text == contribution.text


def test_a_question_misunderstood_three_times_is_recorded_unanswered(runtime: Runtime) -> None:
    send(runtime, "Bonjour")
    send(runtime, "oui")
    send(runtime, "SCOLARITE")
    for text in ("bof", "hmm", "???"):
        replies = send(runtime, text)
    assert replies[0].startswith("Pas grave, on passe à la suite.")
    with runtime.sessions() as session:
        answers = session.scalars(select(Answer).order_by(Answer.id)).all()
        assert [(a.understood, a.skipped) for a in answers] == [
            (False, False),
            (False, False),
            (False, False),
            (True, True),
        ]
        assert [a.raw_text for a in answers[:3]] == ["bof", "hmm", "???"]  # the words are kept


def test_an_answer_without_a_value_has_none_in_the_database_not_json_null(
    runtime: Runtime,
) -> None:
    """Written as plain INSERTs, a misunderstood or skipped answer still leaves `value` SQL
    NULL (as the ORM did), which the results count on; an understood one has its value."""
    send(runtime, "Bonjour")
    send(runtime, "oui")
    send(runtime, "SCOLARITE")
    for text in ("bof", "hmm", "???", "1"):  # three misses, then skipped; then an answer
        send(runtime, text)
    with runtime.sessions() as session:
        rows = session.execute(
            select(Answer.understood, Answer.skipped, Answer.value.is_(None)).order_by(Answer.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (False, False, True),
        (False, False, True),
        (False, False, True),
        (True, True, True),
        (True, False, False),
    ]


def test_a_message_costs_few_statements_and_no_orm_flush(runtime: Runtime) -> None:
    """What a survey answer sends to the database once its participant is known: the read,
    then the write (participant locked with their open conversation, message, channel,
    answer, conversation, participant, reply). A guard against a statement creeping back."""
    send(runtime, "Bonjour")
    send(runtime, "oui")
    send(runtime, "SCOLARITE")
    statements: list[str] = []
    flushes: list[object] = []

    def on_statement(_c: object, _cu: object, statement: str, *_a: object) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            statements.append(statement)

    def on_flush(*args: object) -> None:
        flushes.append(args)

    event.listen(runtime.engine, "before_cursor_execute", on_statement)
    event.listen(Session, "after_flush", on_flush)
    try:
        send(runtime, "1")
    finally:
        event.remove(runtime.engine, "before_cursor_execute", on_statement)
        event.remove(Session, "after_flush", on_flush)
    sent = statements[:-1]  # the last one is this test's own read of the reply
    assert len(sent) <= 8, sent
    assert flushes == []
