"""Demo content for `flask seed-demo`: organisations, people, needs and offerings, and what happened to them.

Everything after the accounts goes through the services, replayed at plausible dates in the past (models.base.
replayed_at): partners publish their offerings, delegations write and submit needs, a facilitator screens them (which
proposes matches), then the story in demo.json plays out: introductions, answers, meetings and their outcomes, a
delivery, a completion, a rejection, a declined introduction, a session held with its agenda, outcomes and summaries,
and one being planned with availability given. So the audit trail, the inbox, the dashboard and the matches agree,
and every event is dated in order before the day the demo is loaded.

Besides the four demo accounts, each member with a need has a delegation account and each organisation a programme
team account; they have no password (nobody signs in with them) and act in the story.
"""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import Match, MatchmakingSession, Member, Need, Offering, Organisation, User
from matchmaker.models.base import replayed_at, utcnow
from matchmaker.permissions import side_of
from matchmaker.services import editions, matching, session_summary
from matchmaker.services import matches as match_service
from matchmaker.services import needs as needs_service
from matchmaker.services import offerings as offerings_service
from matchmaker.services import sessions as session_service
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
# The story starts this many days before the demo is loaded: accounts first, then the offerings, then the needs.
ACCOUNTS_DAY, OFFERINGS_DAYS, NEEDS_DAYS = -170, (-160, -150), (-145, -12)
WITHDRAWN_DAY, RECENT_DAYS = -60, (-10, -2)


class Demo:
    """The demo being loaded: who is who, what is there, and the clock of the story."""

    def __init__(self, data: dict, now: datetime):
        self.data = data
        self.now = now
        self.members = {m.code: m for m in db.session.scalars(select(Member))}
        self.orgs = {o.acronym: o for o in db.session.scalars(select(Organisation))}
        self.users: dict[str, User] = {}
        self.needs: dict[str, Need] = {}
        self.offerings: dict[str, Offering] = {}
        self.planned: list = []
        self.added = {"organisations": 0, "users": 0, "offerings": 0, "needs": 0, "match stories": 0, "sessions": 0}

    def moment(self, day: float, hour: int = 9) -> datetime:
        """``day`` days before now (a negative number), at ``hour`` UTC, never after now."""
        moment = datetime.combine((self.now + timedelta(days=day)).date(), time(hour), tzinfo=UTC)
        return min(moment, self.now - timedelta(minutes=1))

    def at(self, day: float, hour: int = 9):
        """Run a step now, at the story's moment ``day``/``hour``."""
        return _Step(self.moment(day, hour))

    def later(self, day: float, hour: int, step) -> None:
        """Plan ``step()`` for that moment; run() plays every planned step in the order of their moments."""
        self.planned.append((self.moment(day, hour), len(self.planned), step))

    def run(self) -> None:
        for moment, _order, step in sorted(self.planned, key=lambda item: item[:2]):
            with _Step(moment) as now:
                step(now)
        self.planned.clear()

    @property
    def facilitator(self) -> User:
        return self.users["facilitator@example.org"]

    def side(self, who: str, match: Match) -> User:
        if who == "facilitator":
            return self.facilitator
        if who == "need":
            return self.delegation(match.need.member)
        return self.team(match.offering.organisation)

    def delegation(self, member: Member) -> User:
        """The member's delegate: the demo delegate for Benin, a delegation account for the others."""
        return next((u for u in self.users.values() if side_of(u) == ("member", member.id)), None) \
            or self._colleague(f"delegation.{member.code.lower()}@example.org", f"Delegation of {member.name_en}",
                               "delegate", member=member, language=_language_of(member))

    def team(self, org: Organisation) -> User:
        """The organisation's partner: the demo partner for ITC, a programme team account for the others."""
        return next((u for u in self.users.values() if side_of(u) == ("organisation", org.id)), None) \
            or self._colleague(f"programmes.{org.acronym.lower()}@example.org", f"{org.acronym} programme team",
                               "partner", organisation=org, language="en")

    def _colleague(self, email: str, name: str, role: str, **affiliation) -> User:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            with self.at(ACCOUNTS_DAY):
                user = User(email=email, name=name, role=role, active=True, password_hash=None, **affiliation)
                db.session.add(user)
            self.added["users"] += 1
        self.users[email] = user
        return user


class _Step:
    """``with demo.at(day):`` runs a step at that moment and flushes it there (defaults are evaluated at flush)."""

    def __init__(self, moment: datetime):
        self.moment = moment
        self._replay = replayed_at(moment)

    def __enter__(self):
        self._replay.__enter__()
        return self.moment

    def __exit__(self, kind, value, traceback):
        try:
            if kind is None:
                db.session.flush()
        finally:
            self._replay.__exit__(kind, value, traceback)
        return False


def _language_of(member: Member) -> str:
    return "fr" if member.region in ("africa",) and member.code in FRENCH_SPEAKING else \
        "es" if member.region == "latin_america" else "en"


FRENCH_SPEAKING = {"BJ", "SN", "CI", "MG", "BF", "TG", "CM", "GA", "HT", "TN", "MA", "CD", "ML", "GN", "NE", "TD"}


def seed_demo(today: date | None = None, path: Path = DEMO_JSON) -> dict[str, int]:
    """Load the demo once; a second run adds nothing. Returns what was added."""
    load_members()
    data = json.loads(path.read_text(encoding="utf-8"))
    now = utcnow() if today is None else datetime.combine(today, time(12), tzinfo=UTC)
    demo = Demo(data, now)
    _organisations(demo)
    _accounts(demo)
    _offerings(demo)
    _needs(demo)
    if db.session.scalar(select(MatchmakingSession.id).limit(1)) is None and demo.added["needs"]:
        _story(demo)
    # The engine proposes from an index it keeps up to date with the records changed since it last looked; the
    # story writes records dated in the past, so the index is rebuilt from the database whenever the programmes on
    # offer change (a publication, a closing), and at the end.
    if demo.added["needs"] and editions.latest() is None:
        # The public report as the story leaves it: its first edition, published once everything else happened.
        demo.later(0, 23, lambda now: editions.publish(demo.facilitator, now=now))
    matching.INDEX.reset()
    demo.run()
    matching.INDEX.reset()
    db.session.flush()
    return demo.added


def _organisations(demo: Demo) -> None:
    for item in demo.data["organisations"]:
        if item["acronym"] not in demo.orgs:
            with demo.at(ACCOUNTS_DAY - 5):
                org = Organisation(name=item["name"], acronym=item["acronym"], kind=item["kind"],
                                   website=item.get("website"))
                db.session.add(org)
            demo.orgs[org.acronym] = org
            demo.added["organisations"] += 1


def _accounts(demo: Demo) -> None:
    demo.users.update({u.email: u for u in db.session.scalars(select(User))})
    for email, name, role, member_code, acronym, language in DEMO_USERS:
        if email in demo.users:
            continue
        with demo.at(ACCOUNTS_DAY):
            user = User(email=email, name=name, role=role, language=language, active=True,
                        member=demo.members.get(member_code) if member_code else None,
                        organisation=demo.orgs.get(acronym) if acronym else None,
                        password_hash=hash_password(DEMO_PASSWORD), password_changed_at=utcnow())
            db.session.add(user)
        demo.users[email] = user
        demo.added["users"] += 1


def _spread(index: int, count: int, days: tuple[int, int]) -> float:
    first, last = days
    return first + (last - first) * index / max(count - 1, 1)


def _offerings(demo: Demo) -> None:
    """Each organisation's programme team lists and publishes its offerings (a few were closed since)."""
    known = {o.title: o for o in db.session.scalars(select(Offering))}
    items = demo.data["offerings"]
    for i, item in enumerate(items):
        if item["title"] in known:
            demo.offerings[item["key"]] = known[item["title"]]
            continue
        author = demo.team(demo.orgs[item["organisation"]])
        days = item.get("deadline_days")
        fields = {key: item.get(key) for key in offerings_service.EDITABLE_FIELDS if key in item}
        fields.update(beneficiaries=item.get("beneficiaries", []), eligible_regions=item.get("eligible_regions", []),
                      eligible_members=item.get("eligible_members", []),
                      deadline=demo.now.date() + timedelta(days=days) if days is not None else None)
        day = _spread(i, len(items), OFFERINGS_DAYS)
        key = item["key"]

        def create(_now, key=key, author=author, fields=fields):
            demo.offerings[key] = offerings_service.create_offering(author, fields)

        def publish(now, key=key, author=author):
            offerings_service.transition(author, demo.offerings[key], "publish", today=now.date(), propose=False)
            matching.INDEX.reset()

        def close(now, key=key, author=author):
            offerings_service.transition(author, demo.offerings[key], "close", today=now.date(),
                                         reason="The call for proposals is over.")
            matching.INDEX.reset()

        demo.later(day, 9, create)
        if item["status"] in ("published", "closed"):
            demo.later(day, 11, publish)
        if item["status"] == "closed":
            demo.later(min(days or 0, -1), 17, close)
        demo.added["offerings"] += 1


def _needs(demo: Demo) -> None:
    """Each delegation writes its needs and submits them; a facilitator opens them for matching (which proposes
    programmes) or returns them with a comment; two were withdrawn later."""
    known = {n.title: n for n in db.session.scalars(select(Need))}
    story_start = _story_starts(demo.data.get("story", {}))
    items = demo.data["needs"]
    for i, item in enumerate(items):
        if item["title"] in known:
            demo.needs[item["key"]] = known[item["title"]]
            continue
        author = demo.delegation(demo.members[item["member"]])
        status, key = item["status"], item["key"]
        opened = min(_spread(i, len(items), NEEDS_DAYS), story_start.get(key, 0) - 6)
        if status in ("draft", "submitted", "returned"):
            opened = _spread(i % 7, 7, RECENT_DAYS)
        start = demo.now.date() + timedelta(days=item["start_in_days"]) if item.get("start_in_days") is not None \
            else None
        fields = {k: item[k] for k in ("title", "description", "language", "policy_areas", "support_kinds",
                                       "delivery_languages", "priority") if k in item}
        fields.update(beneficiaries=item.get("beneficiaries", []), attributed=bool(item.get("attributed")),
                      start_date=start, end_date=start + timedelta(days=item["duration_days"])
                      if start and item.get("duration_days") else None)

        def create(_now, key=key, author=author, fields=fields):
            demo.needs[key] = needs_service.create_need(author, fields)

        def act(actor, action, reason=None, key=key):
            # Opening a need proposes its best programmes at once, as in service.
            return lambda _now: needs_service.transition(actor, demo.needs[key], action, reason=reason)

        demo.later(opened - 3, 8, create)
        if status != "draft":
            demo.later(opened - 2, 10, act(author, "submit"))
        if status == "returned":
            demo.later(opened - 1, 15, act(demo.facilitator, "return", item["screening_comment"]))
        if status in ("open", "withdrawn"):
            demo.later(opened, 14, act(demo.facilitator, "open"))
        if status == "withdrawn":
            demo.later(min(max(opened + 20, WITHDRAWN_DAY), -1), 16,
                       act(author, "withdraw", "A bilateral project now covers it."))
        demo.added["needs"] += 1


def _story_starts(story: dict) -> dict[str, int]:
    """The first day each need of the story is acted on (its need must be open before)."""
    first: dict[str, int] = {}
    for item in story.get("matches", []):
        first[item["need"]] = min([first.get(item["need"], 0)] + [s["day"] for s in item["steps"]])
    for session in story.get("sessions", []):
        for meeting in session["meetings"]:
            first[meeting["need"]] = min(first.get(meeting["need"], 0), session["invited"])
    return first


def _pair(demo: Demo, need_key: str, offering_key: str) -> Match:
    """The engine's proposal for this pair, or one a facilitator makes by hand (planned the day before it is used)."""
    need, offering = demo.needs[need_key], demo.offerings[offering_key]
    match = db.session.scalar(select(Match).where(Match.need_id == need.id, Match.offering_id == offering.id))
    if match is None:
        match = match_service.create_manual(demo.facilitator, need, offering, "Seen together at a regional workshop.")
    elif match.status == "superseded":  # proposed, then displaced by a better one: a new run proposes it again
        match.status = "proposed"
        record(demo.facilitator, "match.proposed_again", match, score=match.score)
    return match


def _step(demo: Demo, pair: tuple[str, str], step: dict) -> None:
    """Plan one step of a match's story, done through the service the pages use for it."""
    def run(now):
        match = _pair(demo, *pair)
        actor = demo.side(step["by"], match)
        action, note = step["do"], step.get("note")
        if action == "approve":
            match_service.approve(actor, match, today=now.date(), reason=note)
        elif action == "reject":
            match_service.reject(actor, match, note)
        elif action in ("accept", "decline"):
            match_service.respond(actor, match, action == "accept", note)
        else:
            match_service.progress(actor, match, action, outcome=step.get("outcome"), note=note)
    demo.later(step["day"], step.get("hour", 10), run)


def _story(demo: Demo) -> None:
    story = demo.data.get("story", {})
    for item in story.get("matches", []):
        pair = (item["need"], item["offering"])
        demo.later(item["steps"][0]["day"] - 1, 15, lambda _now, pair=pair: _pair(demo, *pair))
        for step in item["steps"]:
            _step(demo, pair, step)
        demo.added["match stories"] += 1
    for item in story.get("sessions", []):
        _session(demo, item)
        demo.added["sessions"] += 1


def _session(demo: Demo, item: dict) -> None:
    """A matchmaking session planned, its matches invited, availability given, the agenda built; if its day is
    past, held, with each meeting's outcome, the summaries, and closed."""
    held: dict[str, MatchmakingSession] = {}
    pairs = [(m["need"], m["offering"]) for m in item["meetings"]]
    _plan_session(demo, item, held, pairs)
    if "outcomes" in item:
        _hold_session(demo, item, held, pairs)


def _session_fields(demo: Demo, item: dict) -> dict:
    day = demo.now.date() + timedelta(days=item.get("day", item.get("date_in_days", 0)))
    return dict(title=item["title"], theme=item.get("theme"), policy_areas=item["policy_areas"], date=day,
                start_time=time.fromisoformat(item["start"]), time_zone=item["time_zone"], mode=item["mode"],
                place=item.get("place"), link=item.get("link"), slot_minutes=item["slot_minutes"],
                rounds=item["rounds"], tables=item["tables"])


def _plan_session(demo: Demo, item: dict, held: dict[str, MatchmakingSession], pairs: list) -> None:
    """Created, matches invited, each side's availability given, the agenda built (``held`` keeps the session)."""
    facilitator = demo.facilitator
    fields = _session_fields(demo, item)

    def create(_now):
        held["session"] = session_service.create_session(facilitator, fields)

    def invite(_now):
        session_service.invite(facilitator, held["session"], [_pair(demo, *pair) for pair in pairs])

    def available(pair, side, rounds):
        return lambda _now: session_service.set_availability(demo.side(side, _pair(demo, *pair)), held["session"],
                                                             rounds)

    demo.later(item["created"], 9, create)
    demo.later(item["invited"], 11, invite)
    for pair, meeting in zip(pairs, item["meetings"], strict=True):
        given = meeting.get("availability", {})
        for side, hour in (("need", 12), ("offering", 15)):
            if side in given:
                demo.later(given["day"], hour, available(pair, side, given[side]))
    demo.later(item["built"], 10, lambda _now: session_service.build_agenda(facilitator, held["session"]))


def _hold_session(demo: Demo, item: dict, held: dict[str, MatchmakingSession], pairs: list) -> None:
    """Held, each meeting's outcome recorded (and what followed), the summaries written, closed."""
    facilitator = demo.facilitator

    def outcome(pair, meeting):
        def run(_now):
            match = _pair(demo, *pair)
            placed = next((m for m in held["session"].meetings if m.match_id == match.id and m.is_placed), None)
            if placed is not None:
                session_service.record_outcome(facilitator, held["session"], placed, meeting["outcome"],
                                               meeting.get("note"))
        return run

    def summarise(_now):
        session_service.save_summary(facilitator, held["session"], item.get("summary"),
                                     session_summary.draft_public_summary(held["session"]))

    demo.later(item["day"], 16, lambda _now: session_service.transition(facilitator, held["session"], "held"))
    for pair, meeting in zip(pairs, item["meetings"], strict=True):
        if meeting.get("outcome"):
            demo.later(item["outcomes"], 9, outcome(pair, meeting))
        for step in meeting.get("then", []):
            _step(demo, pair, step)
    demo.later(item["closed"], 10, summarise)
    demo.later(item["closed"], 11, lambda _now: session_service.transition(facilitator, held["session"], "close"))
