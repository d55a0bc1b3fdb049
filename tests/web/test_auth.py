"""Logging in and out: the real form, rate limits kept in the database, sessions that expire."""

from __future__ import annotations

import html
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bots.runtime import Runtime
from storage.config import ConfigError, Settings, load_settings
from storage.db import transaction
from storage.models import LoginAttempt, User
from tests.web.conftest import PASSWORD, Territory, csrf_token, login_as, post
from web import auth, create_app
from web.auth import hash_password

EMAIL = "chef_de_projet@ville.example"


def log_in(client: Any, email: str = EMAIL, password: str = PASSWORD, **kwargs: Any) -> Any:
    return post(client, "/auth/login", {"email": email, "password": password}, **kwargs)


def test_login_page_is_french_and_has_labelled_fields(client: Any) -> None:
    page = client.get("/auth/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Connexion à l'espace équipe" in page
    assert '<label for="email">' in page and '<label for="password">' in page


def test_the_right_password_opens_the_home_page(client: Any, territory: Territory) -> None:
    response = log_in(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"  # "À faire"
    assert client.get("/inbox/").status_code == 200


def test_a_wrong_password_is_refused_and_counted(
    client: Any, territory: Territory, runtime: Runtime
) -> None:
    response = log_in(client, password="pas-le-bon-mot")
    assert response.status_code == 401
    assert "Adresse ou mot de passe incorrect" in response.get_data(as_text=True)
    assert client.get("/inbox/").status_code == 302  # still anonymous
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count(LoginAttempt.id))) == 1


def test_five_failures_block_the_account_even_with_the_right_password(
    client: Any, territory: Territory
) -> None:
    for _ in range(5):
        assert log_in(client, password="mauvais-mot-de-passe").status_code == 401
    blocked = log_in(client)
    assert blocked.status_code == 429
    assert "Trop d&#39;essais" in blocked.get_data(as_text=True)
    # Another account from another address is not blocked.
    other = log_in(client, email="lecteur@ville.example", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 302


def test_twenty_failures_from_one_address_block_that_address(
    client: Any, territory: Territory, runtime: Runtime
) -> None:
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        for n in range(20):
            session.add(LoginAttempt(at=now, email=f"x{n}@ville.example", ip="127.0.0.1"))
    assert log_in(client).status_code == 429
    assert log_in(client, environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 302


def test_old_failures_no_longer_count(client: Any, territory: Territory, runtime: Runtime) -> None:
    long_ago = datetime.now(UTC) - timedelta(minutes=16)
    with transaction(runtime.sessions) as session:
        for _ in range(5):
            session.add(LoginAttempt(at=long_ago, email=EMAIL, ip="127.0.0.1"))
    assert log_in(client).status_code == 302


def test_an_unknown_or_inactive_address_costs_one_password_check_like_a_known_one(
    client: Any, territory: Territory, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing must not tell which addresses have an account: every refusal pays one scrypt."""
    checked: list[str] = []
    real_check = auth.check_password_hash

    def spy(pwhash: str, password: str) -> bool:
        checked.append(pwhash.split("$")[0])  # the method and its cost parameters
        return real_check(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", spy)
    with transaction(runtime.sessions) as session:
        session.execute(
            update(User).where(User.email == "lecteur@ville.example").values(active=False)
        )
    method = hash_password("n-importe-quoi").split("$")[0]
    for email in (EMAIL, "personne@ville.example", "lecteur@ville.example"):
        checked.clear()
        assert log_in(client, email=email, password="pas-le-bon-mot").status_code == 401
        assert checked == [method], email
    checked.clear()
    assert log_in(client, email="lecteur@ville.example").status_code == 401  # right but inactive
    assert checked == [method]


@pytest.mark.parametrize(
    "address",
    [
        "admin@site.test",
        "Agent@Mairie.local",
        "pas-une-adresse",
        "deux@@ville.example",
        "  Chef.Nom@Ville-Exemple.FR ",
        "élu@quartier.example",
    ],
)
def test_one_rule_for_addresses_in_users_add_and_the_login_form(
    runner: Any, client: Any, runtime: Runtime, address: str
) -> None:
    """What `paroles users add` accepts can log in; what it refuses, the form refuses alike."""
    added = runner.invoke(
        args=["users", "add", address, "--role", "lecteur"], input=PASSWORD + "\n"
    )
    response = log_in(client, email=address)
    if added.exit_code == 0:
        assert response.status_code == 302, response.get_data(as_text=True)
    else:
        assert response.status_code == 400
        said = html.unescape(response.get_data(as_text=True))
        reason = added.output.strip().removeprefix("Error: ").removeprefix("Erreur : ")
        assert reason and reason in said, (reason, added.output)
        with transaction(runtime.sessions) as session:
            assert session.scalar(select(func.count(User.id))) == 0


def test_a_reserved_domain_is_said_next_to_the_address_field(client: Any) -> None:
    response = log_in(client, email="admin@site.test")
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert 'aria-describedby="err-email"' in page and 'aria-invalid="true"' in page
    error = page.split('id="err-email">')[1].split("</span>")[0]
    assert "« site.test » est réservé" in error


def test_empty_fields_are_each_said_next_to_their_field(client: Any) -> None:
    response = log_in(client, email="", password="")
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert "Indiquez une adresse e-mail." in page.split('id="err-email">')[1].split("</span>")[0]
    assert "Indiquez votre mot de passe." in page.split('id="err-password">')[1].split("</span>")[0]
    [focused] = [tag for tag in re.findall(r"<input[^>]*>", page) if "autofocus" in tag]
    assert 'id="email"' in focused


def test_a_wrong_password_is_said_next_to_the_password_without_saying_which(
    client: Any, territory: Territory
) -> None:
    for email in (EMAIL, "personne@ville.example"):
        page = html.unescape(log_in(client, email=email, password="faux").get_data(as_text=True))
        error = page.split('id="err-password">')[1].split("</span>")[0]
        assert error == "Adresse ou mot de passe incorrect."


def test_login_needs_the_csrf_token(client: Any, territory: Territory) -> None:
    response = client.post("/auth/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 400


def test_next_only_goes_to_this_site(client: Any, territory: Territory) -> None:
    csrf_token(client)
    ok = log_in(client, query_string={"next": "/themes/"})
    assert ok.headers["Location"].endswith("/themes/")
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/comptes/moi")})
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = log_in(client, query_string={"next": evil})
        assert response.headers["Location"] == "/", evil
        client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/comptes/moi")})


# How browsers read a Location: tabs and newlines dropped anywhere, spaces and controls trimmed at
# the ends, a backslash taken as a slash. Each of these lands on another host.
EVIL_NEXT = (
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\x00/evil.example",
    "\\\\evil.example",
)


def test_next_after_normalising_whitespace_stays_on_this_site(
    client: Any, territory: Territory
) -> None:
    csrf_token(client)
    for evil in EVIL_NEXT:
        response = log_in(client, query_string={"next": evil})
        assert response.headers["Location"] == "/", evil
        client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/comptes/moi")})
    ok = log_in(client, query_string={"next": "\t/themes/"})
    assert ok.headers["Location"] == "/themes/"


def test_a_contribution_form_next_stays_on_this_site(
    client: Any, territory: Territory, sample: Any
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    url = f"/contributions/{sample.nord}/status"
    for evil in EVIL_NEXT:
        response = post(client, url, {"status": "traite", "next": evil})
        assert response.status_code == 302
        assert response.headers["Location"] == "/inbox/", evil
    kept = post(client, url, {"status": "traite", "next": "/inbox/?quartier=1", "focus": "7"})
    assert kept.headers["Location"] == "/inbox/?quartier=1#c-7"


def test_logout_is_a_post_with_csrf(client: Any, territory: Territory) -> None:
    login_as(client, territory.users["lecteur"])
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 400
    token = csrf_token(client, "/inbox/")
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/inbox/").status_code == 302


def copy_of_session(app: Any, client: Any) -> Any:
    """Another browser holding the same session cookie (stolen, or copied before logout)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_session_cookie_copied_before_logout_no_longer_works(
    app: Any, client: Any, territory: Territory
) -> None:
    assert log_in(client).status_code == 302
    copy = copy_of_session(app, client)
    assert copy.get("/inbox/").status_code == 200
    assert client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/inbox/")})
    response = copy.get("/inbox/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_logout_ends_every_session_of_the_account_and_only_that_account(
    app: Any, client: Any, territory: Territory
) -> None:
    phone, other_account = app.test_client(), app.test_client()
    assert log_in(client).status_code == 302
    assert log_in(phone).status_code == 302
    login_as(other_account, territory.users["lecteur"])
    assert client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/inbox/")})
    assert phone.get("/inbox/").status_code == 302
    assert other_account.get("/inbox/").status_code == 200
    assert log_in(phone).status_code == 302 and phone.get("/inbox/").status_code == 200


def test_an_idle_session_expires(client: Any, territory: Territory) -> None:
    login_as(client, territory.users["lecteur"])
    assert client.get("/inbox/").status_code == 200
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 3 * 3600
    response = client.get("/inbox/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.get("/inbox/").status_code == 302


def test_a_session_ends_after_the_maximum_even_when_active(client: Any, territory: Territory):
    login_as(client, territory.users["lecteur"])
    with client.session_transaction() as session:
        session["auth_at"] = time.time() - 13 * 3600
    assert client.get("/inbox/").status_code == 302


def test_a_deactivated_account_is_out_at_its_next_request(
    client: Any, territory: Territory, runtime: Runtime
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    assert client.get("/inbox/").status_code == 200
    with transaction(runtime.sessions) as session:
        session.execute(update(User).values(active=False))
    assert client.get("/inbox/").status_code == 302
    assert log_in(client).status_code == 401


def test_forwarded_addresses_are_ignored_without_proxies(
    client: Any, territory: Territory, runtime: Runtime
) -> None:
    for n in range(3):
        log_in(client, password="mauvais", headers={"X-Forwarded-For": f"203.0.113.{n}"})
    with transaction(runtime.sessions) as session:
        assert set(session.scalars(select(LoginAttempt.ip))) == {"127.0.0.1"}


def test_behind_one_proxy_the_client_address_is_the_one_it_forwarded(
    settings: Settings, runtime: Runtime, territory: Territory
) -> None:
    app = create_app({"TESTING": True}, settings=replace(settings, proxies=1), runtime=runtime)
    client = app.test_client()
    forged_then_real = {"X-Forwarded-For": "198.51.100.7, 203.0.113.5"}  # the proxy appends
    log_in(client, password="mauvais", headers=forged_then_real)
    with transaction(runtime.sessions) as session:
        assert list(session.scalars(select(LoginAttempt.ip))) == ["203.0.113.5"]


def test_the_number_of_proxies_must_be_a_number() -> None:
    with pytest.raises(ConfigError, match="PAROLES_PROXIES"):
        load_settings({"PAROLES_SECRET_KEY": "x" * 32, "PAROLES_PROXIES": "oui"}, dotenv=False)
