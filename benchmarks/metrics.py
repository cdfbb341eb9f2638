"""Ranking metrics (MRR, recall@k, nDCG@10) and the reviewer-gold official loss."""
from __future__ import annotations

import math

import numpy as np


def rank_ids(scores: np.ndarray, ids: list[str]) -> list[str]:
    """Ids by decreasing score, ties broken by id (deterministic)."""
    order = sorted(range(len(ids)), key=lambda i: (-float(scores[i]), ids[i]))
    return [ids[i] for i in order]


def retrieval_metrics(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]],
                      ks=(1, 5, 10)) -> dict[str, float]:
    """rankings[qid] = ranked doc ids. Relevant = grade > 0; nDCG uses the grades."""
    mrr, ndcg, rec = [], [], {k: [] for k in ks}
    for qid, rel in qrels.items():
        relevant = {d for d, g in rel.items() if g > 0}
        if not relevant or qid not in rankings:
            continue
        ranked = rankings[qid]
        rr = 0.0
        for i, d in enumerate(ranked):
            if d in relevant:
                rr = 1.0 / (i + 1)
                break
        mrr.append(rr)
        for k in ks:
            rec[k].append(len(relevant & set(ranked[:k])) / len(relevant))
        dcg = sum((2 ** rel.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if rel.get(d, 0) > 0)
        ideal = sorted((g for g in rel.values() if g > 0), reverse=True)[:10]
        idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
        ndcg.append(dcg / idcg if idcg else 0.0)
    out = {"MRR": float(np.mean(mrr)) if mrr else float("nan")}
    for k in ks:
        out[f"R@{k}"] = float(np.mean(rec[k])) if rec[k] else float("nan")
    out["nDCG@10"] = float(np.mean(ndcg)) if ndcg else float("nan")
    out["n"] = len(mrr)
    return out


def reviewer_loss(sim: dict[str, dict[str, float]], ratings: dict[str, dict[str, float]]) -> dict[str, float]:
    """Official loss of Stelmakh et al.: wrongly ordered pairs cost |diff|, ties half; plus easy/hard accuracy."""
    cost = total = 0.0
    easy_ok = easy_n = hard_ok = hard_n = 0.0
    for pid, rated in ratings.items():
        items = sorted(rated.items())
        s = sim.get(pid, {})
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                (p1, e1), (p2, e2) = items[i], items[j]
                if e1 == e2 or p1 not in s or p2 not in s:
                    continue
                diff = abs(e1 - e2)
                hi, lo = (p1, p2) if e1 > e2 else (p2, p1)
                if s[hi] > s[lo]:
                    ok = 1.0
                elif s[hi] == s[lo]:
                    ok = 0.5
                else:
                    ok = 0.0
                cost += (1.0 - ok) * diff
                total += diff
                ehi, elo = max(e1, e2), min(e1, e2)
                if ehi >= 4 and elo <= 2:
                    easy_ok += ok
                    easy_n += 1
                elif elo >= 4:
                    hard_ok += ok
                    hard_n += 1
    return {"loss": cost / total if total else float("nan"),
            "easy_acc": easy_ok / easy_n if easy_n else float("nan"),
            "hard_acc": hard_ok / hard_n if hard_n else float("nan")}
