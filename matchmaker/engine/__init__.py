"""TA Matchmaker matching engine: explainable, multilingual TF-IDF matching of needs and offerings.

A pure package (numpy, scipy, the standard library and a Snowball stemmer): it imports
neither Flask nor SQLAlchemy. See :mod:`matchmaker.engine.index` for the method.
"""
from .index import ENGINE_VERSION, Engine, Model
from .records import (DEADLINE_PASSED, DELIVERY_LANGUAGES, ELIGIBILITY, NO_CAPACITY, NO_COMMON_LANGUAGE,
                      NOT_ELIGIBLE, POLICY_AREAS, REASONS, REGIONS, SIDES, SUPPORT_KINDS, EngineSettings,
                      Exclusion, Proposal, Ranking, Record, UpdateResult)

MatchIndex = Engine

__all__ = ["ENGINE_VERSION", "Engine", "MatchIndex", "Model", "Record", "EngineSettings", "Exclusion",
           "Proposal", "Ranking", "UpdateResult", "REASONS", "NOT_ELIGIBLE", "NO_COMMON_LANGUAGE",
           "NO_CAPACITY", "DEADLINE_PASSED", "POLICY_AREAS", "SUPPORT_KINDS", "DELIVERY_LANGUAGES",
           "REGIONS", "ELIGIBILITY", "SIDES"]
