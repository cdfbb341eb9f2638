"""Mark, in a need's or an offering's text, the words behind the terms that carried a match's score.

A term is a word (marked wherever a word of the text has its stem or a translation of it: in French or
Spanish, an English one; in English, a French or Spanish one, as the engine reads its lexicons both ways)
or a glossary concept ("concept: mobile money", marked wherever one of the concept's phrases in the
text's language occurs, e.g. "monnaie électronique" in a French need).
"""
from __future__ import annotations

import re

from markupsafe import Markup, escape

from matchmaker.engine import lexicons, tokens

_WORD = re.compile(tokens.WORD_PATTERN)
_CONCEPT = "concept:"


def _stems(label: str, languages: tuple[str, ...]) -> set[str]:
    stems = set()
    for lang in languages:
        stemmer = tokens.stemmer(lang)
        for token in tokens.tokens(label, lang):
            stems.add(stemmer(token))
    return stems


def _concept_ids(labels: list[str]) -> set[str]:
    """The glossary concepts named by the match's "concept: <English label>" terms."""
    names = {label[len(_CONCEPT):].strip() for label in labels if label.startswith(_CONCEPT)}
    return {cid for cid, concept in lexicons.glossary()[0].items() if concept.label in names}


def _concept_spans(kept: list[tuple[str, int, int]], language: str, wanted: set[str]) -> list[tuple[int, int]]:
    """(start, end) of each phrase of a wanted concept, found as the engine finds them (on the stems of the
    words it keeps)."""
    if not wanted:
        return []
    matches = lexicons.concept_matches([stem for stem, _s, _e in kept], language)
    return [(kept[i][1], kept[i + m - 1][2]) for i, m, cid in matches if cid in wanted]


def highlight(text: str, language: str, terms: list) -> Markup:
    """The text, escaped, with <mark> around each word or glossary phrase behind one of the match's terms."""
    language = language if language in tokens.LANGUAGES else "en"
    labels = [str(label) for label, _share in terms if not str(label).endswith(" other terms")]
    words = [label for label in labels if not label.startswith(_CONCEPT)]
    wanted = set()
    for label in words:
        wanted |= _stems(label, (language, "en"))
    stemmer = tokens.stemmer(language)
    # In French or Spanish, a word also counts when its English translation is one of the terms; in English, when
    # one of its French or Spanish translations is (a term of a French need met by an English programme).
    if language != "en":
        lexicon = lexicons.lexicon(language)
    else:
        lexicon = lexicons.english_translations()
        for label in words:
            wanted |= _stems(label, ("fr", "es"))
    kept: list[tuple[str, int, int]] = []       # (stem, start, end) of each word the engine keeps
    marks: list[tuple[int, int]] = []
    for found in _WORD.finditer(text):
        normalised = tokens.tokens(found.group(0), language)
        if not normalised:
            continue
        stem = stemmer(normalised[0])
        kept.append((stem, found.start(), found.end()))
        if stem in wanted or wanted.intersection(lexicon.get(stem, ())):
            marks.append((found.start(), found.end()))
    # A phrase is marked whole (with the small words inside it); the words it covers are not marked again.
    spans = _concept_spans(kept, language, _concept_ids(labels))
    marks = sorted(spans + [(s, e) for s, e in marks if not any(a <= s and e <= b for a, b in spans)])
    out, last = [], 0
    for start, end in marks:
        if start < last:                # overlapping phrases of two concepts: the first one stands
            continue
        out.append(escape(text[last:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        last = end
    out.append(escape(text[last:]))
    return Markup("").join(out).replace("\n", Markup("<br>"))
