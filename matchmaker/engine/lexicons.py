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
@cache
def _cognate_rules(lang: str) -> tuple[list[int], dict[str, str]]:
    """Suffix lengths, longest first, and suffix -> English spelling (the first listed wins), from
    data/cognates.tsv: regular French / Spanish -> English suffix correspondences (textbook rules)."""
    rules = [line.split("\t")[1:] for line in data_text("cognates.tsv").splitlines() if line.startswith(lang + "\t")]
    return sorted({len(suffix) for suffix, _ in rules}, reverse=True), dict(reversed(rules))


@lru_cache(maxsize=200_000)
def cognate_stem(token: str, lang: str) -> str:
    """English stem of the English-looking spelling of a French / Spanish word ('' if no rule applies):
    "proporción" -> "proportion" -> "proport", "régionaux" -> "regional" -> "region"."""
    spelt = cognate_spelling(token, lang)
    return stemmer("en")(spelt) if spelt else ""


def cognate_stems(tokens: list[str], lang: str) -> list[str]:
    """:func:`cognate_stem` of each token, the English stems worked out in one call to the stemmer."""
    spellings = [cognate_spelling(token, lang) for token in tokens]
    stems = iter(stemmer("en").stem_all([spelt for spelt in spellings if spelt]))
    return [next(stems) if spelt else "" for spelt in spellings]


def cognate_spelling(token: str, lang: str) -> str:
    """The English-looking spelling of a French / Spanish word ('' if no rule applies): "proporción" ->
    "proportion", "régionaux" -> "regional"."""
    if lang not in REVERSE_LANGUAGES or len(token) < 5:
        return ""
    base = w = strip_accents(token)
    if lang == "es" and len(w) > 5 and w.startswith("es") and w[2] not in "aeiou":
        w = w[1:]                  # "estrategia" -> "strategia": English has no prosthetic e-
    lengths, rules = _cognate_rules(lang)
    for n in lengths:
        if len(w) - n >= 3:
            rep = rules.get(w[-n:])
            if rep is not None:
                return w[:-n] + rep
    return "" if w == base else w


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
    after = 0                                   # the end of the last phrase found
    for i in [i for i, stem in enumerate(sts) if stem in table_g]:      # only where a phrase may start
        if i < after:
            continue
        for key, cid in table_g[sts[i]]:
            m = len(key)
            if tuple(sts[i:i + m]) == key:
                found.append((i, m, cid))
                after = i + m
                break
    return found
