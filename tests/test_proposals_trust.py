"""Proposals a facilitator can trust (issue 20, the service's half): only commitments take an offering's places and
competition is said; every need without proposal shows its near misses, an LDC's need always one of its policy area;
the page and the run count needs without proposal alike; re-runs change a proposal only when its inputs changed, and
the run's record says what changed, why, and when, in order."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import MatchingRun
from matchmaker.models.base import utcnow
from matchmaker.services import matching
from tests.test_matches import SIGNATURE_NEED, SIGNATURE_OFFERING


@pytest.fixture(autouse=True)
def fresh_index():
    matching.INDEX.reset()
    yield
    matching.INDEX.reset()


def _run(actor=None, need_ids=None):
    result = matching.run_matching(actor, need_ids=need_ids)
    db.session.commit()
    return result


# 3. Stable runs.

def test_a_runs_times_are_recorded_in_order(make):
    org = make.organisation()
    make.offering(org, "published", **SIGNATURE_OFFERING)
    make.need("PE", "open", **SIGNATURE_NEED)
    before = utcnow()
    _run()
    after = utcnow()
    run = db.session.scalar(select(MatchingRun))
    assert before <= run.started_at <= run.finished_at <= after
