"""The facilitators' dashboard and the CSV behind each of its charts."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template
from flask_babel import get_locale
from flask_login import login_required
from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import Member
from matchmaker.permissions import require
from matchmaker.reports import render
from matchmaker.services.report_cache import cached_report

bp = Blueprint("dashboard", __name__)


def _member_names(report):
    """Staff see which members share a theme (the theme's need ids resolve to members)."""
    ids = {m for theme in report.themes for m in theme.members}
    members = db.session.scalars(select(Member).where(Member.id.in_(ids))).all() if ids else []
    locale = str(get_locale() or "en")
    names = {m.id: m.name(locale) for m in members}
    return lambda theme: sorted(names[m] for m in theme.members if m in names)


@bp.get("/dashboard/")
@login_required
def index():
    require("dashboard.view")
    report = cached_report(public=False)
    return render_template("dashboard/index.html", report=report, render=render, member_names=_member_names(report))


@bp.get("/dashboard/<key>.csv")
@login_required
def table_csv(key: str):
    require("dashboard.view")
    if key not in render.CSV_KEYS:
        abort(404)
    report = cached_report(public=False)
    body = (render.themes_csv(report, _member_names(report)) if key == "themes"
            else render.table_csv(report.table(key)))
    return render.download_csv(body, f"dashboard-{key}-{date.today().isoformat()}.csv")
