"""Themes shared by several needs: non-negative matrix factorisation (NMF) of the engine's TF-IDF vectors.

Each need is a vector in the engine's language-neutral feature space (French and Spanish words also vote for
their English translations, glossary phrases become concepts), so a French and an English need about the same
thing fall in the same theme. NMF splits the needs × features matrix into k themes; a need belongs to the theme
that weighs most in it, and a theme is named by its heaviest features. The same needs always give the same
themes: the needs are taken in id order, NMF starts from a deterministic SVD (``nndsvd``) with a fixed
random_state.

A feature of the reports (services/reports.py), not of the matcher: it reads the engine's text analysis only.
"""
from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from matchmaker.engine import EngineSettings
from matchmaker.engine import text as T
from matchmaker.engine.labels import feature_label
from matchmaker.engine.tokens import LANGUAGES, stems, strip_accents

MAX_THEMES = 12
TERMS_PER_THEME = 5
TITLE_WEIGHT = 2.0
# Words frequent in how needs are written ("we want help online") that name no subject.
VAGUE_WORDS = frozenset({"want", "wants", "wish", "need", "needs", "help", "line", "vend", "would", "like", "also",
                         "support", "request", "country", "countries", "government"})


@dataclass(frozen=True)
class ThemeInput:
    """What clustering needs to know of one need."""

    id: int
    title: str
    description: str
    language: str
    member: int
    region: str = ""
    policy_areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class Theme:
    """A group of needs about the same thing, named by its top terms."""

    number: int
    terms: tuple[str, ...]
    need_ids: tuple[int, ...]
    members: frozenset[int]
    policy_areas: tuple[str, ...]           # the most frequent first
    regions: tuple[tuple[str, int], ...] = field(default=())  # (region, members), most members first
    area_members: tuple[tuple[str, int], ...] = field(default=())  # (policy area, members), as policy_areas

    @property
    def name(self) -> str:
        return ", ".join(self.terms[:3])

    @property
    def main_region(self) -> tuple[str, int] | None:
        return self.regions[0] if self.regions else None


def theme_count(n_needs: int) -> int:
    """How many themes to look for: about sqrt(n/2), at least 2, at most MAX_THEMES."""
    if n_needs < 4:
        return 0
    return max(2, min(MAX_THEMES, round(math.sqrt(n_needs / 2)), n_needs - 1))


def _fold(word: str) -> str:
    return strip_accents(word.lower())


def hidden_words(names: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Words and stems a theme's terms must not contain: those of member names (in any language).

    Returns (exact words and stems, prefixes): a term that starts with a distinctive name word ("kenyan",
    "senegalese", "peruano") is dropped too.
    """
    words: set[str] = set()
    for name in names:
        for token in re.findall(r"[^\W\d_]+", name):
            folded = _fold(token)
            if len(folded) >= 3:
                words.add(folded)
    words -= GENERIC_NAME_WORDS
    name_stems = set()
    for lang in LANGUAGES:
        for word in words:
            name_stems.update(_fold(s) for s in stems(word, lang) if len(s) >= 3)
    prefixes = {w for w in words if len(w) >= 4}
    return frozenset(words | name_stems), frozenset(prefixes)


# Words of member names that are ordinary words and identify no member: they may name a theme.
GENERIC_NAME_WORDS = frozenset({
    "republic", "republique", "republica", "democratic", "democratique", "democratica", "state", "states", "etat",
    "etats", "estado", "estados", "united", "unis", "unidos", "unie", "unida", "kingdom", "royaume", "reino",
    "islands", "island", "iles", "islas", "federal", "federale", "people", "peoples", "populaire", "popular",
    "union", "territory", "territoire", "territorio", "saint", "santa", "north", "nord", "norte", "south", "sud",
    "east", "west", "central", "centrale", "centrafricaine", "great", "arab", "arabe", "islamic", "islamique",
    "islamica", "plurinational", "plurinacional", "bolivarian", "federated", "independent", "principality",
    "sultanate", "commonwealth", "new", "nouvelle", "nueva", "special", "speciale", "especial", "administrative",
    "administrativa", "region", "customs", "douanier", "aduanero", "separate", "distinct", "separado", "the", "and",
    "des", "del", "los", "las", "les", "une",
})


def _hidden(term: str, feature: str, exact: frozenset[str], prefixes: frozenset[str]) -> bool:
    folded = _fold(term)
    value = _fold(feature.partition(":")[2])
    if folded in exact or value in exact:
        return True
    return any(folded.startswith(p) or value.startswith(p) for p in prefixes)


# Each need text's analysis, kept: texts rarely change, and analysing thousands of them is most of the clustering's
# time. (title, description, language, plain) -> (features with the title weighted, the (stem, word) pairs seen).
_ANALYSED: dict[tuple[str, str, str, bool], tuple[dict[str, float], tuple]] = {}
_ANALYSED_LOCK = threading.Lock()
ANALYSED_KEPT = 50_000


def _analyser(plain: bool) -> T.Analyser:
    if plain:
        return T.analyser(T.AnalyzerSettings(use_lexicon=False, use_glossary=False))
    settings = EngineSettings()
    return T.analyser(T.AnalyzerSettings(lexicon_weight=settings.lexicon_weight,
                                         concept_weight=settings.concept_weight))


def _analyse(keys: list[tuple[str, str, str, bool]], plain: bool) -> dict[tuple, tuple[dict[str, float], tuple]]:
    """The analysis of each need text, all in one batch: its description and its title are documents of their own,
    added up as one need (the title weighted), with the words each one offers alone for the labels."""
    analyser = _analyser(plain)
    documents = [[(text or "", language, 1.0)] for title, description, language, _plain in keys
                 for text in (description, title)]
    surfaces: list[dict[str, str]] = []
    done = analyser.analyse(documents, surfaces=surfaces)
    names, features, values = analyser.names, done.features.tolist(), done.values.tolist()
    found = {}
    for i, key in enumerate(keys):
        (a, b), (_, c) = done.indptr[2 * i:2 * i + 2].tolist(), done.indptr[2 * i + 1:2 * i + 3].tolist()
        counts = {names[f]: v for f, v in zip(features[a:b], values[a:b], strict=True)}
        for f, v in zip(features[b:c], values[b:c], strict=True):
            counts[names[f]] = counts.get(names[f], 0.0) + TITLE_WEIGHT * v
        surface = surfaces[2 * i]
        for stem, word in surfaces[2 * i + 1].items():
            surface.setdefault(stem, word)
        found[key] = (counts, tuple(surface.items()))
    return found


def _analysed_all(needs: list[ThemeInput], plain: bool) -> list[tuple[dict[str, float], tuple]]:
    """Each need's analysis (see _ANALYSED), the texts not analysed before analysed together. Callers must not modify
    what they get."""
    keys = [(need.title, need.description, need.language, plain) for need in needs]
    with _ANALYSED_LOCK:
        kept = {key: _ANALYSED[key] for key in keys if key in _ANALYSED}
    missing = [key for key in dict.fromkeys(keys) if key not in kept]
    if missing:
        kept |= _analyse(missing, plain)
        with _ANALYSED_LOCK:
            if len(_ANALYSED) + len(missing) > ANALYSED_KEPT:
                _ANALYSED.clear()
            _ANALYSED.update((key, kept[key]) for key in missing[:ANALYSED_KEPT])
    return [kept[key] for key in keys]


def _vectors(needs: list[ThemeInput], surface: dict[str, str]) -> tuple[list[str], list[str], sp.csr_matrix]:
    """TF-IDF rows (sublinear tf, smoothed idf, L2) over the features the languages share.

    A French or Spanish need keeps its glossary concepts, the English words its words translate to, and those
    of its own words that English needs use too (cognates): its other words would make a theme of every
    language instead of a theme of every subject. Features in more than half the needs ("need", "support")
    name no theme.
    """
    # scikit-learn's feature extraction takes a second to import: only when themes are computed
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfTransformer

    analysed = _analysed_all(needs, False)
    for need, (_features, seen) in zip(needs, analysed, strict=True):
        if need.language == "en":
            for stem, word in seen:
                surface.setdefault(stem, word)
    counts = [c for c, _seen in analysed]
    english = {feature for need, c in zip(needs, counts, strict=True) if need.language == "en" for feature in c}
    others = [need for need in needs if need.language != "en"]
    plain = dict(zip((need.id for need in others), (c for c, _seen in _analysed_all(others, True)), strict=True))
    documents = []
    for need, c in zip(needs, counts, strict=True):
        own = plain.get(need.id, {})
        documents.append({feature: value for feature, value in c.items()
                          if value - own.get(feature, 0.0) > 1e-9 or (feature in own and feature in english)})
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform(documents).tocsr()
    shared = matrix.getnnz(axis=0) <= max(2, len(documents) // 2)
    matrix = matrix[:, shared]
    if matrix.shape[1] == 0:  # every feature is in more than half the needs: no theme to name
        return [], [], matrix
    tfidf = TfidfTransformer().fit(matrix)
    matrix.data = np.clip(1 + np.log(matrix.data), 0, None)
    features = vectorizer.get_feature_names_out()[shared].tolist()
    return features, [feature_label(f, surface) for f in features], tfidf.transform(matrix)


_LAST: dict[str, tuple] = {}
_LAST_LOCK = threading.Lock()


def cluster(needs: list[ThemeInput], k: int | None = None, hide: tuple[frozenset[str], frozenset[str]] = (
        frozenset(), frozenset())) -> list[Theme]:
    """Group the needs into themes; themes are numbered from the one shared by most members.

    The last result is kept: the same needs (the dashboard and the public report ask in turn) are not
    clustered twice."""
    needs = sorted(needs, key=lambda n: n.id)
    key = (tuple(needs), k, hide)
    with _LAST_LOCK:
        if _LAST.get("key") == key:
            return _LAST["themes"]
    themes = _cluster(needs, k, hide)
    with _LAST_LOCK:
        _LAST.update(key=key, themes=themes)
    return themes


def _cluster(needs: list[ThemeInput], k: int | None, hide: tuple[frozenset[str], frozenset[str]]) -> list[Theme]:
    from sklearn.decomposition import NMF

    k = theme_count(len(needs)) if k is None else min(k, len(needs))
    if k < 1:
        return []
    surface: dict[str, str] = {}
    features, labels, matrix = _vectors(needs, surface)
    if matrix.nnz == 0:
        return []
    factor = NMF(n_components=k, init="nndsvd", random_state=0, max_iter=400, tol=1e-4)
    weights = factor.fit_transform(matrix)
    assigned = np.where(weights.max(axis=1) > 1e-9, weights.argmax(axis=1), -1)
    themes = []
    for t in range(k):
        rows = np.flatnonzero(assigned == t)
        if rows.size:
            terms = _terms(factor.components_[t], features, labels, surface, hide)
            themes.append(_theme([needs[r] for r in rows], terms))
    themes.sort(key=lambda t: (-len(t.members), -len(t.need_ids), t.need_ids[0]))
    return [replace(t, number=i + 1) for i, t in enumerate(themes)]


def _terms(weights: np.ndarray, features: list[str], labels: list[str], surface: dict[str, str],
           hide: tuple[frozenset[str], frozenset[str]]) -> tuple[str, ...]:
    """A theme's name: its heaviest features, but no bare stem ("industri": only words seen in an English need,
    and glossary concepts), no vague or hidden word, one term per English stem ("payment", "payments")."""
    exact, prefixes = hide
    terms: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for j in np.argsort(-weights, kind="stable"):
        if weights[j] <= 0 or len(terms) >= TERMS_PER_THEME:
            break
        feature, label = features[j], labels[j]
        bare = feature.startswith("w:") and feature[2:] not in surface
        if bare or _fold(label) in VAGUE_WORDS or _hidden(label, feature, exact, prefixes):
            continue
        stemmed = tuple(stems(label, "en"))
        if stemmed not in seen:
            seen.add(stemmed)
            terms.append(label)
    return tuple(terms)


def _theme(needs: list[ThemeInput], terms: tuple[str, ...]) -> Theme:
    """The theme of these needs (numbered later): its members, and its regions and policy areas, most first."""
    members_by_region: dict[str, set[int]] = {}
    members_by_area: dict[str, set[int]] = {}
    areas: Counter = Counter()
    for need in needs:
        members_by_region.setdefault(need.region, set()).add(need.member)
        areas.update(need.policy_areas)
        for area in need.policy_areas:
            members_by_area.setdefault(area, set()).add(need.member)
    regions = tuple(sorted(((region, len(m)) for region, m in members_by_region.items() if region),
                           key=lambda item: (-item[1], item[0])))
    ordered = tuple(a for a, _ in sorted(areas.items(), key=lambda i: (-i[1], i[0])))
    return Theme(number=0, terms=terms, need_ids=tuple(n.id for n in needs), members=frozenset(n.member for n in needs),
                 policy_areas=ordered, regions=regions,
                 area_members=tuple((a, len(members_by_area[a])) for a in ordered))
