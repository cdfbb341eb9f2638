"""Records with sensible defaults for the tests (the ``make`` fixture); every call commits."""
from __future__ import annotations

from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import Match, Member, Need, Offering, Organisation, User
from matchmaker.services.accounts import hash_password
from tests.helpers import TEST_PASSWORD


class Factory:
    """Builds records with sensible defaults; every call commits."""

    def __init__(self, app):
        self.app = app
        self.counter = 0

    def _n(self) -> int:
        self.counter += 1
        return self.counter

    def member(self, code: str) -> Member:
        return db.session.scalar(select(Member).where(Member.code == code))

    def organisation(self, acronym: str | None = None) -> Organisation:
        n = self._n()
        org = Organisation(name=f"Organisation {n}", acronym=acronym or f"ORG{n}", kind="intergovernmental")
        db.session.add(org)
        db.session.commit()
        return org

    def user(self, role: str, member: str | None = None, organisation: Organisation | None = None,
             password: str = TEST_PASSWORD, email: str | None = None, **kw) -> User:
        n = self._n()
        user = User(email=email or f"{role}{n}@example.org", name=f"{role.title()} {n}", role=role,
                    member=self.member(member) if member else None, organisation=organisation,
                    password_hash=hash_password(password) if password else None, language=kw.pop("language", "en"),
                    active=kw.pop("active", True), **kw)
        db.session.add(user)
        db.session.commit()
        return user

    def need(self, member: str = "BJ", status: str = "open", **kw) -> Need:
        n = self._n()
        values = dict(title=f"Need number {n} for e-signature law", description="We need help drafting an electronic "
                      "signatures law and training our regulators on electronic transactions.", language="en",
                      policy_areas=["e_transactions"], support_kinds=["legal_advice"], delivery_languages=["en", "fr"],
                      beneficiaries=["regulators"], priority="medium", attributed=False)
        values.update(kw)
        need = Need(member=self.member(member), status=status, **values)
        db.session.add(need)
        db.session.commit()
        return need

    def offering(self, organisation: Organisation, status: str = "published", **kw) -> Offering:
        n = self._n()
        values = dict(title=f"Offering number {n} on cyber laws", description="Legislative advice on cybercrime "
                      "laws and training for judges and prosecutors on electronic evidence.", language="en",
                      policy_areas=["cybersecurity"], support_kinds=["legal_advice", "training"],
                      delivery_languages=["en", "fr", "es"], eligibility="all_developing", capacity=3)
        values.update(kw)
        offering = Offering(organisation=organisation, status=status, **values)
        db.session.add(offering)
        db.session.commit()
        return offering


    def match(self, need: Need, offering: Offering, status: str = "proposed", score: float = 0.5, **kw):
        values = dict(engine_version="test", origin="engine", terms=[["signature", score]],
                      shared_facets={"delivery_languages": ["en"]})
        values.update(kw)
        match = Match(need=need, offering=offering, status=status, score=score, text_score=score, **values)
        db.session.add(match)
        db.session.commit()
        return match
