"""The match index: TF-IDF vectors of needs and offerings in one shared space, hard filters,
soft facet boosts, explanations, incremental updates and memory-mapped persistence.

Scores. Each record becomes an L2-normalised vector of sublinear tf x idf over the features
of :mod:`matchmaker.engine.text` (title words count ``title_weight`` times). The text score
of a pair is their cosine; the final score is ``text * (1 + policy_area_weight * pa +
support_kind_weight * sk)`` where ``pa`` (``sk``) is the share of the need's policy areas
(kinds of support) that the offering covers. Scores are rounded to 1e-6 and ties are broken
by id, so the same records always give the same ranking.

Layout. Per side, postings (a CSR matrix features x rows, float32) hold the fitted rows
(the *main* segment, memory-mapped after :meth:`Engine.load`); rows added later live in a
small in-memory *delta* segment (row-wise CSR with spare capacity) until it is merged;
removed rows are tombstoned. Per-row arrays grow with spare capacity, so an upsert writes
in place. Features found in more than ``max_df`` of the documents of a large corpus (above
``max_df_min_docs`` documents) get idf 0: they are stop-word like, and their long postings
would dominate the cost of every query.

Speed. A query is one sparse product (query x postings, scipy's C loop); hard rules are
checked only on the head of the candidates, in score order, and explanations are computed for
the final top-k only, by binary search in the postings. :meth:`Engine.all_pairs` computes
one sparse product per chunk of needs (chunk x offering postings) and ranks both sides from
it. Needs: a per-row threshold from a sampled product, a cheap cut of the product's entries
(text x the row's largest boost), exact scores and hard rules for the few left, and a
certificate that no other pair could enter the top-k (otherwise the row is ranked exactly on
its full product row). Offerings: running top-k tables kept as packed integer keys (offering,
score, need id), so that a chunk's entries are sorted alone and inserted by binary search; an
entry is evaluated only if it can still reach its offering's table, so the tables end exact. The
first chunks are small (the tables start empty) and grow to the full chunk size. Text scores are the product's own
float32 sums, never a re-summed approximation. Its result is a lazy mapping: Proposal objects are built
when read. The vocabulary and idf are frozen between fits: new records are transformed
with them, and :attr:`Engine.needs_refit` turns true once the corpus has drifted
(:meth:`Engine.refit_async` rebuilds in a background thread and swaps atomically).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import threading
import time
from abc import abstractmethod
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import text as T
from .records import (DELIVERY_LANGUAGES, ELIGIBILITY, POLICY_AREAS, REASONS, REGIONS, SIDES,
                      SUPPORT_KINDS, EngineSettings, Exclusion, Proposal, Ranking, Record,
                      UpdateResult)

ENGINE_VERSION = "1.5.0"
_FORMAT = 1
_ROUND = 1e6

_PA_BIT = {c: 1 << i for i, c in enumerate(POLICY_AREAS)}
_SK_BIT = {c: 1 << i for i, c in enumerate(SUPPORT_KINDS)}
_LANG_BIT = {c: 1 << i for i, c in enumerate(DELIVERY_LANGUAGES)}
_REGION_BIT = {c: 1 << i for i, c in enumerate(REGIONS)}
_ELIG = {c: i for i, c in enumerate(ELIGIBILITY)}
_ALL, _LDC, _REG, _MEM = range(4)

_log = logging.getLogger("matchmaker.engine")


def _mask(values, bits) -> int:
    m = 0
    for v in values or ():
        m |= bits.get(v, 0)
    return m


def _member_code(code: str) -> int:
    code = (code or "").strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return -1
    return (ord(code[0]) - 65) * 26 + (ord(code[1]) - 65)


def _unmask(m: int, names) -> list[str]:
    return list(_unmask_cached(int(m), tuple(names)))


@lru_cache(maxsize=8192)
def _unmask_cached(m: int, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for i, n in enumerate(names) if m >> i & 1)


def _sublinear(x: np.ndarray) -> np.ndarray:
    return np.where(x < 1.0, x, 1.0 + np.log(np.maximum(x, 1.0)))


def _other(side: str) -> str:
    return "offering" if side == "need" else "need"


def _check_side(side: str) -> str:
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    return side


# --------------------------------------------------------------------------- model
class Model:
    """Frozen vocabulary (feature -> column), display labels and idf."""

    def __init__(self, features: list[str], labels: list[str], idf: np.ndarray, settings: EngineSettings):
        self.features = features
        self.labels = labels
        self.col = {f: i for i, f in enumerate(features)}
        self._ids: dict[str, int] = {}          # word stem -> column of "w:<stem>" (-1: unknown), filled on use
        # English stem -> columns of its French and Spanish translations, built on first use
        self._reverse = T.ReverseColumns(self.col, settings.reverse_weight)
        self.idf = np.asarray(idf, dtype=np.float32)
        self.settings = settings
        self.is_char = np.fromiter((f.startswith("g:") for f in features), bool, len(features))
        self.analyzer = T.AnalyzerSettings(lexicon_weight=settings.lexicon_weight,
                                           cognate_weight=settings.cognate_weight,
                                           reverse_weight=settings.reverse_weight,
                                           bigram_weight=settings.bigram_weight,
                                           concept_weight=settings.concept_weight,
                                           use_lexicon=settings.use_lexicon,
                                           use_glossary=settings.use_glossary)

    @property
    def size(self) -> int:
        return len(self.features)

    def counts(self, rec: Record, surface: dict | None = None) -> dict[str, float]:
        a = self.analyzer
        s = self.settings
        counts = T.analyze(rec.description or "", rec.language, a, surface)
        if s.char_weight > 0:
            counts.update(T.char_ngrams(rec.description or "", rec.language, s.char_ngram_min, s.char_ngram_max))
        if rec.title:
            tw = s.title_weight
            for f, v in T.analyze(rec.title, rec.language, a, surface).items():
                counts[f] = counts.get(f, 0.0) + tw * v
            if s.char_weight > 0:
                for f, v in T.char_ngrams(rec.title, rec.language, s.char_ngram_min, s.char_ngram_max).items():
                    counts[f] = counts.get(f, 0.0) + tw * v
        return counts

    def vector(self, rec: Record, counts: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray, float]:
        """(sorted columns, L2-normalised float32 weights, share of feature mass unknown to the model)."""
        s = self.settings
        if counts is None and s.char_weight <= 0 and s.bigram_weight <= 0:
            # straight into columns (the same values in the same order as counts(), then the lookups below)
            acc, unknown, total = T.analyze_ids(rec.description or "", rec.language, self.analyzer, self._ids, self.col,
                                                self._reverse)
            if rec.title:
                tw = s.title_weight
                t_acc, t_unknown, t_total = T.analyze_ids(rec.title, rec.language, self.analyzer, self._ids, self.col,
                                                          self._reverse)
                for j, v in t_acc.items():
                    acc[j] = acc.get(j, 0.0) + tw * v
                unknown, total = unknown + tw * t_unknown, total + tw * t_total
            cols = np.fromiter(acc.keys(), np.int64, len(acc))
            tfs = np.fromiter(acc.values(), np.float64, len(acc))
            return (*self._weigh(cols, tfs), unknown / total if total else 0.0)
        if counts is None:
            counts = self.counts(rec)
        n = len(counts)
        col = self.col
        js = np.array([col.get(f, -1) for f in counts], np.int64)
        tfs = np.fromiter(counts.values(), np.float64, n)
        known = js >= 0
        if s.char_weight > 0:            # drift is measured on words and concepts
            word = np.array([f[0] != "g" for f in counts], bool)
            total, unknown = float(tfs[word].sum()), float(tfs[word & ~known].sum())
        else:
            total, unknown = float(tfs.sum()), float(tfs[~known].sum())
        return (*self._weigh(js[known], tfs[known]), unknown / total if total else 0.0)

    def _weigh(self, cols: np.ndarray, tfs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if cols.size == 0:
            return cols.astype(np.int32), np.zeros(0, np.float32)
        o = np.argsort(cols, kind="stable")     # column order: the same sums whatever order features came in
        cols, tfs = cols[o], tfs[o]
        s = self.settings
        idf = self.idf[cols]
        rank = _sublinear(tfs) * idf
        # the cap on features per document keeps the ones with the largest (1 + log tf) x idf, whatever
        # the tf weighting: with tf ** 0.5 it would favour a long text's repeated common words
        w = rank if s.tf_power <= 0 else tfs ** s.tf_power * idf
        if s.char_weight > 0 and self.is_char.size:
            ch = self.is_char[cols]
            wc = self._block(cols[ch], w[ch], s.max_char_terms, rank[ch])
            ww = self._block(cols[~ch], w[~ch], s.max_doc_terms, rank[~ch])
            cols = np.concatenate([ww[0], wc[0]])
            w = np.concatenate([ww[1] * np.sqrt(1.0 - s.char_weight), wc[1] * np.sqrt(s.char_weight)])
        else:
            cols, w = self._block(cols, w, s.max_doc_terms, rank)
        order = np.argsort(cols, kind="stable")
        cols, w = cols[order], w[order]
        nz = w > 0
        return cols[nz].astype(np.int32), w[nz].astype(np.float32)

    @staticmethod
    def _block(cols: np.ndarray, w: np.ndarray, m: int, rank: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Keep the ``m`` features of largest ``rank`` (default: weight; ties by column), L2-normalised."""
        if m and cols.size > m:
            keep = np.lexsort((cols, -(w if rank is None else rank)))[:m]
            cols, w = cols[keep], w[keep]
        n = float(np.sqrt(np.dot(w, w)))
        return cols, (w / n if n > 0 else w)

    @classmethod
    def fit(cls, records: list[Record], settings: EngineSettings, counts: list[dict] | None = None,
            surface: dict[str, str] | None = None) -> "Model":
        tmp = cls([], [], np.zeros(0), settings)
        df: dict[str, int] = {}
        surface = {} if surface is None else surface
        if counts is None:
            counts = [tmp.counts(rec, surface) for rec in records]
        for c in counts:
            for f in c:
                df[f] = df.get(f, 0) + 1
        features = sorted(df)
        n = len(records)
        dfa = np.array([df[f] for f in features], dtype=np.float64)
        idf = np.log((1.0 + n) / (1.0 + dfa)) + 1.0
        if settings.idf_power != 1.0:
            idf = idf ** settings.idf_power
        if settings.max_df < 1.0:
            # Very common features (stop-word like) get idf 0: known to the vocabulary (not drift),
            # absent from every vector, so the postings that dominate query cost disappear.
            idf[dfa > max(settings.max_df * n, settings.max_df_min_docs)] = 0.0
        labels = []
        for f in features:
            kind, _, v = f.partition(":")
            labels.append("concept: " + T.concept_label(v) if kind == "c" else
                          T.feature_label(f, surface) if kind in "gb" else T.stem_label(v, surface))
        return cls(features, labels, idf.astype(np.float32), settings)


# --------------------------------------------------------------------------- one side
_FACET_DTYPES = {"lang": np.uint8, "pa": np.uint16, "sk": np.uint8, "kind": np.int8, "regions": np.uint16,
                 "capacity": np.int64, "deadline": np.int32, "member": np.int32, "ldc": bool, "region": np.uint16}


def _grow(a: np.ndarray, need: int, fill=0) -> np.ndarray:
    """``a`` with room for at least ``need`` rows (amortised doubling; never copies on every append)."""
    if a.shape[0] >= need:
        return a
    cap = max(need, 2 * a.shape[0], 64)
    out = np.full((cap,) + a.shape[1:], fill, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


def _index_dtype(n: int):
    return np.int32 if n < 2 ** 31 - 1 else np.int64


class _Side:
    """Rows of one side: main postings (features x rows CSR), delta rows, tombstones, facets.

    Per-row arrays live in buffers with spare capacity: an upsert writes one row in place
    (amortised O(1)) instead of copying every array. ``ids``, ``alive``, ``topk_ids`` and
    ``topk_scores`` are views of the first ``n_rows`` rows; ``f[name]`` are the raw buffers
    (index them with row numbers).
    """

    FACETS = tuple(_FACET_DTYPES)

    def __init__(self, name: str, n_features: int):
        self.name = name
        self.V = n_features
        self._n = 0
        self._ids = np.zeros(0, np.int64)
        self._alive = np.zeros(0, bool)
        self.row_of: dict[int, int] = {}
        self.p_indptr = np.zeros(n_features + 1, np.int32)
        self.p_indices = np.zeros(0, np.int32)
        self.p_data = np.zeros(0, np.float32)
        self._post = None
        self.n_main = 0
        # delta rows (row-wise CSR with spare capacity)
        self._d_ptr = np.zeros(1, np.int64)
        self._d_cols = np.zeros(0, np.int32)
        self._d_vals = np.zeros(0, np.float32)
        self._d_n = 0
        self._scratch: np.ndarray | None = None
        self.f = {k: np.zeros(0, dt_) for k, dt_ in _FACET_DTYPES.items()}
        self.members: dict[int, list[int]] = {}    # row -> eligible member codes ('members' offerings)
        self._tk_ids: np.ndarray | None = None      # stored proposals (rows x k), -1 = empty
        self._tk_sc: np.ndarray | None = None

    # ---------------------------------------------------------------- row views
    @property
    def n_rows(self) -> int:
        return self._n

    @property
    def ids(self) -> np.ndarray:
        return self._ids[: self._n]

    @ids.setter
    def ids(self, v):
        self._ids = np.array(v, np.int64)
        self._n = int(self._ids.size)

    @property
    def alive(self) -> np.ndarray:
        return self._alive[: self._n]

    @alive.setter
    def alive(self, v):
        self._alive = np.array(v, bool)

    @property
    def topk_ids(self):
        return None if self._tk_ids is None else self._tk_ids[: self._n]

    @topk_ids.setter
    def topk_ids(self, v):
        self._tk_ids = None if v is None else np.array(v, np.int64)

    @property
    def topk_scores(self):
        return None if self._tk_sc is None else self._tk_sc[: self._n]

    @topk_scores.setter
    def topk_scores(self, v):
        self._tk_sc = None if v is None else np.array(v, np.float32)

    @property
    def n_alive(self) -> int:
        return int(self.alive.sum())

    @property
    def n_delta(self) -> int:
        return self._d_n

    @property
    def d_cols(self) -> list:
        """Delta rows' columns (compatibility: a list with one array per delta row)."""
        p = self._d_ptr
        return [self._d_cols[p[i]:p[i + 1]] for i in range(self._d_n)]

    def member_keys(self) -> np.ndarray:
        """Sorted row * 1024 + member code of every 'members' eligibility entry (vectorised lookups)."""
        keys = [r * 1024 + c for r, codes in self.members.items() for c in codes if c >= 0]
        return np.array(sorted(keys), np.int64)

    def set_facets(self, facets: dict[str, np.ndarray]):
        self.f = {k: np.array(facets[k], dtype=_FACET_DTYPES[k]) for k in self.FACETS}

    @staticmethod
    def facet_values(rec: Record) -> dict:
        return {"lang": _mask(rec.languages(), _LANG_BIT), "pa": _mask(rec.policy_areas, _PA_BIT),
                "sk": _mask(rec.support_kinds, _SK_BIT), "kind": _ELIG.get(rec.eligibility, _ALL),
                "regions": _mask(rec.eligible_regions, _REGION_BIT),
                "capacity": -1 if rec.capacity_left is None else max(0, int(rec.capacity_left)),
                "deadline": rec.deadline.toordinal() if rec.deadline else 0,
                "member": _member_code(rec.member), "ldc": bool(rec.member_is_ldc),
                "region": _REGION_BIT.get(rec.member_region, 0)}

    def build(self, ids: list[int], vectors: list[tuple[np.ndarray, np.ndarray]], facets: list[dict],
              members: dict[int, list[int]]):
        n = len(ids)
        self.ids = np.asarray(ids, np.int64)
        self.row_of = {int(i): r for r, i in enumerate(ids)}
        self.alive = np.ones(n, bool)
        self.set_facets({k: [fv[k] for fv in facets] for k in self.FACETS})
        self.members = members
        self._set_main_from_rows(vectors)
        self._clear_delta()

    def _clear_delta(self):
        self._d_ptr = np.zeros(1, np.int64)
        self._d_cols = np.zeros(0, np.int32)
        self._d_vals = np.zeros(0, np.float32)
        self._d_n = 0

    def _set_postings(self, rows_csr: sp.csr_matrix):
        post = rows_csr.T.tocsr()
        post.sort_indices()
        it = _index_dtype(post.nnz)
        self.p_indptr = post.indptr.astype(it)
        self.p_indices = post.indices.astype(it)
        self.p_data = post.data.astype(np.float32)
        self.n_main = rows_csr.shape[0]
        self._post = None

    def _set_main_from_rows(self, vectors):
        n = len(vectors)
        lens = np.fromiter((c.size for c, _ in vectors), np.int64, n)
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(lens, out=indptr[1:])
        cols = np.concatenate([c for c, _ in vectors]) if n else np.zeros(0, np.int32)
        vals = np.concatenate([v for _, v in vectors]) if n else np.zeros(0, np.float32)
        self._set_postings(sp.csr_matrix((vals.astype(np.float32), cols.astype(np.int32), indptr),
                                         shape=(n, self.V)))

    @property
    def post(self) -> sp.csr_matrix:
        """Main postings as a scipy CSR matrix (features x main rows), sharing the arrays (no copy)."""
        if self._post is None:
            indptr = self.p_indptr
            if indptr.dtype != self.p_indices.dtype:
                indptr = indptr.astype(self.p_indices.dtype)
            m = sp.csr_matrix((self.V, self.n_main), dtype=np.float32)
            m.data, m.indices, m.indptr = self.p_data, self.p_indices, indptr
            self._post = m
        return self._post

    # ---------------------------------------------------------------- rows
    def row_vector(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        if r >= self.n_main:
            i = r - self.n_main
            a, b = self._d_ptr[i], self._d_ptr[i + 1]
            return self._d_cols[a:b], self._d_vals[a:b]
        raise KeyError("main rows are stored as postings; use rows_matrix()")

    def append(self, rec_id: int, vec, facets: dict, members: list[int] | None):
        r = self._n
        n = r + 1
        self._ids = _grow(self._ids, n)
        self._alive = _grow(self._alive, n)
        self._ids[r], self._alive[r] = rec_id, True
        for k in self.FACETS:
            buf = _grow(self.f[k], n)
            buf[r] = facets[k]
            self.f[k] = buf
        if self._tk_ids is not None:
            self._tk_ids = _grow(self._tk_ids, n, -1)
            self._tk_sc = _grow(self._tk_sc, n, -np.inf)
            self._tk_ids[r], self._tk_sc[r] = -1, -np.inf
        self._n = n
        if members is not None:
            self.members[r] = members
        self.row_of[int(rec_id)] = r
        cols, vals = vec
        nnz = int(self._d_ptr[self._d_n])
        self._d_cols = _grow(self._d_cols, nnz + cols.size)
        self._d_vals = _grow(self._d_vals, nnz + cols.size)
        self._d_cols[nnz:nnz + cols.size] = cols
        self._d_vals[nnz:nnz + cols.size] = vals
        self._d_ptr = _grow(self._d_ptr, self._d_n + 2)
        self._d_n += 1
        self._d_ptr[self._d_n] = nnz + cols.size
        return r

    def kill(self, r: int):
        self._alive[r] = False
        self.row_of.pop(int(self._ids[r]), None)
        self.members.pop(r, None)
        if self._tk_ids is not None:
            self._tk_ids[r] = -1
            self._tk_sc[r] = -np.inf

    def _delta_csr(self) -> sp.csr_matrix:
        nnz = int(self._d_ptr[self._d_n])
        return sp.csr_matrix((self._d_vals[:nnz], self._d_cols[:nnz], self._d_ptr[: self._d_n + 1]),
                             shape=(self._d_n, self.V))

    def rows_matrix(self) -> sp.csr_matrix:
        """All rows (dead rows empty) as a rows x features float32 CSR matrix."""
        main = self.post.T.tocsr()
        m = sp.vstack([main, self._delta_csr()], format="csr") if self._d_n else main
        if not self.alive.all():
            m = sp.diags(self.alive.astype(np.float32)) @ m
            m.eliminate_zeros()
        m.sort_indices()
        return m.astype(np.float32)

    def merge_delta(self):
        """Fold delta rows and tombstones into the main postings (rows keep their numbers)."""
        self._set_postings(self.rows_matrix())
        self._clear_delta()

    # ---------------------------------------------------------------- scoring
    def hits(self, cols: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, text scores) of the live rows sharing a feature with the query vector (cols, vals).

        One sparse product against the postings (float32, in scipy's C loop); its cost is the
        total length of the postings of the query's features, not the number of rows.
        """
        rows_parts, text_parts = [], []
        if cols.size and self.n_main:
            r_idx, r_val = _row_product(cols, vals, self)
            rows_parts.append(r_idx.astype(np.int64))
            text_parts.append(r_val.astype(np.float64))
        if cols.size and self._d_n:
            if self._scratch is None or self._scratch.size != self.V:
                self._scratch = np.zeros(self.V, np.float32)
            qd = self._scratch
            qd[cols] = vals
            nnz = int(self._d_ptr[self._d_n])
            prod = qd[self._d_cols[:nnz]] * self._d_vals[:nnz]
            qd[cols] = 0.0
            ptr = self._d_ptr[: self._d_n + 1]
            d = np.add.reduceat(prod, ptr[:-1]) if nnz else np.zeros(self._d_n, np.float32)
            d = np.where(ptr[1:] > ptr[:-1], d, 0.0).astype(np.float32)
            nzr = np.flatnonzero(d)
            rows_parts.append(nzr + self.n_main)
            text_parts.append(d[nzr].astype(np.float64))
        if not rows_parts:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        rows = np.concatenate(rows_parts) if len(rows_parts) > 1 else rows_parts[0]
        text = np.concatenate(text_parts) if len(text_parts) > 1 else text_parts[0]
        ok = self._alive[rows] & (text != 0)
        if not ok.all():
            rows, text = rows[ok], text[ok]
        return rows, text

    def scores(self, cols: np.ndarray, vals: np.ndarray, keep_entries: bool = False):
        """Dense text scores of one query vector against every row (compatibility helper)."""
        out = np.zeros(self.n_rows, np.float64)
        rows, text = self.hits(cols, vals)
        out[rows] = text
        return out, None

    def contributions_many(self, cols: np.ndarray, vals: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Per-feature contributions (len(cols) x len(rows)) of the query vector to each row's score.

        Looks each (feature, row) up in the sorted postings (binary search), so explaining the
        final top-k costs O(k x query terms x log N), whatever the corpus size.
        """
        out = np.zeros((cols.size, rows.size), np.float32)
        rows = np.asarray(rows, np.int64)
        main = np.flatnonzero(rows < self.n_main)
        if main.size and cols.size:
            # vectorised branchless binary search of every (feature, row) pair in the feature's postings: the
            # last entry <= the row, in a fixed number of halvings of about six array operations each
            rm = rows[main]
            ptr, idx = self.p_indptr, self.p_indices
            c64 = cols.astype(np.int64)
            first = ptr[c64].astype(np.int64)
            length = ptr[c64 + 1].astype(np.int64) - first
            nonempty = np.flatnonzero(length > 0)
            if nonempty.size:
                base = np.repeat(first[nonempty], rm.size)
                n = np.repeat(length[nonempty], rm.size)
                target = np.tile(rm, nonempty.size).astype(idx.dtype)
                for _ in range(int(length.max()).bit_length()):
                    half = n >> 1
                    base += half * (idx[base + half] <= target)
                    n -= half
                found = idx[base] == target
                fj, fi = np.divmod(np.flatnonzero(found), rm.size)
                fj = nonempty[fj]
                out[fj, main[fi]] = self.p_data[base[found]] * vals[fj].astype(np.float32)
        for i in np.flatnonzero(rows >= self.n_main).tolist():
            dc, dv = self.row_vector(int(rows[i]))
            _, qi, di = np.intersect1d(cols, dc, assume_unique=True, return_indices=True)
            out[qi, i] = np.float32(vals[qi]) * dv[di] if qi.size else 0
        return out


# --------------------------------------------------------------------------- engine
class Engine:
    """Match needs with offerings. See the module docstring for the method."""

    _ap_candidates = 0
    _ap_sample_factor = 2          # sampled threshold: about 2 x candidates per row (measured: 4 sorts twice as many)

    def __init__(self, settings: EngineSettings | None = None):
        self.settings = settings or EngineSettings()
        self.model: Model | None = None
        self.sides: dict[str, _Side] = {}
        self.generation = 0
        self.changed_since_fit = 0
        self.oov_mass = 0.0
        self.new_mass = 0.0
        self._n_at_fit = 0
        self._lock = threading.RLock()
        self._refit_thread: threading.Thread | None = None
        self._loaded_from: Path | None = None
        self._loaded_generation: int | None = None
        self._records_for_refit = None

    # ---------------------------------------------------------------- fitting
    def fit(self, needs: list[Record], offerings: list[Record], model: Model | None = None) -> "Engine":
        """Fit the vocabulary and idf on both sides (unless a model is given) and index every record."""
        needs = sorted(needs, key=lambda r: r.id)
        offerings = sorted(offerings, key=lambda r: r.id)
        for side_records in (needs, offerings):
            ids = [r.id for r in side_records]
            if len(set(ids)) != len(ids):
                raise ValueError("duplicate record ids")
        counts = None
        if model is None:
            probe = Model([], [], np.zeros(0), self.settings)
            surface: dict[str, str] = {}
            counts = [probe.counts(r, surface) for r in needs + offerings]
            model = Model.fit(needs + offerings, self.settings, counts, surface)
        sides = {}
        for name, recs in (("need", needs), ("offering", offerings)):
            s = _Side(name, model.size)
            if counts is not None:
                side_counts = counts[:len(needs)] if name == "need" else counts[len(needs):]
                vectors = [model.vector(r, c)[:2] for r, c in zip(recs, side_counts)]
            else:
                vectors = [model.vector(r)[:2] for r in recs]
            facets = [_Side.facet_values(r) for r in recs]
            members = {i: sorted({_member_code(m) for m in r.eligible_members})
                       for i, r in enumerate(recs) if r.eligibility == "members"}
            s.build([r.id for r in recs], vectors, facets, members)
            sides[name] = s
        with self._lock:
            self.model, self.sides = model, sides
            self.changed_since_fit, self.oov_mass, self.new_mass = 0, 0.0, 0.0
            self._n_at_fit = len(needs) + len(offerings)
        return self

    @property
    def needs_refit(self) -> bool:
        s = self.settings
        if self.model is None:
            return False
        n = max(1, self._n_at_fit)
        oov = self.oov_mass / self.new_mass if self.new_mass else 0.0
        return self.changed_since_fit / n >= s.drift_refit_share or (self.new_mass > 0 and oov >= s.drift_oov_share
                                                                     and self.changed_since_fit >= 10)

    @property
    def refitting(self) -> bool:
        """True while a background refit started by :meth:`refit_async` is running."""
        t = self._refit_thread
        return t is not None and t.is_alive()

    def refit_async(self, records) -> threading.Thread:
        """Refit on the full record lists in a background thread; swap in the new index when done.

        The engine does not keep record texts (memory), so the caller passes the current records:
        ``(needs, offerings)``, or a function returning them, which then runs in the background
        thread too (reading every record from a database takes a while). Updates made from the
        moment this is called are replayed on the new index before the swap (an update the records
        already include is applied again, which changes nothing). If reading or fitting fails, the
        current index stays and the error is logged; a later update can start another refit.
        """
        log: list = []
        with self._lock:
            self._pending_log = log

        def work():
            try:
                needs, offerings = records() if callable(records) else records
                fresh = Engine(self.settings).fit(needs, offerings)
            except Exception:
                _log.exception("background refit failed; the current index is kept")
                with self._lock:
                    if self._pending_log is log:
                        self._pending_log = None
                return
            with self._lock:
                for op, arg, side in log:
                    if op == "upsert":
                        fresh._upsert_index_only(arg, side)
                    else:
                        fresh._remove_index_only(arg, side)
                stored_k = self.sides["need"].topk_ids.shape[1] if self.sides["need"].topk_ids is not None else 0
                self.model, self.sides = fresh.model, fresh.sides
                self.changed_since_fit, self.oov_mass, self.new_mass = 0, 0.0, 0.0
                self._n_at_fit = fresh._n_at_fit
                self._pending_log = None
            if stored_k:
                self.all_pairs(k=stored_k, explain=False)

        t = threading.Thread(target=work, name="matchmaker-refit", daemon=True)
        self._refit_thread = t
        t.start()
        return t

    # ---------------------------------------------------------------- queries
    def _query(self, rec: Record, side: str, k: int, today: dt.date | None, explain: bool = True,
               vector=None) -> tuple[Ranking, tuple]:
        """Rank the other side for a record of ``side``: the ranking and (candidate rows, final scores, text scores)."""
        self._require_fit()
        other = self.sides[_other(side)]
        cols, vals = vector if vector is not None else self.model.vector(rec)[:2]
        rows, text = other.hits(cols, vals)
        if self.settings.min_score > 0:
            keep = text > self.settings.min_score
            rows, text = rows[keep], text[keep]
        fv = _Side.facet_values(rec)
        final = self._final(fv, side, other, rows, text)
        ranking = self._select(rec, fv, side, other, rows, text, final, k, cols, vals, today, explain)
        return ranking, (rows, final, text)

    def _final(self, fv: dict, side: str, other: _Side, rows: np.ndarray, text: np.ndarray) -> np.ndarray:
        """Text score x facet boost, rounded (only soft facets: no hard rule here)."""
        f = other.f
        s = self.settings
        if side == "need":
            pa_cover = np.bitwise_count(f["pa"][rows] & np.uint16(fv["pa"])) if fv["pa"] else None
            sk_cover = np.bitwise_count(f["sk"][rows] & np.uint8(fv["sk"])) if fv["sk"] else None
            n_pa, n_sk = bin(fv["pa"]).count("1"), bin(fv["sk"]).count("1")
        else:
            n_pa_arr, n_sk_arr = f["pa"][rows], f["sk"][rows]
            pa_cover = np.bitwise_count(n_pa_arr & np.uint16(fv["pa"]))
            sk_cover = np.bitwise_count(n_sk_arr & np.uint8(fv["sk"]))
            n_pa = np.bitwise_count(n_pa_arr)
            n_sk = np.bitwise_count(n_sk_arr)
        boost = np.ones(rows.size, np.float64)
        if pa_cover is not None:
            boost += s.policy_area_weight * pa_cover / np.maximum(n_pa, 1)
        if sk_cover is not None:
            boost += s.support_kind_weight * sk_cover / np.maximum(n_sk, 1)
        return np.round(text * boost * _ROUND) / _ROUND

    def _pair_scores(self, rec: Record, side: str, other: _Side, rows: np.ndarray, text: np.ndarray,
                     today: dt.date | None):
        """Final scores and hard-rule reasons of ``rows`` (kept for callers of earlier versions)."""
        fv = _Side.facet_values(rec)
        return self._final(fv, side, other, rows, text), self._reasons(rec, fv, side, other, rows, today)

    def _reasons(self, rec: Record, fv: dict, side: str, other: _Side, rows: np.ndarray,
                 today: dt.date | None) -> np.ndarray:
        """Index into REASONS of the first hard rule failed by each pair, -1 if none."""
        f = other.f
        n = rows.size
        tday = today.toordinal() if today else None
        if side == "need":
            kind = f["kind"][rows]
            elig = (kind == _ALL) | ((kind == _LDC) & fv["ldc"]) | \
                   ((kind == _REG) & ((f["regions"][rows] & np.uint16(fv["region"])) != 0))
            mem_rows = np.flatnonzero(kind == _MEM)
            if mem_rows.size:
                code = fv["member"]
                elig[mem_rows] = [code in other.members.get(int(r), ()) for r in rows[mem_rows]]
            lang = (f["lang"][rows] & np.uint8(fv["lang"])) != 0
            cap = f["capacity"][rows] != 0
            dl = (f["deadline"][rows] == 0) | (f["deadline"][rows] >= tday) if tday else np.ones(n, bool)
        else:
            kind = fv["kind"]
            if kind == _ALL:
                elig = np.ones(n, bool)
            elif kind == _LDC:
                elig = f["ldc"][rows].copy()
            elif kind == _REG:
                elig = (f["region"][rows] & np.uint16(fv["regions"])) != 0
            else:
                codes = np.array(sorted({_member_code(m) for m in rec.eligible_members}), np.int32)
                elig = np.isin(f["member"][rows], codes)
            lang = (f["lang"][rows] & np.uint8(fv["lang"])) != 0
            cap = np.full(n, fv["capacity"] != 0)
            dl = np.full(n, not (tday and fv["deadline"] and fv["deadline"] < tday))
        reasons = np.full(n, -1, np.int8)
        for i, ok in reversed(list(enumerate((elig, lang, cap, dl)))):
            reasons[~ok] = i
        return reasons

    def _select(self, rec, fv, side, other: _Side, rows, text, final, k, cols, vals, today, explain):
        """Top-k passing rows in score order (ties by id); hard rules are checked on the head only."""
        all_ids = other.ids
        want = min(rows.size, max(4 * k, k + 16))
        # an offering that is full or past its deadline can take nobody: the head of the order is enough
        # for its exclusions
        closed = side == "offering" and (fv["capacity"] == 0 or bool(
            today and fv["deadline"] and fv["deadline"] < today.toordinal()))
        if closed:
            want = min(rows.size, max(want, self.settings.max_exclusions))
        while True:
            if want < rows.size:
                part = np.argpartition(-final, want - 1)[:want]
                thr = final[part].min()
                part = np.flatnonzero(final >= thr)
            else:
                part = np.arange(rows.size)
            order = part[np.lexsort((all_ids[rows[part]], -final[part]))]
            reasons = self._reasons(rec, fv, side, other, rows[order], today)
            if int((reasons < 0).sum()) >= k or part.size >= rows.size or closed:
                break
            want *= 4
        # in score order: the first k passing rows are proposed; the rows failing a hard rule before the
        # k-th proposal (all of them when fewer than k pass) are reported, at most max_exclusions
        passing = np.flatnonzero(reasons < 0)[:k]
        head = int(passing[-1]) + 1 if passing.size == k and k > 0 else order.size
        if k <= 0:
            head = 0
        failed = np.flatnonzero(reasons[:head] >= 0)[: self.settings.max_exclusions]
        proposals = order[passing].tolist()
        exclusions = [Exclusion(i, REASONS[r]) for i, r in zip(all_ids[rows[order[failed]]].tolist(),
                                                               reasons[failed].tolist())]
        terms = [None] * len(proposals)
        if explain and proposals:
            contrib = other.contributions_many(cols, vals, rows[proposals])
            terms = self._terms_many(cols, contrib, [float(text[i]) for i in proposals])
        prow = rows[proposals]
        facets = zip(*(other.f[key][prow].tolist() for key in ("pa", "sk", "lang")))
        props = [self._proposal(rec, fv, side, other, r, t, f, cols, None, dict(zip(("pa", "sk", "lang"), fc)),
                                terms=tm)
                 for r, t, f, fc, tm in zip(prow.tolist(), text[proposals].tolist(), final[proposals].tolist(),
                                            facets, terms)]
        return Ranking(side, int(rec.id), props, exclusions)

    def _proposal(self, rec: Record, fv: dict, side: str, other: _Side, row: int, text: float, final: float,
                  cols, contrib, facets: dict | None = None, terms: list | None = None) -> Proposal:
        other_id = int(other.ids[row])
        of = facets if facets is not None else {k: int(other.f[k][row]) for k in ("pa", "sk", "lang")}
        need_pa, need_sk = (fv["pa"], fv["sk"]) if side == "need" else (of["pa"], of["sk"])
        off_pa, off_sk = (of["pa"], of["sk"]) if side == "need" else (fv["pa"], fv["sk"])
        s = self.settings
        pa = (need_pa & off_pa).bit_count() / max(1, need_pa.bit_count())
        sk = (need_sk & off_sk).bit_count() / max(1, need_sk.bit_count())
        bonus = {"policy_areas": text * s.policy_area_weight * pa, "support_kinds": text * s.support_kind_weight * sk}
        shared = {"policy_areas": _unmask(need_pa & off_pa, POLICY_AREAS),
                  "support_kinds": _unmask(need_sk & off_sk, SUPPORT_KINDS),
                  "delivery_languages": _unmask(fv["lang"] & of["lang"], DELIVERY_LANGUAGES)}
        if terms is None:
            terms = []
        if contrib is not None:
            qi = np.flatnonzero(contrib)
            terms = self._terms(cols, qi, contrib[qi].astype(np.float64), text)
        need_id, off_id = (int(rec.id), other_id) if side == "need" else (other_id, int(rec.id))
        # The parts add up to the (rounded) score: put the rounding residue on the text part.
        scale = final / (text + sum(bonus.values())) if text > 0 else 0.0
        terms = [(lbl, v * scale) for lbl, v in terms]
        bonus = {k2: v * scale for k2, v in bonus.items()}
        return Proposal(need_id, off_id, final, text * scale, terms, bonus, shared)

    def _terms_many(self, cols, contrib: np.ndarray, texts: list[float]) -> list[list[tuple[str, float]]]:
        """:meth:`_terms` of every column of ``contrib`` (query features x rows) at once: one sort for all."""
        model = self.model
        P = contrib.shape[1]
        if model.is_char.size and model.is_char[cols].any():      # n-grams are merged per row: the row-wise path
            out = []
            for j in range(P):
                qi = np.flatnonzero(contrib[:, j])
                out.append(self._terms(cols, qi, contrib[qi, j].astype(np.float64), texts[j]))
            return out
        ct = contrib.T
        p_idx, f_idx = np.nonzero(ct)
        v = ct[p_idx, f_idx].astype(np.float64)
        o = np.lexsort((cols[f_idx], -np.rint(v * _ROUND), p_idx))
        p_idx, f_idx, v = p_idx[o], f_idx[o], v[o]
        starts = np.searchsorted(p_idx, np.arange(P + 1)).tolist()
        labels, n = model.labels, self.settings.explain_terms
        fcols, vals = cols[f_idx].tolist(), v.tolist()
        out = []
        for j in range(P):
            a, b = starts[j], starts[j + 1]
            head = [(labels[fcols[i]], vals[i]) for i in range(a, min(b, a + n + _MERGE_SPAN))]
            out.append(_finish_terms(head, b - a, texts[j], n))
        return out

    def _terms(self, cols, qi, contrib, text: float, model=None) -> list[tuple[str, float]]:
        model = model if model is not None else self.model
        labels = model.labels
        if qi.size == 0:
            return []
        ch = model.is_char[cols[qi]] if model.is_char.size else np.zeros(qi.size, bool)
        if ch.sum() > 1:                        # all character n-grams make one term
            first = np.flatnonzero(ch)[0]
            total = contrib[ch].sum()
            keep = ~ch
            keep[first] = True
            contrib = contrib.copy()
            contrib[first] = total
            qi, contrib = qi[keep], contrib[keep]
        # ranked by contribution rounded as scores are (1e-6), then by feature: the one-query and the
        # all-pairs paths sum in float32 in different orders, and equal contributions must list alike
        order = np.lexsort((cols[qi], -np.rint(contrib * _ROUND)))
        n = self.settings.explain_terms
        head = [(labels[int(cols[qi[j]])], float(contrib[j])) for j in order[:n + _MERGE_SPAN]]
        return _finish_terms(head, int(order.size), text, n)

    def propose_for_need(self, need: Record, k: int = 10, today: dt.date | None = None) -> Ranking:
        with self._lock:
            return self._query(need, "need", k, today or dt.date.today())[0]

    def propose_for_offering(self, offering: Record, k: int = 10, today: dt.date | None = None) -> Ranking:
        with self._lock:
            return self._query(offering, "offering", k, today or dt.date.today())[0]

    # ---------------------------------------------------------------- all pairs
    def all_pairs(self, k: int = 10, today: dt.date | None = None, explain: bool = True,
                  chunk: int = 0, threads: int = 2) -> "Mapping[int, Ranking]":
        """Top-k offerings for every need, and the stored top-k of both sides.

        One sparse product per chunk of needs (rows of the chunk x offering postings) ranks both
        sides. For needs, a threshold per row (from a product with a sample of the offerings)
        cuts the row's entries to a few candidates; boosts and hard rules are applied to those only.
        A row is *certified* when every entry left out scores below its k-th proposal; the rare
        rows that are not are re-ranked exactly on their full product row. For offerings, each
        keeps a running table of its k best passing needs; an entry that cannot reach it (text
        x the largest boost the offering can get < the table's k-th score) is skipped. Memory is
        bounded by the chunk (at most 20 million pairs per thread, of which the sparse product
        holds the non-zero ones). Returns a read-only mapping need id -> Ranking whose Proposal
        objects (and explanations) are built on first access.
        """
        self._require_fit()
        today = today or dt.date.today()
        with self._lock:
            ns, os_ = self.sides["need"], self.sides["offering"]
            Qn, Qo = ns.rows_matrix(), os_.rows_matrix()
            n_res = self._topk_pass("need", Qn, Qo, k, today, chunk, threads, keep_exclusions=True, columns=True)
            o_res = n_res.pop("columns")
            def pick(ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
                if ids.size == 0:                      # the other side is empty: no proposals
                    return np.full(rows.shape, -1, np.int64)
                return np.where(rows >= 0, ids[np.maximum(rows, 0)], -1)

            ns.topk_ids = pick(os_.ids, n_res["rows"])
            ns.topk_scores = np.where(n_res["rows"] >= 0, n_res["final"], -np.inf).astype(np.float32)
            os_.topk_ids = pick(ns.ids, o_res["rows"])
            os_.topk_scores = np.where(o_res["rows"] >= 0, o_res["final"], -np.inf).astype(np.float32)
            return _Rankings(self, n_res, Qn if explain else None, Qo if explain else None)

    def _topk_pass(self, side: str, Q: sp.csr_matrix, D: sp.csr_matrix, k: int, today: dt.date, chunk: int,
                   threads: int, keep_exclusions: bool, columns: bool = False) -> dict:
        """Top-k rows of the other side for every row of ``side`` (Q: its rows, D: the other side's rows).

        With ``columns`` (need side only), the same products also give every offering its top-k
        needs (the offering side's result, under the key "columns"): each offering keeps a running
        table of its best passing needs; an entry of a later chunk is evaluated only if its text
        score times the offering's largest possible boost can reach the table's k-th score, so
        nothing that could enter (or tie with) the final table is ever dropped.
        """
        if columns and side != "need":
            raise ValueError("columns=True ranks offerings from the need side's products")
        n, N = Q.shape[0], D.shape[0]
        P = D.T.tocsr()
        P.sort_indices()
        s = self.settings
        M = min(N, self._ap_candidates or (4 * k + 24))
        if not chunk:
            # Each chunk costs its product plus one merge into the offerings' tables (about N): measured
            # best near 50,000 / sqrt(N) rows (500 at 10,000, 160 at 100,000); at most 20 million pairs
            # (memory: the sparse product holds their non-zero part), at least 4 chunks per thread.
            chunk = int(min(4096, max(1, 50_000 / np.sqrt(max(1, N))), max(1, 20_000_000 // max(1, N)),
                            max(1, -(-n // (4 * max(1, threads))))))
        maxboost = 1.0 + max(0.0, s.policy_area_weight) + max(0.0, s.support_kind_weight)
        other = self.sides[_other(side)]
        oids = other.ids
        out_rows = np.full((n, k), -1, np.int64)
        out_final = np.zeros((n, k), np.float64)
        out_text = np.zeros((n, k), np.float64)
        excl_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        max_ex = s.max_exclusions

        mkeys = self.sides["offering"].member_keys()

        def pairs(rr, cc, t):
            if side == "need":
                return self._pairs_vectorised(rr, cc, t, today, mkeys)
            return self._pairs_vectorised(cc, rr, t, today, mkeys)

        def finals(rr, cc, t):
            return self._finals_vectorised(rr, cc, t) if side == "need" else self._finals_vectorised(cc, rr, t)

        def reasons_of(rr, cc):
            if side == "need":
                return self._reasons_vectorised(rr, cc, today, mkeys)
            return self._reasons_vectorised(cc, rr, today, mkeys)

        def seg_cumsum(x: np.ndarray, row: np.ndarray, starts: np.ndarray) -> np.ndarray:
            """Cumulative sum of x restarting at each row (entries grouped by row, in order)."""
            cs = np.cumsum(x, dtype=np.int64)
            before = np.concatenate(([0], cs))[starts]
            return cs - before[row]

        def finish(a, row, CC, T, F, R, valid, starts):
            """Entries grouped by row and sorted by (-final, id): write proposals and exclusions."""
            passing = valid & (R < 0)
            cum = seg_cumsum(passing, row, starts)
            prop = passing & (cum <= k)
            g = a + row[prop]
            slot = cum[prop] - 1
            out_rows[g, slot] = CC[prop]
            out_final[g, slot] = F[prop]
            out_text[g, slot] = T[prop]
            if keep_exclusions:
                ex = valid & ~passing & (cum < k)
                ex &= seg_cumsum(ex, row, starts) <= max_ex
                return (a + row[ex], CC[ex], R[ex])
            return None

        # Soft-facet boost of every pair of a chunk as one small dense product (bits x bits):
        # boost = 1 + [pa bits / |need pa| * w_pa, sk bits / |need sk| * w_sk] . [pa bits, sk bits]
        def facet_bits(sd: _Side, scaled: bool) -> np.ndarray:
            f = sd.f
            npa_ = len(POLICY_AREAS)
            pa = f["pa"][: sd.n_rows].astype(np.int64)
            sk = f["sk"][: sd.n_rows].astype(np.int64)
            bits = np.concatenate([(pa[:, None] >> np.arange(npa_)) & 1,
                                   (sk[:, None] >> np.arange(len(SUPPORT_KINDS))) & 1], axis=1).astype(np.float32)
            if scaled:
                bits[:, :npa_] *= s.policy_area_weight / np.maximum(bits[:, :npa_].sum(1, keepdims=True), 1)
                bits[:, npa_:] *= s.support_kind_weight / np.maximum(bits[:, npa_:].sum(1, keepdims=True), 1)
            return bits

        mine = self.sides[side]
        Bq = facet_bits(mine, scaled=(side == "need"))
        Bd = facet_bits(other, scaled=(side != "need")).T.copy()

        # offerings that no need can take (full, or past their deadline) have no proposals at all
        if side == "offering":
            f = mine.f
            dl = f["deadline"][:n]
            q_closed = (f["capacity"][:n] == 0) | ((dl != 0) & (dl < today.toordinal()))
        else:
            q_closed = np.zeros(n, bool)

        col = None
        if columns and k > 0:
            of_ = other.f
            dlo = of_["deadline"][:N]
            o_closed = (of_["capacity"][:N] == 0) | ((dlo != 0) & (dlo < today.toordinal()))
            # largest boost any (processed) need can give each offering
            mb_o = 1.0 + np.einsum("bj,b->j", np.maximum(Bd, 0).astype(np.float64),
                                   np.maximum(Bq[:n], 0).max(axis=0, initial=0.0).astype(np.float64))
            col = {"row": np.full((N, k), -1, np.int64), "final": np.full((N, k), -np.inf),
                   "text": np.zeros((N, k)), "r": np.full(N, -np.inf),
                   "lim": np.where(o_closed, np.inf, -np.inf).astype(np.float32), "lock": threading.Lock()}
            nrank = np.unique(mine.ids, return_inverse=True)[1].astype(np.int64)
            # Tables as packed integer keys, one row of k per offering, ascending: (offering row, score
            # descending, need id) in one int64, so that all the tables read as one sorted array. A chunk's
            # entries are sorted (only they) and inserted by binary search; old entries are never re-sorted.
            # Scores are multiples of 1e-6 (rounded): v = rint(final * 1e6) is exact.
            lo_b = 1.0 + min(0.0, s.policy_area_weight) + min(0.0, s.support_kind_weight)
            v_hi = int(np.ceil(max(1.0, float(mb_o.max(initial=1.0))) * 1.001 * _ROUND)) + 2
            v_lo = int(np.floor(min(0.0, lo_b) * 1.001 * _ROUND)) - 2
            bo = max(1, int(n).bit_length())
            bf = max(1, int(v_hi - v_lo + 1).bit_length())
            if max(1, int(N).bit_length()) + bf + bo <= 62:
                low = (1 << (bf + bo)) - 1                  # an empty slot: score and rank bits all ones
                col["packed"] = (bo, bf, v_hi, low)
                col["key"] = (np.arange(N, dtype=np.int64)[:, None] << (bf + bo)) | np.full((N, k), low, np.int64)
                col["text"] = np.zeros((N, k), np.float64)

        def col_update(a, C, indptr):
            """Offer this chunk's entries to the offerings' running top-k tables."""
            ent = np.flatnonzero(C.data >= col["lim"][C.indices])
            if ent.size == 0:
                return
            rr = (np.searchsorted(indptr, ent, side="right") - 1 + a).astype(np.int64)
            cc = C.indices[ent].astype(np.int64)
            t = C.data[ent].astype(np.float64)
            final = self._finals_vectorised(rr, cc, t)
            cut = (final >= col["r"][cc]) & (t > s.min_score)    # thresholds only rise: a fresh read is safe
            rr, cc, t, final = rr[cut], cc[cut], t[cut], final[cut]
            ok = self._reasons_vectorised(rr, cc, today, mkeys) < 0
            rr, cc, t, final = rr[ok], cc[ok], t[ok], final[ok]
            if cc.size == 0:
                return
            if "packed" in col:
                with col["lock"]:
                    col_merge_packed(rr, cc, t, final)
                return
            with col["lock"]:
                T_row, T_f, T_t = col["row"], col["final"], col["text"]
                u, inv = np.unique(cc, return_inverse=True)
                o_row, o_f, o_t = T_row[u], T_f[u], T_t[u]
                old = o_row >= 0
                g = np.concatenate([np.repeat(np.arange(u.size), k)[old.ravel()], inv.ravel()])
                f_all = np.concatenate([o_f[old], final])
                t_all = np.concatenate([o_t[old], t])
                r_all = np.concatenate([o_row[old], rr])
                order = _row_score_id_order(g, f_all, nrank[r_all])
                g, f_all, t_all, r_all = g[order], f_all[order], t_all[order], r_all[order]
                slot = np.arange(g.size) - np.searchsorted(g, g, side="left")
                keep = slot < k
                T_row[u], T_f[u], T_t[u] = -1, -np.inf, 0.0
                dst = u[g[keep]]
                T_row[dst, slot[keep]] = r_all[keep]
                T_f[dst, slot[keep]] = f_all[keep]
                T_t[dst, slot[keep]] = t_all[keep]
                full = T_row[u, k - 1] >= 0
                r_new = np.where(full, T_f[u, k - 1], -np.inf)
                col["r"][u] = r_new
                lim = np.nextafter(((r_new - 2.0 / _ROUND) / (mb_o[u] * (1.0 + 1e-5))).astype(np.float32), -np.inf)
                col["lim"][u] = np.where(full, lim, -np.inf).astype(np.float32)

        def col_merge_packed(rr, cc, t, final):
            """Insert (need row, offering row, text, final) entries into the packed tables (lock held)."""
            bo, bf, v_hi, low = col["packed"]
            sh = bf + bo
            key = (cc << sh) | ((v_hi - np.rint(final * _ROUND).astype(np.int64)) << bo) | nrank[rr]
            o = np.argsort(key)
            key, t = key[o], t[o]
            cs = cc[o]
            u, first = np.unique(cs, return_index=True)
            T_key, T_t = col["key"], col["text"]
            old_k, old_t = T_key[u].ravel(), T_t[u].ravel()
            pos = np.searchsorted(old_k, key)
            mk, mt = np.insert(old_k, pos, key), np.insert(old_t, pos, t)
            # column j of u has k old + m_j new entries, contiguous: keep its first k
            cnt_new = np.diff(np.append(first, key.size))
            start = np.arange(u.size) * k + np.concatenate(([0], np.cumsum(cnt_new)[:-1]))
            idx = start[:, None] + np.arange(k)
            T_key[u], T_t[u] = mk[idx], mt[idx]
            kth = T_key[u, k - 1]
            full = (kth & low) != low
            r_new = np.where(full, (v_hi - ((kth & low) >> bo)) / _ROUND, -np.inf)
            col["r"][u] = r_new
            lim = np.nextafter(((r_new - 2.0 / _ROUND) / (mb_o[u] * (1.0 + 1e-5))).astype(np.float32), -np.inf)
            col["lim"][u] = np.where(full, lim, -np.inf).astype(np.float32)

        def col_unpack():
            """The packed tables as need rows (-1 = empty), final scores and text scores."""
            bo, bf, v_hi, low = col["packed"]
            K = col["key"]
            empty = (K & low) == low
            row_of_rank = np.zeros(max(1, n), np.int64)
            row_of_rank[nrank] = np.arange(n)
            rank = K & ((1 << bo) - 1)
            col["row"] = np.where(empty, -1, row_of_rank[np.where(empty, 0, rank)])
            col["final"] = np.where(empty, -np.inf, (v_hi - ((K & low) >> bo)) / _ROUND)
            col["text"] = np.where(empty, 0.0, col["text"])

        # Per row, the threshold comes from a sample of the other side's rows (every ``step``-th):
        # one small sparse product against the sampled postings, densified (c x N/step) and boosted.
        # (at most every 16th row, so that the threshold is the 16th value of the sample or more
        # and the candidate count, about 4M, varies little between rows)
        step = max(1, min(16, N // max(1, 8 * M)))
        j_s = max(1, min(M, (self._ap_sample_factor * M) // step))
        Ps = P[:, ::step].tocsr() if step > 1 else P
        # facet masks of the sampled rows, for their boosts by bit counts (a BLAS product here would start
        # BLAS threads that spin beside ours)
        sample_rows = np.arange(0, N, step)
        n_s = Ps.shape[1]
        j_s = min(j_s, n_s)
        # upper bound of the boost of each query row over every other row (bits are >= 0 unless a
        # weight is negative: clip so that the bound stays an upper bound)
        mb = 1.0 + np.einsum("ib,b->i", np.maximum(Bq[:n], 0).astype(np.float64),
                             np.maximum(Bd, 0).max(axis=1, initial=0.0).astype(np.float64))
        post_len = np.diff(P.indptr).astype(np.int64)
        orank = np.unique(oids, return_inverse=True)[1].astype(np.int64)   # order of ids (ties)

        def sample_boost(a, b):
            """Boost of every pair (row a..b of ``side``, sampled row of the other side), dense."""
            mf, of = mine.f, other.f
            if side == "need":
                return self._boost_block(mf["pa"][a:b], mf["sk"][a:b], of["pa"][sample_rows], of["sk"][sample_rows])
            return self._boost_block(of["pa"][sample_rows], of["sk"][sample_rows], mf["pa"][a:b], mf["sk"][a:b]).T

        def work(span):
            a, b = span
            c = b - a
            Qc = Q[a:b]
            C = _sparse_product(Qc, P, post_len)
            indptr = C.indptr.astype(np.int64)
            if col is not None:
                col_update(a, C, indptr)
            row_nnz = np.diff(indptr)
            # per-row threshold from the sample (M-th largest sampled approximate final score)
            if n_s:
                S = _sparse_product(Qc, Ps).toarray()
                S *= sample_boost(a, b)
                # (a sort, not np.partition: the sampled rows are mostly exact zeros, and introselect slows
                # down about tenfold on so many equal values; the sort does not)
                thr = np.sort(S, axis=1)[:, n_s - j_s].astype(np.float64)
                del S
            else:
                thr = np.zeros(c)
            # Candidates: entries whose exact final score (rounded text x boost) is >= thr. A cheap
            # pre-filter on the text score alone (text x the row's largest boost, with a margin for
            # float32 and the rounding) keeps every such entry and drops most others.
            lim = np.nextafter(((thr - 2.0 / _ROUND) / (mb[a:b] * (1.0 + 1e-5))).astype(np.float32), -np.inf)
            keep = C.data >= np.repeat(lim, row_nnz)
            ent = np.flatnonzero(keep)
            row = (np.searchsorted(indptr, ent, side="right") - 1).astype(np.int64)
            cc = C.indices[ent].astype(np.int64)
            t = C.data[ent].astype(np.float64)
            final = finals(row + a, cc, t)
            cut = final >= thr[row]
            cnt = np.bincount(row[cut], minlength=c)
            few = np.flatnonzero((cnt < M) & (row_nnz > cnt))
            if few.size:                       # sample too optimistic: every entry of these rows is a candidate
                thr[few] = -np.inf
                isfew = np.zeros(c, bool)
                isfew[few] = True
                cut &= ~isfew[row]
                fr = np.repeat(few, row_nnz[few])
                fe = np.concatenate([np.arange(indptr[i], indptr[i + 1]) for i in few.tolist()])
                row = np.concatenate([row[cut], fr])
                cc = np.concatenate([cc[cut], C.indices[fe].astype(np.int64)])
                t = np.concatenate([t[cut], C.data[fe].astype(np.float64)])
                final = np.concatenate([final[cut], finals(fr + a, cc[-fr.size:], t[-fr.size:])])
            else:
                row, cc, t, final = row[cut], cc[cut], t[cut], final[cut]
            reasons = reasons_of(row + a, cc)
            valid = t > s.min_score
            final = np.where(valid, final, -1.0)
            order = _row_score_id_order(row, final, orank[cc])
            row, cc, t, final, reasons, valid = row[order], cc[order], t[order], final[order], reasons[order], \
                valid[order]
            starts = np.searchsorted(row, np.arange(c + 1))
            # certification: every non-candidate has an exact final score < thr, so none can beat (or
            # tie with) the row's k-th passing proposal when thr <= its score
            passing = valid & (reasons < 0)
            cum = seg_cumsum(passing, row, starts[:-1])
            f_k = np.full(c, np.inf)
            at_k = passing & (cum == k)
            f_k[row[at_k]] = final[at_k]
            has_k = np.isfinite(f_k)
            n_cand = np.diff(starts)
            ok = (row_nnz <= n_cand) | (has_k & (thr <= f_k)) | q_closed[a:b]
            keep = ok[row]
            if not keep.all():
                row, cc, t, final, reasons, valid = row[keep], cc[keep], t[keep], final[keep], reasons[keep], \
                    valid[keep]
                starts = np.searchsorted(row, np.arange(c + 1))
            res = [finish(a, row, cc, t, final, reasons, valid, starts[:-1])]
            self._ap_fallback += int((~ok).sum())
            for i in np.flatnonzero(~ok).tolist():     # exact fallback on the whole product row
                lo, hi = indptr[i], indptr[i + 1]
                ccf = C.indices[lo:hi].astype(np.int64)
                tf = C.data[lo:hi].astype(np.float64)
                ff, rf = pairs(np.full(ccf.size, a + i), ccf, tf)
                vf = tf > s.min_score
                ff = np.where(vf, ff, -1.0)
                o = np.lexsort((oids[ccf], -ff))
                res.append(finish(a, np.full(ccf.size, i), ccf[o], tf[o], ff[o], rf[o], vf[o], np.array([0] * (i + 1))))
            return res

        self._ap_fallback = 0
        # The first chunks are small and grow to ``chunk``: the offerings' tables start empty (every entry of
        # the first chunk is offered to them), so a small first chunk fills them cheaply and later chunks
        # meet thresholds that already cut most entries.
        starts = _ramp(n, chunk, threads) if M > 0 else []   # nothing on the other side: no proposals
        if threads > 1 and len(starts) > 1:
            with ThreadPoolExecutor(max_workers=threads) as ex:
                results = list(ex.map(work, starts))
        else:
            results = [work(a) for a in starts]
        if keep_exclusions:
            for res in results:
                excl_parts.extend(r for r in res if r is not None)
        if excl_parts:
            er = np.concatenate([p[0] for p in excl_parts])
            ec = np.concatenate([p[1] for p in excl_parts])
            ereason = np.concatenate([p[2] for p in excl_parts])
            o = np.argsort(er, kind="stable")
            er, ec, ereason = er[o], ec[o], ereason[o]
        else:
            er = ec = np.zeros(0, np.int64)
            ereason = np.zeros(0, np.int8)
        out = {"rows": out_rows, "final": out_final, "text": out_text, "excl_row": er, "excl_col": ec,
                "excl_reason": ereason}
        if columns:
            e = np.zeros(0, np.int64)
            if col is not None and "packed" in col:
                col_unpack()
            if col is None:                    # k == 0
                col = {"row": np.full((N, 0), -1, np.int64), "final": np.zeros((N, 0)), "text": np.zeros((N, 0))}
            out["columns"] = {"rows": col["row"], "final": np.where(col["row"] >= 0, col["final"], 0.0),
                              "text": col["text"], "excl_row": e, "excl_col": e, "excl_reason": np.zeros(0, np.int8)}
        return out

    def _pairs_vectorised(self, rr, cc, text, today, member_keys=None):
        """Final scores and reasons for (need row, offering row) pairs, vectorised."""
        return self._finals_vectorised(rr, cc, text), self._reasons_vectorised(rr, cc, today, member_keys)

    def _finals_vectorised(self, rr, cc, text):
        """Final scores (text x soft-facet boost, rounded) of (need row, offering row) pairs."""
        nf, of = self.sides["need"].f, self.sides["offering"].f
        s = self.settings
        npa, osa = nf["pa"][rr], of["pa"][cc]
        nsk, osk = nf["sk"][rr], of["sk"][cc]
        boost = 1.0 + s.policy_area_weight * np.bitwise_count(npa & osa) / np.maximum(np.bitwise_count(npa), 1) \
            + s.support_kind_weight * np.bitwise_count(nsk & osk) / np.maximum(np.bitwise_count(nsk), 1)
        return np.round(text * boost * _ROUND) / _ROUND

    def _boost_block(self, npa, nsk, opa, osk) -> np.ndarray:
        """Soft-facet boosts of every (need, offering) pair of two lists of facet masks, dense (needs x offerings)."""
        s = self.settings
        out = np.ones((npa.size, opa.size), np.float32)
        for w, qm, dm in ((s.policy_area_weight, npa, opa), (s.support_kind_weight, nsk, osk)):
            if w:
                share = np.float32(w) / np.maximum(np.bitwise_count(qm), 1).astype(np.float32)
                out += np.bitwise_count(qm[:, None] & dm[None, :]).astype(np.float32) * share[:, None]
        return out

    def _reasons_vectorised(self, rr, cc, today, member_keys=None):
        """Index into REASONS of the first hard rule failed by each (need row, offering row) pair, -1 if none."""
        nf, of = self.sides["need"].f, self.sides["offering"].f
        kind = of["kind"][cc]
        elig = (kind == _ALL) | ((kind == _LDC) & nf["ldc"][rr]) | \
               ((kind == _REG) & ((of["regions"][cc] & nf["region"][rr]) != 0))
        mem = np.flatnonzero(kind == _MEM)
        if mem.size:
            keys = self.sides["offering"].member_keys() if member_keys is None else member_keys
            q = cc[mem].astype(np.int64) * 1024 + nf["member"][rr[mem]]
            pos = np.minimum(np.searchsorted(keys, q), max(0, keys.size - 1))
            elig[mem] = (keys[pos] == q) if keys.size else False
        lang = (of["lang"][cc] & nf["lang"][rr]) != 0
        cap = of["capacity"][cc] != 0
        tday = today.toordinal()
        dl = (of["deadline"][cc] == 0) | (of["deadline"][cc] >= tday)
        reasons = np.full(rr.size, -1, np.int8)
        for i, ok in reversed(list(enumerate((elig, lang, cap, dl)))):
            reasons[~ok] = i
        return reasons

    def _pair_proposal(self, nrow, orow, text, final, contrib, qcols, snapshot=None) -> Proposal:
        """One proposal of an all-pairs table; ``snapshot`` = (sides, model) as they were when it was computed."""
        sides, model = snapshot if snapshot is not None else (self.sides, self.model)
        ns, os_ = sides["need"], sides["offering"]
        s = self.settings
        npa, nsk, nl = int(ns.f["pa"][nrow]), int(ns.f["sk"][nrow]), int(ns.f["lang"][nrow])
        opa, osk, ol = int(os_.f["pa"][orow]), int(os_.f["sk"][orow]), int(os_.f["lang"][orow])
        pa = bin(npa & opa).count("1") / max(1, bin(npa).count("1"))
        sk = bin(nsk & osk).count("1") / max(1, bin(nsk).count("1"))
        bonus = {"policy_areas": text * s.policy_area_weight * pa, "support_kinds": text * s.support_kind_weight * sk}
        terms = []
        if contrib is not None:
            qi, cv = contrib
            terms = self._terms(qcols, qi, cv, text, model)
        scale = final / (text + sum(bonus.values())) if text > 0 else 0.0
        return Proposal(int(ns.ids[nrow]), int(os_.ids[orow]), final, text * scale,
                        [(l, v * scale) for l, v in terms], {k2: v * scale for k2, v in bonus.items()},
                        {"policy_areas": _unmask(npa & opa, POLICY_AREAS),
                         "support_kinds": _unmask(nsk & osk, SUPPORT_KINDS),
                         "delivery_languages": _unmask(nl & ol, DELIVERY_LANGUAGES)})

    def _row_vec(self, side: _Side, r: int):
        if r >= side.n_main:
            return side.row_vector(r)
        post = side.post
        cols = np.searchsorted(side.p_indptr, np.flatnonzero(side.p_indices == r), side="right") - 1
        return cols.astype(np.int32), side.p_data[np.flatnonzero(side.p_indices == r)]

    # ---------------------------------------------------------------- updates
    def _upsert_index_only(self, rec: Record, side: str):
        s = self.sides[side]
        cols, vals, oov = self.model.vector(rec)
        old = s.row_of.get(int(rec.id))
        if old is not None:
            s.kill(old)
        members = sorted({_member_code(m) for m in rec.eligible_members}) if rec.eligibility == "members" else None
        r = s.append(rec.id, (cols, vals), _Side.facet_values(rec), members)
        self.changed_since_fit += 1
        self.new_mass += 1.0
        self.oov_mass += oov
        if s.n_delta > self.settings.max_delta_docs:
            s.merge_delta()
        return r, (cols, vals)

    def _remove_index_only(self, rec_id: int, side: str) -> bool:
        s = self.sides[side]
        r = s.row_of.get(int(rec_id))
        if r is None:
            return False
        s.kill(r)
        self.changed_since_fit += 1
        return True

    def upsert(self, record: Record, side: str, today: dt.date | None = None, k: int | None = None) -> UpdateResult:
        """Add or replace one record; return its proposals and the changes to the other side's."""
        _check_side(side)
        self._require_fit()
        today = today or dt.date.today()
        with self._lock:
            if getattr(self, "_pending_log", None) is not None:
                self._pending_log.append(("upsert", record, side))
            recomputed = {}
            if int(record.id) in self.sides[side].row_of:
                self._remove_index_only(int(record.id), side)
                recomputed = self._drop_from_stored(int(record.id), side, today)
            row, vec = self._upsert_index_only(record, side)
            mine, other = self.sides[side], self.sides[_other(side)]
            kk = k or (mine.topk_ids.shape[1] if mine.topk_ids is not None else 10)
            ranking, (rows, final, text) = self._query(record, side, kk, today, vector=vec)
            entered: dict[int, Proposal] = {}
            if mine.topk_ids is not None:
                kk = mine.topk_ids.shape[1]
                for j, p in enumerate(ranking.proposals[:kk]):
                    mine._tk_ids[row, j] = p.offering_id if side == "need" else p.need_id
                    mine._tk_sc[row, j] = p.score
            if other.topk_ids is not None and rows.size:
                kk = other.topk_ids.shape[1]
                kth = other._tk_sc[rows, -1].astype(np.float64)
                better = (final > 0) & (final >= kth)
                tie = np.flatnonzero(better & (final == kth))       # a tie enters only before a larger id
                if tie.size:
                    kid = other._tk_ids[rows[tie], -1]
                    better[tie] = (kid < 0) | (kid > record.id)
                cand, cfinal, ctext = rows[better], final[better], text[better]
                if cand.size:
                    fv = _Side.facet_values(record)
                    passing = self._reasons(record, fv, side, other, cand, today) < 0
                    cand, cfinal, ctext = cand[passing], cfinal[passing], ctext[passing]
                if cand.size:
                    # every candidate beats its row's k-th entry: insert it into that row's table (vectorised)
                    _merge_topk(other._tk_ids, other._tk_sc, cand, cfinal,
                                np.full(cand.size, int(record.id), np.int64), kk)
                    cols, vals = vec
                    entered = _Entered(self, record, side, other, cand, ctext, cfinal, cols,
                                       other.contributions_many(cols, vals, cand))
            return UpdateResult(side, int(record.id), ranking, entered, recomputed)

    def _drop_from_stored(self, rec_id: int, side: str, today) -> dict[int, Ranking]:
        other = self.sides[_other(side)]
        if other.topk_ids is None:
            return {}
        rows = np.flatnonzero((other.topk_ids == rec_id).any(axis=1) & other.alive)
        out = {}
        kk = other.topk_ids.shape[1]
        for r in rows.tolist():
            vec = self._row_vec(other, r)
            rec = self._stub_record(other, r)
            rk, _ = self._query(rec, other.name, kk, today, vector=(vec[0], vec[1]))
            other.topk_ids[r] = -1
            other.topk_scores[r] = -np.inf
            for j, p in enumerate(rk.proposals):
                other.topk_ids[r, j] = p.offering_id if other.name == "need" else p.need_id
                other.topk_scores[r, j] = p.score
            out[int(other.ids[r])] = rk
        return out

    def _stub_record(self, side: _Side, r: int) -> Record:
        """A Record carrying the stored facets of a row (its text is already indexed)."""
        f = side.f
        kind = ELIGIBILITY[int(f["kind"][r])]
        mem = side.members.get(r, [])
        return Record(id=int(side.ids[r]), language="en",
                      policy_areas=frozenset(_unmask(int(f["pa"][r]), POLICY_AREAS)),
                      support_kinds=frozenset(_unmask(int(f["sk"][r]), SUPPORT_KINDS)),
                      delivery_languages=frozenset(_unmask(int(f["lang"][r]), DELIVERY_LANGUAGES)),
                      eligibility=kind, eligible_regions=frozenset(_unmask(int(f["regions"][r]), REGIONS)),
                      eligible_members=frozenset(chr(65 + c // 26) + chr(65 + c % 26) for c in mem),
                      capacity_left=None if f["capacity"][r] < 0 else int(f["capacity"][r]),
                      deadline=dt.date.fromordinal(int(f["deadline"][r])) if f["deadline"][r] else None,
                      member=(chr(65 + f["member"][r] // 26) + chr(65 + f["member"][r] % 26)) if f["member"][r] >= 0 else "",
                      member_is_ldc=bool(f["ldc"][r]),
                      member_region=next(iter(_unmask(int(f["region"][r]), REGIONS)), ""))

    def remove(self, rec_id: int, side: str, today: dt.date | None = None) -> UpdateResult:
        _check_side(side)
        self._require_fit()
        with self._lock:
            if getattr(self, "_pending_log", None) is not None:
                self._pending_log.append(("remove", rec_id, side))
            if int(rec_id) not in self.sides[side].row_of:
                raise KeyError(f"no {side} with id {rec_id}")
            self._remove_index_only(int(rec_id), side)
            recomputed = self._drop_from_stored(int(rec_id), side, today or dt.date.today())
            return UpdateResult(side, int(rec_id), None, {}, recomputed)

    def __len__(self):
        return sum(s.n_alive for s in self.sides.values())

    def ids(self, side: str) -> list[int]:
        s = self.sides[_check_side(side)]
        return sorted(int(i) for i in s.ids[s.alive])

    def stored_proposals(self, rec_id: int, side: str) -> list[tuple[int, float]]:
        s = self.sides[_check_side(side)]
        if s.topk_ids is None:
            return []
        r = s.row_of[int(rec_id)]
        return [(int(i), float(v)) for i, v in zip(s.topk_ids[r], s.topk_scores[r]) if i >= 0]

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held per side (postings, delta, per-row buffers incl. spare capacity, stored top-k) and model."""
        out = {}
        for name, s in self.sides.items():
            b = s.p_indptr.nbytes + s.p_indices.nbytes + s.p_data.nbytes + s._ids.nbytes + s._alive.nbytes
            b += sum(a.nbytes for a in s.f.values())
            b += s._d_cols.nbytes + s._d_vals.nbytes + s._d_ptr.nbytes
            if s._tk_ids is not None:
                b += s._tk_ids.nbytes + s._tk_sc.nbytes
            out[name] = b
        out["model"] = self.model.idf.nbytes + sum(len(f) + len(l) + 2 for f, l in zip(self.model.features, self.model.labels))
        return out

    def _require_fit(self):
        if self.model is None:
            raise RuntimeError("the engine has no index: call fit() or load() first")

    # ---------------------------------------------------------------- persistence
    def save(self, directory: str | os.PathLike) -> Path:
        """Write a new generation under ``directory`` and publish it atomically (CURRENT file)."""
        self._require_fit()
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        with self._lock:
            for s in self.sides.values():
                if s.n_delta or not s.alive.all():
                    s.merge_delta()
            gen = max([self.generation] + [_gen_of(p) for p in root.glob("gen-*")]) + 1
            tmp = root / f".tmp-gen-{gen}-{os.getpid()}-{threading.get_ident()}"
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir()
            m = self.model
            (tmp / "vocabulary.tsv").write_text("".join(f"{f}\t{l}\n" for f, l in zip(m.features, m.labels)),
                                                encoding="utf-8")
            np.save(tmp / "idf.npy", m.idf)
            for name, s in self.sides.items():
                arrays = {"ids": s.ids, "alive": s.alive, "p_indptr": s.p_indptr, "p_indices": s.p_indices,
                          "p_data": s.p_data, **{f"f_{k}": v[:s.n_rows] for k, v in s.f.items()}}
                if s.topk_ids is not None:
                    arrays["topk_ids"], arrays["topk_scores"] = s.topk_ids, s.topk_scores
                for k, v in arrays.items():
                    np.save(tmp / f"{name}.{k}.npy", np.ascontiguousarray(v))
                (tmp / f"{name}.members.json").write_text(
                    json.dumps({str(r): v for r, v in sorted(s.members.items())}), encoding="utf-8")
            meta = {"engine_version": ENGINE_VERSION, "format": _FORMAT, "generation": gen,
                    "settings": self.settings.__dict__, "n_at_fit": self._n_at_fit,
                    "changed_since_fit": self.changed_since_fit, "saved_at": time.time()}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
            final = root / f"gen-{gen:08d}"
            os.replace(tmp, final)
            cur_tmp = root / f".CURRENT.{os.getpid()}.{threading.get_ident()}"
            cur_tmp.write_text(final.name, encoding="utf-8")
            os.replace(cur_tmp, root / "CURRENT")
            self.generation = gen
            self._loaded_from, self._loaded_generation = root, gen
            for old in sorted(root.glob("gen-*"))[:-3]:    # keep a few for workers still mapping them
                shutil.rmtree(old, ignore_errors=True)
            return final

    @classmethod
    def load(cls, directory: str | os.PathLike, mmap: bool = True) -> "Engine":
        """Load the published generation: arrays memory-mapped (shared between processes), no fitting."""
        root = Path(directory)
        gen_dir = root / (root / "CURRENT").read_text(encoding="utf-8").strip()
        meta = json.loads((gen_dir / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != _FORMAT:
            raise ValueError(f"index format {meta.get('format')} is not {_FORMAT}")
        written = str(meta.get("engine_version", ""))
        if written.split(".")[:2] != ENGINE_VERSION.split(".")[:2]:
            # another minor version analyses and weighs texts differently: new records would not fit the old vectors
            raise ValueError(f"index written by engine {written or 'unknown'}, this is {ENGINE_VERSION}: fit again")
        settings = EngineSettings(**meta["settings"])
        eng = cls(settings)
        features, labels = [], []
        for line in (gen_dir / "vocabulary.tsv").read_text(encoding="utf-8").splitlines():
            f, _, l = line.partition("\t")
            features.append(f)
            labels.append(l)
        mode = "r" if mmap else None
        eng.model = Model(features, labels, np.load(gen_dir / "idf.npy", mmap_mode=mode), settings)
        for name in SIDES:
            s = _Side(name, len(features))
            ld = lambda k: np.load(gen_dir / f"{name}.{k}.npy", mmap_mode=mode, allow_pickle=False)
            s.ids = np.array(ld("ids"))
            s.alive = np.array(ld("alive"))
            s.p_indptr, s.p_indices, s.p_data = ld("p_indptr"), ld("p_indices"), ld("p_data")
            s.n_main = int(s.ids.size)
            for k in s.FACETS:
                s.f[k] = np.array(ld(f"f_{k}"))
            s.row_of = {int(i): r for r, i in enumerate(s.ids.tolist()) if s.alive[r]}
            s.members = {int(r): v for r, v in json.loads((gen_dir / f"{name}.members.json").read_text()).items()}
            if (gen_dir / f"{name}.topk_ids.npy").exists():
                s.topk_ids, s.topk_scores = np.array(ld("topk_ids")), np.array(ld("topk_scores"))
            eng.sides[name] = s
        eng.generation = meta["generation"]
        eng._n_at_fit = meta["n_at_fit"]
        eng.changed_since_fit = meta["changed_since_fit"]
        eng._loaded_from, eng._loaded_generation = root, meta["generation"]
        return eng

    def published_generation(self) -> int | None:
        if self._loaded_from is None:
            return None
        try:
            return _gen_of(Path((self._loaded_from / "CURRENT").read_text(encoding="utf-8").strip()))
        except OSError:
            return None

    def reload_if_newer(self) -> bool:
        """If another process published a newer generation, switch to it. Returns True if it did."""
        gen = self.published_generation()
        if gen is None or gen == self._loaded_generation:
            return False
        fresh = Engine.load(self._loaded_from)
        with self._lock:
            self.model, self.sides, self.settings = fresh.model, fresh.sides, fresh.settings
            self.generation, self._loaded_generation = fresh.generation, fresh._loaded_generation
            self._n_at_fit, self.changed_since_fit = fresh._n_at_fit, fresh.changed_since_fit
        return True


class _RowRecord:
    __slots__ = ("id", "side", "row")

    def __init__(self, rid, side, row):
        self.id, self.side, self.row = rid, side, row


class _Lazy(Mapping):
    """A read-only mapping over ``self._index`` (key -> position) whose values are built by ``_build`` on first
    access and then kept."""

    _index: dict
    _cache: dict

    def __len__(self):
        return len(self._index)

    def __iter__(self):
        return iter(self._index)

    def __contains__(self, key):
        return key in self._index

    def __getitem__(self, key):
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = self._build(key, self._index[key])
        return value

    @abstractmethod
    def _build(self, key, pos):
        """The value of ``key`` at position ``pos``."""


class _Entered(_Lazy):
    """Other-side id -> Proposal for the rows whose stored top-k an upserted record entered.

    The tables are updated by :meth:`Engine.upsert` itself; the Proposal objects (with their
    explanations) are built when read, from the scores and per-term contributions computed at
    the update, so a later change of the engine does not change them.
    """

    def __init__(self, eng: "Engine", rec: Record, side: str, other: "_Side", rows, text, final, cols, contrib):
        self._eng, self._rec, self._side, self._other = eng, rec, side, other
        self._fv = _Side.facet_values(rec)
        self._rows, self._text, self._final, self._cols, self._contrib = rows, text, final, cols, contrib
        self._facets = {k: other.f[k][rows].copy() for k in ("pa", "sk", "lang")}
        self._index = {int(i): j for j, i in enumerate(other.ids[rows].tolist())}
        self._cache: dict[int, Proposal] = {}

    def _build(self, oid, j) -> Proposal:
        return self._eng._proposal(self._rec, self._fv, self._side, self._other, int(self._rows[j]),
                                   float(self._text[j]), float(self._final[j]), self._cols, self._contrib[:, j],
                                   facets={k: int(v[j]) for k, v in self._facets.items()})


class _Rankings(_Lazy):
    """need id -> Ranking from :meth:`Engine.all_pairs`; Proposal objects are built on first access.

    The top-k tables are computed eagerly; building millions of Python objects is left to
    the caller's reads. Explanations use snapshots of both sides' rows taken by all_pairs,
    so later updates of the engine do not change an already returned mapping.
    """

    def __init__(self, eng: "Engine", res: dict, Qn, Qo):
        ns = eng.sides["need"]
        self._eng, self._res, self._Qn, self._Qo = eng, res, Qn, Qo
        # A background refit swaps the engine's sides and model: keep the ones these tables were computed on.
        self._snapshot = (dict(eng.sides), eng.model)
        self._oids = eng.sides["offering"].ids.copy()
        alive = ns.alive
        self._index = {int(i): r for r, i in enumerate(ns.ids.tolist()) if alive[r]}
        self._cache: dict[int, Ranking] = {}

    def _build(self, nid, r) -> Ranking:
        res, eng = self._res, self._eng
        rows = res["rows"][r]
        props = []
        qcols = qvals = None
        if self._Qn is not None:
            Q = self._Qn
            qcols = Q.indices[Q.indptr[r]:Q.indptr[r + 1]]
            qvals = Q.data[Q.indptr[r]:Q.indptr[r + 1]]
        for j in range(rows.size):
            orow = int(rows[j])
            if orow < 0:
                break
            contrib = None
            if qcols is not None:
                P = self._Qo
                dc, dv = P.indices[P.indptr[orow]:P.indptr[orow + 1]], P.data[P.indptr[orow]:P.indptr[orow + 1]]
                _, qi, di = np.intersect1d(qcols, dc, assume_unique=True, return_indices=True)
                contrib = (qi, qvals[qi].astype(np.float64) * dv[di])
            props.append(eng._pair_proposal(r, orow, float(res["text"][r, j]), float(res["final"][r, j]),
                                            contrib, qcols, self._snapshot))
        er = res["excl_row"]
        lo, hi = np.searchsorted(er, r), np.searchsorted(er, r, side="right")
        excl = [Exclusion(int(self._oids[c]), REASONS[int(x)])
                for c, x in zip(res["excl_col"][lo:hi].tolist(), res["excl_reason"][lo:hi].tolist())]
        return Ranking("need", int(nid), props, excl)


try:                                    # scipy's own C loop for sparse products, called without its
    from scipy.sparse._sparsetools import csr_matmat as _csr_matmat   # first (counting) pass
except ImportError:                     # pragma: no cover - other scipy layouts: the public product
    _csr_matmat = None


def _row_product(cols: np.ndarray, vals: np.ndarray, side: "_Side") -> tuple[np.ndarray, np.ndarray]:
    """(rows, float32 scores) of one query vector times a side's main postings: ``q @ post`` entry for
    entry (the same C loop, the same order of additions), without building scipy matrices around it (three
    constructions and their checks cost more than the product itself at 10,000 rows)."""
    it = side.p_indices.dtype
    c = cols.astype(it, copy=False)
    q = vals.astype(np.float32)
    if _csr_matmat is not None and side.p_indptr.dtype == it:
        ptr = side.p_indptr
        bound = min(int((ptr[c + 1] - ptr[c]).sum()), side.n_main)
        out_ptr = np.empty(2, it)
        idx = np.empty(bound, it)
        val = np.empty(bound, np.float32)
        try:
            _csr_matmat(1, side.n_main, np.array([0, c.size], it), c, q, ptr, side.p_indices, side.p_data,
                        out_ptr, idx, val)
            nnz = int(out_ptr[1])
            return idx[:nnz], val[:nnz]
        except TypeError:               # pragma: no cover - a scipy whose private loop changed signature
            pass
    r = sp.csr_matrix((q, c, np.array([0, c.size], it)), shape=(1, side.V)) @ side.post
    return r.indices, r.data


def _sparse_product(A: sp.csr_matrix, B: sp.csr_matrix, b_row_len: np.ndarray | None = None) -> sp.csr_matrix:
    """``A @ B`` (CSR, float32), entry for entry what scipy's product gives (same C loop, same order of
    additions), without scipy's first pass that only counts the output entries: the output is
    allocated from an upper bound (the number of multiplications, at most rows x columns)."""
    m, nb = A.shape[0], B.shape[1]
    if _csr_matmat is None or A.dtype != np.float32 or B.dtype != np.float32:
        return (A @ B).tocsr()
    lens = b_row_len if b_row_len is not None else np.diff(B.indptr)
    bound = int(lens[A.indices].sum()) if A.nnz else 0
    bound = min(bound, m * nb)
    it = np.int64 if max(bound, A.nnz, B.nnz, nb) >= 2 ** 31 - 1 else np.int32
    ptr = np.empty(m + 1, it)
    idx = np.empty(bound, it)
    val = np.empty(bound, np.float32)
    try:
        _csr_matmat(m, nb, A.indptr.astype(it, copy=False), A.indices.astype(it, copy=False), A.data,
                    B.indptr.astype(it, copy=False), B.indices.astype(it, copy=False), B.data, ptr, idx, val)
    except TypeError:                   # pragma: no cover - a scipy whose private loop changed signature
        return (A @ B).tocsr()
    nnz = int(ptr[-1])
    return sp.csr_matrix((val[:nnz], idx[:nnz], ptr), shape=(m, nb))


_MERGE_SPAN = 8     # features beyond the listed ones whose labels may merge into them


def _finish_terms(head: list[tuple[str, float]], total: int, text: float, n: int) -> list[tuple[str, float]]:
    """The explanation's ``n`` terms from the largest contributions ``head`` (in order, of ``total``
    features): features shown under the same word (a French word and its English translation, say) make one
    term; the rest is one "N other terms" entry, so that the parts add up to ``text``."""
    if len({lbl for lbl, _ in head}) == len(head):          # one feature per word (most often): in order
        out = head[:n]
        shown = len(out)
    else:
        merged: dict[str, float] = {}
        members: dict[str, int] = {}
        for lbl, v in head:
            merged[lbl] = merged.get(lbl, 0.0) + v
            members[lbl] = members.get(lbl, 0) + 1
        first = {lbl: i for i, (lbl, _) in reversed(list(enumerate(head)))}
        ranked = sorted(merged, key=lambda l: (-round(merged[l] * _ROUND), first[l]))
        out = [(lbl, merged[lbl]) for lbl in ranked[:n]]
        shown = sum(members[lbl] for lbl, _ in out)
    rest = text - sum(v for _, v in out)
    if total > shown:
        out.append((f"{total - shown} other terms", float(rest)))
    elif out:
        lbl, v = out[-1]
        out[-1] = (lbl, v + float(rest))   # float residue
    return out


def _ramp(n: int, chunk: int, threads: int) -> list[tuple[int, int]]:
    """Spans [a, b) covering range(n): ``threads`` spans of chunk / 8 rows first, doubling up to ``chunk``."""
    spans, a = [], 0
    size = max(1, chunk // 8)
    while a < n:
        for _ in range(max(1, threads)):
            if a >= n:
                break
            b = min(n, a + size)
            spans.append((a, b))
            a = b
        size = min(chunk, size * 2)
    return spans


def _row_score_id_order(row: np.ndarray, final: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """The permutation ``np.lexsort((rank, -final, row))`` (row, then score descending, then id), by
    one sort of a packed integer key when it fits in 63 bits. Scores are multiples of 1e-6
    (rounded), so ``rint(final * 1e6)`` orders them exactly as the floats."""
    if row.size == 0:
        return np.zeros(0, np.int64)
    v = np.rint(final * _ROUND).astype(np.int64)
    vmax = int(v.max())
    fcomp = vmax - v
    bits = lambda x: max(1, int(x).bit_length())
    br, bf, bo = bits(row.max()), bits(fcomp.max()), bits(rank.max())
    if br + bf + bo > 62 or not np.all(np.abs(final * _ROUND - v) < 0.25):
        return np.lexsort((rank, -final, row))
    key = (row.astype(np.int64) << (bf + bo)) | (fcomp << bo) | rank
    return np.argsort(key)


def _merge_topk(t_ids: np.ndarray, t_sc: np.ndarray, c: np.ndarray, sc: np.ndarray, ids: np.ndarray, k: int):
    """Merge candidate (row c, score sc, id) triples into per-row top-k tables, vectorised."""
    if c.size == 0:
        return
    kth_sc, kth_id = t_sc[c, -1], t_ids[c, -1]
    better = (sc > kth_sc) | ((sc == kth_sc) & ((kth_id < 0) | (ids < kth_id)))
    c, sc, ids = c[better], sc[better], ids[better]
    if c.size == 0:
        return
    rows = np.unique(c)
    old_ids, old_sc = t_ids[rows], t_sc[rows]
    valid = old_ids >= 0
    all_c = np.concatenate([np.repeat(rows, k)[valid.ravel()], c])
    all_sc = np.concatenate([old_sc[valid], sc])
    all_id = np.concatenate([old_ids[valid], ids])
    order = np.lexsort((all_id, -all_sc, all_c))
    all_c, all_sc, all_id = all_c[order], all_sc[order], all_id[order]
    first = np.searchsorted(all_c, all_c, side="left")
    rank = np.arange(all_c.size) - first
    keep = rank < k
    t_ids[rows] = -1
    t_sc[rows] = -np.inf
    t_ids[all_c[keep], rank[keep]] = all_id[keep]
    t_sc[all_c[keep], rank[keep]] = all_sc[keep]


def _gen_of(p: Path) -> int:
    try:
        return int(p.name.split("-")[-1])
    except ValueError:
        return 0
