"""Does a text name a member? The one matcher for need texts (flagged to the delegate and at screening) and for
the non-attributable summaries of sessions (refused).

A member is named by any name the reference data knows for it: its English, French and Spanish names, the part
before a comma ("Bolivia" of "Bolivia, Plurinational State of"), its other names (members.csv), the distinctive
words of a name of several words ("Lanka", "Faso"), and its ISO codes (alpha-2 and alpha-3, in capitals). Case
and accents do not matter ("SENEGAL", "Sénégal"), and a name followed by a usual ending of a demonym is found
too ("Haitian", "haïtienne", "peruanos", "togolaise") — "Mali" in "malicious" is not.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import pycountry

from matchmaker.services.themes import GENERIC_NAME_WORDS

# Endings that turn a name into its demonym in English, French or Spanish (after accents are stripped).
DEMONYM_ENDINGS = (
    "n", "an", "ian", "ians", "ans", "ns", "ese", "i", "is", "ish", "lese", "vian", "vians",
    "ien", "ienne", "iens", "iennes", "en", "enne", "ens", "ennes", "ais", "aise", "aises", "ois", "oise", "oises",
    "ain", "aine", "ains", "aines", "lais", "laise", "vien", "vienne", "e", "es", "s",
    "o", "a", "os", "as", "no", "na", "nos", "nas", "ano", "ana", "anos", "anas", "ense", "enses", "eno", "ena",
    "enos", "enas", "ino", "ina", "inos", "inas", "ero", "era", "eros", "eras",
)
# Words of names that are too common to name a member alone (the whole name still counts).
COMMON_WORDS = GENERIC_NAME_WORDS | {
    "africa", "african", "afrique", "africaine", "africana", "africano", "china", "chine", "chinese", "chinois",
    "guinea", "guinee", "federation", "federacion", "america", "amerique", "equatorial", "holy",
    "american", "americain", "americano", "european", "europea", "europeenne", "arabes", "oriental",
    # ordinary words in one of the languages: "llevar a cabo", "la costa", "un tome", "le siège", "en el país"
    "cabo", "verde", "vert", "cape", "coast", "cote", "costa", "rica", "sierra", "tome", "principe", "santo",
    "sainte", "sede", "siege", "unido", "pays", "paises", "bajos", "ecuatorial", "equatoriale",
}
ARTICLES = {"the", "la", "le", "les", "el", "los", "las", "l"}
_WORD = re.compile(r"[^\W_]+")


def fold(word: str) -> str:
    """Lower case without accents: how words are compared."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    return [fold(m.group(0)) for m in _WORD.finditer(text)]


def variants(member) -> list[tuple[str, ...]]:
    """Every name of the member, as sequences of folded words."""
    names = [member.name_en, member.name_fr, member.name_es, *(n for n in member.other_names or () if not _acronym(n))]
    phrases: set[tuple[str, ...]] = set()
    for name in filter(None, names):
        for part in {name, name.split(",")[0]}:
            words = _words(part)
            while words and words[0] in ARTICLES:
                words = words[1:]
            if words:
                phrases.add(tuple(words))
            if len(words) > 1:
                phrases.update((w,) for w in words if len(w) >= 4 and w not in COMMON_WORDS)
    return sorted(phrases)


def _acronym(name: str) -> bool:
    return name.isalpha() and name.isupper() and len(name) <= 5


def codes(member) -> list[str]:
    """Its ISO codes and its other names that are acronyms ("DRC"): found in capitals only."""
    found = [member.code, *(n for n in member.other_names or () if _acronym(n))]
    country = pycountry.countries.get(alpha_2=member.code) if member.code != "EU" else None
    if country is not None:
        found.append(country.alpha_3)
    return found


@lru_cache(maxsize=512)
def _pattern(phrase: tuple[str, ...]) -> re.Pattern:
    """The phrase's words in a row; the last may take a demonym's ending when it is not too short."""
    *head, last = phrase
    ending = f"(?:{'|'.join(sorted(DEMONYM_ENDINGS, key=len, reverse=True))})?" if len(last) >= 4 else ""
    body = r"[\W_]+".join([*(re.escape(w) for w in head), re.escape(last) + ending])
    return re.compile(rf"(?<!\w){body}(?!\w)")


def names_in(text: str, members: Iterable) -> list[str]:
    """The names (as written in ``text``) by which ``text`` names any of ``members``, in order of appearance."""
    if not text:
        return []
    text = unicodedata.normalize("NFC", text)
    # Fold character by character, so that a match's position is its position in the original text.
    folded = "".join(fold(ch)[:1] or " " for ch in text)
    spans = set()
    for member in members:
        for phrase in variants(member):
            spans.update(m.span() for m in _pattern(phrase).finditer(folded))
        for code in codes(member):
            spans.update(m.span() for m in re.finditer(rf"(?<![A-Za-z0-9]){re.escape(code)}(?![A-Za-z0-9])", text))
    # A name inside a longer one found at the same place ("Côte" in "Côte d'Ivoire") is not listed apart.
    longest = [(a, b) for a, b in spans if not any(c <= a and b <= d and (c, d) != (a, b) for c, d in spans)]
    found = []
    for start, end in sorted(longest):
        name = text[start:end]
        if name not in found:
            found.append(name)
    return found


def need_names_its_member(need) -> list[str]:
    """The names by which an anonymous need's title or description names its own member ([] when the member
    chose to be named)."""
    if need.attributed or need.member is None:
        return []
    return names_in(f"{need.title}\n{need.description}", [need.member])
