"""Quality ideas measured while tuning engine 1.1 (not part of `make bench`).

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


if __name__ == "__main__":
    main()
