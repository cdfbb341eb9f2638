"""`python -m benchmarks.imports [--rows N] [--activities N] [--database URL]`: time and peak memory of a large CSV
import and a large IATI import, through the same services as the web pages (results also in benchmarks/out/)."""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
AREAS = ["readiness", "ict_infrastructure", "trade_logistics", "payments", "e_transactions", "consumer_protection",
         "data_protection", "cybersecurity", "intellectual_property", "skills", "financing"]
DAC = ["22040", "33120", "24010", "15130", "11330", "33110", "24030", "15210"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_csv(rows: int, status: str = "draft") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["title", "description", "language", "policy_areas", "support_kinds", "delivery_languages",
                     "beneficiaries", "eligibility", "eligible_regions", "capacity", "deadline", "status"])
    for n in range(rows):
        writer.writerow([
            f"Programme {n}: e-commerce support, phase {n % 7}",
            f"Programme number {n} helps ministries and regulators with {AREAS[n % 11].replace('_', ' ')}; "
            "it combines advice on laws, training for officials and peer exchange.\nSecond line of the text.",
            ("en", "fr", "es")[n % 3], f"{AREAS[n % 11]};{AREAS[(n + 3) % 11]}", "training;policy_advice",
            "en;fr", "regulators;msmes", ("all_developing", "regions", "ldc_only")[n % 3],
            "africa;asia" if n % 3 == 1 else "", str(1 + n % 50), "2031-12-31", status])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def make_iati(activities: int, status: str = "1") -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="2.03" '
             'generated-datetime="2026-01-01T00:00:00Z">']
    for n in range(activities):
        parts.append(f"""
 <iati-activity last-updated-datetime="2026-01-01T00:00:00Z" xml:lang="en" default-currency="USD">
  <iati-identifier>XM-BENCH-{n:06d}</iati-identifier>
  <reporting-org ref="XM-BENCH" type="40"><narrative>Benchmark Agency</narrative></reporting-org>
  <title><narrative>Activity {n}: digital trade support</narrative>
   <narrative xml:lang="fr">Activité {n} : appui au commerce numérique</narrative></title>
  <description type="1">
   <narrative>Activity {n} supports ministries with e-commerce strategies, paperless trade and training for
    officials.</narrative>
   <narrative xml:lang="es">La actividad {n} apoya a los ministerios con estrategias de comercio
    electrónico.</narrative>
  </description>
  <participating-org role="4" type="40"><narrative>Benchmark Agency</narrative></participating-org>
  <activity-status code="{status}"/>
  <activity-date type="1" iso-date="2026-01-01"/><activity-date type="3" iso-date="2029-12-31"/>
  <recipient-region code="{('289', '798', '998')[n % 3]}" vocabulary="1" percentage="100"/>
  <sector vocabulary="1" code="{DAC[n % len(DAC)]}" percentage="100"/>
  <transaction><transaction-type code="2"/><transaction-date iso-date="2026-01-01"/>
   <value value-date="2026-01-01">{1000 + n}</value></transaction>
 </iati-activity>""")
    parts.append("\n</iati-activities>\n")
    return "".join(parts).encode("utf-8")


def service_app(database: str):
    """The service on ``database``, migrated, with the WTO members, inside a request context (for benchmarks)."""
    from flask_migrate import upgrade

    from matchmaker.app import create_app
    from matchmaker.services.reference import load_members

    app = create_app({"SQLALCHEMY_DATABASE_URI": database})
    app.test_request_context().push()
    upgrade()
    load_members()
    return app


def _app(database: str):
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Organisation, User

    app = service_app(database)
    # The phases may share one database (--database): each one adds what it measures to the last one's.
    user = db.session.scalar(select(User).where(User.email == "bench@example.org"))
    if user is None:
        org = Organisation(name="Benchmark Agency", acronym="BENCH", kind="intergovernmental")
        user = User(email="bench@example.org", name="Bench", role="partner", organisation=org, language="en",
                    active=True)
        db.session.add_all([org, user])
        db.session.commit()
    return app, user


OPEN_NEEDS = 300


def _open_needs(count: int) -> None:
    """Open needs for the published offerings to be proposed to (so that the engine has real work to do)."""
    from sqlalchemy import func, select

    from matchmaker.extensions import db
    from matchmaker.models import Member, Need

    if db.session.scalar(select(func.count(Need.id)).where(Need.status == "open")) >= count:
        return
    members = db.session.scalars(select(Member).where(Member.is_developing.is_(True)).order_by(Member.code)).all()
    for n in range(count):
        area = AREAS[n % 11]
        db.session.add(Need(
            member=members[n % len(members)], status="open", language=("en", "fr", "es")[n % 3],
            title=f"Need {n}: help with {area.replace('_', ' ')} for e-commerce",
            description=f"Our ministry asks for support on {area.replace('_', ' ')}: advice on laws, training for "
                        f"officials and regulators, and peer exchange with other members (need {n}).",
            policy_areas=[area], support_kinds=["training", "policy_advice"], delivery_languages=["en", "fr"],
            beneficiaries=["regulators"], priority="medium", attributed=False))
    db.session.commit()


def phase(kind: str, size: int, database: str) -> dict:
    """One measurement, in this (child) process so that its peak memory is its own.

    ``csv`` and ``iati`` import drafts (pipeline activities); ``csv-published`` publishes every row and then, as the
    import page does, proposes the published offerings to the open needs in one batch."""
    from matchmaker.extensions import db

    _app_, user = _app(database)
    if kind == "csv-published":
        _open_needs(OPEN_NEEDS)
    data = make_iati(size) if kind == "iati" else make_csv(size, "published" if kind == "csv-published" else "draft")
    baseline = _rss_mb()
    result = {"kind": kind, "size": size, "bytes": len(data), "baseline_rss_mb": round(baseline, 1)}
    if kind != "iati":
        from matchmaker.imports.csv_import import import_rows, read_rows

        start = time.perf_counter()
        preview = read_rows("offerings", data, max_bytes=len(data) + 1)
        checked = time.perf_counter()
        assert preview.ok, preview.problems[:3]
        created = import_rows(user, "offerings", preview, None, date.today())
        db.session.commit()
        if kind == "csv-published":
            # As the import page does after the commit: every published offering proposed in one batch.
            from matchmaker.services.matching import propose_for_offerings

            written = time.perf_counter()
            propose_for_offerings([o for o in created if o.status == "published"], user, date.today())
            db.session.commit()
            result["propose_s"] = round(time.perf_counter() - written, 2)
        done = time.perf_counter()
        result.update(rows=len(created), check_s=round(checked - start, 2), write_s=round(done - checked, 2))
        if kind == "csv-published":
            from sqlalchemy import func, select

            from matchmaker.models import Match

            result["proposals"] = db.session.scalar(select(func.count(Match.id)).where(Match.status == "proposed"))
            result["superseded"] = db.session.scalar(select(func.count(Match.id)).where(Match.status == "superseded"))
    else:
        from matchmaker.imports.iati_import import ImportOptions, import_activities, preview_file

        timings = []
        for _round in range(2):  # the second import of the same file updates every offering
            start = time.perf_counter()
            preview = preview_file(user, data, ImportOptions(), max_bytes=len(data) + 1)
            checked = time.perf_counter()
            assert preview.ok, preview.problems[:3]
            counts = import_activities(user, preview, date.today())
            db.session.commit()
            done = time.perf_counter()
            timings.append((round(checked - start, 2), round(done - checked, 2), counts))
        result.update(check_s=timings[0][0], write_s=timings[0][1], counts=timings[0][2],
                      reimport_check_s=timings[1][0], reimport_write_s=timings[1][1], reimport_counts=timings[1][2])
    result["total_s"] = round(result["check_s"] + result["write_s"], 2)
    result["peak_rss_mb"] = round(_rss_mb(), 1)
    return result


def _child(kind: str, size: int, database: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        url = database or f"sqlite:///{tmp}/bench.db"
        proc = subprocess.run([sys.executable, "-m", "benchmarks.imports", "--phase", kind, "--size", str(size),
                               "--database", url], capture_output=True, text=True, check=False,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-3000:])
        return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.imports")
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the CSV file")
    parser.add_argument("--activities", type=int, default=5_000, help="activities of the IATI file")
    parser.add_argument("--published", type=int, default=500, help="rows of a CSV whose offerings are published")
    parser.add_argument("--database", help="an empty database URL (default: a fresh SQLite file)")
    parser.add_argument("--phase", choices=["csv", "csv-published", "iati"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(args.phase, args.size, args.database)))
        return 0
    lines = [f"# Import benchmarks ({time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, python "
             f"{sys.version.split()[0]}, database: {args.database or 'SQLite file'})", ""]
    csv_result = _child("csv", args.rows, args.database)
    lines += [f"CSV, {csv_result['rows']:,} draft offerings ({csv_result['bytes'] / 1e6:.1f} MB): "
              f"check {csv_result['check_s']} s, write through the services {csv_result['write_s']} s, "
              f"total {csv_result['total_s']} s; "
              f"peak RSS {csv_result['peak_rss_mb']} MB (after set-up {csv_result['baseline_rss_mb']} MB)"]
    published = _child("csv-published", args.published, args.database)
    lines += [f"CSV, {published['rows']:,} offerings published on import, proposed to {OPEN_NEEDS} open needs in one "
              f"batch after the commit: check {published['check_s']} s, write {published['write_s']} s (of which "
              f"proposals {published['propose_s']} s: {published['proposals']} proposals, {published['superseded']} "
              f"superseded on the way), total "
              f"{published['total_s']} s; peak RSS {published['peak_rss_mb']} MB"]
    iati_result = _child("iati", args.activities, args.database)
    lines += [f"IATI, {args.activities:,} pipeline activities ({iati_result['bytes'] / 1e6:.1f} MB, schema-validated): "
              f"check {iati_result['check_s']} s, write {iati_result['write_s']} s {iati_result['counts']}, "
              f"total {iati_result['total_s']} s; re-import of the same file: "
              f"check {iati_result['reimport_check_s']} s, "
              f"write {iati_result['reimport_write_s']} s {iati_result['reimport_counts']}; peak RSS "
              f"{iati_result['peak_rss_mb']} MB (after set-up {iati_result['baseline_rss_mb']} MB)"]
    OUT.mkdir(exist_ok=True)
    (OUT / "imports.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
