"""The bilingual lexicons (read both ways), the cognate spelling rules and the domain glossary.

Data files in data/ (sources in data/README.md). Each table is read once per process, on first use.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache, lru_cache

from .tokens import LANGUAGES, data_text, stemmer, stems, strip_accents, words

REVERSE_LANGUAGES = ("fr", "es")          # the lexicons read backwards from English (French first)


# --------------------------------------------------------------------------- lexicon
@cache
def lexicon(lang: str) -> dict[str, tuple[str, ...]]:
    """Stem (in ``lang``) -> English stems, from data/lexicon_<lang>_en.tsv."""
    if lang == "en":
        return {}
    table: dict[str, tuple[str, ...]] = {}
    for line in data_text(f"lexicon_{lang}_en.tsv").splitlines():
        if not line or line.startswith("#"):
            continue
        src, _, dst = line.partition("\t")
        table[src] = tuple(dst.split())
    return table


@cache
def reverse_lexicon(lang: str) -> dict[str, tuple[str, ...]]:
    """English stem -> the stems (in ``lang``, French or Spanish) that ``lexicon(lang)`` translates to it, in
    the lexicon's order."""
    table: dict[str, list[str]] = {}
    for src, dsts in lexicon(lang).items():
        for d in dsts:
            table.setdefault(d, []).append(src)
    return {k: tuple(v) for k, v in table.items()}


@lru_cache(maxsize=1)
def english_translations() -> dict[str, tuple[str, ...]]:
    """English stem -> its French, then Spanish, translations (both reverse lexicons in one table)."""
    table: dict[str, tuple[str, ...]] = {}
    for other in REVERSE_LANGUAGES:
        for stem, translations in reverse_lexicon(other).items():
            table[stem] = table.get(stem, ()) + translations
    return table


# --------------------------------------------------------------------------- cognates
# Regular spelling correspondences between French / Spanish words and their English cognates
# (textbook Romance -> English suffix rules, longest suffix first). A rewritten word is stemmed
# in English: "proporción" -> "proportion" -> "proport", "régionaux" -> "regional" -> "region".
_COGNATE_SUFFIXES = {
    "fr": (("isations", "izations"), ("isation", "ization"), ("tionnelles", "tional"), ("tionnels", "tional"),
           ("tionnelle", "tional"), ("tionnel", "tional"), ("elles", "al"), ("elle", "al"), ("els", "al"),
           ("el", "al"), ("aux", "al"), ("ales", "al"), ("ale", "al"), ("iques", "ic"), ("ique", "ic"),
           ("euses", "ous"), ("euse", "ous"), ("eux", "ous"), ("aires", "ary"), ("aire", "ary"),
           ("ives", "ive"), ("ifs", "ive"), ("if", "ive"), ("ites", "ity"), ("ite", "ity"), ("tes", "ty"),
           ("te", "ty"), ("ies", "ies"), ("ie", "y"), ("teurs", "tors"), ("teur", "tor"), ("istes", "ists"),
           ("iste", "ist"), ("ismes", "isms"), ("isme", "ism"), ("iser", "ize"), ("ises", "ized"),
           ("ise", "ized"), ("ement", "ment"), ("ees", "ed"), ("ee", "ed")),
    "es": (("izaciones", "izations"), ("izacion", "ization"), ("cionales", "tional"), ("cional", "tional"),
           ("ciones", "tions"), ("cion", "tion"), ("siones", "sions"), ("sion", "sion"),
           ("idades", "ities"), ("idad", "ity"), ("dades", "ties"),
           ("dad", "ty"), ("icos", "ic"), ("icas", "ic"), ("ico", "ic"), ("ica", "ic"), ("osos", "ous"),
           ("osas", "ous"), ("oso", "ous"), ("osa", "ous"), ("arios", "ary"), ("arias", "ary"),
           ("ario", "ary"), ("aria", "ary"), ("ivos", "ive"), ("ivas", "ive"), ("ivo", "ive"), ("iva", "ive"),
           ("mente", "ly"), ("izar", "ize"), ("istas", "ists"), ("ista", "ist"), ("ismos", "isms"),
           ("ismo", "ism"), ("encias", "ences"), ("encia", "ence"), ("ancias", "ances"), ("ancia", "ance"),
           ("entes", "ents"), ("ente", "ent"), ("antes", "ants"), ("ante", "ant"), ("ales", "al"),
           ("uras", "ures"), ("ura", "ure"), ("ias", "ies"), ("ia", "y"), ("ados", "ated"),
           ("adas", "ated"), ("ado", "ated"), ("ada", "ated")),
}


# per language: suffix lengths, longest first, and suffix -> replacement (the longest matching suffix wins,
# as in the ordered lists above)
_COGNATE_TABLES = {lang: (sorted({len(s) for s, _ in rules}, reverse=True), dict(reversed(rules)))
                   for lang, rules in _COGNATE_SUFFIXES.items()}


@lru_cache(maxsize=200_000)
def cognate_stem(token: str, lang: str) -> str:
    """English stem of the English-looking spelling of a French / Spanish word ('' if no rule applies)."""
    table = _COGNATE_TABLES.get(lang)
    if not table or len(token) < 5:
        return ""
    base = w = strip_accents(token)
    if lang == "es" and len(w) > 5 and w.startswith("es") and w[2] not in "aeiou":
        w = w[1:]                  # "estrategia" -> "strategia": English has no prosthetic e-
    lengths, rules = table
    for n in lengths:
        if len(w) - n >= 3:
            rep = rules.get(w[-n:])
            if rep is not None:
                w = w[:-n] + rep
                break
    else:
        if w == base:
            return ""
    return stemmer("en")(w)


# --------------------------------------------------------------------------- glossary
@dataclass(frozen=True)
class Concept:
    id: str
    label: str


@cache
def glossary() -> tuple[dict[str, Concept], dict[str, dict[str, list[tuple[tuple[str, ...], str]]]]]:
    """Concepts and, per language, first stem -> [(phrase stems, concept id)], longest first."""
    concepts: dict[str, Concept] = {}
    phrases: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {lang: {} for lang in LANGUAGES}
    rows = csv.DictReader(data_text("glossary.tsv").splitlines(), delimiter="\t")
    for row in rows:
        cid = row["concept"].strip()
        if not cid or cid.startswith("#"):
            continue
        concepts[cid] = Concept(cid, row["en"].split("|")[0].strip())
        for lang in LANGUAGES:
            for phrase in (row.get(lang) or "").split("|"):
                phrase = phrase.strip()
                if not phrase:
                    continue
                key = tuple(stems(phrase, lang))
                if not key or (len(key) == 1 and len(words(phrase.lower())) > 1):
                    continue        # "sans papier", "know-how": with its small word dropped, just "papier", "know"
                phrases[lang].setdefault(key[0], []).append((key, cid))
    for table in phrases.values():
        for lst in table.values():
            lst.sort(key=lambda item: (-len(item[0]), item[1]))
    return concepts, phrases


def concept_label(cid: str) -> str:
    c = glossary()[0].get(cid)
    return c.label if c else cid


def concept_matches(sts: list[str], lang: str) -> list[tuple[int, int, str]]:
    """(position, length, concept id) of each glossary phrase in a sequence of stems, in order: the longest
    phrase first at each position, and matching goes on after the phrase."""
    table_g = glossary()[1][lang]
    found: list[tuple[int, int, str]] = []
    i, n = 0, len(sts)
    while i < n:
        cands = table_g.get(sts[i])
        matched = 0
        if cands:
            for key, cid in cands:
                m = len(key)
                if tuple(sts[i:i + m]) == key:
                    found.append((i, m, cid))
                    matched = m
                    break
        i += matched or 1
    return found
