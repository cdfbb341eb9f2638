"""A fitted index on disk: arrays in one ``.npz`` (``allow_pickle=False``), the rest in JSON, published at once.

A folder holds generations ``index-<n>.npz`` + ``index-<n>.json`` and a ``CURRENT`` file naming the published
one. A new generation is written under temporary names, then renamed, then ``CURRENT`` is replaced (each an
atomic rename), so a reader sees the previous generation or the new one, never a half-written file. The JSON
carries the engine version and settings (an index of another version or other settings is refused: its
vectors would not fit new records) and whatever the caller stores with it (``meta``): the service keeps the
database identity and the state of each record the index reflects.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .engine import ENGINE_VERSION, Engine
from .index import Postings, SideIndex
from .records import SIDES, EngineSettings
from .rules import FACET_DTYPES
from .vocabulary import Vocabulary

FORMAT = 2                # 2: postings with 2-byte row numbers (index.Postings)
KEEP = 3                 # generations kept: a worker may still be reading the previous one


class RefusedIndex(ValueError):
    """The saved index was written by another engine version, with other settings, or is unreadable."""


def published(directory: str | os.PathLike) -> int | None:
    """The generation number ``CURRENT`` names, or None."""
    try:
        return int((Path(directory) / "CURRENT").read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def save(engine: Engine, directory: str | os.PathLike, meta: dict) -> int:
    """Publish the engine's index as the next generation; returns its number."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    generation = max([published(root) or 0] + [_number(p) for p in root.glob("index-*.json")]) + 1
    with engine.lock:
        arrays, vocabulary, members = _arrays(engine), engine.vocabulary, {
            name: {str(r): c for r, c in side.members.items()} for name, side in engine.sides.items()}
    document = {"format": FORMAT, "engine_version": ENGINE_VERSION, "settings": asdict(engine.settings),
                "n_at_fit": engine.n_at_fit, "features": vocabulary.features, "labels": vocabulary.labels,
                "members": members,
                "meta": meta}
    stem, suffix = root / f"index-{generation}", f".tmp-{os.getpid()}"
    with open(f"{stem}.npz{suffix}", "wb") as out:
        np.savez(out, **arrays)
        out.flush()
        os.fsync(out.fileno())
    Path(f"{stem}.json{suffix}").write_text(json.dumps(document), encoding="utf-8")
    os.replace(f"{stem}.npz{suffix}", f"{stem}.npz")
    os.replace(f"{stem}.json{suffix}", f"{stem}.json")
    current = root / f"CURRENT{suffix}"
    current.write_text(str(generation), encoding="utf-8")
    os.replace(current, root / "CURRENT")
    for old in sorted(root.glob("index-*.json"), key=_number)[:-KEEP]:
        old.unlink(missing_ok=True)
        old.with_suffix(".npz").unlink(missing_ok=True)
    return generation


def load(directory: str | os.PathLike, settings: EngineSettings | None = None) -> tuple[Engine, dict, int]:
    """The published index as a ready engine, the caller's meta, and its generation; raises RefusedIndex."""
    root = Path(directory)
    generation = published(root)
    if generation is None:
        raise RefusedIndex("no published index")
    try:
        document = json.loads((root / f"index-{generation}.json").read_text(encoding="utf-8"))
        arrays = np.load(root / f"index-{generation}.npz", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise RefusedIndex(f"unreadable index: {error}") from error
    if document.get("format") != FORMAT:
        raise RefusedIndex(f"index saved in format {document.get('format')}, this engine reads format {FORMAT}")
    written = document.get("engine_version")
    if written != ENGINE_VERSION:
        raise RefusedIndex(f"index written by engine {written}, this is {ENGINE_VERSION}")
    try:
        saved = EngineSettings(**document["settings"])
    except TypeError as error:          # a setting this engine no longer has (or not yet)
        raise RefusedIndex(f"index fitted with other settings: {error}") from error
    if settings is not None and saved != settings:
        raise RefusedIndex("index fitted with other settings")
    with arrays:
        engine = _engine(document, {name: arrays[name] for name in arrays.files}, saved)
    return engine, document["meta"], generation


def _arrays(engine: Engine) -> dict[str, np.ndarray]:
    out = {"idf": engine.vocabulary.idf, "fillers": engine.vocabulary.fillers}
    for name, side in engine.sides.items():
        if side.n_delta or not side.alive.all():
            side.merge_delta()
        postings = side.postings
        out |= {f"{name}.ids": side.ids.copy(), f"{name}.alive": side.alive.copy(), f"{name}.ptr": postings.ptr,
                f"{name}.low": postings.low, f"{name}.data": postings.data}
        out |= {f"{name}.{facet}": values[: side.n_rows].copy() for facet, values in side.facets.items()}
    return out


def _engine(document: dict, arrays: dict[str, np.ndarray], settings: EngineSettings) -> Engine:
    engine = Engine(settings)
    vocabulary = Vocabulary(document["features"], document["labels"], arrays["idf"], settings, arrays["fillers"])
    sides = {}
    for name in SIDES:
        ids = arrays[f"{name}.ids"]
        postings = Postings(arrays[f"{name}.ptr"], arrays[f"{name}.low"], arrays[f"{name}.data"], vocabulary.size,
                            ids.size)
        members = {int(r): codes for r, codes in document["members"][name].items()}
        sides[name] = SideIndex.build(ids, None, {f: arrays[f"{name}.{f}"] for f in FACET_DTYPES}, members,
                                      alive=arrays[f"{name}.alive"], postings=postings)
    engine._install(vocabulary, sides, document["n_at_fit"])
    return engine


def _number(path: Path) -> int:
    try:
        return int(path.name.split("-")[1].split(".")[0])
    except (IndexError, ValueError):
        return 0
