"""Rebuild matchmaker/engine/data/lexicon_{fr,es}_en.tsv from Debian's FreeDict packages.

    apt-get install dict-freedict-fra-eng dict-freedict-eng-fra dict-freedict-spa-eng dict-freedict-eng-spa
    .venv/bin/python -m benchmarks.build_lexicon

Each line maps a Snowball stem (accents stripped) of a French or Spanish single word to
the English stems of its single-word translations, taken from X->English and inverted
from English->X; the stems of the regular plural and feminine forms of a headword get its
translations too. Proper nouns, multi-word phrases and stop words are dropped. The output
is sorted, so the build is reproducible. Source and licence: see the data README.
"""
from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

from matchmaker.engine.text import stemmer, stop_words, strip_accents

DICTD = Path("/usr/share/dictd")
OUT = Path(__file__).resolve().parent.parent / "matchmaker" / "engine" / "data"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_WORD = re.compile(r"^[^\W\d_][^\W\d_'\-]*$", re.UNICODE)
MAX_TARGETS = 6


def _b64(s: str) -> int:
    n = 0
    for ch in s:
        n = n * 64 + _B64.index(ch)
    return n


def entries(name: str):
    data = gzip.open(DICTD / f"{name}.dict.dz").read()
    for line in (DICTD / f"{name}.index").read_text(encoding="utf-8").splitlines():
        head, off, ln = line.split("\t")
        if head.startswith("00database"):
            continue
        body = data[_b64(off):_b64(off) + _b64(ln)].decode("utf-8").splitlines()
        senses = []
        for d in body[1:]:
            d = re.sub(r"^\s*\d+\.\s*", "", d)
            d = re.sub(r"\([^)]*\)|<[^>]*>|\[[^\]]*\]", "", d)
            senses.extend(x.strip() for x in re.split(r"[,;]", d))
        yield head.strip(), [s for s in senses if s]


def single_words(items, lang):
    stops = stop_words(lang)
    for w in items:
        if " " in w or not _WORD.match(w) or w[0].isupper():
            continue
        w = w.lower()
        if w in stops or len(w) < 3:
            continue
        yield w


def build(lang: str, x_en: str, en_x: str) -> dict[str, list[str]]:
    st_x, st_en = stemmer(lang), stemmer("en")
    table: dict[str, list[str]] = {}
    sources: dict[str, list[str]] = {}     # headword -> English stems, for the inflected forms

    def add(src: str, dst: str):
        s, d = st_x(src), st_en(dst)
        if not s or not d:
            return
        sl = sources.setdefault(src, [])
        if d not in sl:
            sl.append(d)
        lst = table.setdefault(s, [])
        if d not in lst:
            lst.append(d)

    for head, senses in entries(x_en):
        for src in single_words([head], lang):
            for dst in single_words(senses, "en"):
                add(src, dst)
    for head, senses in entries(en_x):
        for dst in single_words([head], "en"):
            for src in single_words(senses, lang):
                add(src, dst)
    # Snowball does not always give a word and its inflections one stem (Spanish "mujer" -> "muj",
    # "mujeres" -> "mujer"): the stems of regular plural and feminine forms of a headword get its
    # translations too, unless a headword of their own already gave them some.
    heads = set(table)
    for src, dsts in sorted(sources.items()):
        for form in inflections(src, lang):
            s = st_x(form)
            if s and s not in heads:
                lst = table.setdefault(s, [])
                for d in dsts:
                    if d not in lst:
                        lst.append(d)
    return {k: v[:MAX_TARGETS] for k, v in table.items()}


def inflections(word: str, lang: str) -> list[str]:
    """Regular plural and feminine forms of a French or Spanish noun / adjective."""
    if lang == "fr":
        forms = [word + "s", word + "x"] if word.endswith(("au", "eu")) else [word + "s"]
        if not word.endswith("e"):
            forms += [word + "e", word + "es"]
        if word.endswith("al"):
            forms.append(word[:-2] + "aux")
        return forms
    forms = [word + "es"] if word[-1] not in "aeiou" else [word + "s"]
    if word.endswith("o"):
        forms += [word[:-1] + "a", word[:-1] + "as"]
    if word.endswith("z"):
        forms.append(word[:-1] + "ces")
    return forms


def main() -> int:
    for lang, a, b in (("fr", "freedict-fra-eng", "freedict-eng-fra"),
                       ("es", "freedict-spa-eng", "freedict-eng-spa")):
        table = build(lang, a, b)
        path = OUT / f"lexicon_{lang}_en.tsv"
        with path.open("w", encoding="utf-8") as f:
            f.write(f"# {lang} stem -> English stems; derived from FreeDict {a} + {b} "
                    "(GPL-2.0-or-later) by benchmarks/build_lexicon.py\n")
            for k in sorted(table):
                f.write(f"{strip_accents(k)}\t{' '.join(table[k])}\n")
        print(f"{path}: {len(table)} entries", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
