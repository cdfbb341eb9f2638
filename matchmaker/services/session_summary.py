"""The record of a held matchmaking session: its non-attributable summary's figures and first draft, and the names
that would attribute something to someone. Small cells are hidden by services/suppression.py, as in every
published table."""
from __future__ import annotations

from collections import defaultdict

from flask_babel import gettext as _

from matchmaker.models.sessions import MatchmakingSession
from matchmaker.reference import OUTCOME_LABELS, POLICY_AREAS, REGIONS
from matchmaker.services import identification, suppression
from matchmaker.services.session_labels import session_when
from matchmaker.services.session_queries import INTRODUCED_STATUSES, participants

# The cell standing for a table's total. The summary does not show it, but its groups add up to the meetings
# (regions) or to at most them (outcomes, and areas counted once per need's area): the attacker is taken to know it.
ALL = ("all",)


def attributions(session: MatchmakingSession, text: str) -> list[str]:
    """Names in ``text`` that attribute something to someone: the members at the session (in any language, or their
    code) and the people who took part."""
    lowered = text.casefold()
    members = {m.match.need.member for m in session.meetings}
    found = identification.names_in(text, members)
    for user in participants(session.meetings):
        if user.name and user.name.casefold() in lowered:
            found.append(user.name)
    return sorted(set(found))


def suppressed(groups: dict[str, set[int]], counts: dict[str, int]) -> dict[str, int | None]:
    """Counts per group; None where services/suppression.py hides the cell: it describes fewer than
    suppression.MIN_MEMBERS members, or it would let such a cell be worked out from the table's total."""
    if not counts:
        return {}
    codes = sorted(counts)  # ties between equally cheap complements go to the first code
    values = {**{code: counts[code] for code in codes}, ALL: sum(counts.values())}
    members = {**{code: len(groups[code]) for code in codes}, ALL: len(set().union(*groups.values()))}
    hidden = suppression.suppress(values, members, [suppression.Line(ALL, tuple(codes))], suppression.MIN_MEMBERS)
    return {code: None if code in hidden else count for code, count in counts.items()}


def summary_figures(session: MatchmakingSession) -> dict:
    """The aggregates behind the non-attributable summary: never a name, and no cell about fewer than
    suppression.MIN_MEMBERS members."""
    # The meetings on the agenda (an unplaced one never took place), between introduced parties.
    meetings = [m for m in session.meetings if m.is_placed and m.match.status in INTRODUCED_STATUSES]
    members = {m.match.need.member_id for m in meetings}
    areas: dict[str, set[int]] = defaultdict(set)
    area_counts: dict[str, int] = defaultdict(int)
    regions: dict[str, set[int]] = defaultdict(set)
    region_counts: dict[str, int] = defaultdict(int)
    outcomes: dict[str, set[int]] = defaultdict(set)
    outcome_counts: dict[str, int] = defaultdict(int)
    for meeting in meetings:
        member = meeting.match.need.member
        for area in meeting.match.need.policy_areas or ():
            areas[area].add(member.id)
            area_counts[area] += 1
        regions[member.region].add(member.id)
        region_counts[member.region] += 1
        if meeting.outcome:
            outcomes[meeting.outcome].add(member.id)
            outcome_counts[meeting.outcome] += 1
    return {
        "meetings": len(meetings) if len(members) >= suppression.MIN_MEMBERS else None,
        "members": len(members) if len(members) >= suppression.MIN_MEMBERS else None,
        "organisations": len({m.match.offering.organisation_id for m in meetings}),
        "areas": suppressed(areas, area_counts),
        "regions": suppressed(regions, region_counts),
        "outcomes": suppressed(outcomes, outcome_counts),
    }


def draft_public_summary(session: MatchmakingSession) -> str:
    """A first draft of the non-attributable summary, in the current language, from the session's records."""
    figures = summary_figures(session)

    def count(value: int | None) -> str:
        return str(value) if value is not None else _("fewer than %(n)d members (not shown)", n=suppression.MIN_MEMBERS)

    def table(title: str, values: dict[str, int | None], labels: dict) -> list[str]:
        if not values:
            return []
        ordered = [code for code in labels if code in values]
        return ["", title] + [f"- {labels[code]}: {count(values[code])}" for code in ordered]

    lines = [_("Matchmaking session “%(title)s”, %(when)s.", title=session.title, when=session_when(session))]
    if session.theme:
        lines.append(_("Theme: %(theme)s", theme=session.theme))
    if session.policy_areas:
        lines.append(_("Policy areas: %(areas)s",
                       areas=", ".join(str(POLICY_AREAS[a]) for a in session.policy_areas if a in POLICY_AREAS)))
    if figures["members"] is None:
        lines.append(_("Fewer than %(n)d members took part, so no figures are given.", n=suppression.MIN_MEMBERS))
    else:
        lines.append(_("Bilateral meetings on the agenda: %(meetings)d; requesting members: %(members)d; partner "
                       "organisations: %(organisations)d.", meetings=figures["meetings"],
                       members=figures["members"], organisations=figures["organisations"]))
        lines += table(_("Meetings by policy area of the need:"), figures["areas"], POLICY_AREAS)
        lines += table(_("Meetings by region:"), figures["regions"], REGIONS)
        lines += table(_("Outcomes of the meetings:"), figures["outcomes"], OUTCOME_LABELS)
    lines += ["", _("This summary follows the Chatham House rule: it attributes nothing to any member or participant.")]
    return "\n".join(lines)
