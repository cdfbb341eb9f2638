"""All pairs: the top-k offerings of every need at once, exactly as one query per need would rank them.

The offerings with the largest *text* scores of each need come from ``sparse_dot_topn`` (a multi-threaded
sparse product that keeps the ``top_n`` largest entries of each row; its sums are scipy's, bit for bit). The
boosts and the hard rules are applied to those candidates only. A need is *certified* when no other offering
could rank before its k-th proposal: either the candidates are all its non-zero scores, or even the largest
boost times the smallest candidate text score stays below the k-th proposal's final score. Needs that are not
are ranked again with many more candidates, and the rare ones left on their whole product row. Memory is
bounded by the candidates of a chunk of needs (about 4 million entries) and, for the last step, by chunks of
about 20 million pairs.

Measured at 10,000 x 10,000, k = 10 (same run, shared 2-core machine): 128 candidates certify 99.9% of the needs
(64 only 55%, and the whole rows of the rest cost more than everything else); the pass takes 1.43 s of CPU, as
engine 1.5's 340-line hand-written pass (1.44 s) and the naive chunked product + argpartition (1.43 s): the
product itself (about 2,100 non-zero pairs per need) is the cost of all three, and only two threads split it.
The product keeps only text scores above ``min_score`` (sp_matmul_topn's threshold): at the default 0 this
changes nothing (1.50 vs 1.46 s CPU, same output); with min_score 0.05 the candidates are then all proposable,
so nearly every need is certified at once (0.46 s against 10.1 s without the threshold, same output).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sparse_dot_topn import sp_matmul_topn

from . import explain
from .index import SideIndex, posting_contributions
from .records import REASONS, EngineSettings, Exclusion, Ranking
from .rules import ROUND, facet_masks, largest_boost, pair_finals, pair_reasons
from .vocabulary import Vocabulary

THREADS = 2            # the product's threads: the service's machines have two cores


@dataclass
class TopK:
    """Per need row: offering rows of its proposals (-1: none), their final and text scores; and the
    exclusions (need row, offering row, reason) in need-row order, each need's in score order."""
    rows: np.ndarray
    final: np.ndarray
    text: np.ndarray
    excluded_need: np.ndarray
    excluded_offering: np.ndarray
    excluded_reason: np.ndarray


@dataclass
class _Ranked:
    """Candidate entries of some need rows (ranked), their k-th proposal's score and who is certified."""
    need_row: np.ndarray
    offering_row: np.ndarray
    text: np.ndarray
    final: np.ndarray
    reason: np.ndarray
    certified: np.ndarray


def all_pairs(vocabulary: Vocabulary, settings: EngineSettings, needs: SideIndex, offerings: SideIndex, k: int,
              today: dt.date, explain_terms: bool, candidates: int) -> AllPairs:
    """The top-k offerings of every live need, as a mapping need id -> Ranking (see :class:`AllPairs`)."""
    need_rows = needs.rows_matrix()
    postings = offerings.rows_matrix().T.tocsr()
    postings.sort_indices()
    found = top_k(need_rows, needs, offerings, postings, k, today, settings, candidates)
    return AllPairs(found, vocabulary, settings, needs, offerings, need_rows, postings if explain_terms else None)


def top_k(need_rows: sp.csr_matrix, needs: SideIndex, offerings: SideIndex, postings: sp.csr_matrix, k: int,
          today: dt.date, settings: EngineSettings, candidates: int = 0) -> TopK:
    """Top-k offerings (postings: features x offering rows) of every need row (need_rows: rows x features)."""
    n, n_offerings = need_rows.shape[0], postings.shape[1]
    out = TopK(np.full((n, k), -1, np.int64), np.zeros((n, k)), np.zeros((n, k)), np.zeros(0, np.int64),
               np.zeros(0, np.int64), np.zeros(0, np.int8))
    if n == 0 or n_offerings == 0 or k <= 0:
        return out
    first = min(n_offerings, candidates or 12 * k + 8)
    tiers = [first, min(n_offerings, 8 * first), None]        # None: the whole product row
    pending = np.arange(n)
    exclusions = []
    for top_n in tiers:
        batch = max(1, 4_000_000 // top_n if top_n else 20_000_000 // n_offerings)
        left = []
        for a in range(0, pending.size, batch):
            rows = pending[a:a + batch]
            ranked = _rank(need_rows[rows], rows, needs, offerings, postings, top_n, k, today, settings)
            exclusions.append(_write(out, ranked, k, settings.max_exclusions))
            left.append(rows[~ranked.certified])
        pending = np.concatenate(left)
        if pending.size == 0:
            break
    order = np.argsort(np.concatenate([e[0] for e in exclusions]), kind="stable")
    out.excluded_need, out.excluded_offering, out.excluded_reason = (np.concatenate([e[i] for e in exclusions])[order]
                                                                     for i in range(3))
    return out


def _rank(block: sp.csr_matrix, rows: np.ndarray, needs: SideIndex, offerings: SideIndex, postings: sp.csr_matrix,
          top_n: int | None, k: int, today: dt.date, settings: EngineSettings) -> _Ranked:
    """The candidates of a block of need rows, ranked by (need, final score descending, offering id)."""
    if top_n is None:
        product = (block @ postings).tocsr()
    else:
        product = sp_matmul_topn(block, postings, top_n=top_n, n_threads=THREADS,
                                 threshold=settings.min_score)
    per_row = np.diff(product.indptr)
    local = np.repeat(np.arange(rows.size), per_row)
    need_row, offering_row = rows[local], product.indices.astype(np.int64)
    text = product.data.astype(np.float64)
    final = pair_finals(needs.facets, offerings.facets, need_row, offering_row, text, settings)
    reason = pair_reasons(needs.facets, offerings.facets, offerings.listed_members(), need_row, offering_row, today)
    final = np.where(text > settings.min_score, final, -1.0)
    order = np.lexsort((offerings.ids[offering_row], -final, local))
    local, need_row, offering_row, text, final, reason = (x[order] for x in
                                                          (local, need_row, offering_row, text, final, reason))
    smallest_text = np.full(rows.size, np.inf)
    np.minimum.at(smallest_text, local, text)
    complete = (per_row < top_n) if top_n is not None else np.ones(rows.size, bool)
    kth = _kth_final(local, final, reason, rows.size, k)
    bound = smallest_text * largest_boost(needs.facets, rows, settings) * (1 + 1e-6) + 2 / ROUND
    certified = complete | (bound < kth)
    keep = certified[local]
    return _Ranked(need_row[keep], offering_row[keep], text[keep], final[keep], reason[keep], certified)


def _kth_final(local: np.ndarray, final: np.ndarray, reason: np.ndarray, n_rows: int, k: int) -> np.ndarray:
    """The final score of each row's k-th passing entry (-inf when it has fewer)."""
    passing = (reason < 0) & (final >= 0)
    rank = _running_count(passing, local)
    kth = np.full(n_rows, -np.inf)
    at_k = passing & (rank == k)
    kth[local[at_k]] = final[at_k]
    return kth


def _running_count(flags: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per entry, how many flagged entries of its group (groups contiguous) come up to and including it."""
    total = np.cumsum(flags, dtype=np.int64)
    starts = np.searchsorted(group, group, side="left")
    before = np.concatenate(([0], total))[starts]
    return total - before


def _write(out: TopK, ranked: _Ranked, k: int, max_exclusions: int):
    """Store the proposals of the certified rows; return their exclusions (need rows, offering rows, reasons)."""
    passing = (ranked.reason < 0) & (ranked.final >= 0)
    rank = _running_count(passing, ranked.need_row)
    proposed = passing & (rank <= k)
    slot = rank[proposed] - 1
    rows = ranked.need_row[proposed]
    out.rows[rows, slot] = ranked.offering_row[proposed]
    out.final[rows, slot] = ranked.final[proposed]
    out.text[rows, slot] = ranked.text[proposed]
    excluded = (ranked.final >= 0) & ~passing & (rank < k)
    excluded &= _running_count(excluded, ranked.need_row) <= max_exclusions
    return ranked.need_row[excluded], ranked.offering_row[excluded], ranked.reason[excluded]


class AllPairs(Mapping):
    """need id -> Ranking of every live need. A Ranking (with its explanations) is built when first read, from
    copies of the facets and ids the tables were computed on: upserts write the index in place."""

    def __init__(self, found: TopK, vocabulary: Vocabulary, settings: EngineSettings, needs: SideIndex,
                 offerings: SideIndex, need_rows: sp.csr_matrix, postings: sp.csr_matrix | None):
        self._found, self._need_rows, self._postings = found, need_rows, postings
        self._vocabulary, self._settings = vocabulary, settings
        self._need_facets = {name: values.copy() for name, values in needs.facets.items()}
        self._offering_facets = {name: values.copy() for name, values in offerings.facets.items()}
        self._offering_ids = offerings.ids.copy()
        alive = needs.alive
        self._row_of = {int(i): r for r, i in enumerate(needs.ids.tolist()) if alive[r]}
        self._built: dict[int, Ranking] = {}

    def __len__(self) -> int:
        return len(self._row_of)

    def __iter__(self):
        return iter(self._row_of)

    def __getitem__(self, need_id: int) -> Ranking:
        if need_id not in self._built:
            self._built[need_id] = self._build(need_id, self._row_of[need_id])
        return self._built[need_id]

    def _build(self, need_id: int, row: int) -> Ranking:
        found, vocabulary = self._found, self._vocabulary
        chosen = found.rows[row][found.rows[row] >= 0]
        texts, finals = found.text[row, :chosen.size].tolist(), found.final[row, :chosen.size].tolist()
        terms = [[] for _ in texts]
        if self._postings is not None and texts:
            a, b = self._need_rows.indptr[row], self._need_rows.indptr[row + 1]
            cols, vals = self._need_rows.indices[a:b], self._need_rows.data[a:b]
            contributions = posting_contributions(self._postings, cols, vals, chosen)
            terms = explain.terms_of(vocabulary.labels, cols, contributions, texts, self._settings.explain_terms,
                                     vocabulary.fillers)
        proposals = explain.proposals([need_id] * len(texts), self._offering_ids[chosen].tolist(),
                                      facet_masks(self._need_facets, np.full(chosen.size, row)),
                                      facet_masks(self._offering_facets, chosen), texts, finals, terms, self._settings)
        lo, hi = np.searchsorted(found.excluded_need, [row, row + 1])
        excluded = zip(self._offering_ids[found.excluded_offering[lo:hi]].tolist(),
                       found.excluded_reason[lo:hi].tolist(), strict=True)
        return Ranking("need", int(need_id), proposals, [Exclusion(i, REASONS[r]) for i, r in excluded])
