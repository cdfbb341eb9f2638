"""Non-attribution attacked on a generated data set (and on the demo): the figures quoted in the closing notes.

    .venv/bin/python -m benchmarks.non_attribution [--needs 2000] [--seed 17] [--demo]

Builds a fresh SQLite database in a temporary folder: the reference members, an organisation with 60 offerings,
and ``--needs`` needs from the eligible members (LDCs twice as likely; text in French or Spanish where the member
uses it; delivery languages from the member's and English; 8 % chose to be named; most open, some submitted or
matched, with matches at every stage). Then, as the threat model's attackers (the same code as
tests/attacks/non_attribution.py, through the HTTP interface only):

1. a partner reads the list (every filter), the API and the exports, and counts for each anonymous need the
   eligible members that fit everything shown (and, when the service has the rules, those that the rules would
   describe the same way);
2. anyone reads the public report's CSV files and solves them by linear programming (the report's zero policy,
   integers), counting pinned cells and cells narrowed to 1..2;
3. anyone reads the report, a facilitator opens one need of the Solomon Islands, and they read it again (and
   after the next edition, when there are editions), counting cells whose change the subtraction shows.

Runs against whatever code is checked out, so the same command measures before and after a change. Results are
printed and written to benchmarks/out/non_attribution.md.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
AREAS = ("readiness", "ict_infrastructure", "trade_logistics", "payments", "e_transactions", "consumer_protection",
         "data_protection", "cybersecurity", "intellectual_property", "skills", "financing")
# A few words per policy area, so that the texts differ and themes can be found.
WORDS = {
    "readiness": "assessment strategy roadmap readiness diagnostic national plan",
    "ict_infrastructure": "broadband fibre connectivity rural towers spectrum internet",
    "trade_logistics": "customs parcels clearance single window postal logistics",
    "payments": "mobile money wallet payments cards merchants remittances",
    "e_transactions": "electronic signature law transactions certificates contracts",
    "consumer_protection": "consumers complaints refunds fraud online shoppers",
    "data_protection": "personal data privacy authority protection law",
    "cybersecurity": "cybercrime incident response team evidence prosecutors",
    "intellectual_property": "trademarks copyright patents brands counterfeit",
    "skills": "training digital skills young entrepreneurs courses",
    "financing": "credit loans investors start-ups guarantees funding",
}
STAGES = ("proposed", "proposed", "rejected", "approved", "accepted", "declined", "meeting_held", "completed")


def generate(count: int, seed: int) -> None:
    """The generated data set, written through the models (no engine run: proposals are drawn at random)."""
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import AuditEvent, Match, Member, Need, Offering, Organisation, User
    from matchmaker.services.accounts import hash_password
    from tests.attacks.non_attribution import public_members

    rnd = random.Random(seed)
    now = datetime.now(UTC)
    org = Organisation(name="Generated Partner", acronym="GEN", kind="intergovernmental")
    db.session.add(org)
    password = hash_password("demo-password-2026")
    db.session.add_all([User(email="facilitator@example.org", name="F", role="facilitator", password_hash=password,
                             language="en", active=True),
                        User(email="partner@example.org", name="P", role="partner", organisation=org,
                             password_hash=password, language="en", active=True)])
    offerings = [Offering(organisation=org, title=f"Programme {i}", description="Support " * 20, language="en",
                          policy_areas=[rnd.choice(AREAS)], support_kinds=["training"],
                          delivery_languages=["en", "fr", "es"], eligibility="all_developing", status="published",
                          capacity=None) for i in range(60)]
    db.session.add_all(offerings)
    members = [m for m in db.session.scalars(select(Member)) if m.is_developing]
    languages = {code: row["languages"] for code, row in public_members().items()}  # also before Member had them
    weights = [2 if m.is_ldc else 1 for m in members]
    needs = []
    for _ in range(count):
        member = rnd.choices(members, weights)[0]
        spoken = set(languages.get(member.code, ()))
        language = ("fr" if "fr" in spoken and rnd.random() < .6 else
                    "es" if "es" in spoken and rnd.random() < .7 else "en")
        delivery = {language}
        if rnd.random() < .5:
            delivery.add("en")
        if spoken - {language} and rnd.random() < .3:
            delivery.add(rnd.choice(sorted(spoken - {language})))
        if rnd.random() < .05:
            delivery.add(rnd.choice(("ar", "pt", "ru", "zh", "fr", "es")))
        status = rnd.choices(("open", "submitted", "matched", "draft"), (85, 5, 5, 5))[0]
        submitted = now - timedelta(days=rnd.randint(1, 700))
        areas = rnd.sample(AREAS, rnd.choice((1, 1, 2)))
        words = [w for a in areas for w in WORDS[a].split()]
        text = " ".join(rnd.choice(words) for _ in range(40))
        needs.append(Need(member=member, title=" ".join(rnd.sample(words, 4)), description=text,
                          language=language, policy_areas=areas,
                          support_kinds=["training"], delivery_languages=sorted(delivery), beneficiaries=[],
                          priority="medium", status=status, attributed=rnd.random() < .08,
                          submitted_at=submitted, created_at=submitted))
    solomon = db.session.scalar(select(Member).where(Member.code == "SB"))
    needs.append(Need(member=solomon, title="Rural connection costs", description="Connecting villages " * 5,
                      language="en", policy_areas=["ict_infrastructure"], support_kinds=["training"],
                      delivery_languages=["en"], beneficiaries=[], priority="high", status="submitted",
                      submitted_at=now, created_at=now))
    db.session.add_all(needs)
    db.session.flush()
    for need in needs:
        if need.status in ("open", "matched") and rnd.random() < .3:
            stage = rnd.choice(STAGES)
            created = need.submitted_at + timedelta(days=rnd.randint(1, 60))
            answer = "accepted" if stage in ("accepted", "meeting_held", "completed") else "pending"
            match = Match(need=need, offering=rnd.choice(offerings), status=stage, score=rnd.uniform(.1, .6),
                          text_score=.3, engine_version="generated", origin="engine", terms=[], shared_facets={},
                          created_at=created, need_response=answer, offering_response=answer,
                          need_responded_at=created + timedelta(days=5),
                          offering_responded_at=created + timedelta(days=6))
            db.session.add(match)
            db.session.flush()
            if stage not in ("proposed", "rejected"):
                db.session.add(AuditEvent(action="match.approve", object_type="match", object_id=match.id,
                                          at=created + timedelta(days=2)))
    db.session.commit()


def crawl_counts(app) -> dict:
    """Attack 1: the partner's reading of every anonymous need, through the list's filters and the JSON export."""
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import User
    from tests.attacks.non_attribution import DEMO_PASSWORD, Reading, Shown, anonymous_needs, public_members
    from tests.helpers import signed_in_client

    partner = db.session.scalar(select(User).where(User.email == "partner@example.org"))
    reading = Reading(signed_in_client(app, "partner@example.org", DEMO_PASSWORD))
    reading.filters()
    reading.export_json()
    members = public_members()
    counts = []
    for need in anonymous_needs(partner):
        seen = reading.shown.get(need.id, Shown())
        counts.append(0 if seen.names else len(seen.fitting(members)))
    rules = _rule_counts(partner)
    return {"anonymous": len(counts), "under3": sum(1 for c in counts if c < 3),
            "ones": sum(1 for c in counts if c <= 1),
            "min": min(counts), "median": statistics.median(counts),
            "rules_under3": sum(1 for c in rules if c < 3) if rules else None,
            "rules_min": min(rules) if rules else None}


def _rule_counts(partner) -> list[int]:
    """For each anonymous need, how many members the service's rules say fit what is shown (none before the rules
    existed: the benchmark also runs against older revisions)."""
    from tests.attacks.non_attribution import anonymous_needs

    try:
        from matchmaker.services import anonymity
    except ImportError:
        return []
    population = anonymity.population()
    rules = []
    for need in anonymous_needs(partner):
        view = anonymity.shown(need.member_id, need.language, need.delivery_languages)
        rules.append(len(population.candidates(view.origin, view.signature)))
    return rules


def lp_attack(app) -> dict:
    """Attack 2: the public report solved by linear programming."""
    from tests.attacks.non_attribution import attack_report, publish, read_report

    started = time.perf_counter()
    status = publish(app).status_code
    seconds = time.perf_counter() - started
    reader = app.test_client()
    tables = read_report(reader)
    suppressed = sum(t.count("suppressed") for t in tables.values())
    exposed = attack_report(reader, tables)
    return {"edition": status == 302, "publish_seconds": round(seconds, 2), "suppressed": suppressed,
            "pinned": sum(1 for v in exposed.values() if v.startswith("pinned")),
            "narrowed": sum(1 for v in exposed.values() if v.startswith("narrowed"))}


def differencing(app) -> dict:
    """Attack 3: two readings around one need of the Solomon Islands opened."""
    import re

    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Need
    from tests.attacks.non_attribution import DEMO_PASSWORD, changed_cells, publish, read_report
    from tests.helpers import signed_in_client

    reader = app.test_client()
    first = read_report(reader)
    need = db.session.scalar(select(Need).where(Need.status == "submitted", Need.member.has(code="SB")))
    facilitator = signed_in_client(app, "facilitator@example.org", DEMO_PASSWORD)
    page = facilitator.get(f"/needs/{need.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    facilitator.post(f"/needs/{need.id}/open", data={"csrf_token": token})
    second = read_report(reader)
    moved_now = changed_cells(first, second)
    result = {"moved_without_edition": len(moved_now),
              "moved_cells": sorted(f"{k[0]}: {k[1]} / {k[2]}" for k in moved_now)[:6]}
    if publish(app).status_code == 302:
        third = read_report(reader)
        result["moved_after_next_edition"] = len(changed_cells(first, third))
    return result


def run(needs: int, seed: int, demo: bool) -> dict:
    from flask_migrate import upgrade

    from matchmaker.app import create_app
    from matchmaker.extensions import db
    from matchmaker.services.reference import load_members

    folder = Path(tempfile.mkdtemp(prefix="nonattr-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}", "REPORT_CACHE_SECONDS": 0})
    with app.app_context():
        upgrade()
        load_members()
        db.session.commit()
        if demo:
            from matchmaker.services.demo import seed_demo
            from matchmaker.services.matching import run_matching

            seed_demo()
            run_matching(None)
            db.session.commit()
        else:
            generate(needs, seed)
        figures = {"data": "demo" if demo else f"generated, {needs + 1} needs, seed {seed}"}
        figures["partner"] = crawl_counts(app)
        figures["report"] = lp_attack(app)
        figures["differencing"] = differencing(app)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--needs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--demo", action="store_true", help="attack the demo data instead")
    args = parser.parse_args()
    figures = run(args.needs, args.seed, args.demo)
    lines = [f"# Non-attribution attacks ({figures['data']})", ""]
    for section in ("partner", "report", "differencing"):
        lines.append(f"- {section}: " + ", ".join(f"{k} = {v}" for k, v in figures[section].items()))
    text = "\n".join(lines)
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / ("non_attribution_demo.md" if args.demo else "non_attribution.md")).write_text(text + "\n")


if __name__ == "__main__":
    main()
