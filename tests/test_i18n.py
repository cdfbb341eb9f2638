"""Every user-visible text is wrapped for translation, and the French and Spanish catalogues translate all of it."""
from __future__ import annotations

import ast
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, TranslationError
from babel.messages.checkers import python_format
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.factory import Factory
from tests.helpers import login

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("fr", "es")
# The same keywords as `make messages`.
KEYWORDS = {
    "_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3),
    "_l": None, "lazy_gettext": None, "lazy_pgettext": ((1, "c"), 2), "_lp": ((1, "c"), 2), "lazy_ngettext": (1, 2),
}
# Translations that are rightly the same as the English: the product's name, and words spelled alike.
SAME_AS_ENGLISH = {
    "fr": {"TA Matchmaker", "Code", "Contact", "Description", "Europe", "Note", "Organisation", "Organisations",
           "Pages",
           "Type", "score %(score)s", "Programme", "Score", "Total",
           # Matchmaking sessions
           "Actions", "Date", "Format", "Session", "Sessions", "Table", "Table %(n)d", "table %(n)d",
           "%(where)s, table %(table)d",
           "%(meeting)s (%(time)s, table %(table)d)",
           # Navigation and filters
           "Action", "Administration", "Menu"},
    "es": {"TA Matchmaker", "Asia", "No", "no", "Token", "Error.", "Agenda", "Total",
           # Upload limits: the units are written alike
           "%(size)s KB", "%(size)s MB"},
}
HOW_TO_FIX = ("Run `make messages`, then translate the entries listed above in translations/{lang}/LC_MESSAGES/"
              "messages.po (remove any '#, fuzzy' line once the translation is checked) and run `make install`.")


def _key(message) -> tuple[str | None, str]:
    msgid = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
    return message.context, msgid


def _label(key: tuple[str | None, str]) -> str:
    context, msgid = key
    return f"{msgid!r} (context {context!r})" if context else repr(msgid)


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    """The messages in today's source tree, extracted as `make messages` does."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS,
            directory_filter=lambda d: not Path(d).name.startswith((".", "_")) and Path(d).name != "node_modules"):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read_catalogue(lang: str) -> Catalog:
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


def test_extraction_finds_the_texts_of_every_layer(extracted):
    ids = {_key(m) for m in extracted if m.id}
    # A template, a form label, a flash message, a domain error, an e-mail subject and a vocabulary label.
    for msgid in ("Skip to content", "Kinds of support wanted", "Your changes were saved.",
                  "This need is closed and can no longer be edited.", "You are invited to TA Matchmaker",
                  "E-transactions and e-signatures"):
        assert (None, msgid) in ids, msgid
    assert ("offering status", "Closed") in ids
    assert len(ids) > 250


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_translates_every_message(extracted, lang):
    catalogue = read_catalogue(lang)
    missing, untranslated, fuzzy, same, bad_format = [], [], [], [], []
    for message in extracted:
        if not message.id:
            continue
        key = _key(message)
        entry = catalogue.get(key[1], context=key[0])
        if entry is None:
            missing.append(key)
            continue
        strings = entry.string if isinstance(entry.string, (tuple, list)) else (entry.string,)
        if isinstance(message.id, (tuple, list)) and not isinstance(entry.id, (tuple, list)):
            missing.append(key)  # the plural form is new
        elif not all(s and s.strip() for s in strings):
            untranslated.append(key)
        elif entry.fuzzy:
            fuzzy.append(key)
        elif (not isinstance(entry.id, (tuple, list)) and entry.string == entry.id
              and key[1] not in SAME_AS_ENGLISH[lang] and LETTER.search(PLACEHOLDER.sub("", key[1]))):
            same.append(key)
        else:
            try:
                python_format(catalogue, entry)
            except TranslationError as error:
                bad_format.append((key, str(error)))
    problems = []
    for title, keys in (("missing from the catalogue", missing), ("not translated", untranslated),
                        ("marked fuzzy", fuzzy),
                        (f"identical to the English (if that is right in this language, add it to "
                         f"SAME_AS_ENGLISH[{lang!r}] in tests/test_i18n.py)", same)):
        if keys:
            problems.append(f"{len(keys)} {title}:\n" + "\n".join(f"  {_label(k)}" for k in sorted(keys, key=str)))
    if bad_format:
        problems.append("placeholders that differ from the English:\n"
                        + "\n".join(f"  {_label(k)}: {e}" for k, e in bad_format))
    assert not problems, f"translations/{lang}: " + "\n".join(problems) + "\n" + HOW_TO_FIX.format(lang=lang)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogue_is_current(lang):
    po = ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, \
        f"{mo.relative_to(ROOT)} is missing or older than its .po: run `make install` (pybabel compile)."


# --- Templates: no text outside _() ---------------------------------------------------------------------------

JINJA = re.compile(r"\{#.*?#\}|\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}|\{\{.*?\}\}|\{%.*?%\}", re.S)
LETTER = re.compile(r"[^\W\d_]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# Shown as they are in every language: addresses (an API path, a URL) and acronyms or format names (CSV, JSON).
AS_IS = re.compile(r"^(/|https?://)\S*$|^[A-Z0-9][A-Z0-9 ./+-]*$")
TEXT_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "label"}


class _TextFinder(HTMLParser):
    """Collects letters that a user would see and that are not produced by a Jinja expression."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code"):
            self.skip += 1
        attributes = dict(attrs)
        for name, value in attrs:
            shown = name in TEXT_ATTRIBUTES or (
                name == "value" and tag == "input" and attributes.get("type") in ("submit", "button", "reset"))
            if shown and value and LETTER.search(value):
                self.found.append(f'{tag} {name}="{value.strip()}"')

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and LETTER.search(data) and not AS_IS.match(data.strip()):
            self.found.append(data.strip())


def unwrapped_text(source: str) -> list[str]:
    finder = _TextFinder()
    finder.feed(JINJA.sub(" ", source))
    finder.close()
    return finder.found


def test_the_template_check_sees_bare_text():
    assert unwrapped_text('<p>{{ _("Fine") }}</p><p>Not fine</p>') == ["Not fine"]
    assert unwrapped_text('<a title="Open it" href="{{ url }}">{{ _("Open") }}</a>') == ['a title="Open it"']
    assert unwrapped_text('{# a comment #}<p>{% if x %}{{ x }}{% endif %} · 12 →</p><code>need.opened</code>') == []
    assert unwrapped_text('<a href="/api/v1/openapi.json">/api/v1/openapi.json</a> <a href="x.csv">CSV</a>') == []
    assert unwrapped_text('<a href="x.csv">CSV file</a>') == ["CSV file"]


def test_templates_have_no_text_outside_gettext():
    offenders = {}
    for path in sorted((ROOT / "templates").rglob("*.html")):
        found = unwrapped_text(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert not offenders, "Wrap these texts in {{ _(\"...\") }}:\n" + "\n".join(
        f"  {name}: {texts}" for name, texts in offenders.items())


# --- Python: messages shown to users go through gettext -------------------------------------------------------

def _domain_errors() -> set[str]:
    tree = ast.parse((ROOT / "matchmaker" / "errors.py").read_text(encoding="utf-8"))
    names = {"DomainError"}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id in names for b in node.bases):
            names.add(node.name)
    return names | {"ValidationError", "StopValidation"}


def _literal(node) -> bool:
    """A string with words in it, written in the code (an f-string's own text counts; what it interpolates not)."""
    if isinstance(node, ast.JoinedStr):
        return any(_literal(part) for part in node.values)
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and LETTER.search(node.value) is not None


def untranslated_calls(source: str, filename: str, errors: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        args = list(node.args)
        checked = []
        if name == "flash" or name in errors:
            checked = args[:1]
        elif name == "send_mail":
            checked = args[1:3] + [k.value for k in node.keywords if k.arg in ("subject", "body")]
        elif name.endswith("Field"):
            checked = args[:1] + [k.value for k in node.keywords if k.arg in ("label", "description")]
        elif name in ("DataRequired", "InputRequired", "Length", "Email", "EqualTo", "NumberRange", "URL", "Optional"):
            checked = [k.value for k in node.keywords if k.arg == "message"]
        for arg in checked:
            if _literal(arg):
                found.append(f"{filename}:{node.lineno}: {name}({ast.unparse(arg)[:60]})")
    return found


def test_the_python_check_sees_bare_messages():
    errors = _domain_errors()
    source = ('flash("Saved")\nflash(_("Saved"))\nraise DomainError(f"No {x}")\nraise NotPermitted(_("No"))\n'
              'name = StringField("Name")\nsend_mail(to, _("Hi"), "Body")\nsend_mail(to, s, f"{a}\\n\\n{b}")\n')
    assert [line.split(": ", 1)[1] for line in untranslated_calls(source, "x.py", errors)] == [
        "flash('Saved')", "DomainError(f'No {x}')", "StringField('Name')", "send_mail('Body')"]


def test_python_messages_are_wrapped():
    errors = _domain_errors()
    found = []
    # The engine knows nothing of users; the CLI speaks to administrators in English.
    for path in sorted((ROOT / "matchmaker").rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[1] == "engine" or relative.name == "cli.py":
            continue
        found += untranslated_calls(path.read_text(encoding="utf-8"), str(relative), errors)
    assert not found, "Wrap these messages in _() (or _l() at import time):\n  " + "\n  ".join(found)


# --- The language a user sees -----------------------------------------------------------------------------------

def _text(response) -> str:
    # Only ASCII white space: the French catalogue's no-break spaces must stay visible to the assertions.
    return re.sub(r"[ \t\r\n]+", " ", response.get_data(as_text=True))


@pytest.mark.parametrize("accept, expected", [
    ("fr-FR,fr;q=0.9,en;q=0.5", "Assistance technique en commerce électronique"),
    ("es-419,es;q=0.9", "Asistencia técnica en comercio electrónico"),
    ("de-DE,en;q=0.5", "Technical assistance for e-commerce, matched"),
])
def test_language_follows_the_browser(client, accept, expected):
    response = client.get("/", headers={"Accept-Language": accept})
    assert expected in _text(response)
    assert f'<html lang="{accept[:2] if accept[:2] in ("fr", "es") else "en"}">' in response.get_data(as_text=True)


def test_language_switch_works_on_every_page_and_is_remembered(client):
    page = _text(client.get("/login", headers={"Accept-Language": "en"}))
    assert 'name="language" value="fr"' in page and "Sign in" in page
    response = client.post("/language", data={"language": "fr", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    page = _text(client.get("/login", headers={"Accept-Language": "en"}))
    assert "Se connecter" in page and "Mot de passe" in page


@pytest.fixture
def build(app):
    """Make records in an application context of their own, so that each request below gets a fresh one, as in
    production (Flask-Babel keeps the chosen locale in ``g`` for the life of the context)."""
    from matchmaker.extensions import db

    def _build(recipe):
        with app.app_context():
            result = recipe(Factory(app))
            db.session.remove()
        return result
    return _build


def test_user_preference_beats_the_browser_and_names_members_in_it(client, build):
    email = build(lambda make: (make.user("delegate", member="HT", language="es").email,
                                make.need(member="HT", status="draft"))[0])
    login(client, email)
    home = _text(client.get("/", headers={"Accept-Language": "fr"}))
    assert "Actúa en nombre de: Haití." in home and "Inicio" in home
    client.post("/language", data={"language": "fr", "next": "/"})
    home = _text(client.get("/", headers={"Accept-Language": "es"}))
    assert "Vous agissez pour\u00a0: Haïti." in home
    needs = _text(client.get("/needs/"))
    assert "1 besoin" in needs and "Transactions et signatures électroniques" in needs


def test_dates_and_numbers_follow_the_locale(client, build):
    email, need_id = build(lambda make: (
        make.user("delegate", member="BJ", language="fr").email,
        make.need(member="BJ", status="draft", start_date=date(2027, 3, 5), end_date=date(2027, 11, 30)).id))
    login(client, email)
    assert "5 mars 2027" in _text(client.get(f"/needs/{need_id}"))
    client.post("/language", data={"language": "es", "next": "/"})
    assert "5 mar 2027" in _text(client.get(f"/needs/{need_id}"))
    client.post("/language", data={"language": "en", "next": "/"})
    assert "Mar 5, 2027" in _text(client.get(f"/needs/{need_id}"))


def test_form_errors_and_flashes_are_translated(client, build):
    login(client, build(lambda make: make.user("delegate", member="SN", language="fr").email))
    response = client.post("/needs/new", data={"title": "", "description": "court"})
    page = _text(response)
    assert response.status_code == 422
    # Our own messages, and WTForms' built-in ones from its French catalogue.
    assert "Veuillez corriger les points suivants\u00a0:" in page and "Titre\u00a0: Ce champ est requis." in page
    assert "Veuillez corriger les points suivants" in page and "Choisissez au moins un domaine d'action." in page
    assert "Ce champ est requis." in page
    response = client.post("/needs/new", data={
        "title": "Loi sur les signatures électroniques", "language": "fr", "priority": "high",
        "description": "Nous avons besoin d'aide pour rédiger une loi sur les transactions électroniques.",
        "policy_areas": ["e_transactions"], "support_kinds": ["legal_advice"], "delivery_languages": ["fr"]},
        follow_redirects=True)
    assert "Votre besoin a été enregistré comme brouillon." in _text(response)


def test_error_pages_speak_the_language_and_keep_the_switch(client):
    response = client.get("/no-such-page", headers={"Accept-Language": "es"})
    page = _text(response)
    assert response.status_code == 404
    assert "Página no encontrada" in page and 'name="language" value="fr"' in page and '<html lang="es">' in page


def test_explanation_terms_in_the_reader_language(app):
    from matchmaker.reference import term_label

    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert term_label("concept: electronic signature", "fr") == "idée commune\u00a0: signature électronique"
        assert term_label("12 other terms", "fr") == "12 autres termes"
        assert term_label("paiement", "fr") == "paiement"
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert term_label("concept: electronic signature", "es") == "idea común: firma electrónica"


def test_a_language_chosen_on_the_sign_in_page_is_kept_after_sign_in(client, build):
    """The stored preference (English) does not replace the French chosen on the sign-in page; the choice is stored."""
    from sqlalchemy import select

    from matchmaker.extensions import db
    from matchmaker.models import AuditEvent, User

    email = build(lambda make: make.user("partner", organisation=make.organisation(), language="en").email)
    client.post("/language", data={"language": "fr", "next": "/login"})
    assert "Se connecter" in _text(client.get("/login"))
    response = login(client, email)
    assert response.status_code == 302
    assert "Bienvenue" in _text(client.get("/"))
    with client.application.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user.language == "fr"
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.language_changed",
                                                          AuditEvent.object_id == user.id)) is not None
    # Signing in without choosing keeps the stored preference.
    client.post("/logout")
    login(client, email)
    assert "Bienvenue" in _text(client.get("/", headers={"Accept-Language": "es"}))
