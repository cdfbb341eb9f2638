"""A matchmaking session's agenda: bilateral meetings placed in (round, table) slots by an integer programme.

Pure Python + numpy/scipy, no Flask and no database: meetings, parties and availability in, placements and
the reasons for what could not be placed out.

The model. A meeting brings together parties (here: the need's member delegation and the offering's
organisation). Binary variable x[m, r] = meeting m takes place in round r, created only for the rounds that
every party of m can attend. Constraints: a meeting takes at most one round; a party is in at most one
meeting per round; a round holds at most ``tables`` meetings. Objective: as many meetings as possible;
among the agendas that place the most, prefer keeping a meeting in its current round (fewer changes to
announce), then earlier rounds. The bonuses are smaller, in total, than one meeting, so they never cost one.
Tables are interchangeable, so they are given after the rounds: a meeting that keeps its round keeps its table.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

# Why a meeting was not placed (codes; the service translates them).
NO_COMMON_ROUND = "no_common_round"  # its parties share no round they can all attend
PARTY_BUSY = "party_busy"            # every round they can all attend is taken by another meeting of one of them
NO_TABLE = "no_table"                # every round they can all attend has all its tables taken
CONFLICT = "conflict"                # some of those rounds are full, the others taken by the parties' other meetings
REASONS = (NO_COMMON_ROUND, PARTY_BUSY, NO_TABLE, CONFLICT)


@dataclass(frozen=True)
class Meeting:
    """One bilateral meeting to place; ``current`` is its (round, table) now, kept when possible."""

    key: Hashable
    parties: tuple[Hashable, ...]
    current: tuple[int, int] | None = None


@dataclass
class Agenda:
    """Where each meeting takes place, and why the others could not."""

    placed: dict[Hashable, tuple[int, int]] = field(default_factory=dict)  # key -> (round, table), both from 0
    unplaced: dict[Hashable, str] = field(default_factory=dict)            # key -> reason code
    optimal: bool = True  # False when the solver stopped at its time limit (the agenda is still valid and maximal)


def candidate_rounds(meeting: Meeting, rounds: int, availability: Mapping[Hashable, Iterable[int] | None]) -> list[int]:
    """The rounds every party of the meeting can attend; a party with no stated availability can attend all."""
    allowed = set(range(rounds))
    for party in meeting.parties:
        stated = availability.get(party)
        if stated is not None:
            allowed &= set(stated)
    return sorted(allowed)


def build_agenda(meetings: list[Meeting], rounds: int, tables: int,
                 availability: Mapping[Hashable, Iterable[int] | None] | None = None,
                 time_limit: float = 20.0) -> Agenda:
    """Place as many meetings as possible; no party twice in a round, availability and table count respected."""
    if rounds < 1 or tables < 1:
        raise ValueError("rounds and tables must be at least 1")
    keys = [m.key for m in meetings]
    if len(set(keys)) != len(keys):
        raise ValueError("meeting keys must be unique")
    availability = availability or {}
    candidates = {m.key: candidate_rounds(m, rounds, availability) for m in meetings}
    agenda = Agenda()
    variables: list[tuple[int, int]] = []  # (meeting index, round)
    for i, meeting in enumerate(meetings):
        variables.extend((i, r) for r in candidates[meeting.key])
    chosen: dict[int, int] = {}
    if variables:
        chosen, agenda.optimal = _solve(meetings, variables, rounds, tables, time_limit)
    # Repair: a time-limited solution may leave room; fill it so the agenda is always maximal.
    busy: dict[int, set] = defaultdict(set)
    used: dict[int, int] = defaultdict(int)
    for i, r in chosen.items():
        busy[r].update(meetings[i].parties)
        used[r] += 1
    for i, meeting in enumerate(meetings):
        if i in chosen:
            continue
        for r in candidates[meeting.key]:
            if used[r] < tables and not busy[r] & set(meeting.parties):
                chosen[i] = r
                busy[r].update(meeting.parties)
                used[r] += 1
                break
    agenda.placed = _tables(meetings, chosen, tables)
    for i, meeting in enumerate(meetings):
        if i not in chosen:
            agenda.unplaced[meeting.key] = _reason(meeting, candidates[meeting.key], busy, used, tables)
    return agenda


def _solve(meetings: list[Meeting], variables: list[tuple[int, int]], rounds: int, tables: int,
           time_limit: float) -> tuple[dict[int, int], bool]:
    n = len(variables)
    eps = 0.5 / (len(meetings) + 1)  # all bonuses together stay below the value of one meeting
    cost = np.empty(n)
    for v, (i, r) in enumerate(variables):
        current = meetings[i].current
        bonus = (eps * 0.5 if current is not None and current[0] == r else 0.0) + eps * 0.25 * (1 - r / rounds)
        cost[v] = -(1.0 + bonus)
    rows, cols = [], []
    row = 0
    by_meeting: dict[int, list[int]] = defaultdict(list)
    by_party_round: dict[tuple, list[int]] = defaultdict(list)
    by_round: dict[int, list[int]] = defaultdict(list)
    for v, (i, r) in enumerate(variables):
        by_meeting[i].append(v)
        by_round[r].append(v)
        for party in meetings[i].parties:
            by_party_round[(party, r)].append(v)
    upper = []
    for group, bound in ([(vs, 1) for vs in by_meeting.values()] + [(vs, 1) for vs in by_party_round.values()]
                         + [(vs, tables) for vs in by_round.values()]):
        if len(group) <= bound:
            continue  # cannot bind
        rows.extend([row] * len(group))
        cols.extend(group)
        upper.append(bound)
        row += 1
    constraints = []
    if row:
        matrix = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(row, n)).tocsr()
        constraints = [LinearConstraint(matrix, -np.inf, np.array(upper, dtype=float))]
    result = milp(cost, integrality=np.ones(n), bounds=Bounds(0, 1), constraints=constraints,
                  options={"time_limit": time_limit, "disp": False})
    if result.x is None:  # nothing found in time: the repair pass places what it can
        return {}, False
    chosen = {}
    for v in np.flatnonzero(result.x > 0.5):
        i, r = variables[v]
        chosen[i] = r
    return chosen, result.status == 0


def _tables(meetings: list[Meeting], chosen: dict[int, int], tables: int) -> dict[Hashable, tuple[int, int]]:
    """Tables within each round: a meeting that keeps its round keeps its table; the others take the lowest free."""
    placed = {}
    by_round: dict[int, list[int]] = defaultdict(list)
    for i, r in chosen.items():
        by_round[r].append(i)
    for r, members in by_round.items():
        taken: set[int] = set()
        waiting = []
        for i in sorted(members):
            current = meetings[i].current
            if current is not None and current[0] == r and 0 <= current[1] < tables and current[1] not in taken:
                placed[meetings[i].key] = (r, current[1])
                taken.add(current[1])
            else:
                waiting.append(i)
        free = (t for t in range(tables) if t not in taken)
        for i in waiting:
            placed[meetings[i].key] = (r, next(free))
    return placed


def _reason(meeting: Meeting, candidates: list[int], busy: dict[int, set], used: dict[int, int], tables: int) -> str:
    if not candidates:
        return NO_COMMON_ROUND
    full = [r for r in candidates if used[r] >= tables]
    taken = [r for r in candidates if busy[r] & set(meeting.parties)]
    if len(taken) == len(candidates):
        return PARTY_BUSY
    if len(full) == len(candidates):
        return NO_TABLE
    return CONFLICT


def problems_with(meetings: Mapping[Hashable, Meeting], placed: Mapping[Hashable, tuple[int, int]], key: Hashable,
                  slot: tuple[int, int], rounds: int, tables: int,
                  availability: Mapping[Hashable, Iterable[int] | None]) -> list[tuple[str, Hashable | None]]:
    """What would be wrong with meeting ``key`` at ``slot`` given the other placements: (problem, other key)."""
    r, t = slot
    found: list[tuple[str, Hashable | None]] = []
    if not (0 <= r < rounds and 0 <= t < tables):
        return [("out_of_range", None)]
    meeting = meetings[key]
    if r not in candidate_rounds(meeting, rounds, availability):
        found.append(("unavailable", None))
    for other, (r2, t2) in placed.items():
        if other == key or r2 != r:
            continue
        if t2 == t:
            found.append(("table_taken", other))
        if set(meetings[other].parties) & set(meeting.parties):
            found.append(("double_booked", other))
    return found
