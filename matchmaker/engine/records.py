"""Plain records in, plain results out: the engine's public data types."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

POLICY_AREAS = ("readiness", "ict_infrastructure", "trade_logistics", "payments", "e_transactions",
                "consumer_protection", "data_protection", "cybersecurity", "intellectual_property",
                "skills", "financing")
SUPPORT_KINDS = ("legal_advice", "policy_advice", "assessment", "training", "technical_assistance",
                 "peer_exchange", "funding")
DELIVERY_LANGUAGES = ("en", "fr", "es", "ar", "pt", "ru", "zh")
REGIONS = ("africa", "asia", "pacific", "latin_america", "caribbean", "middle_east", "europe", "cis",
           "north_america")
ELIGIBILITY = ("all_developing", "ldc_only", "regions", "members")
SIDES = ("need", "offering")

# Reason codes for offerings (or needs) left out by a hard rule, in the order they are checked.
NOT_ELIGIBLE = "not_eligible"
NO_COMMON_LANGUAGE = "no_common_language"
NO_CAPACITY = "no_capacity"
DEADLINE_PASSED = "deadline_passed"
REASONS = (NOT_ELIGIBLE, NO_COMMON_LANGUAGE, NO_CAPACITY, DEADLINE_PASSED)


@dataclass(frozen=True)
class Record:
    """A need or an offering. Offering-only and need-only fields have neutral defaults."""
    id: int
    title: str = ""
    description: str = ""
    language: str = "en"
    policy_areas: frozenset[str] = frozenset()
    support_kinds: frozenset[str] = frozenset()
    delivery_languages: frozenset[str] = frozenset()
    # offerings
    eligibility: str = "all_developing"
    eligible_regions: frozenset[str] = frozenset()
    eligible_members: frozenset[str] = frozenset()
    capacity_left: int | None = None
    deadline: dt.date | None = None
    # needs
    member: str = ""
    member_is_ldc: bool = False
    member_region: str = ""

    def languages(self) -> frozenset[str]:
        """Languages the record can work in: its delivery languages, else its own language."""
        return frozenset(self.delivery_languages) or frozenset({self.language})


@dataclass(frozen=True)
class EngineSettings:
    """Weights and thresholds. Defaults were chosen on the devset and public benchmarks (see benchmarks/)."""
    title_weight: float = 2.0            # a title word counts as this many description words
    lexicon_weight: float = 2.0          # weight a FR/ES word gives to its English translations
    cognate_weight: float = 1.0          # weight of a FR/ES word's English cognate spelling (0 = off)
    reverse_weight: float = 0.4          # weight an English word gives, per language, to its FR and ES translations
                                         # (0 = off); measured 0 / 0.25 / 0.4 / 0.5 (docs/decisions/)
    concept_weight: float = 1.0          # weight of a glossary concept occurrence
    use_lexicon: bool = True
    use_glossary: bool = True
    max_doc_terms: int = 96              # keep the heaviest features per document (0 = all); measured: 96 ranks as
                                         # well as 128 (reviewer loss .254 vs .257, devset MRR .909 both) at half the
                                         # all-pairs product
    max_df: float = 0.05                 # features in more than this share of documents get no weight ...
    max_df_min_docs: int = 2000          # ... and in more than this many documents (small corpora keep all)
    tf_power: float = 0.5                # tf weight tf ** tf_power (0: 1 + log tf, engine 1.1); 0.5 measured better
                                         # or equal everywhere
    idf_power: float = 1.0               # idf is raised to this power (> 1 favours rare, specific features)
    filler_kl: float = 0.12              # a word whose documents spread over the policy areas as the corpus's do
                                         # (Kullback-Leibler divergence from the corpus's distribution below this, in
                                         # nats) carries no topic: no share in explanations (0 = off); it keeps its
                                         # weight, as removing it lowered the devset's MRR (.953 -> .946, English .925
                                         # -> .908)
    filler_min_docs: int = 8             # ... measured only for words in at least this many documents with policy
                                         # areas
    policy_area_weight: float = 0.3      # score *= 1 + w * share of the query's policy areas matched
    support_kind_weight: float = 0.1     # same for kinds of support
    min_score: float = 0.0               # proposals need a text score above this
    explain_terms: int = 8               # terms listed in an explanation (the rest is summed)
    max_exclusions: int = 50             # hard-rule exclusions reported per query
    drift_refit_share: float = 0.2       # refit when this share of documents changed since the last fit
    drift_oov_share: float = 0.1         # ... or this share of new feature mass is unknown to the vocabulary
    max_delta_docs: int = 4096           # merge the in-memory delta segment into the main one past this


class Exclusion(NamedTuple):
    """Another record left out by a hard rule: (id, reason code)."""
    id: int
    reason: str


@dataclass(frozen=True)
class Proposal:
    need_id: int
    offering_id: int
    score: float
    text_score: float
    terms: list[tuple[str, float]] = field(default_factory=list)
    facet_bonus: dict[str, float] = field(default_factory=dict)
    shared_facets: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ranking:
    """Proposals for one record (best first) and the hard-rule exclusions met on the way."""
    side: str                 # side of the record the ranking is for: 'need' or 'offering'
    id: int
    proposals: list[Proposal]
    exclusions: list[Exclusion]
