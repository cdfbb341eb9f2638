"""One computed report per kind (facilitators', public), reused while the data it was computed from is unchanged,
within REPORT_CACHE_SECONDS."""
from __future__ import annotations

import threading
import time
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import AuditEvent, Match, Need, Offering
from matchmaker.services.reports import Report, build_report

# One computed report per kind, reused while the data it was computed from is unchanged (within a time limit).
_CACHE: dict[bool, tuple[tuple, float, Report]] = {}
_CACHE_LOCK = threading.Lock()


def _fingerprint(today: date) -> tuple:
    """Changes whenever a need, offering, match or relevant audit event is added, changed or removed."""
    parts = [today, current_app.config["MATCH_THRESHOLD"], str(db.engine.url)]
    for model in (Need, Offering, Match):
        parts.extend(db.session.execute(
            select(func.count(model.id), func.max(model.id), func.max(model.updated_at),
                   func.coalesce(func.sum(model.version), 0))).one())
    parts.extend(db.session.execute(select(func.count(AuditEvent.id), func.max(AuditEvent.id))
                                    .where(AuditEvent.object_type == "match")).one())
    return tuple(parts)


def cached_report(public: bool) -> Report:
    """The report, recomputed when the data changed or after REPORT_CACHE_SECONDS (0: every time)."""
    seconds = current_app.config.get("REPORT_CACHE_SECONDS", 0)
    if not seconds:
        return build_report(public)
    today = date.today()
    key = _fingerprint(today)
    with _CACHE_LOCK:
        hit = _CACHE.get(public)
        if hit and hit[0] == key and time.monotonic() - hit[1] < seconds:
            return hit[2]
    report = build_report(public, today=today)
    with _CACHE_LOCK:
        _CACHE[public] = (key, time.monotonic(), report)
    return report
