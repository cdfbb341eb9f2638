"""Mark, in a need's or an offering's text, the words behind the terms that carried a match's score."""
from __future__ import annotations

import re

from markupsafe import Markup, escape

from matchmaker.engine import text as engine_text

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _stems(label: str, languages: tuple[str, ...]) -> set[str]:
    stems = set()
    for lang in languages:
        stemmer = engine_text.stemmer(lang)
        for token in engine_text.tokens(label, lang):
            stems.add(stemmer(token))
    return stems


def highlight(text: str, language: str, terms: list) -> Markup:
    """The text, escaped, with <mark> around each word whose stem is one of the match's terms."""
    language = language if language in engine_text.LANGUAGES else "en"
    labels = [label for label, _share in terms if not str(label).startswith("concept:") and " other terms" not in str(label)]
    wanted = set()
    for label in labels:
        wanted |= _stems(str(label), (language, "en"))
    stemmer = engine_text.stemmer(language)
    # In French or Spanish, a word also counts when its English translation is one of the terms.
    lexicon = engine_text.lexicon(language) if language != "en" else {}
    out, last = [], 0
    for found in _WORD.finditer(text):
        word = found.group(0)
        normalised = engine_text.tokens(word, language)
        stem = stemmer(normalised[0]) if normalised else None
        if stem is not None and (stem in wanted or wanted.intersection(lexicon.get(stem, ()))):
            out.append(escape(text[last:found.start()]))
            out.append(Markup("<mark>") + escape(word) + Markup("</mark>"))
            last = found.end()
    out.append(escape(text[last:]))
    return Markup("").join(out).replace("\n", Markup("<br>"))
