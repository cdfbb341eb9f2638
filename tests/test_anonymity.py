"""k-anonymous descriptions of an anonymous need's member (services/anonymity.py), checked exhaustively over the
reference data: whatever the member and the languages, what is shown fits at least 3 eligible members, also for
an attacker who knows the rules (the members whose own need would read the same); and the filters partners use
match what is shown, never the member behind it."""
from __future__ import annotations

from itertools import combinations

import pytest
from sqlalchemy import select

from matchmaker.api.tokens import create_token
from matchmaker.extensions import db
from matchmaker.models import Member
from matchmaker.reference import DELIVERY_LANGUAGES, TEXT_LANGUAGES
from matchmaker.services import anonymity

SUBSETS = [set(c) for n in range(0, 3) for c in combinations(DELIVERY_LANGUAGES, n)]


def test_every_member_with_any_languages_reads_as_one_of_three(ctx):
    population = anonymity.population()
    members = list(db.session.scalars(select(Member)))
    checked = 0
    for language in TEXT_LANGUAGES:
        for delivery in SUBSETS:
            seen = {}
            for member in members:
                view = anonymity.shown(member.id, language, sorted(delivery))
                assert language in ("en", *view.delivery_languages) or language not in delivery
                key = (view.origin, view.signature)
                if key not in seen:
                    seen[key] = population.candidates(view.origin, view.signature)
                assert len(seen[key]) >= 3, (member.code, language, delivery, view, seen[key])
                checked += 1
    assert checked > 10_000


@pytest.mark.parametrize("code, language, delivery, expected", [
    ("HT", "fr", ["fr"], "A member"),  # the only Caribbean LDC, and French narrows the Americas to it
    ("SB", "en", ["en"], "A member in Pacific"),  # the only Pacific LDC: its status is not stated
    ("YE", "en", ["en"], "A member in Middle East"),
    ("DO", "es", ["es"], "A member"),  # Cuba and the Dominican Republic are the Spanish-speaking Caribbean
    ("BJ", "fr", ["fr"], "A member in Africa (LDC)"),  # many French-speaking African LDCs
    ("PE", "es", ["es"], "A member in Latin America"),
    ("MZ", "en", ["pt"], "A member in Africa (LDC)"),  # Angola, Guinea-Bissau, Mozambique
])
def test_lone_members_are_described_more_widely(ctx, code, language, delivery, expected):
    member = db.session.scalar(select(Member).where(Member.code == code))
    assert anonymity.shown(member.id, language, delivery).origin.label() == expected


def test_a_language_too_few_members_speak_is_left_out_of_what_partners_read(ctx):
    # French, Spanish and Portuguese together: Equatorial Guinea alone.
    member = db.session.scalar(select(Member).where(Member.code == "GQ"))
    view = anonymity.shown(member.id, "es", ["es", "fr", "pt"])
    assert "es" in view.delivery_languages and len(view.delivery_languages) < 3
    assert len(anonymity.population().candidates(view.origin, view.signature)) >= 3


def test_partners_filter_on_what_they_read(app, make, signed_in):
    org = make.organisation()
    partner = make.user("partner", organisation=org)
    haiti = make.need("HT", "open", language="fr", delivery_languages=["fr"])
    jamaica = make.need("JM", "open", language="en", delivery_languages=["en"])
    named = make.need("HT", "open", language="fr", delivery_languages=["fr"], attributed=True)
    client = signed_in(partner)

    def listed(query: str) -> set[int]:
        body = client.get(f"/needs/?{query}").get_data(as_text=True)
        return {n.id for n in (haiti, jamaica, named) if f'href="/needs/{n.id}"' in body}

    # Haiti's anonymous need reads "A member": no region filter finds it, "LDCs only" neither.
    assert listed("region=caribbean") == {jamaica.id, named.id}
    assert listed("region=americas") == {jamaica.id, named.id}
    assert listed("ldc=yes") == {named.id}
    assert haiti.id in {n for n in listed("ldc=no")}
    _token, secret = create_token(partner, "t")
    db.session.commit()
    api = client.get("/api/v1/needs?region=caribbean", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert {item["id"] for item in api["items"]} == {jamaica.id, named.id}
    record = client.get(f"/api/v1/needs/{haiti.id}", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert record["member"] is None and record["region"] is None and record["is_ldc"] is None
    # Staff filter on the members themselves.
    staff = signed_in(make.user("facilitator"))
    body = staff.get("/needs/?region=caribbean&ldc=yes").get_data(as_text=True)
    assert f'href="/needs/{haiti.id}"' in body and f'href="/needs/{jamaica.id}"' not in body


def test_every_language_reads_the_same(app, make, signed_in):
    from flask_babel import refresh

    partner = make.user("partner", organisation=make.organisation())
    need = make.need("SB", "open", language="en", delivery_languages=["en"])
    client = signed_in(partner)
    for language, words in (("en", "A member in Pacific"), ("fr", "Un Membre de la région : Pacifique"),
                            ("es", "Un Miembro de la región: Pacífico")):
        partner.language = language  # the account's language, as chosen on the account page
        db.session.commit()
        refresh()  # the test's own app context outlives each request: forget the language it chose
        page = client.get(f"/needs/{need.id}")
        assert page.status_code == 200 and words in page.get_data(as_text=True).replace("\u00a0", " "), language
        assert "(LDC)" not in page.get_data(as_text=True) and "(PMA)" not in page.get_data(as_text=True)
