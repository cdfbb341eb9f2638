"""Ranking one record (a new need, or a new offering) against every record of the other side.

A query is one sparse product (its vector x the other side's postings); boosts are computed for the rows it
reaches, hard rules only on the head of the score order (ties by id), explanations for the final top-k only.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from . import explain
from .index import SideIndex
from .records import REASONS, EngineSettings, Exclusion, Ranking, Record
from .rules import closed, facet_arrays, facet_masks, member_codes, member_keys, pair_finals, pair_reasons
from .vocabulary import Vocabulary


@dataclass(frozen=True)
class Pairs:
    """The query record paired with rows of the other side, as (need row, offering row) pairs."""
    needs: dict[str, np.ndarray]
    offerings: dict[str, np.ndarray]
    listed_members: np.ndarray
    need_rows: np.ndarray
    offering_rows: np.ndarray
    side: str                              # the query's side: its rows are all 0, its facets one row

    @classmethod
    def of(cls, record: Record, side: str, other: SideIndex, rows: np.ndarray) -> Pairs:
        query, mine = facet_arrays([record]), np.zeros(rows.size, np.int64)
        if side == "need":
            return cls(query, other.facets, other.listed_members(), mine, rows, side)
        codes = member_codes(record)
        return cls(other.facets, query, member_keys({0: codes} if codes else {}), rows, mine, side)

    def finals(self, text: np.ndarray, settings: EngineSettings) -> np.ndarray:
        """Every pair's final score; the query's one row is broadcast, not repeated (tens of thousands of rows
        at 100,000 records)."""
        need_rows, offering_rows = self.need_rows, self.offering_rows
        if self.side == "need":
            need_rows = need_rows[:1]
        else:
            offering_rows = offering_rows[:1]
        return pair_finals(self.needs, self.offerings, need_rows, offering_rows, text, settings)

    def reasons(self, at: np.ndarray, today: dt.date) -> np.ndarray:
        return pair_reasons(self.needs, self.offerings, self.listed_members, self.need_rows[at],
                            self.offering_rows[at], today)

    def masks(self, at: np.ndarray) -> tuple[list, list]:
        """The facet masks (:func:`~matchmaker.engine.rules.facet_masks`) of the need and the offering of each pair."""
        return facet_masks(self.needs, self.need_rows[at]), facet_masks(self.offerings, self.offering_rows[at])


def rank_one(record: Record, side: str, vector: tuple[np.ndarray, np.ndarray], vocabulary: Vocabulary,
             other: SideIndex, k: int, today: dt.date) -> Ranking:
    """The first k rows of the other side passing the hard rules, best first, and the rows that failed one
    before the k-th (all of them when fewer than k pass; at most ``max_exclusions``)."""
    settings = vocabulary.settings
    cols, vals = vector
    rows, text = other.hits(cols, vals)
    if settings.min_score > 0:
        keep = text > settings.min_score
        rows, text = rows[keep], text[keep]
    pairs = Pairs.of(record, side, other, rows)
    final = pairs.finals(text, settings)
    # an offering that is full or past its deadline takes nobody: its exclusions are the head of the order
    is_closed = side == "offering" and closed({name: int(v[0]) for name, v in pairs.offerings.items()}, today)
    order, reasons = _head_in_order(pairs, final, other.ids[rows], k, today, settings, is_closed)
    passing = np.flatnonzero(reasons < 0)[:k]
    head = (int(passing[-1]) + 1 if passing.size == k else order.size) if k > 0 else 0
    failed = np.flatnonzero(reasons[:head] >= 0)[: settings.max_exclusions]
    exclusions = [Exclusion(i, REASONS[r]) for i, r in zip(other.ids[rows[order[failed]]].tolist(),
                                                           reasons[failed].tolist(), strict=True)]
    chosen = order[passing]
    texts, other_ids = text[chosen].tolist(), other.ids[rows[chosen]].tolist()
    terms = []
    if texts:
        contributions = other.contributions(cols, vals, rows[chosen])
        terms = explain.terms_of(vocabulary.labels, cols, contributions, texts, settings.explain_terms,
                                 vocabulary.fillers)
    mine = [int(record.id)] * len(texts)
    need_ids, offering_ids = (mine, other_ids) if side == "need" else (other_ids, mine)
    found = explain.proposals(need_ids, offering_ids, *pairs.masks(chosen), texts, final[chosen].tolist(), terms,
                              settings)
    return Ranking(side, int(record.id), found, exclusions)


def _head_in_order(pairs: Pairs, final: np.ndarray, ids: np.ndarray, k: int, today: dt.date,
                   settings: EngineSettings, is_closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """The head of the score order (ties by id) long enough to hold k passing rows, and each one's reason."""
    n = final.size
    want = min(n, max(4 * k, k + 16))
    if is_closed:
        want = min(n, max(want, settings.max_exclusions))
    while True:
        if want < n:
            threshold = final[np.argpartition(-final, want - 1)[:want]].min()
            part = np.flatnonzero(final >= threshold)
        else:
            part = np.arange(n)
        order = part[np.lexsort((ids[part], -final[part]))]
        reasons = pairs.reasons(order, today)
        if int((reasons < 0).sum()) >= k or part.size >= n or is_closed:
            return order, reasons
        want *= 4
