"""`python -m benchmarks.dashboard [--needs N] [--database URL]`: how long the facilitators' dashboard and the
public report take to compute and to render, on the demo data and on a large synthetic data set (results also
in benchmarks/out/dashboard.md).

Each figure is the median of a few runs: "build" is the report computed from the database (queries, tables,
suppression, NMF themes; the texts' analysis and the last clustering are kept between builds while the open
needs do not change, "from scratch" forgets them), "page" a full GET through Flask (build + template + charts),
"cached page" the same GET when the data have not changed (REPORT_CACHE_SECONDS), "CSV" one table's export.
"""
from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
AREAS = ["readiness", "ict_infrastructure", "trade_logistics", "payments", "e_transactions", "consumer_protection",
         "data_protection", "cybersecurity", "intellectual_property", "skills", "financing"]
# Ten subjects, each a few sentences in the three languages: the texts the themes are found in.
SUBJECTS = [
    ("e_transactions", "Electronic signatures law", "draft a law on electronic signatures and electronic transactions",
     "loi sur la signature électronique et les transactions électroniques",
     "ley de firma electrónica y transacciones electrónicas"),
    ("payments", "Mobile money for merchants", "help merchants accept mobile money and digital payments",
     "aider les commerçants à accepter le paiement mobile", "ayudar a los comerciantes a aceptar pagos móviles"),
    ("trade_logistics", "Paperless customs", "customs single window and paperless clearance of small parcels",
     "guichet unique douanier et dédouanement sans papier des colis",
     "ventanilla única aduanera y despacho sin papel de paquetes"),
    ("data_protection", "Personal data protection", "personal data protection law and a privacy authority",
     "loi sur la protection des données personnelles", "ley de protección de datos personales"),
    ("cybersecurity", "Cybercrime legislation", "cybercrime legislation and training for prosecutors on evidence",
     "législation sur la cybercriminalité et formation des procureurs",
     "legislación sobre ciberdelincuencia y formación de fiscales"),
    ("consumer_protection", "Online consumer protection", "protect consumers buying online, complaints and redress",
     "protection des consommateurs en ligne et règlement des litiges",
     "protección de los consumidores en línea y reclamaciones"),
    ("skills", "Digital skills for women", "digital skills training for women entrepreneurs and young people",
     "formation aux compétences numériques pour les femmes entrepreneures",
     "formación en competencias digitales para mujeres empresarias"),
    ("ict_infrastructure", "Rural broadband", "rural broadband, internet access and affordable connectivity",
     "haut débit rural et accès à internet abordable", "banda ancha rural y acceso asequible a internet"),
    ("readiness", "E-commerce strategy", "national e-commerce strategy and readiness assessment",
     "stratégie nationale de commerce électronique et évaluation", "estrategia nacional de comercio electrónico"),
    ("financing", "Financing digital start-ups", "access to finance for digital start-ups and small firms",
     "accès au financement pour les jeunes pousses numériques",
     "acceso a financiación para empresas emergentes digitales"),
]


def _app(database: str):
    from flask_migrate import upgrade

    from matchmaker.app import create_app
    from matchmaker.services.reference import load_members

    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "WTF_CSRF_ENABLED": False, "REPORT_CACHE_SECONDS": 0})
    with app.app_context():
        upgrade()
        load_members()
        from matchmaker.extensions import db

        db.session.commit()
    return app


def _median_seconds(work, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def seed_demo_activity(app) -> dict:
    """The demo data, one matching run, and the best 25 proposals approved (as a facilitator would)."""
    from sqlalchemy import select

    from matchmaker.errors import DomainError
    from matchmaker.extensions import db
    from matchmaker.models import Match, User
    from matchmaker.services import matches as match_service
    from matchmaker.services import matching
    from matchmaker.services.demo import seed_demo

    with app.test_request_context():
        added = seed_demo()
        db.session.commit()
        facilitator = db.session.scalar(select(User).where(User.role == "facilitator"))
        matching.run_matching(facilitator)
        db.session.commit()
        for match in db.session.scalars(select(Match).where(Match.status == "proposed")
                                        .order_by(Match.score.desc()).limit(25)).all():
            try:
                with db.session.begin_nested():
                    match_service.approve(facilitator, match)
            except DomainError:
                pass
        db.session.commit()
        return {"needs": added["needs"], "offerings": added["offerings"],
                "matches": db.session.query(Match).count()}


def seed_synthetic(app, needs: int, seed: int = 7) -> dict:
    """``needs`` needs from 120 members over two years, a fifth as many offerings, about three matches per need
    with their approvals, answers and completions (audit events included), written in bulk."""
    from sqlalchemy import insert, select

    from matchmaker.extensions import db
    from matchmaker.models import AuditEvent, Match, Member, Need, Offering, Organisation, User
    from matchmaker.services.accounts import hash_password

    rng = random.Random(seed)
    start = datetime(2024, 11, 1, tzinfo=UTC)
    with app.app_context():
        members = db.session.scalars(select(Member).where(Member.is_developing.is_(True))).all()[:120]
        orgs = [Organisation(name=f"Bench organisation {i}", acronym=f"BO{i}", kind="intergovernmental")
                for i in range(20)]
        db.session.add_all(orgs)
        db.session.add(User(email="facilitator@bench.example", name="Bench Facilitator", role="facilitator",
                            password_hash=hash_password("bench-password-2026"), language="en", active=True))
        db.session.flush()
        need_rows = []
        for i in range(needs):
            area, title, en, fr, es = SUBJECTS[i % len(SUBJECTS)]
            lang = ("en", "en", "fr", "es")[i % 4]
            text = {"en": en, "fr": fr, "es": es}[lang]
            submitted = start + timedelta(days=rng.randrange(700))
            status = rng.choices(["open", "matched", "in_progress", "fulfilled", "submitted", "draft"],
                                 [50, 15, 10, 10, 10, 5])[0]
            need_rows.append(dict(
                member_id=members[rng.randrange(len(members))].id, title=f"{title} ({i})",
                description=f"{text}. " * 3 + f"Reference {i}.", language=lang,
                policy_areas=[area] + ([AREAS[rng.randrange(11)]] if rng.random() < 0.3 else []),
                support_kinds=["technical_assistance"], delivery_languages=[lang], beneficiaries=[],
                priority="medium", status=status, attributed=False, submitted_at=submitted, opened_at=submitted,
                created_at=submitted, updated_at=submitted, version=1))
        db.session.execute(insert(Need), need_rows)
        offering_rows = []
        for i in range(max(needs // 5, 10)):
            area, title, en, _fr, _es = SUBJECTS[i % len(SUBJECTS)]
            published = start + timedelta(days=rng.randrange(700))
            offering_rows.append(dict(
                organisation_id=orgs[i % len(orgs)].id, title=f"Programme: {title} ({i})", description=en,
                language="en", policy_areas=[area], support_kinds=["training"], delivery_languages=["en", "fr", "es"],
                beneficiaries=[], eligibility="all_developing", eligible_regions=[], eligible_members=[],
                capacity=50, status="published", published_at=published, created_at=published,
                updated_at=published, version=1))
        db.session.execute(insert(Offering), offering_rows)
        db.session.flush()
        need_ids = db.session.execute(select(Need.id, Need.status, Need.submitted_at)
                                      .where(Need.status != "draft")).all()
        offering_ids = db.session.scalars(select(Offering.id)).all()
        match_rows, plans = [], []
        for need_id, _status, submitted in need_ids:
            for offering_id in rng.sample(offering_ids, 3):
                created = submitted + timedelta(days=rng.randrange(1, 30))
                fate = rng.choices(["proposed", "approved", "accepted", "completed", "rejected", "superseded"],
                                   [40, 15, 15, 10, 10, 10])[0]
                approved = created + timedelta(days=rng.randrange(1, 20))
                answered = approved + timedelta(days=rng.randrange(1, 15))
                both = fate in ("accepted", "completed")
                match_rows.append(dict(
                    need_id=need_id, offering_id=offering_id, score=round(rng.uniform(0.05, 0.9), 3),
                    text_score=0.5, engine_version="bench", origin="engine", terms=[], shared_facets={},
                    status=fate, need_response="accepted" if both else "pending",
                    offering_response="accepted" if both else "pending",
                    need_responded_at=answered if both else None, offering_responded_at=answered if both else None,
                    created_at=created, updated_at=created, version=1, decided_at=approved))
                plans.append((fate, approved, answered + timedelta(days=rng.randrange(30, 120))))
        db.session.execute(insert(Match), match_rows)
        ids = db.session.scalars(select(Match.id).order_by(Match.id)).all()
        events = []
        for match_id, (fate, approved, completed) in zip(ids, plans, strict=True):
            if fate in ("approved", "accepted", "completed"):
                events.append(dict(action="match.approve", object_type="match", object_id=match_id, at=approved,
                                   detail={}))
            if fate == "completed":
                events.append(dict(action="match.complete", object_type="match", object_id=match_id, at=completed,
                                   detail={}))
        db.session.execute(insert(AuditEvent), events)
        db.session.commit()
        return {"needs": needs, "offerings": len(offering_rows), "matches": len(match_rows),
                "audit events": len(events)}


def measure_all(app, label: str, runs: int, facilitator_email: str, password: str) -> list[str]:
    from matchmaker.extensions import db
    from matchmaker.services import themes
    from matchmaker.services.reports import build_report

    def from_scratch():
        themes._LAST.clear()
        themes._analysed.cache_clear()
        build_report(False)

    rows = []
    with app.app_context():
        build_report(False)
        seconds = _median_seconds(from_scratch, runs)
        rows.append(f"| {label} | build, dashboard, from scratch (texts analysed and clustered again) | "
                    f"{seconds * 1000:.0f} ms | |")
        for public in (False, True):
            build_report(public)  # warm-up: imports, first queries
            seconds = _median_seconds(lambda public=public: build_report(public), runs)
            report = build_report(public)
            suppressed = sum(len(t.suppressed) for t in report.tables.values())
            rows.append(f"| {label} | build, {'public' if public else 'dashboard'} | {seconds * 1000:.0f} ms | "
                        f"{len(report.themes)} themes, {suppressed} cells suppressed |")
        db.session.remove()
    client = app.test_client()
    client.post("/login", data={"email": facilitator_email, "password": password})
    anonymous = app.test_client()
    for name, who, path in (("dashboard page", client, "/dashboard/"), ("public page", anonymous, "/reports/"),
                            ("dashboard CSV (themes)", client, "/dashboard/themes.csv"),
                            ("public CSV (demand table)", anonymous, "/reports/needs_by_area_region.csv")):
        response = who.get(path)
        assert response.status_code == 200, (path, response.status_code)
        seconds = _median_seconds(lambda who=who, path=path: who.get(path), runs)
        rows.append(f"| {label} | {name} | {seconds * 1000:.0f} ms | {len(response.data) / 1024:.0f} KB |")
    app.config["REPORT_CACHE_SECONDS"] = 300
    for name, who, path in (("dashboard page, cached", client, "/dashboard/"),
                            ("public page, cached", anonymous, "/reports/")):
        who.get(path)
        seconds = _median_seconds(lambda who=who, path=path: who.get(path), runs)
        rows.append(f"| {label} | {name} | {seconds * 1000:.0f} ms | |")
    app.config["REPORT_CACHE_SECONDS"] = 0
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard")
    parser.add_argument("--needs", type=int, default=5_000, help="needs in the synthetic data set")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the median is reported)")
    parser.add_argument("--database", help="an empty database URL for the synthetic set (default: SQLite file)")
    args = parser.parse_args(argv)
    lines = [f"# Dashboard and report benchmarks ({time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, "
             f"python {sys.version.split()[0]}, database: {args.database or 'SQLite file'})", ""]
    lines += run(args.needs, args.runs, args.database)
    OUT.mkdir(exist_ok=True)
    (OUT / "dashboard.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


def run(needs: int = 5_000, runs: int = 3, database: str | None = None) -> list[str]:
    """The table of figures, as markdown lines: the demo data, then ``needs`` synthetic needs."""
    lines = ["| data | what | median | notes |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        demo = _app(f"sqlite:///{tmp}/demo.db")
        counts = seed_demo_activity(demo)
        lines += measure_all(demo, f"demo ({counts['needs']} needs, {counts['matches']} matches)", runs,
                             "facilitator@example.org", "demo-password-2026")
        big = _app(database or f"sqlite:///{tmp}/big.db")
        started = time.perf_counter()
        counts = seed_synthetic(big, needs)
        print(f"synthetic data: {counts} written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        lines += measure_all(big, f"synthetic ({counts['needs']:,} needs, {counts['matches']:,} matches)",
                             runs, "facilitator@bench.example", "bench-password-2026")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
