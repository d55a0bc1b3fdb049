"""The inbound queue (`bots.inbound`): recorded once, processed once, in order per habitant.

The crash tests kill a real process (SIGKILL: no cleanup, no rollback of its own) after it
recorded messages, and inside the drain's transaction, then let another drain finish: every
message is processed exactly once (one participant each, one set of replies each, nothing
lost). Two drains at once on PostgreSQL keep each habitant's messages in their order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bots import handler
from bots import inbound as inbound_module
from bots.handler import Inbound
from bots.inbound import MAX_ATTEMPTS, backlog, process_inbound, receive_now, record
from bots.participant_data import full_copy
from bots.runtime import Runtime
from storage.models import Contribution, Message, Participant
from tests.conftest import SECRET
from tests.fakes.inbound import drain

ROOT = Path(__file__).resolve().parents[2]


def sms(number: int, text: str, sid: int) -> Inbound:
    return Inbound(
        channel="sms", address=f"+3361234{number:04d}", text=text, external_id=f"SM{sid:032x}"
    )


def test_a_webhook_records_once_and_the_drain_answers(runtime: Runtime) -> None:
    assert record(runtime, sms(1, "Bonjour", 1)) is not None
    assert record(runtime, sms(1, "Bonjour", 1)) is None  # the provider's retry: nothing more
    with runtime.sessions() as session:
        [row] = session.scalars(select(Message)).all()
        assert (row.status, row.participant_id) == ("recorded", None)
        assert row.sender and row.address_enc and "1234" not in row.address_enc
        assert session.scalar(select(func.count(Participant.id))) == 0  # nothing looked up
    assert backlog(runtime) == 1
    assert drain(runtime) == {"processed": 1, "failed": 0, "skipped": 0}
    assert drain(runtime) == {"processed": 0, "failed": 0, "skipped": 0}
    with runtime.sessions() as session:
        row = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert row.status == "processed" and row.processed_at is not None
        assert (row.sender, row.address_enc, row.details) == (None, None, None)
        assert row.participant_id is not None
        replies = session.scalars(select(Message).where(Message.in_reply_to_id == row.id)).all()
    assert replies and {r.status for r in replies} == {"pending"}
    assert backlog(runtime) == 0


def test_a_message_that_keeps_failing_is_marked_failed_and_the_next_ones_go_on(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = handler.engine.step

    def failing(state: Any, incoming: Any, ctx: Any) -> Any:
        if incoming.text == "boum":
            raise RuntimeError(f"a bug in the step, reading {incoming.text!r}")
        return step(state, incoming, ctx)

    monkeypatch.setattr(handler.engine, "step", failing)
    receive_now(runtime, sms(1, "Bonjour", 1))
    record(runtime, sms(1, "boum", 2))
    record(runtime, sms(1, "oui", 3))
    for attempt in range(1, MAX_ATTEMPTS):
        assert drain(runtime)["failed"] == 1
        with runtime.sessions() as session:
            statuses = session.scalars(
                select(Message.status).where(Message.direction == "in").order_by(Message.id)
            ).all()
            assert statuses == ["processed", "recorded", "recorded"]  # "oui" waits behind
            attempts = session.scalars(select(Message.attempts).where(Message.body == "boum"))
            assert attempts.one() == attempt
    assert drain(runtime) == {"processed": 1, "failed": 1, "skipped": 0}  # then "oui" goes
    with runtime.sessions() as session:
        boum = session.scalars(select(Message).where(Message.body == "boum")).one()
        assert boum.status == "failed" and boum.attempts == MAX_ATTEMPTS
        # What failed and where, never the message's text (it may quote the habitant).
        assert boum.last_error and boum.last_error.startswith("RuntimeError at bots/")
        assert "boum" not in boum.last_error
        oui = session.scalars(select(Message).where(Message.body == "oui")).one()
        assert oui.status == "processed"
        participant = session.scalars(select(Participant)).one()
        assert participant.consent_at is not None


def test_the_messages_that_failed_are_in_the_copy_and_oublier_empties_them_only(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message given up on never reached a participant: its words are found by the sender's
    pseudonym, which the `failed` row keeps for that."""
    step = handler.engine.step

    def failing(state: Any, incoming: Any, ctx: Any) -> Any:
        if incoming.text.startswith("boum"):
            raise RuntimeError("a bug in the step")
        return step(state, incoming, ctx)

    monkeypatch.setattr(handler.engine, "step", failing)
    for number in (1, 2):
        receive_now(runtime, sms(number, "Bonjour", 10 * number))
        receive_now(runtime, sms(number, "oui", 10 * number + 1))
        record(runtime, sms(number, f"boum, mon voisin {number}", 10 * number + 2))
    for _attempt in range(MAX_ATTEMPTS):
        drain(runtime)
    with runtime.sessions() as session:
        failed = session.scalars(select(Message).where(Message.status == "failed")).all()
        assert len(failed) == 2 and all(m.sender for m in failed)
        first = session.scalars(select(Participant).order_by(Participant.id)).first()
        assert first is not None
        texts = [m["texte"] for m in full_copy(session, first)["messages"]]
        assert "boum, mon voisin 1" in texts and "boum, mon voisin 2" not in texts  # MES DONNEES
    monkeypatch.setattr(handler.engine, "step", step)
    receive_now(runtime, sms(1, "OUBLIER", 100))
    receive_now(runtime, sms(1, "oui", 101))
    with runtime.sessions() as session:
        rows = session.scalars(select(Message).where(Message.status == "failed")).all()
        emptied = [m for m in rows if m.body == ""]
        assert len(emptied) == 1
        assert (emptied[0].sender, emptied[0].address_enc, emptied[0].media) == (None, None, [])
        kept = [m for m in rows if m.body]
        assert [m.body for m in kept] == ["boum, mon voisin 2"] and kept[0].sender
        assert session.scalar(select(func.count(Participant.id))) == 1


def test_the_same_habitant_by_receive_now_waits_for_their_earlier_messages(
    runtime: Runtime,
) -> None:
    record(runtime, sms(1, "Bonjour", 1))
    outcome = receive_now(runtime, sms(1, "oui", 2))  # the trial pages' path
    assert outcome.reply_ids and not outcome.duplicate
    with runtime.sessions() as session:
        rows = session.execute(
            select(Message.body, Message.status, Message.processed_at)
            .where(Message.direction == "in")
            .order_by(Message.id)
        ).all()
        assert [(b, s) for b, s, _ in rows] == [("Bonjour", "processed"), ("oui", "processed")]
        assert rows[0].processed_at <= rows[1].processed_at
        assert session.scalars(select(Participant.consent_at)).one() is not None


# --- killed processes ---------------------------------------------------------------------------

CHILD = """
import sys, time
from storage.config import load_settings
from bots.runtime import Runtime
from bots.handler import Inbound
from bots import handler, inbound

runtime = Runtime.from_settings(load_settings())
mode, count = sys.argv[1], int(sys.argv[2])
if mode == "record":
    for n in range(count):
        inbound.record(runtime, Inbound(
            channel="sms", address=f"+3361234{n:04d}", text="Bonjour", external_id=f"SM{n:032x}"
        ))
    print("recorded", flush=True)
    time.sleep(600)
else:
    original, done = handler.enqueue_reply, []

    def hanging(*args, **kwargs):
        new = original(*args, **kwargs)
        if kwargs.get("in_reply_to") not in done:
            done.append(kwargs.get("in_reply_to"))
        if len(done) == count:  # the count-th message: its replies written, not committed
            print("inside", flush=True)
            time.sleep(600)
        return new

    handler.enqueue_reply = hanging
    inbound.process_inbound(runtime, limit=5)
    print("finished", flush=True)
"""


def _child(runtime: Runtime, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PAROLES_DATABASE_URL": runtime.settings.database_url,
        "PAROLES_SECRET_KEY": SECRET,
        "PAROLES_DATA_DIR": str(runtime.settings.data_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _kill_when(child: subprocess.Popen[str], line: str) -> None:
    assert child.stdout is not None
    for said in child.stdout:
        if said.strip() == line:
            break
    else:
        raise AssertionError(f"the child ended without saying {line!r}: {child.wait()}")
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL


def _each_processed_once(runtime: Runtime, count: int) -> None:
    with runtime.sessions() as session:
        inbound = session.execute(
            select(Message.id, Message.status, Message.participant_id).where(
                Message.direction == "in"
            )
        ).all()
        assert len(inbound) == count and {s for _, s, _ in inbound} == {"processed"}
        assert len({p for _, _, p in inbound}) == count
        assert session.scalar(select(func.count(Participant.id))) == count
        replies = session.execute(
            select(Message.in_reply_to_id, Message.body).where(Message.direction == "out")
        ).all()
    per_message = Counter(m for m, _ in replies)
    assert set(per_message) == {m for m, _, _ in inbound}  # each one answered...
    assert len(set(per_message.values())) == 1  # ...by the same replies...
    assert max(Counter(replies).values()) == 1  # ...once


@pytest.mark.slow
def test_a_process_killed_after_recording_loses_nothing(runtime: Runtime) -> None:
    child = _child(runtime, "record", "12")
    _kill_when(child, "recorded")
    assert backlog(runtime) == 12
    assert drain(runtime)["processed"] == 12
    _each_processed_once(runtime, 12)


@pytest.mark.slow
def test_a_drain_killed_inside_its_transaction_writes_nothing_twice(runtime: Runtime) -> None:
    for n in range(12):
        record(runtime, sms(n, "Bonjour", n))
    child = _child(runtime, "drain", "7")
    _kill_when(child, "inside")  # six processed and committed, the seventh half-way
    with runtime.sessions() as session:
        statuses = Counter(session.scalars(select(Message.status).where(Message.direction == "in")))
        assert statuses == {"processed": 6, "recorded": 6}
        assert session.scalar(select(func.count(Participant.id))) == 6  # the seventh's: gone
    assert drain(runtime)["processed"] == 6
    _each_processed_once(runtime, 12)


# --- two drains at once -------------------------------------------------------------------------


def test_two_drains_keep_each_habitants_messages_in_order(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("two drains share the queue with FOR UPDATE SKIP LOCKED: PostgreSQL")
    lines = ["Bonjour", "oui", "Le parc est sale", "Les bancs aussi", "Et la lumière", "Merci"]
    habitants = 4
    sid = 0
    for index, line in enumerate(lines):  # interleaved, as they would arrive
        for number in range(habitants):
            sid += 1
            record(runtime, sms(number, f"{line} ({number})" if 2 <= index < 5 else line, sid))
    fetched = inbound_module._fetched

    def slow(runtime: Runtime, message: Inbound) -> Inbound:
        # Claimed, not yet stepped: a first message takes long, for the other drain to try
        # the same habitant's next one meanwhile.
        slow_one = message.text == "Bonjour" and message.address.endswith("0000")
        time.sleep(0.3 if slow_one else 0.002)
        return fetched(runtime, message)

    monkeypatch.setattr(inbound_module, "_fetched", slow)
    counts: list[dict[str, int]] = []
    start = threading.Barrier(2)

    def drainer() -> None:
        start.wait()
        counts.append(process_inbound(runtime, limit=20))

    threads = [threading.Thread(target=drainer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(counts) == 2 and all(c["processed"] for c in counts)  # both took a share
    drain(runtime)  # what was skipped as the other's, if any
    with runtime.sessions() as session:
        rows = session.execute(
            select(Message.participant_id, Message.id, Message.processed_at, Message.status)
            .where(Message.direction == "in")
            .order_by(Message.id)
        ).all()
        contributions = session.execute(
            select(Contribution.participant_id, Contribution.text).order_by(Contribution.id)
        ).all()
    assert {r.status for r in rows} == {"processed"}
    by_habitant: dict[int, list[Any]] = {}
    for row in rows:
        by_habitant.setdefault(row.participant_id, []).append(row.processed_at)
    assert len(by_habitant) == habitants
    for times in by_habitant.values():
        assert times == sorted(times)  # in the order they were written
    for participant_id in by_habitant:
        texts = [t for p, t in contributions if p == participant_id]
        assert [t.split(" (")[0] for t in texts] == lines[2:5]
