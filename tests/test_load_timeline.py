"""The load run says when its slow requests came: in the first seconds, while every user starts at once, or later."""
from __future__ import annotations

import math

from stress.load import SLOW_MS, START_SECONDS, _timeline


def test_slow_requests_are_counted_by_when_they_began(tmp_path):
    log = tmp_path / "requests.tsv"
    start = 1_000_000.0
    # (began, took ms): two slow ones at the start, one slow later, nineteen quick later
    requests = [(0.0, 400.0), (0.5, 900.0), (1.0, 20.0), (START_SECONDS + 1, SLOW_MS + 50.0)]
    requests += [(START_SECONDS + 2 + i, 10.0 + i) for i in range(19)]
    log.write_text("".join(f"{start + began + took / 1000:.3f}\t{took:.1f}\tGET /\n" for began, took in requests))
    slow_at_start, slow_later, p95_later = _timeline(log)
    assert (slow_at_start, slow_later) == (2, 1)
    assert p95_later == SLOW_MS + 50.0       # the 20 later requests: their 95th percentile is the slowest


def test_no_log_gives_no_figures(tmp_path):
    slow_at_start, slow_later, p95_later = _timeline(tmp_path / "absent.tsv")
    assert (slow_at_start, slow_later) == (0, 0) and math.isnan(p95_later)
