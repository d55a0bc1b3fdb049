"""Accounts: the administrateur manages them, everyone their own language and password, and
`paroles users add` creates the first administrator."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from werkzeug.security import check_password_hash

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import AuditEntry, User
from tests.web.conftest import Territory, login_as, page, post


def user(runtime: Runtime, email: str) -> User:
    with transaction(runtime.sessions) as session:
        row = session.scalars(select(User).where(User.email == email)).one()
        row.quartiers  # noqa: B018 - loaded while the session is open
        return row


def test_the_administrateur_creates_and_edits_accounts(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["administrateur"])
    form = {
        "email": "Nadia@Ville.example",
        "name": "Nadia",
        "role": "conseil_citoyen",
        "quartiers": [territory.sud],
        "password": "un-mot-de-passe-long",
    }
    assert post(client, "/comptes/", form).status_code == 302
    created = user(runtime, "nadia@ville.example")
    assert created.role == "conseil_citoyen" and [q.code for q in created.quartiers] == ["QP-SUD"]
    assert check_password_hash(created.password_hash, "un-mot-de-passe-long")
    assert "un compte existe déjà" in html_of(post(client, "/comptes/", form))
    assert "au moins un quartier" in html_of(
        post(client, "/comptes/", {**form, "email": "b@v.fr", "quartiers": []})
    )
    assert "10 caractères" in html_of(
        post(client, "/comptes/", {**form, "email": "c@v.fr", "password": "court"})
    )
    edit = {"role": "lecteur", "quartiers": [], "active": ""}
    assert post(client, f"/comptes/{created.id}", edit).status_code == 302
    after = user(runtime, "nadia@ville.example")
    assert (after.role, after.active, after.quartiers) == ("lecteur", False, [])
    assert post(client, f"/comptes/{created.id}", {"role": "pape"}).status_code == 400
    assert post(client, "/comptes/99999", edit).status_code == 404
    with transaction(runtime.sessions) as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["account.create", "account.update"]


def html_of(response: Any) -> str:
    import html

    return html.unescape(response.get_data(as_text=True))


def test_an_administrateur_cannot_lock_themselves_out(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    admin = territory.users["administrateur"]
    login_as(client, admin)
    response = post(client, f"/comptes/{admin}", {"role": "lecteur", "active": "on"})
    assert "propres droits" in html_of(response)
    assert user(runtime, "administrateur@ville.example").role == "administrateur"


def test_my_language_switches_the_interface_to_english(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    assert "Contributions" in page(client, "/inbox/") and "Se déconnecter" in page(
        client, "/inbox/"
    )
    response = post(client, "/comptes/moi", {"language": "en"})
    assert response.status_code == 302
    english = page(client, "/inbox/")
    assert "Log out" in english and "Filter and search" in english and '<html lang="en">' in english
    assert "Preferences saved." in english  # the flash, in the language just chosen
    post(client, "/comptes/moi", {"language": "fr"})
    assert "Se déconnecter" in page(client, "/inbox/")


def test_change_my_password_needs_the_current_one(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["lecteur"])
    refused = post(
        client,
        "/comptes/moi",
        {"language": "fr", "password": "faux", "new_password": "nouveau-mot-de-passe"},
    )
    assert refused.status_code == 422
    assert "n'est pas le bon" in next_to(refused, "password")
    short = post(client, "/comptes/moi", {"password": "motdepasse-solide", "new_password": "court"})
    assert "au moins 10 caractères" in next_to(short, "new_password")
    post(
        client,
        "/comptes/moi",
        {"language": "fr", "password": "motdepasse-solide", "new_password": "nouveau-mot-de-passe"},
    )
    assert check_password_hash(
        user(runtime, "lecteur@ville.example").password_hash, "nouveau-mot-de-passe"
    )


def test_users_add_creates_the_first_administrator_from_piped_input(
    runner: Any, runtime: Runtime
) -> None:
    result = runner.invoke(
        args=["users", "add", "Admin@Ville.example", "--role", "administrateur"],
        input="un-mot-de-passe-long\n",
    )
    assert result.exit_code == 0, result.output
    assert "Compte créé : Admin@Ville.example (administrateur)." in result.output
    admin = user(runtime, "admin@ville.example")
    assert check_password_hash(admin.password_hash, "un-mot-de-passe-long")
    again = runner.invoke(
        args=["users", "add", "admin@ville.example", "--role", "administrateur"],
        input="un-mot-de-passe-long\n",
    )
    assert again.exit_code != 0 and "existe déjà" in again.output


def test_an_intervenant_account_is_made_in_the_comptes_page_with_its_quartiers(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["administrateur"])
    page = html_of(client.get("/comptes/"))
    assert '<option value="intervenant">Intervenant (terrain)</option>' in page
    form = {
        "email": "mediatrice@ville.example",
        "role": "intervenant",
        "quartiers": [],
        "password": "un-mot-de-passe-long",
    }
    assert "au moins un quartier" in html_of(post(client, "/comptes/", form))
    assert post(client, "/comptes/", {**form, "quartiers": [territory.nord]}).status_code == 302
    made = user(runtime, "mediatrice@ville.example")
    assert made.role == "intervenant" and [q.code for q in made.quartiers] == ["QP-NORD"]
    edit = {"role": "intervenant", "quartiers": [], "active": "on"}
    assert "au moins un quartier" in html_of(post(client, f"/comptes/{made.id}", edit))


def next_to(response: Any, field: str) -> str:
    """The refusal shown next to `field`, which the field points at (aria-describedby)."""
    text = html_of(response)
    assert f'aria-describedby="err-{field}"' in text, field
    return text.split(f'id="err-{field}">')[1].split("</span>")[0]


def session_copy(app: Any, client: Any) -> Any:
    """Another browser with the same session cookie (a second device, or a stolen cookie)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(
    app: Any, client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["lecteur"])
    assert client.get("/inbox/").status_code == 200
    other_device = session_copy(app, client)
    assert other_device.get("/inbox/").status_code == 200
    changed = post(
        client,
        "/comptes/moi",
        {"password": "motdepasse-solide", "new_password": "nouveau-mot-de-passe"},
    )
    assert changed.status_code == 302
    assert client.get("/inbox/").status_code == 200
    assert other_device.get("/inbox/").status_code == 302
    language_only = post(client, "/comptes/moi", {"language": "fr"})
    assert language_only.status_code == 302 and client.get("/inbox/").status_code == 200


def test_the_administrateur_ends_every_session_of_a_member(
    app: Any, client: Any, runtime: Runtime, territory: Territory
) -> None:
    member = app.test_client()
    login_as(member, territory.users["conseil_citoyen"])
    phone = session_copy(app, member)
    bystander = app.test_client()
    login_as(bystander, territory.users["lecteur"])
    login_as(client, territory.users["administrateur"])
    url = f"/comptes/{territory.users['conseil_citoyen']}"
    assert "Fermer toutes ses sessions" in page(client, url)
    done = post(client, f"{url}/sessions")
    assert done.status_code == 302 and done.headers["Location"].endswith(url)
    assert member.get("/inbox/").status_code == 302 and phone.get("/inbox/").status_code == 302
    assert bystander.get("/inbox/").status_code == 200 and client.get("/inbox/").status_code == 200
    with transaction(runtime.sessions) as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.action == "account.end_sessions"
        assert entry.target == f"user:{territory.users['conseil_citoyen']}"
    assert post(bystander, f"{url}/sessions").status_code == 403
    assert post(client, "/comptes/99999/sessions").status_code == 404


def test_each_refusal_of_the_account_form_is_said_next_to_its_field(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["administrateur"])
    form = {
        "email": "nadia@ville.example",
        "name": "Nadia",
        "role": "conseil_citoyen",
        "quartiers": [territory.sud],
        "password": "un-mot-de-passe-long",
    }
    reserved = post(client, "/comptes/", {**form, "email": "admin@site.test"})
    assert reserved.status_code == 422
    assert "« site.test » est réservé" in next_to(reserved, "email")
    assert 'value="admin@site.test"' in html_of(reserved)  # what was typed is kept
    assert "au moins 10 caractères" in next_to(
        post(client, "/comptes/", {**form, "password": "court"}), "password"
    )
    assert "au moins un quartier" in next_to(
        post(client, "/comptes/", {**form, "quartiers": []}), "quartiers"
    )
    assert "rôle inconnu" in next_to(post(client, "/comptes/", {**form, "role": "pape"}), "role")
    assert post(client, "/comptes/", form).status_code == 302
    assert "existe déjà" in next_to(post(client, "/comptes/", form), "email")
    created = user(runtime, "nadia@ville.example")
    no_quartier = post(client, f"/comptes/{created.id}", {"role": "conseil_citoyen"})
    assert "au moins un quartier" in next_to(no_quartier, "quartiers")
    me = territory.users["administrateur"]
    assert "propres droits" in next_to(post(client, f"/comptes/{me}", {"role": "lecteur"}), "role")
