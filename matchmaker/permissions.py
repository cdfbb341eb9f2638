"""Who may do what: every role and object rule of the service, in one place."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, has_request_context, request
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, false, or_, select, true
from werkzeug.local import LocalProxy

from matchmaker.extensions import db, login_manager
from matchmaker.models import Match, Need, Offering, User
from matchmaker.models.matches import CAPACITY_STATUSES
from matchmaker.models.sessions import SessionMeeting

STAFF = ("facilitator", "admin")
# Need statuses a partner may see (anonymised unless the member chose to be named).
PARTNER_VISIBLE_NEED_STATUSES = ("open", "matched", "in_progress", "fulfilled")


def _is_delegate_of(user: User, need: Need) -> bool:
    return user.role == "delegate" and user.member_id is not None and user.member_id == need.member_id


def _is_partner_of(user: User, offering: Offering) -> bool:
    return (
        user.role == "partner"
        and user.organisation_id is not None
        and user.organisation_id == offering.organisation_id
    )


def match_side(user: User, match: Match) -> str | None:
    """Which party of the match this user acts for: 'need', 'offering' or None."""
    if user.role == "delegate" and user.member_id is not None and user.member_id == match.need.member_id:
        return "need"
    if (user.role == "partner" and user.organisation_id is not None
            and user.organisation_id == match.offering.organisation_id):
        return "offering"
    return None


def _introduced_query(user: User):
    """The ids of the needs a partner's organisation was introduced to (a facilitator approved a match)."""

    return select(Match.need_id).join(Offering, Match.offering_id == Offering.id).where(
        Offering.organisation_id == user.organisation_id,
        Match.status.in_(CAPACITY_STATUSES + ("declined", "closed_no_result")))


def needs_whose_member_is_known(user: User, need_ids: list[int]) -> set[int]:
    """Of these needs, those whose member ``user`` may know ("need.see_member"), in two queries for a list."""

    if not need_ids or not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.role in STAFF:
        return set(need_ids)
    query = select(Need.id).where(Need.id.in_(need_ids))
    if user.role == "delegate":
        named = query.where(Need.attributed.is_(True) | (Need.member_id == user.member_id))
    else:
        named = query.where(Need.attributed.is_(True))
    known = set(db.session.scalars(named))
    if user.role == "partner" and user.organisation_id is not None:
        known |= set(db.session.scalars(_introduced_query(user).where(Match.need_id.in_(need_ids))))
    return known


# Kept with the request itself (not flask.g, which an application context may share across requests).
_MEMBERS_KNOWN = "matchmaker.members_known"


def know_members_of_page(user: User, needs) -> None:
    """Work out "need.see_member" for a page of needs at once (two queries instead of two per need); ``can`` answers
    from it for the rest of the request."""
    ids = [need.id for need in needs]
    request.environ[_MEMBERS_KNOWN] = (getattr(user, "id", None), set(ids), needs_whose_member_is_known(user, ids))


def _sees_member(user: User, need: Need) -> bool:
    if need.id is None:
        return False
    page = request.environ.get(_MEMBERS_KNOWN) if has_request_context() else None
    if page is not None and page[0] == getattr(user, "id", None) and need.id in page[1]:
        return need.id in page[2]
    return need.id in needs_whose_member_is_known(user, [need.id])


def _view_match(user: User, match: Match) -> bool:
    if user.role in STAFF:
        return True
    return match_side(user, match) is not None and match.is_introduced


def _respond_match(user: User, match: Match) -> bool:
    side = match_side(user, match)
    if side is None or match.status != "approved":
        return False
    return (match.need_response if side == "need" else match.offering_response) == "pending"


def _view_need(user: User, need: Need) -> bool:
    if _is_delegate_of(user, need):
        return True
    if user.role in STAFF:
        return need.status != "draft"
    if user.role == "partner":
        return need.status in PARTNER_VISIBLE_NEED_STATUSES
    return False


def _view_offering(user: User, offering: Offering) -> bool:
    if offering.status != "draft":
        return True
    return _is_partner_of(user, offering) or user.role in STAFF


def session_participant(user: User, session: Any) -> bool:
    """A delegate or partner whose member or organisation has an introduced match invited to this session."""
    if user.role not in ("delegate", "partner") or session is None:
        return False

    query = select(SessionMeeting.id).join(Match, SessionMeeting.match_id == Match.id).where(
        SessionMeeting.session_id == session.id, Match.status.in_(CAPACITY_STATUSES + ("declined", "closed_no_result")))
    if user.role == "delegate":
        if user.member_id is None:
            return False
        query = query.join(Need, Match.need_id == Need.id).where(Need.member_id == user.member_id)
    else:
        if user.organisation_id is None:
            return False
        query = query.join(Offering, Match.offering_id == Offering.id).where(
            Offering.organisation_id == user.organisation_id)
    return db.session.scalar(query.limit(1)) is not None


# Sides: every delegate acts for one member, every partner for one organisation (a matchmaking session's unit).
SIDE_OF_ROLE = {"delegate": "member", "partner": "organisation"}


def side_of(user: User) -> tuple[str, int] | None:
    """The side a user acts for: ('member', id) for a delegate, ('organisation', id) for a partner."""
    kind = SIDE_OF_ROLE.get(user.role)
    side_id = user.member_id if kind == "member" else user.organisation_id if kind == "organisation" else None
    return (kind, side_id) if side_id is not None else None


def acting_for(members, organisations):
    """A query condition on users: the delegates of these members and the partners of these organisations."""
    return (((User.role == "delegate") & User.member_id.in_(members))
            | ((User.role == "partner") & User.organisation_id.in_(organisations)))


RULES: dict[str, Callable[[User, Any], bool]] = {
    "need.list": lambda u, _: True,
    "need.create": lambda u, _: u.role == "delegate" and u.member_id is not None,
    "need.view": _view_need,
    "need.edit": _is_delegate_of,
    "need.submit": _is_delegate_of,
    "need.withdraw": _is_delegate_of,
    "need.screen": lambda u, n: u.role in STAFF,
    "need.close": lambda u, n: u.role in STAFF,
    # Who may know which member posted a need (elsewhere, only services/anonymity.py's description is shown).
    "need.see_member": _sees_member,
    "offering.list": lambda u, _: True,
    "offering.create": lambda u, _: u.role == "partner" and u.organisation_id is not None,
    "offering.view": _view_offering,
    "offering.edit": _is_partner_of,
    "offering.publish": _is_partner_of,
    "offering.close": lambda u, o: _is_partner_of(u, o) or u.role in STAFF,
    "match.review": lambda u, _=None: u.role in STAFF,
    "match.view": _view_match,
    "match.respond": _respond_match,
    "match.progress": lambda u, m: u.role in STAFF or (match_side(u, m) is not None and m.is_introduced),
    "match.mine": lambda u, _: u.role in ("delegate", "partner"),
    "inbox.view": lambda u, _: True,
    # Matchmaking sessions: facilitators plan them; the parties of the invited (introduced) matches take part.
    "session.manage": lambda u, _=None: u.role in STAFF,
    "session.mine": lambda u, _=None: u.role in ("delegate", "partner"),
    "session.view": lambda u, s: u.role in STAFF or session_participant(u, s),
    "session.availability": lambda u, s: s is not None and s.status == "planning" and session_participant(u, s),
    "user.invite": lambda u, _: u.role in STAFF,
    "user.manage": lambda u, _: u.role == "admin",
    # The role an inviter may give (INVITABLE_ROLES below).
    "user.give_role": lambda u, role: role in INVITABLE_ROLES.get(u.role, ()),
    # Sign-in locks (services/throttle.py): admins see those in force and lift one for an account or an address.
    "sign_in_lock.clear": lambda u, _=None: u.role == "admin",
    "organisation.manage": lambda u, _: u.role == "admin",
    "member.view": lambda u, _: u.role in STAFF,
    "audit.view": lambda u, _: u.role in STAFF,
    "api_token.create": lambda u, _: True,
    "api_token.revoke": lambda u, t: t.user_id == u.id,
    # Imports: partners bring their organisation's offerings; delegates their member's needs, and facilitators
    # the needs of a member on its behalf (as drafts the delegation reviews and submits).
    "offering.import": lambda u, _: u.role == "partner" and u.organisation_id is not None,
    "need.import": lambda u, m: (u.role == "delegate" and m is not None and u.member_id == m.id)
    or (u.role in STAFF and m is not None),
    "import.view": lambda u, upload: upload.user_id == u.id,
    # Who may open the needs import at all (a delegate for their member; staff for a member they choose), and who
    # imports on a member's behalf (those needs stay drafts until the delegation submits them).
    "need.upload": lambda u, _=None: u.role == "delegate" or u.role in STAFF,
    "need.import_on_behalf": lambda u, _=None: u.role in STAFF,
    "export.needs": lambda u, _: True,
    "export.offerings": lambda u, _: True,
    "export.matches": lambda u, _: True,
    # A partner's export of offerings is its organisation's own; staff export every match (their working file),
    # the parties only the introductions both accepted.
    "export.own_offerings_only": lambda u, _=None: u.role == "partner",
    "export.every_match": lambda u, _=None: u.role in STAFF,

    # The dashboard's exact figures (and the members behind each theme) are for staff; the non-attributable
    # report is for everyone, and also public (its pages need no sign-in).
    "dashboard.view": lambda u, _: u.role in STAFF,
    "report.view": lambda u, _: True,
    # Editions of the public report: facilitators publish them (the schedule acts as a facilitator).
    "report.publish": lambda u, _=None: u.role in STAFF,
}

# Roles each inviter may give.
INVITABLE_ROLES = {
    "admin": ("delegate", "partner", "facilitator", "admin"),
    "facilitator": ("delegate", "partner", "facilitator"),
}


def invitable_roles(user: User) -> tuple[str, ...]:
    """The roles this user may give when inviting someone (none for a user who may not invite)."""
    return INVITABLE_ROLES.get(user.role, ()) if can(user, "user.invite") else ()


def keeps_user_management(role: str) -> bool:
    """Whether an account with this role still manages users (an admin may not take that away from themself)."""
    return role == "admin"


def can(user: User | None, action: str, obj: Any = None) -> bool:
    """True when ``user`` may do ``action`` (to ``obj``); unknown actions are refused."""
    if isinstance(user, LocalProxy):     # current_user: looked up once here, not at each attribute a rule reads
        user = user._get_current_object()
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    rule = RULES.get(action)
    return bool(rule and rule(user, obj))


def require(action: str, obj: Any = None) -> None:
    """Abort with 403 unless the current user may do ``action``."""
    if not can(current_user, action, obj):
        abort(403)


def role_required(*roles: str):
    """View decorator: only these roles (the login check comes first)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# ---- The same rules for lists, and the questions pages and the API ask ----------------------------------------------
# The conditions below are "need.view", "offering.view" and "match.view" for a whole list at once (services/need_list,
# offering_list, match_queries build their queries on them); a change to one side must be made to the other.

def visible_needs_condition(user: User) -> ColumnElement[bool]:
    """The needs ``user`` may list: delegates their member's, staff all but drafts, partners the open ones."""
    if user.role == "delegate":
        return Need.member_id == user.member_id
    if user.role in STAFF:
        return Need.status != "draft"
    return Need.status.in_(PARTNER_VISIBLE_NEED_STATUSES)


def visible_offerings_condition(user: User) -> ColumnElement[bool]:
    """The offerings ``user`` may list: everything but other organisations' drafts (staff see all)."""
    if user.role in STAFF:
        return true()
    if user.role == "partner":
        return or_(Offering.status != "draft", Offering.organisation_id == user.organisation_id)
    return Offering.status != "draft"


# A party sees a match from the moment a facilitator introduces it: before that, a partner would learn which member
# posted the need.
INTRODUCED_STATUSES = CAPACITY_STATUSES + ("declined", "closed_no_result")


def visible_matches_condition(user: User) -> ColumnElement[bool]:
    """The matches ``user`` may list (on a query joining Need and Offering): every one for staff, their member's or
    organisation's introduced ones for delegates and partners, none for anyone else."""
    if user.role in STAFF:
        return true()
    if user.role == "delegate" and user.member_id is not None:
        return and_(Need.member_id == user.member_id, Match.status.in_(INTRODUCED_STATUSES))
    if user.role == "partner" and user.organisation_id is not None:
        return and_(Offering.organisation_id == user.organisation_id, Match.status.in_(INTRODUCED_STATUSES))
    return false()


def party_side(user: User) -> str | None:
    """The side of a match a user's role acts for: 'need' (delegates), 'offering' (partners), or None (staff)."""
    return {"delegate": "need", "partner": "offering"}.get(user.role)


def match_parties_condition(match: Match) -> ColumnElement[bool]:
    """The users who act for either side of ``match`` (match_side as a condition on User)."""
    return (((User.role == "delegate") & (User.member_id == match.need.member_id))
            | ((User.role == "partner") & (User.organisation_id == match.offering.organisation_id)))


def _see_contacts(user: User, match: Match) -> bool:
    """The parties' contacts, once they are introduced: to the parties themselves and to staff."""
    return match.is_introduced and (user.role in STAFF or match_side(user, match) is not None)


RULES.update({
    "match.see_contacts": _see_contacts,
    # Staff and delegates know the member of every need they list, so filters read the members' true region and LDC
    # status; partners filter on what they are shown of an anonymous need (services/anonymity.py).
    "need.filter_by_member": lambda u, _=None: u.role in STAFF or u.role == "delegate",
    # Whom a user acts for: a delegate for a WTO member, a partner for an organisation (their pages say so).
    "act_for.member": lambda u, _=None: party_side(u) == "need",
    "act_for.organisation": lambda u, _=None: party_side(u) == "offering",
})
