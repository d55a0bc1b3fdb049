"""The audit log: every export, change of thème, account or campaign action is written here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from storage.models import AuditEntry


def audit(db: Session, user_id: int | None, action: str, target: str, **detail: Any) -> None:
    db.add(AuditEntry(user_id=user_id, action=action, target=target, detail=detail))
