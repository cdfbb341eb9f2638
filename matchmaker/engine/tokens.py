"""Words, stop words and stems: the first step of the text analysis (see :mod:`matchmaker.engine.text`)."""
from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources
from itertools import islice

import snowballstemmer

LANGUAGES = ("en", "fr", "es")
SNOWBALL_NAMES = {"en": "english", "fr": "french", "es": "spanish"}
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
MAX_TOKEN_LEN = 40
_CACHED_STEMS = 500_000          # words whose stem a stemmer keeps (per language and process)


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


def lowered_words(text: str) -> list[str]:
    """The words of the text lower-cased (and NFC-normalised), stop words included."""
    text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return words(text)


def strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def data_text(name: str) -> str:
    return resources.files("matchmaker.engine").joinpath("data", name).read_text(encoding="utf-8")


@cache
def stop_words(lang: str) -> frozenset[str]:
    listed = data_text(f"stopwords_{lang}.txt").split()
    return frozenset(listed) | frozenset(strip_accents(w) for w in listed)


def dropped(token: str, stops: frozenset[str]) -> bool:
    """A stop word, a number, or a token too short or too long to be a word."""
    return len(token) < 2 or len(token) > MAX_TOKEN_LEN or token in stops or token.isdigit()


class Stemmer:
    """Snowball stemmer for one language, accents stripped, with a bounded per-process cache."""

    __slots__ = ("_stem", "_stem_all", "_cache")

    def __init__(self, lang: str):
        snowball = snowballstemmer.stemmer(SNOWBALL_NAMES[lang])
        self._stem, self._stem_all = snowball.stemWord, snowball.stemWords
        self._cache: dict[str, str] = {}

    def __call__(self, token: str) -> str:
        stem = self._cache.get(token)
        if stem is None:
            stem = strip_accents(self._stem(token))
            if len(self._cache) < _CACHED_STEMS:
                self._cache[token] = stem
        return stem

    def stem_all(self, tokens: list[str]) -> list[str]:
        """The stems of the tokens, those not cached yet worked out in one call to the stemmer."""
        cache = self._cache
        new = [token for token in dict.fromkeys(tokens) if token not in cache]
        stems = dict(zip(new, map(strip_accents, self._stem_all(new)), strict=True))
        cache.update(islice(stems.items(), max(0, _CACHED_STEMS - len(cache))))
        return [stems[token] if token in stems else cache[token] for token in tokens]


@cache
def stemmer(lang: str) -> Stemmer:
    return Stemmer(lang)


def tokens(text: str, lang: str) -> list[str]:
    """Lower-cased word tokens without stop words, digits-only tokens or one-letter tokens."""
    stops = stop_words(lang)
    return [token for token in lowered_words(text) if not dropped(token, stops)]


def stems(text: str, lang: str) -> list[str]:
    stem = stemmer(lang)
    return [stem(token) for token in tokens(text, lang)]
