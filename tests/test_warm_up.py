"""What gunicorn's master computes before it forks (gunicorn.conf.py): every step runs, none is skipped by an error."""
from __future__ import annotations

import logging

from babel import localedata

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


def test_warming_reads_babel_s_data_for_every_language(app, monkeypatch):
    """Each language's CLDR data (dates, numbers) costs ~40 ms to read: once in the master, not in every worker."""
    read = []
    load = localedata.load
    monkeypatch.setattr(localedata, "load", lambda name, *args, **kw: read.append(name) or load(name, *args, **kw))
    warm_up(app)
    assert set(app.config["LANGUAGES"]) <= set(read)
