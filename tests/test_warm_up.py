"""What gunicorn's master computes before it forks (gunicorn.conf.py): every step runs, none is skipped by an error."""
from __future__ import annotations

import logging

from matchmaker.services import allocation
from matchmaker.warm import warm_up


def test_warming_runs_every_step_and_leaves_the_competition_computed(app, make, caplog, monkeypatch):
    offering = make.offering(make.organisation(), "published", capacity=1)
    for code in ("PE", "BJ"):
        make.match(make.need(code, "open"), offering)
    solved = []
    solve = allocation.allocate
    monkeypatch.setattr(allocation, "allocate", lambda *args, **kw: solved.append(1) or solve(*args, **kw))
    with caplog.at_level(logging.WARNING, logger="matchmaker.warm"):
        warm_up(app)
    assert not [r for r in caplog.records if r.name == "matchmaker.warm"], caplog.text
    assert len(solved) == 1
    with app.app_context():
        assert allocation.competition([offering.id])[offering.id].places == 1
    assert len(solved) == 1                         # the workers find it computed
