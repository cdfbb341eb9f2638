"""Statistical disclosure control for published tables: primary and complementary cell suppression.

A table is a set of cells (any hashable key) with a value and the number of distinct members the value
describes, plus the additive relations ("lines") that hold between them: a total equals the sum of its
parts. A cell describing between 1 and ``threshold - 1`` members is suppressed (primary suppression).
Then other cells are suppressed too (complementary suppression) until no suppressed value can be worked
out from the published ones: no line keeps a single suppressed cell (plain subtraction), and no suppressed
cell is determined by the whole system of lines (checked with the null space of the system, which also
catches chains of subtractions across rows and columns).

Pure Python and numpy: no Flask, no database. The web pages, the CSV exports and the tests use the same code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Iterable, Mapping

import numpy as np

Key = Hashable
THRESHOLD = 3


@dataclass(frozen=True)
class Line:
    """``total`` equals the sum of ``parts``."""

    total: Key
    parts: tuple[Key, ...]

    @property
    def cells(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)


def _coefficients(lines: list[Line], unknown: list[Key]) -> np.ndarray:
    """The lines as equations over the unknown (suppressed) cells: +1 for a part, -1 for the total."""
    column = {key: i for i, key in enumerate(unknown)}
    rows = []
    for line in lines:
        row = np.zeros(len(unknown))
        touched = False
        for key, sign in ((line.total, -1.0), *((p, 1.0) for p in line.parts)):
            j = column.get(key)
            if j is not None:
                row[j] += sign
                touched = True
        if touched:
            rows.append(row)
    return np.array(rows) if rows else np.zeros((0, len(unknown)))


def determined(lines: Iterable[Line], suppressed: Iterable[Key]) -> set[Key]:
    """The suppressed cells whose value follows exactly from the published cells and the lines.

    A suppressed cell is determined when it is the same in every solution of the system, that is when every
    vector of the system's null space is zero on it.
    """
    unknown = sorted(set(suppressed), key=repr)
    if not unknown:
        return set()
    matrix = _coefficients(list(lines), unknown)
    if matrix.shape[0] == 0:
        return set()
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9).sum())
    null = vt[rank:]  # rows span the null space
    if null.shape[0] == 0:
        return set(unknown)
    return {key for key, norm in zip(unknown, np.abs(null).max(axis=0)) if norm < 1e-9}


def suppress(values: Mapping[Key, float], members: Mapping[Key, int], lines: Iterable[Line],
             threshold: int = THRESHOLD) -> set[Key]:
    """The cells to suppress so that no published cell describes fewer than ``threshold`` members and no
    suppressed cell can be worked out from the published ones.

    Complements are chosen cheaply and deterministically: the smallest non-zero value first (it hides the
    least information), then zeros, ties broken by the cells' order.
    """
    lines = list(lines)
    order = {key: i for i, key in enumerate(values)}
    by_cell: dict[Key, list[Line]] = {}
    for line in lines:
        for key in line.cells:
            by_cell.setdefault(key, []).append(line)
    hidden = {key for key in values if 0 < members.get(key, 0) < threshold}

    def cost(key: Key) -> tuple:
        value = values[key]
        return (value == 0, value, order[key])

    def complement(candidates: Iterable[Key]) -> Key | None:
        free = [k for k in candidates if k not in hidden and k in values]
        return min(free, key=cost) if free else None

    while True:
        added = False
        for line in lines:
            inside = [k for k in line.cells if k in hidden]
            if len(inside) == 1:
                pick = complement(line.cells)
                if pick is not None:
                    hidden.add(pick)
                    added = True
        if added:
            continue
        exposed = sorted(determined(lines, hidden), key=lambda k: order.get(k, len(order)))
        if not exposed:
            return hidden
        target = exposed[0]
        # A cell sharing a line with the exposed one, preferring lines that already hold other suppressed cells.
        candidates = [k for line in by_cell.get(target, ()) for k in line.cells]
        pick = complement(candidates) or complement(values)
        if pick is None:  # everything is suppressed: nothing can be determined any more
            return hidden
        hidden.add(pick)
