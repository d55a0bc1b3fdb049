"""Back-office fixtures: accounts of each role, logged-in clients, CSRF-aware posting.

`login_as` writes Flask-Login's session keys directly (the login form itself is tested in
test_auth.py), so a test does not pay a scrypt check per request.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import ROLES, User
from tests.factories import make_quartier
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
    """Two quartiers and one account per role; the conseil citoyen sits in `nord` only."""
    with transaction(runtime.sessions) as session:
        nord = make_quartier(session, code="QP-NORD", name="Les Tilleuls")
        sud = make_quartier(session, code="QP-SUD", name="Le Val Fleuri")
        users = {}
        for role in ROLES:
            user = User(
                email=f"{role}@ville.example",
                password_hash=password_hash(),
                role=role,
                quartiers=[nord] if role == "conseil_citoyen" else [],
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
