"""What may be said about the member behind an anonymous need: attributes that fit at least 3 members.

The public list of members tells anyone each member's region, LDC status and languages (``Member``). Before a
facilitator introduces the parties (and unless the member chose to be named), a partner sees a need without its
member's name, but with the region and LDC status of its member, the language of its text and the languages
it wants support in. Those attributes together must fit at least ``MIN_MEMBERS`` eligible members (developing
members and observers, the service's requesting members), also for an attacker who knows these rules.

How: every eligible member gets, for a need's language signature (its non-English languages), a chain of
ever coarser descriptions, from its region and LDC status to "a member" (``chain``). A member whose languages
fit the signature is described by the first one that at least ``MIN_MEMBERS`` such members share once every
member's own choice is made (``recode``: a description too few members share is dropped by all of them
together, so the attacker who knows the rules cannot tell one from the other); a member whose languages do not
fit is described by the first one at least ``MIN_MEMBERS`` fitting members share. "Not stated as an LDC" and
"not an LDC" read the same, so a lone LDC is described like the other members of its region first.

The same description is used by every way a partner or the public reads a need: pages, the API, exports,
filters (a filter matches the description, never the member), the public report and the IATI file. This is the
one home of that rule; English is every delegation's shared working language and narrows nothing.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

from flask import g, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, cast, select

from matchmaker.extensions import db
from matchmaker.models import Member
from matchmaker.permissions import can, needs_whose_member_is_known
from matchmaker.reference import AREA_GROUPS, AREA_OPTIONS
from matchmaker.services.suppression import MIN_MEMBERS

GROUP_OF = {region: group for group, regions in AREA_GROUPS.items() for region in regions}
# Inside a sentence ("A member in the Americas"); elsewhere AREA_OPTIONS.
INLINE_LABELS: dict[str, object] = {"americas": _l("the Americas")}
NOT_STATED = "not_stated"  # the report's column for needs whose region is not stated


@dataclass(frozen=True)
class Origin:
    """What is said about a need's member: an area (a region, a group of regions, or None: not stated) and
    whether it is said to be an LDC (False: not said, which is also how a member that is not one reads)."""

    area: str | None
    ldc: bool = False

    @property
    def column(self) -> str:
        return self.area or NOT_STATED

    def label(self) -> str:
        if self.area is None:
            return _("A least developed country") if self.ldc else _("A member")
        area = INLINE_LABELS.get(self.area) or AREA_OPTIONS.get(self.area, self.area)
        text = _("A member in %(region)s", region=area)
        return f"{text} ({_('LDC')})" if self.ldc else text

    def covers(self, area: str) -> bool:
        """Whether a filter on ``area`` (a region or a group) finds a need described so."""
        return self.area == area or (self.area is not None and GROUP_OF.get(self.area) == area)


@dataclass(frozen=True)
class Profile:
    """A member as the public list of members describes it."""

    id: int
    region: str
    is_ldc: bool
    eligible: bool
    languages: frozenset[str]

    def speaks(self, signature: frozenset[str]) -> bool:
        return signature <= self.languages


def chain(profile: Profile) -> tuple[Origin, ...]:
    """From the finest description of a member to "a member"; each step says less."""
    group = GROUP_OF.get(profile.region, profile.region)
    steps = [Origin(profile.region, profile.is_ldc), Origin(profile.region), Origin(group, profile.is_ldc),
             Origin(group), Origin(None, profile.is_ldc), Origin(None)]
    return tuple(step for i, step in enumerate(steps) if i == 0 or step != steps[i - 1])


def recode(chains: Mapping[int, tuple[Hashable, ...]], k: int = MIN_MEMBERS,
           outsiders: Mapping[int, tuple[Hashable, ...]] | None = None) -> dict[int, Hashable]:
    """Each member's description: the first of its chain that at least ``k`` members of ``chains`` end up
    sharing. Every chain ends with the same catch-all description; when too few members share it and it is
    needed (by one of them, or by an outsider whose chain finds no description shared by ``k`` members), the
    members with the least shared descriptions join it, whole classes at a time.

    ``outsiders`` (members whose attributes do not fit, e.g. their languages) are described by the first step
    of their chain that ``k`` members of ``chains`` share (the catch-all is filled for them as above)."""
    outsiders = outsiders or {}
    step = {member: 0 for member in chains}
    _widen_small_classes(chains, step, k)
    catch_all = next((c[-1] for c in chains.values()), None) or next((c[-1] for c in outsiders.values()), None)
    _fill_catch_all(chains, step, k, catch_all, outsiders)
    final = _classes(chains, step)
    described = {member: chains[member][index] for member, index in step.items()}
    for member, c in outsiders.items():
        described[member] = next((key for key in c if len(final.get(key, ())) >= k), c[-1])
    return described


def _classes(chains: Mapping[int, tuple[Hashable, ...]], step: dict[int, int]) -> dict[Hashable, list[int]]:
    """The members sharing each description, at each member's current step of its chain."""
    found: dict[Hashable, list[int]] = defaultdict(list)
    for member, index in step.items():
        found[chains[member][index]].append(member)
    return found


def _widen_small_classes(chains: Mapping[int, tuple[Hashable, ...]], step: dict[int, int], k: int) -> None:
    """Move every member of a class of fewer than ``k`` one step down its chain, until no class moves."""
    changed = True
    while changed:
        changed = False
        for members in _classes(chains, step).values():
            if len(members) >= k:
                continue
            for member in members:
                if step[member] < len(chains[member]) - 1:
                    step[member] += 1
                    changed = True


def _fill_catch_all(chains: Mapping[int, tuple[Hashable, ...]], step: dict[int, int], k: int, catch_all: Hashable,
                    outsiders: Mapping[int, tuple[Hashable, ...]]) -> None:
    """While the catch-all is needed but shared by fewer than ``k``, the smallest other class joins it."""
    while True:
        current = _classes(chains, step)
        size = len(current.get(catch_all, ()))
        if size >= k or (size == 0 and not _stranded(current, k, outsiders)):
            return
        others = sorted(((len(m), repr(key)), key) for key, m in current.items() if key != catch_all)
        if not others:
            return  # fewer than k members in all: nothing can be said about them (the caller widens the signature)
        for member in current[others[0][1]]:
            step[member] = len(chains[member]) - 1


def _stranded(current: dict[Hashable, list[int]], k: int, outsiders: Mapping[int, tuple[Hashable, ...]]) -> bool:
    """Whether an outsider finds no description of its chain shared by ``k`` members."""
    return any(not any(len(current.get(key, ())) >= k for key in c) for c in outsiders.values())


class Population:
    """The eligible members as the public list describes them, with each language signature's descriptions."""

    def __init__(self, profiles: Iterable[Profile], k: int = MIN_MEMBERS):
        self.profiles = {p.id: p for p in profiles}
        self.k = k
        self._descriptions: dict[frozenset[str], dict[int, Origin]] = {}
        self._shown: dict[tuple[frozenset[str], frozenset[str]], frozenset[str]] = {}

    def fitting(self, signature: frozenset[str]) -> list[Profile]:
        return [p for p in self.profiles.values() if p.eligible and p.speaks(signature)]

    def shown_signature(self, signature: frozenset[str], keep: frozenset[str] = frozenset()) -> frozenset[str]:
        """The languages that may be shown: while fewer than k eligible members speak them all, the one fewest
        members speak is left out (never those in ``keep``: the text's own language shows anyway)."""
        asked = (frozenset(signature), keep)
        if asked not in self._shown:
            signature = asked[0]
            while len(self.fitting(signature)) < self.k and signature - keep:
                rarest = min(signature - keep, key=lambda code: (len(self.fitting(frozenset({code}))), code))
                signature = signature - {rarest}
            self._shown[asked] = signature
        return self._shown[asked]

    def descriptions(self, signature: frozenset[str]) -> dict[int, Origin]:
        if signature not in self._descriptions:
            fitting = {p.id: chain(p) for p in self.fitting(signature)}
            others = {p.id: chain(p) for p in self.profiles.values() if p.id not in fitting}
            self._descriptions[signature] = recode(fitting, self.k, others)
        return self._descriptions[signature]

    def describe(self, member_id: int, signature: frozenset[str]) -> Origin:
        return self.descriptions(signature).get(member_id, Origin(None))

    def candidates(self, origin: Origin, signature: frozenset[str]) -> list[int]:
        """The eligible members that fit what is shown, as the attacker who knows these rules counts them."""
        described = self.descriptions(signature)
        return [p.id for p in self.fitting(signature) if described[p.id] == origin]


def profile_of(member) -> Profile:
    return Profile(id=member.id, region=member.region, is_ldc=bool(member.is_ldc),
                   eligible=bool(member.is_developing), languages=frozenset(member.languages or ()))


_POPULATIONS: dict[tuple, Population] = {}


def population() -> Population:
    """The population of the members table (read once per request; the descriptions kept while it is unchanged)."""
    if has_app_context() and "anonymity_population" in g:
        return g.anonymity_population
    # The five columns, not Member objects: this runs on every list page, and building ~190 objects cost more
    # than the rest of the description (1.8 ms against 0.6 ms here). The languages as their stored JSON text, read
    # only when the table changed (decoding ~190 lists took half of what remained).
    columns = select(Member.id, Member.region, Member.is_ldc, Member.is_developing,
                     cast(Member.languages, Text)).order_by(Member.id)
    rows = tuple(tuple(row) for row in db.session.execute(columns))
    found = _POPULATIONS.get(rows)
    if found is None:
        if len(_POPULATIONS) > 8:
            _POPULATIONS.clear()
        found = _POPULATIONS[rows] = Population(
            Profile(id=r[0], region=r[1], is_ldc=bool(r[2]), eligible=bool(r[3]),
                    languages=frozenset(json.loads(r[4]) or ()) if r[4] else frozenset()) for r in rows)
    if has_app_context():
        g.anonymity_population = found
    return found


@dataclass(frozen=True)
class Shown:
    """What a reader who may not know the member is told about a need's origin and languages."""

    origin: Origin
    language: str
    delivery_languages: tuple[str, ...]

    @property
    def signature(self) -> frozenset[str]:
        return signature_of(self.language, self.delivery_languages)


def signature_of(language: str, delivery_languages: Iterable[str]) -> frozenset[str]:
    """The languages of a need that narrow down its member (English narrows nothing)."""
    return frozenset({language, *delivery_languages}) - {"en"}


def shown(member_id: int, language: str, delivery_languages: Iterable[str],
          pop: Population | None = None) -> Shown:
    """The description of an anonymous need's member, and the delivery languages that may be shown with it."""
    pop = pop or population()
    delivery = list(delivery_languages or ())
    keep = frozenset({language}) - {"en"}
    signature = pop.shown_signature(signature_of(language, delivery), keep)
    kept = tuple(code for code in delivery if code == "en" or code in signature)
    return Shown(origin=pop.describe(member_id, signature), language=language, delivery_languages=kept)


def named(need) -> Shown:
    """A need whose member is named: its real region and LDC status."""
    member = need.member
    return Shown(origin=Origin(member.region, bool(member.is_ldc)), language=need.language,
                 delivery_languages=tuple(need.delivery_languages or ()))


def shown_need(need, may_know_member: bool) -> Shown:
    """What a reader is shown about a need: everything when they may know the member, else the description."""
    if may_know_member:
        return named(need)
    return shown(need.member_id, need.language, need.delivery_languages)


def public_origin(need) -> Shown:
    """What anyone (the public report) may know: the member's real attributes only if it chose to be named."""
    return shown_need(need, bool(need.attributed))


def for_reader(user, need) -> Shown:
    """What ``user`` is shown about ``need``'s origin (pages, API, exports)."""
    return shown_need(need, can(user, "need.see_member", need))


def ids_shown_as(user, rows: Iterable, area: str | None = None, ldc: bool | None = None) -> list[int]:
    """Of ``rows`` (need id, member id, region, is_ldc, language, delivery languages), the needs that ``user``
    reads as being from ``area`` (a region or a group) and, when given, as an LDC or not: a filter that works on
    what is shown, so that its result says nothing more than the list does."""
    rows = list(rows)
    known = needs_whose_member_is_known(user, [row[0] for row in rows])
    pop = population()
    found = []
    for need_id, member_id, region, is_ldc, language, delivery in rows:
        origin = (Origin(region, bool(is_ldc)) if need_id in known
                  else shown(member_id, language, delivery or (), pop).origin)
        if area and not origin.covers(area):
            continue
        if ldc is not None and origin.ldc != ldc:
            continue
        found.append(need_id)
    return found
