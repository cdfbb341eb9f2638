"""The public report: the dashboard's aggregates with small cells suppressed; no sign-in needed."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template

from matchmaker.reports import render
from matchmaker.services.reports import cached_report

bp = Blueprint("reports", __name__)


@bp.get("/reports/")
def index():
    # Public by design (PRODUCT.md: reports to partners and the public are aggregates naming no member).
    report = cached_report(public=True)
    return render_template("reports/index.html", report=report, render=render)


@bp.get("/reports/<key>.csv")
def table_csv(key: str):
    if key not in render.CSV_KEYS:
        abort(404)
    report = cached_report(public=True)
    body = render.themes_csv(report) if key == "themes" else render.table_csv(report.table(key))
    return render.download_csv(body, f"report-{key}-{date.today().isoformat()}.csv")
