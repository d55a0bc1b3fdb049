"""The command line: `db upgrade`, `chat` with piped input, `users add`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bots.runtime import Runtime
from storage.models import Answer, Contribution, Conversation, Message, Participant, User
from tests.factories import make_quartier
from web.counts import Scope
from web.indicators import Period, add_months, compute


def test_db_upgrade_is_repeatable(runner: Any) -> None:
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Base à jour (0 thèmes et 0 enquêtes ajoutés)" in result.output  # already seeded


def replies(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("paroles> ")]


def test_chat_a_whole_survey_then_stop_start_and_forget(runner: Any, runtime: Runtime) -> None:
    script = "\n".join(
        [
            "ouais",
            "2️⃣",  # no child at school: straight to the last question
            "Un local pour faire les devoirs au calme",
            "STOP",
            "tu es là ?",
            "START",
            "Les poubelles débordent",
            "OUBLIER",
            "oui",
        ]
    )
    result = runner.invoke(args=["chat", "--as", "amina", "--survey", "scolarite"], input=script)
    assert result.exit_code == 0, result.output
    said = replies(result.output)
    assert said[0].startswith("paroles> Bonjour ! Ici Paroles")  # the code first: welcome
    assert "\n1 Oui 2 Non\n" in result.output  # choices on the line below, as an SMS shows
    assert "L'aide aux devoirs" in said[1] and "1/5" in said[1]
    assert "5/5" in said[2]
    assert "Merci, c'est fini" in said[3]
    assert "START" in said[4]  # STOP confirmed; the next message gets no answer
    assert said[5].startswith("paroles> Bon retour")
    assert "C'est à propos de quoi" in said[6]
    assert "Effacer tout" in said[7] and "tout est effacé" in said[8]
    assert len(said) == 9  # one reply per message, none while stopped
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Participant.id))) == 0
        assert session.scalar(select(func.count(Answer.id))) == 0
        assert session.scalar(select(func.count(Contribution.id))) == 0
        assert session.scalar(select(func.count(Conversation.id))) == 0
        bodies = session.scalars(select(Message.body).where(Message.direction == "in")).all()
        assert len(bodies) == 10 and set(bodies) == {""}


def test_chat_keeps_answers_until_erased(runner: Any, runtime: Runtime) -> None:
    result = runner.invoke(
        args=["chat", "--as", "karim", "--survey", "associations"],
        input="oui\n1\n1 et 3\n⭐⭐⭐⭐\nnon\ndu foot pour les filles\n",
    )
    assert result.exit_code == 0, result.output
    assert "Merci, c'est fini" in replies(result.output)[-1]
    with runtime.sessions() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.status == "finished"
        values = session.scalars(select(Answer.value).order_by(Answer.id)).all()
        assert values == ["oui", ["activites", "lien"], 4, "non", "du foot pour les filles"]
        participant = session.scalars(select(Participant)).one()
        assert participant.joined_via == "ASSOCIATIONS" and participant.consent_at


def test_chat_is_a_trial_that_never_counts_as_participation(runner: Any, runtime: Runtime) -> None:
    result = runner.invoke(
        args=["chat", "--as", "essai", "--survey", "associations"],
        input="oui\n1\n1 et 3\n⭐⭐⭐⭐\nnon\ndu foot\nLes poubelles débordent\n",
    )
    assert result.exit_code == 0, result.output
    today = datetime.now(UTC).date().replace(day=1)
    period = Period(today, add_months(today, 1))
    with runtime.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.is_test and session.scalar(select(func.count(Answer.id))) == 5
        assert session.scalar(select(func.count(Contribution.id))) == 0  # nothing for the inbox
        figures = compute(session, period, Scope(), runtime.settings.timezone)
        assert figures.participants == 0 and figures.contributions == 0


def test_chat_unknown_survey(runner: Any) -> None:
    result = runner.invoke(args=["chat", "--survey", "nope"], input="")
    assert result.exit_code != 0 and "enquête inconnue : nope" in result.output


def test_users_add_with_piped_password(runner: Any, runtime: Runtime) -> None:
    result = runner.invoke(
        args=["users", "add", "Chef@Ville.example", "--role", "chef_de_projet"],
        input="un-mot-de-passe-long\n",
    )
    assert result.exit_code == 0, result.output
    assert "Compte créé : Chef@Ville.example (chef_de_projet)" in result.output
    with runtime.sessions() as session:
        user = session.scalars(select(User)).one()
        assert user.email == "chef@ville.example" and user.role == "chef_de_projet"


def test_users_add_refuses_bad_input(runner: Any, runtime: Runtime) -> None:
    bad_role = runner.invoke(args=["users", "add", "a@b.example", "--role", "chef"], input="x" * 12)
    assert bad_role.exit_code == 1 and "rôle inconnu : chef" in bad_role.output
    short = runner.invoke(args=["users", "add", "a@b.example", "--role", "lecteur"], input="court")
    assert short.exit_code == 1 and "au moins 10 caractères" in short.output
    council = runner.invoke(
        args=["users", "add", "cc@b.example", "--role", "conseil_citoyen"], input="x" * 12
    )
    assert council.exit_code == 1 and "au moins un quartier" in council.output
    unknown = runner.invoke(
        args=["users", "add", "cc@b.example", "--role", "conseil_citoyen", "--quartier", "QP9"],
        input="x" * 12,
    )
    assert unknown.exit_code == 1 and "quartier inconnu : QP9" in unknown.output
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(User.id))) == 0


def test_users_add_conseil_citoyen_with_quartier(runner: Any, runtime: Runtime) -> None:
    with runtime.sessions() as session, session.begin():
        make_quartier(session, code="QP093012", name="Les Tilleuls")
    result = runner.invoke(
        args=[
            "users",
            "add",
            "cc@b.example",
            "--role",
            "conseil_citoyen",
            "--quartier",
            "QP093012",
        ],
        input="x" * 12 + "\n",
    )
    assert result.exit_code == 0, result.output
    with runtime.sessions() as session:
        user = session.scalars(select(User)).one()
        assert [q.code for q in user.quartiers] == ["QP093012"]


def test_users_add_intervenant_needs_a_quartier(runner: Any, runtime: Runtime) -> None:
    with runtime.sessions() as session, session.begin():
        make_quartier(session, code="QP093012", name="Les Tilleuls")
    args = ["users", "add", "med@b.example", "--role", "intervenant"]
    refused = runner.invoke(args=args, input="x" * 12 + "\n")
    assert refused.exit_code != 0 and "quartier" in refused.output
    result = runner.invoke(args=[*args, "--quartier", "QP093012"], input="x" * 12 + "\n")
    assert result.exit_code == 0, result.output
    with runtime.sessions() as session:
        user = session.scalars(select(User)).one()
        assert user.role == "intervenant" and [q.code for q in user.quartiers] == ["QP093012"]
