"""Warming an application before gunicorn forks its workers, so that no worker's first page pays for it."""
from __future__ import annotations

import logging
from datetime import date

from babel import localedata
from flask import Flask

_log = logging.getLogger("matchmaker.warm")


def warm_up(app: Flask) -> None:
    """Compile the templates, read the engine's data files and Babel's locale data, load the saved matching index
    (never fit: a fit runs in a worker) and compute the dashboard's and the public report's figures and the
    competition for places. Errors are logged, not raised: a cold worker still serves."""
    from matchmaker.engine import lexicons, text, tokens
    from matchmaker.extensions import db
    from matchmaker.services.allocation import every_contest
    from matchmaker.services.match_index import INDEX
    from matchmaker.services.report_cache import cached_report

    with app.app_context():
        try:
            for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
                app.jinja_env.get_template(name)        # compiled once, here, for every worker
            for lang in tokens.LANGUAGES:
                text.analyze("warm", lang)
            lexicons.english_translations()
            for code in app.config["LANGUAGES"]:        # Babel's CLDR data (dates, numbers): ~40 ms a locale
                localedata.load(code)
            import sklearn.decomposition  # noqa: F401  # services/themes.py's NMF: a second to import

            INDEX.load_saved(date.today())
            for public in (False, True):
                cached_report(public)
            every_contest()                             # the review queue's competition for places
        except Exception as error:          # e.g. a database not migrated yet: workers will start cold
            _log.warning("warming the application failed (%s); workers will start cold", error)
        finally:
            db.session.remove()
            db.engine.dispose()
