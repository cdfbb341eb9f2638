"""Cell suppression in published tables: no cell describes fewer than 3 members, and no suppressed cell can be
worked out from the published ones, by subtraction or otherwise. The attacks (tests/attacks/suppression.py) are
written independently of the suppression code: repeated subtraction along rows and columns, and linear programming
with the totals, the fact that counts are non-negative integers, and the zero policy (a suppressed cell may be 0
because no zero is ever published beside one: checked), as the threat model's attacker computes it."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchmaker.services.report_tables import TOTAL, Table, count_table
from matchmaker.services.suppression import Line, determined, suppress
from tests.attacks.suppression import (
    cell_intervals,
    check_table,
    pinned_by_linear_programming,
    subtraction_attack,
)

# Pure code, no database: the SQLite pass runs it, the PostgreSQL pass need not run it again.
pytestmark = pytest.mark.skipif(bool(os.environ.get("MATCHMAKER_TEST_DB")), reason="no database involved")


def table_of(facts, rows=3, columns=3, totals=(True, True)) -> Table:
    table = count_table("t", facts, [f"r{i}" for i in range(rows)], [f"c{i}" for i in range(columns)],
                        "x", "y", row_totals=totals[0], column_totals=totals[1])
    table.apply_suppression()
    return table


def test_one_small_cell_takes_three_others_with_it():
    # Members 1..9 fill the table; one member alone in r0/c0.
    facts = [(f"r{r}", f"c{c}", 10 * r + c + m) for r in range(3) for c in range(3) for m in range(3)]
    facts = [f for f in facts if (f[0], f[1]) != ("r0", "c0")] + [("r0", "c0", 99)]
    table = table_of(facts)
    assert ("r0", "c0") in table.suppressed
    # A cell alone in its row and column would be given away by the totals: at least four cells go.
    assert len(table.suppressed) >= 4
    assert sum(1 for k in table.suppressed if k[0] == "r0") >= 2
    assert sum(1 for k in table.suppressed if k[1] == "c0") >= 2
    check_table(table)


def test_a_total_that_describes_few_members_is_suppressed_too():
    facts = [("r0", "c0", 1), ("r0", "c1", 2)] + [(f"r{r}", f"c{c}", 100 + m) for r in (1, 2) for c in (0, 1)
                                                  for m in range(3)]
    table = table_of(facts, columns=2)
    assert ("r0", TOTAL) in table.suppressed and ("r0", "c0") in table.suppressed
    check_table(table)


def test_large_cells_are_all_published():
    facts = [(f"r{r}", f"c{c}", 10 * r + c + m) for r in range(3) for c in range(3) for m in range(4)]
    assert table_of(facts).suppressed == set()


def test_zeros_describe_nobody_and_stay():
    facts = [(f"r{r}", "c0", m) for r in range(3) for m in range(3)]
    table = table_of(facts, columns=2)
    assert table.suppressed == set() and table.value("r0", "c1") == 0


def test_the_null_space_finds_a_chain_of_subtractions():
    # x = 5 - y and y = 7 - 4: x is determined although each line has two unknowns at first.
    lines = [Line("t1", ("x", "y")), Line("t2", ("y", "z"))]
    assert determined(lines, {"x", "y"}) == {"x", "y"}
    assert determined(lines, {"x", "y", "z", "t2"}) == set()


def test_lines_combined_give_nothing_away():
    # After one complement per line, y = T2 - T3 would follow from two lines (and then x = T1 - y),
    # though no single line has one unknown: the suppression must see it and hide more.
    values = {"T1": 10, "x": 1, "y": 9, "T2": 30, "z": 6, "w": 15, "T3": 21, "v": 50}
    lines = [Line("T1", ("x", "y")), Line("T2", ("y", "z", "w")), Line("T3", ("z", "w"))]
    members = {k: 5 for k in values} | {"x": 1}
    hidden = suppress(values, members, lines)
    assert "x" in hidden
    assert subtraction_attack(values, lines, hidden) == {}
    assert pinned_by_linear_programming(values, lines, hidden) == {}


def test_cells_without_lines_are_only_suppressed_when_small():
    values = {"a": 4, "b": 9}
    assert suppress(values, {"a": 2, "b": 3}, []) == {"a"}


facts_strategy = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(0, 9)), max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(facts=facts_strategy, rows=st.integers(1, 5), columns=st.integers(1, 4),
       totals=st.sampled_from([(True, True), (True, False), (False, True)]))
def test_no_small_cell_and_no_recovery_on_random_tables(facts, rows, columns, totals):
    facts = [(f"r{r % rows}", f"c{c % columns}", m) for r, c, m in facts]
    check_table(table_of(facts, rows, columns, totals))


def intervals_seen(table: Table, lower: float = 0) -> dict:
    """What the attacker can tell of every cell: its value, or the interval linear programming gives."""
    values = {(r, c): table.values[r, c] for r in table.rows for c in table.columns}
    found = {k: (v, v) for k, v in values.items() if k not in table.suppressed}
    lines = [(line.total, line.parts) for line in table.lines()]
    return found | cell_intervals(values, lines, table.suppressed, lower)


def test_the_demo_row_of_ones_beside_published_zeros_is_not_solved():
    # The row: "suppressed,0,suppressed,suppressed,0,3", three members with one need each. Published
    # zeros beside them told the attacker each was at least 1, hence exactly 1; now those zeros go too.
    facts = [("r0", c, 10 + i) for i, c in enumerate(("c0", "c2", "c3"))]
    facts += [(f"r{r}", f"c{c}", 100 * r + 10 * c + m) for r in (1, 2) for c in range(5) for m in range(3)]
    table = table_of(facts, rows=3, columns=5)
    assert {("r0", "c1"), ("r0", "c4")} <= table.suppressed
    check_table(table)


facts_and_change = st.tuples(facts_strategy, st.integers(0, 4), st.integers(0, 3))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(case=facts_and_change, totals=st.sampled_from([(True, True), (True, False), (False, True)]))
def test_one_member_s_change_cannot_be_read_from_two_editions(case, totals):
    from matchmaker.services.report_tables import Published

    facts, row, column = case
    facts = [(f"r{r % 3}", f"c{c % 3}", m) for r, c, m in facts]
    first = table_of(facts, 3, 3, totals)
    before = Published(values={k: first.value(*k) for k in first.cells()}, intervals=first.intervals,
                       contributions=first.contributions)
    # One new need, from one member, in one cell.
    second = count_table("t", facts + [(f"r{row % 3}", f"c{column % 3}", 99)], ["r0", "r1", "r2"],
                         ["c0", "c1", "c2"], "x", "y", row_totals=totals[0], column_totals=totals[1])
    second.apply_suppression(earlier=[before])
    check_table(second)
    then, now = intervals_seen(first), intervals_seen(second)
    for cell in second.cells():
        if second.contributions.get(cell, {}).get(99):  # the cells the change touched
            (low_b, high_b), (low_a, high_a) = then.get(cell, (0, 0)), now[cell]
            assert low_a - high_b <= 0 <= high_a - low_b, (cell, then.get(cell), now[cell])
