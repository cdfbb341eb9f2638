"""Statistical disclosure control for published tables: primary and complementary cell suppression.

A table is a set of cells (any hashable key) with a value and the number of distinct members the value
describes, plus the additive relations ("lines") that hold between them: a total equals the sum of its
parts. A cell describing between 1 and ``MIN_MEMBERS - 1`` members is suppressed (primary suppression), and so
is a cell whose change since an earlier edition concerns 1 or 2 members (the caller says which).

Then other cells are suppressed too (complementary suppression) until the attacker of the threat model (README,
"Threat model") learns too little from what is published. That attacker knows every published cell and total,
that counts are non-negative integers, that zeros may be suppressed (``ZEROS_MAY_BE_SUPPRESSED``: a suppressed
cell may be 0), and these rules. For each suppressed cell they can compute, by linear programming over all the
lines, the smallest and largest value it can take (its feasible interval). We require:

* no suppressed cell is pinned to one value;
* a cell about 1 or 2 members is not narrowed to values from 1 to ``MIN_MEMBERS - 1`` (its interval holds 0,
  or ``MIN_MEMBERS`` or more);
* a cell that changed by 1 or 2 members since an earlier edition keeps, against each earlier edition, an
  interval that overlaps that edition's (the difference between the two may be 0).

Complements are chosen from the cells sharing a line with the cell that fails, preferring one that makes it
pass, then the cheapest (zeros first, then the smallest values: they hide the least information).

Pure Python, numpy and SciPy: no Flask, no database. Pages, CSV files, editions and tests use the same code.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

Key = Hashable
# The one home of "a few members": no published figure, and no attribute shown about an anonymous need, may
# describe fewer than this many members (suppression, k-anonymous attributes, themes, sessions, IATI).
MIN_MEMBERS = 3
# Published with every table (and read by the attacking tests): a suppressed cell may hide a zero, so the
# attacker's lower bound for a suppressed cell is 0, not 1.
ZEROS_MAY_BE_SUPPRESSED = True
Interval = tuple[float, float]


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
    """The suppressed cells whose value follows exactly from the published cells and the lines (ignoring bounds).

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
    return {key for key, norm in zip(unknown, np.abs(null).max(axis=0), strict=True) if norm < 1e-9}


class System:
    """What the attacker knows about the suppressed cells: the lines, with the published cells moved to the
    right-hand side, and the bounds (``lower`` and above, integers)."""

    def __init__(self, values: Mapping[Key, float], lines: list[Line], hidden: Iterable[Key], lower: float = 0.0):
        self.hidden = sorted(set(hidden), key=repr)
        self.column = {key: i for i, key in enumerate(self.hidden)}
        rows, rhs = [], []
        for line in lines:
            row, right = np.zeros(len(self.hidden)), 0.0
            for key, sign in ((line.total, -1.0), *((p, 1.0) for p in line.parts)):
                if key in self.column:
                    row[self.column[key]] += sign
                else:
                    right -= sign * values.get(key, 0)
            if row.any():
                rows.append(row)
                rhs.append(right)
        self.matrix = np.array(rows) if rows else None
        self.rhs = np.array(rhs)
        self.lower = lower

    def interval(self, key: Key) -> Interval:
        """The smallest and largest value the cell can take; inf when nothing bounds it from above."""
        j = self.column[key]
        if self.matrix is None or not self.matrix[:, j].any():
            return (self.lower, math.inf)
        bounds = [(self.lower, None)] * len(self.hidden)
        objective = np.zeros(len(self.hidden))
        objective[j] = 1.0
        low = linprog(objective, A_eq=self.matrix, b_eq=self.rhs, bounds=bounds, method="highs")
        high = linprog(-objective, A_eq=self.matrix, b_eq=self.rhs, bounds=bounds, method="highs")
        if low.status != 0:
            raise ValueError("the published cells are inconsistent with the lines")
        top = math.inf if high.status == 3 else -high.fun
        # Counts are integers: the attacker rounds inwards (tables with totals have integral vertices anyway).
        return (math.ceil(low.fun - 1e-7), top if top == math.inf else math.floor(top + 1e-7))


def failure(key: Key, span: Interval, primary: bool, anchors: Iterable[Interval], threshold: int) -> str | None:
    """Why the attacker learns too much about a suppressed cell with this feasible interval (None: they do not)."""
    low, high = span
    if high - low < 1:
        return "pinned"
    if primary and low >= 1 and high <= threshold - 1:
        return "narrowed"
    for before_low, before_high in anchors:
        if low > before_high or high < before_low:
            return "differenced"
    return None


def audit(values: Mapping[Key, float], members: Mapping[Key, int], lines: Iterable[Line], hidden: Iterable[Key],
          threshold: int = MIN_MEMBERS, primary: Iterable[Key] = (),
          anchors: Mapping[Key, list[Interval]] | None = None, order: Mapping[Key, int] | None = None,
          first_only: bool = False) -> dict[Key, str]:
    """The suppressed cells the attacker learns too much about, with the reason (empty: the table is safe)."""
    anchors = anchors or {}
    primary = set(primary) | {k for k in values if 0 < members.get(k, 0) < threshold}
    system = System(values, list(lines), hidden, 0.0 if ZEROS_MAY_BE_SUPPRESSED else 1.0)
    order = order or {}
    found: dict[Key, str] = {}
    for key in sorted(system.hidden, key=lambda k: (order.get(k, len(order)), repr(k))):
        reason = failure(key, system.interval(key), key in primary, anchors.get(key, ()), threshold)
        if reason:
            found[key] = reason
            if first_only:
                break
    return found


def intervals(values: Mapping[Key, float], lines: Iterable[Line], hidden: Iterable[Key]) -> dict[Key, Interval]:
    """Every suppressed cell's feasible interval, as the attacker computes it (kept with an edition)."""
    system = System(values, list(lines), hidden, 0.0 if ZEROS_MAY_BE_SUPPRESSED else 1.0)
    return {key: system.interval(key) for key in system.hidden}


def suppress(values: Mapping[Key, float], members: Mapping[Key, int], lines: Iterable[Line],
             threshold: int = MIN_MEMBERS, primary: Iterable[Key] = (),
             anchors: Mapping[Key, list[Interval]] | None = None) -> set[Key]:
    """The cells to suppress: those describing 1 to ``threshold - 1`` members and the extra ``primary`` ones (a
    change about too few members), and complements until :func:`audit` finds nothing."""
    lines = list(lines)
    anchors = anchors or {}
    order = {key: i for i, key in enumerate(values)}
    by_cell: dict[Key, list[Line]] = {}
    for line in lines:
        for key in line.cells:
            by_cell.setdefault(key, []).append(line)
    primary = {k for k in primary if k in values} | {k for k in values if 0 < members.get(k, 0) < threshold}
    hidden = set(primary)

    def cost(key: Key) -> tuple:
        return (values[key], order[key])

    def free(candidates: Iterable[Key]) -> list[Key]:
        return sorted({k for k in candidates if k not in hidden and k in values}, key=cost)

    def check(cells: set[Key], target: Key) -> str | None:
        system = System(values, lines, cells, 0.0 if ZEROS_MAY_BE_SUPPRESSED else 1.0)
        return failure(target, system.interval(target), target in primary, anchors.get(target, ()), threshold)

    while True:
        # Zeros go with the suppressed cells they share a line with: no zero published beside a suppressed cell
        # tells the attacker that the suppressed one is not zero.
        zeros = {k for line in lines if any(c in hidden for c in line.cells) for k in line.cells
                 if k in values and k not in hidden and values[k] == 0}
        if zeros:
            hidden |= zeros
            continue
        # Plain subtraction (cheap): no line keeps exactly one suppressed cell.
        single = (free(line.cells) for line in lines if sum(k in hidden for k in line.cells) == 1)
        pick = next((cells[0] for cells in single if cells), None)
        if pick is not None:
            hidden.add(pick)
            continue
        failing = audit(values, members, lines, hidden, threshold, primary, anchors, order, first_only=True)
        if not failing:
            return hidden
        target = next(iter(failing))
        neighbours = free(k for line in by_cell.get(target, ()) for k in line.cells)
        helpful = next((k for k in neighbours if check(hidden | {k}, target) is None), None)
        pick = helpful or (neighbours[0] if neighbours else None) or next(iter(free(values)), None)
        if pick is None:  # everything is suppressed: nothing is bounded any more
            return hidden
        hidden.add(pick)
