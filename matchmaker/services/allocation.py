"""Competition for an offering's places: when more needs have a pending proposal than it has places left, who
should get them (as many needs as possible, LDCs' first, then the best fit), solved as one integer programme.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import Match, Member, Need, Offering
from matchmaker.services.match_inputs import capacity_left, match_settings


def _flow_matrix(pairs: list[tuple[int, int, float]], n_index: dict[int, int], o_index: dict[int, int]):
    """The constraints of allocate() over x_p (pairs), a_i and b_i (first and further places of need i): flow
    conservation at each need (a_i + b_i - sum_p x_p = 0), then the room at each offering (sum_p x_p <= room)."""
    P, N = len(pairs), len(n_index)
    rows, cols, vals = [], [], []
    for p, (n, _, _) in enumerate(pairs):
        rows.append(n_index[n])
        cols.append(p)
        vals.append(-1.0)
    for i in range(N):
        rows += [i, i]
        cols += [P + i, P + N + i]
        vals += [1.0, 1.0]
    for p, (_, o, _) in enumerate(pairs):
        rows.append(N + o_index[o])
        cols.append(p)
        vals.append(1.0)
    return coo_matrix((vals, (rows, cols)), shape=(N + len(o_index), P + 2 * N)).tocsr()


def allocate(pairs: list[tuple[int, int, float]], need_is_ldc: dict[int, bool], room: dict[int, int | None],
             per_need: int) -> list[tuple[int, int]]:
    """Give places globally: as many needs as possible get one; where more needs want an offering than it has room
    for, LDCs' needs first; then the best fit.

    A min-cost flow written as an integer programme (its constraint matrix is a network matrix, so the
    LP optimum is integral; HiGHS solves it at the root): source -> need (one "first place" arc
    carrying the coverage bonus, and per_need-1 further arcs) -> offering (one arc per candidate pair,
    worth its score, plus a bonus when the offering is contested and the need is an LDC's) -> sink (the
    offering's room). The weights are lexicographic: one more need placed outweighs every LDC bonus, and one
    contested place given to an LDC outweighs every score.
    """
    if not pairs:
        return []
    needs = sorted({n for n, _, _ in pairs})
    offerings = sorted({o for _, o, _ in pairs})
    n_index = {n: i for i, n in enumerate(needs)}
    o_index = {o: i for i, o in enumerate(offerings)}
    P, N = len(pairs), len(needs)
    # Variables: x_p (pairs), a_i (first place of need i), b_i (further places of need i).
    n_vars = P + 2 * N
    max_score = max(s for _, _, s in pairs) or 1.0
    ldc = float(P + 1)                  # more than the scores of all pairs together
    coverage = float(P + 1) * (ldc + 1.0)  # more than every LDC bonus and score together
    wanted = Counter(o for _n, o in {(n, o) for n, o, _ in pairs})
    contested = {o for o in offerings if room.get(o) is not None and wanted[o] > room[o]}
    c = np.zeros(n_vars)
    for p, (n, o, score) in enumerate(pairs):
        c[p] = -(score / max_score + (ldc if need_is_ldc.get(n) and o in contested else 0.0))
    c[P:P + N] = -coverage
    A = _flow_matrix(pairs, n_index, o_index)
    lower = np.concatenate([np.zeros(N), np.full(len(offerings), -np.inf)])
    upper_room = [np.inf if room.get(o) is None else float(room[o]) for o in offerings]
    upper = np.concatenate([np.zeros(N), np.array(upper_room)])
    bounds = Bounds(np.zeros(n_vars), np.concatenate([np.ones(P), np.ones(N), np.full(N, max(0, per_need - 1))]))
    solution = milp(c, constraints=LinearConstraint(A, lower, upper), bounds=bounds,
                    integrality=np.ones(n_vars))
    if solution.x is None:
        raise RuntimeError(f"allocation failed: {solution.message}")
    chosen = [(pairs[p][0], pairs[p][1]) for p in range(P) if solution.x[p] > 0.5]
    return sorted(chosen)


@dataclass(frozen=True)
class Competition:
    """More needs have a pending proposal for an offering than it has places left."""

    needs: int
    places: int
    first: frozenset[int]      # the needs the global allocation gives the places to (LDCs first, then the best fit)


def competition(offering_ids) -> dict[int, Competition]:
    """The competition for each of these offerings that has one (pending proposals of more needs than places left).

    Proposals take no place; the allocation says who should get the places if the facilitators approve them: as many
    needs as possible, LDCs' first, then the best fit, over every pending proposal of the needs concerned (and of the
    needs they compete with for a place, and so on).
    """
    offering_ids = set(offering_ids)
    if not offering_ids:
        return {}
    contests = every_contest()
    return {o: contests[o] for o in offering_ids & contests.keys()}


# The last allocation, by the state it was computed from: the review queue asks on every page, and at 10,000 needs
# and offerings the integer programme takes half a second, while the state it reads changes far less often.
_LAST: dict[tuple, dict[int, Competition]] = {}
_LAST_LOCK = threading.Lock()


def _state() -> tuple:
    """What the allocation reads, in three cheap aggregates: every ORM change of a match or an offering raises its
    version and its time of change (a new one, the count), and the members' LDC status is the reference data's.
    The times tell two databases of the same shape apart (a restored backup, the tests' fresh databases)."""
    matches = db.session.execute(select(func.count(Match.id), func.max(Match.id), func.sum(Match.version),
                                        func.max(Match.updated_at))).one()
    offerings = db.session.execute(select(func.count(Offering.id), func.max(Offering.id),
                                          func.sum(Offering.version), func.max(Offering.updated_at))).one()
    ldcs = db.session.scalar(select(func.count(Member.id)).where(Member.is_ldc.is_(True)))
    return (tuple(matches), tuple(offerings), ldcs, match_settings()[1])


def every_contest() -> dict[int, Competition]:
    """Each offering whose places more needs want than it has, with the needs the global allocation gives them to
    (computed once per state of the data, in each process; warm.py computes it before gunicorn forks)."""
    state = _state()
    with _LAST_LOCK:
        if state in _LAST:
            return _LAST[state]
    found = _contests(state[-1])
    with _LAST_LOCK:
        _LAST.clear()
        _LAST[state] = found
    return found


def _contests(per_need: int) -> dict[int, Competition]:
    pending = db.session.execute(select(Match.need_id, Match.offering_id, Match.score)
                                 .where(Match.status == "proposed").order_by(Match.need_id, Match.offering_id)).all()
    places = capacity_left(sorted({o for _, o, _ in pending}))
    competitors: dict[int, set[int]] = {}
    for n, o, _score in pending:
        if places.get(o) is not None:
            competitors.setdefault(o, set()).add(n)
    contested = {o for o, ns in competitors.items() if len(ns) > places[o]}
    if not contested:
        return {}
    # the component of the contested offerings: their needs, these needs' other limited offerings, and so on
    by_need: dict[int, list[tuple[int, int, float]]] = {}
    for n, o, score in pending:
        by_need.setdefault(n, []).append((n, o, score))
    seen_needs = _component(contested, competitors, by_need)
    pairs = [pair for n in sorted(seen_needs) for pair in by_need[n]]
    ldc = dict(db.session.execute(select(Need.id, Member.is_ldc).join(Member, Need.member_id == Member.id)
                                  .where(Need.id.in_(sorted(seen_needs)))).all())
    given: dict[int, set[int]] = {}
    for n, o in allocate(pairs, ldc, places, per_need):
        given.setdefault(o, set()).add(n)
    return {o: Competition(len(competitors[o]), places[o], frozenset(given.get(o, ()))) for o in contested}


def _component(contested: set[int], competitors: dict[int, set[int]],
               by_need: dict[int, list[tuple[int, int, float]]]) -> set[int]:
    """The needs connected to the contested offerings through their pending proposals for limited offerings."""
    seen_offerings, seen_needs, todo = set(contested), set(), list(contested)
    while todo:
        for n in competitors[todo.pop()] - seen_needs:
            seen_needs.add(n)
            for _, o, _score in by_need[n]:
                if o in competitors and o not in seen_offerings:
                    seen_offerings.add(o)
                    todo.append(o)
    return seen_needs
