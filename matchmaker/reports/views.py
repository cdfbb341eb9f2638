"""The public report: published editions of the dashboard's aggregates, naming no member; no sign-in needed.

Readers get the latest edition (or any earlier one), rendered from what the edition stored, so the pages and
CSV files stay the same until a facilitator publishes the next edition.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.permissions import require
from matchmaker.reports import render
from matchmaker.services import editions

bp = Blueprint("reports", __name__)


def _edition_or_404(number: int | None):
    edition = editions.latest() if number is None else editions.get(number)
    if edition is None:
        abort(404)
    return edition


@bp.get("/reports/")
def index():
    # Public by design (PRODUCT.md: reports to partners and the public are aggregates naming no member).
    edition = editions.latest()
    if edition is None:
        return render_template("reports/none.html")
    return _page(edition)


@bp.get("/reports/editions/")
def list_editions():
    return render_template("reports/editions.html", editions=editions.editions())


@bp.get("/reports/editions/<int:number>/")
def edition(number: int):
    return _page(_edition_or_404(number))


def _page(edition):
    report = editions.report_of(edition)
    latest = editions.latest()
    return render_template("reports/index.html", report=report, render=render, edition=edition,
                           is_latest=latest is not None and latest.number == edition.number)


@bp.get("/reports/<key>.csv")
def table_csv(key: str):
    return _csv(None, key)


@bp.get("/reports/editions/<int:number>/<key>.csv")
def edition_csv(number: int, key: str):
    return _csv(number, key)


def _csv(number: int | None, key: str):
    if key not in render.CSV_KEYS:
        abort(404)
    edition = _edition_or_404(number)
    report = editions.report_of(edition)
    body = render.themes_csv(report) if key == "themes" else render.table_csv(report.table(key))
    return render.download_csv(body, f"report-{key}-edition-{edition.number}.csv")


@bp.post("/reports/editions/")
@login_required
def publish():
    require("report.publish")  # CSRFProtect checked the form's token before the view
    try:
        edition = editions.publish(current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("reports.index"))
    db.session.commit()
    flash(_("Edition %(number)d of the report is published. It stays as it is until the next edition.",
            number=edition.number), "success")
    return redirect(url_for("reports.edition", number=edition.number))
