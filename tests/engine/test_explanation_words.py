"""Explanations only from the texts (issue 20): every term of a stored proposal is a word of both texts, in each
text's own words ("paiements / payments" for a translation); a feature no word of each text shows earns no share."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from matchmaker.engine.tokens import lowered_words, stemmer
from matchmaker.extensions import db
from matchmaker.models import Match
from matchmaker.services import matching


def _words(lang: str, *texts: str) -> set[str]:
    """The texts' words and their stems in the texts' language (a term may show "payment" of "payments")."""
    found = {w for t in texts for w in lowered_words(t or "")}
    return found | {stemmer(lang)(w) for w in found}


def _in(label_words: list[str], words: set[str], lang: str) -> bool:
    return bool(label_words) and all(w in words or stemmer(lang)(w) in words for w in label_words)


def absent_terms(match: Match) -> list[str]:
    """The labels of a match's terms that are not words of both its texts (a pair "a / b": one in each)."""
    need, offering = match.need, match.offering
    need_words = _words(need.language, need.title, need.description)
    offering_words = _words(offering.language, offering.title, offering.description)
    in_need = lambda ws: _in(ws, need_words, need.language)  # noqa: E731
    in_offering = lambda ws: _in(ws, offering_words, offering.language)  # noqa: E731
    out = []
    for label, _share in match.terms:
        if label.endswith(" other terms") or label.startswith("concept: "):
            continue    # a glossary concept is met by a phrase of each text (the page marks them)
        parts = [lowered_words(p) for p in label.split(" / ")]
        if len(parts) == 1:
            ok = in_need(parts[0]) and in_offering(parts[0])
        else:
            a, b = parts[0], parts[1]
            ok = (in_need(a) and in_offering(b)) or (in_need(b) and in_offering(a))
        if not ok:
            out.append(label)
    return out


@pytest.fixture
def demo_run(app, ctx):
    from matchmaker.services.demo import seed_demo

    matching.INDEX.reset()
    seed_demo()
    matching.run_matching(None)
    db.session.commit()
    yield
    matching.INDEX.reset()


def test_every_explanation_term_of_the_demo_is_a_word_of_both_texts(demo_run):
    matches = db.session.scalars(select(Match).where(Match.origin == "engine")).all()
    assert matches
    absent = {m.id: absent_terms(m) for m in matches}
    absent = {k: v for k, v in absent.items() if v}
    assert not absent, absent


def test_a_term_no_word_of_a_side_shows_goes_to_the_other_terms():
    from matchmaker.engine.labels import label_match_terms

    need = [("Paiements", "fr"), ("Les paiements des commerçants", "fr")]
    offering = [("Payments", "en"), ("Mobile payments for traders", "en")]
    terms = [("payments", 0.1), ("nombreuses", 0.05), ("2 other terms", 0.02)]
    shown = label_match_terms(terms, need, offering)
    assert shown == [("paiements / payments", 0.1), ("3 other terms", pytest.approx(0.07))]
    assert sum(v for _, v in shown) == pytest.approx(sum(v for _, v in terms))


def _filler_corpus():
    from matchmaker.engine import Record

    topics = {"payments": "mobile wallets", "cybersecurity": "incident response", "skills": "coding bootcamps",
              "trade_logistics": "customs clearance"}
    needs, offerings = [], []
    for i, (area, words) in enumerate(topics.items()):
        for j in range(3):
            needs.append(Record(10 * i + j + 1, "Country assistance", f"Country assistance for {words} {j}", "en",
                                policy_areas=frozenset({area})))
        offerings.append(Record(100 + i, "Country assistance", f"Country assistance with {words}", "en",
                                policy_areas=frozenset({area})))
    return needs, offerings


def test_a_word_spread_over_every_policy_area_earns_no_share_in_an_explanation():
    from matchmaker.engine import Engine, EngineSettings

    needs, offerings = _filler_corpus()
    engine = Engine().fit(needs, offerings)
    top = engine.propose_for_need(needs[0], k=1).proposals[0]
    assert top.offering_id == 100
    labels = [label for label, _ in top.terms]
    assert "country" not in labels and "assistance" not in labels
    assert any(label in ("wallets", "mobile", "concept: mobile money") for label in labels)
    assert sum(v for _, v in top.terms) == pytest.approx(top.text_score)
    # the same score as without the rule: fillers keep their weight, only their share is not shown
    plain = Engine(EngineSettings(filler_kl=0.0)).fit(needs, offerings).propose_for_need(needs[0], k=1).proposals[0]
    assert plain.score == pytest.approx(top.score)
    assert "assistance" in [label for label, _ in plain.terms]
