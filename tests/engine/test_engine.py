"""Behaviour of the matching engine, without any app or database."""
from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from matchmaker.engine import (
    DEADLINE_PASSED,
    ENGINE_VERSION,
    NO_CAPACITY,
    NO_COMMON_LANGUAGE,
    NOT_ELIGIBLE,
    Engine,
    EngineSettings,
    Record,
)

TODAY = dt.date(2026, 11, 23)
REPO = Path(__file__).resolve().parents[2]


def need(id, title, desc, lang="en", pa=(), sk=(), langs=None, member="KE", ldc=False, region="africa"):
    return Record(id=id, title=title, description=desc, language=lang, policy_areas=frozenset(pa),
                  support_kinds=frozenset(sk), delivery_languages=frozenset(langs or {lang}),
                  member=member, member_is_ldc=ldc, member_region=region)


def offering(id, title, desc, lang="en", pa=(), sk=(), langs=("en", "fr", "es"), eligibility="all_developing",
             regions=(), members=(), capacity=None, deadline=None):
    return Record(id=id, title=title, description=desc, language=lang, policy_areas=frozenset(pa),
                  support_kinds=frozenset(sk), delivery_languages=frozenset(langs), eligibility=eligibility,
                  eligible_regions=frozenset(regions), eligible_members=frozenset(members),
                  capacity_left=capacity, deadline=deadline)


OFFERINGS = [
    offering(1, "Electronic signature and e-transactions law reform",
             "Legal advice to draft laws on electronic signatures, electronic contracts and electronic "
             "transactions, aligned with UNCITRAL model laws.", pa=["e_transactions"], sk=["legal_advice"]),
    offering(2, "Cybercrime legislation and judicial training",
             "Training of judges, prosecutors and police on cybercrime, electronic evidence and the Budapest "
             "Convention.", pa=["cybersecurity"], sk=["training"]),
    offering(3, "Data protection authority set-up",
             "Technical assistance to draft a personal data protection law and set up the data protection "
             "authority.", pa=["data_protection"], sk=["technical_assistance", "legal_advice"]),
    offering(4, "Mobile money and digital payments regulation",
             "Policy advice for central banks on mobile money, digital payments and financial inclusion.",
             pa=["payments"], sk=["policy_advice"]),
    offering(5, "Broadband infrastructure financing",
             "Loans and grants to extend broadband and fibre backbone networks to rural areas.",
             pa=["ict_infrastructure"], sk=["funding"]),
    offering(6, "Digital skills for small businesses",
             "Training for SMEs and women entrepreneurs on selling online, digital marketing and e-commerce "
             "platforms.", pa=["skills"], sk=["training"]),
    offering(7, "Trade facilitation and customs single window",
             "Support to set up a customs single window and simplify border procedures for parcels and "
             "e-commerce shipments.", pa=["trade_logistics"], sk=["technical_assistance"]),
    offering(8, "Protection des consommateurs en ligne",
             "Conseil juridique pour la protection des consommateurs dans le commerce électronique.", lang="fr",
             pa=["consumer_protection"], sk=["legal_advice"], langs=("fr",)),
]

NEEDS = [
    need(101, "E-signature law", "We need help drafting a law on electronic signatures and electronic contracts.",
         pa=["e_transactions"], sk=["legal_advice"]),
    need(102, "Cybercriminalité", "Nous voulons former nos juges et procureurs à la lutte contre la "
              "cybercriminalité et aux preuves électroniques.", lang="fr", pa=["cybersecurity"], sk=["training"],
         langs={"fr"}),
    need(103, "Pagos móviles", "Necesitamos regular el dinero móvil y los pagos digitales con el banco central.",
         lang="es", pa=["payments"], langs={"es", "en"}, member="PE", region="latin_america"),
    need(104, "Protection des données", "Nous devons adopter une loi sur la protection des données personnelles.",
         lang="fr", pa=["data_protection"], langs={"fr", "en"}, member="SN", ldc=True),
]


@pytest.fixture()
def engine():
    return Engine().fit(NEEDS, OFFERINGS)


def top_ids(ranking):
    return [p.offering_id if ranking.side == "need" else p.need_id for p in ranking.proposals]


# ------------------------------------------------------------------ ranking and languages
def test_version_string():
    assert isinstance(ENGINE_VERSION, str) and ENGINE_VERSION


def test_english_need_finds_its_programme_first(engine):
    r = engine.propose_for_need(NEEDS[0], k=3, today=TODAY)
    assert top_ids(r)[0] == 1


@pytest.mark.parametrize("need_index,expected", [(1, 2), (2, 4), (3, 3)])
def test_french_and_spanish_needs_find_english_programmes(engine, need_index, expected):
    r = engine.propose_for_need(NEEDS[need_index], k=3, today=TODAY)
    assert top_ids(r)[0] == expected


def test_english_offering_finds_french_need(engine):
    r = engine.propose_for_offering(OFFERINGS[1], k=2, today=TODAY)
    assert top_ids(r)[0] == 102


def test_french_offering_found_by_english_need():
    n = need(201, "Online consumer protection", "Consumers who buy online need protection and legal remedies.",
             langs={"en", "fr"})
    eng = Engine().fit([n], OFFERINGS)
    assert top_ids(eng.propose_for_need(n, k=3, today=TODAY))[0] == 8


def test_cross_lingual_explanation_names_concepts(engine):
    p = engine.propose_for_need(NEEDS[1], k=1, today=TODAY).proposals[0]
    labels = [t for t, _ in p.terms]
    assert any(t.startswith("concept: ") for t in labels), labels


def test_soft_facets_raise_the_score(engine):
    plain = Engine(EngineSettings(policy_area_weight=0.0, support_kind_weight=0.0)).fit(NEEDS, OFFERINGS)
    a = engine.propose_for_need(NEEDS[0], k=1, today=TODAY).proposals[0]
    b = plain.propose_for_need(NEEDS[0], k=1, today=TODAY).proposals[0]
    assert a.offering_id == b.offering_id
    assert a.score > b.score
    assert a.shared_facets["policy_areas"] == ["e_transactions"]
    assert a.shared_facets["support_kinds"] == ["legal_advice"]
    assert b.score == pytest.approx(a.text_score, abs=1e-6)


def test_explanations_sum_to_the_score(engine):
    for n in NEEDS:
        for p in engine.propose_for_need(n, k=5, today=TODAY).proposals:
            total = sum(v for _, v in p.terms) + sum(p.facet_bonus.values())
            assert total == pytest.approx(p.score, abs=1e-9)
            assert sum(v for _, v in p.terms) == pytest.approx(p.text_score, abs=1e-9)
            assert all(v > 0 for _, v in p.terms)
    for rk in engine.all_pairs(k=5, today=TODAY).values():
        for p in rk.proposals:
            assert sum(v for _, v in p.terms) + sum(p.facet_bonus.values()) == pytest.approx(p.score, abs=1e-9)


def test_scores_equal_in_both_directions_and_all_pairs(engine):
    allp = engine.all_pairs(k=10, today=TODAY)
    for n in NEEDS:
        single = engine.propose_for_need(n, k=10, today=TODAY)
        assert [p.offering_id for p in single.proposals] == [p.offering_id for p in allp[n.id].proposals]
        assert [p.score for p in single.proposals] == pytest.approx([p.score for p in allp[n.id].proposals], abs=2e-6)
        assert single.exclusions == allp[n.id].exclusions
    for o in OFFERINGS:
        for p in engine.propose_for_offering(o, k=10, today=TODAY).proposals:
            match = [q for q in allp[p.need_id].proposals if q.offering_id == o.id]
            assert match and match[0].score == pytest.approx(p.score, abs=1e-6)


# ------------------------------------------------------------------ hard rules
def _exclusion_case(**kw):
    n = need(1, "Cybercrime", "Training judges on cybercrime and electronic evidence.", member="KE", ldc=False,
             region="africa", langs={"en"})
    o = offering(9, "Cybercrime training", "Training judges and prosecutors on cybercrime and electronic evidence.",
                 **kw)
    eng = Engine().fit([n], [o, OFFERINGS[0]])
    return eng.propose_for_need(n, k=5, today=TODAY), eng.propose_for_offering(o, k=5, today=TODAY)


@pytest.mark.parametrize("kw,reason", [
    (dict(eligibility="ldc_only"), NOT_ELIGIBLE),
    (dict(eligibility="regions", regions=["latin_america", "asia"]), NOT_ELIGIBLE),
    (dict(eligibility="members", members=["PE", "SN"]), NOT_ELIGIBLE),
    (dict(langs=("fr", "es")), NO_COMMON_LANGUAGE),
    (dict(capacity=0), NO_CAPACITY),
    (dict(deadline=TODAY - dt.timedelta(days=1)), DEADLINE_PASSED),
])
def test_every_exclusion_reason(kw, reason):
    for_need, for_offering = _exclusion_case(**kw)
    assert 9 not in top_ids(for_need)
    assert (9, reason) in [tuple(e) for e in for_need.exclusions]
    assert for_offering.proposals == []
    assert (1, reason) in [tuple(e) for e in for_offering.exclusions]


@pytest.mark.parametrize("kw", [
    dict(eligibility="regions", regions=["africa"]), dict(eligibility="members", members=["KE"]),
    dict(capacity=3), dict(deadline=TODAY), dict(langs=("en",)),
])
def test_passing_hard_rules_keeps_the_offering(kw):
    for_need, for_offering = _exclusion_case(**kw)
    assert top_ids(for_need)[0] == 9 and not for_need.exclusions
    assert top_ids(for_offering) == [1]


@pytest.mark.parametrize("kw,reason", [(dict(capacity=0), NO_CAPACITY),
                                       (dict(deadline=TODAY - dt.timedelta(days=3)), DEADLINE_PASSED)])
def test_a_closed_offering_reports_its_best_needs_as_exclusions(kw, reason):
    needs = [need(i, "Cybercrime", "cybercrime training for judges " + "and prosecutors " * (i % 7))
             for i in range(1, 121)]
    closed = offering(500, "Cybercrime", "cybercrime training for judges and prosecutors", **kw)
    eng = Engine(EngineSettings(max_exclusions=30)).fit(needs, [closed])
    rk = eng.propose_for_offering(closed, k=5, today=TODAY)
    assert rk.proposals == []
    assert [e.reason for e in rk.exclusions] == [reason] * 30
    # the 30 best needs by score (ties by id), as an open twin of the offering proposes them
    twin = offering(501, closed.title, closed.description)
    best = [p.need_id for p in Engine().fit(needs, [twin]).propose_for_offering(twin, k=30, today=TODAY).proposals]
    assert [e.id for e in rk.exclusions] == best


def test_ldc_member_is_eligible_for_ldc_only():
    n = need(1, "Cybercrime", "cybercrime judges training", ldc=True)
    o = offering(9, "Cybercrime", "cybercrime judges training", eligibility="ldc_only")
    assert top_ids(Engine().fit([n], [o]).propose_for_need(n, today=TODAY)) == [9]


# ------------------------------------------------------------------ determinism, edge cases
def test_determinism_and_ties_broken_by_id():
    offs = [offering(i, "Cybercrime training", "Training judges on cybercrime.") for i in (30, 10, 20)]
    n = need(1, "Cybercrime", "cybercrime training for judges")
    r1 = Engine().fit([n], offs).propose_for_need(n, today=TODAY)
    r2 = Engine().fit([n], list(reversed(offs))).propose_for_need(n, today=TODAY)
    assert top_ids(r1) == [10, 20, 30] == top_ids(r2)
    assert r1 == r2


def test_empty_and_one_word_texts():
    offs = OFFERINGS + [offering(50, "", ""), offering(51, "cybercrime", "")]
    eng = Engine().fit(NEEDS + [need(60, "", "")], offs)
    assert eng.propose_for_need(need(61, "", ""), today=TODAY).proposals == []
    assert eng.propose_for_need(need(62, "the", "of and"), today=TODAY).proposals == []
    r = eng.propose_for_need(need(63, "cybercrime", ""), today=TODAY)
    assert top_ids(r)[0] in (51, 2)
    assert 50 not in top_ids(r)
    assert top_ids(eng.propose_for_need(need(64, "unknownword", ""), today=TODAY)) == []


def test_huge_text_in_bounded_time(engine):
    rnd = random.Random(0)
    words = "cybercrime signature payments broadband données pagos customs training judges law".split()
    huge = " ".join(rnd.choice(words) + str(rnd.randrange(50_000)) * (rnd.random() < 0.3) for _ in range(200_000))
    # Bounded work, not a timing (timings belong to `make bench`): a huge text becomes a vector of at most
    # max_doc_terms features, so ranking it costs what ranking a normal text costs.
    rec = need(70, "Big", huge)
    cols, _vals = engine.vocabulary.vector(rec)[:2]
    assert 0 < len(cols) <= engine.settings.max_doc_terms
    r = engine.propose_for_need(rec, today=TODAY)
    assert r.proposals


# ------------------------------------------------------------------ updates
def test_incremental_updates_equal_a_full_rebuild(engine):
    new_off = offering(9, "Cybersecurity incident response team",
                       "Set up a national CSIRT and train staff in incident response.", pa=["cybersecurity"])
    changed = offering(4, "Digital payments", "Advice on interoperable digital payments and e-money regulation.",
                       pa=["payments"])
    new_need = need(105, "Cyber attacks", "Our ministries suffer cyber attacks and need an incident response team.")
    engine.all_pairs(k=3, today=TODAY)
    engine.upsert(new_off, "offering", today=TODAY)
    engine.upsert(changed, "offering", today=TODAY)
    engine.remove(5, "offering", today=TODAY)
    engine.upsert(new_need, "need", today=TODAY)
    offs = [o for o in OFFERINGS if o.id not in (4, 5)] + [new_off, changed]
    rebuilt = Engine().fit(NEEDS + [new_need], offs, vocabulary=engine.vocabulary)
    full = rebuilt.all_pairs(k=3, today=TODAY)
    for n in NEEDS + [new_need]:
        a = engine.propose_for_need(n, k=3, today=TODAY)
        assert [p.offering_id for p in a.proposals] == [p.offering_id for p in full[n.id].proposals]
        assert [p.score for p in a.proposals] == pytest.approx([p.score for p in full[n.id].proposals], abs=2e-6)
    assert sorted(engine.ids("offering")) == sorted(o.id for o in offs)


def test_an_upsert_is_proposed_at_once_and_a_removal_forgotten(engine):
    o = offering(9, "Cybercrime and electronic evidence for judges",
                 "Training judges and prosecutors on cybercrime and electronic evidence.", pa=["cybersecurity"])
    engine.upsert(o, "offering", today=TODAY)
    cyber = need(102, "Cybercrime", "Training judges on cybercrime and electronic evidence.")
    assert 9 in top_ids(engine.propose_for_need(cyber, k=2, today=TODAY))
    engine.remove(9, "offering", today=TODAY)
    assert 9 not in top_ids(engine.propose_for_need(cyber, k=10, today=TODAY))
    with pytest.raises(KeyError):
        engine.remove(9, "offering")


def test_drift_flags_a_refit_and_a_refit_swaps(engine):
    assert not engine.needs_refit
    offs = list(OFFERINGS)
    for i in range(3):
        o = offering(300 + i, "Blockchain traceability", "Blockchain traceability of coffee exports.")
        offs.append(o)
        engine.upsert(o, "offering", today=TODAY)
    assert engine.needs_refit
    assert "w:blockchain" not in engine.vocabulary.col
    assert engine.refit((NEEDS, offs))
    assert "w:blockchain" in engine.vocabulary.col and not engine.needs_refit
    n = need(400, "Blockchain", "blockchain traceability for exports")
    assert top_ids(engine.propose_for_need(n, k=3, today=TODAY))[0] in (300, 301, 302)


def test_background_refit_reads_its_records_in_its_own_thread_and_replays_updates(engine):
    """Records given as a function are read in the refit's thread; updates made meanwhile reach the new index."""
    import threading

    offs = list(OFFERINGS) + [offering(310, "Blockchain traceability", "Blockchain traceability of exports.")]
    started, release, seen = threading.Event(), threading.Event(), {}

    def read():
        seen["thread"] = threading.current_thread().name
        started.set()
        release.wait(10)
        return NEEDS, offs

    t = threading.Thread(target=engine.refit, args=(read,), name="matchmaker-refit")
    t.start()
    assert started.wait(10)
    late = offering(311, "Blockchain for customs", "Blockchain ledgers for customs and traceability.")
    engine.upsert(late, "offering", today=TODAY)          # while the records are being read
    release.set()
    t.join(timeout=30)
    assert seen["thread"] == "matchmaker-refit"
    assert "w:blockchain" in engine.vocabulary.col
    assert {310, 311} <= set(engine.ids("offering"))
    n = need(401, "Blockchain", "blockchain ledgers for customs")
    assert top_ids(engine.propose_for_need(n, k=3, today=TODAY))[0] == 311


def test_a_failed_background_refit_keeps_the_index(engine, caplog):
    before = engine.vocabulary
    ranking = engine.propose_for_need(NEEDS[0], k=3, today=TODAY)

    def read():
        raise OSError("database went away")

    assert not engine.refit(read)
    assert engine.vocabulary is before
    assert "background refit failed" in caplog.text
    engine.upsert(offering(312, "More", "Electronic signature laws."), "offering", today=TODAY)   # no replay log left
    assert engine._pending_log is None
    assert top_ids(engine.propose_for_need(NEEDS[0], k=3, today=TODAY))[:1] == top_ids(ranking)[:1]


# ------------------------------------------------------------------ persistence
def test_a_saved_index_serves_as_the_fitted_one(engine, tmp_path):
    from matchmaker.engine import store
    engine.upsert(offering(9, "CSIRT", "national incident response team for cyber attacks"), "offering", today=TODAY)
    engine.remove(5, "offering", today=TODAY)
    store.save(engine, tmp_path, {"database": "here"})
    loaded, meta, generation = store.load(tmp_path)
    assert meta == {"database": "here"} and generation == 1
    for n in NEEDS:
        assert engine.propose_for_need(n, today=TODAY) == loaded.propose_for_need(n, today=TODAY)
    assert loaded.ids("offering") == engine.ids("offering")
    assert dict(loaded.all_pairs(k=3, today=TODAY)) == dict(engine.all_pairs(k=3, today=TODAY))
    with np.load(tmp_path / "index-1.npz", allow_pickle=False) as arrays:      # no pickles
        assert all(arrays[name].dtype != object for name in arrays.files)
    loaded.upsert(offering(10, "Cybercrime", "cybercrime judges"), "offering", today=TODAY)
    assert 10 in loaded.ids("offering")
    store.save(loaded, tmp_path, {})
    assert store.published(tmp_path) == 2 and 10 in store.load(tmp_path)[0].ids("offering")


def test_an_index_of_another_engine_version_or_settings_is_refused(engine, tmp_path):
    import json

    from matchmaker.engine import store
    store.save(engine, tmp_path, {})
    with pytest.raises(store.RefusedIndex, match="other settings"):
        store.load(tmp_path, EngineSettings(title_weight=3.0))
    saved = tmp_path / "index-1.json"
    document = json.loads(saved.read_text(encoding="utf-8"))
    document["engine_version"] = "1.5.0"          # another version weighs or stores texts differently
    saved.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(store.RefusedIndex, match="engine 1.5.0"):
        store.load(tmp_path)


def test_an_index_saved_in_the_former_layout_is_refused(engine, tmp_path):
    """Format 1 stored 4-byte row numbers under other names: such an index is refused (and refitted), not misread."""
    import json

    from matchmaker.engine import store
    store.save(engine, tmp_path, {})
    saved = tmp_path / "index-1.json"
    document = json.loads(saved.read_text(encoding="utf-8"))
    document["format"] = 1
    saved.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(store.RefusedIndex, match="format 1"):
        store.load(tmp_path)


# ------------------------------------------------------------------ purity
def test_import_does_not_pull_flask_or_sqlalchemy():
    code = ("import sys, matchmaker.engine as e; e.Engine; "
            "bad=[m for m in sys.modules if m.split('.')[0] in ('flask','sqlalchemy','flask_sqlalchemy')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


# ---------------------------------------------------------- scale paths (vectorised all-pairs, in-place upserts)
_WORDS = ("cybercrime judges training signature electronic payments mobile money broadband fibre customs window "
          "data protection consumer online skills women entrepreneurs export platform law reform authority "
          "firma electrónica pagos datos protección formación jueces commerce électronique données paiements").split()


def _random_corpus(seed: int, n_needs: int, n_offs: int):
    rnd = random.Random(seed)
    from matchmaker.engine import DELIVERY_LANGUAGES, POLICY_AREAS, REGIONS, SUPPORT_KINDS

    def text(n):
        return " ".join(rnd.choice(_WORDS) for _ in range(n))

    needs = [need(i, text(3), text(rnd.randint(5, 30)), lang=rnd.choice(("en", "fr", "es")),
                  pa=rnd.sample(POLICY_AREAS, rnd.randint(0, 2)), sk=rnd.sample(SUPPORT_KINDS, rnd.randint(0, 2)),
                  langs=set(rnd.sample(DELIVERY_LANGUAGES[:3], rnd.randint(1, 2))),
                  member=rnd.choice(["KE", "SN", "PE"]), ldc=rnd.random() < 0.4, region=rnd.choice(REGIONS[:3]))
             for i in range(1, n_needs + 1)]
    offs = [offering(1000 + i, text(3), text(rnd.randint(5, 30)), lang=rnd.choice(("en", "fr", "es")),
                     pa=rnd.sample(POLICY_AREAS, rnd.randint(0, 2)), sk=rnd.sample(SUPPORT_KINDS, rnd.randint(0, 2)),
                     langs=tuple(rnd.sample(DELIVERY_LANGUAGES[:3], rnd.randint(1, 2))),
                     eligibility=rnd.choice(["all_developing"] * 4 + ["ldc_only", "regions", "members"]),
                     regions=rnd.sample(REGIONS[:3], 1), members=rnd.sample(["KE", "SN", "PE"], 2),
                     capacity=rnd.choice([None, None, None, 0, 2]),
                     deadline=rnd.choice([None, None, TODAY - dt.timedelta(days=3), TODAY + dt.timedelta(days=3)]))
            for i in range(n_offs)]
    return needs, offs


@pytest.mark.parametrize("candidates", [0, 2, 5])
def test_all_pairs_equals_one_query_at_a_time(candidates):
    """The chunked, vectorised all-pairs (with its certification and fallback) equals brute force."""
    needs, offs = _random_corpus(7, 60, 90)
    eng = Engine().fit(needs, offs)
    allp = eng.all_pairs(k=4, today=TODAY, candidates=candidates)   # tiny candidate sets: the later tiers
    assert sorted(allp) == sorted(n.id for n in needs) and len(allp) == len(needs)
    for n in needs:
        single = eng.propose_for_need(n, k=4, today=TODAY)
        assert [p.offering_id for p in single.proposals] == [p.offering_id for p in allp[n.id].proposals]
        assert [p.score for p in single.proposals] == [p.score for p in allp[n.id].proposals]
        assert single.exclusions == allp[n.id].exclusions
        assert [t for t, _ in single.proposals[0].terms] == [t for t, _ in allp[n.id].proposals[0].terms] \
            if single.proposals else True


def test_many_upserts_equal_a_refit_with_the_same_model():
    needs, offs = _random_corpus(11, 40, 50)
    eng = Engine(EngineSettings(max_delta_docs=16)).fit(needs[:10], offs[:10])
    for r in needs[10:]:
        eng.upsert(r, "need", today=TODAY)
    for r in offs[10:]:
        eng.upsert(r, "offering", today=TODAY)
    eng.remove(needs[3].id, "need", today=TODAY)
    rebuilt = Engine(EngineSettings(max_delta_docs=16)).fit([n for n in needs if n.id != needs[3].id], offs,
                                                            vocabulary=eng.vocabulary)
    for n in needs:
        if n.id == needs[3].id:
            continue
        a, b = eng.propose_for_need(n, k=3, today=TODAY), rebuilt.propose_for_need(n, k=3, today=TODAY)
        assert [p.offering_id for p in a.proposals] == [p.offering_id for p in b.proposals]
        assert [p.score for p in a.proposals] == pytest.approx([p.score for p in b.proposals], abs=2e-6)
        assert [[t for t, _ in p.terms] for p in a.proposals] == [[t for t, _ in p.terms] for p in b.proposals]
        assert a.exclusions == b.exclusions
    side = eng.sides["need"]
    assert side._ids.shape[0] >= side.n_rows and side.ids.shape[0] == side.n_rows


def test_explanations_are_the_shared_terms_of_the_top_k(engine):
    p = engine.propose_for_need(NEEDS[0], k=1, today=TODAY).proposals[0]
    labels = [t for t, _ in p.terms]
    assert any("signature" in t for t in labels), labels


def test_max_df_gives_no_weight_to_very_common_features():
    needs, offs = _random_corpus(3, 30, 30)
    common = [Record(id=r.id, title=r.title, description=r.description + " ubiquitous", language="en")
              for r in needs]
    eng = Engine(EngineSettings(max_df=0.4, max_df_min_docs=1)).fit(common, offs)
    j = eng.vocabulary.col["w:ubiquit"]
    assert eng.vocabulary.idf[j] == 0
    cols, vals, oov = eng.vocabulary.vector(Record(id=1, description="ubiquitous", language="en"))
    assert cols.size == 0 and oov == 0     # known (not drift), but weightless


def test_explanation_terms_under_one_word_make_one_term():
    from matchmaker.engine.explain import finish_terms
    head = [("propriété", 0.05), ("dépôt", 0.04), ("propriété", 0.03), ("logiciels", 0.02), ("logiciels", 0.01)]
    out = finish_terms(head, total=7, text=0.20, n=2)
    assert out[0] == ("propriété", pytest.approx(0.08)) and out[1] == ("dépôt", pytest.approx(0.04))
    assert out[2][0] == "4 other terms" and sum(v for _, v in out) == pytest.approx(0.20)
    # every feature shown: no "other terms", the parts still add up to the score
    out = finish_terms(head, total=5, text=0.15, n=8)
    assert [lbl for lbl, _ in out] == ["propriété", "dépôt", "logiciels"]
    assert sum(v for _, v in out) == pytest.approx(0.15)


def test_a_french_need_is_explained_with_its_own_words():
    offs = [offering(1, "Intellectual property offices", "Modernising intellectual property offices: online "
                     "trademark filing and software for examiners."),
            offering(2, "Customs", "Customs single window for parcels.")]
    n = need(7, "Propriété intellectuelle", "Les créateurs protègent mal leur propriété intellectuelle : dépôt de "
             "marques en ligne et logiciels pour l'office.", lang="fr", langs=("fr", "en"))
    eng = Engine().fit([n], offs)
    top = eng.propose_for_need(n, k=1, today=TODAY).proposals[0]
    labels = [t for t, _ in top.terms]
    assert top.offering_id == 1
    assert len(labels) == len(set(labels))                      # one line per word
    assert not any(t in ("propieti", "proprieti", "intellectu") for t in labels)   # no bare stems


def test_a_query_vector_is_bit_for_bit_the_one_a_fit_computes(engine):
    """One analyser: a record weighed alone gives exactly the row the fit computed for it."""
    rows = engine.sides["need"].rows_matrix()
    for r, rec in enumerate(sorted(NEEDS, key=lambda n: n.id)):
        cols, vals, unknown = engine.vocabulary.vector(rec)
        assert np.array_equal(cols, rows.indices[rows.indptr[r]:rows.indptr[r + 1]])
        assert np.array_equal(vals, rows.data[rows.indptr[r]:rows.indptr[r + 1]]) and unknown == 0
    french = need(901, "Signature électronique", "Loi sur la signature électronique. Zyxwvut inconnu.", lang="fr")
    assert engine.vocabulary.vector(french)[2] > 0          # the unknown word is counted as drift


def test_word_splitting_equals_the_unicode_regular_expression():
    """Latin-1 texts are split by a byte table, others by a regular expression: both give WORD_PATTERN exactly
    (a word's hyphen before a particle left out)."""
    import re

    from matchmaker.engine.tokens import WORD_PATTERN, words
    pattern = re.compile(WORD_PATTERN)
    particle = re.compile(r"-(?=(?:up|ups|out|outs|off|offs|down|downs)(?![^\W_]))", re.I)

    class ref:
        @staticmethod
        def findall(t):
            return [particle.sub("", w) for w in pattern.findall(t)]
    rnd = random.Random(7)
    alphabet = [chr(i) for i in range(0x3000)] + list("’«»–—…œŒ_ \t\n") * 40
    for _ in range(3000):
        t = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        assert words(t) == ref.findall(t)
        latin = "".join(rnd.choice("ab_é1 ’x²ßÿ\u00a0-eE\x1f") for _ in range(25))
        assert words(latin) == ref.findall(latin)
        prefixed = "".join(rnd.choice(["e-", "E-", "-", "e", "a", "é", "1", " ", "_", "\x1f", "ß", "’"])
                           for _ in range(20))
        assert words(prefixed) == ref.findall(prefixed)
        joined = "".join(rnd.choice(["-", "up", "UPS", "out", "offs", "Down", "e-", "é", "1", " ", "_", "x", "\x1f"])
                         for _ in range(12))
        assert words(joined) == ref.findall(joined)
    assert words("e-commerce, l’e-santé, type-e-money; be-all 3e-5 e-") == [
        "e-commerce", "l", "e-santé", "type", "e-money", "be", "all", "3e", "5", "e"]
    assert words("Start-ups, a roll-out, follow-up; set-upx x--up") == [
        "Startups", "a", "rollout", "followup", "set", "upx", "x", "up"]


def test_postings_past_65536_rows_answer_as_the_matrix_product():
    """Row numbers are stored in 2 bytes, by blocks of 65,536 rows: a side of 140,000 rows gives the same rows,
    float32 scores (summed in the query's feature order, as scipy's product) and contributions as its matrix,
    and holds 6 bytes an entry plus the pointers."""
    import scipy.sparse as sp

    from matchmaker.engine.index import SideIndex
    from matchmaker.engine.rules import FACET_DTYPES
    n_rows, n_features = 140_000, 300
    rows = sp.random(n_rows, n_features, density=0.01, format="csr", dtype=np.float32, random_state=3)
    rows.data += np.float32(0.01)
    side = SideIndex.build(np.arange(n_rows), rows, {f: np.zeros(n_rows, t) for f, t in FACET_DTYPES.items()}, {})
    assert side.postings.blocks == 3
    assert (side.rows_matrix() != rows).nnz == 0
    postings = rows.T.tocsr()
    rng = np.random.default_rng(5)
    for _ in range(20):
        cols = np.sort(rng.choice(n_features, 12, replace=False)).astype(np.int32)
        vals = rng.random(12).astype(np.float32)
        expected = sp.csr_matrix((vals, cols, [0, cols.size]), shape=(1, n_features)) @ postings
        order = np.argsort(expected.indices)
        hit, text = side.hits(cols, vals)
        assert np.array_equal(hit, expected.indices[order]) and np.array_equal(text, expected.data[order])
        sample = np.concatenate([hit[:50], hit[-50:], [0, 65_535, 65_536, n_rows - 1]])
        dense = (rows[sample].toarray()[:, cols] * vals).T
        assert np.array_equal(side.contributions(cols, vals, sample), dense.astype(np.float32))
    entries = rows.nnz
    assert side.postings.nbytes() == 6 * entries + 4 * (n_features * 3 + 1)


def test_contributions_are_found_in_every_posting(engine):
    """Each (feature, row) contribution looked up by binary search equals the dense product's term, for rows
    that share features with the query and rows that do not (first, last and absent entries of a posting)."""
    side = engine.sides["offering"]
    dense = side.rows_matrix().toarray()
    for rec in NEEDS:
        cols, vals, _ = engine.vocabulary.vector(rec)
        rows = np.arange(side.n_rows)
        got = side.contributions(cols, vals, rows)
        assert np.array_equal(got, (dense[:, cols] * vals).T.astype(np.float32))
