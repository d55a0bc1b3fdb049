"""Back-office fixtures: accounts of each role, logged-in clients, CSRF-aware posting.

`login_as` writes Flask-Login's session keys directly (the login form itself is tested in
test_auth.py), so a test does not pay a scrypt check per request.
"""

from __future__ import annotations

import functools
import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import ROLES, User
from tests.factories import make_contribution, make_participant, make_quartier
from web.auth import hash_password

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "motdepasse-solide"


@dataclass
class Territory:
    nord: int
    sud: int
    users: dict[str, int]


@functools.cache
def password_hash() -> str:
    """One scrypt hash for every test account: hashing costs a tenth of a second each time."""
    return hash_password(PASSWORD)


@pytest.fixture
def territory(runtime: Runtime) -> Territory:
    """Two quartiers and one account per role; the conseil citoyen and the intervenant sit in
    `nord` only."""
    with transaction(runtime.sessions) as session:
        nord = make_quartier(session, code="QP-NORD", name="Les Tilleuls")
        sud = make_quartier(session, code="QP-SUD", name="Le Val Fleuri")
        users = {}
        for role in ROLES:
            user = User(
                email=f"{role}@ville.example",
                password_hash=password_hash(),
                role=role,
                quartiers=[nord] if role in ("conseil_citoyen", "intervenant") else [],
            )
            session.add(user)
            session.flush()
            users[role] = user.id
        return Territory(nord.id, sud.id, users)


def login_as(client: Any, user_id: int) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session["auth_at"] = session["seen_at"] = time.time()


def csrf_token(client: Any, page: str = "/auth/login") -> str:
    match = CSRF.search(client.get(page).get_data(as_text=True))
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def post(client: Any, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """POST with the session's CSRF token, as the browser's form would."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


@pytest.fixture
def as_role(client: Any, territory: Territory) -> Callable[[str], Any]:
    """`as_role("lecteur")` logs the test client in with that role's account."""

    def use(role: str) -> Any:
        login_as(client, territory.users[role])
        return client

    return use


@dataclass
class Sample:
    """One contribution in each quartier, from reachable habitants, with a photo in `nord`."""

    nord: int
    sud: int
    participant_nord: int
    participant_sud: int


@pytest.fixture
def sample(runtime: Runtime, territory: Territory) -> Sample:
    media_dir = runtime.settings.media_dir
    (media_dir / "photos").mkdir(parents=True, exist_ok=True)
    (media_dir / "photos" / "banc.jpg").write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    with transaction(runtime.sessions) as session:
        nord_p = make_participant(
            session, runtime, address="+33639980001", quartier_id=territory.nord
        )
        sud_p = make_participant(
            session, runtime, address="+33639980002", quartier_id=territory.sud
        )
        nord = make_contribution(
            session,
            participant_id=nord_p.id,
            quartier_id=territory.nord,
            text="Le banc du square est cassé",
            media=[
                {"kind": "photo", "file_id": "f1", "path": "photos/banc.jpg", "mime": "image/jpeg"}
            ],
        )
        sud = make_contribution(
            session,
            participant_id=sud_p.id,
            quartier_id=territory.sud,
            text="Les poubelles débordent rue des Lilas",
        )
        return Sample(nord.id, sud.id, nord_p.id, sud_p.id)


def page(client: Any, url: str) -> str:
    """The page's text with HTML entities decoded, for assertions on what a person reads."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return html.unescape(response.get_data(as_text=True))
