"""French normalisation for thème suggestions.

Habitants write by SMS and Telegram: no accents or wrong ones, capitals, elisions ("l'école",
"qu'on"), plurals, emoji, numbers of buildings and arrondissements. Two views of a text come out
of here, both pure functions with no state:

- ``words(text)``: the words as written, for explaining a suggestion;
- ``word_key(word)``: one comparable key per word, accents and plural removed then stemmed with
  the Snowball French stemmer, so "Écoles", "ecole" and "école" share the key ``ecol``.

Stop words are dropped from the keys (they say nothing about a thème) but kept by ``words`` so
the back-office can show the text's own words.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

__all__ = ["fold", "word_key", "words", "keys", "STOP_WORDS"]

# Letters (any script), digits and in-word hyphens; everything else separates words.
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*", re.UNICODE)
# Elided articles and pronouns glued to the next word: l'école, d'arbres, qu'on, jusqu'au.
_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu)['’`´]", re.IGNORECASE)

# Kept short on purpose: function words and the most frequent verbs, written without accents
# because they are compared after ``fold``.
STOP_WORDS = frozenset(
    """
    a au aux avec ce ces cet cette ceci cela ca c d de des du dans en et est etre il ils elle elles
    je j l la le les leur leurs lui m ma mais me meme mes moi mon n ne ni nos notre nous on ou par
    pas pour qu que qui quoi sa se ses si son sur t ta te tes toi ton tu un une vos votre vous y
    ete etait etaient sont suis es sommes etes serait seraient sera seront soit
    ai as avons avez ont avait avaient aura auront aurait auraient eu
    fait faire font faut il-y-a ya plus moins tres trop bien tout tous toute toutes autre autres
    aussi alors donc car comme quand sans sous entre vers chez apres avant depuis pendant lors
    ici la-bas cela celle celles celui ceux dont lequel laquelle lesquels quel quelle quels quelles
    peu beaucoup encore deja jamais toujours rien non oui si peut peuvent pouvoir doit doivent
    devrait devraient faudrait veux veut voudrais etc ainsi chaque certains certaines leurs
    """.split()
)

_stemmer = snowballstemmer.stemmer("french")


def fold(text: str) -> str:
    """Lower-case ``text``, remove accents and ligatures ("Œuvre à l'été" -> "oeuvre a l'ete")."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words of ``text`` as written, elisions split off, punctuation and emoji dropped."""
    return _WORD.findall(_ELISION.sub(" ", text))


@lru_cache(maxsize=200_000)
def word_key(word: str) -> str:
    """One comparable key per word: accents removed, plural dropped, stemmed; "" for a stop word.

    The stemmer is run on the accented form (Snowball's French rules rely on accents), then the
    stem is folded, so a word typed without accents lands on the same key in most cases.
    """
    folded = fold(word)
    if folded in STOP_WORDS or len(folded) < 2 or folded.isdigit():
        return ""
    if any(c.isdigit() for c in folded):
        # "17eme", "12e", "3f": arrondissements and bus lines say where, not what.
        return ""
    lower = word.lower()
    if len(lower) > 3 and lower[-1] in "sx" and lower[-2] not in "su":
        lower = lower[:-1]
    stem = fold(_stemmer.stemWord(lower))
    if len(stem) > 3 and stem.endswith("s") and not stem.endswith("ss"):
        stem = stem[:-1]
    return stem


def keys(text: str) -> list[str]:
    """The keys of the words of ``text`` that are not stop words, in order."""
    return [k for k in map(word_key, words(text)) if k]
