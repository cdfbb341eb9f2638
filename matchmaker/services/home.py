"""What each role has to do next, for its home page: counts with a link to where it is done (reads only).

A delegate never learns here which programmes are under review for their needs: only how many."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import url_for
from flask_babel import ngettext
from sqlalchemy import func, or_, select

from matchmaker.extensions import db
from matchmaker.models import Match, MatchmakingSession, Need, Offering, SessionAvailability, SessionMeeting, User
from matchmaker.models.matches import CAPACITY_STATUSES
from matchmaker.permissions import side_of
from matchmaker.services import session_queries

UNDER_WAY = ("accepted", "meeting_held", "agreement_reached", "in_delivery")
EXPIRING_DAYS = 30


@dataclass
class Todo:
    """One thing to do: how many, said in a sentence, and where to do it."""

    count: int
    text: str
    url: str
    items: list[tuple[str, str]] = field(default_factory=list)  # (label, url) when a few records are named


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _sessions_to_answer(user: User) -> list[MatchmakingSession]:
    """Sessions being planned where this delegate or partner has a meeting and has not said when they can come."""
    answered = set(db.session.scalars(select(SessionAvailability.session_id)
                                      .where(SessionAvailability.user_id == user.id)))
    return [s for s in session_queries.sessions_of(user) if s.status == "planning" and s.id not in answered]


def _party_todos(user: User, side_filter) -> list[Todo]:
    """What both kinds of party have: introductions to answer, matches under way, sessions to answer."""
    mine = select(Match).join(Need, Match.need_id == Need.id).join(Offering, Match.offering_id == Offering.id) \
        .where(side_filter)
    side = side_of(user)
    response = Match.need_response if side and side[0] == "member" else Match.offering_response
    todos = [
        Todo(_count(mine.where(Match.status == "approved", response == "pending")),
             "", url_for("matches.mine")),
        Todo(_count(mine.where(Match.status.in_(UNDER_WAY))), "", url_for("matches.mine")),
    ]
    todos[0].text = ngettext("%(num)d introduction to accept or decline", "%(num)d introductions to accept or decline",
                             todos[0].count)
    todos[1].text = ngettext("%(num)d match under way: record the meeting, the agreement or the delivery",
                             "%(num)d matches under way: record the meeting, the agreement or the delivery",
                             todos[1].count)
    sessions = _sessions_to_answer(user)
    todos.append(Todo(len(sessions), ngettext("%(num)d matchmaking session waiting for your availability",
                                              "%(num)d matchmaking sessions waiting for your availability",
                                              len(sessions)),
                      url_for("sessions.mine"),
                      [(s.title, url_for("sessions.availability", session_id=s.id)) for s in sessions[:5]]))
    return todos


def delegate_home(user: User) -> tuple[list[Todo], list[tuple[Need, int, int]]]:
    """A delegate's to-do list, and each of the member's needs under way with the number of programmes the
    facilitators are reviewing for it and of introductions made (never which ones)."""
    needs = select(Need).where(Need.member_id == user.member_id)
    returned = db.session.scalars(needs.where(Need.status == "draft", Need.screening_comment.is_not(None))
                                  .order_by(Need.updated_at.desc())).all()
    drafts = _count(needs.where(Need.status == "draft", Need.screening_comment.is_(None)))
    todos = [
        Todo(len(returned), ngettext("%(num)d need returned by the facilitators: read their comment, improve it and "
                                     "submit it again", "%(num)d needs returned by the facilitators: read their "
                                     "comment, improve them and submit them again", len(returned)),
             url_for("needs.index", status="draft"),
             [(n.title, url_for("needs.detail", need_id=n.id)) for n in returned[:5]]),
        Todo(drafts, ngettext("%(num)d draft to finish and submit for screening",
                              "%(num)d drafts to finish and submit for screening", drafts),
             url_for("needs.index", status="draft")),
    ] + _party_todos(user, Need.member_id == user.member_id)
    live = db.session.scalars(needs.where(Need.status.in_(("submitted", "open", "matched", "in_progress")))
                              .order_by(Need.updated_at.desc())).all()
    counts = dict(db.session.execute(
        select(Match.need_id, func.count()).where(Match.need_id.in_([n.id for n in live]), Match.status == "proposed")
        .group_by(Match.need_id)).all()) if live else {}
    introduced = dict(db.session.execute(
        select(Match.need_id, func.count()).where(Match.need_id.in_([n.id for n in live]),
                                                  Match.status.in_(CAPACITY_STATUSES))
        .group_by(Match.need_id)).all()) if live else {}
    return todos, [(n, counts.get(n.id, 0), introduced.get(n.id, 0)) for n in live]


def partner_home(user: User, today: date | None = None) -> tuple[list[Todo], list[tuple[str, int]]]:
    """A partner's to-do list, and the open needs in the policy areas of the organisation's open offerings."""
    today = today or date.today()
    own = select(Offering).where(Offering.organisation_id == user.organisation_id)
    expiring = db.session.scalars(own.where(Offering.status == "published", Offering.deadline >= today,
                                            Offering.deadline <= today + timedelta(days=EXPIRING_DAYS))
                                  .order_by(Offering.deadline)).all()
    drafts = _count(own.where(Offering.status == "draft"))
    todos = _party_todos(user, Offering.organisation_id == user.organisation_id) + [
        Todo(len(expiring), ngettext("%(num)d offering whose deadline is within 30 days: extend it or let it close",
                                     "%(num)d offerings whose deadline is within 30 days: extend them or let them "
                                     "close", len(expiring)),
             url_for("offerings.index", status="published"),
             [(o.title, url_for("offerings.detail", offering_id=o.id)) for o in expiring[:5]]),
        Todo(drafts, ngettext("%(num)d draft offering to finish and publish",
                              "%(num)d draft offerings to finish and publish", drafts),
             url_for("offerings.index", status="draft")),
    ]
    areas: dict[str, int] = {}
    open_offerings = db.session.scalars(own.where(Offering.status == "published", or_(
        Offering.deadline.is_(None), Offering.deadline >= today))).all()
    wanted = {a for o in open_offerings for a in (o.policy_areas or ())}
    for need_areas in db.session.scalars(select(Need.policy_areas).where(Need.status == "open")):
        for area in set(need_areas or ()) & wanted:
            areas[area] = areas.get(area, 0) + 1
    return todos, sorted(areas.items(), key=lambda item: (-item[1], item[0]))


def staff_home(today: date | None = None) -> list[Todo]:
    """A facilitator's (or admin's) to-do list."""
    today = today or date.today()
    screening = _count(select(Need).where(Need.status == "submitted"))
    proposals = _count(select(Match).where(Match.status == "proposed"))
    waiting = _count(select(Match).where(Match.status == "approved"))
    busy = select(Match.need_id).where(Match.status.in_(("proposed",) + CAPACITY_STATUSES))
    unmet = _count(select(Need).where(Need.status == "open", Need.id.not_in(busy)))
    planning = db.session.scalars(select(MatchmakingSession).where(MatchmakingSession.status == "planning")
                                  .order_by(MatchmakingSession.date)).all()
    missing = select(SessionMeeting.session_id).where(SessionMeeting.round.is_not(None),
                                                      SessionMeeting.outcome.is_(None))
    held = db.session.scalars(select(MatchmakingSession).where(MatchmakingSession.status == "held", or_(
        MatchmakingSession.id.in_(missing), MatchmakingSession.public_summary.is_(None)))
        .order_by(MatchmakingSession.date)).all()
    return [
        Todo(screening, ngettext("%(num)d need to screen", "%(num)d needs to screen", screening),
             url_for("needs.index", status="submitted")),
        Todo(proposals, ngettext("%(num)d proposal to review", "%(num)d proposals to review", proposals),
             url_for("matches.queue", status="proposed")),
        Todo(waiting, ngettext("%(num)d introduction waiting for the parties' answers",
                               "%(num)d introductions waiting for the parties' answers", waiting),
             url_for("matches.queue", status="approved")),
        Todo(unmet, ngettext("%(num)d open need without any proposal: pair it by hand or look for programmes",
                             "%(num)d open needs without any proposal: pair them by hand or look for programmes",
                             unmet), url_for("dashboard.index") + "#h-gaps"),
        Todo(len(planning), ngettext("%(num)d matchmaking session being planned",
                                     "%(num)d matchmaking sessions being planned", len(planning)),
             url_for("sessions.index"),
             [(s.title, url_for("sessions.detail", session_id=s.id)) for s in planning[:5]]),
        Todo(len(held), ngettext("%(num)d session held: record its outcomes and write its summaries",
                                 "%(num)d sessions held: record their outcomes and write their summaries", len(held)),
             url_for("sessions.index"),
             [(s.title, url_for("sessions.detail", session_id=s.id) + "#outcomes") for s in held[:5]]),
    ]
