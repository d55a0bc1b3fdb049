"""Personal data in stored texts: the background job that finds it, and the one masking function.

`detect_pending` runs in the scheduler (every minute), never in a webhook: it reads the
contributions (free messages and free-text answers), the team's replies, the habitants' answers
in a reply thread and the contributions' machine translations that the current detector has not
read yet, runs `bots.personal_data` on them in one batch with no transaction open, and stores the
spans found (offsets, not a copy of the text: `personal_data_spans` rows for contributions and
replies, a JSON column on the row for thread answers and translations), and what a masked search
reads (`storage.search.index_masked`: the text as staff read it). The detector's version
includes the team's marks: a new mark makes every text be read again, a batch at a time.

`Masker` is what every page and export shows: the stored spans
applied to the text. A text the job has not read yet is masked by the detector's rules on the
spot (phones, e-mails, IBANs, NIR, plates, addresses, titled names and the team's marks); names
that only the recogniser finds are masked once the job has passed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from bots.personal_data import KINDS, Marks, Span, detect_many, mask, normalise_phrase
from bots.runtime import Runtime
from storage import search
from storage.db import transaction
from storage.models import (
    Contribution,
    ContributionTranslation,
    Message,
    PersonalDataMark,
    PersonalDataSpan,
    StaffReply,
    ThreadMessage,
)

__all__ = [
    "BATCH",
    "DETECTOR_VERSION",
    "detect_pending",
    "health_flags",
    "marks_of",
    "Masker",
    "masked_texts",
    "spans_of",
    "stored_spans",
    "version_of",
]

log = logging.getLogger(__name__)

# Bump when bots/personal_data.py changes what it finds: every text is read again.
DETECTOR_VERSION = "pd-1"
BATCH = 500

SpanRow = tuple[int, int, str]


def marks_of(session: Session) -> Marks:
    """The team's marks, the latest verdict on a phrase winning."""
    verdicts: dict[str, tuple[str, str, str]] = {}
    for phrase, kind, verdict in session.execute(
        select(PersonalDataMark.phrase, PersonalDataMark.kind, PersonalDataMark.verdict).order_by(
            PersonalDataMark.id
        )
    ):
        verdicts[normalise_phrase(phrase)] = (phrase, kind, verdict)
    masked = tuple((p, k) for p, k, v in verdicts.values() if v == "mask" and k in KINDS)
    kept = frozenset(n for n, (_, _, v) in verdicts.items() if v == "keep")
    return Marks(masked, kept)


def version_of(marks: Marks) -> str:
    payload = repr((DETECTOR_VERSION, sorted(marks.masked), sorted(marks.kept)))
    return DETECTOR_VERSION + "-" + hashlib.sha256(payload.encode()).hexdigest()[:20]


def _stale(column: InstrumentedAttribute[str | None], version: str) -> ColumnElement[bool]:
    return or_(column.is_(None), column != version)


def detect_pending(runtime: Runtime, now: datetime, limit: int = BATCH) -> dict[str, int]:
    """Read up to ``limit`` contributions, staff replies, thread answers and translations
    waiting for the current detector; returns how many of each were read."""
    with runtime.sessions() as session:
        marks = marks_of(session)
    version = version_of(marks)
    counts = {"contributions": 0, "staff_replies": 0, "thread_messages": 0, "translations": 0}
    with runtime.sessions() as session:
        contributions = session.execute(
            select(Contribution.id, Contribution.text)
            .where(_stale(Contribution.personal_data_version, version))
            .order_by(Contribution.id.desc())
            .limit(limit)
        ).all()
        replies = session.execute(
            select(StaffReply.id, Message.body)
            .join(Message, Message.id == StaffReply.message_id)
            .where(_stale(StaffReply.personal_data_version, version))
            .order_by(StaffReply.id.desc())
            .limit(limit)
        ).all()
    if contributions:
        found = detect_many([text or "" for _, text in contributions], marks)
        searched = _search_texts(runtime, contributions, found, marks)
        _store(runtime, "contribution", contributions, found, version, now, searched)
        counts["contributions"] = len(contributions)
    if replies:
        found = detect_many([body or "" for _, body in replies], marks)
        _store(runtime, "staff_reply", replies, found, version, now)
        counts["staff_replies"] = len(replies)
    counts["thread_messages"] = _detect_rows(runtime, ThreadMessage, marks, version, limit)
    counts["translations"] = _detect_rows(runtime, ContributionTranslation, marks, version, limit)
    return counts


def _detect_rows(
    runtime: Runtime,
    model: type[ThreadMessage] | type[ContributionTranslation],
    marks: Marks,
    version: str,
    limit: int,
) -> int:
    """Thread answers and translations keep their spans on the row (``personal_data_spans``):
    read up to ``limit`` of them waiting for ``version``; returns how many were read."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(model.id, model.text)
            .where(_stale(model.personal_data_version, version))
            .order_by(model.id.desc())
            .limit(limit)
        ).all()
    if not rows:
        return 0
    found = detect_many([text or "" for _, text in rows], marks)
    with transaction(runtime.sessions) as session:
        # Only texts still as they were read: erased, or translated again, meanwhile.
        now_texts: dict[int, str] = {
            i: t
            for i, t in session.execute(
                select(model.id, model.text).where(model.id.in_([i for i, _ in rows]))
            )
        }
        for (row_id, text), spans in zip(rows, found, strict=True):
            if row_id in now_texts and now_texts[row_id] == text:
                session.execute(
                    update(model)
                    .where(model.id == row_id)
                    .values(
                        personal_data_version=version,
                        personal_data_spans=[[s.start, s.end, s.kind] for s in spans],
                    )
                )
    return len(rows)


def _search_texts(
    runtime: Runtime, rows: Sequence[tuple[int, str]], found: Sequence[list[Span]], marks: Marks
) -> dict[int, str]:
    """What a masked search reads of each contribution: its text masked with the spans just
    found, then its machine translations masked by the whole detector (names included; a
    page shows a translation masked by the rules, so the search never finds more)."""
    ids = [i for i, _ in rows]
    with runtime.sessions() as session:
        translated = session.execute(
            select(ContributionTranslation.contribution_id, ContributionTranslation.text)
            .where(
                ContributionTranslation.contribution_id.in_(ids),
                ContributionTranslation.status == "done",
                ContributionTranslation.text != "",
            )
            .order_by(ContributionTranslation.id)
        ).all()
    masked = {i: mask(text or "", spans) for (i, text), spans in zip(rows, found, strict=True)}
    spans_of_translations = detect_many([t for _, t in translated], marks)
    for (cid, text), spans in zip(translated, spans_of_translations, strict=True):
        masked[cid] += "\n" + mask(text, spans)
    return masked


def _store(
    runtime: Runtime,
    target: str,
    rows: Sequence[tuple[int, str]],
    found: Sequence[list[Span]],
    version: str,
    now: datetime,
    searched: Mapping[int, str] | None = None,
) -> None:
    """Store the spans found (and, for contributions, what a masked search reads)."""
    model = Contribution if target == "contribution" else StaffReply
    column = (
        PersonalDataSpan.contribution_id
        if target == "contribution"
        else PersonalDataSpan.staff_reply_id
    )
    with transaction(runtime.sessions) as session:
        # Only texts still as they were read: an erasure may have removed some meanwhile.
        ids = [i for i, _ in rows]
        alive = set(session.scalars(select(model.id).where(model.id.in_(ids))))
        session.execute(delete(PersonalDataSpan).where(column.in_(alive)))
        session.add_all(
            PersonalDataSpan(
                start=span.start,
                end=span.end,
                kind=span.kind,
                source=span.source,
                created_at=now,
                **{column.key: row_id},
            )
            for (row_id, _), spans in zip(rows, found, strict=True)
            if row_id in alive
            for span in spans
        )
        session.execute(
            update(model).where(model.id.in_(alive)).values(personal_data_version=version)
        )
        if searched is not None:
            search.index_masked(session, {i: t for i, t in searched.items() if i in alive})


def spans_of(session: Session, contribution_ids: Iterable[int]) -> dict[int, list[SpanRow]]:
    """The stored spans per contribution (masking kinds and flags)."""
    ids = list(contribution_ids)
    out: dict[int, list[SpanRow]] = {i: [] for i in ids}
    if not ids:
        return out
    for cid, start, end, kind in session.execute(
        select(
            PersonalDataSpan.contribution_id,
            PersonalDataSpan.start,
            PersonalDataSpan.end,
            PersonalDataSpan.kind,
        ).where(PersonalDataSpan.contribution_id.in_(ids))
    ):
        out[int(cid or 0)].append((start, end, kind))
    return out


class Masker:
    """What staff read: texts with their personal data masked. The one way pages and exports
    show a habitant's text (inbox, contribution page, results, exports)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.marks = marks_of(session)
        self.version = version_of(self.marks)

    def _mask(self, items: Sequence[tuple[int, str, str | None]], target: str) -> dict[int, str]:
        """``items`` are (id, text, version read with). A text not read by the current version
        (new, or a mark was added since) gets the rules on the spot on top of its stored
        spans."""
        if not items:
            return {}
        column = (
            PersonalDataSpan.contribution_id
            if target == "contribution"
            else PersonalDataSpan.staff_reply_id
        )
        stored: dict[int, list[SpanRow]] = {i: [] for i, _, _ in items}
        for row_id, start, end, kind in self.session.execute(
            select(
                column, PersonalDataSpan.start, PersonalDataSpan.end, PersonalDataSpan.kind
            ).where(column.in_(list(stored)))
        ):
            stored[int(row_id or 0)].append((start, end, kind))
        self._add_rules(stored, [(i, t) for i, t, v in items if v != self.version])
        return {i: mask(t, stored[i]) if stored[i] else t for i, t, _ in items}

    def _add_rules(self, spans: dict[int, list[SpanRow]], unread: list[tuple[int, str]]) -> None:
        """The rules on the spot for texts the current version has not read, on top of their
        stored spans (a phrase the team has since kept is shown)."""
        found = detect_many([t for _, t in unread], self.marks, names=False) if unread else []
        for (row_id, text), new in zip(unread, found, strict=True):
            kept = [
                s
                for s in spans[row_id]
                if normalise_phrase(text[s[0] : s[1]]) not in self.marks.kept
            ]
            spans[row_id] = kept + [(s.start, s.end, s.kind) for s in new]

    def contributions(self, rows: Iterable[Contribution]) -> dict[int, str]:
        """Each contribution's text, masked, by id."""
        return self.contribution_texts((c.id, c.text, c.personal_data_version) for c in rows)

    def contribution_texts(
        self, rows: Iterable[tuple[int, str | None, str | None]]
    ) -> dict[int, str]:
        """`contributions` from rows read without the ORM: (id, text, detector version that
        read it), by id."""
        return self._mask([(i, text or "", version) for i, text, version in rows], "contribution")

    def replies(self, rows: Iterable[StaffReply]) -> dict[int, str]:
        """Each staff reply's text, masked, by reply id."""
        items = [(r.id, r.message.body if r.message else "", r.personal_data_version) for r in rows]
        return self._mask(items, "staff_reply")

    def _mask_rows(
        self, items: Sequence[tuple[int, str, str | None, list[Any] | None]]
    ) -> dict[int, str]:
        """``items`` are (id, text, version read with, spans stored on the row). Like
        `_mask`: a text not read by the current version gets the rules on the spot on top of
        its stored spans (a phrase the team has since kept is shown)."""
        spans: dict[int, list[SpanRow]] = {
            i: [(int(a), int(b), str(k)) for a, b, k in stored or []] for i, _, _, stored in items
        }
        self._add_rules(spans, [(i, t) for i, t, v, _ in items if v != self.version])
        return {i: mask(t, spans[i]) for i, t, _, _ in items}

    def thread_answers(self, rows: Iterable[ThreadMessage]) -> dict[int, str]:
        """Each habitant's answer in a reply thread, masked, by thread message id."""
        return self._mask_rows(
            [(a.id, a.text or "", a.personal_data_version, a.personal_data_spans) for a in rows]
        )

    def translation(self, row: ContributionTranslation) -> str:
        """A contribution's machine translation, masked."""
        item = (row.id, row.text or "", row.personal_data_version, row.personal_data_spans)
        return self._mask_rows([item])[row.id]

    def answers(self, rows: Iterable[tuple[int, str]]) -> dict[int, str]:
        """Answers' raw texts by answer id: a free-text answer is also a contribution, whose
        spans are used; any other answer gets the rules on the spot."""
        items = list(rows)
        if not items:
            return {}
        by_answer = {
            c.answer_id: c
            for c in self.session.scalars(
                select(Contribution).where(Contribution.answer_id.in_([i for i, _ in items]))
            )
        }
        contributions = self.contributions(
            c for c in by_answer.values() if c.text == dict(items).get(c.answer_id or 0)
        )
        out: dict[int, str] = {}
        rest = []
        for answer_id, raw in items:
            contribution = by_answer.get(answer_id)
            if contribution is not None and contribution.id in contributions:
                out[answer_id] = contributions[contribution.id]
            else:
                rest.append((answer_id, raw))
        found = detect_many([t for _, t in rest], self.marks, names=False) if rest else []
        out.update({i: mask(t, spans) for (i, t), spans in zip(rest, found, strict=True)})
        return out


def masked_texts(session: Session, contributions: Iterable[Contribution]) -> dict[int, str]:
    """What staff read of each contribution's text, by id: personal data masked."""
    return Masker(session).contributions(contributions)


def stored_spans(session: Session, contribution_id: int) -> list[PersonalDataSpan]:
    """A contribution's stored masking spans, in reading order (flags left out)."""
    return list(
        session.scalars(
            select(PersonalDataSpan)
            .where(
                PersonalDataSpan.contribution_id == contribution_id,
                PersonalDataSpan.kind.in_(list(KINDS)),
            )
            .order_by(PersonalDataSpan.start)
        )
    )


def health_flags(session: Session, contribution_id: int, text: str) -> list[str]:
    """The health words flagged in a contribution, for the team's review (never masked)."""
    spans = spans_of(session, [contribution_id])[contribution_id]
    return sorted({text[s:e] for s, e, k in spans if k == "health" and e <= len(text)})
