"""The attacker of a published table, written independently of the suppression code: repeated subtraction along rows
and columns, and linear programming with the totals, non-negative integer counts and the zero policy."""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linprog

from matchmaker.services.report_tables import Table
from matchmaker.services.suppression import Line


def subtraction_attack(values: dict, lines: list[Line], hidden: set) -> dict:
    """What someone with a calculator recovers: solve any line with a single unknown cell, repeatedly."""
    known = {k: v for k, v in values.items() if k not in hidden}
    recovered = {}
    progress = True
    while progress:
        progress = False
        for line in lines:
            missing = [k for k in line.cells if k not in known]
            if len(missing) == 1:
                key = missing[0]
                parts = sum(known[p] for p in line.parts if p in known)
                known[key] = recovered[key] = parts if key == line.total else known[line.total] - parts
                progress = True
    return recovered


def cell_intervals(values: dict, lines, hidden, lower: float = 0) -> dict:
    """Each hidden cell's smallest and largest possible value given the published cells, every line ((total, parts):
    the total equals the sum of its parts), counts of at least ``lower`` and integrality, by linear programming."""
    hidden = sorted(hidden, key=repr)
    column = {k: i for i, k in enumerate(hidden)}
    rows, rhs = [], []
    for total, parts in lines:
        row, right = np.zeros(len(hidden)), 0.0
        for key, sign in ((total, -1.0), *((p, 1.0) for p in parts)):
            if key in column:
                row[column[key]] += sign
            else:
                right -= sign * values[key]
        if row.any():
            rows.append(row)
            rhs.append(right)
    system = {"A_eq": np.array(rows) if rows else None, "b_eq": rhs or None,
              "bounds": [(lower, None)] * len(hidden), "method": "highs"}
    found = {}
    for key in hidden:
        objective = np.zeros(len(hidden))
        objective[column[key]] = 1
        low, high = linprog(objective, **system), linprog(-objective, **system)
        assert low.status == 0, "the published table must be consistent"
        found[key] = (math.ceil(low.fun - 1e-7), math.floor(-high.fun + 1e-7) if high.status == 0 else math.inf)
    return found


def pinned_by_linear_programming(values: dict, lines: list[Line], hidden: set, lower: float = 0) -> dict:
    """Suppressed cells whose smallest and largest possible values, given every published cell, every total
    and non-negative counts (at least ``lower``), are equal, or lie between 1 and 2: this also finds what
    combining several lines gives away."""
    intervals = cell_intervals(values, [(line.total, line.parts) for line in lines], hidden, lower)
    return {key: (smallest, largest) for key, (smallest, largest) in intervals.items()
            if largest - smallest < 1 or (smallest >= 1 and largest <= 2)}


def check_table(table: Table) -> None:
    """No published cell describes 1 or 2 members; published cells are true; nothing suppressed is recoverable."""
    values = {(r, c): table.values[r, c] for r in table.rows for c in table.columns}
    for key, value in values.items():
        shown = table.value(*key)
        if shown is not None:
            assert shown == value
            if value and key[1] not in table.offering_columns:
                assert table.members.get(key, 0) >= 3, f"{key} describes too few members"
    for line in table.lines():  # the zero policy holds: no zero published beside a suppressed cell
        if any(k in table.suppressed for k in line.cells):
            assert all(values[k] != 0 for k in line.cells if k not in table.suppressed), line
    assert subtraction_attack(values, table.lines(), table.suppressed) == {}
    assert pinned_by_linear_programming(values, table.lines(), table.suppressed) == {}
