"""Text analysis: tokens -> weighted features in one shared, language-neutral space.

A document in English, French or Spanish becomes a bag of features:

* ``w:<stem>`` -- its own words, lower-cased, stop words removed, Snowball-stemmed in
  the document's language and stripped of accents. Many e-commerce words are cognates
  ("protection", "commerce", "information"), so a French and an English stem often meet.
* ``w:<english stem>`` from the bilingual lexicon (FreeDict, see data/README.md): every
  French or Spanish word the lexicon knows also votes, with a reduced weight split
  between its translations, for the English stems it translates to.
* ``w:<french stem>``, ``w:<spanish stem>`` of an English word: the same lexicons read
  backwards. An English word votes, with a smaller weight split between them, for the
  French and Spanish words that translate to it. A French need then meets an English
  programme on both sides of the dictionary, and two English words with a translation in
  common ("trader", "merchant" -> "commerçant") meet too.
* ``w:<english stem>`` of a cognate: a French or Spanish word rewritten with the regular
  Romance -> English suffix correspondences ("proporción" -> "proportion", "régionaux" ->
  "regional") and stemmed in English, so cognates the lexicon lacks still meet.
* ``c:<concept>`` from the domain glossary: phrases of e-commerce and development
  ("signature électronique", "firma electrónica", "e-signature") map to one concept.

The features and their weights are what the index counts; the names are what the
explanations show.
"""
from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import ChainMap, Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import repeat

import numpy as np
import snowballstemmer

LANGUAGES = ("en", "fr", "es")
_REVERSE_LANGUAGES = ("fr", "es")          # the lexicons read backwards from English (French first)
CHAR_LABEL = "similar spelling (character n-grams)"
_SNOWBALL_NAMES = {"en": "english", "fr": "french", "es": "spanish"}
# A word is a maximal run of letters and digits; a one-letter "e-" prefix stays on its word ("e-commerce",
# "e-money", "e-santé"): alone, "e" would be dropped and "e-commerce" read as "commerce"
# A particle after a hyphen joins its word ("start-up" is the word "startup", "roll-outs" "rollouts"): alone,
# "ups" or "outs" would be kept as words of their own and "start-ups" would not meet "startups"
_PARTICLES = r"(?i:up|ups|out|outs|off|offs|down|downs)(?![^\W_])"
WORD_PATTERN = r"(?:(?<![^\W_])[eE]-(?=[^\W\d_]))*[^\W_]+(?:-" + _PARTICLES + ")*"
_WORD_RE = re.compile(r"(?:(?<!\w)[eE]-(?=[^\W\d]))*\w+")    # once "_" is made a space and particles joined
_E_PREFIX = re.compile(r"(?<![^\W_])([eE])-(?=[^\W\d_])")
# (the hyphen first: the search then skips to each hyphen instead of trying a look-behind at every position)
_PARTICLE_HYPHEN = re.compile(r"-(?<=[^\W_]-)(?=" + _PARTICLES + ")")
# Latin-1 byte -> itself if it is a letter or a digit, else a space: most texts (English, French, Spanish) are
# Latin-1, and a byte table splits them five times faster than the regular expression. The kept hyphen of an
# "e-" prefix is written \x1f first, which the table turns into "-".
_LATIN1_WORDS = bytes(c if chr(c).isalnum() else 45 if c == 0x1F else 32 for c in range(256))
_MAX_TOKEN_LEN = 40


def words(text: str) -> list[str]:
    """The text's words (``WORD_PATTERN``, with the hyphen before a particle left out), in order."""
    if "-" in text:
        text = _PARTICLE_HYPHEN.sub("", text)
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return _WORD_RE.findall(text.replace("_", " "))
    if b"\x1f" in raw:
        raw = raw.replace(b"\x1f", b" ")
    if b"e-" in raw or b"E-" in raw:
        raw = _E_PREFIX.sub("\\1\x1f", raw.decode("latin-1")).encode("latin-1")
    return raw.translate(_LATIN1_WORDS).decode("latin-1").split()


def strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _data_text(name: str) -> str:
    return resources.files("matchmaker.engine").joinpath("data", name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def stop_words(lang: str) -> frozenset[str]:
    words = _data_text(f"stopwords_{lang}.txt").split()
    return frozenset(words) | frozenset(strip_accents(w) for w in words)


class Stemmer:
    """Snowball stemmer for one language with an unbounded per-process cache (Zipf: small)."""

    __slots__ = ("_stem", "_cache")

    def __init__(self, lang: str):
        self._stem = snowballstemmer.stemmer(_SNOWBALL_NAMES[lang]).stemWord
        self._cache: dict[str, str] = {}

    def __call__(self, token: str) -> str:
        s = self._cache.get(token)
        if s is None:
            s = strip_accents(self._stem(token))
            if len(self._cache) < 500_000:
                self._cache[token] = s
        return s


@lru_cache(maxsize=None)
def stemmer(lang: str) -> Stemmer:
    return Stemmer(lang)


def tokens(text: str, lang: str) -> list[str]:
    """Lower-cased word tokens without stop words, digits-only tokens or one-letter tokens."""
    stops = stop_words(lang)
    out = []
    text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    for tok in words(text):
        if not _dropped(tok, stops):
            out.append(tok)
    return out


def stems(text: str, lang: str) -> list[str]:
    st = stemmer(lang)
    return [st(t) for t in tokens(text, lang)]


# --------------------------------------------------------------------------- lexicon
@lru_cache(maxsize=None)
def lexicon(lang: str) -> dict[str, tuple[str, ...]]:
    """Stem (in ``lang``) -> English stems, from data/lexicon_<lang>_en.tsv."""
    if lang == "en":
        return {}
    table: dict[str, tuple[str, ...]] = {}
    for line in _data_text(f"lexicon_{lang}_en.tsv").splitlines():
        if not line or line.startswith("#"):
            continue
        src, _, dst = line.partition("\t")
        table[src] = tuple(dst.split())
    return table


@lru_cache(maxsize=None)
def reverse_lexicon(lang: str) -> dict[str, tuple[str, ...]]:
    """English stem -> the stems (in ``lang``, French or Spanish) that ``lexicon(lang)`` translates to it, in
    the lexicon's order."""
    table: dict[str, list[str]] = {}
    for src, dsts in lexicon(lang).items():
        for d in dsts:
            table.setdefault(d, []).append(src)
    return {k: tuple(v) for k, v in table.items()}


@lru_cache(maxsize=1)
def english_translations() -> dict[str, tuple[str, ...]]:
    """English stem -> its French, then Spanish, translations (both reverse lexicons in one table)."""
    table: dict[str, tuple[str, ...]] = {}
    for other in _REVERSE_LANGUAGES:
        for stem, translations in reverse_lexicon(other).items():
            table[stem] = table.get(stem, ()) + translations
    return table


# --------------------------------------------------------------------------- cognates
# Regular spelling correspondences between French / Spanish words and their English cognates
# (textbook Romance -> English suffix rules, longest suffix first). A rewritten word is stemmed
# in English: "proporción" -> "proportion" -> "proport", "régionaux" -> "regional" -> "region".
_COGNATE_SUFFIXES = {
    "fr": (("isations", "izations"), ("isation", "ization"), ("tionnelles", "tional"), ("tionnels", "tional"),
           ("tionnelle", "tional"), ("tionnel", "tional"), ("elles", "al"), ("elle", "al"), ("els", "al"),
           ("el", "al"), ("aux", "al"), ("ales", "al"), ("ale", "al"), ("iques", "ic"), ("ique", "ic"),
           ("euses", "ous"), ("euse", "ous"), ("eux", "ous"), ("aires", "ary"), ("aire", "ary"),
           ("ives", "ive"), ("ifs", "ive"), ("if", "ive"), ("ites", "ity"), ("ite", "ity"), ("tes", "ty"),
           ("te", "ty"), ("ies", "ies"), ("ie", "y"), ("teurs", "tors"), ("teur", "tor"), ("istes", "ists"),
           ("iste", "ist"), ("ismes", "isms"), ("isme", "ism"), ("iser", "ize"), ("ises", "ized"),
           ("ise", "ized"), ("ement", "ment"), ("ees", "ed"), ("ee", "ed")),
    "es": (("izaciones", "izations"), ("izacion", "ization"), ("cionales", "tional"), ("cional", "tional"),
           ("ciones", "tions"), ("cion", "tion"), ("siones", "sions"), ("sion", "sion"),
           ("idades", "ities"), ("idad", "ity"), ("dades", "ties"),
           ("dad", "ty"), ("icos", "ic"), ("icas", "ic"), ("ico", "ic"), ("ica", "ic"), ("osos", "ous"),
           ("osas", "ous"), ("oso", "ous"), ("osa", "ous"), ("arios", "ary"), ("arias", "ary"),
           ("ario", "ary"), ("aria", "ary"), ("ivos", "ive"), ("ivas", "ive"), ("ivo", "ive"), ("iva", "ive"),
           ("mente", "ly"), ("izar", "ize"), ("istas", "ists"), ("ista", "ist"), ("ismos", "isms"),
           ("ismo", "ism"), ("encias", "ences"), ("encia", "ence"), ("ancias", "ances"), ("ancia", "ance"),
           ("entes", "ents"), ("ente", "ent"), ("antes", "ants"), ("ante", "ant"), ("ales", "al"),
           ("uras", "ures"), ("ura", "ure"), ("ias", "ies"), ("ia", "y"), ("ados", "ated"),
           ("adas", "ated"), ("ado", "ated"), ("ada", "ated")),
}


# per language: suffix lengths, longest first, and suffix -> replacement (the longest matching suffix wins,
# as in the ordered lists above)
_COGNATE_TABLES = {lang: (sorted({len(s) for s, _ in rules}, reverse=True), dict(reversed(rules)))
                   for lang, rules in _COGNATE_SUFFIXES.items()}


@lru_cache(maxsize=200_000)
def cognate_stem(token: str, lang: str) -> str:
    """English stem of the English-looking spelling of a French / Spanish word ('' if no rule applies)."""
    table = _COGNATE_TABLES.get(lang)
    if not table or len(token) < 5:
        return ""
    base = w = strip_accents(token)
    if lang == "es" and len(w) > 5 and w.startswith("es") and w[2] not in "aeiou":
        w = w[1:]                  # "estrategia" -> "strategia": English has no prosthetic e-
    lengths, rules = table
    for n in lengths:
        if len(w) - n >= 3:
            rep = rules.get(w[-n:])
            if rep is not None:
                w = w[:-n] + rep
                break
    else:
        if w == base:
            return ""
    return stemmer("en")(w)


# --------------------------------------------------------------------------- glossary
@dataclass(frozen=True)
class Concept:
    id: str
    label: str


@lru_cache(maxsize=None)
def glossary() -> tuple[dict[str, Concept], dict[str, dict[str, list[tuple[tuple[str, ...], str]]]]]:
    """Concepts and, per language, first stem -> [(phrase stems, concept id)], longest first."""
    concepts: dict[str, Concept] = {}
    phrases: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {lang: {} for lang in LANGUAGES}
    rows = csv.DictReader(_data_text("glossary.tsv").splitlines(), delimiter="\t")
    for row in rows:
        cid = row["concept"].strip()
        if not cid or cid.startswith("#"):
            continue
        concepts[cid] = Concept(cid, row["en"].split("|")[0].strip())
        for lang in LANGUAGES:
            for phrase in (row.get(lang) or "").split("|"):
                phrase = phrase.strip()
                if not phrase:
                    continue
                key = tuple(stems(phrase, lang))
                if not key or (len(key) == 1 and len(words(phrase.lower())) > 1):
                    continue        # "sans papier", "know-how": with its small word dropped, just "papier", "know"
                phrases[lang].setdefault(key[0], []).append((key, cid))
    for table in phrases.values():
        for lst in table.values():
            lst.sort(key=lambda item: (-len(item[0]), item[1]))
    return concepts, phrases


def concept_label(cid: str) -> str:
    c = glossary()[0].get(cid)
    return c.label if c else cid


# --------------------------------------------------------------------------- analyzer
@dataclass(frozen=True)
class AnalyzerSettings:
    lexicon_weight: float = 0.5   # total weight a known FR/ES word gives to its English translations
    concept_weight: float = 1.0   # weight of one glossary concept occurrence
    use_lexicon: bool = True
    use_glossary: bool = True
    use_stemming: bool = True
    cognate_weight: float = 0.0   # weight of the English cognate spelling of a FR/ES word (the engine uses 1)
    reverse_weight: float = 0.0   # weight an English word gives, per language, to its FR and ES translations (the
                                  # engine uses 0.4)
    bigram_weight: float = 0.0    # weight of a pair of adjacent word stems ``b:<stem>_<stem>`` (0 = off)

    def to_json(self) -> dict:
        return dict(self.__dict__)


@lru_cache(maxsize=None)
def _token_table(lang: str, stemming: bool) -> dict[str, tuple]:
    """Raw token -> (stem, English cognate stem or '') of a kept token, () for a dropped one; filled on use.

    Texts follow Zipf's law: a few thousand distinct tokens make most of every text, so a text
    costs one dictionary lookup per distinct token instead of the filters, the stemmer and the
    cognate rules.
    """
    return {}


def _dropped(tok: str, stops: frozenset[str]) -> bool:
    """A stop word, a number, or a token too short or too long to be a word."""
    return len(tok) < 2 or len(tok) > _MAX_TOKEN_LEN or tok in stops or tok.isdigit()


def _token_info(tok: str, lang: str, stemming: bool) -> tuple[str, str] | tuple[()]:
    if _dropped(tok, stop_words(lang)):
        return ()                          # dropped (falsy)
    if not stemming:
        return strip_accents(tok), ""
    return stemmer(lang)(tok), (cognate_stem(tok, lang) if lang != "en" else "")


def _kept(text: str, lang: str, stemming: bool):
    """(language, the text's words in order, word counts, kept word -> (stem, cognate stem), stem -> count)."""
    if lang not in _SNOWBALL_NAMES:
        lang = "en"
    text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    table = _token_table(lang, stemming)
    all_words = words(text)
    tc = Counter(all_words)
    missing = {t: _token_info(t, lang, stemming) for t in tc if t not in table}
    if missing and len(table) + len(missing) < 500_000:
        table.update(missing)
        missing = {}
    look = ChainMap(missing, table) if missing else table    # a full table: this text's new tokens apart
    info: dict[str, tuple[str, str]] = {t: i for t in tc if (i := look[t])}   # kept, in order of first occurrence
    stem_counts: dict[str, int] = {}
    for t, (s, _) in info.items():
        stem_counts[s] = stem_counts.get(s, 0) + tc[t]
    return lang, all_words, tc, info, stem_counts


def concept_matches(sts: list[str], lang: str) -> list[tuple[int, int, str]]:
    """(position, length, concept id) of each glossary phrase in a sequence of stems, in order: the longest
    phrase first at each position, and matching goes on after the phrase."""
    table_g = glossary()[1][lang]
    found: list[tuple[int, int, str]] = []
    i, n = 0, len(sts)
    while i < n:
        cands = table_g.get(sts[i])
        matched = 0
        if cands:
            for key, cid in cands:
                m = len(key)
                if tuple(sts[i:i + m]) == key:
                    found.append((i, m, cid))
                    matched = m
                    break
        i += matched or 1
    return found


def _concepts(all_words: list[str], lang: str, info: dict, stem_counts: dict) -> list[str]:
    """Glossary concepts found in the text, in order."""
    if glossary()[1][lang].keys().isdisjoint(stem_counts):
        return []
    return [cid for _i, _m, cid in concept_matches([info[t][0] for t in all_words if t in info], lang)]


def _lexicon_shares(lang: str, settings: AnalyzerSettings, stem_counts: dict[str, int]) -> list[tuple[str, float, str]]:
    """(stem, weight, source stem) of every lexicon translation of a text, in order. A known French / Spanish word
    gives ``lexicon_weight`` per occurrence, split evenly between its English translations; an English word gives
    ``reverse_weight`` per occurrence and language, split evenly between its French (then Spanish) translations."""
    if not (settings.use_lexicon and settings.use_stemming):
        return []
    if lang == "en":
        rw = settings.reverse_weight
        if rw <= 0:
            return []
        out = []
        revs = [reverse_lexicon(other) for other in _REVERSE_LANGUAGES]
        for s, c in stem_counts.items():
            for rev in revs:
                trans = rev.get(s)
                if trans:
                    share = rw * c / len(trans)
                    out.extend((t, share, s) for t in trans)
        return out
    lex = lexicon(lang)
    w = settings.lexicon_weight
    out = []
    for s, c in stem_counts.items():
        trans = lex.get(s)
        if trans:
            share = w * c / len(trans)
            out.extend((t, share, s) for t in trans)
    return out


def analyze(text: str, lang: str, settings: AnalyzerSettings = AnalyzerSettings(),
            surface: dict[str, str] | None = None) -> dict[str, float]:
    """Features of one text with raw (un-normalised) counts; ``surface`` collects a word per stem."""
    lang, all_words, tc, info, stem_counts = _kept(text, lang, settings.use_stemming)
    stemming = settings.use_stemming
    counts: dict[str, float] = {"w:" + s: float(c) for s, c in stem_counts.items()}
    toks = [t for t in all_words if t in info] if surface is not None or settings.bigram_weight > 0 else None
    if surface is not None and (lang == "en" or not stemming):
        for t in toks:
            surface.setdefault(info[t][0], t)
    elif surface is not None:               # a French / Spanish stem: its own word, unless it is English too
        for t in toks:
            surface.setdefault("~" + info[t][0], t)
    # An English stem reached from a French or Spanish word is labelled, in explanations, by a word of an
    # English text when the corpus has one, else by the word of this text ("~" + stem: the fallback). A French or
    # Spanish stem reached from an English word is labelled by a word of a French or Spanish text, else by the
    # English word ("~~" + stem: the last resort).
    word_of = {info[t][0]: t for t in reversed(toks)} if surface is not None else None
    mark = "~" if lang != "en" else "~~"
    for t, share, s in _lexicon_shares(lang, settings, stem_counts):
        key = "w:" + t
        counts[key] = counts.get(key, 0.0) + share
        if word_of is not None:
            surface.setdefault(mark + t, word_of[s])
    if settings.cognate_weight > 0 and lang != "en" and stemming:
        cw = settings.cognate_weight
        for t, (s, e) in info.items():
            if e and e != s:
                key = "w:" + e
                counts[key] = counts.get(key, 0.0) + cw * tc[t]
                if word_of is not None:
                    surface.setdefault("~" + e, t)
    if settings.bigram_weight > 0 and len(toks) > 1:
        bw = settings.bigram_weight
        for a, b in zip(toks, toks[1:]):
            key = "b:" + info[a][0] + "_" + info[b][0]
            counts[key] = counts.get(key, 0.0) + bw
    if settings.use_glossary and stemming:
        cw = settings.concept_weight
        for cid in _concepts(all_words, lang, info, stem_counts):
            ck = "c:" + cid
            counts[ck] = counts.get(ck, 0.0) + cw
    return counts


class ReverseColumns:
    """English stem -> the model columns of its French, then Spanish, translations, as one CSR table built on
    first use, so that an English text's many translations (about six per word) are added with a few array
    operations instead of one dictionary update each. Translations the model does not know are not listed:
    each row keeps their mass per occurrence of the word (sum of rw / len(translations)) for the drift share."""

    def __init__(self, features: dict[str, int], rw: float):
        self.features = features
        self.rw = rw                            # the model's reverse_weight
        self.table: tuple | None = None

    def get(self) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(stem -> row, row pointers, known columns, the size of each one's translation list, unknown mass
        per occurrence of each row's word)."""
        if self.table is None:
            rw = self.rw
            revs = [reverse_lexicon(other) for other in _REVERSE_LANGUAGES]
            row_of: dict[str, int] = {}
            ptr, cols, div, lost = [0], [], [], []
            get = self.features.get
            for stem in sorted(set().union(*revs)):
                unknown = 0.0
                for rev in revs:                    # French, then Spanish: _lexicon_shares' order
                    trans = rev.get(stem, ())
                    for t in trans:
                        j = get("w:" + t, -1)
                        if j >= 0:
                            cols.append(j)
                            div.append(len(trans))
                        else:
                            unknown += rw / len(trans)
                row_of[stem] = len(ptr) - 1
                ptr.append(len(cols))
                lost.append(unknown)
            self.table = (row_of, np.array(ptr, np.int64), np.array(cols, np.int64), np.array(div, np.int64),
                          np.array(lost, np.float64))
        return self.table


def _add_reverse(acc: dict[int, float], reverse: ReverseColumns,
                 stem_counts: dict[str, int]) -> tuple[dict[int, float], float, float]:
    """``acc`` (the own stems' columns) plus an English text's reverse translations, each column summed in the
    order of _lexicon_shares (so bit for bit as analyze() sums them): (acc, unknown mass, total mass)."""
    row_of, ptr, cols, div, lost = reverse.get()
    rw = reverse.rw
    n = len(stem_counts)
    rows = np.fromiter(map(row_of.get, stem_counts, repeat(-1)), np.int64, n)
    counts = np.fromiter(stem_counts.values(), np.int64, n)
    have = rows >= 0
    rows, counts = rows[have], counts[have]
    unknown = float(np.dot(lost[rows], counts))
    lens = ptr[rows + 1] - ptr[rows]
    m = int(lens.sum())
    pos = np.repeat(ptr[rows] - np.cumsum(lens) + lens, lens) + np.arange(m)
    vals = (rw * np.repeat(counts, lens)) / div[pos]      # rw * c / len(translations), as _lexicon_shares
    own_c = np.fromiter(acc.keys(), np.int64, len(acc))
    own_v = np.fromiter(acc.values(), np.float64, len(acc))
    u, inv = np.unique(np.concatenate([own_c, cols[pos]]), return_inverse=True)
    summed = np.zeros(u.size, np.float64)
    # unbuffered, so a repeated column is added in order: its own value first, then each share (from 0.0, as
    # ``acc[j] = acc.get(j, 0.0) + v`` adds them)
    np.add.at(summed, inv, np.concatenate([own_v, vals]))
    return dict(zip(u.tolist(), summed.tolist())), unknown, unknown + float(vals.sum())


def analyze_ids(text: str, lang: str, settings: AnalyzerSettings, ids: dict[str, int], features: dict[str, int],
                reverse: ReverseColumns | None = None) -> tuple[dict[int, float], float, float]:
    """:func:`analyze` straight into a model's columns: ({column: value}, mass of unknown features, total mass).

    The same values, added in the same order, as ``analyze`` then a lookup of every feature name
    (so a vector is bit for bit the one a fit computes), without building a feature name per word:
    ``ids`` caches word stem -> column (-1: not in the model) and ``features`` is the model's
    feature -> column map; ``reverse``, the model's table of English words' translations. Not for
    bigrams (``bigram_weight`` > 0).
    """
    lang, all_words, tc, info, stem_counts = _kept(text, lang, settings.use_stemming)
    stemming = settings.use_stemming
    acc: dict[int, float] = {}
    unknown = 0.0
    total = 0.0

    # own stems, then lexicon translations, then cognates: the order in which analyze() adds them
    items = [(s, float(c)) for s, c in stem_counts.items()]
    by_table = (reverse is not None and reverse.rw == settings.reverse_weight and lang == "en"
                and settings.reverse_weight > 0 and settings.use_lexicon and stemming)
    if not by_table:
        items += [(t, share) for t, share, _ in _lexicon_shares(lang, settings, stem_counts)]
    if settings.cognate_weight > 0 and lang != "en" and stemming:
        cw = settings.cognate_weight
        items += [(e, cw * tc[t]) for t, (s, e) in info.items() if e and e != s]
    for name, v in items:
        j = ids.get(name)
        if j is None:
            j = features.get("w:" + name, -1)
            if len(ids) < 1_000_000:
                ids[name] = j
        total += v
        if j < 0:
            unknown += v
        else:
            acc[j] = acc.get(j, 0.0) + v
    if by_table:
        acc, r_unknown, r_total = _add_reverse(acc, reverse, stem_counts)
        unknown, total = unknown + r_unknown, total + r_total
    if settings.use_glossary and stemming:
        cw = settings.concept_weight
        for cid in _concepts(all_words, lang, info, stem_counts):
            j = features.get("c:" + cid, -1)
            total += cw
            if j < 0:
                unknown += cw
            else:
                acc[j] = acc.get(j, 0.0) + cw
    return acc, unknown, total


def char_ngrams(text: str, lang: str, lo: int = 3, hi: int = 5) -> dict[str, float]:
    """``g:<n-gram>`` counts of the accent-folded words (stop words removed), padded with spaces.

    A second block of features: it matches spelling variants and FR/ES/EN cognates that stems
    and the lexicon miss ("protección" / "protection" share "prot", "otec", "tecc"...).
    """
    if lang not in _SNOWBALL_NAMES:
        lang = "en"
    out: dict[str, float] = {}
    for tok, c in Counter(tokens(text, lang)).items():
        w = " " + strip_accents(tok) + " "
        for n in range(lo, hi + 1):
            for i in range(len(w) - n + 1):
                g = "g:" + w[i:i + n]
                out[g] = out.get(g, 0.0) + c
    return out


def feature_label(feature: str, surface: dict[str, str] | None = None) -> str:
    """Human-readable label of a feature: a concept's English label or a word."""
    kind, _, value = feature.partition(":")
    if kind == "c":
        return concept_label(value)
    if kind == "g":
        return CHAR_LABEL
    surface = surface or {}
    if kind == "b":
        return " ".join(stem_label(v, surface) for v in value.split("_"))
    return stem_label(value, surface)


def stem_label(stem: str, surface: dict[str, str]) -> str:
    """The word that shows a stem: one of an English text, else of a French or Spanish text, else of an English
    text whose translation it is, else the stem itself (see :func:`analyze`'s ``surface``)."""
    return surface.get(stem) or surface.get("~" + stem) or surface.get("~~" + stem, stem)


def label_terms(terms: list[tuple[str, float]], texts: list[tuple[str, str]]) -> list[tuple[str, float]]:
    """A match's terms with each word labelled by a word of its own two texts.

    The engine labels a stem by one word of the whole corpus ("customs" for the stem of "customers",
    "operational" for that of "operators", "espectro" for a stem two English texts share through their
    Spanish translation); a label that is not a word of ``texts`` ([(text, language)]) is replaced by the
    first word of them that has the label's stem in the text's language, else by the first word one of
    whose translations it is. Concepts, "N other terms" and labels no word of the texts explains are
    kept; terms that end up with one label are merged (their shares added, so the parts still sum to the
    score) and the list is ordered again by share.
    """
    kept = []                                       # (text, language) of each text, its words
    for text, lang in texts:
        lang = lang if lang in _SNOWBALL_NAMES else "en"
        kept.append((text or "", lang))
    present = set().union(*(_words_by_stem(t, lang)[0] for t, lang in kept))
    out: dict[str, float] = {}
    for label, share in terms:
        shown = label
        if label not in present and words(label) == [label]:
            shown = _word_for(label, kept) or label
        out[shown] = out.get(shown, 0.0) + share
    out = _pair_translations(out, kept)
    # largest share first, as the engine lists them ("N other terms", the rest, stays last)
    return sorted(out.items(), key=lambda item: (item[0].endswith(" other terms"), -item[1]))


def _pair_translations(terms: dict[str, float], kept: list[tuple[str, str]]) -> dict[str, float]:
    """A word of a French or Spanish text and its English translation in an English text, both terms (the two
    sides of the dictionary each gave one), made one term "word / translation" (first the one listed first)."""
    langs = {lang for _t, lang in kept}
    if "en" not in langs or langs == {"en"}:
        return terms
    where: dict[str, tuple[str, str]] = {}          # (language, stem) of each term that is a word of one of the texts
    for label in terms:
        for text, lang in kept:
            if label in _words_by_stem(text, lang)[0]:
                where[label] = (lang, stemmer(lang)(label))
                break

    def translates(a: str, b: str) -> bool:
        (la, sa), (lb, sb) = where[a], where[b]
        if la == "en" and lb != "en":
            return sa in lexicon(lb).get(sb, ())
        return lb == "en" and la != "en" and sb in lexicon(la).get(sa, ())

    out: dict[str, float] = {}
    taken: set[str] = set()
    for label, share in terms.items():
        if label in taken:
            continue
        twin = None
        if label in where:
            twin = next((b for b in where if b != label and b not in taken and translates(label, b)), None)
        if twin is None:
            out[label] = share
        else:
            taken.update((label, twin))
            out[f"{label} / {twin}"] = share + terms[twin]
    return out


# Small caches (a few MB): a need's text serves each of its proposals, an offering's several needs of a run.
@lru_cache(maxsize=256)
def _words_by_stem(text: str, lang: str) -> tuple[frozenset[str], dict[str, str]]:
    """A text's kept words, and stem -> the first word with it."""
    st = stemmer(lang)
    toks = tokens(text, lang)
    by_stem: dict[str, str] = {}
    for t in dict.fromkeys(toks):
        by_stem.setdefault(st(t), t)
    return frozenset(toks), by_stem


@lru_cache(maxsize=64)
def _words_by_translation(text: str, lang: str) -> dict[str, str]:
    """Translation stem -> the first word of the text with it (English stems of a French / Spanish word, French
    and Spanish stems of an English word)."""
    table = english_translations() if lang == "en" else lexicon(lang)
    out: dict[str, str] = {}
    for s, t in _words_by_stem(text, lang)[1].items():
        for tr in table.get(s, ()):
            out.setdefault(tr, t)
    return out


def _word_for(label: str, kept: list[tuple[str, str]]) -> str | None:
    """The first word of the texts with the label's stem in the text's language, else the first word one of whose
    translations is the label's stem (in English for a French or Spanish word, in French or Spanish for an English
    word)."""
    for text, lang in kept:
        w = _words_by_stem(text, lang)[1].get(stemmer(lang)(label))
        if w is not None:
            return w
    for text, lang in kept:
        by_translation = _words_by_translation(text, lang)
        for other in (_REVERSE_LANGUAGES if lang == "en" else ("en",)):
            w = by_translation.get(stemmer(other)(label))
            if w is not None:
                return w
    return None


def settings_fingerprint(settings: AnalyzerSettings) -> str:
    return json.dumps(settings.to_json(), sort_keys=True)
