"""The end-to-end journey in Chromium with JavaScript turned off, on a 390 px phone screen: a delegate finds the menu
collapsed, writes a need in French and submits it; a facilitator working in Spanish opens it for matching, runs
matching and approves a proposal; the partner, in English, sees the introduction and accepts it, and so does the
delegate; then the delegate withdraws the need the facilitators returned, through its confirmation page (cancelling
once first).

Each step is a function taking the shared ``Journey``; further steps (the meeting and its outcome, the agreement)
are appended to ``STEPS`` and run in the same test.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from tests.e2e.conftest import choose_language, record_figures

TITLE = "Vendre en ligne à l'étranger : paiements et expédition pour les femmes artisanes"
DESCRIPTION = (
    "Nos artisanes et petites entreprises reçoivent des commandes de l'étranger par les réseaux sociaux, mais elles "
    "ne peuvent pas encaisser les paiements internationaux ni expédier les colis à un coût raisonnable. Nous "
    "souhaitons une formation au commerce électronique transfrontière, des solutions de paiement mobile et un "
    "appui logistique pour l'expédition des petits colis vers les clients.")


@dataclass
class Journey:
    base: str
    sign_in: object
    artifacts: object
    pages: dict = field(default_factory=dict)
    need_url: str = ""
    match_url: str = ""

    def page(self, role: str, lang: str):
        """The role's browser tab, without JavaScript, with the browser's language set to ``lang``."""
        if role not in self.pages:
            context = self.sign_in(role, java_script_enabled=False, locale=lang,
                                   extra_http_headers={"Accept-Language": lang},
                                   viewport={"width": 390, "height": 844})
            self.pages[role] = context.new_page()
            self.pages[role].goto(self.base + "/")
            choose_language(self.pages[role], lang)
        return self.pages[role]

    def menu(self, page):
        """The main navigation, opened from its collapsed "Menu" (a <details>, no script) when it is closed."""
        if page.locator("details.menu").get_attribute("open") is None:
            page.locator("details.menu > summary").click()
        return page.locator("nav")

    def shot(self, page, name: str) -> None:
        page.screenshot(path=self.artifacts / "screenshots" / "journey" / f"{name}.png", full_page=True)

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


def the_menu_is_collapsed_on_a_phone(journey: Journey) -> None:
    page = journey.page("delegate", "fr")
    header = page.locator("header.site").bounding_box()
    assert header["height"] < 140, header  # the brand, the languages and "Menu": about 230 px before
    assert not page.get_by_role("link", name="Mes mises en relation").is_visible()
    journey.shot(page, "0-delegate-menu-collapsed-fr")
    page.get_by_text("Menu", exact=True).click()
    assert page.locator("nav").get_by_role("link", name="Mes mises en relation").is_visible()
    assert page.locator("header.site").bounding_box()["height"] > header["height"] + 150
    journey.shot(page, "0-delegate-menu-open-fr")
    page.locator("details.menu > summary").click()
    assert not page.get_by_role("link", name="Mes mises en relation").is_visible()


def delegate_writes_a_need_in_french(journey: Journey) -> None:
    page = journey.page("delegate", "fr")
    page.get_by_role("link", name="Décrire un nouveau besoin").first.click()
    page.get_by_label("Titre").fill(TITLE)
    page.get_by_label("Description").fill(DESCRIPTION)
    page.get_by_label("Langue de ce texte").select_option("fr")
    for label in ("Solutions de paiement", "Logistique commerciale et facilitation des échanges",
                  "Développement des compétences", "Formation et renforcement des capacités",
                  "Assistance technique et mise en œuvre", "MPME", "Femmes entrepreneures"):
        page.get_by_label(label, exact=True).check()
    page.locator("#delivery_languages").get_by_label("Français", exact=True).check()
    page.get_by_label("Priorité").select_option(label="Haute")
    journey.shot(page, "1-delegate-new-need-fr")
    page.get_by_role("button", name="Enregistrer").click()
    assert "Votre besoin a été enregistré comme brouillon." in page.inner_text(".flashes")
    assert page.inner_text("h1") == TITLE and page.get_attribute("h1", "lang") == "fr"
    journey.need_url = page.url
    page.get_by_role("button", name="Soumettre pour examen").click()
    assert "le besoin est maintenant «\u00a0Soumis\u00a0»" in page.inner_text(".flashes")
    journey.shot(page, "2-delegate-submitted-fr")


def facilitator_finds_and_opens_it_in_spanish(journey: Journey) -> None:
    page = journey.page("facilitator", "es")
    page.get_by_role("link", name="Necesidades pendientes de examen").click()
    page.get_by_role("link", name=TITLE).click()
    assert page.url == journey.need_url
    # The need keeps its own language inside the Spanish page, so that screen readers pronounce it in French.
    assert page.get_attribute("html", "lang") == "es" and page.get_attribute(".text", "lang") == "fr"
    assert page.inner_text(".meta") == "Enviada · Benin"  # the WTO writes Benin in Spanish too
    page.get_by_label("Comentario (opcional) — Abrir al emparejamiento").fill(
        "Necesidad clara; se abre al emparejamiento.")
    page.get_by_role("button", name="Abrir al emparejamiento").click()
    assert "la necesidad está ahora «Abierta»" in page.inner_text(".flashes")
    journey.shot(page, "3-facilitator-opened-es")


def facilitator_runs_matching_and_approves_a_proposal(journey: Journey) -> None:
    page = journey.page("facilitator", "es")
    journey.menu(page).get_by_role("link", name="Propuestas por examinar").click()
    page.get_by_role("button", name="Buscar emparejamientos para todas las necesidades abiertas").click()
    assert "El emparejamiento abarcó" in page.inner_text(".flashes")
    # Narrow the queue to French needs from LDCs, as a facilitator preparing a francophone session would.
    page.get_by_label("Idioma de la necesidad").select_option("fr")
    page.get_by_label("PMA", exact=True).select_option("yes")
    page.get_by_role("button", name="Filtrar").click()
    proposal = page.locator("li.match-row").filter(has_text=TITLE).filter(has_text="ITC").first
    assert proposal.count(), "no proposal pairs the need with an ITC programme"
    proposal.get_by_role("link").first.click()
    journey.match_url = page.url
    assert "Propuesto" in page.inner_text(".meta")
    page.get_by_label("Nota para las partes (opcional)").fill("Buena correspondencia entre necesidad y programa.")
    page.get_by_role("button", name="Aprobar y poner en contacto a las partes").click()
    assert "Aprobado" in page.inner_text(".flashes")
    journey.shot(page, "4-facilitator-approved-es")


def partner_sees_the_introduction_and_accepts(journey: Journey) -> None:
    page = journey.page("partner", "en")
    journey.menu(page).get_by_role("link", name="Inbox").click()
    assert "Introduction:" in page.inner_text("main") and TITLE in page.inner_text("main")
    journey.menu(page).get_by_role("link", name="My matches").click()
    page.locator("li").filter(has_text=TITLE).get_by_role("link").first.click()
    assert page.url == journey.match_url
    page.get_by_label("Note to the other party (optional)").fill("Happy to talk: our ecommerce team can start soon.")
    page.get_by_role("button", name="Accept the introduction").click()
    assert "your answer was recorded" in page.inner_text(".flashes")
    journey.shot(page, "5-partner-accepted-en")


def delegate_accepts_too_and_both_are_introduced(journey: Journey) -> None:
    page = journey.page("delegate", "fr")
    page.goto(journey.base + "/")
    journey.menu(page).get_by_role("link", name="Mes mises en relation").click()
    page.locator("li").filter(has_text=TITLE).get_by_role("link").first.click()
    assert page.url == journey.match_url
    page.get_by_role("button", name="Accepter la mise en contact").click()
    assert "Acceptée par les deux parties" in page.inner_text(".meta")
    # Now each side sees the other's contact.
    assert "partner@example.org" in page.inner_text("main")
    journey.shot(page, "6-delegate-accepted-fr")


def delegate_withdraws_the_returned_need_after_confirming(journey: Journey) -> None:
    """An action that cannot be undone asks first, without JavaScript; Cancel changes nothing."""
    page = journey.page("delegate", "fr")
    page.goto(journey.base + "/")
    todo = page.locator("ul.todo")
    assert "renvoyé par les facilitateurs" in todo.inner_text()
    todo.locator("li li a").first.click()
    need_url, title = page.url, page.inner_text("h1")
    page.get_by_label("Commentaire (facultatif) — Retirer").fill("Un projet bilatéral couvre désormais ce besoin.")
    page.get_by_role("button", name="Retirer", exact=True).click()
    assert page.inner_text("h1") == f"Retirer le besoin «\u00a0{title}\u00a0»\u00a0?"
    assert "Cette action est irréversible." in page.inner_text("main")
    assert "Un projet bilatéral couvre désormais ce besoin." in page.inner_text("main")
    journey.shot(page, "7-delegate-confirm-withdraw-fr")
    page.get_by_role("link", name="Annuler : revenir sans rien changer".replace(" :", "\u00a0:")).click()
    assert page.url == need_url and "Brouillon" in page.inner_text(".meta")
    page.get_by_role("button", name="Retirer", exact=True).click()
    page.get_by_role("button", name="Retirer le besoin").click()
    assert "Retiré" in page.inner_text(".meta") and "Retiré" in page.inner_text(".flashes")
    journey.shot(page, "8-delegate-withdrawn-fr")


STEPS = [the_menu_is_collapsed_on_a_phone, delegate_writes_a_need_in_french, facilitator_finds_and_opens_it_in_spanish,
         facilitator_runs_matching_and_approves_a_proposal, partner_sees_the_introduction_and_accepts,
         delegate_accepts_too_and_both_are_introduced, delegate_withdraws_the_returned_need_after_confirming]


def test_journey_without_javascript(live_server, sign_in, artifacts):
    (artifacts / "screenshots" / "journey").mkdir(parents=True, exist_ok=True)
    journey = Journey(live_server, sign_in, artifacts)
    started = time.monotonic()
    timings = {}
    try:
        for step in STEPS:
            step_started = time.monotonic()
            step(journey)
            timings[step.__name__] = round(time.monotonic() - step_started, 2)
    finally:
        journey.close()
    timings["total"] = round(time.monotonic() - started, 2)
    record_figures(artifacts, "journey", "seconds", timings)
