"""`python -m benchmarks.proposals [--against REV]`: can a facilitator trust the proposals? Measured through the
service on the demo data (issue 20's scenario) and on the devset, for this checkout and, with --against, for a git
revision, in one run (results also in benchmarks/out/proposals.md).

Demo scenario: `flask seed-demo` (which runs matching), then a French data-protection need of Benin is submitted and
opened, a facilitator runs matching for all open needs, re-runs it in the same worker, then in a worker whose index is
fitted afresh (another gunicorn worker), rejects every pending proposal of three needs and runs once more. Devset: its
66 needs and 48 offerings as open needs and published programmes (evaluation date 2026-11-23), a full run, the same
re-runs. Figures:

* needs without proposal, as the run counts them and as their pages do (no match pending, approved or further on);
* needs without any candidate shown (no proposal and no near miss on the page), all and LDCs';
* proposals changed by an unchanged re-run (a pair's status or stored score written again), same worker / fresh index;
* offerings never proposed because of pending proposals: (need, offering) pairs among a need's best eligible candidates
  above the threshold (MATCH_PER_NEED, with a place left after commitments, pair not decided) left unproposed while
  other needs' pending proposals fill the offering's places;
* runs whose finished_at is earlier than their started_at;
* explanation terms absent from either text: labels of pending proposals' terms (concepts and "N other terms" aside)
  that are not words of both texts, by word or by stem in the text's language ("a / b": one in each);
* devset: proposals relevant (grade >= 2), needs with a relevant programme among what their page shows.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import date
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out"
DEVSET = REPO / "benchmarks" / "devset"
EVAL_DATE = date(2026, 11, 23)
BENIN_NEED = dict(
    title="Protection des données personnelles : réviser la loi et renforcer l'autorité de contrôle",
    description="Le Bénin a adopté une loi sur la protection des données personnelles, mais l'autorité de contrôle "
                "manque de moyens : peu d'agents formés, pas de procédure de plainte, aucune règle claire pour les "
                "transferts de données à l'étranger. Nous souhaitons un appui juridique pour réviser la loi et une "
                "formation du personnel de l'autorité.",
    language="fr", policy_areas=["data_protection"], support_kinds=["legal_advice", "training"],
    delivery_languages=["fr"], priority="high")


# ----------------------------------------------------------------------------- one phase, in its own process
def _app(database: str):
    from flask_migrate import upgrade

    from matchmaker.app import create_app
    from matchmaker.services.reference import load_members

    app = create_app({"SQLALCHEMY_DATABASE_URI": database})
    app.test_request_context().push()
    upgrade()
    load_members()
    return app


def _state() -> dict:
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Match

    return {(m.need_id, m.offering_id): (m.status, m.score) for m in db.session.scalars(select(Match))}


def _changed(before: dict, after: dict) -> tuple[int, int]:
    """(pairs whose status changed or that were newly proposed, pending proposals only re-scored)."""
    status = sum(1 for key, (state, _score) in after.items() if before.get(key, (None,))[0] != state)
    scores = sum(1 for key, (state, score) in after.items()
                 if key in before and before[key][0] == state == "proposed" and before[key][1] != score)
    return status, scores


def _run(actor, today):
    from matchmaker.extensions import db
    from matchmaker.services import matching

    result = matching.run_matching(actor, today=today)
    db.session.commit()
    return result


def _held_off(today) -> tuple[int, int]:
    """(pairs, offerings) among needs' best eligible candidates left unproposed while pending proposals fill the
    offering's places (the figure is computed the same way for every version of the service)."""
    from flask import current_app
    from sqlalchemy import func, select

    from matchmaker.extensions import db
    from matchmaker.models import Match, Need
    from matchmaker.services import matching

    threshold, per_need = current_app.config["MATCH_THRESHOLD"], current_app.config["MATCH_PER_NEED"]
    engine = matching.INDEX.current(today)
    pending = dict(db.session.execute(select(Match.offering_id, func.count(Match.id))
                                      .where(Match.status == "proposed").group_by(Match.offering_id)).all())
    pairs, offerings = 0, set()
    for need in db.session.scalars(select(Need).where(Need.status == "open").order_by(Need.id)):
        existing = {m.offering_id: m for m in db.session.scalars(select(Match).where(Match.need_id == need.id))}
        ranking = engine.propose_for_need(matching.need_record(need), k=50, today=today).proposals
        room = matching.capacity_left([p.offering_id for p in ranking])
        best = [p for p in ranking if p.score >= threshold and (room.get(p.offering_id) is None
                                                                or room[p.offering_id] > 0)
                and (p.offering_id not in existing or existing[p.offering_id].status in ("proposed", "superseded"))]
        for p in best[:per_need]:
            mine = existing.get(p.offering_id)
            others = pending.get(p.offering_id, 0) - (1 if mine is not None and mine.status == "proposed" else 0)
            left = room.get(p.offering_id)
            if (mine is None or mine.status != "proposed") and left is not None and others >= left:
                pairs += 1
                offerings.add(p.offering_id)
    return pairs, len(offerings)


def _shown(today, qrels: dict | None = None) -> dict:
    """What the need pages show: needs without proposal, without any candidate, and (devset) relevant ones."""
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Match, Need
    from matchmaker.models.matches import CAPACITY_STATUSES
    from matchmaker.services.diagnosis import diagnose

    out = {"open": 0, "open_ldc": 0, "without_proposal": 0, "without_proposal_ldc": 0, "nothing_shown": 0,
           "nothing_shown_ldc": 0, "near_misses": 0, "relevant_shown": 0, "judged": 0}
    for need in db.session.scalars(select(Need).where(Need.status == "open").order_by(Need.id)):
        ldc = need.member.is_ldc
        live = [m.offering_id for m in db.session.scalars(select(Match).where(
            Match.need_id == need.id, Match.status.in_(("proposed", *CAPACITY_STATUSES))))]
        out["open"] += 1
        out["open_ldc"] += ldc
        shown = list(live)
        if not live:
            out["without_proposal"] += 1
            out["without_proposal_ldc"] += ldc
            near = [n.offering.id for n in getattr(diagnose(need, today), "near_misses", [])]
            out["near_misses"] += len(near)
            shown += near
            if not near:
                out["nothing_shown"] += 1
                out["nothing_shown_ldc"] += ldc
        if qrels is not None:
            grades = qrels.get(need.title, {})
            if any(g >= 2 for g in grades.values()):
                out["judged"] += 1
                titles = {o.id: o.title for o in _offerings(shown)}
                out["relevant_shown"] += any(grades.get(titles[o], 0) >= 2 for o in shown)
    return out


def _absent_terms() -> tuple[int, int, int]:
    """(terms absent from either text, terms listed, proposals with one) over the pending proposals."""
    from sqlalchemy import select

    from matchmaker.engine.tokens import lowered_words, stemmer
    from matchmaker.extensions import db
    from matchmaker.models import Match

    def side(lang, *texts):
        found = {w for t in texts for w in lowered_words(t or "")}
        return lambda ws: bool(ws) and all(w in found or stemmer(lang)(w) in {stemmer(lang)(f) for f in found}
                                           for w in ws)

    absent = listed = proposals = 0
    for match in db.session.scalars(select(Match).where(Match.status == "proposed", Match.origin == "engine")):
        need, offering = match.need, match.offering
        in_need = side(need.language, need.title, need.description)
        in_offering = side(offering.language, offering.title, offering.description)
        bad = 0
        for label, _share in match.terms or []:
            if label.endswith(" other terms") or label.startswith("concept: "):
                continue
            listed += 1
            parts = [lowered_words(p) for p in label.split(" / ")]
            a, b = parts[0], parts[-1]
            bad += not ((in_need(a) and in_offering(b)) or (in_need(b) and in_offering(a)))
        absent += bad
        proposals += bad > 0
    return absent, listed, proposals


def _offerings(ids):
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Offering

    return db.session.scalars(select(Offering).where(Offering.id.in_(ids))).all() if ids else []


def _times_out_of_order() -> int:
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import MatchingRun

    return sum(1 for run in db.session.scalars(select(MatchingRun)) if run.finished_at < run.started_at)


def _reruns(facilitator, today, figures: dict) -> None:
    """An unchanged re-run in the same worker, then in a worker whose index is fitted afresh."""
    from matchmaker.services import matching

    before = _state()
    _run(facilitator, today)
    figures["rerun_changed_same_worker"] = _changed(before, _state())
    before = _state()
    matching.INDEX.reset()
    _run(facilitator, today)
    figures["rerun_changed_fresh_index"] = _changed(before, _state())


def _reject_then_rerun(facilitator, today, figures: dict) -> None:
    """Every pending proposal of three needs rejected, then a run: does the run's count agree with the pages?"""
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Match
    from matchmaker.services import matches as match_service

    needs = sorted({m.need_id for m in db.session.scalars(select(Match).where(Match.status == "proposed"))})[:3]
    for match in db.session.scalars(select(Match).where(Match.status == "proposed", Match.need_id.in_(needs))):
        match_service.reject(facilitator, match, "Benchmark: not a fit")
    db.session.commit()
    result = _run(facilitator, today)
    shown = _shown(today)
    figures["after_rejections_run_says"] = len(result.without_proposal)
    figures["after_rejections_pages_say"] = shown["without_proposal"]


def phase_demo(database: str) -> dict:
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Match, Member, Need, Offering, User
    from matchmaker.services import needs as needs_service
    from matchmaker.services.demo import seed_demo
    from matchmaker.services.diagnosis import diagnose

    today = date.today()
    _app(database)
    seed_demo()
    db.session.commit()
    _run(None, today)                                   # what `flask seed-demo` does
    facilitator = db.session.scalar(select(User).where(User.email == "facilitator@example.org"))
    benin = Need(member=db.session.scalar(select(Member).where(Member.code == "BJ")), status="submitted",
                 **BENIN_NEED)
    db.session.add(benin)
    db.session.commit()
    needs_service.transition(facilitator, benin, "open")
    db.session.commit()
    run = _run(facilitator, today)
    figures = {"run_says": len(run.without_proposal)}
    figures.update(_shown(today))
    pairs, offerings = _held_off(today)
    figures.update(held_off_pairs=pairs, held_off_offerings=offerings)
    coe = db.session.scalar(select(Offering.id).where(Offering.title.like("Data protection laws%")))
    figures["coe_proposed_to_benin"] = bool(db.session.scalar(select(Match.id).where(
        Match.need_id == benin.id, Match.offering_id == coe, Match.status == "proposed")))
    for code in ("HT", "JM"):
        need = db.session.scalar(select(Need).join(Member).where(Member.code == code, Need.status == "open"))
        if need is not None:
            live = db.session.scalar(select(Match.id).where(Match.need_id == need.id, Match.status == "proposed"))
            near = getattr(diagnose(need, today), "near_misses", []) if live is None else []
            figures[f"{code}_shown"] = "proposal" if live else ", ".join(
                f"{n.offering.organisation.acronym} {n.score:.2f}" for n in near) or "nothing"
    figures["absent_terms"] = _absent_terms()
    _reruns(facilitator, today, figures)
    _reject_then_rerun(facilitator, today, figures)
    figures["runs_out_of_order"] = _times_out_of_order()
    return figures


def _load_devset() -> dict:
    """The devset as open needs and published programmes; returns the grades by need title and offering title."""
    from datetime import timedelta

    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Member, Need, Offering, Organisation
    from matchmaker.models.base import utcnow

    needs = [json.loads(line) for line in (DEVSET / "needs.jsonl").read_text(encoding="utf-8").splitlines() if line]
    offerings = [json.loads(line) for line in (DEVSET / "offerings.jsonl").read_text(encoding="utf-8").splitlines()
                 if line]
    org = Organisation(name="Devset partners", acronym="DEV", kind="intergovernmental")
    db.session.add(org)
    members = {m.code: m for m in db.session.scalars(select(Member))}
    for o in offerings:
        db.session.add(Offering(
            organisation=org, title=o["title"], description=o["description"], language=o["language"],
            policy_areas=o["policy_areas"], support_kinds=o["support_kinds"],
            delivery_languages=o["delivery_languages"], eligibility=o["eligibility"],
            eligible_regions=o.get("eligible_regions") or [], eligible_members=o.get("eligible_members") or [],
            capacity=o.get("capacity_left"), status="published", published_at=utcnow(),
            deadline=date.fromisoformat(o["deadline"]) if o.get("deadline") else EVAL_DATE + timedelta(days=365)))
    for n in needs:
        db.session.add(Need(member=members[n["member"]], title=n["title"], description=n["description"],
                            language=n["language"], policy_areas=n["policy_areas"], support_kinds=n["support_kinds"],
                            delivery_languages=n["delivery_languages"], priority="medium", status="open",
                            submitted_at=utcnow(), opened_at=utcnow()))
    db.session.commit()
    titles_n = {n["id"]: n["title"] for n in needs}
    titles_o = {o["id"]: o["title"] for o in offerings}
    grades: dict[str, dict[str, int]] = {}
    for line in (DEVSET / "qrels.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        need_id, offering_id, grade = line.split("\t")
        grades.setdefault(titles_n[need_id], {})[titles_o[offering_id]] = int(grade)
    return grades


def phase_devset(database: str) -> dict:
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import Match
    from matchmaker.services.accounts import hash_password

    _app(database)
    grades = _load_devset()
    from matchmaker.models import User

    facilitator = User(email="facilitator@example.org", name="Facilitator", role="facilitator", active=True,
                       password_hash=hash_password("devset-benchmark"))
    db.session.add(facilitator)
    db.session.commit()
    run = _run(facilitator, EVAL_DATE)
    figures = {"run_says": len(run.without_proposal)}
    figures.update(_shown(EVAL_DATE, grades))
    pairs, offerings = _held_off(EVAL_DATE)
    figures.update(held_off_pairs=pairs, held_off_offerings=offerings)
    proposals = db.session.scalars(select(Match).where(Match.status == "proposed")).all()
    figures["proposals"] = len(proposals)
    figures["proposals_relevant"] = sum(1 for m in proposals
                                        if grades.get(m.need.title, {}).get(m.offering.title, 0) >= 2)
    figures["absent_terms"] = _absent_terms()
    _reruns(facilitator, EVAL_DATE, figures)
    figures["runs_out_of_order"] = _times_out_of_order()
    return figures


# ----------------------------------------------------------------------------- the table
ROWS = [
    ("needs without proposal: the run says / the pages say", lambda f: f"{f['run_says']} / {f['without_proposal']}"),
    ("… after rejecting every proposal of 3 needs: the run says / the pages say",
     lambda f: f"{f['after_rejections_run_says']} / {f['after_rejections_pages_say']}"
     if "after_rejections_run_says" in f else "–"),
    ("needs without any candidate shown: all (of open needs)", lambda f: f"{f['nothing_shown']} (of {f['open']})"),
    ("needs without any candidate shown: LDCs' (of LDCs' open needs)",
     lambda f: f"{f['nothing_shown_ldc']} (of {f['open_ldc']})"),
    ("near misses shown on pages of needs without proposal", lambda f: str(f["near_misses"])),
    ("proposals changed by an unchanged re-run, same worker: status (re-scored only)",
     lambda f: "{} ({})".format(*f["rerun_changed_same_worker"])),
    ("proposals changed by an unchanged re-run, fresh index: status (re-scored only)",
     lambda f: "{} ({})".format(*f["rerun_changed_fresh_index"])),
    ("best candidates never proposed because of pending proposals: pairs (offerings)",
     lambda f: f"{f['held_off_pairs']} ({f['held_off_offerings']})"),
    ("Council of Europe's data protection programme proposed to Benin's French need",
     lambda f: ("yes" if f["coe_proposed_to_benin"] else "no") if "coe_proposed_to_benin" in f else "–"),
    ("Haiti's need (LDC): shown", lambda f: f.get("HT_shown", "–")),
    ("Jamaica's need: shown", lambda f: f.get("JM_shown", "–")),
    ("proposals relevant (grade ≥ 2)",
     lambda f: f"{f['proposals_relevant']} of {f['proposals']}" if "proposals" in f else "–"),
    ("needs with a relevant programme shown (of needs with one judged)",
     lambda f: f"{f['relevant_shown']} (of {f['judged']})" if f.get("judged") else "–"),
    ("runs whose finished_at is before started_at", lambda f: str(f["runs_out_of_order"])),
    ("explanation terms absent from either text: terms (of terms listed; proposals with one)",
     lambda f: "{} (of {}; {})".format(*f["absent_terms"])),
]


def _phase(code: Path, name: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(code), "PYTHONWARNINGS": "ignore"}
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--phase", name,
                               "--database", f"sqlite:///{tmp}/proposals.db"],
                              capture_output=True, text=True, check=False, cwd=tmp, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{name} phase failed ({code}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _export(revision: str, into: Path) -> None:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.proposals")
    parser.add_argument("--against", help="a git revision to measure too, e.g. main (its code, these figures)")
    parser.add_argument("--phase", choices=["demo", "devset"], help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps({"demo": phase_demo, "devset": phase_devset}[args.phase](args.database)))
        return 0
    versions: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = [(args.against, Path(tmp))] if args.against else []
        if args.against:
            _export(args.against, Path(tmp))
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=False).stdout.strip()
        trees.append((f"this checkout ({head}{', modified' if dirty else ''})", REPO))
        for label, code in trees:
            versions[label] = {name: _phase(code, name) for name in ("demo", "devset")}
    labels = list(versions)
    lines = [f"# Proposals a facilitator can trust ({time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, python "
             f"{sys.version.split()[0]}, SQLite)", ""]
    for data in ("demo", "devset"):
        lines += [f"## {'Demo data, issue 20 scenario' if data == 'demo' else 'Devset (2026-11-23)'}", "",
                  "| figure | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        lines += [f"| {title} | " + " | ".join(cell(versions[label][data]) for label in labels) + " |"
                  for title, cell in ROWS]
        lines.append("")
    OUT.mkdir(exist_ok=True)
    (OUT / "proposals.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
