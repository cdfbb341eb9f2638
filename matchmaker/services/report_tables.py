"""The tables of a report: figures by row and column, how many members each cell describes, and their
suppression (services/suppression.py) against what earlier editions published."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from matchmaker.services.suppression import MIN_MEMBERS, Line, intervals, suppress

TOTAL = "total"


@dataclass
class Table:
    """A table of figures: row and column codes, a value per cell, and how many members each cell describes.

    With ``row_totals`` the last column is the sum of the others; with ``column_totals`` the last row is the
    sum of the rows above. ``suppressed`` cells are never shown or exported.
    """

    key: str
    row_kind: str
    column_kind: str
    rows: list[str]
    columns: list[str]
    values: dict[tuple[str, str], float]
    members: dict[tuple[str, str], int] = field(default_factory=dict)
    row_totals: bool = False
    column_totals: bool = False
    suppressed: set[tuple[str, str]] = field(default_factory=set)
    # Columns whose figures are about offerings: they describe no member, and are never suppressed.
    offering_columns: tuple[str, ...] = ()
    # What each member brings to each cell (a count, or its delays): the change between two editions is
    # judged by the members whose contribution changed.
    contributions: dict[tuple[str, str], dict[int, object]] = field(default_factory=dict)
    # How many cells are withheld only because they changed by too few members since an earlier edition
    # (which ones is not said: that would tell where a change happened).
    withheld_count: int = 0
    # The attacker's feasible interval of each suppressed cell (kept with an edition for the next ones).
    intervals: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def value(self, row: str, column: str) -> float | None:
        """The published value of a cell: None when it is suppressed."""
        if (row, column) in self.suppressed:
            return None
        return self.values.get((row, column), 0)

    def lines(self) -> list[Line]:
        lines = []
        if self.row_totals:
            parts = [c for c in self.columns if c != TOTAL]
            lines += [Line((r, TOTAL), tuple((r, c) for c in parts)) for r in self.rows]
        if self.column_totals:
            parts = [r for r in self.rows if r != TOTAL]
            lines += [Line((TOTAL, c), tuple((r, c) for r in parts)) for c in self.columns]
        return lines

    def cells(self) -> dict[tuple[str, str], float]:
        return {(r, c): self.values.get((r, c), 0) for r in self.rows for c in self.columns}

    def apply_suppression(self, threshold: int = MIN_MEMBERS, earlier: Iterable[Published] = ()) -> None:
        """Suppress what describes too few members, and what changed by too few members since ``earlier``
        editions of this table; keep the attacker's interval of every suppressed cell."""
        cells = self.cells()
        changed, anchors = self.changes(earlier, threshold)
        self.suppressed = suppress(cells, self.members, self.lines(), threshold, primary=changed, anchors=anchors)
        self.withheld_count = sum(1 for k in changed if not 0 < self.members.get(k, 0) < threshold)
        self.intervals = intervals(cells, self.lines(), self.suppressed)

    def changes(self, earlier: Iterable[Published], threshold: int) -> tuple[set, dict[tuple[str, str], list]]:
        """The cells that changed by 1 to ``threshold - 1`` members since one of the ``earlier`` editions, and for
        each what the attacker knew of it in those editions (its value, or its interval; 0 if it was absent)."""
        changed: set[tuple[str, str]] = set()
        anchors: dict[tuple[str, str], list] = defaultdict(list)
        for before in earlier:
            for cell in self.cells():
                if cell[1] in self.offering_columns:
                    continue
                now, then = self.contributions.get(cell, {}), before.contributions.get(cell, {})
                moved = sum(1 for m in set(now) | set(then) if now.get(m) != then.get(m))
                if 0 < moved < threshold:
                    changed.add(cell)
                    anchors[cell].append(before.known(cell))
        return changed, dict(anchors)


@dataclass
class Published:
    """What an earlier edition told readers about one table, and what each member brought to each cell."""

    values: dict[tuple[str, str], float | None]
    intervals: dict[tuple[str, str], tuple[float, float]]
    contributions: dict[tuple[str, str], dict[int, object]]

    def known(self, cell: tuple[str, str]) -> tuple[float, float]:
        """What the attacker knew of a cell: its value, its feasible interval when suppressed, 0 when absent."""
        if cell not in self.values:
            return (0, 0)
        value = self.values[cell]
        return (value, value) if value is not None else self.intervals.get(cell, (0, math.inf))


def count_table(key: str, facts: Iterable[tuple[str, str, int]], rows: list[str], columns: list[str],
                row_kind: str, column_kind: str, row_totals: bool = False, column_totals: bool = False) -> Table:
    """A table counting facts (row, column, member): each cell counts its facts and the members they concern."""
    counts: Counter = Counter()
    members: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for row, column, member in facts:
        cells = [(row, column)]
        if row_totals:
            cells.append((row, TOTAL))
        if column_totals:
            cells.append((TOTAL, column))
        if row_totals and column_totals:
            cells.append((TOTAL, TOTAL))
        for cell in cells:
            counts[cell] += 1
            members[cell][member] += 1
    rows = list(rows) + ([TOTAL] if column_totals else [])
    columns = list(columns) + ([TOTAL] if row_totals else [])
    return Table(key=key, row_kind=row_kind, column_kind=column_kind, rows=rows, columns=columns,
                 values={(r, c): counts.get((r, c), 0) for r in rows for c in columns},
                 members={cell: len(m) for cell, m in members.items()}, row_totals=row_totals,
                 column_totals=column_totals, contributions={cell: dict(m) for cell, m in members.items()})
