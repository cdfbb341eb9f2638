"""`python -m benchmarks.sessions [--matches N] [--tables N] [--runs N]`: time to build a matchmaking session's
agenda (200 matches across 10 tables by default), by the solver alone and through the service with its database
writes and notices; also how many meetings a first-come-first-served loop would have placed."""
from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from matchmaker.scheduling import Meeting, build_agenda, candidate_rounds

OUT = Path(__file__).resolve().parent / "out"


SCENARIOS = {
    # A few organisations bring many programmes; two rounds more than the tables need; 70% of the parties say
    # when they can come (half to all of the rounds).
    "skewed": dict(organisations_weighted=True, spare_rounds=2, stating=0.7, share=(0.5, 1.0)),
    # Every table of every round is needed; organisations of similar size; half the parties can come to 80%.
    "tight": dict(organisations_weighted=False, spare_rounds=0, stating=0.5, share=(0.8, 0.8)),
}


def instance(matches: int, tables: int, seed: int, scenario: str = "skewed", members: int = 70,
             organisations: int = 25):
    """A random session of the given kind: its meetings, number of rounds and the parties' stated availability."""
    spec = SCENARIOS[scenario]
    rng = random.Random(seed)
    rounds = -(-matches // tables) + spec["spare_rounds"]
    org_weights = [1 / (k + 1) if spec["organisations_weighted"] else 1 for k in range(organisations)]
    pairs = set()
    while len(pairs) < matches:
        pairs.add((rng.randrange(members), rng.choices(range(organisations), org_weights)[0]))
    meetings = [Meeting(i, (("member", m), ("organisation", o))) for i, (m, o) in enumerate(sorted(pairs))]
    availability = {}
    for party in sorted({p for m in meetings for p in m.parties}):
        if rng.random() < spec["stating"]:
            availability[party] = set(rng.sample(range(rounds), max(1, round(rounds * rng.uniform(*spec["share"])))))
    return meetings, rounds, availability


def first_come_first_served(meetings, rounds, tables, availability) -> int:
    """The loop a spreadsheet would run: each meeting in turn at the first round where it fits."""
    busy, used, placed = defaultdict(set), defaultdict(int), 0
    for meeting in meetings:
        for r in candidate_rounds(meeting, rounds, availability):
            if used[r] < tables and not busy[r] & set(meeting.parties):
                busy[r].update(meeting.parties)
                used[r] += 1
                placed += 1
                break
    return placed


def upper_bound(meetings, rounds, tables, availability) -> int:
    """No agenda places more than the tables hold, nor more of a party's meetings than the rounds it can attend.
    Every meeting has one member and one organisation, so the meetings the members' limits drop are distinct
    (likewise the organisations'): at least the larger of the two sums must go, or the unreachable ones."""
    per_party = defaultdict(int)
    for m in meetings:
        for p in m.parties:
            per_party[p] += 1
    excess = defaultdict(int)
    for party, n in per_party.items():
        excess[party[0]] += max(0, n - len(availability.get(party, range(rounds))))
    unreachable = sum(1 for m in meetings if not candidate_rounds(m, rounds, availability))
    return min(rounds * tables, len(meetings) - max(excess["member"], excess["organisation"], unreachable))


def solver_rows(matches: int, tables: int, runs: int) -> list[dict]:
    rows = []
    for scenario, seed in ((scenario, seed) for scenario in SCENARIOS for seed in range(runs)):
        meetings, rounds, availability = instance(matches, tables, seed, scenario)
        start = time.perf_counter()
        agenda = build_agenda(meetings, rounds, tables, availability)
        seconds = time.perf_counter() - start
        rows.append({"scenario": scenario, "seed": seed, "rounds": rounds, "seconds": seconds,
                     "placed": len(agenda.placed),
                     "greedy": first_come_first_served(meetings, rounds, tables, availability),
                     "bound": upper_bound(meetings, rounds, tables, availability), "optimal": agenda.optimal})
    return rows


def service_seconds(matches: int, tables: int) -> tuple[float, int]:
    """The whole service call on a fresh SQLite database: load, solve, write the agenda, write every notice."""
    from datetime import date, timedelta
    from datetime import time as clock

    from flask_migrate import upgrade
    from sqlalchemy import select

    from matchmaker.app import create_app
    from matchmaker.extensions import db
    from matchmaker.models import Match, Member, Need, Offering, Organisation, User
    from matchmaker.services import sessions as service
    from matchmaker.services.reference import load_members

    meetings, rounds, availability = instance(matches, tables, seed=0, scenario="tight")
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db"})
        with app.app_context():
            upgrade()
            load_members()
            codes = [m.code for m in db.session.scalars(select(Member).order_by(Member.code))]
            facilitator = User(email="f@example.org", name="Facilitator", role="facilitator")
            db.session.add(facilitator)
            orgs, people, offers = {}, {}, {}
            for meeting in meetings:
                (_, m), (_, o) = meeting.parties
                if o not in orgs:
                    orgs[o] = Organisation(name=f"Organisation {o}", acronym=f"O{o}", kind="ngo")
                    offers[o] = Offering(organisation=orgs[o], title=f"Programme {o}", description="Support.",
                                         language="en", status="published", eligibility="all_developing")
                    people[("organisation", o)] = User(email=f"p{o}@example.org", name=f"Partner {o}", role="partner",
                                                       organisation=orgs[o])
                if ("member", m) not in people:
                    member = db.session.scalar(select(Member).where(Member.code == codes[m]))
                    people[("member", m)] = User(email=f"d{m}@example.org", name=f"Delegate {m}", role="delegate",
                                                 member=member)
            db.session.add_all(list(people.values()))
            matches_made = []
            for meeting in meetings:
                (_, m), (_, o) = meeting.parties
                need = Need(member=people[("member", m)].member, title=f"Need {meeting.key}", description="Help.",
                            language="en", status="matched")
                matches_made.append(Match(need=need, offering=offers[o], score=0.5, engine_version="bench",
                                          status="approved"))
            db.session.add_all(matches_made)
            db.session.commit()
            session = service.create_session(facilitator, dict(
                title="Benchmark session", theme=None, policy_areas=[], date=date.today() + timedelta(days=30),
                start_time=clock(9, 0), time_zone="Europe/Zurich", mode="in_person", place="Geneva", link=None,
                slot_minutes=15, rounds=rounds, tables=tables))
            service.invite(facilitator, session, matches_made)
            db.session.commit()
            for party, stated in availability.items():
                service.set_availability(people[party], session, sorted(stated))
            db.session.commit()
            session = db.session.get(type(session), session.id)
            start = time.perf_counter()
            agenda = service.build_agenda(facilitator, session)
            db.session.commit()
            seconds = time.perf_counter() - start
            db.engine.dispose()
    return seconds, len(agenda.placed)


def run(emit, matches: int = 200, tables: int = 10, runs: int = 5) -> None:
    emit(f"\n## matchmaking session agenda ({matches} matches, {tables} tables; integer programme, scipy "
         f"milp/HiGHS; {runs} random sessions per scenario)")
    rows = solver_rows(matches, tables, runs)
    emit("| scenario | seed | rounds | solver s | placed | upper bound | first-come-first-served | proven optimal |")
    emit("|---|---|---|---|---|---|---|---|")
    for r in rows:
        emit(f"| {r['scenario']} | {r['seed']} | {r['rounds']} | {r['seconds']:.3f} | {r['placed']} | {r['bound']} | "
             f"{r['greedy']} | {'yes' if r['optimal'] else 'no'} |")
    times = [r["seconds"] for r in rows]
    emit(f"solver: median {statistics.median(times):.3f} s, max {max(times):.3f} s over {len(times)} sessions")
    seconds, placed = service_seconds(matches, tables)
    emit(f"service (tight, seed 0, SQLite; loading, solving, writing the agenda and every participant's notice): "
         f"{seconds:.3f} s, {placed} placed")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.sessions")
    ap.add_argument("--matches", type=int, default=200)
    ap.add_argument("--tables", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    lines: list[str] = []

    def emit(s=""):
        print(s, flush=True)
        lines.append(s)

    emit(f"# TA Matchmaker session agenda benchmark ({time.strftime('%Y-%m-%d %H:%M')}, "
         f"{platform.processor() or platform.machine()}, python {sys.version.split()[0]})")
    run(emit, args.matches, args.tables, args.runs)
    print("", file=sys.stderr)
    (OUT / "sessions.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nwritten to {OUT / 'sessions.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
