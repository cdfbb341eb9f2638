"""Quality ideas measured while tuning engines 1.1 and 1.2 (not part of `make bench`).

`python -m benchmarks.explore_quality --v12` measures the engine 1.2 variants (all data sets,
reviewer loss over d_20_1..10) from the engine's own vectors; the results log is above
`main_12`. `--v13` measures three later families (an LSA blend, asymmetric tf, lexicon share
schemes) and the engine 1.4 settings (the lexicons read backwards); their results close the
same log. `--v14` rescores the engine 1.4 score matrix (fused with BM25, balanced over both sides by
CSLS or Sinkhorn, smoothed over neighbours); its log is above `fusion_variant`.

`python -m benchmarks.explore_quality` prints, for SDG (MRR of en->en fr->fr es->es fr->en
es->en en->fr) and reviewer-gold (loss, d_20_1..3), the variants tried: a character n-gram
block fused with the word block, idf exponents, tf variants, lexicon weights, a hubness
correction and portfolio aggregation (one record per profile paper, max / top-k mean /
power mean per provider). Word features come from the engine's own analyzer; nothing is
fitted on labels.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from matchmaker.engine import text as T
from matchmaker.engine.text import strip_accents, tokens

from . import datasets as D
from . import metrics as M
from . import quality as Q

AS = T.AnalyzerSettings(lexicon_weight=2.0)
PAIRS = [("en", "en"), ("fr", "fr"), ("es", "es"), ("fr", "en"), ("es", "en"), ("en", "fr")]


def wfeats(t, lang, a=AS):
    return T.analyze(t, lang, a)


def cfeats(t, lang, lo=3, hi=5):
    out: dict[str, float] = {}
    for w in tokens(t, lang):
        w = " " + strip_accents(w) + " "
        for n in range(lo, hi + 1):
            for i in range(len(w) - n + 1):
                g = w[i:i + n]
                out[g] = out.get(g, 0) + 1
    return out


def mat(dicts):
    vocab: dict[str, int] = {}
    r, c, v = [], [], []
    for i, d in enumerate(dicts):
        for f, x in d.items():
            r.append(i)
            c.append(vocab.setdefault(f, len(vocab)))
            v.append(x)
    return sp.csr_matrix((v, (r, c)), shape=(len(dicts), len(vocab)))


def weigh(X, tf="sub", idfp=1.0, top=0, k1=1.2, b=0.75):
    X = X.tocsr().astype(np.float64).copy()
    n = X.shape[0]
    df = np.bincount(X.indices, minlength=X.shape[1])
    idf = (np.log((1 + n) / (1 + df)) + 1) ** idfp
    if tf == "sub":
        X.data = np.where(X.data < 1, X.data, 1 + np.log(np.maximum(X.data, 1)))
    elif tf == "bin":
        X.data = np.minimum(X.data, 1)
    elif tf == "bm25":
        dl = np.asarray(X.sum(1)).ravel()
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        X.data = X.data * (k1 + 1) / (X.data + k1 * (1 - b + b * dl[rows] / dl.mean()))
    X = (X @ sp.diags(idf)).tocsr()
    if top:
        for i in range(X.shape[0]):
            s, e = X.indptr[i], X.indptr[i + 1]
            if e - s > top:
                d = X.data[s:e]
                d[d < np.sort(d)[-top]] = 0
        X.eliminate_zeros()
    nrm = np.sqrt(np.asarray(X.multiply(X).sum(1)).ravel())
    nrm[nrm == 0] = 1
    return sp.diags(1 / nrm) @ X


def block(qd, dd, **kw):
    W = weigh(mat(qd + dd), **kw)
    return (W[:len(qd)] @ W[len(qd):].T).toarray()


def fused(a=0.5, wkw=None, ckw=None, clo=3, chi=5, aw=AS, hub=0.0, hub_k=10):
    def f(qt, dt):
        S = block([wfeats(t, l, aw) for t, l in qt], [wfeats(t, l, aw) for t, l in dt], **(wkw or {}))
        if a < 1:
            S = a * S + (1 - a) * block([cfeats(t, l, clo, chi) for t, l in qt],
                                        [cfeats(t, l, clo, chi) for t, l in dt], **(ckw or {}))
        if hub:
            S = S - hub * np.sort(S, axis=0)[-hub_k:].mean(0)[None, :]
        return S
    return f


def sdg(f):
    out = []
    for ql, dl in PAIRS:
        ds = D.sdg(ql, dl)
        qids, dids = sorted(ds.queries), sorted(ds.docs)
        S = f([ds.queries[q] for q in qids], [ds.docs[d] for d in dids])
        out.append(M.retrieval_metrics(Q._rank_all(S, qids, dids), ds.qrels)["MRR"])
    return out


def reviewer(f, agg="one", draws=None):
    losses = []
    for dr in draws:
        pids, paper_ids = sorted(dr.ratings), sorted(dr.papers)
        dt_ = [(dr.papers[x], "en") for x in paper_ids]
        if agg == "one":
            S = f([(" ".join(dr.profiles[p]), "en") for p in pids], dt_)
        else:
            qt, owner = [], []
            for i, p in enumerate(pids):
                for t in dr.profiles[p]:
                    qt.append((t, "en"))
                    owner.append(i)
            owner = np.array(owner)
            S0 = f(qt, dt_)
            S = np.zeros((len(pids), len(paper_ids)))
            for i in range(len(pids)):
                R = np.sort(S0[owner == i], axis=0)[::-1]
                if agg == "max":
                    S[i] = R[0]
                elif agg.startswith("top"):
                    S[i] = R[:int(agg[3:])].mean(0)
                else:                      # power mean "pm<p>"
                    p = float(agg[2:])
                    S[i] = (np.maximum(R, 0) ** p).mean(0) ** (1 / p)
        sim = {p: {x: float(S[i, j]) for j, x in enumerate(paper_ids)} for i, p in enumerate(pids)}
        losses.append(M.reviewer_loss(sim, dr.ratings)["loss"])
    return float(np.mean(losses))


def main():
    variants = {
        "word block only (engine 1.0 analyzer)": fused(1.0),
        "word + char 3-5, a=0.5": fused(0.5),
        "word + char 3-5, a=0.4": fused(0.4),
        "word + char, both top-128 terms": fused(0.5, dict(top=128), dict(top=128)),
        "word, binary tf": fused(1.0, dict(tf="bin")),
        "word, BM25 tf": fused(1.0, dict(tf="bm25")),
        "word, idf^1.5": fused(1.0, dict(idfp=1.5)),
        "word + char, idf^1.5 both": fused(0.5, dict(idfp=1.5), dict(idfp=1.5)),
        "word + char, lexicon weight 4": fused(0.5, aw=T.AnalyzerSettings(lexicon_weight=4.0)),
        "word + char idf^1.5, hubness 0.5 (k=10)": fused(0.5, dict(idfp=1.5), dict(idfp=1.5), hub=0.5),
    }
    print("## SDG MRR: en->en fr->fr es->es fr->en es->en en->fr")
    for name, f in variants.items():
        r = sdg(f)
        print(f"{name:45s} " + " ".join(f"{x:.3f}" for x in r))
    draws = D.reviewer_draws()[:3]
    print("\n## reviewer-gold loss (d_20_1..3)")
    for name, f, agg in [("word (one record per provider)", fused(1.0, dict(top=128)), "one"),
                         ("word, per paper, max", fused(1.0, dict(top=128)), "max"),
                         ("word, per paper, top-3 mean", fused(1.0, dict(top=128)), "top3"),
                         ("word, per paper, top-5 mean", fused(1.0, dict(top=128)), "top5"),
                         ("word, per paper, power mean p=4", fused(1.0, dict(top=128)), "pm4"),
                         ("word BM25 tf (one record)", fused(1.0, dict(tf="bm25")), "one"),
                         ("word + char a=0.5 (one record)", fused(0.5), "one"),
                         ("word + char a=0.8 (one record)", fused(0.8, dict(top=128), dict(top=128)), "one")]:
        print(f"{name:45s} {reviewer(f, agg, draws):.4f}")


# ----------------------------------------------------------------------------- engine 1.2 variants
# The engine's own vectors (Model of the given settings), with post-processing that would need
# a change in the scoring paths: a hubness correction and pseudo-relevance feedback (Rocchio).
def engine_mats(qt, dt, settings=None):
    """(queries x features, docs x features) L2-normalised engine vectors, in input order."""
    from matchmaker.engine import Engine, EngineSettings, Record
    needs = [Record(i, "", t, l) for i, (t, l) in enumerate(qt)]
    offs = [Record(i, "", t, l) for i, (t, l) in enumerate(dt)]
    eng = Engine(settings or EngineSettings()).fit(needs, offs)
    return (eng.sides["need"].rows_matrix().astype(np.float64),       # rows sorted by id = input order
            eng.sides["offering"].rows_matrix().astype(np.float64))


def engine_variant(settings=None, hub=0.0, hub_k=10, prf=0.0, prf_m=3):
    """Scores of the engine's vectors; ``hub``: S - hub * mean of each doc's top-``hub_k`` scores over
    the queries; ``prf``: query += prf * mean of its top-``prf_m`` docs (then re-normalised)."""
    def f(qt, dt):
        Qm, Pm = engine_mats(qt, dt, settings)
        S = (Qm @ Pm.T).toarray()
        if prf:
            top = np.argsort(-S, axis=1)[:, :prf_m]
            R = sp.csr_matrix((np.full(top.size, 1.0 / prf_m), (np.repeat(np.arange(S.shape[0]), prf_m),
                                                                 top.ravel())), shape=S.shape)
            Q2 = Qm + prf * (R @ Pm)
            nrm = np.sqrt(np.asarray(Q2.multiply(Q2).sum(1)).ravel())
            nrm[nrm == 0] = 1
            S = ((sp.diags(1 / nrm) @ Q2) @ Pm.T).toarray()
        if hub:
            S = S - hub * np.sort(S, axis=0)[-hub_k:].mean(0)[None, :]
        return S
    return f


def devset_mrr(settings):
    rows = Q.run_devset(settings, systems={"engine": None})
    return next(r["MRR"] for r in rows if r["view"] == "topical" and r["needs"] == "all")


# Results log, engine 1.2 (2026-12-03; SDG MRR en->en fr->fr es->es fr->en es->en en->fr |
# reviewer loss d_20_1..10 | devset topical MRR). Rows marked * were `--v12` rows with the
# FreeDict-only lexicon (before commit "Lexicon completed with the Apertium ..."); `--v12` now
# reproduces the last block.
#   engine 1.1 (before)                         0.544 0.500 0.497 0.406 0.376 0.388 | 0.2567 | 0.909
#   + lexicon inflections (cognate_weight 0) *  0.544 0.500 0.495 0.407 0.382 0.387 | 0.2567 | 0.917
#   + cognate spellings = 1.2 defaults *        0.544 0.507 0.502 0.421 0.403 0.406 | 0.2567 | 0.924
#   cognate_weight 0.5 / 2 (1.1 lexicon)        0.544 0.501 0.505 0.422 0.389 0.404 | 0.2567 | 0.917
#                                               0.544 0.514 0.495 0.429 0.394 0.412 | 0.2567 | 0.925
#   cognates only for words not in lexicon      0.544 0.505 0.515 0.418 0.390 0.405 | 0.2567 | 0.917
#   tf_power 0.5 *                              0.551 0.509 0.508 0.428 0.418 0.424 | 0.2533 | 0.931
#   tf_power 0.4 / 0.6                          0.554 0.498 0.500 0.430 0.420 0.419 | 0.2528 | 0.939
#                                               0.546 0.510 0.502 0.424 0.411 0.415 | 0.2641 | 0.932
#   tf_power 0.75 / 1.0 (1.1 analyzer)          0.543 0.504 0.488 0.402 0.387 0.385 | 0.2531 | 0.914
#                                               0.535 0.483 0.459 0.381 0.361 0.362 | 0.2767 | 0.868
#   tf_power 0.5, idf_power 1.25 *              0.555 0.514 0.512 0.431 0.416 0.419 | 0.2518 | 0.924
#   tf_power 0.5, idf_power 1.5                 0.555 0.522 0.517 0.429 0.413 0.416 | 0.2546 | 0.924
#   tf_power 0.5, lexicon_weight 1.5 / 3        0.551 0.524 0.522 0.430 0.415 0.419 | 0.2533 | 0.923
#                                               0.551 0.491 0.485 0.418 0.417 0.423 | 0.2533 | 0.932
#   tf_power 0.5, char 0.3 *                    0.563 0.549 0.534 0.445 0.447 0.419 | 0.2545 | 0.902
#   bigram 0.5, max_doc_terms 0 *               0.555 0.512 0.513 0.419 0.401 0.407 | 0.2486 | 0.924
#   bigram 0.5 (128 terms) * / 256 terms        0.555 0.512 0.514 0.419 0.401 0.408 | 0.2582 | 0.922
#                                               0.555 0.512 0.513 0.419 0.401 0.407 | 0.2634 | 0.924
#   bigram 1.0 / 0.25                           0.556 0.518 0.530 0.409 0.399 0.416 | 0.2906 | 0.913
#                                               0.548 0.512 0.507 0.421 0.401 0.406 | 0.2614 | 0.924
#   bigram 0.5, max_doc_terms 0, tf_power 0.5   0.558 0.523 0.508 0.433 0.416 0.420 | 0.2558 | 0.923
#   ... + idf_power 1.25                        0.567 0.526 0.526 0.430 0.415 0.421 | 0.2559 | 0.914
# Engine 1.1 analyzer (before the lexicon/cognate changes), settings only:
#   idf_power 1.5 / 2                           0.549 0.511 0.510 0.416 0.381 0.388 | 0.2601 | 0.909
#                                               0.552 0.519 0.525 0.402 0.373 0.387 | 0.2696 | 0.897
#   char 0.3 / 0.5                              0.556 0.523 0.523 0.427 0.409 0.401 | 0.2604 | 0.897
#                                               0.557 0.529 0.537 0.415 0.414 0.390 | 0.2717 | 0.866
#   idf_power 1.5, char 0.5                     0.568 0.543 0.541 0.424 0.421 0.411 | 0.2663 | 0.876
#   max_doc_terms 0 / 256                       0.544 0.500 0.497 0.406 0.376 0.388 | 0.2601 | 0.909
#                                               0.544 0.500 0.497 0.406 0.376 0.388 | 0.2549 | 0.909
#   lexicon_weight 1 / 3 / 4                    0.544 0.514 0.537 0.380 0.356 0.368 | 0.2567 | 0.909
#                                               0.544 0.485 0.471 0.406 0.387 0.389 | 0.2567 | 0.924
#                                               0.544 0.466 0.460 0.402 0.386 0.393 | 0.2567 | 0.927
#   lexicon: first 1 / 2 / 3 translations only  0.544 0.471 0.483 0.355 0.357 0.348 | 0.2567 | 0.925
#                                               0.544 0.477 0.484 0.374 0.363 0.362 | 0.2567 | 0.924
#                                               0.544 0.485 0.493 0.399 0.379 0.374 | 0.2567 | 0.924
#   lexicon: shares decaying 0.5 / 0.7 by rank  0.544 0.489 0.493 0.387 0.368 0.379 | 0.2567 | 0.925
#                                               0.544 0.499 0.494 0.396 0.377 0.381 | 0.2567 | 0.924
#   lexicon: cognate translations only          0.544 0.487 0.491 0.397 0.381 0.381 | 0.2567 | 0.910
#   lexicon rebuilt with 12 translations/word   0.544 0.496 0.489 0.403 0.380 0.383 | 0.2567 | 0.902
#   pivoted doc-length norm, slope 0.9 / 0.7    0.547 0.498 0.493 0.412 0.384 0.393 | 0.2584 |   -
#                                               0.555 0.502 0.494 0.414 0.387 0.393 | 0.2635 |   -
# Lexicon completed with Apertium (es-en; fr via fr-es-en), engine 1.2 defaults otherwise:
#   1.2 defaults, Apertium lexicon *            0.544 0.549 0.548 0.452 0.480 0.442 | 0.2567 | 0.943
#   ... tf_power 0.5                            0.551 0.549 0.554 0.463 0.488 0.449 | 0.2533 | 0.943
#   ... cognate_weight 0                        0.544 0.538 0.548 0.439 0.472 0.437 | 0.2567 | 0.943
#   ... lexicon_weight 3                        0.544 0.539 0.544 0.464 0.486 0.449 | 0.2567 | 0.943
#   Apertium es only (FreeDict fr)              0.544 0.507 0.547 0.421 0.480 0.406 | 0.2567 | 0.942
#   Apertium translations before FreeDict's     0.544 0.551 0.548 0.452 0.485 0.441 | 0.2567 | 0.943
#   at most 4 / 8 translations per stem         0.544 0.549 0.553 0.454 0.476 0.447 | 0.2567 | 0.943
#                                               0.544 0.548 0.545 0.449 0.482 0.436 | 0.2567 | 0.943
#   fr pivot: 1 / 3 English per Spanish word    0.544 0.553 0.548 0.453 0.480 0.436 | 0.2567 | 0.943
#                                               0.544 0.548 0.548 0.453 0.480 0.442 | 0.2567 | 0.943
# Needs the scoring paths (FreeDict lexicon, tf_power 0.5 vectors; reviewer: one record per provider
# unless noted):
#   + hubness 0.5 (k=10) *                      0.572 0.527 0.529 0.435 0.440 0.443 | 0.2483 |   -
#   + Rocchio PRF 0.5 (top 3) *                 0.553 0.501 0.505 0.420 0.408 0.414 | 0.2454 |   -
#   + PRF 0.5 + hubness 0.5 *                   0.575 0.521 0.538 0.433 0.430 0.432 | 0.2472 |   -
#   per profile paper, power mean p=4 *         (SDG n/a)                               | 0.2531 |   -
# `--v12` with the shipped (Apertium) lexicon, final (2026-12-03):
#   engine 1.2 defaults                          0.544 0.549 0.548 0.452 0.480 0.442 | 0.2567 | 0.943
#   cognate_weight 0                             0.544 0.538 0.548 0.439 0.472 0.437 | 0.2567 | 0.943
#   tf_power 0.5                                 0.551 0.549 0.554 0.463 0.488 0.449 | 0.2533 | 0.943
#   tf_power 0.5, idf_power 1.25                 0.555 0.557 0.555 0.474 0.490 0.446 | 0.2518 | 0.942
#   tf_power 0.5, char 0.3                       0.563 0.569 0.565 0.468 0.498 0.444 | 0.2545 | 0.918
#   bigram 0.5, max_doc_terms 0                  0.555 0.554 0.553 0.454 0.475 0.440 | 0.2486 | 0.935
#   bigram 0.5 (max_doc_terms 128)               0.555 0.554 0.553 0.454 0.475 0.441 | 0.2582 | 0.933
#   tf 0.5, idf 1.25, bigram 0.5, all terms      0.567 0.565 0.565 0.473 0.492 0.448 | 0.2559 | 0.927
#   ... + char 0.3                               0.578 0.570 0.568 0.467 0.495 0.439 | 0.2686 | 0.897
#   tf_power 0.5 + hubness 0.5                   0.572 0.566 0.566 0.477 0.512 0.466 | 0.2483 |   -
#   tf_power 0.5 + PRF 0.5 (m=3)                 0.553 0.547 0.554 0.459 0.486 0.446 | 0.2454 |   -
#   tf_power 0.5 + PRF 0.5 + hubness 0.5         0.575 0.572 0.573 0.466 0.503 0.473 | 0.2472 |   -
#   tf_power 0.5, per paper, power mean p=4      0.551 0.549 0.554 0.463 0.488 0.449 | 0.2531 |   -
#   combo + hubness 0.5                          0.589 0.578 0.574 0.482 0.515 0.463 | 0.2573 |   -
#   combo + PRF 0.5                              0.563 0.554 0.563 0.464 0.495 0.450 | 0.2658 |   -
# `--v13` (engine 1.3 defaults, 2026-12-04; reviewer loss over d_20_1..10): three more families, none kept.
#   engine 1.3 defaults                          0.552 0.546 0.556 0.464 0.489 0.452 | 0.2560 |   -
#   LSA blend: (1-b) cos + b cos in a k-dim TruncatedSVD of both sides' vectors (the corpora are too
#   small for the latent space to add anything):
#     k 50, b 0.3                                0.542 0.526 0.549 0.450 0.492 0.439 | 0.2591
#     k 100, b 0.3                               0.562 0.545 0.552 0.458 0.490 0.450 | 0.2597
#     k 200, b 0.3                               0.552 0.550 0.561 0.468 0.485 0.451 | 0.2542
#     k 100, b 0.5                               0.557 0.544 0.544 0.452 0.489 0.447 | 0.2601
#     k 100, b 0.3, SVD of the documents only    0.558 0.551 0.549 0.466 0.488 0.452 | 0.2525
#   asymmetric tf (query tf^p, document tf^0.5; BM25 weighs the query by raw counts), engine analyzer:
#     p 0.5 (symmetric)                          0.552 0.542 0.562 0.458 0.487 0.447 | 0.2583
#     p 1.0                                      0.552 0.546 0.547 0.422 0.456 0.435 | 0.2519
#     p 0.75                                     0.548 0.551 0.555 0.442 0.475 0.444 | 0.2513
#     p 1.0, document tf^0.3                     0.550 0.542 0.555 0.418 0.454 0.435 | 0.2652
#     p 1.0, query idf^2                         0.558 0.550 0.557 0.426 0.467 0.438 | 0.2576
#   lexicon shares: a word's weight over n translations w/n^a; "in corpus": only translations that
#   occur in the run's English texts (the analysis would then depend on the corpus):
#     a 0.5 / 0.75                               0.552 0.518 0.531 0.470 0.491 0.444
#                                                0.552 0.527 0.550 0.467 0.488 0.454
#     in corpus, a 1 / a 0.5                     0.552 0.557 0.531 0.474 0.495 0.454
#                                                0.552 0.557 0.531 0.473 0.495 0.463
#   the lexicons read backwards for English texts (engine 1.4, `reverse_weight`; devset topical MRR last):
#     reverse 0 (engine 1.3)                     0.552 0.546 0.556 0.464 0.489 0.452 | 0.2560 | 0.944
#     reverse 0.25                               0.567 0.546 0.556 0.470 0.496 0.454 | 0.2518 | 0.953
#     reverse 0.3                                0.567 0.546 0.556 0.469 0.498 0.455 | 0.2529 | 0.953
#     reverse 0.4 = engine 1.4                   0.562 0.546 0.556 0.476 0.498 0.456 | 0.2451 | 0.953
#     reverse 0.5                                0.559 0.546 0.556 0.473 0.498 0.457 | 0.2487 | 0.938
#     reverse 0.4, a translation equal to the English stem itself left out (no extra weight on words spelt
#     alike in both languages) / the same at 0.6:
#                                                0.556 0.546 0.556 0.476 0.496 0.449 | 0.2647 | 0.946
#                                                0.552 0.546 0.556 0.481 0.503 0.452 | 0.2566 | 0.935
#     reverse 0.4 with lexicon_weight 1.5 / 3, cognate_weight 0.5, title_weight 1.5 (no change kept):
#                                                0.562 0.560 0.552 0.472 0.500 0.454 | 0.2451 | 0.953
#                                                0.562 0.537 0.558 0.475 0.499 0.463 | 0.2451 | 0.953
#                                                0.562 0.542 0.562 0.474 0.501 0.461 | 0.2451 | 0.953
#                                                0.562 0.546 0.556 0.476 0.498 0.456 | 0.2451 | 0.953
#   engine 1.4 + French / Spanish synonyms through English (a word also votes, with weight b split evenly, for the
#   other words of its language that share an English translation with it; devset topical MRR last):
#     b 0.2 / 0.4                                0.562 0.553 0.548 0.474 0.501 0.442 | 0.945
#                                                0.562 0.549 0.549 0.475 0.505 0.445 | 0.945
#   Every lever measured since engine 1.1 together (combo + hubness, above) tops out at SDG .589 .578 .574
#   .482 .515 .463 and reviewer .247: the targets (.62 monolingual, .50 cross-lingual, loss .22) need a
#   representation beyond weighted bags of words (the best published reviewer system, SPECTER + MFR, is
#   at .24).
def main_12():
    from matchmaker.engine import EngineSettings as ES
    draws = D.reviewer_draws()
    base = ES()
    best = ES(tf_power=0.5)
    combo = ES(tf_power=0.5, idf_power=1.25, bigram_weight=0.5, max_doc_terms=0)
    combo_c = ES(tf_power=0.5, idf_power=1.25, bigram_weight=0.5, max_doc_terms=0, char_weight=0.3)
    rows = [
        ("engine 1.2 defaults", engine_variant(base), "one", base),
        ("cognate_weight 0", engine_variant(ES(cognate_weight=0.0)), "one",
         ES(cognate_weight=0.0)),
        ("tf_power 0.5", engine_variant(best), "one", best),
        ("tf_power 0.5, idf_power 1.25", engine_variant(ES(tf_power=0.5, idf_power=1.25)), "one",
         ES(tf_power=0.5, idf_power=1.25)),
        ("tf_power 0.5, char 0.3", engine_variant(ES(tf_power=0.5, char_weight=0.3)), "one",
         ES(tf_power=0.5, char_weight=0.3)),
        ("bigram 0.5, max_doc_terms 0", engine_variant(ES(bigram_weight=0.5, max_doc_terms=0)), "one",
         ES(bigram_weight=0.5, max_doc_terms=0)),
        ("bigram 0.5 (max_doc_terms 128)", engine_variant(ES(bigram_weight=0.5)), "one", ES(bigram_weight=0.5)),
        ("tf 0.5, idf 1.25, bigram 0.5, all terms", engine_variant(combo), "one", combo),
        ("... + char 0.3", engine_variant(combo_c), "one", combo_c),
        ("tf_power 0.5 + hubness 0.5", engine_variant(best, hub=0.5), "one", None),
        ("tf_power 0.5 + PRF 0.5 (m=3)", engine_variant(best, prf=0.5), "one", None),
        ("tf_power 0.5 + PRF 0.5 + hubness 0.5", engine_variant(best, prf=0.5, hub=0.5), "one", None),
        ("tf_power 0.5, per paper, power mean p=4", engine_variant(best), "pm4", None),
        ("combo + hubness 0.5", engine_variant(combo, hub=0.5), "one", None),
        ("combo + PRF 0.5", engine_variant(combo, prf=0.5), "one", None),
    ]
    print("## engine 1.2: SDG MRR en->en fr->fr es->es fr->en es->en en->fr | reviewer loss d_20_1..10 | "
          "devset topical MRR (settings-only variants)")
    for name, f, agg, st in rows:
        r = sdg(f)
        rv = reviewer(f, agg, draws)
        dv = f"{devset_mrr(st):.3f}" if st is not None else "  -  "
        print(f"{name:45s} " + " ".join(f"{x:.3f}" for x in r) + f" | {rv:.4f} | {dv}", flush=True)


# ----------------------------------------------------------------------------- engine 1.3 variants
def lsa_variant(settings=None, k=100, beta=0.3, docs_only=False):
    """(1 - beta) x the engine's cosine + beta x the cosine in a k-dimensional TruncatedSVD of the vectors."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    def f(qt, dt):
        Qm, Pm = engine_mats(qt, dt, settings)
        S = (Qm @ Pm.T).toarray()
        X = Pm if docs_only else sp.vstack([Qm, Pm])
        svd = TruncatedSVD(min(k, min(X.shape) - 1), algorithm="arpack", random_state=0).fit(X)
        V = svd.components_.T
        return (1 - beta) * S + beta * (normalize(Qm @ V) @ normalize(Pm @ V).T)
    return f


def asym_variant(q_tf=1.0, d_tf=0.5, q_idf=1.0):
    """Engine analyzer; query weights tf ** q_tf x idf ** q_idf, document weights tf ** d_tf x idf, cosine."""
    def side(X, idf, p):
        X = X.tocsr().astype(np.float64).copy()
        X.data = X.data ** p
        X = (X @ sp.diags(idf)).tocsr()
        nrm = np.sqrt(np.asarray(X.multiply(X).sum(1)).ravel())
        nrm[nrm == 0] = 1
        return sp.diags(1 / nrm) @ X

    def f(qt, dt):
        qd, dd = [wfeats(t, l) for t, l in qt], [wfeats(t, l) for t, l in dt]
        X = mat(qd + dd).tocsr()
        df = np.bincount(X.indices, minlength=X.shape[1])
        idf = np.log((1 + X.shape[0]) / (1 + df)) + 1
        return (side(X[:len(qd)], idf ** q_idf, q_tf) @ side(X[len(qd):], idf, d_tf).T).toarray()
    return f


def shares_variant(alpha=1.0, in_corpus=False):
    """Engine defaults with a word's lexicon weight split as w / n ** alpha over its n translations, and with
    ``in_corpus`` only the translations that occur in the run's English texts."""
    from matchmaker.engine import EngineSettings

    def f(qt, dt):
        vocab = None
        if in_corpus:
            vocab = set()
            for t, lang in qt + dt:
                if lang == "en":
                    vocab.update(T.stems(t, "en"))

        def shares(lang, settings, stem_counts):
            if not (settings.use_lexicon and lang != "en" and settings.use_stemming):
                return []
            lex, w, out = T.lexicon(lang), settings.lexicon_weight, []
            for s, c in stem_counts.items():
                trans = lex.get(s)
                if trans and vocab is not None:
                    trans = tuple(t for t in trans if t in vocab)
                if trans:
                    out.extend((t, w * c / len(trans) ** alpha, s) for t in trans)
            return out
        saved = T._lexicon_shares
        T._lexicon_shares = shares
        try:
            return engine_variant(EngineSettings(reverse_weight=0.0))(qt, dt)     # engine 1.3
        finally:
            T._lexicon_shares = saved
    return f


def pivot_variant(b=0.2):
    """Engine 1.4, and a French / Spanish word also votes (``b`` per occurrence, split evenly) for the other words
    of its language that share an English translation with it."""
    from matchmaker.engine import EngineSettings

    def f(qt, dt):
        saved = T._lexicon_shares

        def shares(lang, settings, stem_counts):
            out = saved(lang, settings, stem_counts)
            if lang == "en":
                return out
            lex, rev = T.lexicon(lang), T.reverse_lexicon(lang)
            for s, c in stem_counts.items():
                back = list(dict.fromkeys(x for e in lex.get(s, ()) for x in rev.get(e, ()) if x != s))
                out.extend((x, b * c / len(back), s) for x in back)
            return out
        T._lexicon_shares = shares
        try:
            return engine_variant(EngineSettings())(qt, dt)
        finally:
            T._lexicon_shares = saved
    return f


def main_13():
    from matchmaker.engine import EngineSettings as ES
    draws = D.reviewer_draws()
    v13 = ES(reverse_weight=0.0)            # engine 1.3 = 1.4 without the lexicons read backwards
    rows = [("engine 1.3 defaults", engine_variant(v13), True)]
    rows += [(f"LSA k {k}, b {b}{', documents only' if d else ''}", lsa_variant(v13, k, b, d), True)
             for k, b, d in [(50, .3, False), (100, .3, False), (200, .3, False), (100, .5, False), (100, .3, True)]]
    rows += [(f"query tf^{q}, document tf^{d}, query idf^{i}", asym_variant(q, d, i), True)
             for q, d, i in [(.5, .5, 1), (1, .5, 1), (.75, .5, 1), (1, .3, 1), (1, .5, 2)]]
    rows += [(f"lexicon shares w/n^{a}{', in corpus' if c else ''}", shares_variant(a, c), False)
             for a, c in [(.5, False), (.75, False), (1, True), (.5, True)]]
    print("## engine 1.3: SDG MRR en->en fr->fr es->es fr->en es->en en->fr | reviewer loss d_20_1..10")
    for name, f, rev in rows:
        r = sdg(f)
        rv = f"{reviewer(f, 'one', draws):.4f}" if rev else "  -   "
        print(f"{name:45s} " + " ".join(f"{x:.3f}" for x in r) + f" | {rv}", flush=True)
    print("## engine 1.4 settings: ... | reviewer loss d_20_1..10 | devset topical MRR")
    for kw in [dict(reverse_weight=w) for w in (0.0, 0.25, 0.3, 0.4, 0.5)] + [
            dict(lexicon_weight=1.5), dict(lexicon_weight=3.0), dict(cognate_weight=0.5), dict(title_weight=1.5)]:
        st = ES(**kw)
        f = engine_variant(st)
        print(f"{str(kw):45s} " + " ".join(f"{x:.3f}" for x in sdg(f)) +
              f" | {reviewer(f, 'one', draws):.4f} | {devset_mrr(st):.3f}", flush=True)
    for b in (0.2, 0.4):          # (SDG only: the pivot touches French and Spanish texts)
        name = f"1.4 + synonyms through English, b {b}"
        print(f"{name:45s} " + " ".join(f"{x:.3f}" for x in sdg(pivot_variant(b))), flush=True)


# `--v14` (engine 1.4, 2026-12-04; SDG MRR en->en fr->fr es->es fr->en es->en en->fr | reviewer loss d_20_1..10):
# three families that rescore the engine's own score matrix, none kept.
#   engine 1.4                                  0.562 0.546 0.556 0.476 0.498 0.456 | 0.2451
#   fused with BM25 (z-scores), w 0.25 / 0.5    0.568 0.552 0.552 0.471 0.483 0.442 | 0.2473
#                                               0.568 0.561 0.544 0.439 0.471 0.425 | 0.2467
#   CSLS k 10 (hubness correction at weight 1)  0.583 0.565 0.570 0.493 0.521 0.480 | 0.2562
#   Sinkhorn tau 0.02 (10 rounds) / 0.05 (3) / 0.1 (3):
#                                               0.586 0.569 0.569 0.497 0.521 0.485 | 0.2910
#                                               0.579 0.569 0.577 0.496 0.524 0.486 | 0.2697
#                                               0.581 0.561 0.564 0.487 0.515 0.469 | 0.2579
#   smoothed over needs lam 0.2; over documents lam 0.2 / 0.5 (k 10):
#                                               0.562 0.537 0.549 0.474 0.497 0.453 | 0.2507
#                                               0.567 0.549 0.554 0.480 0.499 0.458 | 0.2425
#                                               0.566 0.541 0.552 0.480 0.500 0.452 | 0.2430
#   BM25 is the same bag of words weighted otherwise: fusing adds nothing. Balancing the scores over both sides
#   (CSLS, Sinkhorn) lifts SDG by .02-.03, most of all cross-lingual (es->en passes .50), and costs the reviewer
#   loss .01-.05: there a few broad providers are rightly close to many papers. No rescoring moves the SDG
#   monolingual MRR past .59 or the reviewer loss below .24.
def fusion_variant(w=0.25):
    """Engine 1.4 fused with BM25 (bm25s, as in `make bench`): z(engine) + ``w`` z(BM25), each z-scored per query."""
    def z(S):
        return (S - S.mean(1, keepdims=True)) / (S.std(1, keepdims=True) + 1e-12)

    def f(qt, dt):
        return z(engine_variant()(qt, dt)) + w * z(Q.bm25_scores(qt, dt))
    return f


def sinkhorn_variant(tau=0.05, iters=3, csls_k=0):
    """Engine 1.4 scores balanced over both sides: K = exp(S / tau) scaled by columns and rows in turn (Sinkhorn), so
    that no document draws every query; ranked by log K + log(column scale). ``csls_k`` > 0 instead subtracts each
    document's mean top-k score over the queries (CSLS, the hubness correction above at weight 1)."""
    def f(qt, dt):
        S = engine_variant()(qt, dt)
        if csls_k:
            return 2 * S - np.sort(S, axis=0)[-csls_k:].mean(0)[None, :]
        K = np.exp((S - S.max()) / tau)
        r, c = np.ones(K.shape[0]), np.ones(K.shape[1])
        for _ in range(iters):
            c = 1.0 / (K.T @ r + 1e-300)
            r = 1.0 / (K @ c + 1e-300)
        return np.log(K + 1e-300) + np.log(c)[None, :]
    return f


def smooth_variant(lam=0.2, k=10, side="doc"):
    """Engine 1.4 scores smoothed over neighbours: S + ``lam`` W S, W a query's ``k`` most similar other queries
    (``side`` "query": other needs like this one liked the document), or S + ``lam`` S W' with W' a document's ``k``
    most similar other documents ("doc"); W's rows sum to 1."""
    def f(qt, dt):
        Qm, Pm = engine_mats(qt, dt)
        S = (Qm @ Pm.T).toarray()
        X = Qm if side == "query" else Pm
        W = (X @ X.T).toarray()
        np.fill_diagonal(W, 0)
        np.put_along_axis(W, np.argsort(-W, axis=1)[:, k:], 0, axis=1)
        W /= W.sum(1, keepdims=True) + 1e-12
        return S + lam * (W @ S) if side == "query" else S + lam * (S @ W.T)
    return f


def main_14():
    draws = D.reviewer_draws()
    rows = [("engine 1.4", engine_variant())]
    rows += [(f"fused with BM25, w {w}", fusion_variant(w)) for w in (0.25, 0.5)]
    rows += [("CSLS k 10", sinkhorn_variant(csls_k=10))]
    rows += [(f"Sinkhorn tau {t}, {i} rounds", sinkhorn_variant(t, i)) for t, i in [(.02, 10), (.05, 3), (.1, 3)]]
    rows += [(f"smoothed over {'needs' if s == 'query' else 'documents'}, lam {lam}, k {k}", smooth_variant(lam, k, s))
             for s, lam, k in [("query", .2, 10), ("doc", .2, 10), ("doc", .5, 10)]]
    print("## engine 1.4: SDG MRR en->en fr->fr es->es fr->en es->en en->fr | reviewer loss d_20_1..10")
    for name, f in rows:
        print(f"{name:45s} " + " ".join(f"{x:.3f}" for x in sdg(f)) + f" | {reviewer(f, 'one', draws):.4f}", flush=True)


if __name__ == "__main__":
    import sys
    if "--v14" in sys.argv:
        main_14()
    elif "--v13" in sys.argv:
        main_13()
    elif "--v12" in sys.argv:
        main_12()
    else:
        main()
