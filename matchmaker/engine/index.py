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
small in-memory *delta* segment (row-wise CSR) until it is merged; removed rows are
tombstoned. The vocabulary and idf are frozen between fits: new records are transformed
with them, and :attr:`Engine.needs_refit` turns true once the corpus has drifted
(:meth:`Engine.refit_async` rebuilds in a background thread and swaps atomically).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import text as T
from .records import (DELIVERY_LANGUAGES, ELIGIBILITY, POLICY_AREAS, REASONS, REGIONS, SIDES,
                      SUPPORT_KINDS, EngineSettings, Exclusion, Proposal, Ranking, Record,
                      UpdateResult)

ENGINE_VERSION = "1.0.0"
_FORMAT = 1
_ROUND = 1e6

_PA_BIT = {c: 1 << i for i, c in enumerate(POLICY_AREAS)}
_SK_BIT = {c: 1 << i for i, c in enumerate(SUPPORT_KINDS)}
_LANG_BIT = {c: 1 << i for i, c in enumerate(DELIVERY_LANGUAGES)}
_REGION_BIT = {c: 1 << i for i, c in enumerate(REGIONS)}
_ELIG = {c: i for i, c in enumerate(ELIGIBILITY)}
_ALL, _LDC, _REG, _MEM = range(4)


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
    return [n for i, n in enumerate(names) if m >> i & 1]


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
        self.idf = np.asarray(idf, dtype=np.float32)
        self.settings = settings
        self.analyzer = T.AnalyzerSettings(lexicon_weight=settings.lexicon_weight,
                                           concept_weight=settings.concept_weight,
                                           use_lexicon=settings.use_lexicon,
                                           use_glossary=settings.use_glossary)

    @property
    def size(self) -> int:
        return len(self.features)

    def counts(self, rec: Record, surface: dict | None = None) -> dict[str, float]:
        a = self.analyzer
        counts = T.analyze(rec.description or "", rec.language, a, surface)
        if rec.title:
            tw = self.settings.title_weight
            for f, v in T.analyze(rec.title, rec.language, a, surface).items():
                counts[f] = counts.get(f, 0.0) + tw * v
        return counts

    def vector(self, rec: Record, counts: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray, float]:
        """(sorted columns, L2-normalised float32 weights, share of feature mass unknown to the model)."""
        if counts is None:
            counts = self.counts(rec)
        cols, tfs, unknown, total = [], [], 0.0, 0.0
        col = self.col
        for f, v in counts.items():
            total += v
            j = col.get(f)
            if j is None:
                unknown += v
            else:
                cols.append(j)
                tfs.append(v)
        return (*self._weigh(np.asarray(cols, dtype=np.int64), np.asarray(tfs, dtype=np.float64)),
                unknown / total if total else 0.0)

    def _weigh(self, cols: np.ndarray, tfs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if cols.size == 0:
            return cols.astype(np.int32), np.zeros(0, np.float32)
        w = _sublinear(tfs) * self.idf[cols]
        m = self.settings.max_doc_terms
        if m and cols.size > m:
            keep = np.lexsort((cols, -w))[:m]
            cols, w = cols[keep], w[keep]
        order = np.argsort(cols, kind="stable")
        cols, w = cols[order], w[order]
        n = float(np.sqrt(np.dot(w, w)))
        w = w / n if n > 0 else w
        nz = w > 0
        return cols[nz].astype(np.int32), w[nz].astype(np.float32)

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
        labels = []
        for f in features:
            kind, _, v = f.partition(":")
            labels.append("concept: " + T.concept_label(v) if kind == "c" else surface.get(v, v))
        return cls(features, labels, idf.astype(np.float32), settings)


# --------------------------------------------------------------------------- one side
class _Side:
    """Rows of one side: main postings (features x rows CSR), delta rows, tombstones, facets."""

    FACETS = ("lang", "pa", "sk", "kind", "regions", "capacity", "deadline", "member", "ldc", "region")

    def __init__(self, name: str, n_features: int):
        self.name = name
        self.V = n_features
        self.ids = np.zeros(0, np.int64)
        self.row_of: dict[int, int] = {}
        self.alive = np.zeros(0, bool)
        self.p_indptr = np.zeros(n_features + 1, np.int64)
        self.p_indices = np.zeros(0, np.int32)
        self.p_data = np.zeros(0, np.float32)
        self.n_main = 0
        self.d_cols: list[np.ndarray] = []
        self.d_vals: list[np.ndarray] = []
        self._d_cache = None
        self.f = {"lang": np.zeros(0, np.uint8), "pa": np.zeros(0, np.uint16), "sk": np.zeros(0, np.uint8),
                  "kind": np.zeros(0, np.int8), "regions": np.zeros(0, np.uint16),
                  "capacity": np.zeros(0, np.int64), "deadline": np.zeros(0, np.int32),
                  "member": np.zeros(0, np.int32), "ldc": np.zeros(0, bool), "region": np.zeros(0, np.uint16)}
        self.members: dict[int, list[int]] = {}    # row -> eligible member codes ('members' offerings)
        self.topk_ids: np.ndarray | None = None     # stored proposals (rows x k), -1 = empty
        self.topk_scores: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return int(self.ids.size)

    @property
    def n_alive(self) -> int:
        return int(self.alive.sum())

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
        for k in self.FACETS:
            self.f[k] = np.asarray([fv[k] for fv in facets], dtype=self.f[k].dtype)
        self.members = members
        self._set_main_from_rows(vectors)
        self.d_cols, self.d_vals, self._d_cache = [], [], None

    def _set_main_from_rows(self, vectors):
        n = len(vectors)
        lens = np.fromiter((c.size for c, _ in vectors), np.int64, n)
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(lens, out=indptr[1:])
        cols = np.concatenate([c for c, _ in vectors]) if n else np.zeros(0, np.int32)
        vals = np.concatenate([v for _, v in vectors]) if n else np.zeros(0, np.float32)
        rows_csr = sp.csr_matrix((vals.astype(np.float32), cols.astype(np.int32), indptr), shape=(n, self.V))
        post = rows_csr.T.tocsr()
        post.sort_indices()
        self.p_indptr = post.indptr.astype(np.int64)
        self.p_indices = post.indices.astype(np.int32)
        self.p_data = post.data.astype(np.float32)
        self.n_main = n

    # ---------------------------------------------------------------- rows
    def row_vector(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        if r >= self.n_main:
            i = r - self.n_main
            return self.d_cols[i], self.d_vals[i]
        raise KeyError("main rows are stored as postings; use rows_matrix()")

    def append(self, rec_id: int, vec, facets: dict, members: list[int] | None):
        r = self.n_rows
        self.ids = np.append(self.ids, np.int64(rec_id))
        self.alive = np.append(self.alive, True)
        for k in self.FACETS:
            self.f[k] = np.append(self.f[k], np.asarray(facets[k], dtype=self.f[k].dtype))
        if members is not None:
            self.members[r] = members
        self.row_of[int(rec_id)] = r
        self.d_cols.append(vec[0])
        self.d_vals.append(vec[1])
        self._d_cache = None
        if self.topk_ids is not None:
            k = self.topk_ids.shape[1]
            self.topk_ids = np.vstack([self.topk_ids, np.full((1, k), -1, np.int64)])
            self.topk_scores = np.vstack([self.topk_scores, np.full((1, k), -np.inf, np.float32)])
        return r

    def kill(self, r: int):
        self.alive[r] = False
        self.row_of.pop(int(self.ids[r]), None)
        self.members.pop(r, None)
        if self.topk_ids is not None:
            self.topk_ids[r] = -1
            self.topk_scores[r] = -np.inf

    def _delta(self):
        if self._d_cache is None:
            lens = np.fromiter((c.size for c in self.d_cols), np.int64, len(self.d_cols))
            indptr = np.zeros(lens.size + 1, np.int64)
            np.cumsum(lens, out=indptr[1:])
            cols = np.concatenate(self.d_cols) if self.d_cols else np.zeros(0, np.int32)
            vals = np.concatenate(self.d_vals) if self.d_vals else np.zeros(0, np.float32)
            self._d_cache = (indptr, cols, vals)
        return self._d_cache

    def rows_matrix(self) -> sp.csr_matrix:
        """All rows (dead rows empty) as a rows x features CSR matrix."""
        post = sp.csr_matrix((self.p_data, self.p_indices, self.p_indptr), shape=(self.V, self.n_main))
        main = post.T.tocsr()
        indptr, cols, vals = self._delta()
        delta = sp.csr_matrix((vals, cols, indptr), shape=(len(self.d_cols), self.V))
        m = sp.vstack([main, delta], format="csr") if len(self.d_cols) else main
        if not self.alive.all():
            m = sp.diags(self.alive.astype(np.float32)) @ m
            m.eliminate_zeros()
        m.sort_indices()
        return m.astype(np.float32)

    def merge_delta(self):
        """Fold delta rows and tombstones into the main postings (rows keep their numbers)."""
        m = self.rows_matrix()
        post = m.T.tocsr()
        post.sort_indices()
        self.p_indptr = post.indptr.astype(np.int64)
        self.p_indices = post.indices.astype(np.int32)
        self.p_data = post.data.astype(np.float32)
        self.n_main = self.n_rows
        self.d_cols, self.d_vals, self._d_cache = [], [], None

    # ---------------------------------------------------------------- scoring
    def scores(self, cols: np.ndarray, vals: np.ndarray, keep_entries: bool = False):
        """Dot products of one query vector with every row; optionally the per-entry contributions."""
        out = np.zeros(self.n_rows, np.float64)
        entries = None
        if cols.size:
            starts = self.p_indptr[cols]
            lens = self.p_indptr[cols.astype(np.int64) + 1] - starts
            total = int(lens.sum())
            if total:
                offs = np.repeat(starts - np.concatenate(([0], np.cumsum(lens)[:-1])), lens)
                pos = offs + np.arange(total, dtype=np.int64)
                rows = self.p_indices[pos]
                qidx = np.repeat(np.arange(cols.size), lens)
                contrib = self.p_data[pos].astype(np.float64) * vals[qidx]
                out[: self.n_main] = np.bincount(rows, weights=contrib, minlength=self.n_main)
                if keep_entries:
                    entries = (rows, qidx, contrib)
            if self.d_cols:
                indptr, dcols, dvals = self._delta()
                q = np.zeros(self.V, np.float64)
                q[cols] = vals
                prod = q[dcols] * dvals
                cs = np.concatenate(([0.0], np.cumsum(prod)))
                out[self.n_main:] = cs[indptr[1:]] - cs[indptr[:-1]]
        out[~self.alive] = 0.0
        return out, entries

    def contributions(self, r: int, cols: np.ndarray, vals: np.ndarray, entries) -> tuple[np.ndarray, np.ndarray]:
        """(query feature positions, contributions) of row r for the query vector (cols, vals)."""
        if r >= self.n_main:
            dc, dv = self.row_vector(r)
            common, qi, di = np.intersect1d(cols, dc, assume_unique=True, return_indices=True)
            return qi, vals[qi].astype(np.float64) * dv[di]
        rows, qidx, contrib = entries
        sel = rows == r
        return qidx[sel], contrib[sel]


# --------------------------------------------------------------------------- engine
class Engine:
    """Match needs with offerings. See the module docstring for the method."""

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

    def refit_async(self, records: tuple[list[Record], list[Record]]) -> threading.Thread:
        """Refit on the given full record lists in a background thread; swap in the new index when done.

        The engine does not keep record texts (memory), so the caller passes the current records.
        Updates made while the refit runs are replayed on the new index before the swap.
        """
        needs, offerings = records
        log: list = []
        self._pending_log = log

        def work():
            fresh = Engine(self.settings).fit(needs, offerings)
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
               vector=None) -> tuple[Ranking, np.ndarray]:
        """Rank the other side for a record of ``side``. Returns the ranking and final scores per row."""
        self._require_fit()
        other = self.sides[_other(side)]
        cols, vals = vector if vector is not None else self.model.vector(rec)[:2]
        vals64 = vals.astype(np.float64)
        text, entries = other.scores(cols, vals64, keep_entries=explain)
        cand = np.flatnonzero(text > self.settings.min_score)
        final, reasons = self._pair_scores(rec, side, other, cand, text[cand], today)
        ranking = self._select(rec, side, other, cand, text[cand], final, reasons, k, cols, vals64, entries, explain)
        full = np.zeros(other.n_rows, np.float64)
        full[cand] = np.where(reasons < 0, final, -1.0)
        return ranking, full

    def _pair_scores(self, rec: Record, side: str, other: _Side, rows: np.ndarray, text: np.ndarray,
                     today: dt.date | None):
        fv = _Side.facet_values(rec)
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
        final = np.round(text * boost * _ROUND) / _ROUND
        reasons = self._reasons(rec, fv, side, other, rows, today)
        return final, reasons

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

    def _select(self, rec, side, other: _Side, rows, text, final, reasons, k, cols, vals, entries, explain):
        ids = other.ids[rows]
        passing = reasons < 0
        n_pass = int(passing.sum())
        # Candidates in score order (ties by id): enough to fill k passing ones.
        want = min(rows.size, max(4 * k, k + 16))
        while True:
            if want < rows.size:
                part = np.argpartition(-final, want - 1)[:want]
                thr = final[part].min()
                part = np.flatnonzero(final >= thr)
            else:
                part = np.arange(rows.size)
            order = part[np.lexsort((ids[part], -final[part]))]
            if int(passing[order].sum()) >= min(k, n_pass) or want >= rows.size:
                break
            want *= 4
        proposals, exclusions = [], []
        for i in order:
            if len(proposals) >= k:
                break
            if passing[i]:
                proposals.append(int(i))
            elif len(exclusions) < self.settings.max_exclusions:
                exclusions.append(Exclusion(int(ids[i]), REASONS[int(reasons[i])]))
        if explain and entries is not None and proposals:
            chosen = rows[proposals]
            pos_of = np.full(other.n_main + 1, -1, np.int64)
            main_chosen = chosen[chosen < other.n_main]
            pos_of[main_chosen] = main_chosen
            m = pos_of[entries[0]] >= 0
            entries = (entries[0][m], entries[1][m], entries[2][m])
        props = [self._proposal(rec, side, other, int(rows[i]), float(text[i]), float(final[i]),
                                cols, vals, entries, explain) for i in proposals]
        return Ranking(side, int(rec.id), props, exclusions)

    def _proposal(self, rec: Record, side: str, other: _Side, row: int, text: float, final: float,
                  cols, vals, entries, explain: bool) -> Proposal:
        other_id = int(other.ids[row])
        fv = _Side.facet_values(rec)
        need_pa, need_sk = (fv["pa"], fv["sk"]) if side == "need" else (int(other.f["pa"][row]), int(other.f["sk"][row]))
        off_pa, off_sk = (int(other.f["pa"][row]), int(other.f["sk"][row])) if side == "need" else (fv["pa"], fv["sk"])
        s = self.settings
        pa = bin(need_pa & off_pa).count("1") / max(1, bin(need_pa).count("1"))
        sk = bin(need_sk & off_sk).count("1") / max(1, bin(need_sk).count("1"))
        bonus = {"policy_areas": text * s.policy_area_weight * pa, "support_kinds": text * s.support_kind_weight * sk}
        shared = {"policy_areas": _unmask(need_pa & off_pa, POLICY_AREAS),
                  "support_kinds": _unmask(need_sk & off_sk, SUPPORT_KINDS),
                  "delivery_languages": _unmask(fv["lang"] & int(other.f["lang"][row]), DELIVERY_LANGUAGES)}
        terms: list[tuple[str, float]] = []
        if explain:
            if entries is None and row < other.n_main:
                _, entries = other.scores(cols, vals, keep_entries=True)
            qi, contrib = other.contributions(row, cols, vals, entries)
            terms = self._terms(cols, qi, contrib, text)
        need_id, off_id = (int(rec.id), other_id) if side == "need" else (other_id, int(rec.id))
        # The parts add up to the (rounded) score: put the rounding residue on the text part.
        scale = final / (text + sum(bonus.values())) if text > 0 else 0.0
        terms = [(lbl, v * scale) for lbl, v in terms]
        bonus = {k2: v * scale for k2, v in bonus.items()}
        return Proposal(need_id, off_id, final, text * scale, terms, bonus, shared)

    def _terms(self, cols, qi, contrib, text: float) -> list[tuple[str, float]]:
        labels = self.model.labels
        if qi.size == 0:
            return []
        order = np.lexsort((cols[qi], -contrib))
        n = self.settings.explain_terms
        out = [(labels[int(cols[qi[j]])], float(contrib[j])) for j in order[:n]]
        rest = text - sum(v for _, v in out)
        if order.size > n:
            out.append((f"{order.size - n} other terms", float(rest)))
        elif out:
            lbl, v = out[-1]
            out[-1] = (lbl, v + float(rest))   # float residue
        return out

    def propose_for_need(self, need: Record, k: int = 10, today: dt.date | None = None) -> Ranking:
        with self._lock:
            return self._query(need, "need", k, today or dt.date.today())[0]

    def propose_for_offering(self, offering: Record, k: int = 10, today: dt.date | None = None) -> Ranking:
        with self._lock:
            return self._query(offering, "offering", k, today or dt.date.today())[0]

    # ---------------------------------------------------------------- all pairs
    def all_pairs(self, k: int = 10, today: dt.date | None = None, explain: bool = True,
                  chunk: int = 0, threads: int = 2) -> dict[int, Ranking]:
        """Top-k offerings for every need, by chunked sparse products on ``threads`` threads.

        Memory is bounded by the chunk size (rows of needs per product), chosen so a chunk's
        product holds about 8 million pairs. Also stores the top-k of both sides, so that
        :meth:`upsert` and :meth:`remove` can report whose proposals they change.
        """
        self._require_fit()
        today = today or dt.date.today()
        with self._lock:
            ns, os_ = self.sides["need"], self.sides["offering"]
            Q = ns.rows_matrix().astype(np.float64)   # float64 products: same scores as the single path
            P = os_.rows_matrix().T.tocsr().astype(np.float64)
            n_rows = ns.n_rows
            if not chunk:
                # expected pairs per need row ~ sum over its features of their postings lengths
                post_len = np.diff(P.indptr)
                work_per_row = float(post_len[Q.indices].sum()) / max(1, n_rows)
                chunk = int(min(4096, max(16, 8e6 / max(1.0, min(work_per_row, os_.n_rows)))))
            starts = list(range(0, n_rows, chunk))
            min_score = self.settings.min_score
            want0 = 2 * k + 8

            def work(a):
                b = min(n_rows, a + chunk)
                C = Q[a:b] @ P
                lens = np.diff(C.indptr)
                rr = np.repeat(np.arange(a, b), lens)
                cc = C.indices.astype(np.int64)
                text = C.data.astype(np.float64)
                keep = text > min_score
                if not keep.all():
                    rr, cc, text = rr[keep], cc[keep], text[keep]
                final, reasons = self._pairs_vectorised(rr, cc, text, today)
                bounds = np.searchsorted(rr, np.arange(a, b + 1))
                per_row = []
                oids = os_.ids
                for i in range(b - a):
                    lo, hi = int(bounds[i]), int(bounds[i + 1])
                    if hi == lo:
                        per_row.append(None)
                        continue
                    f, rs = final[lo:hi], reasons[lo:hi]
                    ids = oids[cc[lo:hi]]
                    passing = rs < 0
                    n_pass = int(passing.sum()) if hi - lo > want0 else 0
                    want = min(hi - lo, want0)
                    while True:
                        if want < hi - lo:
                            part = np.argpartition(-f, want - 1)[:want]
                            part = np.flatnonzero(f >= f[part].min())
                        else:
                            part = np.arange(hi - lo)
                        order = part[np.lexsort((ids[part], -f[part]))]
                        if want >= hi - lo or int(passing[order].sum()) >= min(k, n_pass):
                            break
                        want *= 4
                    per_row.append(order + lo)
                ok = reasons < 0
                return a, b, rr[ok], cc[ok], final[ok], (cc, text, final, reasons, per_row)

            results: dict[int, Ranking] = {}
            o_ids = np.full((os_.n_rows, k), -1, np.int64)
            o_sc = np.full((os_.n_rows, k), -np.inf, np.float64)
            with ThreadPoolExecutor(max_workers=max(1, threads)) as ex:
                for w0 in range(0, len(starts), max(1, threads)):
                    for a, b, prr, pcc, pfinal, (cc, text, final, reasons, per_row) in \
                            ex.map(work, starts[w0:w0 + max(1, threads)]):
                        for i in range(a, b):
                            if not ns.alive[i]:
                                continue
                            order = per_row[i - a]
                            results[int(ns.ids[i])] = self._rank_row(i, order, cc, text, final, reasons, k, Q,
                                                                     explain)
                        _merge_topk(o_ids, o_sc, pcc, pfinal, ns.ids[prr], k)
            ns.topk_ids = np.full((ns.n_rows, k), -1, np.int64)
            ns.topk_scores = np.full((ns.n_rows, k), -np.inf, np.float32)
            for nid, rk in results.items():
                r = ns.row_of[nid]
                for j, p in enumerate(rk.proposals):
                    ns.topk_ids[r, j] = p.offering_id
                    ns.topk_scores[r, j] = p.score
            os_.topk_ids, os_.topk_scores = o_ids, o_sc.astype(np.float32)
            return results

    def _rank_row(self, row, order, cc, text, final, reasons, k, Q, explain) -> Ranking:
        ns, os_ = self.sides["need"], self.sides["offering"]
        nid = int(ns.ids[row])
        if order is None:
            return Ranking("need", nid, [], [])
        props, excl = [], []
        qcols = qvals = None
        if explain:
            qcols = Q.indices[Q.indptr[row]:Q.indptr[row + 1]]
            qvals = Q.data[Q.indptr[row]:Q.indptr[row + 1]].astype(np.float64)
        rec = _RowRecord(nid, ns, row)
        for i in order.tolist():
            if len(props) >= k:
                break
            if reasons[i] < 0:
                props.append(self._pair_proposal(rec, row, int(cc[i]), float(text[i]), float(final[i]),
                                                 qcols, qvals, explain))
            elif len(excl) < self.settings.max_exclusions:
                excl.append(Exclusion(int(os_.ids[cc[i]]), REASONS[int(reasons[i])]))
        return Ranking("need", nid, props, excl)

    def _pairs_vectorised(self, rr, cc, text, today):
        """Final scores and reasons for (need row, offering row) pairs, vectorised."""
        nf, of = self.sides["need"].f, self.sides["offering"].f
        s = self.settings
        npa, osa = nf["pa"][rr], of["pa"][cc]
        nsk, osk = nf["sk"][rr], of["sk"][cc]
        boost = 1.0 + s.policy_area_weight * np.bitwise_count(npa & osa) / np.maximum(np.bitwise_count(npa), 1) \
            + s.support_kind_weight * np.bitwise_count(nsk & osk) / np.maximum(np.bitwise_count(nsk), 1)
        final = np.round(text * boost * _ROUND) / _ROUND
        kind = of["kind"][cc]
        elig = (kind == _ALL) | ((kind == _LDC) & nf["ldc"][rr]) | \
               ((kind == _REG) & ((of["regions"][cc] & nf["region"][rr]) != 0))
        mem = np.flatnonzero(kind == _MEM)
        if mem.size:
            members = self.sides["offering"].members
            codes = nf["member"][rr[mem]]
            elig[mem] = [int(cd) in members.get(int(c), ()) for cd, c in zip(codes, cc[mem])]
        lang = (of["lang"][cc] & nf["lang"][rr]) != 0
        cap = of["capacity"][cc] != 0
        tday = today.toordinal()
        dl = (of["deadline"][cc] == 0) | (of["deadline"][cc] >= tday)
        reasons = np.full(rr.size, -1, np.int8)
        for i, ok in reversed(list(enumerate((elig, lang, cap, dl)))):
            reasons[~ok] = i
        return final, reasons

    def _pair_proposal(self, rec, nrow, orow, text, final, qcols, qvals, explain) -> Proposal:
        ns, os_ = self.sides["need"], self.sides["offering"]
        s = self.settings
        npa, nsk, nl = int(ns.f["pa"][nrow]), int(ns.f["sk"][nrow]), int(ns.f["lang"][nrow])
        opa, osk, ol = int(os_.f["pa"][orow]), int(os_.f["sk"][orow]), int(os_.f["lang"][orow])
        pa = bin(npa & opa).count("1") / max(1, bin(npa).count("1"))
        sk = bin(nsk & osk).count("1") / max(1, bin(nsk).count("1"))
        bonus = {"policy_areas": text * s.policy_area_weight * pa, "support_kinds": text * s.support_kind_weight * sk}
        terms = []
        if explain:
            dc, dv = self._row_vec(os_, orow)
            _, qi, di = np.intersect1d(qcols, dc, assume_unique=True, return_indices=True)
            terms = self._terms(qcols, qi, qvals[qi] * dv[di], text)
        scale = final / (text + sum(bonus.values())) if text > 0 else 0.0
        return Proposal(rec.id, int(os_.ids[orow]), final, text * scale, [(l, v * scale) for l, v in terms],
                        {k2: v * scale for k2, v in bonus.items()},
                        {"policy_areas": _unmask(npa & opa, POLICY_AREAS),
                         "support_kinds": _unmask(nsk & osk, SUPPORT_KINDS),
                         "delivery_languages": _unmask(nl & ol, DELIVERY_LANGUAGES)})

    def _row_vec(self, side: _Side, r: int):
        if r >= side.n_main:
            return side.row_vector(r)
        cache = getattr(side, "_rows_cache", None)
        if cache is None or cache[0] is not side.p_indices:
            m = sp.csr_matrix((side.p_data, side.p_indices, side.p_indptr), shape=(side.V, side.n_main)).T.tocsr()
            m.sort_indices()
            cache = (side.p_indices, m)
            side._rows_cache = cache
        m = cache[1]
        return m.indices[m.indptr[r]:m.indptr[r + 1]], m.data[m.indptr[r]:m.indptr[r + 1]]

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
        if len(s.d_cols) > self.settings.max_delta_docs:
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
            mine, other_ids = self.sides[side], self.sides[_other(side)]
            kk = k or (mine.topk_ids.shape[1] if mine.topk_ids is not None else 10)
            ranking, full = self._query(record, side, kk, today, vector=vec)
            entered: dict[int, Proposal] = {}
            if mine.topk_ids is not None:
                kk = mine.topk_ids.shape[1]
                for j, p in enumerate(ranking.proposals[:kk]):
                    mine.topk_ids[row, j] = p.offering_id if side == "need" else p.need_id
                    mine.topk_scores[row, j] = p.score
                ts = other_ids.topk_scores
                kth = ts[:, -1].astype(np.float64)
                hit = np.flatnonzero((full > 0) & ((full > kth) | ((full == kth) & (other_ids.topk_ids[:, -1] > record.id))))
                for r in hit.tolist():
                    ids_r, sc_r = other_ids.topk_ids[r], other_ids.topk_scores[r]
                    cand = list(zip(sc_r.tolist(), ids_r.tolist())) + [(float(full[r]), int(record.id))]
                    cand = [c for c in cand if c[1] >= 0]
                    cand.sort(key=lambda t: (-t[0], t[1]))
                    cand = cand[:kk]
                    other_ids.topk_ids[r] = [c[1] for c in cand] + [-1] * (kk - len(cand))
                    other_ids.topk_scores[r] = [c[0] for c in cand] + [-np.inf] * (kk - len(cand))
                    oid = int(other_ids.ids[r])
                    entered[oid] = self._explain_pair(record, side, r, vec)
            return UpdateResult(side, int(record.id), ranking, entered, recomputed)

    def _explain_pair(self, rec: Record, side: str, other_row: int, vec) -> Proposal:
        other = self.sides[_other(side)]
        cols, vals = vec
        text, entries = other.scores(cols, vals.astype(np.float64), keep_entries=True)
        rows = np.array([other_row])
        final, _ = self._pair_scores(rec, side, other, rows, text[rows], None)
        return self._proposal(rec, side, other, other_row, float(text[other_row]), float(final[0]),
                              cols, vals.astype(np.float64), entries, True)

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
        out = {}
        for name, s in self.sides.items():
            b = s.p_indptr.nbytes + s.p_indices.nbytes + s.p_data.nbytes + s.ids.nbytes + s.alive.nbytes
            b += sum(a.nbytes for a in s.f.values())
            b += sum(c.nbytes + v.nbytes for c, v in zip(s.d_cols, s.d_vals))
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
                if s.d_cols or not s.alive.all():
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
                          "p_data": s.p_data, **{f"f_{k}": v for k, v in s.f.items()}}
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
