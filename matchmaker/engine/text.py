"""Text analysis: a text in English, French or Spanish -> weighted features in one language-neutral space.

A document becomes a bag of features:

* ``w:<stem>`` -- its own words, lower-cased, stop words removed, Snowball-stemmed in the document's
  language and stripped of accents. Many e-commerce words are cognates ("protection", "commerce",
  "information"), so a French and an English stem often meet.
* ``w:<english stem>`` from the bilingual lexicon (FreeDict, see data/README.md): every French or Spanish
  word the lexicon knows also votes, with a reduced weight split between its translations, for the English
  stems it translates to.
* ``w:<french stem>``, ``w:<spanish stem>`` of an English word: the same lexicons read backwards. An English
  word votes, with a smaller weight split between them, for the French and Spanish words that translate to
  it. A French need then meets an English programme on both sides of the dictionary, and two English words
  with a translation in common ("trader", "merchant" -> "commerçant") meet too.
* ``w:<english stem>`` of a cognate: a French or Spanish word rewritten with the regular Romance -> English
  suffix correspondences ("proporción" -> "proportion", "régionaux" -> "regional") and stemmed in English.
* ``c:<concept>`` from the domain glossary: phrases of e-commerce and development ("signature électronique",
  "firma electrónica", "e-signature") map to one concept.

One function, :func:`analyze`, computes them for the fit, for every query and for the themes; the features
and their weights are what the index counts, the names what the explanations show.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache

from .labels import feature_label, label_match_terms, label_terms, stem_label
from .lexicons import (
    REVERSE_LANGUAGES,
    cognate_stem,
    concept_label,
    concept_matches,
    english_translations,
    glossary,
    lexicon,
    reverse_lexicon,
)
from .tokens import (
    LANGUAGES,
    SNOWBALL_NAMES,
    WORD_PATTERN,
    dropped,
    lowered_words,
    stemmer,
    stems,
    stop_words,
    strip_accents,
    tokens,
    words,
)

__all__ = ["AnalyzerSettings", "analyze", "LANGUAGES", "WORD_PATTERN", "words", "tokens", "stems", "stemmer",
           "stop_words", "strip_accents", "lexicon", "reverse_lexicon", "english_translations", "cognate_stem",
           "glossary", "concept_label", "concept_matches", "feature_label", "stem_label", "label_terms",
           "label_match_terms"]


@dataclass(frozen=True)
class AnalyzerSettings:
    lexicon_weight: float = 0.5   # total weight a known FR/ES word gives to its English translations
    concept_weight: float = 1.0   # weight of one glossary concept occurrence
    use_lexicon: bool = True
    use_glossary: bool = True
    phrases_first: bool = False   # the words of a glossary phrase of several words count as the phrase only
    cognate_weight: float = 0.0   # weight of the English cognate spelling of a FR/ES word (the engine uses 1)
    reverse_weight: float = 0.0   # weight an English word gives, per language, to its FR and ES translations
                                  # (the engine uses 0.4)


@cache
def _token_table(lang: str) -> dict[str, tuple]:
    """Raw token -> (stem, English cognate stem or '') of a kept token, () for a dropped one; filled on use.

    Texts follow Zipf's law: a few thousand distinct tokens make most of every text, so a text costs one
    dictionary lookup per distinct token instead of the filters, the stemmer and the cognate rules.
    """
    return {}


def _token_info(token: str, lang: str) -> tuple:
    if dropped(token, stop_words(lang)):
        return ()
    stem = stemmer(lang)(token)
    cognate = cognate_stem(token, lang) if lang != "en" else ""
    return stem, (cognate if cognate != stem else "")


def _kept_tokens(all_words: list[str], lang: str) -> tuple[Counter, dict[str, tuple[str, str]]]:
    """(count of each word, kept word -> (stem, cognate stem)), in order of first occurrence."""
    word_counts = Counter(all_words)
    table = _token_table(lang)
    entries = list(map(table.get, word_counts))
    if None in entries:
        entries = [_token_info(token, lang) if entry is None else entry for token, entry in zip(word_counts, entries)]
        if len(table) < 500_000:
            table.update(zip(word_counts, entries))
    return word_counts, {token: entry for token, entry in zip(word_counts, entries) if entry}


def analyze(text: str, lang: str, settings: AnalyzerSettings = AnalyzerSettings(),
            surface: dict[str, str] | None = None) -> dict[str, float]:
    """Features of one text with raw (un-normalised) counts, in the order they were first added.

    ``surface`` collects a word per stem for the labels: a stem of an English text under its own key, a
    stem of a French or Spanish text under "~" + stem, and a translation reached from a French or Spanish
    word (a cognate too) under "~" + stem, from an English word under "~~" + stem (see :func:`stem_label`).
    """
    lang = lang if lang in SNOWBALL_NAMES else "en"
    all_words = lowered_words(text)
    word_counts, kept = _kept_tokens(all_words, lang)
    concepts: list[str] = []
    if settings.use_glossary and not glossary()[1][lang].keys().isdisjoint(kept[t][0] for t in kept):
        concepts = _phrases_first(all_words, kept, lang, word_counts, settings.phrases_first)
    stem_counts: dict[str, int] = {}
    for token, (stem, _cognate) in kept.items():
        stem_counts[stem] = stem_counts.get(stem, 0) + word_counts[token]
    features = {"w:" + stem: float(count) for stem, count in stem_counts.items()}
    first_word = _remember_words(surface, kept, lang) if surface is not None else None
    if settings.use_lexicon:
        _add_translations(features, lang, settings, stem_counts, surface, first_word)
    if settings.cognate_weight > 0 and lang != "en":
        _add_cognates(features, settings.cognate_weight, kept, word_counts, surface)
    for concept in concepts:
        key = "c:" + concept
        features[key] = features.get(key, 0.0) + settings.concept_weight
    return features


def _phrases_first(all_words: list[str], kept: dict[str, tuple[str, str]], lang: str, word_counts: Counter,
                   consume: bool = True) -> list[str]:
    """The glossary concepts of a text, in order; the words of a phrase of several words are taken by it and
    no longer counted as words (``word_counts`` and ``kept`` lose them): "young companies" is a company, not
    "young" too (which would meet "youth")."""
    kept_tokens = [token for token in all_words if token in kept]
    found = concept_matches([kept[token][0] for token in kept_tokens], lang)
    for position, length, _concept in found:
        if consume and length > 1:
            for token in kept_tokens[position:position + length]:
                word_counts[token] -= 1
    for token in [t for t in kept if word_counts[t] <= 0]:
        del kept[token]
    return [concept for _position, _length, concept in found]


def _remember_words(surface: dict[str, str], kept: dict[str, tuple[str, str]], lang: str) -> dict[str, str]:
    """Put the first word of each stem in ``surface`` unless it has one; return stem -> that word."""
    first_word = {stem: token for token, (stem, _cognate) in reversed(kept.items())}
    keyed = first_word if lang == "en" else {"~" + stem: token for stem, token in first_word.items()}
    surface.update({key: token for key, token in keyed.items() if key not in surface})
    return first_word


def _add_translations(features: dict[str, float], lang: str, settings: AnalyzerSettings,
                      stem_counts: dict[str, int], surface: dict[str, str] | None,
                      first_word: dict[str, str] | None) -> None:
    """A known French / Spanish word gives ``lexicon_weight`` per occurrence, split evenly between its English
    translations; an English word gives ``reverse_weight`` per occurrence and language, split evenly between its
    French (then Spanish) translations."""
    if lang == "en":
        weight, tables, mark = settings.reverse_weight, [reverse_lexicon(other) for other in REVERSE_LANGUAGES], "~~"
        if weight <= 0:
            return
    else:
        weight, tables, mark = settings.lexicon_weight, [lexicon(lang)], "~"
    # each table looked up for every stem at once (most stems have no translation), then the hits in the order
    # stem by stem, table by table, in which their shares are added
    found = [(stem, count, translations) for stem, count, *per_table in
             zip(stem_counts, stem_counts.values(), *(map(table.get, stem_counts) for table in tables))
             for translations in per_table if translations]
    for stem, count, translations in found:
        share = weight * count / len(translations)
        for translation in translations:
            key = "w:" + translation
            features[key] = features.get(key, 0.0) + share
            if surface is not None:
                surface.setdefault(mark + translation, first_word[stem])


def _add_cognates(features: dict[str, float], weight: float, kept: dict[str, tuple[str, str]],
                  word_counts: Counter, surface: dict[str, str] | None) -> None:
    for token, (_stem, cognate) in kept.items():
        if cognate:
            key = "w:" + cognate
            features[key] = features.get(key, 0.0) + weight * word_counts[token]
            if surface is not None:
                surface.setdefault("~" + cognate, token)
