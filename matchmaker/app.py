"""The application factory: create_app() assembled from small register_* functions."""
from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

from config import CONFIGS, DEV_SECRET_KEY
from matchmaker import database, reference, uploads
from matchmaker.admin.views import bp as admin_bp
from matchmaker.api.views import init_api
from matchmaker.auth.views import bp as auth_bp
from matchmaker.cli import register as register_cli
from matchmaker.dashboard.views import bp as dashboard_bp
from matchmaker.deploy import HOW_TO_MAKE_ONE, secret_weakness
from matchmaker.errors import register_error_handlers as register_domain_error_handlers
from matchmaker.extensions import babel, csrf, db, login_manager, migrate
from matchmaker.imports.views import bp as imports_bp
from matchmaker.mail import register_outbox
from matchmaker.main.views import bp as main_bp
from matchmaker.matches.views import bp as matches_bp
from matchmaker.models import User, UserSession  # importing the models registers every table
from matchmaker.needs.views import bp as needs_bp
from matchmaker.offerings.views import bp as offerings_bp
from matchmaker.permissions import can
from matchmaker.reports.views import bp as reports_bp
from matchmaker.services import anonymity, suppression
from matchmaker.services.accounts import find_session
from matchmaker.sessions.views import bp as sessions_bp
from matchmaker.utils import format_date, format_datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config: str | dict[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` is a config name or a dict of overrides on the testing config."""
    app = Flask(
        __name__,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder="static",
        instance_path=os.path.join(ROOT, "instance"),
    )
    if isinstance(config, dict):
        app.config.from_object(CONFIGS["testing"])
        app.config.update(config)
    else:
        name = config or os.environ.get("MATCHMAKER_ENV") or os.environ.get("FLASK_ENV") or "development"
        app.config.from_object(CONFIGS[name])
        if name == "production":
            refuse_guessable_secret(app.config["SECRET_KEY"])
    os.makedirs(app.instance_path, exist_ok=True)
    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def refuse_guessable_secret(secret: str | None) -> None:
    """Production signs sessions, device cookies and CSRF tokens with SECRET_KEY: a guessable one forges them all."""
    if secret in (DEV_SECRET_KEY, "", None):
        raise RuntimeError("Refusing to start in production with the development SECRET_KEY; set SECRET_KEY.")
    weakness = secret_weakness(secret)
    if weakness:
        raise RuntimeError(f"Refusing to start in production with a guessable SECRET_KEY ({weakness}); make one "
                           f"with {HOW_TO_MAKE_ONE}.")


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, the client's address and scheme are the ones the nearest of them saw."""
    hops = app.config.get("TRUSTED_PROXIES") or 0
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_extensions(app: Flask) -> None:
    """Bind the extension objects to this app."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        options.setdefault("connect_args", {"timeout": 15})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    register_outbox()
    with app.app_context():
        database.configure(app, db.engine)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"), render_as_batch=True)
    uploads.register(app)  # each page's size limit, before the CSRF check reads the body
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)


def load_user(user_id: str):
    """Flask-Login's loader: the user only while their server-side session is alive."""
    if not user_id.isdigit():
        return None
    live = find_session(int(user_id), session.get("sid"))
    if live is None:
        return None
    user = live.user
    if not user.active:
        return None
    g.user_session = live
    return user


def select_locale() -> str:
    """The user's preference, else the one chosen in this browser, else the browser's Accept-Language."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.language in languages:
        return current_user.language
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def register_blueprints(app: Flask) -> None:
    """Every feature's blueprint, then the API."""
    for blueprint in (main_bp, auth_bp, needs_bp, offerings_bp, matches_bp, sessions_bp, admin_bp, imports_bp,
                      dashboard_bp, reports_bp):
        app.register_blueprint(blueprint)
    init_api(app)


def register_error_handlers(app: Flask) -> None:
    """The domain errors' and HTTP errors' pages (matchmaker/errors.py)."""
    register_domain_error_handlers(app)


def register_request_hooks(app: Flask) -> None:
    """Keep sessions alive, and send security headers with every response."""

    @app.teardown_request
    def forget_user(_exc=None) -> None:
        # The signed-in user and the CSRF token belong to one request, also when an outer app context (a test, a
        # CLI) outlives it.
        for key in ("_login_user", "user_session", app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")):
            g.pop(key, None)

    @app.after_request
    def touch_session(response):
        live = g.get("user_session")
        if live is not None:
            now = datetime.now(UTC)
            if now - live.last_seen_at > timedelta(minutes=5):
                try:
                    db.session.execute(update(UserSession).where(UserSession.id == live.id).values(last_seen_at=now))
                    db.session.commit()
                except OperationalError:  # a busy database must not fail the page; the next request retries
                    db.session.rollback()
        return response

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Pages for a signed-in user, and API answers for a token's owner, are private: never kept in a cache.
        # (a User, whose attributes the request's commit may have expired: not asked again, which would query)
        if g.get("api_user") is not None or isinstance(current_user._get_current_object(), User):
            headers["Cache-Control"] = "no-store"
            headers.add("Vary", "Cookie")
        return response


def register_template_helpers(app: Flask) -> None:
    # Globals (not a context processor) so that imported macros see them too.
    app.jinja_env.globals.update(
        can=lambda action, obj=None: can(current_user, action, obj),
        ref=reference,
        format_date=format_date,
        format_datetime=format_datetime,
        format_decimal=format_decimal,
        unread_count=unread_notifications,
        shown_need=lambda need: anonymity.for_reader(current_user, need),
        min_members=suppression.MIN_MEMBERS,  # the reports' and summaries' texts name the one threshold
    )

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {"today": date.today(), "locale": str(get_locale() or "en")}

    @app.template_filter("term")
    def term(label: str) -> str:
        return reference.term_label(label, str(get_locale() or "en"))

    @app.template_filter("label")
    def label(code: str, vocabulary: str) -> str:
        return str(getattr(reference, vocabulary).get(code, code))


def unread_notifications() -> int:
    """Unread messages in the signed-in user's inbox (shown in the navigation)."""
    if not getattr(current_user, "is_authenticated", False):
        return 0
    return current_user.unread_messages or 0


def register_commands(app: Flask) -> None:
    """The `flask` commands (matchmaker/cli.py)."""
    register_cli(app)
