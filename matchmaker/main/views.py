"""The home page for each role, the language switch and the health check."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, user_logged_in
from sqlalchemy import func, select, text

from matchmaker.extensions import db
from matchmaker.models import Need
from matchmaker.permissions import can
from matchmaker.services import home
from matchmaker.services.audit import record
from matchmaker.utils import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render_template("main/landing.html")
    if can(current_user, "act_for.member"):
        todos, needs = home.delegate_home(current_user)
        return render_template("main/home.html", todos=todos, needs=needs)
    if can(current_user, "act_for.organisation"):
        todos, areas = home.partner_home(current_user)
        return render_template("main/home.html", todos=todos, areas=areas)
    counts = dict(db.session.execute(select(Need.status, func.count()).group_by(Need.status)).all())
    return render_template("main/home.html", todos=home.staff_home(), counts=counts)


@bp.post("/language")
def set_language():
    language = request.form.get("language", "")
    if language in current_app.config["LANGUAGES"]:
        session["lang"] = language
        if current_user.is_authenticated and current_user.language != language:
            user = current_user._get_current_object()
            user.language = language
            record(user, "user.language_changed", user, language=language)
            db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("main.index")))


@user_logged_in.connect
def keep_the_language_chosen_before_signing_in(_app, user, **_extra) -> None:
    """A language chosen on the sign-in page (kept in the session through the sign-in) becomes the user's own, so
    that the page after sign-in, the next visits and their e-mails speak it; saved with the sign-in."""
    language = session.get("lang")
    if language in current_app.config["LANGUAGES"] and user.language != language:
        user.language = language
        record(user, "user.language_changed", user, language=language)


@bp.get("/favicon.ico")
def favicon():
    """Clients that ask for /favicon.ico without reading the page's link get the same icon, not a 404."""
    return current_app.send_static_file("favicon.svg")


@bp.get("/healthz")
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
