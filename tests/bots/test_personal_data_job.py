"""The background job stores spans (not text), marks make it read again, MES DONNEES answers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bots.handler import Inbound, code_hash, handle_inbound
from bots.personal_data_job import Masker, detect_pending, marks_of, version_of
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import AccessCode, Contribution, Message, PersonalDataMark, PersonalDataSpan
from tests.factories import make_contribution

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
_ids = iter(range(1, 10**6))


def send(runtime: Runtime, text: str, address: str = "+33639980001") -> list[str]:
    outcome = handle_inbound(runtime, Inbound("sms", address, text, external_id=f"p{next(_ids)}"))
    with runtime.sessions() as session:
        return [session.get(Message, i).body for i in outcome.reply_ids]  # type: ignore[union-attr]


def test_the_job_stores_offsets_and_pages_mask_with_them(runtime: Runtime) -> None:
    text = "Hier soir Karim Benali criait, son tel 06 11 22 33 44"
    with transaction(runtime.sessions) as session:
        cid = make_contribution(session, text=text).id
    with runtime.sessions() as session:
        contribution = session.get_one(Contribution, cid)
        # Not read yet: the rules mask on the spot (the number), the recogniser has not run.
        assert Masker(session).contributions([contribution])[cid] == (
            "Hier soir Karim Benali criait, son tel [téléphone]"
        )
    assert detect_pending(runtime, NOW) == {
        "contributions": 1,
        "staff_replies": 0,
        "thread_messages": 0,
        "translations": 0,
    }
    assert detect_pending(runtime, NOW) == {
        "contributions": 0,
        "staff_replies": 0,
        "thread_messages": 0,
        "translations": 0,
    }
    with runtime.sessions() as session:
        spans = session.scalars(select(PersonalDataSpan).order_by(PersonalDataSpan.start)).all()
        assert [(s.kind, text[s.start : s.end]) for s in spans] == [
            ("name", "Karim Benali"),
            ("phone", "06 11 22 33 44"),
        ]
        contribution = session.get_one(Contribution, cid)
        assert Masker(session).contributions([contribution])[cid] == (
            "Hier soir [nom] criait, son tel [téléphone]"
        )


def test_a_mark_changes_the_version_and_every_text_is_read_again(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        first = make_contribution(session, text="le grand momo deale").id
        make_contribution(session, text="encore le grand momo")
    detect_pending(runtime, NOW)
    with runtime.sessions() as session:
        before = version_of(marks_of(session))
    with transaction(runtime.sessions) as session:
        session.add(
            PersonalDataMark(
                phrase="grand Momo", kind="name", verdict="mask", contribution_id=first
            )
        )
    with runtime.sessions() as session:
        assert version_of(marks_of(session)) != before
        # Masked at once on the pages, before the job passes again.
        rows = session.scalars(select(Contribution).order_by(Contribution.id)).all()
        assert list(Masker(session).contributions(rows).values()) == [
            "le [nom] deale",
            "encore le [nom]",
        ]
    assert detect_pending(runtime, NOW)["contributions"] == 2
    with transaction(runtime.sessions) as session:
        session.add(PersonalDataMark(phrase="grand momo", kind="name", verdict="keep"))
    detect_pending(runtime, NOW)
    with runtime.sessions() as session:
        rows = session.scalars(select(Contribution).order_by(Contribution.id)).all()
        assert list(Masker(session).contributions(rows).values()) == [
            "le grand momo deale",
            "encore le grand momo",
        ]


def test_the_webhook_path_never_detects_and_erasure_takes_the_spans(runtime: Runtime) -> None:
    send(runtime, "Bonjour")
    send(runtime, "oui")
    send(runtime, "M. Dupont du 3e étage deale, appelez le 06 11 22 33 44")
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(PersonalDataSpan.id))) == 0
    detect_pending(runtime, NOW)
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(PersonalDataSpan.id))) == 3
    send(runtime, "OUBLIER")
    send(runtime, "oui")
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(PersonalDataSpan.id))) == 0


def test_mes_donnees_sums_up_and_gives_a_one_time_code_kept_hashed(runtime: Runtime) -> None:
    send(runtime, "Bonjour")
    send(runtime, "oui")
    send(runtime, "Il faut des bancs")
    summary = send(runtime, "MES DONNEES")[0]
    assert "4 messages, 1 contributions, 0 réponses" in summary
    assert "OUBLIER" in summary and "Copie complète ?" in summary
    reply = send(runtime, "oui")[0]
    assert reply.startswith("Votre code : ")
    code = reply.split(" : ")[1].split(".")[0]
    assert len(code) == 9 and code[4] == "-"
    with runtime.sessions() as session:
        stored = session.scalars(select(AccessCode)).one()
        assert stored.code_hash == code_hash(code.lower()) and code not in stored.code_hash
    assert "Copie complète ?" in send(runtime, "mes données")[0]
    assert send(runtime, "non")[0].startswith("D'accord")
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(AccessCode.id))) == 1
