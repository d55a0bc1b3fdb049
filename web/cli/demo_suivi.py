"""The demo's "donner suite": the closed campaign's results published with two free-text
answers, four engagements at different statuses with their dated history and the
contributions behind them, and one conversation where a habitant answered the team's reply."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bots.prompts import Catalog
from storage.models import (
    Campaign,
    Contribution,
    Engagement,
    EngagementUpdate,
    Message,
    Publication,
    PublicQuote,
    Quartier,
    StaffReply,
    Theme,
    ThreadMessage,
    User,
)

# A free text the demo publishes: no digit, no e-mail, no civility (the back-office checks more).
_PLAIN = re.compile(r"^[^\d@]*$")
_CIVILITY = re.compile(r"\b(M\.|Mme|Madame|Monsieur)\s")

ENGAGEMENTS = (
    # title, quartier code, thème code, partner, description, [(days ago, status, text)]
    (
        "Un local de plus pour les associations",
        "QP093014",
        "soutien-associations",
        "Bailleur Seine-Habitat",
        "Les associations de la Source manquent de place pour leurs activités du soir.",
        [
            (40, None, "Visite du rez-de-chaussée de la tour 7 avec le bailleur."),
            (25, "decide", "Le bailleur prête le local : convention signée."),
            (12, "en_cours", "Peinture et mise aux normes."),
            (3, "realise", "Le local ouvre : planning au centre social."),
        ],
    ),
    (
        "Réparer l'éclairage du square Pasteur",
        "QP093012",
        "cadre-de-vie",
        "Service voirie",
        "Plusieurs habitants signalent le square dans le noir le soir.",
        [(20, "decide", "Commande des lampadaires passée."), (6, "en_cours", "")],
    ),
    (
        "Une navette le samedi vers le marché",
        "QP093015",
        "vieillissement",
        "",
        "Pour les personnes âgées des Hauts-de-Bréval, sans voiture.",
        [(9, None, "Étude du coût avec l'agglomération.")],
    ),
    (
        "Un terrain de foot en gazon synthétique",
        "QP093014",
        "cohesion-sociale",
        "Direction des sports",
        "Demandé par des jeunes du city stade.",
        [(15, "non_retenu", "Le terrain existant sera rénové en 2027 : un second ne tient pas.")],
    ),
)


def seed_followup(
    session: Session,
    catalog: Catalog,
    rng: random.Random,
    now: datetime,
    staff: User,
    closed: Campaign,
) -> dict[str, int]:
    session.add(
        Publication(
            campaign_id=closed.id,
            slug=f"associations-printemps-{closed.id}",
            published_at=now - timedelta(days=8),
            published_by_id=staff.id,
        )
    )
    texts = session.scalars(
        select(Contribution)
        .where(Contribution.campaign_id == closed.id, Contribution.kind == "answer")
        .order_by(Contribution.id)
    ).all()
    plain = [c for c in texts if _PLAIN.match(c.text) and not _CIVILITY.search(c.text)]
    for contribution in plain[:2]:
        session.add(PublicQuote(contribution_id=contribution.id, selected_by_id=staff.id))
    quartiers = {q.code: q for q in session.scalars(select(Quartier))}
    themes = {t.code: t for t in session.scalars(select(Theme))}
    made = []
    for title, quartier, theme, partner, description, steps in ENGAGEMENTS:
        start = now - timedelta(days=steps[0][0] + 5)
        engagement = Engagement(
            title=title,
            description=description,
            quartier_id=quartiers[quartier].id,
            theme_id=themes[theme].id if theme in themes else None,
            partner=partner,
            status="etude",
            created_by_id=staff.id,
            created_at=start,
            updated_at=start,
        )
        for days, status, text in steps:
            at = now - timedelta(days=days)
            engagement.updates.append(
                EngagementUpdate(at=at, status=status, text=text, user_id=staff.id)
            )
            if status:
                engagement.status = status
                engagement.reason = text if status == "non_retenu" else ""
            engagement.updated_at = at
        pool = session.scalars(
            select(Contribution)
            .where(Contribution.quartier_id == quartiers[quartier].id, Contribution.kind == "free")
            .order_by(Contribution.id)
        ).all()
        engagement.contributions.extend(rng.sample(list(pool), min(len(pool), rng.randint(2, 6))))
        session.add(engagement)
        made.append(engagement)
    made[0].campaigns.append(closed)
    session.flush()
    return {"engagements": len(made), "threads": _thread(session, catalog, now, staff)}


def _thread(session: Session, catalog: Catalog, now: datetime, staff: User) -> int:
    """The team asked where; the habitant answered two days later (not read yet)."""
    contribution = session.scalars(
        select(Contribution)
        .where(Contribution.kind == "free", Contribution.participant_id.is_not(None))
        .where(Contribution.created_at < now - timedelta(days=5))
        .order_by(Contribution.created_at.desc())
        .limit(1)
    ).one()
    participant = contribution.participant
    assert participant is not None
    asked = now - timedelta(days=4)
    message = Message(
        direction="out",
        channel=participant.channel,
        participant_id=participant.id,
        address_enc=participant.address_enc,
        body="Merci pour votre message. Pouvez-vous nous dire où cela se passe (rue, bâtiment) ?",
        kind="staff_reply",
        status="sent",
        created_at=asked,
        sent_at=asked + timedelta(seconds=3),
    )
    session.add(message)
    session.flush()
    session.add(
        StaffReply(
            contribution_id=contribution.id,
            message_id=message.id,
            user_id=staff.id,
            created_at=asked,
        )
    )
    session.add(
        ThreadMessage(
            contribution_id=contribution.id,
            text="C'est devant l'entrée B, le soir surtout. Merci de répondre !",
            created_at=asked + timedelta(days=2),
        )
    )
    contribution.status = "a_traiter"
    return 1
