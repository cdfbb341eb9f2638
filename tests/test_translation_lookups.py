"""Catalogues are found once per request (and WTForms' once per process and language), with the same texts."""
from __future__ import annotations

import flask_babel
from babel import support
from flask import request
from flask_babel import force_locale, gettext, lazy_gettext, refresh
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from matchmaker import i18n
from matchmaker.forms import BaseForm


def test_a_request_finds_its_catalogue_once_and_follows_forced_locales(app, monkeypatch):
    found = []
    lookup = flask_babel.Domain.get_translations
    monkeypatch.setattr(flask_babel.Domain, "get_translations", lambda self: found.append(1) or lookup(self))
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert [gettext("Needs") for _ in range(5)] + [str(lazy_gettext("Needs"))] == ["Besoins"] * 6
        assert len(found) == 1
        with force_locale("es"):
            assert gettext("Needs") == "Necesidades"
        assert gettext("Needs") == "Besoins"
        with force_locale("en"):
            assert gettext("Needs") == "Needs"
        refresh()
        assert gettext("Needs") == "Besoins"
    assert len(found) == 5
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert gettext("Needs") == "Necesidades"


class _Form(BaseForm):
    class Meta:
        csrf = False

    kind = SelectField(choices=[SelectChoice("a", "A")])


def test_wtforms_messages_are_read_once_per_language_and_still_translated(app, monkeypatch):
    i18n._wtforms_catalogue.cache_clear()
    read = []
    load = support.Translations.load
    monkeypatch.setattr(support.Translations, "load", lambda *a, **kw: read.append(kw.get("domain")) or load(*a, **kw))
    for _ in range(3):
        for language, message in (("fr", "N'est pas un choix valide."), ("en", "Not a valid choice.")):
            with app.test_request_context("/?kind=z", headers={"Accept-Language": language}):
                form = _Form(request.args)
                assert not form.validate()
                assert form.kind.errors == [message]
    assert read.count("wtforms") == 2


def test_drop_down_lists_are_built_once_with_wtforms_own_markup(app, monkeypatch):
    """A list page's filters: the same markup as WTForms' Select, built once per language, choices and selection."""
    from wtforms import widgets

    from matchmaker.needs.forms import NeedFilterForm

    built = []
    render_option = widgets.Select.render_option.__func__
    monkeypatch.setattr(widgets.Select, "render_option",
                        classmethod(lambda cls, choice, **kw: built.append(1) or render_option(cls, choice, **kw)))
    pages = {}
    for _ in range(2):
        for language, query in (("fr", "status=open&region=americas"), ("en", "status=open"), ("fr", "")):
            with app.test_request_context(f"/needs/?{query}", headers={"Accept-Language": language}):
                form = NeedFilterForm(request.args)
                form.validate()
                markup = [str(field(**{"aria-describedby": "hint"})) for field in form if field.type == "SelectField"]
                plain = [str(widgets.Select()(field, **{"aria-describedby": "hint"}))
                         for field in form if field.type == "SelectField"]
                assert markup == plain
                pages.setdefault((language, query), markup)
                assert pages[(language, query)] == markup
    assert 'selected value="open"' in pages[("fr", "status=open&region=americas")][0]
    assert ">Ouvert<" in pages[("fr", "")][0] and ">Open<" in pages[("en", "status=open")][0]
    shown = sum(select.count("<option") for markup in pages.values() for select in markup)
    distinct = {(language, select) for (language, _), markup in pages.items() for select in markup}
    # each distinct list built once, and WTForms' own lists on every pass (the comparison)
    assert len(built) == sum(select.count("<option") for _, select in distinct) + 2 * shown
