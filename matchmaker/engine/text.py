"""Text analysis: a text in English, French or Spanish -> weighted features in one language-neutral space.

Features of a document: ``w:<stem>`` of its own words (stop words out, Snowball stems without accents: many
e-commerce words are cognates, so French and English stems often meet); ``w:<english stem>`` of the bilingual
lexicon (data/README.md), a French or Spanish word voting with a reduced weight split between its
translations; the same lexicons read backwards for an English word (a smaller weight), so a French need meets
an English programme on both sides of the dictionary; ``w:<english stem>`` of a French or Spanish word rewritten
with the Romance -> English suffix rules ("proporción" -> "proportion"); and ``c:<concept>`` of the domain
glossary's phrases ("signature électronique", "firma electrónica", "e-signature").

What one occurrence of a word gives is worked out once per distinct word, as a row of a words x features
table; a batch of documents is then one scipy product (word counts x table). The same code analyses the fit's
corpus, each query and the themes' needs, so a record's vector is the same whichever way it is built.
"""
from __future__ import annotations

import threading
from array import array
from collections import Counter
from dataclasses import dataclass
from functools import cache
from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp

from .lexicons import REVERSE_LANGUAGES, cognate_stems, concept_matches, glossary, lexicon, reverse_lexicon
from .tokens import LANGUAGES, SNOWBALL_NAMES, dropped, lowered_words, stemmer, stop_words


@dataclass(frozen=True)
class AnalyzerSettings:
    lexicon_weight: float = 0.5   # total weight a known FR/ES word gives to its English translations
    concept_weight: float = 1.0   # weight of one glossary concept occurrence
    use_lexicon: bool = True
    use_glossary: bool = True
    cognate_weight: float = 0.0   # weight of the English cognate spelling of a FR/ES word (the engine uses 1)
    reverse_weight: float = 0.0   # weight an English word gives, per language, to its FR and ES translations
                                  # (the engine uses 0.4)


@dataclass
class Analysed:
    """Documents as rows: ``indptr`` (documents + 1), feature numbers (see :attr:`Analyser.names`), values."""
    indptr: np.ndarray
    features: np.ndarray
    values: np.ndarray


class Analyser:
    """The words x features table of one analyser setting, grown as new words are met (thread-safe)."""

    def __init__(self, settings: AnalyzerSettings):
        self.settings = settings
        self.names: list[str] = []                       # feature number -> name
        self._number: dict[str, int] = {}
        self._row: dict[str, dict[str, int]] = {lang: {} for lang in ("", *LANGUAGES)}   # language -> word
        # (or "" -> concept) -> table row
        self._starts_phrase = np.zeros(1024, bool)       # row -> its stem starts a glossary phrase (with spare room)
        self._ptr, self._cols, self._vals = array("q", [0]), array("q"), array("d")
        self._stem: list[str | None] = []                # row -> stem of a kept word (None: dropped or concept)
        self._surface: list[tuple] = []                  # row -> ((key, word) own, translations, cognate)
        self._lock = threading.Lock()

    def analyse(self, documents: list[list[tuple[str, str, float]]], surface: dict[str, str] | None = None,
                offered: set[int] | None = None, surfaces: list[dict[str, str]] | None = None) -> Analysed:
        """Features of documents made of parts (text, language, weight): a title counts twice, say.

        ``surface`` collects a word per stem for the labels: a stem of an English text under its own key, a
        stem of a French or Spanish text under "~" + stem, and a translation reached from a French or Spanish
        word (a cognate too) under "~" + stem, from an English word under "~~" + stem (see :func:`stem_label`).
        ``offered``: the table rows whose words ``surface`` has had already (from the earlier blocks of a corpus);
        the rows met here are added to it. ``surfaces``: each document's own surface, appended in order, as an
        analysis of that document alone would collect it (one batch instead of a call per document).
        """
        rows: list[int] = []
        counts: list[int] = []
        texts, langs, part_ends, part_weights, doc_ends = [], [], [0], [], [0]
        # (where its rows start, language, word counts) of each part with words the table does not have yet
        unknown: list[tuple[int, str, Counter]] = []
        for parts in documents:
            for text, lang, weight in parts:
                lang = lang if lang in SNOWBALL_NAMES else "en"
                # the part's distinct words in order of first occurrence, with their counts
                word_counts = Counter(lowered_words(text or ""))
                first, table = len(rows), self._row[lang]
                try:
                    rows += map(table.__getitem__, word_counts)
                except KeyError:                         # a word met for the first time: its row comes later
                    del rows[first:]
                    rows += map(table.get, word_counts, repeat(-1))
                    unknown.append((first, lang, word_counts))
                counts += word_counts.values()
                texts.append(text or "")
                langs.append(lang)
                part_ends.append(len(rows))
                part_weights.append(weight)
            doc_ends.append(len(texts))
        rows_met, part_ptr = np.fromiter(rows, np.int64, len(rows)), np.array(part_ends, np.int64)
        if unknown:
            self._add_rows(rows_met, unknown)
        counts_met = np.fromiter(counts, np.float64, len(counts))
        if self.settings.use_glossary:
            rows_met, counts_met, part_ptr = self._with_concepts(texts, langs, rows_met, counts_met, part_ptr)
        # a title's count x its weight: the same float products as one by one
        weighted = counts_met * np.repeat(np.array(part_weights, np.float64), np.diff(part_ptr))
        if surface is not None:
            self._remember(rows_met, part_ptr, surface, set() if offered is None else offered)
        if surfaces is not None:
            surfaces += self._own_surfaces(rows_met, part_ptr, doc_ends)
        return self._product(part_ptr[doc_ends], rows_met, weighted)

    def _own_surfaces(self, rows: np.ndarray, part_ptr: np.ndarray, doc_ends: list[int]) -> list[dict[str, str]]:
        """Each document's surface, as its analysis alone would collect it (see :meth:`_remember`)."""
        out = []
        for first_part, end_part in zip(doc_ends[:-1], doc_ends[1:], strict=True):
            start, own = part_ptr[first_part], {}
            self._remember(rows[start:part_ptr[end_part]], part_ptr[first_part:end_part + 1] - start, own, set())
            out.append(own)
        return out

    def _add_rows(self, rows: np.ndarray, unknown: list[tuple[int, str, Counter]]) -> None:
        """Fill in the rows (-1) of the new words of the parts ``unknown``, a row added for each new word (one
        language at a time: the stemmer stems all of them in one call)."""
        lengths = np.fromiter((len(counts) for _first, _lang, counts in unknown), np.int64, len(unknown))
        firsts = np.fromiter((first for first, _lang, _counts in unknown), np.int64, len(unknown))
        at = runs(firsts, firsts + lengths)
        words = list(chain.from_iterable(counts for _first, _lang, counts in unknown))
        missing = np.flatnonzero(rows[at] < 0)
        part_langs = [lang for _first, lang, _counts in unknown]
        lang_of_missing = np.repeat(np.array(part_langs), lengths)[missing]
        for lang in dict.fromkeys(part_langs):
            in_lang = missing[lang_of_missing == lang]
            new = list(map(words.__getitem__, in_lang.tolist()))
            self._add_words(lang, list(dict.fromkeys(new)))
            rows[at[in_lang]] = np.fromiter(map(self._row[lang].__getitem__, new), np.int64, len(new))

    def _with_concepts(self, texts: list[str], langs: list[str], rows: np.ndarray, counts: np.ndarray,
                       part_ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows and counts with, after each part's words, a row of count 1 for each glossary phrase found in
        it (in order); only the parts with a word that starts a phrase are read again."""
        starts = self._starts_phrase[rows]
        candidates = np.unique(np.searchsorted(part_ptr, np.flatnonzero(starts), side="right") - 1).tolist()
        found, in_part = [], []
        for part in candidates:
            lang, stem_of, row_of = langs[part], self._stem.__getitem__, self._row[langs[part]].__getitem__
            kept = [stem for stem in map(stem_of, map(row_of, lowered_words(texts[part]))) if stem is not None]
            for _position, _length, concept in concept_matches(kept, lang):
                found.append(self._concept_row(concept))
                in_part.append(part)
        if not found:
            return rows, counts, part_ptr
        in_part = np.array(in_part, np.int64)
        ends = part_ptr[in_part + 1]                     # (np.insert keeps the order of equal positions)
        added = np.concatenate(([0], np.cumsum(np.bincount(in_part, minlength=part_ptr.size - 1))))
        return np.insert(rows, ends, found), np.insert(counts, ends, 1.0), part_ptr + added

    def _add_words(self, lang: str, words: list[str]) -> None:
        """A row for each of the words not in the table yet (the stems are worked out together: one call to the
        stemmer for all of them); the words enter the table once their rows are complete."""
        table, first_stems, stops = self._row[lang], glossary()[1][lang], stop_words(lang)
        with self._lock:
            words = [word for word in words if word not in table]
            kept = [word for word in words if not dropped(word, stops)]
            stem_of = dict(zip(kept, stemmer(lang).stem_all(kept), strict=True))
            spelt = {}
            if self.settings.cognate_weight > 0 and lang != "en":
                spelt = dict(zip(kept, cognate_stems(kept, lang), strict=True))
            translations = self._translations(lang)
            first_row = len(self._stem)
            for word in words:
                stem = stem_of.get(word)
                if stem is None:
                    self._new_row((), None, ((), (), ()))
                else:
                    self._new_row(*self._entries(word, lang, stem, spelt.get(word, ""), translations))
            self._starts_phrase = _grown(self._starts_phrase, len(self._stem))
            self._starts_phrase[first_row:len(self._stem)] = [stem_of.get(word) in first_stems for word in words]
            table.update(zip(words, range(first_row, len(self._stem)), strict=True))

    def _translations(self, lang: str) -> tuple[float, list[dict[str, tuple[str, ...]]], str]:
        """(weight, lexicons, surface mark) of the translations a word of the language gives (no lexicon: none)."""
        settings = self.settings
        if not settings.use_lexicon:
            return 0.0, [], ""
        if lang == "en":
            return settings.reverse_weight, [reverse_lexicon(other) for other in REVERSE_LANGUAGES], "~~"
        return settings.lexicon_weight, [lexicon(lang)], "~"

    def _entries(self, word: str, lang: str, stem: str, spelt: str,
                 translations: tuple[float, list[dict[str, tuple[str, ...]]], str]) -> tuple[list, str, tuple]:
        """What one occurrence of a kept word gives: [(feature, weight)], its stem and its surface entries, from its
        stem, the stem of its cognate spelling ("" if none) and :meth:`_translations`."""
        gives = [("w:" + stem, 1.0)]
        own = (("~" if lang != "en" else "") + stem, word)
        translated = []
        weight, tables, mark = translations
        for table in tables if weight > 0 else ():
            found = table.get(stem)
            if found:                                    # (most words have no translation)
                gives += [("w:" + t, weight / len(found)) for t in found]
                translated += [(mark + t, word) for t in found]
        cognate = ()
        if spelt and spelt != stem:
            gives.append(("w:" + spelt, self.settings.cognate_weight))
            cognate = (("~" + spelt, word),)
        return gives, stem, ((own,), tuple(translated), cognate)

    def _concept_row(self, concept: str) -> int:
        concepts = self._row[""]
        with self._lock:
            row = concepts.get(concept)
            if row is None:
                row = self._new_row([("c:" + concept, self.settings.concept_weight)], None, ((), (), ()))
                self._starts_phrase = _grown(self._starts_phrase, row + 1)
                concepts[concept] = row
        return row

    def _new_row(self, gives: list[tuple[str, float]], stem: str | None, surface: tuple) -> int:
        number, names, cols, vals = self._number, self.names, self._cols, self._vals
        for name, weight in gives:
            col = number.get(name)
            if col is None:
                col = number[name] = len(names)
                names.append(name)
            cols.append(col)
            vals.append(weight)
        self._ptr.append(len(cols))
        self._stem.append(stem)
        self._surface.append(surface)
        return len(self._stem) - 1

    def _remember(self, rows: np.ndarray, part_ptr: np.ndarray, surface: dict[str, str], offered: set[int]) -> None:
        """Each word met here offers, at its first occurrence, its stem's word, then its translations', then its
        cognate's, part by part (the first offer of a key wins; a word met again, here or in ``offered``, has
        offered them all already)."""
        if rows.size * 32 < len(self._stem):     # a few rows (one document): a sort costs less than a table-long array
            first = np.sort(np.unique(rows, return_index=True)[1])
        else:
            first = np.full(len(self._stem), rows.size, np.int64)
            np.minimum.at(first, rows, np.arange(rows.size))
            first = np.sort(first[first < rows.size])
        if offered:
            first = first[~np.isin(rows[first], np.fromiter(offered, np.int64, len(offered)))]
        part_of = np.searchsorted(part_ptr, first, side="right") - 1
        entries, new_rows = self._surface, rows[first].tolist()
        offered.update(new_rows)
        bounds = np.flatnonzero(np.diff(part_of)) + 1
        for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), len(new_rows)], strict=True):
            for kind in range(3):
                for row in new_rows[a:b]:
                    for key, word in entries[row][kind]:
                        surface.setdefault(key, word)

    def _table_rows(self, met: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """The entries of these table rows (their lengths, feature numbers, weights: copies) and the number of
        features, read under the lock: a view of the table's growing buffers, held while another thread adds a
        word, would make that thread's append fail (BufferError), so none outlives the lock."""
        with self._lock:
            ptr, cols, vals = (np.frombuffer(a, t) for a, t in ((self._ptr, np.int64), (self._cols, np.int64),
                                                                 (self._vals, np.float64)))
            lengths = ptr[met + 1] - ptr[met]
            at = np.repeat(ptr[met] - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
            entries = lengths, cols[at], vals[at], len(self.names)
            del ptr, cols, vals
        return entries

    def _product(self, indptr: np.ndarray, rows: np.ndarray, counts: np.ndarray) -> Analysed:
        """counts (documents x the rows met) @ those rows of the table, in the table rows' local numbering."""
        met, local = renumber(rows, len(self._ptr) - 1)
        lengths, cols, vals, n_features = self._table_rows(met)
        features, local_feature = renumber(cols, n_features)
        table = sp.csr_matrix((vals, local_feature, np.concatenate(([0], np.cumsum(lengths)))),
                              shape=(met.size, features.size))
        documents = sp.csr_matrix((counts, local, indptr), shape=(indptr.size - 1, met.size))
        product = documents @ table
        return Analysed(product.indptr.astype(np.int64), features[product.indices], product.data)


def _grown(flags: np.ndarray, size: int) -> np.ndarray:
    """``flags`` if it has room for ``size`` rows, else a copy twice as long (a reader keeps the array it took)."""
    if flags.size >= size:
        return flags
    return np.concatenate([flags, np.zeros(max(size, 2 * flags.size) - flags.size, bool)])


def runs(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The positions ``starts[i]`` to ``ends[i]`` (excluded) of every run, one run after the other."""
    lengths = ends - starts
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))


def renumber(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values in order, each value's position among them) of non-negative integers below ``size``:
    ``np.unique(values, return_inverse=True)`` in linear time in ``size``: for a few values (one query's words
    among a vocabulary of 10,000 documents) the sort is cheaper, and gives the same arrays."""
    if values.size * 32 < size:
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, inverse.reshape(-1)
    present = np.zeros(size, bool)
    present[values] = True
    position = np.cumsum(present) - 1
    return np.flatnonzero(present), position[values]


@cache
def analyser(settings: AnalyzerSettings) -> Analyser:
    """The one analyser of these settings in this process."""
    return Analyser(settings)


def analyze(text: str, lang: str, settings: AnalyzerSettings = AnalyzerSettings(),
            surface: dict[str, str] | None = None) -> dict[str, float]:
    """Features of one text with raw (un-normalised) counts (see :meth:`Analyser.analyse`)."""
    one = analyser(settings)
    done = one.analyse([[(text, lang, 1.0)]], surface)
    return dict(zip(map(one.names.__getitem__, done.features.tolist()), done.values.tolist(), strict=True))
