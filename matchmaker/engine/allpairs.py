"""All pairs: the top-k offerings of every need at once, exactly as one query per need would rank them.

The offerings with the largest *text* scores of each need come from ``sparse_dot_topn`` (a multi-threaded
sparse product that keeps the ``top_n`` largest entries of each row above a threshold; its sums are scipy's,
bit for bit). The boosts and the hard rules are applied to those candidates only. A need is *certified* when no
offering left out could rank before its k-th proposal: the text score of any offering left out is at most the
smallest candidate's (a row cut at top_n) or the threshold, and its final score at most that times the largest
boost the need can give. Most of that boost (0.3 of 0.4 by default) comes from the policy areas, so a need is
ranked on two candidate sets: its best text scores over every offering, which need only outrank the offerings
outside its policy areas (boost up to 1.1), and its best among the offerings of each of its areas (one product
per area). A sample of the needs is ranked first on the 128 best text scores; the thresholds and candidate
counts with which 99% of it would have been certified are the other needs'. Needs not certified are ranked
again with four times as many candidates, then on 8 x 128 best text scores, then on their whole product row.
Memory is bounded by the candidates of a chunk of needs (about 4 million entries) and, for the last step, by
chunks of about 20 million pairs.

Measured (same runs, shared 2-core machine, k = 10), against the 128 best text scores of every need (engine
1.7.0) and the naive chunked linear_kernel + argpartition: at 10,000 x 10,000, 0.64 s CPU (0.46 s wall on a
quiet machine) against 1.24 s (1.32 s wall) and naive 1.48 s; at 100,000 x 100,000, 38 s CPU (27 s wall)
against 65 s (46 s wall) and naive 115 s; the same output, no more peak memory (0.96-0.98 GB with the
index, against 0.98-1.04 GB).
What is left is mostly the product's accumulation, which no candidate count changes: 0.30 s at 10,000 for 38
million multiply-adds into 21 million distinct pairs (about 27 s at 100,000), plus a fifth more for the area
products. Tried and measured, not kept: MaxScore-style pruning (leave the long postings of common terms out of
the product and bound what they could add): the vectors are flat (about 85 terms of similar weight), two
common terms' bound already reaches a need's k-th text score (about 0.05), and even knowing each k-th score in
advance the bound would let 17% of the multiply-adds go (8% with half of it as the budget). One global
threshold without the split: the needs' score scales differ too much (54 to 492 offerings above one threshold,
5th to 95th percentile). Rows reordered for locality, offerings cut into column blocks: no gain (10 blocks: 10%
off the accumulation, lost to the extra candidates). The candidates are sorted by one integer key, not a
lexsort (1.3 million entries: 0.03 s instead of 0.40 s).
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
from .records import POLICY_AREAS, REASONS, EngineSettings, Exclusion, Ranking
from .rules import ROUND, facet_masks, largest_boost, pair_finals, pair_reasons
from .vocabulary import Vocabulary

THREADS = 2            # the product's threads: the service's machines have two cores
SAMPLE = 200           # needs ranked first on the wide tiers: their k-th scores set the others' thresholds and
CERTIFY_SHARE = 0.99   # candidate counts, those with which this share of them would have been certified
MAIN = 3               # without a sample: MAIN x k + 8 best text scores,
AREA = 2               # and AREA x k + 4 in each policy area


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
    kth: np.ndarray


@dataclass(frozen=True)
class _Tier:
    """One pass over the pending needs: each need's top_n text scores above threshold (top_n None: its whole
    product row) and, with area_top_n, its top area_top_n above area_threshold among the offerings of each of its
    policy areas."""
    top_n: int | None
    threshold: float
    area_top_n: int = 0
    area_threshold: float = 0.0


@dataclass(frozen=True)
class _Problem:
    """What ranking a block of needs reads: need rows (rows x features), both sides, the offerings' postings
    (features x offering rows) and, per policy area, its offerings' rows and postings; each offering row's rank
    by id; k, the day the hard rules are checked on and the settings."""
    need_rows: sp.csr_matrix
    needs: SideIndex
    offerings: SideIndex
    postings: sp.csr_matrix
    areas: list[tuple[np.ndarray, sp.csr_matrix]]
    id_rank: np.ndarray
    k: int
    today: dt.date
    settings: EngineSettings


def all_pairs(vocabulary: Vocabulary, settings: EngineSettings, needs: SideIndex, offerings: SideIndex, k: int,
              today: dt.date, explain_terms: bool, candidates: int) -> AllPairs:
    """The top-k offerings of every live need, as a mapping need id -> Ranking (see :class:`AllPairs`)."""
    need_rows, offering_rows = needs.rows_matrix(), offerings.rows_matrix()
    postings = offering_rows.T.tocsr()
    postings.sort_indices()
    area_of = offerings.facets["pa"][: offerings.n_rows]
    areas = [(rows, offering_rows[rows].T.tocsr()) for rows in
             (np.flatnonzero(area_of >> bit & 1) for bit in range(len(POLICY_AREAS)))]
    id_rank = np.empty(offerings.n_rows, np.int64)
    id_rank[np.argsort(offerings.ids, kind="stable")] = np.arange(offerings.n_rows)
    found = top_k(_Problem(need_rows, needs, offerings, postings, areas, id_rank, k, today, settings), candidates)
    return AllPairs(found, vocabulary, settings, needs, offerings, need_rows, postings if explain_terms else None)


def top_k(problem: _Problem, candidates: int = 0) -> TopK:
    """Top-k offerings of every need row: a sample of the needs on the wide tiers first, then the others split by
    policy area above thresholds that the sample's k-th scores set, then on the wide tiers if need be."""
    n, n_offerings, k = problem.need_rows.shape[0], problem.postings.shape[1], problem.k
    out = TopK(np.full((n, k), -1, np.int64), np.zeros((n, k)), np.zeros((n, k)), np.zeros(0, np.int64),
               np.zeros(0, np.int64), np.zeros(0, np.int8))
    if n == 0 or n_offerings == 0 or k <= 0:
        return out
    floor = problem.settings.min_score
    wide = min(n_offerings, candidates or 12 * k + 8)
    tiers = [_Tier(wide, floor), _Tier(min(n_offerings, 8 * wide), floor), _Tier(None, floor)]
    sample = np.unique(np.linspace(0, n - 1, max(1, min(SAMPLE, n // 4))).round().astype(np.int64))
    kth, exclusions, seen = np.full(n, -np.inf), [], []
    _rank_in_tiers(problem, sample, tiers, out, kth, exclusions, seen)
    split = _split_tiers(problem, sample, seen, kth, candidates)
    _rank_in_tiers(problem, np.setdiff1d(np.arange(n), sample), split + tiers[1:], out, kth, exclusions)
    order = np.argsort(np.concatenate([e[0] for e in exclusions]), kind="stable")
    out.excluded_need, out.excluded_offering, out.excluded_reason = (np.concatenate([e[i] for e in exclusions])[order]
                                                                     for i in range(3))
    return out


def _split_tiers(problem: _Problem, sample: np.ndarray, seen: list[_Ranked], kth: np.ndarray,
                 candidates: int) -> list[_Tier]:
    """The tiers of the needs after the sample: the thresholds and candidate counts (``candidates``, if given) with
    which a share CERTIFY_SHARE of the sample's needs would have been certified, then four times as many candidates
    above no threshold. A certified need's candidates hold every offering that could beat its k-th proposal."""
    k, n_offerings, settings, facets = problem.k, problem.postings.shape[1], problem.settings, problem.needs.facets
    known = sample[np.isfinite(kth[sample])]
    thresholds = [settings.min_score] * 2
    main, area = candidates or MAIN * k + 8, candidates or AREA * k + 4
    if known.size:
        thresholds = [_quantile(_beatable(problem, known, kth, areas), 1 - CERTIFY_SHARE) for areas in (False, True)]
        need_row, offering_row, text = (np.concatenate([getattr(r, name) for r in seen])
                                        for name in ("need_row", "offering_row", "text"))
        outside = text > _beatable(problem, need_row, kth, False)
        main = candidates or _count_quantile(np.bincount(need_row[outside], minlength=kth.size)[known])
        shared = facets["pa"][need_row] & problem.offerings.facets["pa"][offering_row]
        inside = text > _beatable(problem, need_row, kth, True)
        counts = [np.bincount(need_row[inside & (shared >> bit & 1 == 1)], minlength=kth.size)[
            known[facets["pa"][known] >> bit & 1 == 1]] for bit in range(len(POLICY_AREAS))]
        area = candidates or _count_quantile(np.concatenate(counts))
    floor = settings.min_score
    return [_Tier(min(n_offerings, main), max(floor, thresholds[0]), min(n_offerings, area), max(floor, thresholds[1])),
            _Tier(min(n_offerings, 4 * main), floor, min(n_offerings, 4 * area), floor)]


def _beatable(problem: _Problem, rows: np.ndarray, kth: np.ndarray, areas: bool) -> np.ndarray:
    """The text score under which an offering (of the need's policy areas, or outside them) could not beat the
    k-th proposal of the need of each row, whatever its boost."""
    boost = largest_boost(problem.needs.facets, rows, problem.settings, areas)
    return (kth[rows] - 2 / ROUND) / (boost * (1 + 1e-6))


def _quantile(values: np.ndarray, share: float) -> float:
    """A float32 (the product compares with it as one) that a share of the values are above or equal to."""
    return float(np.float32(np.quantile(values, share)))


def _count_quantile(counts: np.ndarray) -> int:
    return 4 + int(np.ceil(np.quantile(counts, CERTIFY_SHARE))) if counts.size else 4


def _rank_in_tiers(problem: _Problem, pending: np.ndarray, tiers: list[_Tier], out: TopK, kth: np.ndarray,
                   exclusions: list, seen: list | None = None) -> None:
    """Rank the pending need rows tier after tier until every one is certified; write their proposals and k-th
    scores, append their exclusions (and their ranked candidates to ``seen``, if given)."""
    n_offerings = problem.postings.shape[1]
    for tier in tiers:
        if pending.size == 0:
            return
        width = tier.top_n and tier.top_n + 2 * tier.area_top_n
        batch = max(1, 4_000_000 // width if width else 20_000_000 // n_offerings)
        left = []
        for a in range(0, pending.size, batch):
            rows = pending[a:a + batch]
            ranked = _rank(problem, rows, tier)
            exclusions.append(_write(out, ranked, problem.k, problem.settings.max_exclusions))
            kth[rows[ranked.certified]] = ranked.kth[ranked.certified]
            if seen is not None:
                seen.append(ranked)
            left.append(rows[~ranked.certified])
        pending = np.concatenate(left)


def _rank(problem: _Problem, rows: np.ndarray, tier: _Tier) -> _Ranked:
    """The candidates of a block of need rows, ranked by (need, final score descending, offering id), and which
    rows are certified: no offering left out could rank before their k-th proposal."""
    needs, offerings, settings = problem.needs, problem.offerings, problem.settings
    local, offering_row, text, bound = _candidates(problem, rows, tier)
    need_row = rows[local]
    final = pair_finals(needs.facets, offerings.facets, need_row, offering_row, text, settings)
    final = np.where(text > settings.min_score, final, -1.0)
    order = _ranked_order(local, offering_row, final, problem.id_rank, rows.size)
    local, need_row, offering_row, text, final = (x[order] for x in (local, need_row, offering_row, text, final))
    reason = pair_reasons(needs.facets, offerings.facets, offerings.listed_members(), need_row, offering_row,
                          problem.today)
    kth = _kth_final(local, final, reason, rows.size, problem.k)
    certified = np.isneginf(bound) | (bound * (1 + 1e-6) + 2 / ROUND < kth)
    keep = certified[local]
    return _Ranked(need_row[keep], offering_row[keep], text[keep], final[keep], reason[keep], certified, kth)


def _candidates(problem: _Problem, rows: np.ndarray, tier: _Tier):
    """(row in the block, offering row, text score) of the candidates of a block of need rows, and per row the
    largest final score an offering left out could have (-inf: none could be proposed or excluded)."""
    block, settings = problem.need_rows[rows], problem.settings
    if tier.top_n is None:
        product = (block @ problem.postings).tocsr()
        local = np.repeat(np.arange(rows.size), np.diff(product.indptr))
        return local, product.indices.astype(np.int64), product.data.astype(np.float64), np.full(rows.size, -np.inf)
    local, offering_row, text, cut = _top(block, problem.postings, tier.top_n, tier.threshold, settings.min_score)
    boost = largest_boost(problem.needs.facets, rows, settings)
    if not tier.area_top_n:
        return local, offering_row, text, cut * boost
    bound = cut * largest_boost(problem.needs.facets, rows, settings, areas=False)
    need_areas = problem.needs.facets["pa"][rows]
    parts = [(local, offering_row, text)]
    for bit, (members, postings) in enumerate(problem.areas):
        at = np.flatnonzero(need_areas >> bit & 1)
        if at.size == 0 or members.size == 0:
            continue
        area_local, area_row, area_text, area_cut = _top(block[at], postings, tier.area_top_n, tier.area_threshold,
                                                         settings.min_score, threads=1)   # (measured: as fast)
        parts.append((at[area_local], members[area_row], area_text))
        bound[at] = np.maximum(bound[at], np.minimum(area_cut, cut[at]) * boost[at])
    return (*(np.concatenate(column) for column in zip(*parts, strict=True)), bound)


def _top(block: sp.csr_matrix, postings: sp.csr_matrix, top_n: int, threshold: float, min_score: float,
         threads: int = THREADS):
    """(row, column, text score) of each row's top_n text scores above the threshold, and per row the largest text
    score left out could have (-inf: nothing proposable was left out)."""
    at_most = np.float32(threshold)       # the product may compare in float32: never above the threshold
    if float(at_most) > threshold:
        at_most = np.nextafter(at_most, np.float32(-np.inf))
    product = sp_matmul_topn(block, postings, top_n=top_n, n_threads=threads, threshold=float(at_most))
    per_row = np.diff(product.indptr)
    text = product.data.astype(np.float64)
    smallest = np.full(per_row.size, np.inf)
    filled = per_row > 0
    smallest[filled] = np.minimum.reduceat(text, product.indptr[:-1][filled]) if text.size else np.inf
    cut = np.where((per_row >= top_n) & (top_n < postings.shape[1]), smallest,
                   threshold if threshold > min_score else -np.inf)
    return np.repeat(np.arange(per_row.size), per_row), product.indices.astype(np.int64), text, cut


def _ranked_order(local: np.ndarray, offering_row: np.ndarray, final: np.ndarray, id_rank: np.ndarray,
                  n_rows: int) -> np.ndarray:
    """The entries by (row, final score descending, offering id), each (row, offering) once: one sort of an
    integer key (final scores are multiples of 1 / ROUND), a lexsort where the key would not fit in 63 bits."""
    scaled = np.rint(final * ROUND).astype(np.int64)
    top = int(scaled.max()) if scaled.size else 0
    span = top - (int(scaled.min()) if scaled.size else 0) + 1
    n_ids = max(1, id_rank.size)
    if n_rows * span * n_ids < 2 ** 62:
        order = np.argsort((local * span + (top - scaled)) * n_ids + id_rank[offering_row])
    else:
        order = np.lexsort((id_rank[offering_row], -final, local))
    repeated = np.zeros(order.size, bool)
    repeated[1:] = (local[order[1:]] == local[order[:-1]]) & (offering_row[order[1:]] == offering_row[order[:-1]])
    return order[~repeated]


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
    if total.size == 0:
        return total
    first = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    starts = np.repeat(first, np.diff(np.append(first, group.size)))
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
