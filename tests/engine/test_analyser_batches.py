"""The analysis of a corpus by batches (all new words of a block stemmed together, surface words offered once per
corpus) gives what the analysis one word or one document at a time gives."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from matchmaker.engine import lexicons as L
from matchmaker.engine import text as T
from matchmaker.engine.tokens import Stemmer

WORDS = {"en": ["programmes", "programme", "customers", "e-commerce", "startups", "programmes", "running"],
         "fr": ["régionaux", "économiques", "stratégie", "capacités", "indicateur", "eau", "régionaux", "commerce"],
         "es": ["proporción", "estrategia", "económicas", "internacional", "capacidad", "mujeres", "estrategia"]}


@pytest.mark.parametrize("lang", sorted(WORDS))
def test_the_stems_of_a_batch_are_the_stems_one_by_one(lang):
    one_by_one = Stemmer(lang)
    batch = Stemmer(lang)
    batch(WORDS[lang][1])                               # one of them cached already
    assert batch.stem_all(WORDS[lang]) == [one_by_one(word) for word in WORDS[lang]]
    assert batch.stem_all([]) == []


@pytest.mark.parametrize("lang", sorted(WORDS))
def test_the_cognate_stems_of_a_batch_are_the_cognate_stems_one_by_one(lang):
    assert L.cognate_stems(WORDS[lang], lang) == [L.cognate_stem(word, lang) for word in WORDS[lang]]


def test_blocks_offering_their_words_once_give_the_surface_of_one_analysis():
    settings = T.AnalyzerSettings(lexicon_weight=0.5, cognate_weight=1.0, reverse_weight=0.4)
    documents = [[(" ".join(WORDS[lang][i:] + WORDS[lang][:i]), lang, 1.0)] for i in range(3) for lang in WORDS]
    whole: dict[str, str] = {}
    done = T.Analyser(settings).analyse(documents, whole)
    by_blocks: dict[str, str] = {}
    offered: set[int] = set()
    analyser = T.Analyser(settings)
    blocks = [analyser.analyse(documents[a:a + 2], by_blocks, offered) for a in range(0, len(documents), 2)]
    assert list(by_blocks.items()) == list(whole.items())
    assert np.array_equal(np.concatenate([np.diff(b.indptr) for b in blocks]), np.diff(done.indptr))
    assert np.array_equal(np.concatenate([b.values for b in blocks]), done.values)


def test_each_document_s_surface_in_a_batch_is_the_surface_of_its_own_analysis():
    """The themes analyse every need text in one batch and keep each one's label words: what that text alone
    offers, in the same order (a concept's phrase, a glossary word and a word met in an earlier text included)."""
    settings = T.AnalyzerSettings(lexicon_weight=2.0, concept_weight=1.0)
    documents = [[(" ".join(WORDS[lang][i:] + WORDS[lang][:i]), lang, 1.0), ("signature électronique", "fr", 2.0)]
                 for i in range(3) for lang in WORDS] + [[("", "en", 1.0)]]
    surfaces: list[dict[str, str]] = []
    T.Analyser(settings).analyse(documents, surfaces=surfaces)
    alone = []
    for document in documents:
        surface: dict[str, str] = {}
        T.Analyser(settings).analyse([document], surface)
        alone.append(list(surface.items()))
    assert [list(surface.items()) for surface in surfaces] == alone
    assert alone[0] and alone[-1] == []


def test_another_thread_adds_words_while_a_text_s_table_rows_are_read(monkeypatch):
    """A query analysed in a request while a refit meets new words: neither waits on the other's data, and the
    writer's append is never refused because the reader still holds a view of the table's buffers."""
    analyser = T.Analyser(T.AnalyzerSettings())
    analyser.analyse([[("customs training for small parcels", "en", 1.0)]])
    renumber, calls, errors = T.renumber, [], []

    def add_words_meanwhile():
        try:
            analyser.analyse([[("stratégie régionale des capacités numériques", "fr", 1.0)]])
        except Exception as error:  # noqa: BLE001  (reported by the assertion below)
            errors.append(error)

    def renumber_then_let_the_other_thread_in(values, size):
        calls.append(size)
        if len(calls) == 2:                              # the rows' entries are read: the other thread adds now
            worker = threading.Thread(target=add_words_meanwhile)
            worker.start()
            worker.join(10)
            assert not worker.is_alive()
        return renumber(values, size)

    monkeypatch.setattr(T, "renumber", renumber_then_let_the_other_thread_in)
    found = analyser.analyse([[("customs training", "en", 1.0)]])
    assert errors == [] and found.features.size > 0
