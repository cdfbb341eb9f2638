"""Controlled vocabularies shared by the models, the forms, the demo data and the engine adapter."""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_babel import ngettext
from wtforms.fields.choices import SelectChoice

# UNCTAD eTrade for all policy areas; the legal framework is split into its five parts.
POLICY_AREAS: dict[str, object] = {
    "readiness": _l("E-commerce readiness assessment and strategy"),
    "ict_infrastructure": _l("ICT infrastructure and services"),
    "trade_logistics": _l("Trade logistics and facilitation"),
    "payments": _l("Payment solutions"),
    "e_transactions": _l("E-transactions and e-signatures"),
    "consumer_protection": _l("Consumer protection"),
    "data_protection": _l("Data protection and privacy"),
    "cybersecurity": _l("Cybercrime and cybersecurity"),
    "intellectual_property": _l("Intellectual property"),
    "skills": _l("Skills development"),
    "financing": _l("Access to financing"),
}

SUPPORT_KINDS: dict[str, object] = {
    "legal_advice": _l("Legal and regulatory advice"),
    "policy_advice": _l("Policy and strategy advice"),
    "assessment": _l("Assessment or study"),
    "training": _l("Training and capacity building"),
    "technical_assistance": _l("Technical assistance and implementation"),
    "peer_exchange": _l("Peer learning and exchange"),
    "funding": _l("Funding or grants"),
}

BENEFICIARIES: dict[str, object] = {
    "policymakers": _l("Policymakers and ministries"),
    "regulators": _l("Regulators"),
    "customs": _l("Customs and border agencies"),
    "law_enforcement": _l("Law enforcement and judiciary"),
    "msmes": _l("MSMEs"),
    "women_entrepreneurs": _l("Women entrepreneurs"),
    "youth": _l("Young people"),
    "consumers": _l("Consumers"),
    "postal_operators": _l("Postal operators"),
}

# Languages in which a need or offering can be written (the WTO's three working languages).
TEXT_LANGUAGES: dict[str, object] = {
    "en": _l("English"),
    "fr": _l("French"),
    "es": _l("Spanish"),
}

# Languages in which assistance can be delivered.
DELIVERY_LANGUAGES: dict[str, object] = {
    "en": _l("English"),
    "fr": _l("French"),
    "es": _l("Spanish"),
    "ar": _l("Arabic"),
    "pt": _l("Portuguese"),
    "ru": _l("Russian"),
    "zh": _l("Chinese"),
}

REGIONS: dict[str, object] = {
    "africa": _l("Africa"),
    "asia": _l("Asia"),
    "pacific": _l("Pacific"),
    "latin_america": _l("Latin America"),
    "caribbean": _l("Caribbean"),
    "middle_east": _l("Middle East"),
    "europe": _l("Europe"),
    "cis": _l("Commonwealth of Independent States"),
    "north_america": _l("North America"),
}

# Wider areas that an anonymous need's region is generalised to when its region would single out its member
# (services/anonymity.py); the filters of needs offer them too.
AREA_GROUPS: dict[str, tuple[str, ...]] = {
    "americas": ("latin_america", "caribbean", "north_america"),
    "asia_pacific": ("asia", "pacific"),
    "europe_cis": ("europe", "cis"),
}
AREA_OPTIONS: dict[str, object] = {
    **REGIONS,
    "americas": _l("The Americas"),
    "asia_pacific": _l("Asia and the Pacific"),
    "europe_cis": _l("Europe and Central Asia"),
}

ORGANISATION_KINDS: dict[str, object] = {
    "intergovernmental": _l("Intergovernmental organisation"),
    "bilateral_donor": _l("Bilateral donor"),
    "development_bank": _l("Development bank"),
    "ngo": _l("Non-governmental organisation"),
    "private_sector": _l("Private sector"),
    "academia": _l("Academia"),
}

# Who may receive an offering.
ELIGIBILITY: dict[str, object] = {
    "all_developing": _l("All developing members and LDCs"),
    "ldc_only": _l("Least developed countries (LDCs) only"),
    "regions": _l("Listed regions"),
    "members": _l("Listed members"),
}

PRIORITIES: dict[str, object] = {
    "high": _l("High"),
    "medium": _l("Medium"),
    "low": _l("Low"),
}


# The controlled vocabularies by the name the API publishes them under (GET /api/v1/vocabularies).
VOCABULARIES: dict[str, dict[str, object]] = {
    "policy_areas": POLICY_AREAS, "support_kinds": SUPPORT_KINDS, "beneficiaries": BENEFICIARIES,
    "text_languages": TEXT_LANGUAGES, "delivery_languages": DELIVERY_LANGUAGES, "regions": REGIONS,
    "eligibility": ELIGIBILITY, "priorities": PRIORITIES,
}


def choices(vocabulary: dict[str, object]) -> list[SelectChoice]:
    """WTForms choices for a vocabulary, in its declared order."""
    return [SelectChoice(code, label) for code, label in vocabulary.items()]


def options(pairs) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def with_any(choice_list: list[SelectChoice]) -> list[SelectChoice]:
    """A filter's choices, led by an empty "Any" option."""
    return [SelectChoice("", _l("Any"))] + choice_list

NEED_STATUS_LABELS: dict[str, object] = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "open": _l("Open"),
    "matched": _l("Matched"),
    "in_progress": _l("In progress"),
    "fulfilled": _l("Fulfilled"),
    "withdrawn": _l("Withdrawn"),
    "closed": _l("Closed"),
}

# A context of their own: in French an offering ("offre") is feminine and a need ("besoin") masculine.
OFFERING_STATUS_LABELS: dict[str, object] = {
    "draft": _lp("offering status", "Draft"),
    "published": _lp("offering status", "Published"),
    "expired": _lp("offering status", "Expired"),
    "closed": _lp("offering status", "Closed"),
}

ROLE_LABELS: dict[str, object] = {
    "delegate": _l("Delegate"),
    "partner": _l("Partner"),
    "facilitator": _l("Facilitator"),
    "admin": _l("Administrator"),
}

ACTION_LABELS: dict[str, object] = {
    "submit": _l("Submit for screening"),
    "withdraw": _l("Withdraw"),
    "open": _l("Open for matching"),
    "return": _l("Return to the delegation"),
    "close": _l("Close"),
    "publish": _l("Publish"),
}

MATCH_STATUS_LABELS: dict[str, object] = {
    "proposed": _l("Proposed"),
    "approved": _l("Approved — parties introduced"),
    "rejected": _l("Rejected"),
    "accepted": _l("Accepted by both parties"),
    "declined": _l("Declined"),
    "meeting_held": _l("Meeting held"),
    "agreement_reached": _l("Agreement reached"),
    "in_delivery": _l("In delivery"),
    "completed": _l("Completed"),
    "closed_no_result": _l("Closed without result"),
    "superseded": _l("Superseded"),
    # Its own context: the need status "Withdrawn" agrees with a different noun in French and Spanish.
    "withdrawn": _lp("match status", "Withdrawn"),
}

OUTCOME_LABELS: dict[str, object] = {
    "did_not_take_place": _l("Did not take place"),
    "insufficient_interest": _l("Insufficient interest"),
    "informative": _l("Informative, no cooperation"),
    "cooperation_possible": _l("Cooperation possible"),
}

RESPONSE_LABELS: dict[str, object] = {
    "pending": _l("Waiting for an answer"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
}

EXCLUSION_LABELS: dict[str, object] = {
    "not_eligible": _l("the member is not eligible"),
    "no_common_language": _l("no common language"),
    "no_capacity": _l("no capacity left"),
    "deadline_passed": _l("application deadline passed"),
}

MATCH_EVENT_LABELS: dict[str, object] = {
    "match.proposed": _l("Proposed by the engine"),
    "match.proposed_again": _l("Proposed again by a new run"),
    "match.created_by_hand": _l("Created by hand by a facilitator"),
    "match.superseded": _l("Superseded: the engine no longer proposes it"),
    "match.approve": _l("Approved: the parties were introduced"),
    "match.reject": _l("Rejected"),
    "match.withdraw": _l("Withdrawn"),
    "match.accept": _l("Introduction accepted"),
    "match.accepted_by_attendance": _l("Introduction accepted by taking part in a matchmaking session"),
    "match.decline": _l("Introduction declined"),
    "match.meeting_held": _l("Meeting held"),
    "match.agreement": _l("Agreement reached"),
    "match.delivery": _l("Delivery started"),
    "match.complete": _l("Completed"),
    "match.close": _l("Closed without result"),
}

# Match events written by the engine: their actor started the run, the engine made the proposal.
ENGINE_EVENTS = ("match.proposed", "match.proposed_again", "match.superseded")

PROGRESS_LABELS: dict[str, object] = {
    "meeting_held": _l("Record the meeting and its outcome"),
    "agreement": _l("Agreement reached"),
    "delivery": _l("Delivery has started"),
    "complete": _l("Completed"),
    "close": _l("Close without result"),
}


@lru_cache(maxsize=1)
def _concept_names() -> dict[str, dict[str, str]]:
    """English label of each engine glossary concept -> its first name in French and Spanish."""
    path = Path(__file__).resolve().parent / "engine" / "data" / "glossary.tsv"
    names: dict[str, dict[str, str]] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if not row.get("concept") or row["concept"].startswith("#"):
                continue
            en = row["en"].split("|")[0].strip()
            names[en] = {lang: (row.get(lang) or "").split("|")[0].strip() or en for lang in ("fr", "es")}
    return names


_OTHER_TERMS = re.compile(r"^(\d+) other terms$")


def term_label(label: str, locale: str) -> str:
    """An explanation term as the engine labels it, for display: a concept of the glossary as a "shared idea" and
    'N other terms' in the user's language (a word of the texts stays as it is)."""
    if label.startswith("concept: "):
        name = label[len("concept: "):]
        return str(_("shared idea: %(name)s", name=_concept_names().get(name, {}).get(locale, name)))
    other = _OTHER_TERMS.match(label)
    if other:
        count = int(other.group(1))
        return str(ngettext("%(num)d other term", "%(num)d other terms", count))
    return label

SESSION_STATUS_LABELS: dict[str, object] = {
    "planning": _l("Being planned"),
    "held": _l("Held"),
    "closed": _lp("session status", "Closed"),
    "cancelled": _l("Cancelled"),
}

SESSION_MODE_LABELS: dict[str, object] = {
    "online": _l("Online"),
    "in_person": _l("In person"),
}

# Why a bilateral meeting has no place on a session's agenda.
UNPLACED_REASON_LABELS: dict[str, object] = {
    "no_common_round": _l("the two sides share no time slot they can both attend"),
    "party_busy": _l("every slot both sides can attend is taken by another meeting of one of them"),
    "no_table": _l("every slot both sides can attend has all its tables taken"),
    "conflict": _l("the slots both sides can attend are full or taken by their other meetings"),
    "match_inactive": _l("the match is no longer active"),
    "session_changed": _l("the session's times or tables changed"),
}

SESSION_ACTION_LABELS: dict[str, object] = {
    "held": _l("Mark the session as held"),
    "close": _l("Close the session and share its summary"),
    "cancel": _l("Cancel the session"),
}

# The audit log in sentences: %(who)s is the person (or the system), %(record)s the record's name as a link.
AUDIT_SENTENCES: dict[str, object] = {
    "user.login": _l("%(who)s signed in"),
    "user.logout": _l("%(who)s signed out"),
    "user.invited": _l("%(who)s invited %(record)s"),
    "user.invitation_accepted": _l("%(who)s accepted the invitation and chose a password"),
    "user.password_set": _l("%(who)s set the password of %(record)s"),
    "user.password_reset": _l("%(who)s chose a new password through a reset link"),
    "user.password_changed": _l("%(who)s changed their password"),
    "user.reset_requested": _l("%(who)s asked for a password reset link"),
    "user.profile_updated": _l("%(who)s updated their name or language"),
    "user.language_changed": _l("%(who)s chose another language"),
    "user.updated": _l("%(who)s changed the account of %(record)s"),
    "user.created_by_cli": _l("%(who)s created the account of %(record)s from the command line"),
    "organisation.created": _l("%(who)s added the organisation %(record)s"),
    "organisation.updated": _l("%(who)s changed the organisation %(record)s"),
    "need.created": _l("%(who)s drafted the need %(record)s"),
    "need.seeded": _l("%(who)s loaded the demo need %(record)s"),
    "need.updated": _l("%(who)s edited the need %(record)s"),
    "need.submit": _l("%(who)s submitted the need %(record)s for screening"),
    "need.withdraw": _l("%(who)s withdrew the need %(record)s"),
    "need.open": _l("%(who)s opened the need %(record)s for matching"),
    "need.return": _l("%(who)s returned the need %(record)s to its delegation"),
    "need.close": _l("%(who)s closed the need %(record)s"),
    "need.status_followed_matches": _l("The need %(record)s changed status with its matches (after an action by "
                                       "%(who)s)"),
    "offering.created": _l("%(who)s drafted the offering %(record)s"),
    "offering.seeded": _l("%(who)s loaded the demo offering %(record)s"),
    "offering.updated": _l("%(who)s edited the offering %(record)s"),
    "offering.publish": _l("%(who)s published the offering %(record)s"),
    "offering.close": _l("%(who)s closed the offering %(record)s"),
    "offering.iati_imported": _l("%(who)s imported the offering %(record)s from an IATI file"),
    "matching.run": _l("%(who)s ran matching"),
    "match.proposed": _l("The engine proposed %(record)s (matching started by %(who)s)"),
    "match.proposed_again": _l("The engine proposed %(record)s again (matching started by %(who)s)"),
    "match.superseded": _l("The engine no longer proposes %(record)s (matching started by %(who)s)"),
    "match.created_by_hand": _l("%(who)s paired %(record)s by hand"),
    "match.approve": _l("%(who)s approved %(record)s and introduced the parties"),
    "match.reject": _l("%(who)s rejected %(record)s"),
    "match.withdraw": _l("%(who)s withdrew %(record)s"),
    "match.accept": _l("%(who)s accepted the introduction %(record)s"),
    "match.accepted_by_attendance": _l("%(who)s recorded that the parties of %(record)s met at a matchmaking "
                                       "session, which accepts the introduction"),
    "match.decline": _l("%(who)s declined the introduction %(record)s"),
    "match.meeting_held": _l("%(who)s recorded the meeting of %(record)s and its outcome"),
    "match.agreement": _l("%(who)s recorded an agreement on %(record)s"),
    "match.delivery": _l("%(who)s recorded that delivery started on %(record)s"),
    "match.complete": _l("%(who)s marked %(record)s as completed"),
    "match.close": _l("%(who)s closed %(record)s without result"),
    "session.create": _l("%(who)s planned the session %(record)s"),
    "session.update": _l("%(who)s changed the session %(record)s"),
    "session.invite": _l("%(who)s invited a match to the session %(record)s"),
    "session.uninvite": _l("%(who)s took a match off the session %(record)s"),
    "session.availability": _l("%(who)s gave their availability for the session %(record)s"),
    "session.agenda_built": _l("%(who)s built the agenda of the session %(record)s"),
    "session.meeting_moved": _l("%(who)s moved a meeting of the session %(record)s"),
    "session.meetings_swapped": _l("%(who)s swapped two meetings of the session %(record)s"),
    "session.held": _l("%(who)s marked the session %(record)s as held"),
    "session.close": _l("%(who)s closed the session %(record)s and shared its summary"),
    "session.cancel": _l("%(who)s cancelled the session %(record)s"),
    "session.outcome": _l("%(who)s recorded the outcome of a meeting of the session %(record)s"),
    "session.summary": _l("%(who)s wrote the summaries of the session %(record)s"),
    "import.uploaded": _l("%(who)s uploaded the file %(record)s to import"),
    "import.confirmed": _l("%(who)s imported the file %(record)s"),
    "import.cancelled": _l("%(who)s discarded the file %(record)s without importing it"),
    "api_token.created": _l("%(who)s created the API token %(record)s"),
    "api_token.revoked": _l("%(who)s revoked the API token %(record)s"),
    "report.publish": _l("%(who)s published edition %(record)s of the public report"),
    "sign_in.lock_cleared": _l("%(who)s lifted the sign-in lock on %(record)s"),
}
# An event this list does not know yet (a new kind of action) still reads as a sentence.
AUDIT_FALLBACK_SENTENCE = _l("%(who)s made a change to %(record)s")
# Sign-ins have a page of their own; the audit log shows the changes.
SIGN_IN_ACTIONS = ("user.login", "user.logout")
