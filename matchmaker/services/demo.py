"""Demo content for `flask seed-demo`: organisations, one user per role, needs and offerings."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import Member, Need, Offering, Organisation, User
from matchmaker.models.base import utcnow
from matchmaker.services.accounts import hash_password
from matchmaker.services.audit import record
from matchmaker.services.reference import load_members

DEMO_JSON = Path(__file__).resolve().parent.parent / "data" / "demo.json"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  # demo accounts, printed by `make run` on purpose  # nosec B105
DEMO_USERS = (
    # e-mail, name, role, member code, organisation acronym, language
    ("admin@example.org", "Ada Admin", "admin", None, None, "en"),
    ("facilitator@example.org", "Farida Facilitator", "facilitator", None, None, "en"),
    ("delegate@example.org", "Didier Délégué", "delegate", "BJ", None, "fr"),
    ("partner@example.org", "Paula Partner", "partner", None, "ITC", "en"),
)


def seed_demo(today: date | None = None, path: Path = DEMO_JSON) -> dict[str, int]:
    """Load the demo once; a second run adds nothing. Returns what was added."""
    today = today or date.today()
    load_members()
    data = json.loads(path.read_text(encoding="utf-8"))
    members = {m.code: m for m in db.session.scalars(select(Member))}
    orgs = {o.acronym: o for o in db.session.scalars(select(Organisation))}
    added = {"organisations": 0, "users": 0, "offerings": 0, "needs": 0}

    for item in data["organisations"]:
        if item["acronym"] not in orgs:
            org = Organisation(name=item["name"], acronym=item["acronym"], kind=item["kind"], website=item.get("website"))
            db.session.add(org)
            orgs[org.acronym] = org
            added["organisations"] += 1
    db.session.flush()

    users = {u.email: u for u in db.session.scalars(select(User))}
    for email, name, role, member_code, acronym, language in DEMO_USERS:
        if email in users:
            continue
        user = User(email=email, name=name, role=role, language=language, active=True,
                    member=members.get(member_code) if member_code else None,
                    organisation=orgs.get(acronym) if acronym else None,
                    password_hash=hash_password(DEMO_PASSWORD), password_changed_at=utcnow())
        db.session.add(user)
        users[email] = user
        added["users"] += 1
    db.session.flush()
    delegate_by_member = {u.member_id: u for u in users.values() if u.role == "delegate"}
    partner_by_org = {u.organisation_id: u for u in users.values() if u.role == "partner"}
    facilitator = users["facilitator@example.org"]

    known_offerings = set(db.session.scalars(select(Offering.title)))
    for item in data["offerings"]:
        if item["title"] in known_offerings:
            continue
        org = orgs[item["organisation"]]
        days = item.get("deadline_days")
        offering = Offering(
            organisation=org, created_by=partner_by_org.get(org.id), title=item["title"],
            description=item["description"], language=item["language"], policy_areas=item["policy_areas"],
            support_kinds=item["support_kinds"], delivery_languages=item["delivery_languages"],
            beneficiaries=item.get("beneficiaries", []), eligibility=item["eligibility"],
            eligible_regions=item.get("eligible_regions", []), eligible_members=item.get("eligible_members", []),
            capacity=item.get("capacity"), deadline=today + timedelta(days=days) if days is not None else None,
            contact_name=item.get("contact_name"), contact_email=item.get("contact_email"), status=item["status"],
            published_at=utcnow() if item["status"] != "draft" else None,
            closed_at=utcnow() if item["status"] == "closed" else None,
        )
        db.session.add(offering)
        db.session.flush()
        record(None, "offering.seeded", offering)
        added["offerings"] += 1

    known_needs = set(db.session.scalars(select(Need.title)))
    for item in data["needs"]:
        if item["title"] in known_needs:
            continue
        member = members[item["member"]]
        start = today + timedelta(days=item["start_in_days"]) if item.get("start_in_days") is not None else None
        end = start + timedelta(days=item["duration_days"]) if start and item.get("duration_days") else None
        status = item["status"]
        need = Need(
            member=member, created_by=delegate_by_member.get(member.id), title=item["title"],
            description=item["description"], language=item["language"], policy_areas=item["policy_areas"],
            support_kinds=item["support_kinds"], delivery_languages=item["delivery_languages"],
            beneficiaries=item.get("beneficiaries", []), priority=item.get("priority", "medium"),
            start_date=start, end_date=end, attributed=bool(item.get("attributed")), status=status,
            submitted_at=utcnow() if status != "draft" else None,
            opened_at=utcnow() if status == "open" else None,
        )
        db.session.add(need)
        db.session.flush()
        record(facilitator if status == "open" else None, "need.seeded", need)
        added["needs"] += 1
    db.session.flush()
    return added
