"""The index of one side (needs or offerings): postings, rows added since, removed rows, facets.

Layout. The rows fitted together are stored as *postings*: a CSR matrix features x rows (float32), so that
one query costs the total length of its features' postings, not the number of rows. Rows added later live
in a small *delta* segment (row-wise CSR with spare capacity) until it is merged; removed rows are marked
dead and stay out of every result. Per-row arrays grow with spare capacity, so an upsert writes in place.
Rows keep their numbers when the delta segment is merged.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .rules import FACET_DTYPES, member_keys


def _grow(array: np.ndarray, rows: int, fill=0) -> np.ndarray:
    """``array`` with room for at least ``rows`` rows (amortised doubling)."""
    if array.shape[0] >= rows:
        return array
    out = np.full((max(rows, 2 * array.shape[0], 64),) + array.shape[1:], fill, dtype=array.dtype)
    out[: array.shape[0]] = array
    return out


class SideIndex:
    """The rows of one side: ids, liveness, facets, postings of the fitted rows and the rows added since."""

    def __init__(self, n_features: int):
        self.n_features = n_features
        self._n = 0
        self._ids = np.zeros(0, np.int64)
        self._alive = np.zeros(0, bool)
        self.row_of: dict[int, int] = {}
        self.facets = {name: np.zeros(0, dtype) for name, dtype in FACET_DTYPES.items()}
        self.members: dict[int, list[int]] = {}       # row -> member codes of a 'members' offering
        self._listed: np.ndarray | None = None        # member_keys(members), rebuilt after a change
        self.postings = sp.csr_matrix((n_features, 0), dtype=np.float32)
        self._delta_ptr = np.zeros(1, np.int64)
        self._delta_cols = np.zeros(0, np.int32)
        self._delta_vals = np.zeros(0, np.float32)
        self.n_delta = 0

    @classmethod
    def build(cls, ids: np.ndarray, rows: sp.csr_matrix | None, facets: dict[str, np.ndarray],
              members: dict[int, list[int]], alive: np.ndarray | None = None,
              postings: sp.csr_matrix | None = None) -> SideIndex:
        """A side of the given rows (rows x features), or of their postings (features x rows) as saved."""
        side = cls(rows.shape[1] if postings is None else postings.shape[0])
        side._ids = np.asarray(ids, np.int64)
        side._n = side._ids.size
        side._alive = np.ones(side._n, bool) if alive is None else np.asarray(alive, bool)
        side.row_of = {int(i): r for r, i in enumerate(side._ids.tolist()) if side._alive[r]}
        side.facets = {name: np.asarray(facets[name], dtype) for name, dtype in FACET_DTYPES.items()}
        side.members = members
        if postings is None:
            side._set_postings(rows)
        else:
            side.postings = postings
        return side

    @property
    def n_rows(self) -> int:
        return self._n

    @property
    def n_main(self) -> int:
        return self.postings.shape[1]

    @property
    def ids(self) -> np.ndarray:
        return self._ids[: self._n]

    @property
    def alive(self) -> np.ndarray:
        return self._alive[: self._n]

    def listed_members(self) -> np.ndarray:
        if self._listed is None:
            self._listed = member_keys(self.members)
        return self._listed

    def _set_postings(self, rows: sp.csr_matrix) -> None:
        postings = rows.T.tocsr()
        postings.sort_indices()
        index_type = np.int32 if postings.nnz < 2 ** 31 - 1 else np.int64
        self.postings = sp.csr_matrix((postings.data.astype(np.float32), postings.indices.astype(index_type),
                                       postings.indptr.astype(index_type)), shape=postings.shape)

    # ---------------------------------------------------------------- updates
    def append(self, record_id: int, cols: np.ndarray, vals: np.ndarray, facets: dict[str, int],
               members: list[int] | None) -> int:
        row = self._n
        self._ids, self._alive = _grow(self._ids, row + 1), _grow(self._alive, row + 1)
        self._ids[row], self._alive[row] = record_id, True
        for name, values in self.facets.items():
            values = self.facets[name] = _grow(values, row + 1)
            values[row] = facets[name]
        self._n = row + 1
        self.row_of[int(record_id)] = row
        if members is not None:
            self.members[row] = members
            self._listed = None
        end = int(self._delta_ptr[self.n_delta])
        self._delta_cols = _grow(self._delta_cols, end + cols.size)
        self._delta_vals = _grow(self._delta_vals, end + cols.size)
        self._delta_cols[end:end + cols.size], self._delta_vals[end:end + cols.size] = cols, vals
        self._delta_ptr = _grow(self._delta_ptr, self.n_delta + 2)
        self.n_delta += 1
        self._delta_ptr[self.n_delta] = end + cols.size
        return row

    def kill(self, row: int) -> None:
        self._alive[row] = False
        self.row_of.pop(int(self._ids[row]), None)
        if self.members.pop(row, None) is not None:
            self._listed = None

    def _delta(self) -> sp.csr_matrix:
        end = int(self._delta_ptr[self.n_delta])
        return sp.csr_matrix((self._delta_vals[:end], self._delta_cols[:end], self._delta_ptr[: self.n_delta + 1]),
                             shape=(self.n_delta, self.n_features))

    def rows_matrix(self) -> sp.csr_matrix:
        """Every row (dead rows empty) as a rows x features float32 CSR matrix."""
        matrix = self.postings.T.tocsr()
        if self.n_delta:
            matrix = sp.vstack([matrix, self._delta()], format="csr")
        if not self.alive.all():
            matrix = (sp.diags(self.alive.astype(np.float32)) @ matrix).tocsr()
            matrix.eliminate_zeros()
        matrix.sort_indices()
        return matrix.astype(np.float32)

    def merge_delta(self) -> None:
        """Fold the delta rows and the dead rows into the postings (rows keep their numbers)."""
        self._set_postings(self.rows_matrix())
        self._delta_ptr, self._delta_cols, self._delta_vals = np.zeros(1, np.int64), self._delta_cols[:0], \
            self._delta_vals[:0]
        self.n_delta = 0

    # ---------------------------------------------------------------- queries
    def hits(self, cols: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, text scores) of the live rows sharing a feature with the query vector (cols, vals)."""
        if cols.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        query = sp.csr_matrix((vals.astype(np.float32), cols, [0, cols.size]), shape=(1, self.n_features))
        product = query @ self.postings
        rows, text = product.indices.astype(np.int64), product.data.astype(np.float64)
        if self.n_delta:
            delta = self._delta() @ sp.csr_matrix((vals, cols, [0, cols.size]), shape=(1, self.n_features)).T
            delta_rows = np.flatnonzero(delta.toarray().ravel())
            rows = np.concatenate([rows, delta_rows + self.n_main])
            text = np.concatenate([text, delta.toarray().ravel()[delta_rows].astype(np.float64)])
        keep = self._alive[rows] & (text != 0)
        return rows[keep], text[keep]

    def contributions(self, cols: np.ndarray, vals: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Each query feature's part (len(cols) x len(rows), float32) of each row's text score."""
        rows = np.asarray(rows, np.int64)
        out = np.zeros((cols.size, rows.size), np.float32)
        main = np.flatnonzero(rows < self.n_main)
        out[:, main] = posting_contributions(self.postings, cols, vals, rows[main])
        for i in np.flatnonzero(rows >= self.n_main).tolist():
            at = int(rows[i]) - self.n_main
            a, b = self._delta_ptr[at], self._delta_ptr[at + 1]
            _, qi, di = np.intersect1d(cols, self._delta_cols[a:b], assume_unique=True, return_indices=True)
            out[qi, i] = vals[qi].astype(np.float32) * self._delta_vals[a:b][di]
        return out

    def memory_bytes(self) -> int:
        """Bytes of the arrays this side holds (postings, delta, per-row arrays with their spare capacity)."""
        arrays = [self.postings.indptr, self.postings.indices, self.postings.data, self._ids, self._alive,
                  self._delta_ptr, self._delta_cols, self._delta_vals, *self.facets.values()]
        return sum(a.nbytes for a in arrays)


def posting_contributions(postings: sp.csr_matrix, cols: np.ndarray, vals: np.ndarray,
                          rows: np.ndarray) -> np.ndarray:
    """``vals[j] x postings[cols[j], rows[i]]`` for every (query feature j, row i), found by a vectorised binary
    search of each row in each feature's sorted postings: O(rows x features x log N), whatever N."""
    out = np.zeros((cols.size, rows.size), np.float32)
    if rows.size == 0 or cols.size == 0:
        return out
    ptr, idx = postings.indptr, postings.indices
    first = ptr[cols].astype(np.int64)
    length = ptr[cols + 1].astype(np.int64) - first
    nonempty = np.flatnonzero(length > 0)
    if nonempty.size == 0:
        return out
    base = np.repeat(first[nonempty], rows.size)
    left = np.repeat(length[nonempty], rows.size)
    target = np.tile(rows, nonempty.size).astype(idx.dtype)
    for _ in range(int(length.max()).bit_length()):   # the last entry <= the row, in fixed halvings
        half = left >> 1
        base += half * (idx[base + half] <= target)
        left -= half
    found = idx[base] == target
    feature, row = np.divmod(np.flatnonzero(found), rows.size)
    feature = nonempty[feature]
    out[feature, row] = postings.data[base[found]] * vals[feature].astype(np.float32)
    return out
