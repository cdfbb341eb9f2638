"""Explanations: the terms that carried a proposal's score, with their shares, and the facets the two share.

A term's share is its feature's contribution to the text score (query weight x row weight); the shares are
ranked by contribution rounded as scores are (1e-6), then by feature, so that equal contributions list alike
on every path. Features shown under the same word (a French word and its English translation, say) make one
term; the rest is one "N other terms" entry; every part is scaled so that the parts add up to the score.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from .records import DELIVERY_LANGUAGES, POLICY_AREAS, SUPPORT_KINDS, EngineSettings, Proposal
from .rules import ROUND, unmask

MERGE_SPAN = 8     # features beyond the listed ones whose labels may merge into them


def terms_of(labels: list[str], cols: np.ndarray, contributions: np.ndarray, texts: list[float],
             n_terms: int, fillers: np.ndarray) -> list[list[tuple[str, float]]]:
    """The terms of each column of ``contributions`` (query features x proposals), with one sort for all; a
    filler word (``fillers``, by column) is never listed: its part of the score is among the "N other terms"."""
    by_proposal = contributions.T
    proposal, feature = np.nonzero(by_proposal)
    totals = np.bincount(proposal, minlength=len(texts))
    if fillers.any():
        listed = ~fillers[cols[feature]]
        proposal, feature = proposal[listed], feature[listed]
    value = by_proposal[proposal, feature].astype(np.float64)
    order = np.lexsort((cols[feature], -np.rint(value * ROUND), proposal))
    proposal, feature, value = proposal[order], feature[order], value[order]
    starts = np.searchsorted(proposal, np.arange(len(texts) + 1)).tolist()
    feature_cols, values = cols[feature].tolist(), value.tolist()
    out = []
    for j, text in enumerate(texts):
        a, b = starts[j], starts[j + 1]
        head = [(labels[feature_cols[i]], values[i]) for i in range(a, min(b, a + n_terms + MERGE_SPAN))]
        out.append(finish_terms(head, int(totals[j]), text, n_terms))
    return out


def finish_terms(head: list[tuple[str, float]], total: int, text: float, n: int) -> list[tuple[str, float]]:
    """The explanation's ``n`` terms from the largest contributions ``head`` (in order, of ``total``
    features): features shown under the same word make one term; the rest is one "N other terms" entry, so
    that the parts add up to ``text``."""
    if len({label for label, _ in head}) == len(head):          # one feature per word (most often): in order
        out = head[:n]
        shown = len(out)
    else:
        merged: dict[str, float] = {}             # in order of first appearance: the sort below keeps it for ties
        for label, value in head:
            merged[label] = merged.get(label, 0.0) + value
        members = Counter(label for label, _ in head)
        ranked = sorted(merged, key=lambda label: -round(merged[label] * ROUND))
        out = [(label, merged[label]) for label in ranked[:n]]
        shown = sum(members[label] for label, _ in out)
    rest = text - sum(value for _, value in out)
    if total > shown:
        out.append((f"{total - shown} other terms", float(rest)))
    elif out:
        label, value = out[-1]
        out[-1] = (label, value + float(rest))   # float residue
    return out


def proposals(need_ids: list[int], offering_ids: list[int], need_facets: list[tuple[int, int, int]],
              offering_facets: list[tuple[int, int, int]], texts: list[float], finals: list[float],
              terms: list[list[tuple[str, float]]], settings: EngineSettings) -> list[Proposal]:
    """Proposal objects; facets are (policy areas, kinds of support, languages) masks of each side."""
    return [_proposal(*pair, settings) for pair in
            zip(need_ids, offering_ids, need_facets, offering_facets, texts, finals, terms, strict=True)]


def _proposal(need_id: int, offering_id: int, need: tuple[int, int, int], offering: tuple[int, int, int],
              text: float, final: float, terms: list[tuple[str, float]], settings: EngineSettings) -> Proposal:
    (need_pa, need_sk, need_lang), (off_pa, off_sk, off_lang) = need, offering
    pa = (need_pa & off_pa).bit_count() / max(1, need_pa.bit_count())
    sk = (need_sk & off_sk).bit_count() / max(1, need_sk.bit_count())
    bonus = {"policy_areas": text * settings.policy_area_weight * pa,
             "support_kinds": text * settings.support_kind_weight * sk}
    shared = {"policy_areas": unmask(need_pa & off_pa, POLICY_AREAS),
              "support_kinds": unmask(need_sk & off_sk, SUPPORT_KINDS),
              "delivery_languages": unmask(need_lang & off_lang, DELIVERY_LANGUAGES)}
    # the parts add up to the (rounded) score: the rounding residue goes on the text part
    scale = final / (text + sum(bonus.values())) if text > 0 else 0.0
    return Proposal(need_id, offering_id, final, text * scale, [(label, v * scale) for label, v in terms],
                    {key: v * scale for key, v in bonus.items()}, shared)
