"""The match page's highlighter: words by stem or translation, glossary concepts by their phrases."""
from matchmaker.matches.highlight import highlight


def test_words_are_marked_by_stem():
    html = str(highlight("Signing contracts electronically; the signatures are valid.", "en",
                         [("signature", 0.3), ("contract", 0.1)]))
    assert "<mark>contracts</mark>" in html and "<mark>signatures</mark>" in html
    assert "<mark>valid</mark>" not in html


def test_a_french_word_is_marked_when_its_english_translation_is_a_term():
    html = str(highlight("Les paiements sont lents.", "fr", [("payments", 0.2)]))
    assert "<mark>paiements</mark>" in html


def test_an_english_word_is_marked_when_its_french_translation_is_a_term():
    html = str(highlight("Small suppliers in rural areas.", "en", [("fournisseurs", 0.2)]))
    assert "<mark>suppliers</mark>" in html and "<mark>rural</mark>" not in html


def test_a_concept_is_marked_by_its_phrase_in_the_texts_language():
    terms = [("concept: mobile money", 0.2), ("interoperability", 0.1), ("3 other terms", 0.05)]
    fr = str(highlight("La monnaie électronique progresse ; l'interopérabilité manque.", "fr", terms))
    assert "<mark>monnaie électronique</mark>" in fr
    es = str(highlight("El dinero móvil crece.", "es", terms))
    assert "<mark>dinero móvil</mark>" in es
    en = str(highlight("Mobile payments and mobile wallets for merchants.", "en", terms))
    assert "<mark>Mobile payments</mark>" in en
    # a concept that is not among the terms is not marked, nor are the phrase's words one by one
    assert "<mark>" not in str(highlight("La monnaie électronique progresse.", "fr", [("concept: cybercrime", 0.3)]))


def test_the_text_is_escaped():
    html = str(highlight("<script>x</script> e-money & signatures", "en",
                         [("concept: mobile money", 0.2), ("signature", 0.1)]))
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp;" in html
    assert "<mark>e-money</mark>" in html and "<mark>signatures</mark>" in html


def test_a_hyphenated_word_is_marked_whole():
    html = str(highlight("Grants for start-ups; a roll-out plan.", "en", [("startups", 0.3)]))
    assert "<mark>start-ups</mark>" in html and "<mark>roll" not in html
