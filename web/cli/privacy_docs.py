"""The documents a territory needs before deploying Paroles, written from its configuration.

`paroles docs privacy` writes, in French, into ``docs/``:

- ``aipd.md``: the data protection impact assessment (AIPD), pre-filled along the CNIL's model
  (description, necessity and proportionality, risks and measures); durations come from the
  settings, and every measure names the module or setting that really implements it;
- ``registre.md``: the entry for the *registre des traitements* (RGPD article 30);
- ``confidentialite.md``: the privacy notice for habitants (articles 13 and 14), in plain words.

What the code cannot know (the controller's name, its DPO, the host) is left as ``[à compléter]``
unless ``PAROLES_ORGANISATION`` and ``PAROLES_CONTACT`` say it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, StrictUndefined

from bots.handler import CODE_DAYS
from bots.personal_data import FLAGS, KINDS
from storage.config import Settings

__all__ = ["Facts", "facts_from", "render_documents", "write_documents"]


@dataclass(frozen=True)
class Facts:
    organisation: str
    contact: str
    retention_days: int
    retention_months: int
    journal_days: int
    journal_months: int
    code_days: int
    masked_kinds: str
    flagged_kinds: str
    translation: bool
    telegram: bool
    sms: bool


def facts_from(settings: Settings) -> Facts:
    extra = settings.extra
    return Facts(
        organisation=settings.organisation or "[à compléter : le responsable de traitement]",
        contact=settings.contact
        or "[à compléter : contact du délégué à la protection des données]",
        retention_days=settings.retention_days,
        retention_months=max(1, round(settings.retention_days / 30.4)),
        journal_days=settings.journal_retention_days,
        journal_months=max(1, round(settings.journal_retention_days / 30.4)),
        code_days=CODE_DAYS,
        masked_kinds=", ".join(k.strip("[]") for k in KINDS.values()),
        flagged_kinds=", ".join(FLAGS.values()),
        translation=bool(extra.get("PAROLES_TRANSLATE_URL")),
        telegram=bool(settings.telegram_bot_token),
        sms=bool(settings.twilio_account_sid),
    )


AIPD = """\
# Analyse d'impact relative à la protection des données (AIPD) — Paroles

*Pré-remplie par `paroles docs privacy` à partir de la configuration en service ; à relire, compléter
et valider par le responsable de traitement et son délégué à la protection des données (DPO).
Plan : modèle de la CNIL (PIA), 1. contexte, 2. principes fondamentaux, 3. risques.*

## 1. Contexte

**Traitement** : recueil de la parole des habitants des quartiers prioritaires (QPV) par SMS,
Telegram, WhatsApp et en face à face ; micro-enquêtes ; contributions libres ; réponses de
l'équipe ; évaluation du contrat de ville.

**Responsable de traitement** : {{ f.organisation }}. **Contact** : {{ f.contact }}.

**Pourquoi une AIPD** : personnes potentiellement vulnérables (habitants des QPV), données
collectées à grande échelle, textes libres pouvant contenir des données sur des tiers ou des
données sensibles.

**Données traitées** (`storage/models.py`) :

| donnée | où | protection |
|---|---|---|
| pseudonyme (HMAC du canal et du numéro) | `participants.pseudonym` | clé `PAROLES_SECRET_KEY`, `storage/crypto.py` |
| numéro de téléphone / identifiant Telegram | `participants.address_enc` | chiffré (Fernet, `storage/crypto.py`), jamais affiché aux conseils citoyens |
| langue, quartier, code d'affiche, dates (premier/dernier message, accord, STOP) | `participants` | — |
| messages reçus et envoyés | `messages` | vidés à l'effacement (OUBLIER) et à la fin de la conservation |
| contributions, réponses aux enquêtes, pièces jointes (photos, voix) | `contributions`, `answers`, dossier des médias | données personnelles du texte masquées à l'affichage (voir 3) |
| emplacements des données personnelles dans les textes (pas de copie du texte) | `personal_data_spans` | `bots/personal_data.py`, `bots/personal_data_job.py` |
| codes d'accès à usage unique (MES DONNEES) | `access_codes` | empreinte SHA-256 seulement, valables {{ f.code_days }} jours |
| index de recherche des textes masqués (le texte tel que le lisent les conseils citoyens, données personnelles remplacées par `[nom]`, `[téléphone]`…) | `contributions_masked_fts` | `storage/search.py`, écrit par `bots/personal_data_job.py`, effacé avec la contribution |
| journal des actions de l'équipe | `audit_log` | lisible par l'administrateur (`web/admin/journal.py`), purgé après {{ f.journal_days }} jours |

**Destinataires** :
- chefs de projet et administrateurs : tous les quartiers, textes masqués par défaut ; un texte
  original s'affiche sur demande, une contribution à la fois, et c'est journalisé
  (`web/review/personal_data.py`, permission `reveal_personal_data` de `web/auth.py`) ;
- conseils citoyens : leurs quartiers seulement (`web/auth.py`, `scoped`), textes masqués, jamais
  d'original, jamais de numéro ;
- lecteurs : lecture seule, textes masqués ;
- sous-traitants : l'hébergeur [à compléter] ; Twilio pour les SMS et WhatsApp ({{ "configuré" if sms else "non configuré ici" }}) ; Telegram ({{ "configuré" if telegram else "non configuré ici" }}){% if translation %} ; le serveur de traduction LibreTranslate du territoire (`PAROLES_TRANSLATE_URL`){% endif %}.

**Durées de conservation** (réglages actuels) :
- données personnelles : **{{ f.retention_days }} jours** (environ {{ f.retention_months }} mois),
  `PAROLES_RETENTION_DAYS` ; purge chaque nuit par `bots/retention.py` (numéro, pseudonyme,
  pièces jointes, lien entre textes et personne) ;
- tentatives de connexion : 1 jour (`web/auth.py`) ;
- codes d'accès MES DONNEES : {{ f.code_days }} jours, un seul usage (`bots/handler.py`) ;
- journal des actions de l'équipe (exports, originaux affichés, effacements…) :
  **{{ f.journal_days }} jours** (environ {{ f.journal_months }} mois),
  `PAROLES_JOURNAL_RETENTION_DAYS` ; la CNIL recommande de garder de telles traces de six mois à
  un an ; purge chaque nuit par `bots/retention.py` (`purge_journal`).

## 2. Principes fondamentaux

- **Finalités** : dialogue avec les habitants, enquêtes, évaluation du contrat de ville ; les
  exports ne contiennent que des pseudonymes (`web/review/exports.py`).
- **Base légale** : [à compléter : mission d'intérêt public (politique de la ville) ou
  consentement] ; l'accord est demandé au premier contact et daté (`bots/engine.py`, message
  `welcome` de `prompts/messages/fr.toml`).
- **Minimisation** : le premier message demande de ne rien écrire sur la santé, la religion ou la
  politique (conseil de la CNIL pour les agents conversationnels), en un seul SMS ; `INFO` le
  redit.
- **Droits des personnes** :
  - information : mot-clé `INFO` (organisme, durée, contact) ;
  - accès et portabilité : mot-clé `MES DONNEES` (résumé : depuis quand, combien de messages,
    contributions, réponses, date de l'accord ; puis un code à usage unique) ; l'administrateur
    retrouve la personne par pseudonyme, numéro donné ou code, jamais dans une liste, et exporte
    tout en JSON ou CSV (`web/admin/participants.py`, `bots/participant_data.py`) ;
  - effacement : mot-clé `OUBLIER`, ou l'administrateur sur demande, même effet
    (`bots/handler.py`, `erase_participant`) ;
  - opposition : `STOP` à tout moment.

## 3. Risques et mesures

| risque | mesure mise en œuvre | où |
|---|---|---|
| un habitant nomme un voisin, donne un numéro ou une adresse, que liraient des conseils citoyens voisins | détection en tâche de fond des {{ f.masked_kinds }} ; masquage par défaut partout (boîte de réception, page d'une contribution avec les réponses du fil et les traductions automatiques, résultats, exports) pour tous les rôles | `bots/personal_data.py`, `bots/personal_data_job.py` (tâche `personal-data` du planificateur) |
| une donnée oubliée ou masquée à tort | l'équipe marque un passage oublié ou retire un masque ; la correction vaut partout (liste d'autorisation et d'interdiction) | `web/review/personal_data.py`, table `personal_data_marks` |
| données de santé écrites malgré la consigne | signalées ({{ f.flagged_kinds }}) pour relecture par l'équipe, non recopiées | `bots/personal_data.py` (`HEALTH`) |
| curiosité d'un membre de l'équipe | affichage de l'original réservé aux chefs de projet et administrateurs, une contribution à la fois, écrit au journal (qui, quand) | `web/review/personal_data.py`, `web/admin/journal.py` |
| une recherche qui confirme un nom masqué (chercher « Dupont » pour savoir qui est « M. [nom] ») | conseils citoyens et lecteurs cherchent dans les textes masqués (un index tenu par la tâche de fond) ; seuls les chefs de projet et administrateurs, qui peuvent afficher l'original, cherchent dans les originaux. Limites : une recherche d'un chef de projet n'est pas écrite au journal ; un texte arrivé depuis moins d'une minute n'est trouvé par la recherche masquée qu'après le passage de la tâche ; un passage que l'équipe vient de masquer à la main reste trouvable jusqu'à la relecture du texte | `storage/search.py`, `web/review/filters.py`, `web/review/inbox.py` |
| les « mots qui ont compté » d'une suggestion de thème redonnent un nom masqué | un mot n'est montré que s'il se lit dans le texte masqué | `web/theme_state.py` |
| perte ou vol de la base | numéros chiffrés, pseudonymes à clé ; la clé (`PAROLES_SECRET_KEY`) est hors de la base | `storage/crypto.py`, `storage/config.py` |
| conservation trop longue | purge nocturne après {{ f.retention_days }} jours ; journal après {{ f.journal_days }} jours | `bots/retention.py` |
| webhook falsifié | signature Twilio et secret Telegram vérifiés | `web/hooks/sms.py`, `web/hooks/telegram.py` |
| l'équipe nomme quelqu'un dans un engagement publié sur `/suivi/` | un titre, une description, un changement de statut ou une étape qui contient un téléphone, un e-mail ou un nom précédé d'une civilité est refusé à l'enregistrement (même contrôle que les citations publiques) ; un nom de rue seul passe ; un nom sans civilité que le détecteur de noms reconnaît est cité et demande de confirmer qu'il ne désigne personne. Limite : un nom qu'il ne reconnaît pas passe, c'est une personne qui publie | `web/publication.py`, `web/followup/engagements.py` |
| export détourné | exports pseudonymes, masqués, journalisés (qui, filtres, lignes) | `web/review/exports.py`, `web/tables.py` |

Mesure de la détection (`bench/pii.py`, jeu étiqueté `bench/pii_messages.txt`) : voir le README ;
la détection ne remplace pas la vigilance de l'équipe.

**Validation** : [à compléter : avis du DPO, date, décision du responsable de traitement].
"""

REGISTRE = """\
# Registre des activités de traitement — fiche « Paroles »

*Générée par `paroles docs privacy` ; à compléter et à reporter dans le registre (RGPD, art. 30).*

| rubrique | contenu |
|---|---|
| Nom du traitement | Paroles — recueil de la parole des habitants des quartiers prioritaires |
| Responsable de traitement | {{ f.organisation }} |
| Délégué à la protection des données | {{ f.contact }} |
| Finalités | dialogue avec les habitants (SMS, Telegram, face à face) ; micro-enquêtes ; suivi et réponses ; évaluation du contrat de ville (statistiques anonymes) |
| Base légale | [à compléter : mission d'intérêt public ou consentement] |
| Personnes concernées | habitants des quartiers prioritaires qui écrivent ou répondent ; membres de l'équipe (comptes) |
| Catégories de données | pseudonyme ; numéro ou identifiant de messagerie (chiffré) ; langue ; quartier ; messages, contributions, réponses, pièces jointes ; dates d'accord et de STOP. Pas de données sensibles demandées ; celles écrites malgré tout sont signalées pour relecture |
| Destinataires | chefs de projet, administrateurs, conseils citoyens (leur quartier, textes masqués), lecteurs (textes masqués) ; sous-traitants : hébergeur [à compléter], Twilio (SMS, WhatsApp{{ "" if sms else " ; non configuré ici" }}), Telegram{{ "" if telegram else " (non configuré ici)" }} |
| Transferts hors UE | [à compléter selon les fournisseurs de messagerie retenus] |
| Durées de conservation | {{ f.retention_days }} jours pour les données personnelles (`PAROLES_RETENTION_DAYS`) ; journal des actions de l'équipe {{ f.journal_days }} jours (`PAROLES_JOURNAL_RETENTION_DAYS`) ; codes d'accès {{ f.code_days }} jours ; tentatives de connexion 1 jour |
| Mesures de sécurité | chiffrement des numéros, pseudonymisation, masquage des données personnelles dans les textes, droits par rôle et par quartier, journal des actions, purge automatique, webhooks signés |
| Droits | INFO, MES DONNEES (accès, portabilité), OUBLIER (effacement), STOP (opposition) ; demandes à {{ f.contact }} |
"""

NOTICE = """\
# Vos données avec Paroles

*Pour les habitants. Générée par `paroles docs privacy`.*

**Qui garde vos messages ?** {{ f.organisation }}.

**Pourquoi ?** Pour écouter le quartier, répondre à vos questions et améliorer la vie du
quartier (le contrat de ville).

**Ce que nous gardons** : vos messages, vos réponses, vos photos ou messages vocaux, votre
langue et votre quartier. Votre numéro est caché : il est chiffré, l'équipe ne le voit pas.

**N'écrivez rien sur la santé, la religion ou la politique**, ni pour vous ni pour les autres.

**Les noms, numéros et adresses que vous écrivez sont cachés** à l'équipe ({{ f.masked_kinds }}).

**Combien de temps ?** {{ f.retention_months }} mois après votre dernier message. Ensuite, tout
est effacé ou rendu anonyme.

**Vos droits, à tout moment, par message :**
- `INFO` : qui garde vos données et combien de temps ;
- `MES DONNEES` : ce que nous avons gardé ; et, si vous voulez, un code pour recevoir une copie
  complète (valable {{ f.code_days }} jours) ;
- `OUBLIER` : tout effacer ;
- `STOP` : ne plus recevoir de messages.

**Une question ?** {{ f.contact }}. Vous pouvez aussi vous adresser à la CNIL (www.cnil.fr).
"""

DOCUMENTS = {"aipd.md": AIPD, "registre.md": REGISTRE, "confidentialite.md": NOTICE}


def render_documents(settings: Settings) -> dict[str, str]:
    """The three documents, by file name, for these settings."""
    env = Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    facts = facts_from(settings)
    values = {
        "f": facts,
        "sms": facts.sms,
        "telegram": facts.telegram,
        "translation": facts.translation,
    }
    return {name: env.from_string(text).render(**values) for name, text in DOCUMENTS.items()}


def write_documents(settings: Settings, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_documents(settings).items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
