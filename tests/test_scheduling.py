"""The agenda builder on its own: no double booking, availability, tables, reasons, optimality (also on random
inputs)."""
from __future__ import annotations

from collections import Counter
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from matchmaker import scheduling
from matchmaker.scheduling import Meeting, build_agenda, problems_with


def _check(meetings: list[Meeting], agenda, rounds: int, tables: int, availability) -> None:
    """The rules every agenda keeps, whatever its input."""
    assert set(agenda.placed) | set(agenda.unplaced) == {m.key for m in meetings}
    assert not set(agenda.placed) & set(agenda.unplaced)
    by_key = {m.key: m for m in meetings}
    slots = Counter(agenda.placed.values())
    assert all(n == 1 for n in slots.values()), "two meetings at one table in one round"
    per_party_round = Counter((p, r) for k, (r, _t) in agenda.placed.items() for p in by_key[k].parties)
    assert all(n == 1 for n in per_party_round.values()), "a party in two meetings at once"
    for key, (r, t) in agenda.placed.items():
        assert 0 <= r < rounds and 0 <= t < tables
        for party in by_key[key].parties:
            stated = availability.get(party)
            assert stated is None or r in stated, "placed where a party cannot attend"
    for key, reason in agenda.unplaced.items():
        assert reason in scheduling.REASONS
        # Maximal: nothing unplaced would fit anywhere as things stand.
        for r in scheduling.candidate_rounds(by_key[key], rounds, availability):
            for t in range(tables):
                assert problems_with(by_key, agenda.placed, key, (r, t), rounds, tables, availability)


def test_everyone_placed_when_there_is_room():
    meetings = [Meeting(i, (f"m{i % 4}", f"o{i % 3}")) for i in range(12)]
    agenda = build_agenda(meetings, rounds=6, tables=3)
    assert len(agenda.placed) == 12 and not agenda.unplaced and agenda.optimal
    _check(meetings, agenda, 6, 3, {})


def test_a_busy_organisation_is_never_double_booked_and_the_extra_meeting_is_reported():
    meetings = [Meeting(k, (m, "ITU")) for k, m in (("a", "BJ"), ("b", "SN"), ("c", "HT"))]
    agenda = build_agenda(meetings, rounds=2, tables=5)
    assert len(agenda.placed) == 2
    assert list(agenda.unplaced.values()) == [scheduling.PARTY_BUSY]
    assert {r for r, _t in agenda.placed.values()} == {0, 1}


def test_availability_is_respected_and_no_common_slot_is_reported():
    meetings = [Meeting("a", ("BJ", "ITU")), Meeting("b", ("SN", "OECD"))]
    availability = {"BJ": {2}, "ITU": {1, 2}, "SN": {0}, "OECD": {1}}
    agenda = build_agenda(meetings, rounds=3, tables=1, availability=availability)
    assert agenda.placed == {"a": (2, 0)}
    assert agenda.unplaced == {"b": scheduling.NO_COMMON_ROUND}


def test_full_tables_are_reported():
    meetings = [Meeting(i, (f"m{i}", f"o{i}")) for i in range(3)]
    agenda = build_agenda(meetings, rounds=1, tables=2)
    assert len(agenda.placed) == 2 and list(agenda.unplaced.values()) == [scheduling.NO_TABLE]


def test_the_solver_finds_what_a_first_come_first_served_loop_misses():
    # Greedy puts "a" in round 0 and then has no room for "b"; the optimum moves "a" to round 1.
    meetings = [Meeting("a", ("BJ", "ITU")), Meeting("b", ("SN", "ITU"))]
    agenda = build_agenda(meetings, rounds=2, tables=1, availability={"SN": {0}})
    assert agenda.placed == {"a": (1, 0), "b": (0, 0)}


def test_rebuilding_keeps_meetings_where_they_were():
    # The current agenda uses the late rounds, though earlier ones are free: they stay, tables and all.
    meetings = [Meeting(i, (f"m{i}", f"o{i % 2}"), current=(5 - i // 2, 1 - i % 2)) for i in range(8)]
    agenda = build_agenda(meetings, rounds=6, tables=2)
    assert agenda.placed == {m.key: m.current for m in meetings}


def test_problems_with_a_slot_are_named():
    meetings = {"a": Meeting("a", ("BJ", "ITU")), "b": Meeting("b", ("SN", "ITU"))}
    placed = {"a": (0, 0)}
    assert problems_with(meetings, placed, "b", (0, 0), 2, 2, {}) == [("table_taken", "a"), ("double_booked", "a")]
    assert problems_with(meetings, placed, "b", (0, 1), 2, 2, {}) == [("double_booked", "a")]
    assert problems_with(meetings, placed, "b", (1, 0), 2, 2, {"SN": {0}}) == [("unavailable", None)]
    assert problems_with(meetings, placed, "b", (5, 0), 2, 2, {}) == [("out_of_range", None)]
    assert problems_with(meetings, placed, "b", (1, 1), 2, 2, {}) == []


@st.composite
def instances(draw, max_meetings=25, max_rounds=6, max_tables=4, members=8, organisations=6):
    rounds = draw(st.integers(1, max_rounds))
    tables = draw(st.integers(1, max_tables))
    pairs = draw(st.lists(st.tuples(st.integers(0, members - 1), st.integers(0, organisations - 1)),
                          max_size=max_meetings, unique=True))
    meetings = [Meeting(i, (f"m{m}", f"o{o}")) for i, (m, o) in enumerate(pairs)]
    parties = sorted({p for m in meetings for p in m.parties})
    availability = {}
    for party in parties:
        if draw(st.booleans()):
            availability[party] = set(draw(st.lists(st.integers(0, rounds - 1), max_size=rounds, unique=True)))
    return meetings, rounds, tables, availability


@settings(max_examples=100, deadline=None, database=None)
@given(instances())
def test_property_every_agenda_keeps_the_rules(instance):
    meetings, rounds, tables, availability = instance
    agenda = build_agenda(meetings, rounds, tables, availability)
    _check(meetings, agenda, rounds, tables, availability)


def _best_possible(meetings, rounds, tables, availability) -> int:
    options = [scheduling.candidate_rounds(m, rounds, availability) + [None] for m in meetings]
    best = 0
    for choice in product(*options):
        used = Counter(r for r in choice if r is not None)
        busy = Counter((p, r) for m, r in zip(meetings, choice, strict=True) if r is not None for p in m.parties)
        if all(n <= tables for n in used.values()) and all(n == 1 for n in busy.values()):
            best = max(best, sum(r is not None for r in choice))
    return best


@settings(max_examples=40, deadline=None, database=None)
@given(instances(max_meetings=6, max_rounds=3, max_tables=2, members=3, organisations=3))
def test_property_the_agenda_places_as_many_as_possible(instance):
    meetings, rounds, tables, availability = instance
    agenda = build_agenda(meetings, rounds, tables, availability)
    assert len(agenda.placed) == _best_possible(meetings, rounds, tables, availability)
