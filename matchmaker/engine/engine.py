"""The engine: fit an index of needs and offerings, rank, update in place, refit when the corpus drifts.

See :mod:`matchmaker.engine.text` (features), :mod:`~matchmaker.engine.vocabulary` (weights),
:mod:`~matchmaker.engine.index` (storage and updates), :mod:`~matchmaker.engine.rules` (boosts and hard
rules), :mod:`~matchmaker.engine.ranking` (one record), :mod:`~matchmaker.engine.allpairs` (every need),
:mod:`~matchmaker.engine.explain` (explanations) and :mod:`~matchmaker.engine.store` (saved indexes).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping

import numpy as np

from . import allpairs
from .index import SideIndex
from .ranking import rank_one
from .records import SIDES, EngineSettings, Ranking, Record
from .rules import facet_arrays, member_codes
from .vocabulary import Corpus, Vocabulary, collector_paused

ENGINE_VERSION = "1.7.0"
_log = logging.getLogger("matchmaker.engine")


def _check_side(side: str) -> str:
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    return side


def build_sides(needs: list[Record], offerings: list[Record], matrix) -> dict[str, SideIndex]:
    """Both sides' indexes of records sorted by id, from their weighted rows (needs first)."""
    sides = {}
    for name, records, rows in (("need", needs, matrix[: len(needs)]), ("offering", offerings, matrix[len(needs):])):
        members = {row: codes for row, r in enumerate(records) if (codes := member_codes(r)) is not None}
        sides[name] = SideIndex.build(np.array([r.id for r in records], np.int64), rows, facet_arrays(records),
                                      members)
    return sides


class Engine:
    """Match needs with offerings. The state is the vocabulary, both sides' indexes and the drift counters."""

    def __init__(self, settings: EngineSettings | None = None):
        self.settings = settings or EngineSettings()
        self.vocabulary: Vocabulary | None = None
        self.sides: dict[str, SideIndex] = {}
        self.changed_since_fit = 0
        self.unknown_mass = 0.0
        self.new_mass = 0.0
        self.n_at_fit = 0
        self.lock = threading.RLock()
        self._pending_log: list | None = None

    # ---------------------------------------------------------------- fitting
    def fit(self, needs: list[Record], offerings: list[Record], vocabulary: Vocabulary | None = None) -> Engine:
        """Fit the vocabulary and idf on both sides (unless one is given) and index every record."""
        needs, offerings = sorted(needs, key=lambda r: r.id), sorted(offerings, key=lambda r: r.id)
        for records in (needs, offerings):
            if len({r.id for r in records}) != len(records):
                raise ValueError("duplicate record ids")
        surface: dict[str, str] = {}
        # the cycle collector off for the whole fit, not only the analysis: the vocabulary's labels and the sides'
        # facets would start 0.2-0.25 s of collections at 10,000 + 10,000 records (one a full pass over every object)
        with collector_paused():
            corpus = Corpus.analyse(needs + offerings, self.settings, surface)
            if vocabulary is None:
                vocabulary, column_of = Vocabulary.fit(corpus, self.settings, surface)
            else:
                column_of = np.array([vocabulary.col.get(name, -1) for name in corpus.names], np.int64)
            matrix = vocabulary.weigh_all(corpus.doc, column_of[corpus.ids], corpus.counts, corpus.n_docs)
            sides = build_sides(needs, offerings, matrix)
        with self.lock:
            self._install(vocabulary, sides, len(needs) + len(offerings))
        return self

    def _install(self, vocabulary: Vocabulary, sides: dict[str, SideIndex], n_at_fit: int) -> None:
        self.vocabulary, self.sides, self.n_at_fit = vocabulary, sides, n_at_fit
        self.changed_since_fit, self.unknown_mass, self.new_mass = 0, 0.0, 0.0

    @property
    def needs_refit(self) -> bool:
        """The corpus drifted: a share of it changed since the fit, or new records bring unknown words."""
        if self.vocabulary is None:
            return False
        settings = self.settings
        unknown = self.unknown_mass / self.new_mass if self.new_mass else 0.0
        return (self.changed_since_fit / max(1, self.n_at_fit) >= settings.drift_refit_share
                or (unknown >= settings.drift_oov_share and self.changed_since_fit >= 10))

    def refit(self, records) -> bool:
        """Refit on ``(needs, offerings)`` (or a function returning them, read here: a database read takes a
        while) and swap the new index in, replaying the updates made meanwhile; on failure keep the current one."""
        with self.lock:
            log = self._pending_log = []
        try:
            needs, offerings = records() if callable(records) else records
            fresh = Engine(self.settings).fit(needs, offerings)
        except Exception:
            _log.exception("background refit failed; the current index is kept")
            with self.lock:
                if self._pending_log is log:
                    self._pending_log = None
            return False
        with self.lock:
            for operation, argument, side in log:
                if operation == "upsert":
                    fresh._apply_upsert(argument, side)
                else:
                    fresh._apply_remove(argument, side)
            self._install(fresh.vocabulary, fresh.sides, fresh.n_at_fit)
            self._pending_log = None
        return True

    # ---------------------------------------------------------------- queries
    def propose_for_need(self, need: Record, k: int = 10, today: dt.date | None = None) -> Ranking:
        return self._rank(need, "need", k, today)

    def propose_for_offering(self, offering: Record, k: int = 10, today: dt.date | None = None) -> Ranking:
        return self._rank(offering, "offering", k, today)

    def _rank(self, record: Record, side: str, k: int, today: dt.date | None) -> Ranking:
        self._require_fit()
        with self.lock:
            vocabulary, other = self.vocabulary, self.sides["offering" if side == "need" else "need"]
            cols, vals, _unknown = vocabulary.vector(record)
            return rank_one(record, side, (cols, vals), vocabulary, other, k, today or dt.date.today())

    def all_pairs(self, k: int = 10, today: dt.date | None = None, explain: bool = True,
                  candidates: int = 0) -> Mapping[int, Ranking]:
        """Top-k offerings of every live need: a read-only mapping need id -> Ranking whose proposals (and
        explanations, unless ``explain`` is False) are built when read; see :mod:`matchmaker.engine.allpairs`."""
        self._require_fit()
        with self.lock:
            return allpairs.all_pairs(self.vocabulary, self.settings, self.sides["need"], self.sides["offering"], k,
                                      today or dt.date.today(), explain, candidates)

    # ---------------------------------------------------------------- updates
    def upsert(self, record: Record, side: str, today: dt.date | None = None) -> None:
        """Add or replace one record (weighed with the current vocabulary)."""
        _check_side(side)
        self._require_fit()
        with self.lock:
            if self._pending_log is not None:
                self._pending_log.append(("upsert", record, side))
            self._apply_upsert(record, side)

    def remove(self, record_id: int, side: str, today: dt.date | None = None) -> None:
        _check_side(side)
        self._require_fit()
        with self.lock:
            if int(record_id) not in self.sides[side].row_of:
                raise KeyError(f"no {side} with id {record_id}")
            if self._pending_log is not None:
                self._pending_log.append(("remove", record_id, side))
            self._apply_remove(record_id, side)

    def _apply_upsert(self, record: Record, side: str) -> None:
        index = self.sides[side]
        cols, vals, unknown = self.vocabulary.vector(record)
        old = index.row_of.get(int(record.id))
        if old is not None:
            index.kill(old)
        facets = {name: values[0] for name, values in facet_arrays([record]).items()}
        index.append(record.id, cols, vals, facets, member_codes(record))
        self.changed_since_fit += 1
        self.new_mass += 1.0
        self.unknown_mass += unknown
        if index.n_delta > self.settings.max_delta_docs:
            index.merge_delta()

    def _apply_remove(self, record_id: int, side: str) -> None:
        index = self.sides[side]
        row = index.row_of.get(int(record_id))
        if row is not None:
            index.kill(row)
            self.changed_since_fit += 1

    # ---------------------------------------------------------------- reading
    def ids(self, side: str) -> list[int]:
        index = self.sides[_check_side(side)]
        return sorted(int(i) for i in index.ids[index.alive])

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held per side and by the vocabulary (idf, feature names and labels)."""
        out = {name: side.memory_bytes() for name, side in self.sides.items()}
        vocabulary = self.vocabulary
        out["vocabulary"] = vocabulary.idf.nbytes + sum(len(f) + len(label) + 2 for f, label in
                                                        zip(vocabulary.features, vocabulary.labels, strict=True))
        return out

    def _require_fit(self) -> None:
        if self.vocabulary is None:
            raise RuntimeError("the engine has no index: fit() it or load a saved one first")

