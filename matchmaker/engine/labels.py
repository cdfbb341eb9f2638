"""Words that show a match's terms: the label of a feature, and a proposal's terms in the words of its two texts."""
from __future__ import annotations

from functools import lru_cache

from .lexicons import REVERSE_LANGUAGES, concept_label, english_translations, lexicon
from .tokens import SNOWBALL_NAMES, stemmer, tokens, words


def feature_label(feature: str, surface: dict[str, str] | None = None) -> str:
    """Human-readable label of a feature: a concept's English label or a word."""
    kind, _, value = feature.partition(":")
    if kind == "c":
        return concept_label(value)
    return stem_label(value, surface or {})


def stem_label(stem: str, surface: dict[str, str]) -> str:
    """The word that shows a stem: one of an English text, else of a French or Spanish text, else of an English
    text whose translation it is, else the stem itself (see ``surface`` in :func:`matchmaker.engine.text.analyze`)."""
    return surface.get(stem) or surface.get("~" + stem) or surface.get("~~" + stem, stem)


def label_terms(terms: list[tuple[str, float]], texts: list[tuple[str, str]]) -> list[tuple[str, float]]:
    """A match's terms with each word labelled by a word of its own two texts ([(text, language)]).

    The engine labels a stem by one word of the whole corpus ("customs" for the stem of "customers"); a label
    that is not a word of the texts becomes the first of their words with its stem, else with it among its
    translations. Terms that end up with one label are merged (shares added) and ordered again by share.
    """
    kept = _kept(texts)
    present = set().union(*(_words_by_stem(t, lang)[0] for t, lang in kept))
    out: dict[str, float] = {}
    for label, share in terms:
        shown = label
        if label not in present and words(label) == [label]:
            shown = _word_for(label, kept) or label
        out[shown] = out.get(shown, 0.0) + share
    out = _pair_translations(out, kept)
    # largest share first, as the engine lists them ("N other terms", the rest, stays last)
    return sorted(out.items(), key=lambda item: (item[0].endswith(" other terms"), -item[1]))


def label_match_terms(terms: list[tuple[str, float]], need_texts: list[tuple[str, str]],
                      offering_texts: list[tuple[str, str]]) -> list[tuple[str, float]]:
    """A proposal's terms in the words of each of its two sides (:func:`label_terms`): one word when the two
    are alike, else "need's word / offering's word". A term some side cannot show by a word of its own goes to
    the "N other terms" (its share is not given to a word present in neither text); concepts stay as they are.
    """
    need_kept, offering_kept = _kept(need_texts), _kept(offering_texts)
    other_count, other_share, out = 0, 0.0, {}
    for label, share in label_terms(terms, need_texts + offering_texts):
        if label.endswith(" other terms"):
            other_count += int(label.split()[0])
            other_share += share
            continue
        shown = label if label.startswith("concept: ") else _both_sides(label, need_kept, offering_kept)
        if shown is None:
            other_count += 1
            other_share += share
        else:
            out[shown] = out.get(shown, 0.0) + share
    ranked = sorted(out.items(), key=lambda item: -item[1])
    return ranked + ([(f"{other_count} other terms", other_share)] if other_count else [])


def _both_sides(label: str, need_kept: list[tuple[str, str]], offering_kept: list[tuple[str, str]]) -> str | None:
    """The label in the words of each side ("word" or "need's word / offering's word"), None if a side has none."""
    parts = label.split(" / ")
    candidates = [(parts[0], parts[-1]), (parts[-1], parts[0])] if len(parts) == 2 else [(label, label)]
    for need_label, offering_label in candidates:
        need_word, offering_word = _word_for(need_label, need_kept), _word_for(offering_label, offering_kept)
        if need_word and offering_word:
            return need_word if need_word == offering_word else f"{need_word} / {offering_word}"
    return None


def _kept(texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(text or "", lang if lang in SNOWBALL_NAMES else "en") for text, lang in texts]


def _pair_translations(terms: dict[str, float], kept: list[tuple[str, str]]) -> dict[str, float]:
    """A word of a French or Spanish text and its English translation in an English text, both terms (the two
    sides of the dictionary each gave one), made one term "word / translation" (first the one listed first)."""
    langs = {lang for _t, lang in kept}
    if "en" not in langs or langs == {"en"}:
        return terms
    where = {}                      # (language, stem) of each term that is a word of one of the texts (the first)
    for label in terms:
        lang = next((lang for text, lang in kept if label in _words_by_stem(text, lang)[0]), None)
        if lang is not None:
            where[label] = (lang, stemmer(lang)(label))
    out: dict[str, float] = {}
    taken: set[str] = set()
    for label, share in terms.items():
        if label in taken:
            continue
        twin = next((b for b in where if label in where and b != label and b not in taken
                     and _translates(where[label], where[b])), None)
        if twin is None:
            out[label] = share
        else:
            taken.update((label, twin))
            out[f"{label} / {twin}"] = share + terms[twin]
    return out


def _translates(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Whether two (language, stem) words are an English word and its French or Spanish translation."""
    (lang_a, stem_a), (lang_b, stem_b) = a, b
    if lang_a == "en" and lang_b != "en":
        return stem_a in lexicon(lang_b).get(stem_b, ())
    return lang_b == "en" and lang_a != "en" and stem_b in lexicon(lang_a).get(stem_a, ())


# Small caches (a few MB): a need's text serves each of its proposals, an offering's several needs of a run.
@lru_cache(maxsize=256)
def _words_by_stem(text: str, lang: str) -> tuple[frozenset[str], dict[str, str]]:
    """A text's kept words, and stem -> the first word with it."""
    st = stemmer(lang)
    toks = tokens(text, lang)
    by_stem: dict[str, str] = {}
    for t in dict.fromkeys(toks):
        by_stem.setdefault(st(t), t)
    return frozenset(toks), by_stem


@lru_cache(maxsize=64)
def _words_by_translation(text: str, lang: str) -> dict[str, str]:
    """Translation stem -> the first word of the text with it (English stems of a French / Spanish word, French
    and Spanish stems of an English word)."""
    table = english_translations() if lang == "en" else lexicon(lang)
    out: dict[str, str] = {}
    for s, t in _words_by_stem(text, lang)[1].items():
        for tr in table.get(s, ()):
            out.setdefault(tr, t)
    return out


def _word_for(label: str, kept: list[tuple[str, str]]) -> str | None:
    """The first word of the texts with the label's stem in the text's language, else the first word one of whose
    translations is the label's stem (in English for a French or Spanish word, in French or Spanish for an English
    word)."""
    for text, lang in kept:
        w = _words_by_stem(text, lang)[1].get(stemmer(lang)(label))
        if w is not None:
            return w
    for text, lang in kept:
        by_translation = _words_by_translation(text, lang)
        for other in (REVERSE_LANGUAGES if lang == "en" else ("en",)):
            w = by_translation.get(stemmer(other)(label))
            if w is not None:
                return w
    return None
