"""all_pairs against a brute-force reference: every pair scored one by one, ranked, filtered.

The reference does not use the engine's ranking code: text scores are summed pair by pair (the
shared features in increasing order, in float32, as a sparse product adds them), boosts and hard
rules are recomputed from the Record objects. all_pairs must give exactly the same proposals,
order, scores and exclusions, on corpora with facets, hard rules, ties, deleted and delta rows,
whatever the chunking and candidate settings; and the stored top-k tables must stay equal to
the reference after incremental upserts and removals.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import random

import numpy as np
import pytest

from matchmaker.engine import (
    DELIVERY_LANGUAGES,
    POLICY_AREAS,
    REASONS,
    REGIONS,
    SUPPORT_KINDS,
    Engine,
    EngineSettings,
    Record,
)

TODAY = dt.date(2026, 11, 23)
_WORDS = ("cybercrime judges training signature electronic payments mobile money broadband fibre customs window "
          "data protection consumer online skills women entrepreneurs export platform law reform authority "
          "firma electrónica pagos datos protección formación jueces commerce électronique données paiements "
          "tariff logistics parcels postal fintech regulator cloud hosting startups").split()
_MEMBERS = ["KE", "SN", "PE", "VN"]


def _text(rnd, n):
    return " ".join(rnd.choice(_WORDS) for _ in range(n))


def _need(rnd, i):
    return Record(id=i, title=_text(rnd, 2), description=_text(rnd, rnd.randint(0, 25)),
                  language=rnd.choice(("en", "fr", "es")),
                  policy_areas=frozenset(rnd.sample(POLICY_AREAS, rnd.randint(0, 3))),
                  support_kinds=frozenset(rnd.sample(SUPPORT_KINDS, rnd.randint(0, 2))),
                  delivery_languages=frozenset(rnd.sample(DELIVERY_LANGUAGES[:3], rnd.randint(1, 2))),
                  member=rnd.choice(_MEMBERS), member_is_ldc=rnd.random() < 0.4, member_region=rnd.choice(REGIONS[:3]))


def _offering(rnd, i, text=None):
    return Record(id=i, title=_text(rnd, 2) if text is None else "", description=text or _text(rnd, rnd.randint(3, 25)),
                  language=rnd.choice(("en", "fr", "es")),
                  policy_areas=frozenset(rnd.sample(POLICY_AREAS, rnd.randint(0, 2))),
                  support_kinds=frozenset(rnd.sample(SUPPORT_KINDS, rnd.randint(0, 2))),
                  delivery_languages=frozenset(rnd.sample(DELIVERY_LANGUAGES[:3], rnd.randint(1, 2))),
                  eligibility=rnd.choice(["all_developing"] * 4 + ["ldc_only", "regions", "members"]),
                  eligible_regions=frozenset(rnd.sample(REGIONS[:3], 1)),
                  eligible_members=frozenset(rnd.sample(_MEMBERS, 2)),
                  capacity_left=rnd.choice([None, None, None, 0, 2]),
                  deadline=rnd.choice([None, None, TODAY - dt.timedelta(days=3), TODAY + dt.timedelta(days=3), TODAY]))


def _corpus(seed, n_needs, n_offs):
    rnd = random.Random(seed)
    needs = [_need(rnd, i) for i in range(1, n_needs + 1)]
    offs = []
    for i in range(n_offs):
        offs.append(_offering(rnd, 1000 + i))
        if i % 7 == 3:           # twins: same text, hence tied scores, broken by id
            twin = dataclasses.replace(offs[-1], id=5000 + i)
            offs.append(twin)
    needs += [dataclasses.replace(needs[2], id=900 + j) for j in range(3)]    # tied needs too
    rnd.shuffle(offs)
    return needs, offs


# ------------------------------------------------------------------ the reference
def _vectors(eng, side):
    s = eng.sides[side]
    m = s.rows_matrix()
    out = {}
    for r, rid in enumerate(s.ids.tolist()):
        if s.alive[r]:
            a, b = m.indptr[r], m.indptr[r + 1]
            out[int(rid)] = (m.indices[a:b].copy(), m.data[a:b].copy())
    return out


def _text_score(q, d) -> float:
    """Shared features in increasing order, products and running sum in float32."""
    _, qi, di = np.intersect1d(q[0], d[0], assume_unique=True, return_indices=True)
    acc = np.float32(0.0)
    for a, b in zip(q[1][qi], d[1][di], strict=True):
        acc = np.float32(acc + np.float32(a * b))
    return float(acc)


def _boost(s: EngineSettings, n: Record, o: Record) -> float:
    pa = len(n.policy_areas & o.policy_areas) / max(1, len(n.policy_areas))
    sk = len(n.support_kinds & o.support_kinds) / max(1, len(n.support_kinds))
    return 1.0 + s.policy_area_weight * pa + s.support_kind_weight * sk


def _reason(n: Record, o: Record) -> int:
    elig = {"all_developing": True, "ldc_only": n.member_is_ldc, "regions": n.member_region in o.eligible_regions,
            "members": n.member in o.eligible_members}[o.eligibility]
    for i, ok in enumerate((elig, bool(n.languages() & o.languages()),
                            o.capacity_left is None or o.capacity_left > 0,
                            o.deadline is None or o.deadline >= TODAY)):
        if not ok:
            return i
    return -1


def reference(eng: Engine, needs: dict[int, Record], offs: dict[int, Record], k: int):
    """need id -> (proposals [(offering id, score, text)], exclusions [(offering id, reason)]) and
    offering id -> proposals [(need id, score)], by scoring every pair."""
    s = eng.settings
    vn, vo = _vectors(eng, "need"), _vectors(eng, "offering")
    pairs = {}
    for nid, q in vn.items():
        for oid, d in vo.items():
            t = _text_score(q, d)
            if t > 0 and t > s.min_score:
                final = float(np.round(t * _boost(s, needs[nid], offs[oid]) * 1e6) / 1e6)
                pairs[nid, oid] = (final, t, _reason(needs[nid], offs[oid]))
    by_need = {}
    for nid in vn:
        ranked = sorted(((f, oid, t, r) for (n_, oid), (f, t, r) in pairs.items() if n_ == nid),
                        key=lambda x: (-x[0], x[1]))
        props, excl = [], []
        for f, oid, t, r in ranked:
            if len(props) >= k:
                break
            if r < 0:
                props.append((oid, f, t))
            elif len(excl) < s.max_exclusions:
                excl.append((oid, REASONS[r]))
        by_need[nid] = (props, excl)
    by_off = {}
    for oid in vo:
        ranked = sorted(((f, nid) for (nid, o_), (f, t, r) in pairs.items() if o_ == oid and r < 0),
                        key=lambda x: (-x[0], x[1]))
        by_off[oid] = [(nid, f) for f, nid in ranked[:k]]
    return by_need, by_off


def check(eng, allp, needs, offs, k):
    by_need, by_off = reference(eng, needs, offs, k)
    assert sorted(allp) == sorted(by_need)
    for nid, (props, excl) in by_need.items():
        rk = allp[nid]
        assert [(p.offering_id, p.score) for p in rk.proposals] == [(o, f) for o, f, _ in props], nid
        assert [(e.id, e.reason) for e in rk.exclusions] == excl, nid


def check_one_by_one(eng, needs, offs, k):
    by_need, _by_off = reference(eng, needs, offs, k)
    for nid, (props, excl) in by_need.items():
        ranking = eng.propose_for_need(needs[nid], k=k, today=TODAY)
        assert [(p.offering_id, p.score) for p in ranking.proposals] == [(o, f) for o, f, _ in props], nid
        assert [(e.id, e.reason) for e in ranking.exclusions] == excl, nid


# ------------------------------------------------------------------ the tests
@pytest.mark.parametrize("seed,n_needs,n_offs,k,cands,settings", [
    (1, 40, 60, 4, 0, {}),
    (2, 70, 120, 10, 0, {}),
    (3, 90, 50, 3, 2, {"policy_area_weight": 0.9, "support_kind_weight": 0.5}),
    (4, 50, 150, 5, 5, {"min_score": 0.05, "max_exclusions": 3}),
    (5, 30, 20, 25, 0, {"policy_area_weight": 0.0, "support_kind_weight": 0.0}),
    (6, 80, 200, 1, 1, {"max_doc_terms": 8}),
])
def test_all_pairs_equals_brute_force(seed, n_needs, n_offs, k, cands, settings):
    needs, offs = _corpus(seed, n_needs, n_offs)
    eng = Engine(EngineSettings(**settings)).fit(needs, offs)
    # tiny candidate sets leave most needs uncertified: the later tiers must rank them exactly
    allp = eng.all_pairs(k=k, today=TODAY, candidates=cands, explain=False)
    check(eng, allp, {r.id: r for r in needs}, {r.id: r for r in offs}, k)


@pytest.mark.parametrize("merge", [False, True])
def test_all_pairs_with_delta_and_deleted_rows_then_upserts(merge):
    rnd = random.Random(9)
    needs, offs = _corpus(9, 60, 90)
    eng = Engine(EngineSettings(max_delta_docs=10 if merge else 10_000)).fit(needs[:30], offs[:40])
    cur_n, cur_o = {r.id: r for r in needs[:30]}, {r.id: r for r in offs[:40]}
    for r in needs[30:]:                       # delta rows
        eng.upsert(r, "need", today=TODAY)
        cur_n[r.id] = r
    for r in offs[40:]:
        eng.upsert(r, "offering", today=TODAY)
        cur_o[r.id] = r
    for r in needs[:5] + offs[:6]:             # deleted rows
        side = "need" if r.id < 1000 else "offering"
        eng.remove(r.id, side, today=TODAY)
        (cur_n if side == "need" else cur_o).pop(r.id)
    for j, r in enumerate(needs[10:15]):       # late rows tied with earlier ones but with smaller ids
        twin = dataclasses.replace(r, id=j + 1)
        eng.upsert(twin, "need", today=TODAY)
        cur_n[twin.id] = twin
    for r in offs[10:14]:                      # replaced rows (old row tombstoned, new one appended)
        new = dataclasses.replace(_offering(rnd, r.id), description=r.description + " fintech regulator")
        eng.upsert(new, "offering", today=TODAY)
        cur_o[r.id] = new
    for candidates in (0, 2):
        allp = eng.all_pairs(k=5, today=TODAY, candidates=candidates, explain=False)
        check(eng, allp, cur_n, cur_o, 5)
    # later updates: one query at a time equals the reference too
    for i in range(6):
        r = _need(rnd, 700 + i)
        eng.upsert(r, "need", today=TODAY)
        cur_n[r.id] = r
        o = _offering(rnd, 8000 + i)
        eng.upsert(o, "offering", today=TODAY)
        cur_o[o.id] = o
    victim = next(iter(cur_o))
    eng.remove(victim, "offering", today=TODAY)
    cur_o.pop(victim)
    check_one_by_one(eng, cur_n, cur_o, 5)


def test_all_pairs_explained_matches_the_single_query_path():
    needs, offs = _corpus(12, 40, 70)
    eng = Engine().fit(needs, offs)
    allp = eng.all_pairs(k=5, today=TODAY)
    for n in needs:
        assert allp[n.id] == eng.propose_for_need(n, k=5, today=TODAY)     # explanations included, bit for bit


def test_all_pairs_when_one_side_is_empty_or_dead():
    needs, offs = _corpus(13, 10, 10)
    eng = Engine().fit(needs, offs)
    for o in offs:
        eng.remove(o.id, "offering", today=TODAY)
    allp = eng.all_pairs(k=3, today=TODAY)
    assert all(not rk.proposals and not rk.exclusions for rk in allp.values())
    for n_side, o_side in ((needs, []), ([], offs), ([], [])):
        eng = Engine().fit(n_side, o_side)
        for k in (0, 3):
            allp = eng.all_pairs(k=k, today=TODAY)
            assert sorted(allp) == sorted(n.id for n in n_side)
            assert all(not rk.proposals for rk in allp.values())


@pytest.mark.parametrize("n_needs", [1, 2, 5])
def test_all_pairs_of_a_few_needs(n_needs):
    """A sample of the needs is ranked first, the others after it: with one need there are no others."""
    needs, offs = _corpus(14, 40, 50)
    needs = needs[:n_needs]
    eng = Engine().fit(needs, offs)
    allp = eng.all_pairs(k=4, today=TODAY, explain=False)
    check(eng, allp, {r.id: r for r in needs}, {r.id: r for r in offs}, 4)


def test_the_top_n_product_sums_as_scipy_does():
    """sparse_dot_topn keeps each row's largest entries with scipy's sums, bit for bit: all-pairs scores are the
    one-query scores."""
    import scipy.sparse as sp
    from sparse_dot_topn import sp_matmul_topn

    rng = np.random.default_rng(4)
    A = sp.random(37, 300, density=0.08, format="csr", dtype=np.float32, random_state=rng)
    B = sp.random(300, 450, density=0.05, format="csr", dtype=np.float32, random_state=rng)
    A.sort_indices()
    B.sort_indices()
    ref = (A @ B).toarray()
    for threads in (None, 2):
        C = sp_matmul_topn(A, B, top_n=450, n_threads=threads)
        assert np.array_equal(C.toarray(), ref)
        top = sp_matmul_topn(A, B, top_n=3, n_threads=threads).toarray()
        assert np.array_equal(top[top != 0], ref[top != 0])
        assert all(np.sort(ref[i])[-3:].min() <= top[i][top[i] != 0].min() for i in range(37) if top[i].any())


@pytest.mark.parametrize("seed,k,cands", [(21, 3, 3), (22, 5, 0), (23, 4, 6)])
def test_all_pairs_when_the_policy_area_boost_outranks_larger_text_scores(seed, k, cands):
    """Needs after the sample are ranked on two candidate sets: their best text scores, and their best among the
    offerings of each of their policy areas (a boost of up to 1 + 2.5 here: a weak text score in the need's area
    beats a strong one outside it). A need is final only when no offering left out of both could beat its k-th
    proposal; the others are ranked again on their wide candidates, then on their whole rows."""
    needs, offs = _corpus(seed, 120, 260)
    eng = Engine(EngineSettings(policy_area_weight=2.5, support_kind_weight=0.3)).fit(needs, offs)
    allp = eng.all_pairs(k=k, today=TODAY, candidates=cands, explain=False)
    check(eng, allp, {r.id: r for r in needs}, {r.id: r for r in offs}, k)


def test_candidates_are_sorted_by_one_integer_key_or_a_lexsort_alike():
    """Candidates are ordered by (need, final score descending, offering id), each (need, offering) pair once: by
    one sort of an integer key, or by a lexsort where that key would not fit in 63 bits."""
    from matchmaker.engine.allpairs import _ranked_order

    rng = np.random.default_rng(7)
    local = np.sort(rng.integers(0, 30, 600))
    offering_row = rng.integers(0, 40, 600)
    final = np.round(rng.choice([0.25, 0.5, 0.125, 1.0], 600) * rng.integers(1, 4, 600) * 1e6) / 1e6
    final[rng.random(600) < 0.1] = -1.0
    for i, j in zip(*np.nonzero((local[:, None] == local) & (offering_row[:, None] == offering_row)), strict=True):
        final[j] = final[i]                       # a pair found twice (two candidate sets) has one score
    id_rank = rng.permutation(40)
    expected = sorted({(int(n), -float(f), int(id_rank[o]), int(o)) for n, o, f in zip(local, offering_row, final,
                                                                                       strict=True)})
    for n_rows in (30, 2 ** 40):                # 2 ** 40 rows: the key would overflow, the lexsort is used
        order = _ranked_order(local, offering_row, final, id_rank, n_rows)
        got = [(int(local[i]), -float(final[i]), int(id_rank[offering_row[i]]), int(offering_row[i])) for i in order]
        assert got == expected


def test_a_text_score_just_above_min_score_is_kept():
    """min_score is a float64, text scores are float32: a text score that is the float32 nearest to min_score but
    above it is proposable, in all_pairs as in one query (the product must not compare with min_score rounded)."""
    needs, offs = _corpus(31, 30, 60)
    by_need, by_offering = {r.id: r for r in needs}, {r.id: r for r in offs}
    eng = Engine().fit(needs, offs)
    vn, vo = _vectors(eng, "need"), _vectors(eng, "offering")
    text, need_id = max((_text_score(vn[n], vo[o]), n) for n in vn for o in vo
                        if _reason(by_need[n], by_offering[o]) < 0)
    min_score = float(np.nextafter(np.float64(text), 0.0))
    assert np.float32(min_score) == np.float32(text) and min_score < text
    eng = Engine(EngineSettings(min_score=min_score)).fit(needs, offs)
    allp = eng.all_pairs(k=3, today=TODAY, explain=False)
    assert [p.text_score > 0 for p in allp[need_id].proposals] == [True]
    check(eng, allp, by_need, by_offering, 3)
