"""`python -m benchmarks.matching [--offerings N] [--needs N] [--database URL]`: how long the service takes to
propose for one newly opened need and one newly published offering, and a full re-run, with the demo data and then
with N offerings (default 10,000), through the same services as the web pages (results also in benchmarks/out/).

Each timed call is what the web request pays: bringing this worker's engine index up to date with the one changed
record (no refit), ranking, capacity checks, and writing the Match rows and audit events, then the commit.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def _app(database: str):
    from matchmaker.extensions import db
    from matchmaker.services.demo import seed_demo

    from .imports import service_app

    app = service_app(database)
    seed_demo()
    db.session.commit()
    return app


def _sentences(texts: list[str]) -> list[str]:
    return [s.strip() for t in texts for s in re.split(r"(?<=[.;])\s+", t) if len(s.split()) > 3]


def _add_offerings(count: int, rng: random.Random) -> None:
    """Synthetic programmes made of the demo programmes' sentences, recombined (same vocabulary and languages)."""
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Offering, Organisation
    from matchmaker.models.base import utcnow

    demo = db.session.scalars(select(Offering)).all()
    orgs = db.session.scalars(select(Organisation)).all()
    by_lang: dict[str, list[str]] = {}
    for o in demo:
        by_lang.setdefault(o.language, []).extend(_sentences([o.description]))
    today = date.today()
    batch = []
    for n in range(count):
        base = demo[n % len(demo)]
        pool = by_lang[base.language]
        text = " ".join(rng.sample(pool, k=min(len(pool), rng.randint(3, 7))))
        batch.append(Offering(
            organisation=orgs[n % len(orgs)], title=f"{base.title} ({n})", description=text, language=base.language,
            policy_areas=rng.sample(base.policy_areas, k=max(1, len(base.policy_areas) - rng.randint(0, 1))),
            support_kinds=base.support_kinds, delivery_languages=base.delivery_languages,
            beneficiaries=base.beneficiaries, eligibility=base.eligibility, eligible_regions=base.eligible_regions,
            eligible_members=base.eligible_members, capacity=rng.choice([None, 2, 5, 10, 20]),
            deadline=today + timedelta(days=rng.randint(30, 700)), status="published", published_at=utcnow()))
        if len(batch) == 1000:
            db.session.add_all(batch)
            db.session.commit()
            batch = []
    db.session.add_all(batch)
    db.session.commit()


def _add_needs(count: int, rng: random.Random) -> None:
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Member, Need
    from matchmaker.models.base import utcnow

    demo = db.session.scalars(select(Need)).all()
    members = db.session.scalars(select(Member).where(Member.wto_status == "member",
                                                      Member.is_developing.is_(True))).all() or \
        db.session.scalars(select(Member)).all()
    by_lang: dict[str, list[str]] = {}
    for need in demo:
        by_lang.setdefault(need.language, []).extend(_sentences([need.description]))
    for n in range(count):
        base = demo[n % len(demo)]
        pool = by_lang[base.language]
        db.session.add(Need(
            member=members[n % len(members)], title=f"{base.title} ({n})",
            description=" ".join(rng.sample(pool, k=min(len(pool), rng.randint(2, 5)))), language=base.language,
            policy_areas=base.policy_areas, support_kinds=base.support_kinds,
            delivery_languages=base.delivery_languages, beneficiaries=base.beneficiaries, priority="medium",
            status="open", submitted_at=utcnow(), opened_at=utcnow()))
    db.session.commit()


def _time_new_records(rounds: int, rng: random.Random) -> dict:
    """Open `rounds` new needs and publish `rounds` new offerings, one at a time, timing the proposals for each."""
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Need, Offering
    from matchmaker.models.base import utcnow
    from matchmaker.services import matching

    demo_needs = db.session.scalars(select(Need).order_by(Need.id).limit(55)).all()
    demo_offerings = db.session.scalars(select(Offering).order_by(Offering.id).limit(45)).all()
    need_ms, offering_ms, proposed = [], [], [0, 0]
    for i in range(rounds):
        base = demo_needs[rng.randrange(len(demo_needs))]
        need = Need(member=base.member, title=f"New: {base.title}", description=base.description,
                    language=base.language, policy_areas=base.policy_areas, support_kinds=base.support_kinds,
                    delivery_languages=base.delivery_languages, beneficiaries=base.beneficiaries,
                    priority="medium", status="open", submitted_at=utcnow(), opened_at=utcnow())
        db.session.add(need)
        db.session.commit()
        start = time.perf_counter()
        result = matching.propose_for_need(need)
        db.session.commit()
        need_ms.append((time.perf_counter() - start) * 1000)
        proposed[0] += result.proposed

        base = demo_offerings[rng.randrange(len(demo_offerings))]
        offering = Offering(organisation=base.organisation, title=f"New: {base.title} {i}",
                            description=base.description, language=base.language, policy_areas=base.policy_areas,
                            support_kinds=base.support_kinds, delivery_languages=base.delivery_languages,
                            beneficiaries=base.beneficiaries, eligibility=base.eligibility,
                            eligible_regions=base.eligible_regions, eligible_members=base.eligible_members,
                            capacity=base.capacity, deadline=date.today() + timedelta(days=365), status="published",
                            published_at=utcnow())
        db.session.add(offering)
        db.session.commit()
        start = time.perf_counter()
        result = matching.propose_for_offering(offering)
        db.session.commit()
        offering_ms.append((time.perf_counter() - start) * 1000)
        proposed[1] += result.proposed
    return {"need_ms": need_ms, "offering_ms": offering_ms, "proposed": proposed}


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms"


def phase(database: str, offerings: int, needs: int, rounds: int) -> dict:
    from sqlalchemy import func, select

    from matchmaker.extensions import db
    from matchmaker.models import Need, Offering
    from matchmaker.services import matching

    rng = random.Random(20261123)
    _app(database)
    result: dict = {}
    for label, extra_offerings, extra_needs in (("demo", 0, 0), ("large", offerings, needs)):
        if extra_offerings:
            _add_offerings(extra_offerings, rng)
            _add_needs(extra_needs, rng)
            # Steady state: the bulk load happened a while ago (each worker re-reads the last minute's changes).
            from sqlalchemy import update

            from matchmaker.models.base import utcnow
            for model in (Offering, Need):
                db.session.execute(update(model).values(updated_at=utcnow() - timedelta(minutes=10)))
            db.session.commit()
        counts = (db.session.scalar(select(func.count(Need.id)).where(Need.status == "open")),
                  db.session.scalar(select(func.count(Offering.id)).where(Offering.status == "published")))
        from matchmaker.services import match_index

        matching.INDEX.reset()
        match_index.forget_saved_index()
        start = time.perf_counter()
        matching.INDEX.current(date.today())            # fitted (in its thread) and saved
        fit_s = time.perf_counter() - start
        matching.INDEX.reset()                          # a worker that starts: the saved index, checked
        start = time.perf_counter()
        matching.INDEX.current(date.today())
        warm_s = time.perf_counter() - start
        start = time.perf_counter()
        run = matching.run_matching(None)
        db.session.commit()
        first_run_s = time.perf_counter() - start
        start = time.perf_counter()
        rerun = matching.run_matching(None)
        db.session.commit()
        rerun_s = time.perf_counter() - start
        timed = _time_new_records(rounds, rng)
        result[label] = {
            "needs": counts[0], "offerings": counts[1],
            "fit_s": round(fit_s, 3), "warm_s": round(warm_s, 3), "run_s": round(first_run_s, 2),
            "run_proposed": run.proposed,
            "rerun_s": round(rerun_s, 2), "rerun_kept": rerun.kept, "rerun_proposed": rerun.proposed,
            "need": _summary(timed["need_ms"]), "offering": _summary(timed["offering_ms"]),
            "new_proposals": timed["proposed"],
        }
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.matching")
    parser.add_argument("--offerings", type=int, default=10_000, help="published offerings added for the large run")
    parser.add_argument("--needs", type=int, default=1_000, help="open needs added for the large run")
    parser.add_argument("--rounds", type=int, default=30, help="new needs (and new offerings) timed one by one")
    parser.add_argument("--database", help="an empty database URL (default: a fresh SQLite file)")
    parser.add_argument("--phase", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(args.database, args.offerings, args.needs, args.rounds)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.db"
        proc = subprocess.run([sys.executable, "-m", "benchmarks.matching", "--phase", "--database", url,
                               "--offerings", str(args.offerings), "--needs", str(args.needs),
                               "--rounds", str(args.rounds)],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "PYTHONWARNINGS": "ignore", "MATCH_INDEX_DIR": f"{tmp}/index"})
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    lines = [f"# Matching in the service ({time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, python "
             f"{sys.version.split()[0]}, "
             f"database: {'SQLite file' if not args.database else args.database.split('@')[-1]})",
             "", "| data | open needs | published offerings | index fit + save | worker start (saved index) | "
                 "full run (first) | full re-run | propose for a new need | propose for a new offering |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, row in data.items():
        lines.append(f"| {label} | {row['needs']:,} | {row['offerings']:,} | {row['fit_s']:.2f} s | "
                     f"{row.get('warm_s', float('nan')):.2f} s | {row['run_s']:.2f} s "
                     f"({row['run_proposed']:,} proposals) | {row['rerun_s']:.2f} s ({row['rerun_kept']:,} kept) "
                     f"| {row['need']} | {row['offering']} |")
    lines.append("")
    lines.append(f"Timed one by one: {args.rounds} new needs and {args.rounds} new offerings per data set "
                 "(each: index update for the one record, ranking, capacity, Match rows + audit, commit).")
    OUT.mkdir(exist_ok=True)
    (OUT / "matching.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
