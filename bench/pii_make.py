"""Writes bench/pii_messages.txt, the labelled set of `bench/pii.py` (run once; the file is kept).

Realistic habitant messages, SMS spelling included: hand-written sentences (`HANDWRITTEN`, below)
plus sentence patterns filled with varied values (names of many origins, every phone format,
valid NIRs and IBANs with their check digits, plates, addresses and flats). One message a line;
a span is written `{kind|text}`. About a third of the messages hold no personal data, with
the capitalised words and numbers that fool detectors (Pôle emploi, bus 147, depuis 2019).

    python bench/pii_make.py        # rewrites bench/pii_messages.txt (seed 19: same file)
"""

from __future__ import annotations

import random
from pathlib import Path

from stdnum import iban as stdnum_iban

OUT = Path(__file__).with_name("pii_messages.txt")

SURNAMES = """Dupont Benali Traoré Nguyen Martin Diallo Haddad Koné Lefebvre Bernard Moreau Cissé
Yilmaz Petit Mendy Rousseau Belkacem Fernandes Lambert Keita Girard Bouzid Sow Garcia Morel Chen
Mercier Diop Laurent Ouattara Faure Boukhari Camara Henry Sylla Roux Kaya Mabika""".split()
FIRSTS = """Karim Fatima Mamadou Aïcha Kevin Sophie Nadia Yassine Moussa Julie Mohamed Inès Samir
Christelle Ibrahim Léa Awa Youssef Sandrine Bilal Mariama Thierry Leila Omar Nathalie Souleymane
Amina Rachid""".split()
STREETS = [
    "rue des Lilas",
    "avenue Jean Jaurès",
    "bd Victor Hugo",
    "rue Pierre Sémard",
    "allée des Tilleuls",
    "rue de la République",
    "avenue Paul Vaillant-Couturier",
    "rue Jules Ferry",
    "impasse des Roses",
    "place du Marché",
    "chemin des Vignes",
    "rue Gabriel Péri",
    "boulevard Anatole France",
    "rue du Docteur Roux",
    "avenue de la Résistance",
    "rue Lénine",
]
DWELLINGS = [
    "bât. C",
    "bat B",
    "bâtiment 4",
    "escalier 2",
    "3e étage",
    "5eme etage",
    "appt 41",
    "porte 12",
    "bat D2",
    "2ème étage",
    "esc. A",
    "appartement 23",
]
TITLES = ["M.", "Mr", "Monsieur", "Mme", "Madame", "mme", "mr", "la famille", "Mlle"]


def phone(rng: random.Random) -> str:
    digits = "".join(str(rng.randrange(10)) for _ in range(8))
    lead = rng.choice(["06", "07", "01", "09", "06", "07"])
    pairs = [lead] + [digits[i : i + 2] for i in range(0, 8, 2)]
    style = rng.randrange(9)
    if style == 0:
        return " ".join(pairs)
    if style == 1:
        return "".join(pairs)
    if style == 2:
        return ".".join(pairs)
    if style == 3:
        return "-".join(pairs)
    if style == 4:
        return "+33 " + lead[1] + " " + " ".join(pairs[1:])
    if style == 5:
        return "+33" + lead[1] + "".join(pairs[1:])
    if style == 6:
        return "0033 " + lead[1] + " " + " ".join(pairs[1:])
    if style == 7:
        return rng.choice(
            [
                "+212 6 61 23 45 67",
                "+213 5 51 23 45 67",
                "+44 7911 123456",
                "+216 20 123 456",
                "+32 470 12 34 56",
                "+225 07 07 12 34 56",
            ]
        )
    return " ".join(pairs[:3]) + " " + "".join(pairs[3:])


def nir(rng: random.Random) -> str:
    body = (
        f"{rng.choice('12')}{rng.randrange(40, 99):02d}{rng.randrange(1, 13):02d}"
        f"{rng.choice(['75', '93', '94', '92', '69', '13', '59', '2A'])}"
        f"{rng.randrange(1, 999):03d}{rng.randrange(1, 999):03d}"
    )
    numeric = int(body.replace("2A", "19").replace("2B", "18"))
    key = 97 - numeric % 97
    full = f"{body}{key:02d}"
    if rng.random() < 0.5:
        return full
    return " ".join([full[0], full[1:3], full[3:5], full[5:7], full[7:10], full[10:13], full[13:]])


def iban(rng: random.Random) -> str:
    bban = (
        "".join(str(rng.randrange(10)) for _ in range(10))
        + "".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(11))
        + f"{rng.randrange(100):02d}"
    )
    check = stdnum_iban.calc_check_digits("FR00" + bban)
    full = f"FR{check}{bban}"
    assert stdnum_iban.is_valid(full), full
    if rng.random() < 0.6:
        return " ".join(full[i : i + 4] for i in range(0, len(full), 4))
    return full


def plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPQRSTVWXYZ"
    a = rng.choice(letters) + rng.choice(letters)
    b = rng.choice(letters) + rng.choice(letters)
    n = f"{rng.randrange(1, 999):03d}"
    style = rng.randrange(4)
    if style == 0:
        return f"{a}-{n}-{b}"
    if style == 1:
        return f"{a} {n} {b}".lower()
    if style == 2:
        return f"{a}{n}{b}"
    return f"{rng.randrange(100, 9999)} {a} {rng.choice(['93', '94', '75', '92'])}"


def email(rng: random.Random, first: str, last: str) -> str:
    base = rng.choice([f"{first}.{last}", f"{first}{rng.randrange(10, 99)}", f"{last}_{first[0]}"])
    base = base.lower().replace("é", "e").replace("ï", "i").replace("ë", "e").replace(" ", "")
    return base + "@" + rng.choice(["gmail.com", "hotmail.fr", "yahoo.fr", "orange.fr", "free.fr"])


PATTERNS = [
    "mon voisin {TITLED} fait du bruit tous les soirs",
    "Bonjour, je suis {FULL}, mon numéro c'est le {PHONE}, rappelez moi svp",
    "Appelez moi au {PHONE} pour l'ascenseur en panne",
    "jhabite {ADDR} {DWELL}, ya des cafards partout depuis 2 mois",
    "Le chauffage ne marche plus au {DWELL} du {ADDR}",
    "{TITLED} du {DWELL} a laissé ses poubelles dans le hall",
    "Une voiture {PLATE} est garée sur la place handicapé depuis une semaine",
    "la voiture immatriculée {PLATE} bloque la sortie des pompiers",
    "Pour le remboursement voici mon IBAN {IBAN}",
    "mon numéro de sécu c'est {NIR} pour le dossier",
    "Ecrivez moi sur {EMAIL} merci",
    "mail : {EMAIL} / tel : {PHONE}",
    "{TITLED} et {TITLED} se disputent dans l'escalier",
    "Merci à {TITLED} la gardienne elle est super",
    "c {TITLED} ki vend d la drogue devan le {ADDR}",
    "jsui {FIRST} du {ADDR}, jvoudrais participer aux ateliers",
    "Je m'appelle {FULL} et je voudrais aider pour la fête des voisins",
    "{FULL} ({PHONE}) propose de faire du soutien scolaire",
    "slt c {FIRST}, mon tel {PHONE}, on peut se voir pr le projet ?",
    "ya une fuite deau chez {TITLED} au {DWELL} depuis lundi",
    "Le {ADDR} est tout le temps sale, personne nettoie",
    "kan est ce ke vous réparez la porte du {DWELL} ??",
    "Contactez {TITLED} au {PHONE}, elle s'occupe de l'association",
    "les enfants de {TITLED} jouent au foot contre les voitures",
    "Bonjour je vous envoie mon RIB : {IBAN}",
    "c'est {FULL}, numéro de sécurité sociale {NIR}, pour l'aide",
    "Ma fille {FIRST} a été agressée devant le {ADDR}",
    "{TITLED} m'a dit que la mairie allait fermer le centre social",
    "envoyez la réponse a {EMAIL} svp",
    "la camionnette {PLATE} fait des rodéos tous les soirs",
    "rdv chez {TITLED} {ADDR} pour la réunion",
    "Il faut plus de lumière {ADDR}, le soir on a peur",
]
NEGATIVE = [
    "Il faut plus de bancs dans le parc, les anciens n'ont nulle part où s'asseoir",
    "Le bus 147 passe jamais à l'heure le matin",
    "ya 3 ascenseurs en panne depuis 2019 c abusé",
    "Merci pour la fête de quartier, c'était super !",
    "Pôle emploi m'a radié sans raison",
    "La CAF met 3 mois à répondre, on fait comment ?",
    "Bonjour, à quand le marché de Noël cette année ?",
    "Le Lidl a fermé, maintenant faut aller à Carrefour en bus",
    "Pendant le Ramadan ce serait bien d'ouvrir le gymnase plus tard",
    "Ligne 13 bondée tous les jours, on étouffe",
    "les jeunes ont besoin dun terrain de foot",
    "Il y a trop de voitures qui roulent vite devant l'école",
    "On paie 12 euros de plus de charges depuis janvier",
    "La médiathèque devrait ouvrir le dimanche",
    "Bravo aux animateurs du centre social !",
    "Paris c'est loin, il faut un bus direct",
    "Le Conseil citoyen ne nous écoute pas",
    "jveux juste que les poubelles soient ramassées 2 fois par semaine",
    "Les 4000 c'est notre quartier, on l'aime",
    "ok merci bcp",
    "Bonjour, comment on s'inscrit à l'atelier couture ?",
    "Les travaux durent depuis 18 mois, c'est trop long",
    "Il faut des cours de français pour les mamans",
    "Plus de 200 personnes à la brocante, c'était top",
    "La Poste du quartier ferme à midi, c'est pas pratique",
    "Le bailleur Seine-Saint-Denis Habitat ne répond jamais",
    "Il faudrait un distributeur de billets, le plus proche est à 2 km",
    "Merci Madame la Maire pour le nouveau parc",
    "La salle de sport municipale est géniale",
    "J'attends depuis 45 minutes au guichet",
    "Noisy-le-Sec et Bobigny devraient travailler ensemble",
    "Les ados traînent au hall 7 le soir, il faut des activités",
    "la piscine est fermé depuis septembre pk ?",
    "On voudrait un jardin partagé au pied des tours",
    "Le 15 août il n'y avait personne pour les enfants",
    "Google Maps ne trouve même pas notre quartier",
    "C'est quand la prochaine réunion publique ?",
    "Les Restos du Cœur ont besoin de bénévoles",
    "Samedi il y a un match au stade, ça va bouchonner",
    "Trop de pigeons sur les balcons, faut faire qqch",
]
# Written by hand, as habitants write.
HANDWRITTEN = [
    "Mon voisin {name|M. Dupont} du {address|3e étage}, {phone|06 11 22 33 44}, deale dans le hall",
    "bjr {name|mme Haddad} du {address|bat C} est tombé dans lescalier ya pas de lumiere",
    "Le gardien {name|Rachid} est toujours là pour nous, merci à lui",
    "Je suis {name|Aminata Sow}, maman de 3 enfants, on vit à 5 dans un T2",
    "cest {name|Kevin}, mon num {phone|07 82 45 12 90}",
    "la {name|famille Traoré} au {address|12 rue des Lilas} a des souris",
    "Jai vu la voiture {plate|GH-456-JK} brûler hier soir",
    "Voici mon adresse : {address|8 bis avenue Karl Marx}, {address|bâtiment B}, {address|appt 12}",
    "pour me joindre {email|nadia.b93@gmail.com} ou {phone|+33 6 45 78 12 09}",
    "Mr {name|Belkacem} a été très gentil à la mairie annexe",
    "{name|Jean-Pierre Martin} organise la brocante le 12 mai",
    "Moi c {name|Fatou}, jpeux aider pour les devoirs",
    "Dites à {name|Mme Nguyen} que sa boîte aux lettres est cassée",
    "numéro sécu {nir|2 84 12 93 045 123 43} dossier en attente à la CPAM",
    "Le {address|45 boulevard Jean Jaurès} est plein de rats",
    "tel {phone|0611223344} urgent svp",
    "{name|Madame Fernandes} du {address|2ème étage} entend tout à travers les murs",
    "merci à {name|Youssef} et {name|Ibrahim} pour le tournoi de foot",
    "La {address|rue Gabriel Péri} est dangereuse pour les enfants",
    "je paie mon loyer sur {iban|FR76 3000 6000 0112 3456 7890 189} et ils disent que jai pas payé",
]


def _fill(pattern: str, rng: random.Random) -> str:
    def value(slot: str) -> str:
        first, last = rng.choice(FIRSTS), rng.choice(SURNAMES)
        if slot == "PHONE":
            return "{phone|" + phone(rng) + "}"
        if slot == "EMAIL":
            return "{email|" + email(rng, first, last) + "}"
        if slot == "NIR":
            return "{nir|" + nir(rng) + "}"
        if slot == "IBAN":
            return "{iban|" + iban(rng) + "}"
        if slot == "PLATE":
            return "{plate|" + plate(rng) + "}"
        if slot == "ADDR":
            street = rng.choice(STREETS)
            if rng.random() < 0.7:
                street = f"{rng.randrange(1, 120)}{rng.choice(['', '', ' bis'])} {street}"
            if rng.random() < 0.3:
                street = street.lower()
            return "{address|" + street + "}"
        if slot == "DWELL":
            return "{address|" + rng.choice(DWELLINGS) + "}"
        if slot == "TITLED":
            title = rng.choice(TITLES)
            name = last if rng.random() < 0.8 else f"{first} {last}"
            if rng.random() < 0.2:
                name = name.lower()
            return title + " {name|" + name + "}"
        if slot == "FULL":
            return "{name|" + f"{first} {last}" + "}"
        if slot == "FIRST":
            return "{name|" + first + "}"
        raise KeyError(slot)

    out = pattern
    for slot in (
        "PHONE",
        "EMAIL",
        "NIR",
        "IBAN",
        "PLATE",
        "ADDR",
        "DWELL",
        "TITLED",
        "FULL",
        "FIRST",
    ):
        while "{" + slot + "}" in out:
            out = out.replace("{" + slot + "}", value(slot), 1)
    return out


def main() -> None:
    rng = random.Random(19)
    lines = list(HANDWRITTEN)
    for pattern in PATTERNS:
        for _ in range(7):
            lines.append(_fill(pattern, rng))
    lines.extend(NEGATIVE)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} messages written to {OUT}")


if __name__ == "__main__":
    main()
