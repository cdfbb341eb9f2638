"""Vocabulary and weights: the frozen feature -> column map, the idf, and the weighted vector of a record.

Each record becomes an L2-normalised vector of ``tf ** tf_power x idf`` over the features of
:mod:`matchmaker.engine.text` (a title word counts ``title_weight`` times), cut to its ``max_doc_terms``
heaviest features by ``(1 + log tf) x idf``. Features found in more than ``max_df`` of the documents of a
large corpus (above ``max_df_min_docs`` documents) get idf 0: they are stop-word like, and their long
postings would dominate the cost of every query. The vocabulary and idf stay frozen between fits; records
added later are weighed with them, and the share of their feature mass the vocabulary does not know
measures the drift.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import scipy.sparse as sp

from . import text as T
from .labels import feature_label
from .records import POLICY_AREAS, EngineSettings, Record
from .rules import mask


def _sublinear(x: np.ndarray) -> np.ndarray:
    return np.where(x < 1.0, x, 1.0 + np.log(np.maximum(x, 1.0)))


class Vocabulary:
    """Feature names, their display labels, column numbers and idf; how records are weighed."""

    def __init__(self, features: list[str], labels: list[str], idf: np.ndarray, settings: EngineSettings,
                 fillers: np.ndarray | None = None):
        self.features = features
        # words that carry no topic (see _fillers): they keep their weight (measured: removing it lowers the
        # devset's MRR) but earn no share of their own in an explanation
        self.fillers = np.zeros(len(features), bool) if fillers is None else np.asarray(fillers, bool)
        self.labels = labels
        self.col = {feature: j for j, feature in enumerate(features)}
        self.idf = np.asarray(idf, dtype=np.float32)
        self.settings = settings
        self.analyzer = T.AnalyzerSettings(
            lexicon_weight=settings.lexicon_weight, cognate_weight=settings.cognate_weight,
            reverse_weight=settings.reverse_weight, concept_weight=settings.concept_weight,
            use_lexicon=settings.use_lexicon, use_glossary=settings.use_glossary)
        self._column_of = np.zeros(0, np.int64)          # the analyser's feature numbers -> columns (-1: unknown)

    @property
    def size(self) -> int:
        return len(self.features)

    def vector(self, record: Record) -> tuple[np.ndarray, np.ndarray, float]:
        """(sorted columns, L2-normalised float32 weights, share of feature mass unknown to the vocabulary)."""
        analyser = T.analyser(self.analyzer)
        done = analyser.analyse([record_parts(record, self.settings)])
        if self._column_of.size < len(analyser.names):       # the analyser met new features since
            new = analyser.names[self._column_of.size:]
            self._column_of = np.concatenate([self._column_of, np.fromiter(map(self.col.get, new, repeat(-1)),
                                                                           np.int64, len(new))])
        cols = self._column_of[done.features]
        known = cols >= 0
        total = done.values.sum()
        unknown = float(done.values[~known].sum() / total) if total else 0.0
        _doc, cols, weights = self._weigh(np.zeros(int(known.sum()), np.int64), cols[known], done.values[known], 1)
        by_column = np.argsort(cols)
        return cols[by_column].astype(np.int32), weights[by_column], unknown

    def weigh_all(self, doc: np.ndarray, cols: np.ndarray, tfs: np.ndarray, n_docs: int,
                  block: int = 8192) -> sp.csr_matrix:
        """Weighted rows of (document, column, count) entries grouped by document (column -1: a feature the
        vocabulary does not know, left out): every step is one array operation for a block of documents (blocks
        bound the memory)."""
        known = cols >= 0
        doc, cols, tfs = doc[known], cols[known], tfs[known]
        parts = []
        for a in range(0, max(n_docs, 1), block):
            b = min(n_docs, a + block)
            lo, hi = np.searchsorted(doc, [a, b])
            d, c, w = self._weigh(doc[lo:hi] - a, cols[lo:hi], tfs[lo:hi], b - a)
            indptr = np.searchsorted(d, np.arange(b - a + 1))
            rows = sp.csr_matrix((w, c.astype(np.int32), indptr), shape=(b - a, self.size))
            rows.sort_indices()
            parts.append(rows)
        return sp.vstack(parts, format="csr") if len(parts) > 1 else parts[0]

    def _weigh(self, doc: np.ndarray, cols: np.ndarray, tfs: np.ndarray,
               n_docs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(document, column, float32 weight) of every kept feature, by document in the order they were
        normalised: a capped document's by rank (see :func:`_capped_order`), another's by column."""
        settings = self.settings
        idf = self.idf[cols]
        rank = _sublinear(tfs) * idf
        # the cap keeps the features with the largest (1 + log tf) x idf, whatever the tf weighting: with
        # tf ** 0.5 it would favour a long text's repeated common words
        weight = rank if settings.tf_power <= 0 else tfs ** settings.tf_power * idf
        order, kept = _capped_order(doc, cols, rank, n_docs, settings.max_doc_terms, self.size)
        doc, cols, weight = doc[order][kept], cols[order][kept], weight[order][kept]
        norms = _norms(doc, weight, n_docs)[doc]
        weight = np.divide(weight, norms, out=weight.copy(), where=norms > 0)
        positive = weight > 0
        return doc[positive], cols[positive], weight[positive].astype(np.float32)

    @classmethod
    def fit(cls, corpus: Corpus, settings: EngineSettings, surface: dict[str, str]) -> tuple[Vocabulary, np.ndarray]:
        """The vocabulary of an analysed corpus, with smoothed idf (``log((1 + n) / (1 + df)) + 1``), and the column
        of each of the corpus's feature numbers."""
        df = np.bincount(corpus.ids, minlength=len(corpus.names)).astype(np.float64)
        order = np.argsort(np.array(corpus.names, dtype=str), kind="stable")
        column_of = np.empty(order.size, np.int64)
        column_of[order] = np.arange(order.size)
        features, dfa, n = [corpus.names[i] for i in order], df[order], corpus.n_docs
        idf = np.log((1.0 + n) / (1.0 + dfa)) + 1.0
        if settings.idf_power != 1.0:
            idf = idf ** settings.idf_power
        if settings.max_df < 1.0:
            # very common features get idf 0: known to the vocabulary (not drift), absent from every vector
            idf[dfa > max(settings.max_df * n, settings.max_df_min_docs)] = 0.0
        labels = [("concept: " if f.startswith("c:") else "") + feature_label(f, surface) for f in features]
        fillers = _fillers(corpus, settings)[order] if settings.filler_kl > 0 else None
        return cls(features, labels, idf.astype(np.float32), settings, fillers), column_of


@dataclass
class Corpus:
    """Every document's features (numbers into ``names``) and their counts, as flat arrays (8 bytes a number: a
    corpus of 200,000 documents holds some 40 million)."""
    names: list[str]
    doc: np.ndarray
    ids: np.ndarray
    counts: np.ndarray
    n_docs: int
    areas: np.ndarray | None = None     # each document's policy areas (bit mask), when known

    @classmethod
    def analyse(cls, records: list[Record], settings: EngineSettings, surface: dict[str, str],
                block: int = 4096) -> Corpus:
        """The corpus of the records, analysed by blocks of ``block`` records (blocks bound the memory). The first
        blocks are smaller (512 records, then twice as many each time): most words are met for the first time in
        the first records, and the rows of a block's new words are looked up again at the end of the block."""
        analyser = T.analyser(Vocabulary([], [], np.zeros(0), settings).analyzer)
        offered: set[int] = set()
        ends = [0]
        while ends[-1] < len(records):
            ends.append(min(len(records), ends[-1] + min(block, 512 << (len(ends) - 1))))
        with collector_paused():
            parts = [analyser.analyse([record_parts(r, settings) for r in records[a:b]], surface, offered)
                     for a, b in zip(ends[:-1], ends[1:], strict=True)]
        lengths = np.concatenate([np.diff(p.indptr) for p in parts]) if parts else np.zeros(0, np.int64)
        numbers, ids = T.renumber(np.concatenate([p.features for p in parts]) if parts else np.zeros(0, np.int64),
                                  len(analyser.names))
        counts = np.concatenate([p.values for p in parts]) if parts else np.zeros(0)
        areas = np.array([mask(r.policy_areas, "pa") for r in records], np.int64)
        return cls([analyser.names[i] for i in numbers.tolist()], np.repeat(np.arange(len(records)), lengths),
                   ids.astype(np.int64), counts, len(records), areas)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a while (reference counting still frees what is dropped). The analysis of
    a corpus keeps a few tuples for each new word (the analyser's table): every so many, the collector walks
    every object of the process (measured: 0.5-0.7 s of a 10,000 + 10,000 records' fit of 6 s, 6 full passes)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def record_parts(record: Record, settings: EngineSettings) -> list[tuple[str, str, float]]:
    """A record's texts for the analyser: its description, then its title ``title_weight`` times."""
    parts = [(record.description or "", record.language, 1.0)]
    return parts + [(record.title, record.language, settings.title_weight)] if record.title else parts


def _fillers(corpus: Corpus, settings: EngineSettings) -> np.ndarray:
    """Which of the corpus's features (by number) are words that carry no topic in this domain.

    Each document with policy areas spreads one unit evenly over them; a word's distribution over the areas is
    that of its documents. A word in at least ``filler_min_docs`` such documents whose distribution differs from
    the corpus's by less than ``filler_kl`` (Kullback-Leibler divergence, in nats) says nothing of the topic
    ("country", "assistance", "programme"): it is a filler. Glossary concepts are never fillers.
    """
    out = np.zeros(len(corpus.names), bool)
    if corpus.areas is None or not corpus.areas.any():
        return out
    bits = (corpus.areas[:, None] >> np.arange(len(POLICY_AREAS))) & 1
    per_doc = bits / np.maximum(bits.sum(1, keepdims=True), 1)                  # documents x areas
    has_areas = bits.any(1)
    by_feature = sp.csr_matrix((has_areas[corpus.doc].astype(np.float64), (corpus.ids, corpus.doc)),
                               shape=(len(corpus.names), corpus.n_docs))
    spread = np.asarray(by_feature @ per_doc)                                   # features x areas
    docs = np.asarray(by_feature.sum(1)).ravel()
    overall = per_doc.sum(0) / max(per_doc.sum(), 1e-12)
    p = spread / np.maximum(spread.sum(1, keepdims=True), 1e-12)
    ratio = np.divide(p, overall, out=np.ones_like(p), where=(p > 0) & (overall > 0))
    divergence = (p * np.log(ratio)).sum(1)
    words = np.array([name.startswith("w:") for name in corpus.names], bool)
    out[words & (docs >= settings.filler_min_docs) & (divergence < settings.filler_kl)] = True
    return out


def _norms(doc: np.ndarray, weight: np.ndarray, n_docs: int) -> np.ndarray:
    """Each document's L2 norm, summed in the order its weights come in (the order fixes the last bit)."""
    if n_docs == 1:
        return np.full(1, np.sqrt(np.dot(weight, weight)))
    starts = np.searchsorted(doc, np.arange(n_docs + 1)).tolist()
    return np.array([np.sqrt(np.dot(weight[a:b], weight[a:b])) for a, b in zip(starts[:-1], starts[1:], strict=True)],
                    np.float64)


def _capped_order(doc: np.ndarray, cols: np.ndarray, rank: np.ndarray, n_docs: int, cap: int,
                  n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """The order in which each document's weights are normalised, and which are kept (in that order): a document
    over the cap keeps its ``cap`` features of largest rank (ties by column), in that order; the others keep
    every feature, in column order. Entries come grouped by document."""
    lengths = np.bincount(doc, minlength=n_docs)
    capped = lengths > cap if cap else np.zeros(n_docs, bool)
    # one sort of an integer key: document, then (capped documents only) the rank's place among the distinct
    # ranks, descending, then column; three sorts where that key would not fit in 63 bits
    levels = np.unique(rank)       # then each rank's place by a search: cheaper than return_inverse (a sort of
    #                                the ranks' positions, not only of their values)
    if n_docs * (levels.size + 1) * n_cols >= 2 ** 62:
        order = np.lexsort((cols, np.where(capped[doc], -rank, 0.0), doc))
    else:
        descending = np.where(capped[doc], levels.size - 1 - np.searchsorted(levels, rank), 0)
        order = np.argsort((doc * levels.size + descending) * n_cols + cols)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    within = np.arange(doc.size) - starts[doc[order]]
    return order, ~capped[doc[order]] | (within < cap)
