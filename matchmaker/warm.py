"""Warming an application before gunicorn forks its workers, so that no worker's first page pays for it."""
from __future__ import annotations

import gc
import logging
from datetime import date

import sklearn.decomposition  # noqa: F401  # services/themes.py's NMF, imported before the fork: a second
from babel import localedata
from flask import Flask, g
from sqlalchemy import event, select
from sqlalchemy import text as sql_text

from matchmaker.engine import lexicons, text, tokens
from matchmaker.extensions import db
from matchmaker.models import Match, Member, Need, Offering, Organisation, User
from matchmaker.services import accounts, throttle
from matchmaker.services.allocation import every_contest
from matchmaker.services.match_index import INDEX
from matchmaker.services.report_cache import cached_report

_log = logging.getLogger("matchmaker.warm")


def warm_up(app: Flask) -> None:
    """Compile the templates, read the engine's data files and Babel's locale data, load the saved matching index
    (never fit: a fit runs in a worker), compute the dashboard's and the public report's figures and the
    competition for places, then rehearse the common pages (rehearse_pages). Errors are logged, not raised: a cold
    worker still serves."""
    with app.app_context():
        try:
            for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
                app.jinja_env.get_template(name)        # compiled once, here, for every worker
            for lang in tokens.LANGUAGES:
                text.analyze("warm", lang)
            lexicons.english_translations()
            for code in app.config["LANGUAGES"]:        # Babel's CLDR data (dates, numbers): ~40 ms a locale
                localedata.load(code)
            INDEX.load_saved(date.today())
            for public in (False, True):
                cached_report(public)
            every_contest()                             # the review queue's competition for places
            accounts.dummy_hash()                       # unknown e-mails' hash (and warm_worker's)
            rehearse_pages(app)
        except Exception as error:          # e.g. a database not migrated yet: workers will start cold
            _log.warning("warming the application failed (%s); workers will start cold", error)
        finally:
            db.session.remove()
            db.engine.dispose()


# The collector's first generation is collected after this many new objects (CPython's default: 700). A page makes
# tens of thousands (SQLAlchemy rows, Jinja's contexts), so the default collected several times per page, each time
# walking what the page still held; most of it is freed by reference counting anyway. Measured with
# `python -m benchmarks.pages` (the load test's GET pages, CPU summed): 112.9 -> 107.0 ms, every page as fast or faster.
YOUNG_OBJECTS_BEFORE_A_COLLECTION = 20_000


def settle_memory() -> None:
    """In gunicorn's master once warm, before the fork. What it holds now (lexicons, token tables, the index, the
    report) lives as long as the workers: frozen out of the garbage collector's way, no collection scans it (or
    writes to its pages, which the workers share). And the workers collect their young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS_BEFORE_A_COLLECTION, 50, 100)


def warm_worker(app: Flask) -> None:
    """In each worker, just after the fork (gunicorn.conf.py's post_fork): what the fork cannot share. Argon2 works in
    7 MiB of the worker's own memory, which the worker's first sign-in used to write first (page faults: ~11 ms of
    CPU here, in the busiest second of a start); one verification here writes it before the worker serves. And the
    worker's first database connection (the master's were disposed) is opened here, left in the pool."""
    with app.app_context():
        accounts.verify_password(accounts.dummy_hash(), "warm-up")
        try:
            db.session.execute(sql_text("SELECT 1"))
        except Exception as error:          # a database not reachable yet: the first request connects
            _log.warning("a worker could not connect at start (%s)", error)
        finally:
            db.session.remove()


# The pages each role opens most (the load test's, stress/locustfile.py); "{need}", "{offering}" and "{match}" are
# the first ones in the database. Not a facilitator's need page: its diagnosis may start a fit (a thread, before a
# fork); not the inbox: reading it marks its messages read (a write). The API's pages are asked without a valid token:
# they answer 401, having looked the token up.
REHEARSED_PAGES = {
    None: ("/login", "/api/v1/needs?per_page=20"),
    "delegate": ("/", "/needs/", "/needs/{need}", "/offerings/", "/offerings/{offering}", "/matches/mine",
                 "/needs/new", "/account"),
    "partner": ("/", "/needs/", "/needs/?q=a", "/needs/{need}", "/offerings/", "/offerings/{offering}",
                "/matches/mine", "/account", "/exports/offerings.csv"),
    "facilitator": ("/", "/needs/", "/needs/?status=submitted", "/offerings/", "/offerings/{offering}", "/matches/",
                    "/matches/{match}", "/admin/audit", "/account"),
}


def rehearse_pages(app: Flask) -> None:
    """Render the common pages once per role and language, as a user who is stored nowhere (id 0, of the first
    member or organisation), writing nothing (a flush or a commit is refused, everything is rolled back): what the first
    rendering costs is then paid here, once, instead of in every worker. Mostly SQLAlchemy compiling each statement
    (its cache is the engine's: the workers inherit it), then the drop-down lists and Babel's formats per language.
    A page that fails is skipped (logged at debug level)."""
    def refuse(*_args):
        raise RuntimeError("a rehearsal writes nothing")

    need = db.session.scalar(select(Need).order_by(Need.id))
    offering = db.session.scalar(select(Offering).order_by(Offering.id))
    ids = {"need": need and need.id, "offering": offering and offering.id,
           "match": db.session.scalar(select(Match.id).order_by(Match.id))}
    # The delegate of the first need's member, the partner of the first offering's organisation
    member = need.member if need else db.session.scalar(select(Member).order_by(Member.id))
    organisation = offering.organisation if offering else db.session.scalar(
        select(Organisation).order_by(Organisation.id))
    event.listen(db.session, "before_flush", refuse)
    event.listen(db.session, "before_commit", refuse)
    try:
        _rehearse_signed_in_check(app)
        for language in app.config["LANGUAGES"]:
            for role, paths in REHEARSED_PAGES.items():
                user = _stand_in(role, language, member, organisation)
                for path in paths:
                    if "{" not in path or all(ids.values()):
                        _rehearse(app, path.format(**ids), user, language)
    finally:
        event.remove(db.session, "before_flush", refuse)
        event.remove(db.session, "before_commit", refuse)
        db.session.rollback()


def _rehearse_signed_in_check(app: Flask) -> None:
    """What every signed-in page does first (app.load_user, which the stand-ins skip): its session looked up by the
    cookie's token (none), its user loaded (none), then a user's member or organisation (of a stored user: only
    read). And a sign-in's reads: the account by its e-mail, the throttle's counts (an unknown device's and a known
    one's) for an address no client has."""
    with app.app_context(), app.test_request_context("/"):
        db.session.scalar(select(User).where(User.email == "rehearsal@invalid"))
        for device in (None, "rehearsal"):
            throttle.check(throttle.Client("rehearsal@invalid", "rehearsal", device))
        accounts.find_session(0, "rehearsal")
        db.session.get(User, 0)
        for key in ("member", "organisation"):
            user = db.session.scalar(select(User).where(getattr(User, f"{key}_id").is_not(None)).limit(1))
            if user is not None:
                getattr(user, key)


def _stand_in(role: str | None, language: str, member, organisation):
    """A user of ``role`` who exists nowhere (never added to the session)."""
    if role is None:
        return None
    member = member if role == "delegate" else None
    organisation = organisation if role == "partner" else None
    return User(id=0, email="rehearsal@invalid", name="Rehearsal", role=role, language=language, active=True,
                member=member, member_id=member and member.id, organisation=organisation,
                organisation_id=organisation and organisation.id)


def _rehearse(app: Flask, path: str, user, language: str) -> None:
    headers = {"Accept-Language": language, "Authorization": "Bearer rehearsal"}
    # A context of its own: nothing (Babel's locale, the signed-in user) is kept from one rehearsal to the next
    with app.app_context(), app.test_request_context(path, headers=headers):
        if user is not None:
            g._login_user = user                       # Flask-Login's current user for this request
        try:
            app.full_dispatch_request()
        except Exception as error:  # noqa: BLE001  # a rehearsal only warms; the page is served as usual later
            _log.debug("rehearsing %s failed: %s", path, error)
        finally:
            db.session.rollback()
