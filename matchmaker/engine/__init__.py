"""TA Matchmaker matching engine: explainable, multilingual TF-IDF matching of needs and offerings.

A pure package (numpy, scipy, sparse_dot_topn, the standard library and a Snowball stemmer): it
imports neither Flask nor SQLAlchemy. See :mod:`matchmaker.engine.engine` for the map of its modules.
"""
from .engine import ENGINE_VERSION, Engine
from .records import (
                      DEADLINE_PASSED,
                      DELIVERY_LANGUAGES,
                      ELIGIBILITY,
                      NO_CAPACITY,
                      NO_COMMON_LANGUAGE,
                      NOT_ELIGIBLE,
                      POLICY_AREAS,
                      REASONS,
                      REGIONS,
                      SIDES,
                      SUPPORT_KINDS,
                      EngineSettings,
                      Exclusion,
                      Proposal,
                      Ranking,
                      Record,
)
from .vocabulary import Vocabulary

__all__ = ["ENGINE_VERSION", "Engine", "Vocabulary", "Record", "EngineSettings", "Exclusion", "Proposal", "Ranking",
           "REASONS", "NOT_ELIGIBLE", "NO_COMMON_LANGUAGE", "NO_CAPACITY", "DEADLINE_PASSED", "POLICY_AREAS",
           "SUPPORT_KINDS", "DELIVERY_LANGUAGES", "REGIONS", "ELIGIBILITY", "SIDES"]
