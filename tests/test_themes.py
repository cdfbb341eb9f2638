"""Themes of open needs (NMF on the engine's features): deterministic, across languages, naming no member."""
from __future__ import annotations

import random

from matchmaker.services import themes
from matchmaker.services.themes import ThemeInput, cluster, hidden_words, theme_count

SUBJECTS = {
    "signatures": [
        ("en", "Electronic signatures law", "Draft a law recognising electronic signatures and electronic "
         "transactions, and train judges on e-signature evidence."),
        ("fr", "Loi sur la signature électronique", "Rédiger une loi sur la signature électronique et les "
         "transactions électroniques, et former les juges."),
        ("es", "Ley de firma electrónica", "Redactar una ley de firma electrónica y transacciones electrónicas "
         "y capacitar a los jueces."),
    ],
    "payments": [
        ("en", "Mobile money for merchants", "Help small merchants accept mobile money and digital payments; "
         "interoperable payment switch for mobile wallets."),
        ("fr", "Paiement mobile pour les commerçants", "Aider les petits commerçants à accepter les paiements "
         "mobiles et numériques; interopérabilité des portefeuilles mobiles."),
        ("es", "Pagos móviles para comerciantes", "Ayudar a los pequeños comerciantes a aceptar pagos móviles y "
         "digitales; interoperabilidad de billeteras móviles."),
    ],
    "customs": [
        ("en", "Paperless customs clearance for Kenya", "Kenya: single window for customs clearance of small parcels, "
         "paperless trade documents and express shipments for traders in Kenya."),
        ("fr", "Dédouanement sans papier au Kenya", "Kenya: guichet unique pour le dédouanement des petits colis et "
         "documents commerciaux dématérialisés pour les envois express."),
        ("es", "Despacho aduanero sin papel en Kenya", "Kenya: ventanilla única para el despacho aduanero de pequeños "
         "paquetes y documentos comerciales sin papel para envíos exprés."),
    ],
}


def needs(seed: int = 0) -> list[ThemeInput]:
    out, n = [], 0
    for subject, texts in SUBJECTS.items():
        for _copy in range(2):
            for lang, title, text in texts:
                n += 1
                out.append(ThemeInput(id=n, title=title, description=text, language=lang, member=n,
                                      region="africa", policy_areas=(subject,)))
    random.Random(seed).shuffle(out)
    return out


def test_same_needs_same_themes_whatever_their_order():
    first = cluster(needs(0), k=3)
    themes._LAST.clear()
    themes._analysed.cache_clear()  # computed again from scratch, in another order
    second = cluster(needs(1), k=3)
    assert first == second and first is not second
    assert [t.number for t in first] == [1, 2, 3]


def test_a_theme_gathers_one_subject_in_all_three_languages():
    themes = cluster(needs(), k=3)
    subjects = [{n.policy_areas[0] for n in needs() if n.id in t.need_ids} for t in themes]
    assert sorted(map(sorted, subjects)) == [["customs"], ["payments"], ["signatures"]]
    for theme in themes:
        assert len(theme.members) == 6 and theme.terms


def test_terms_never_name_a_member():
    texts = [("Kenya customs single window", "Kenya wants a customs single window for Kenya parcels."),
             ("Mobile money for merchants", "Merchants accept mobile money and mobile wallets.")]
    items = [ThemeInput(id=i, title=texts[i % 2][0], description=texts[i % 2][1], language="en", member=i,
                        policy_areas=(("customs", "payments")[i % 2],)) for i in range(8)]

    def customs_terms(**kw):
        theme = next(t for t in cluster(items, k=2, **kw) if t.policy_areas == ("customs",))
        return [term.lower() for term in theme.terms]

    assert "kenya" in customs_terms()  # the texts name the member...
    hide = hidden_words(["Kenya", "Kenya", "Kenya", "Senegal", "Sénégal", "Senegal"])
    assert not any("keny" in term for term in customs_terms(hide=hide))  # ... the theme does not
    assert "customs" in customs_terms(hide=hide)
    exact, prefixes = hidden_words(["Republic of Korea", "Sénégal"])
    assert {"korea", "senegal"} <= exact and "republic" not in exact and "senegal" in prefixes


def test_how_many_themes():
    assert theme_count(3) == 0 and theme_count(4) == 2 and theme_count(50) == 5 and theme_count(5000) == 12
    assert cluster(needs()[:3]) == []
