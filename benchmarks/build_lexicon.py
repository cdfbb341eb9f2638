"""Rebuild matchmaker/engine/data/lexicon_{fr,es}_en.tsv from Debian's FreeDict and Apertium packages.

    apt-get install dict-freedict-fra-eng dict-freedict-eng-fra dict-freedict-spa-eng dict-freedict-eng-spa \
        apertium-eng-spa apertium-fr-es lttoolbox-dev
    .venv/bin/python -m benchmarks.build_lexicon

Each line maps a Snowball stem (accents stripped) of a French or Spanish single word to
the English stems of its single-word translations, taken from X->English and inverted
from English->X; the stems of the regular plural and feminine forms of a headword get its
translations too. Proper nouns, multi-word phrases and stop words are dropped. The output
is sorted, so the build is reproducible. Source and licence: see the data README.

FreeDict's dictionaries are small, so the Apertium bilingual dictionaries (machine-translation
data) complete them: the Spanish-English one directly, the French-Spanish one through Spanish
(French -> Spanish -> up to two English translations). Their entries (nouns, adjectives, verbs,
adverbs; single words, no proper nouns) come after FreeDict's, within MAX_TARGETS per stem.
The compiled dictionaries are read with `lt-print` (package lttoolbox-dev) and their paths enumerated.
"""
from __future__ import annotations

import gzip
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from matchmaker.engine.tokens import stemmer, stop_words, strip_accents

DICTD = Path("/usr/share/dictd")
APERTIUM = Path("/usr/share/apertium")
_POS = ("n", "adj", "vblex", "adv")
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
    for src, dst in _pairs(lang, x_en, en_x):
        s, d = st_x(src), st_en(dst)
        if s and d:
            _append_new(sources.setdefault(src, []), [d])
            _append_new(table.setdefault(s, []), [d])
    # Snowball does not always give a word and its inflections one stem (Spanish "mujer" -> "muj",
    # "mujeres" -> "mujer"): the stems of regular plural and feminine forms of a headword get its
    # translations too, unless a headword of their own already gave them some.
    heads = set(table)
    for src, dsts in sorted(sources.items()):
        for form in inflections(src, lang):
            s = st_x(form)
            if s and s not in heads:
                _append_new(table.setdefault(s, []), dsts)
    return {k: v[:MAX_TARGETS] for k, v in table.items()}


def _pairs(lang: str, x_en: str, en_x: str):
    """(word in ``lang``, English word) from both dictionaries, in their order."""
    for head, senses in entries(x_en):
        for src in single_words([head], lang):
            for dst in single_words(senses, "en"):
                yield src, dst
    for head, senses in entries(en_x):
        for dst in single_words([head], "en"):
            for src in single_words(senses, lang):
                yield src, dst


def _append_new(values: list[str], new: list[str]) -> None:
    for value in new:
        if value not in values:
            values.append(value)


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


def _att_paths(rows: list[list[str]], limit: int = 500_000):
    """(input, output) strings of the paths of one transducer in AT&T form (digits skipped: no number regexes)."""
    tr: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    finals = set()
    for p in rows:
        if len(p) >= 5:
            tr[int(p[0])].append((int(p[1]), p[2], p[3]))
        elif p and p[0].isdigit():
            finals.add(int(p[0]))
    stack, n = [(0, "", "", 0)], 0
    while stack and n < limit:
        state, a, b, depth = stack.pop()
        if state in finals:
            n += 1
            yield a, b
        if depth > 60:
            continue
        for nxt, x, y in tr[state]:
            x = "" if x == "ε" else x
            y = "" if y == "ε" else y
            if any(c.isdigit() for c in x) or x in (",", "."):
                continue
            stack.append((nxt, a + x, b + y, depth + 1))


def apertium_pairs(package: str, pair: str, section: int) -> dict[str, list[str]]:
    """Lemma -> translated lemmas (lower case, single words) of an Apertium bilingual dictionary."""
    out = subprocess.run(["lt-print", str(APERTIUM / package / f"{pair}.autobil.bin")],  # noqa: S603,S607
                         check=True, capture_output=True, text=True).stdout
    sections: list[list[list[str]]] = [[]]
    for line in out.splitlines():
        if line.startswith("--"):
            sections.append([])
        else:
            sections[-1].append(line.split("\t"))
    table: dict[str, list[str]] = {}
    for a, b in _att_paths(sections[section]):
        tags = re.findall(r"<([^>]+)>", a)
        la, lb = re.sub(r"<[^>]+>", "", a), re.sub(r"<[^>]+>", "", b)
        if not tags or tags[0] not in _POS or not la or not lb or la[0].isupper():
            continue
        if not (_WORD.match(la) and _WORD.match(lb)):
            continue
        lst = table.setdefault(la.lower(), [])
        if lb.lower() not in lst:
            lst.append(lb.lower())
    return table


def add_apertium(table: dict[str, list[str]], lang: str, pairs: dict[str, list[str]]) -> None:
    """Append Apertium's translations (stemmed, with the regular inflections) after FreeDict's."""
    st_x, st_en = stemmer(lang), stemmer("en")
    heads = set(table)
    extra: dict[str, list[str]] = {}
    for src in sorted(pairs):
        if src in stop_words(lang) or len(src) < 3:
            continue
        dsts = [st_en(d) for d in pairs[src] if d not in stop_words("en") and len(d) >= 3]
        for form in [src] + inflections(src, lang):
            s = st_x(form)
            if not s or (form != src and s in heads):
                continue
            lst = extra.setdefault(s, [])
            for d in dsts:
                if d and d not in lst:
                    lst.append(d)
    for s in sorted(extra):
        lst = table.setdefault(s, [])
        for d in extra[s]:
            if d not in lst and len(lst) < MAX_TARGETS:
                lst.append(d)


def main() -> int:
    # first section of spa-eng, second of fr-es: the word dictionaries (the others are number patterns)
    es_en = apertium_pairs("apertium-eng-spa", "spa-eng", 0)
    fr_es = apertium_pairs("apertium-fr-es", "fr-es", 1)
    fr_en: dict[str, list[str]] = {}
    for fr, ess in fr_es.items():
        for es in ess:
            for en in es_en.get(es, [])[:2]:
                lst = fr_en.setdefault(fr, [])
                if en not in lst:
                    lst.append(en)
    for lang, a, b, extra in (("fr", "freedict-fra-eng", "freedict-eng-fra", fr_en),
                              ("es", "freedict-spa-eng", "freedict-eng-spa", es_en)):
        table = build(lang, a, b)
        add_apertium(table, lang, extra)
        path = OUT / f"lexicon_{lang}_en.tsv"
        with path.open("w", encoding="utf-8") as f:
            f.write(f"# {lang} stem -> English stems; derived from FreeDict {a} + {b} (GPL-2.0-or-later) "
                    "and Apertium apertium-eng-spa" + (" + apertium-fr-es" if lang == "fr" else "") +
                    " (GPL-2.0) by benchmarks/build_lexicon.py\n")
            for k in sorted(table):
                f.write(f"{strip_accents(k)}\t{' '.join(table[k])}\n")
        print(f"{path}: {len(table)} entries", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
