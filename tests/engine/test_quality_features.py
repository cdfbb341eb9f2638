"""Features added for match quality: cognate spellings, lexicon inflections, tf and idf powers (engine 1.2), the
lexicons read backwards for English texts (1.4)."""
from __future__ import annotations

import numpy as np
import pytest

from matchmaker.engine import Engine, EngineSettings, Record
from matchmaker.engine import lexicons as L
from matchmaker.engine import text as T
from matchmaker.engine.labels import label_terms
from matchmaker.engine.tokens import stems, tokens


@pytest.mark.parametrize("word, lang, english", [
    ("proporción", "es", "proportion"), ("estrategia", "es", "strategy"), ("capacidad", "es", "capacity"),
    ("violencia", "es", "violence"), ("internacional", "es", "international"), ("económicas", "es", "economic"),
    ("régionaux", "fr", "regional"), ("économiques", "fr", "economic"), ("institutionnel", "fr", "institutional"),
    ("indicateur", "fr", "indicator"), ("stratégie", "fr", "strategy"), ("capacités", "fr", "capacities"),
])
def test_cognate_stem_meets_the_english_stem(word, lang, english):
    assert L.cognate_stem(word, lang) == stems(english, "en")[0]


def test_no_cognate_for_english_or_short_or_unchanged_words():
    assert L.cognate_stem("proportion", "en") == ""
    assert L.cognate_stem("eau", "fr") == ""
    assert L.cognate_stem("commerce", "fr") == ""        # no rule applies: the word's own stem already meets


def test_cognate_feature_weight_is_opt_in_for_the_analyzer():
    off = T.analyze("proporción de mujeres", "es")
    on = T.analyze("proporción de mujeres", "es", T.AnalyzerSettings(cognate_weight=1.0))
    key = "w:" + stems("proportion", "en")[0]
    assert on[key] - off.get(key, 0.0) == pytest.approx(1.0)
    assert T.analyze("proportion of women", "en", T.AnalyzerSettings(cognate_weight=1.0)) == \
        T.analyze("proportion of women", "en")


def test_lexicon_covers_inflected_forms_with_their_own_stem():
    # Snowball stems Spanish "mujer" and "mujeres" differently; both must translate to "woman"
    lex = L.lexicon("es")
    woman = stems("woman", "en")[0]
    for form in ("mujer", "mujeres"):
        assert woman in lex[stems(form, "es")[0]]


def _model(settings):
    recs = [Record(1, "", "alpha alpha alpha alpha beta"), Record(2, "", "gamma delta"),
            Record(3, "", "alpha gamma")]
    return recs, Engine(settings).fit(recs, []).vocabulary


def test_tf_power_damps_repeated_terms():
    # (no reverse lexicon: "beta" is Spanish too, and its translation would add to the English word's weight)
    recs, m = _model(EngineSettings(tf_power=0.5, max_df=1.0, reverse_weight=0.0))
    cols, w, _ = m.vector(recs[0])
    a, b = m.col["w:alpha"], m.col["w:beta"]
    wa, wb = w[list(cols).index(a)], w[list(cols).index(b)]
    assert wa / wb == pytest.approx(2.0 * m.idf[a] / m.idf[b], rel=1e-5)     # 4 ** 0.5 = 2
    recs, m = _model(EngineSettings(tf_power=0.0, max_df=1.0, reverse_weight=0.0))
    cols, w, _ = m.vector(recs[0])
    wa, wb = w[list(cols).index(a)], w[list(cols).index(b)]
    assert wa / wb == pytest.approx((1 + np.log(4)) * m.idf[a] / m.idf[b], rel=1e-5)


def test_idf_power_raises_the_fitted_idf():
    _, m1 = _model(EngineSettings(max_df=1.0))
    _, m2 = _model(EngineSettings(max_df=1.0, idf_power=1.5))
    assert np.allclose(m2.idf, m1.idf.astype(np.float64) ** 1.5, rtol=1e-5)


def _one_need_two_programmes(need: Record, title: str, description: str):
    """The need, and two English programmes open to its language: #10 (``title``, ``description``), #11 unrelated."""
    langs = frozenset({"en", need.language})
    other = Record(11, "Port logistics", "Container terminals and customs brokers", "en", delivery_languages=langs)
    return [need], [Record(10, title, description, "en", delivery_languages=langs), other]


def test_spanish_need_meets_english_offering_through_a_cognate():
    needs, offs = _one_need_two_programmes(
        Record(1, "Estrategia de ciberseguridad", "Capacidad institucional y proporción de empresas", "es"),
        "Institutional capacity strategy", "Proportion of firms with a cyber strategy")
    eng = Engine(EngineSettings()).fit(needs, offs)
    ranking = eng.propose_for_need(needs[0], k=2)
    assert ranking.proposals[0].offering_id == 10
    off = Engine(EngineSettings(cognate_weight=0.0)).fit(needs, offs).propose_for_need(needs[0], k=2)
    score_off = {p.offering_id: p.text_score for p in off.proposals}.get(10, 0.0)
    assert ranking.proposals[0].text_score > score_off


def test_an_e_prefix_stays_on_its_word_and_glossary_phrases_need_all_their_words():
    """"e-government" is not "government", "e-money" not "money"; "sans papier" is not any "papier"."""
    concepts = lambda text, lang: {f for f in T.analyze(text, lang) if f.startswith("c:")}   # noqa: E731
    assert concepts("The government fights money laundering at the ministry of commerce.", "en") == {"c:government"}
    assert concepts("E-government, e-money and e-commerce for small firms.", "en") >= {
        "c:e_government", "c:mobile_money", "c:e_commerce"}
    assert "c:e_commerce" in concepts("Electronic commerce grows.", "en")
    assert concepts("Le papier de la ligne directrice.", "fr") == set()     # not paperless trade, not the internet
    assert concepts("Know how to reach the last mile.", "en") == set()
    assert "c:health" in concepts("Les services de e-santé.", "fr")


def test_a_particle_after_a_hyphen_joins_its_word():
    """"start-ups" is the word "startups" (it meets "startups", and "ups" is no term of its own); a "trade-off" is
    not trade, a "roll-out" not a roll."""
    assert stems("Start-ups and startups", "en") == ["startup", "startup"]
    assert "trade" not in stems("the trade-offs of a roll-out", "en")
    needs, offs = _one_need_two_programmes(Record(1, "Grants for startups", "Seed money for young startups", "en"),
                                           "Start-up grants", "Mentoring and grants for digital start-ups")
    proposal = Engine(EngineSettings()).fit(needs, offs).propose_for_need(needs[0], k=2).proposals[0]
    labels = [label for label, _share in proposal.terms]
    assert proposal.offering_id == 10 and "startups" in labels
    assert not {"ups", "start"} & set(labels)


def test_modal_verbs_and_adverbs_of_frequency_are_stop_words_in_each_language():
    """As "can", "must" and "often" in English: they are no reason for a match in French or Spanish either."""
    assert tokens("Small firms must often pay", "en") == ["small", "firms", "pay"]
    assert tokens("Les petites entreprises doivent souvent payer", "fr") == ["petites", "entreprises", "payer"]
    assert tokens("Los pequeños negocios a menudo no pueden cobrar", "es") == ["pequeños", "negocios", "cobrar"]


def test_the_reverse_lexicon_reads_each_lexicon_backwards():
    for lang in ("fr", "es"):
        lex, rev = L.lexicon(lang), L.reverse_lexicon(lang)
        assert sum(map(len, lex.values())) == sum(map(len, rev.values()))
        assert all(english in lex[src] for english, srcs in rev.items() for src in srcs)
        assert all(src in rev[english] for src, englishes in lex.items() for english in englishes)


def test_an_english_word_votes_for_its_french_and_spanish_translations():
    supplier = stems("suppliers", "en")[0]
    fr, es = L.reverse_lexicon("fr")[supplier], L.reverse_lexicon("es")[supplier]
    assert T.analyze("suppliers", "en") == {"w:" + supplier: 1.0}         # off unless asked (the engine asks)
    on = T.analyze("suppliers", "en", T.AnalyzerSettings(reverse_weight=0.4))
    assert on["w:" + supplier] == 1.0
    assert sum(v for f, v in on.items() if f[2:] in fr) == pytest.approx(0.4)
    assert sum(v for f, v in on.items() if f[2:] in es) == pytest.approx(0.4)
    assert sum(on.values()) == pytest.approx(1.8)
    # French and Spanish texts are not changed by it
    for text, lang in (("Les fournisseurs", "fr"), ("Los proveedores", "es")):
        assert T.analyze(text, lang, T.AnalyzerSettings(reverse_weight=0.4)) == T.analyze(text, lang)


def test_a_french_need_meets_an_english_programme_on_both_sides_of_the_dictionary():
    needs, offs = _one_need_two_programmes(
        Record(1, "Fournisseurs", "Les petits fournisseurs et vendeurs ruraux", "fr"),
        "Suppliers", "Small suppliers and sellers in rural areas")
    on = Engine(EngineSettings()).fit(needs, offs)
    off = Engine(EngineSettings(reverse_weight=0.0)).fit(needs, offs)
    top_on, top_off = on.propose_for_need(needs[0], k=1).proposals[0], off.propose_for_need(needs[0], k=1).proposals[0]
    assert top_on.offering_id == top_off.offering_id == 10
    assert top_on.text_score > top_off.text_score
    # the French word that the English text voted for is shown as the need's own word, not as a stem
    labels = [t for t, _ in top_on.terms]
    assert "fournisseurs" in labels and "fournisseur" not in labels
    # with no French text in the corpus, a translation is shown by the English word it came from
    m = Engine().fit([], offs).vocabulary
    assert m.labels[m.col["w:" + stems("fournisseurs", "fr")[0]]] == "suppliers"


def test_terms_are_labelled_by_words_of_the_two_texts():
    """The corpus labels a stem by one of its words ("customs" for customers); a match shows its own words."""
    texts = [("Los operadores y el espectro", "es"), ("Reach foreign customers through operators", "en")]
    terms = [("customs", 0.1), ("operational", 0.05), ("concept: market", 0.02), ("espectro", 0.01),
             ("5 other terms", 0.03), ("customers", 0.01), ("unrelated", 0.004)]
    shown = label_terms(terms, texts)
    assert shown == [("customers", pytest.approx(0.11)), ("operators", 0.05), ("concept: market", 0.02),
                     ("espectro", 0.01), ("unrelated", 0.004), ("5 other terms", 0.03)]
    assert sum(v for _, v in shown) == pytest.approx(sum(v for _, v in terms))
    assert label_terms([], texts) == []
    # two English texts meet on a Spanish stem ("spectrum" -> "espectro"): shown by the English word
    english = [("Spectrum rules for rural operators", "en"), ("Licensing and spectrum", "en")]
    assert label_terms([("universal", 0.025), ("spectrum", 0.02), ("espectro", 0.01)], english) == [
        ("spectrum", pytest.approx(0.03)), ("universal", 0.025)]
    # and a French need's word by the English word it translates, when the label is an English word of the corpus
    assert label_terms([("suppliers", 0.01)], [("Les fournisseurs", "fr")]) == [("fournisseurs", 0.01)]
    # a word and its translation, one in each text, are one term
    pair = [("Las reglas de espectro y las redes", "es"), ("Spectrum rules for community networks", "en")]
    assert label_terms([("espectro", 0.015), ("concept: ict regulator", 0.014), ("spectrum", 0.012),
                          ("redes", 0.011), ("3 other terms", 0.02)], pair) == [
        ("espectro / spectrum", pytest.approx(0.027)), ("concept: ict regulator", 0.014), ("redes", 0.011),
        ("3 other terms", 0.02)]
