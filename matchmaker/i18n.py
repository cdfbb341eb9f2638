"""Translations found once per request instead of at every string a page translates.

Flask-Babel (4.0, pinned) looks the catalogue up again for every string: the context, the locale, its name, the
cache, about 12 µs here, 95% of a gettext and ~300 times on the review queue. The domain below keeps the catalogue it
found in the request's Babel context with the locale it was found for, so that force_locale() and refresh() (which
replace that locale) are followed. WTForms' own messages (Flask-WTF reads their catalogue from disk for every form of
a French or Spanish request) are read once per process and language.
"""
from __future__ import annotations

from functools import lru_cache

from babel import support
from flask import current_app, g, has_app_context, has_request_context
from flask_babel import Domain, get_locale
from wtforms.i18n import messages_path


class RequestDomain(Domain):
    """Flask-Babel's domain, with the catalogue of the current locale remembered in the request's Babel context."""

    def get_translations(self):
        if not has_app_context():
            return super().get_translations()
        context = g.get("_flask_babel")                 # Flask-Babel's namespace in the context, made at first use
        found = getattr(context, "matchmaker_translations", None)
        if found is not None and found[0] is getattr(context, "babel_locale", None):
            return found[1]
        translations = super().get_translations()
        g._flask_babel.matchmaker_translations = (get_locale(), translations)
        return translations


@lru_cache(maxsize=8)
def _wtforms_catalogue(locale: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def _catalogue() -> support.NullTranslations:
    """WTForms' catalogue of the request's language; none outside a request (messages stay in English)."""
    return _wtforms_catalogue(str(get_locale())) if has_request_context() else support.NullTranslations()


class WTFormsMessages:
    """WTForms' messages ("Not a valid choice" ...) in the request's language, as Flask-WTF gives them."""

    def gettext(self, string: str) -> str:
        return _catalogue().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _catalogue().ungettext(singular, plural, n)


WTFORMS_MESSAGES = WTFormsMessages()


def form_translations(default):
    """A form's translations (Meta.get_translations): the messages above, or WTForms' ``default`` when
    WTF_I18N_ENABLED is off (as Flask-WTF decides)."""
    return WTFORMS_MESSAGES if current_app.config.get("WTF_I18N_ENABLED", True) else default
