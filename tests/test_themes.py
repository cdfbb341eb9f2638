"""Themes of open needs (NMF on the engine's features): deterministic, across languages, naming no member."""
from __future__ import annotations

import random

from matchmaker.engine import EngineSettings
from matchmaker.engine import text as T
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
    themes._ANALYSED.clear()  # computed again from scratch, in another order
    second = cluster(needs(1), k=3)
    assert first == second and first is not second
    assert [t.number for t in first] == [1, 2, 3]


def test_need_texts_analysed_in_one_batch_are_analysed_as_one_at_a_time():
    """Every need text not analysed before is analysed in one batch (a cold report of 10,000 needs took seconds
    one text at a time): the features (title weighted) and the label words are each text's own analysis."""
    themes._ANALYSED.clear()
    batch = needs() + [ThemeInput(id=99, title="", description="", language="pt", member=99)]
    for plain in (False, True):
        settings = (T.AnalyzerSettings(use_lexicon=False, use_glossary=False) if plain else
                    T.AnalyzerSettings(lexicon_weight=EngineSettings().lexicon_weight,
                                       concept_weight=EngineSettings().concept_weight))
        for need, (features, seen) in zip(batch, themes._analysed_all(batch, plain), strict=True):
            surface: dict[str, str] = {}
            expected = T.analyze(need.description, need.language, settings, surface)
            for feature, value in T.analyze(need.title, need.language, settings, surface).items():
                expected[feature] = expected.get(feature, 0.0) + themes.TITLE_WEIGHT * value
            assert list(features.items()) == list(expected.items()) and seen == tuple(surface.items())


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
