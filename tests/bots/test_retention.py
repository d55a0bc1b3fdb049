"""Retention: past the period, links to people and contact data go; anonymous aggregates stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bots.engine import Reply
from bots.handler import Inbound, enqueue_reply, handle_inbound
from bots.retention import purge
from bots.runtime import Runtime
from storage.models import (
    AuditEntry,
    Contribution,
    Conversation,
    Message,
    Participant,
    Survey,
    ThreadMessage,
)
from tests.bots.campaign_support import MONDAY_10H, make_runtime
from tests.factories import make_contribution, make_participant, make_quartier

NOW = MONDAY_10H
LONG_AGO = NOW - timedelta(days=400)
RECENTLY = NOW - timedelta(days=20)


def per_quartier(runtime: Runtime) -> dict[int | None, int]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Contribution.quartier_id, func.count()).group_by(Contribution.quartier_id)
        )
        return {quartier: count for quartier, count in rows}


def test_old_links_and_contact_data_are_erased_aggregates_stay(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        quartier = make_quartier(session)
        gone = make_participant(
            session,
            runtime,
            address="+33639980001",
            quartier_id=quartier.id,
            language="en",
            last_seen_at=LONG_AGO,
            first_seen_at=LONG_AGO,
        )
        here = make_participant(
            session,
            runtime,
            address="+33639980002",
            quartier_id=quartier.id,
            last_seen_at=RECENTLY,
            first_seen_at=LONG_AGO,
        )
        old_of_gone = make_contribution(
            session, participant_id=gone.id, quartier_id=quartier.id, created_at=LONG_AGO
        )
        old_of_here = make_contribution(
            session, participant_id=here.id, quartier_id=quartier.id, created_at=LONG_AGO
        )
        new_of_here = make_contribution(
            session, participant_id=here.id, quartier_id=quartier.id, created_at=RECENTLY
        )
        survey = session.scalars(select(Survey)).first()
        assert survey is not None
        old_talk = Conversation(
            participant_id=here.id, survey_id=survey.id, started_at=LONG_AGO, updated_at=LONG_AGO
        )
        session.add(old_talk)
        session.add(
            Message(
                direction="in",
                channel="simulator",
                participant_id=here.id,
                body="mon adresse est 3 rue des Lilas",
                status="processed",
                created_at=LONG_AGO,
            )
        )
        queued = enqueue_reply(session, gone, Reply("Rebonjour"), now=RECENTLY)
        ids = (gone.id, here.id, old_of_gone.id, old_of_here.id, new_of_here.id, old_talk.id)
        gone_pseudonym = gone.pseudonym
    before = per_quartier(runtime)

    counts = purge(runtime, NOW)
    assert counts == {
        "media_files": 0,
        "journal": 0,
        "participants": 1,
        "contributions": 2,
        "conversations": 1,
        "messages": 1,
    }

    gone_id, here_id, old_of_gone_id, old_of_here_id, new_of_here_id, old_talk_id = ids
    with runtime.sessions() as session:
        anonymous = session.get(Participant, gone_id)
        assert anonymous is not None
        assert anonymous.pseudonym.startswith("anon-") and anonymous.pseudonym != gone_pseudonym
        assert (anonymous.address_enc, anonymous.address_mask, anonymous.state) == ("", "", {})
        assert (anonymous.quartier_id, anonymous.language, anonymous.channel) == (
            quartier.id,
            "en",
            "simulator",
        )  # still counted by quartier, language and channel
        kept = session.get(Participant, here_id)
        assert kept is not None and kept.address_enc and not kept.pseudonym.startswith("anon-")
        assert session.get(Contribution, old_of_gone_id).participant_id is None  # type: ignore[union-attr]
        assert session.get(Contribution, old_of_here_id).participant_id is None  # type: ignore[union-attr]
        assert session.get(Contribution, new_of_here_id).participant_id == here_id  # type: ignore[union-attr]
        assert session.get(Contribution, old_of_here_id).text  # type: ignore[union-attr]
        assert session.get(Conversation, old_talk_id).participant_id is None  # type: ignore[union-attr]
        old_message = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert (old_message.body, old_message.participant_id) == ("", None)
        out = session.get(Message, queued)
        assert out is not None and (out.status, out.address_enc) == ("cancelled", None)
        assert session.scalar(select(func.count(Participant.id))) == 2
    assert per_quartier(runtime) == before

    assert purge(runtime, NOW) == dict.fromkeys(counts, 0)  # nothing left to do


def test_a_habitant_coming_back_after_erasure_is_a_new_participant(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        make_participant(session, runtime, address="+33639980009", last_seen_at=LONG_AGO)
    purge(runtime, NOW)
    outcome = handle_inbound(
        runtime, Inbound("simulator", "+33639980009", "Bonjour", "back-1", received_at=NOW)
    )
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Participant.id))) == 2
        returning = session.get(Participant, outcome.participant_id)
        assert returning is not None and returning.consent_at is None  # consent asked again


def test_old_attachments_are_deleted_and_say_so(runtime: Runtime) -> None:
    media_dir = runtime.settings.media_dir
    (media_dir / "telegram").mkdir(parents=True, exist_ok=True)
    old_voice, old_photo, new_photo, held, in_thread = (
        media_dir / "telegram" / name for name in ("v.ogg", "p.jpg", "n.jpg", "h.jpg", "t.jpg")
    )
    outside = media_dir.parent / "precious.txt"
    for path in (old_voice, old_photo, new_photo, held, in_thread, outside):
        path.write_bytes(b"data")

    def item(kind: str, path: Path | str) -> dict[str, str]:
        relative = path if isinstance(path, str) else path.relative_to(media_dir).as_posix()
        return {"kind": kind, "file_id": "AgAD", "path": relative, "mime": ""}

    with runtime.sessions.begin() as session:
        old = make_contribution(
            session,
            created_at=LONG_AGO,
            media=[item("voice", old_voice), item("photo", old_photo), item("photo", "")],
        )
        hostile = make_contribution(
            session, created_at=LONG_AGO, media=[item("document", "../precious.txt")]
        )
        new = make_contribution(session, created_at=RECENTLY, media=[item("photo", new_photo)])
        session.add(
            Message(
                direction="in",
                channel="telegram",
                body="",
                media=[item("photo", held)],  # held before a consent that never came
                status="processed",
                created_at=LONG_AGO,
            )
        )
        answer = ThreadMessage(  # a photo sent in the conversation that followed
            contribution_id=new.id, media=[item("photo", in_thread)], created_at=LONG_AGO
        )
        session.add(answer)
        session.flush()
        ids = (old.id, hostile.id, new.id)
        answer_id = answer.id

    counts = purge(runtime, NOW)

    assert counts["media_files"] == 4
    assert not old_voice.exists() and not old_photo.exists() and not held.exists()
    assert not in_thread.exists()
    assert new_photo.exists() and outside.exists()
    with runtime.sessions() as session:
        old_media, hostile_media, new_media = (
            session.get(Contribution, i).media  # type: ignore[union-attr]
            for i in ids
        )
    assert old_media == [
        {"kind": "voice", "removed": "retention"},
        {"kind": "photo", "removed": "retention"},
        {"kind": "photo", "removed": "retention"},
    ]
    assert hostile_media == [{"kind": "document", "removed": "retention"}]
    assert new_media == [item("photo", new_photo)]
    with runtime.sessions() as session:
        thread = session.get(ThreadMessage, answer_id)
        assert thread is not None and thread.media == [{"kind": "photo", "removed": "retention"}]
    assert purge(runtime, NOW)["media_files"] == 0


def test_the_period_comes_from_the_settings(database_url: str, tmp_path: Path) -> None:
    runtime = make_runtime(database_url, tmp_path, PAROLES_RETENTION_DAYS="30")
    with runtime.sessions.begin() as session:
        make_participant(session, runtime, last_seen_at=NOW - timedelta(days=31))
        make_participant(session, runtime, last_seen_at=NOW - timedelta(days=29))
    assert purge(runtime, NOW)["participants"] == 1
    runtime.engine.dispose()


def test_the_journal_is_kept_its_own_period(database_url: str, tmp_path: Path) -> None:
    runtime = make_runtime(database_url, tmp_path)  # default: a year, as the AIPD says
    assert runtime.settings.journal_retention_days == 365
    with runtime.sessions.begin() as session:
        for days, action in ((400, "export"), (366, "personal_data.reveal"), (20, "export")):
            session.add(AuditEntry(action=action, target="x", at=NOW - timedelta(days=days)))
    assert purge(runtime, NOW)["journal"] == 2
    with runtime.sessions() as session:
        assert session.scalars(select(AuditEntry.at)).all() == [NOW - timedelta(days=20)]
    runtime.engine.dispose()
    shorter = make_runtime(database_url, tmp_path, PAROLES_JOURNAL_RETENTION_DAYS="10")
    assert purge(shorter, NOW)["journal"] == 1
    shorter.engine.dispose()
