"""Read the knowledge directory (TOML files) into a validated `Knowledge`.

The one place that touches the knowledge files: it maps each file to its kind, reports TOML syntax
errors with file and line, and hands the parsed tables to the pure `build_knowledge`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import pydantic
import tomllib

from advisor.core.knowledge import Knowledge, KnowledgeError, build_knowledge
from probes.paths import cache_dir

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "knowledge"

# kind -> files relative to the knowledge directory (a trailing "/" means every *.toml inside)
LAYOUT: dict[str, str] = {
    "seeds": "seeds.toml",
    "references": "references/",
    "claims": "claims/",
    "frameworks": "frameworks/",
    "rules": "rules/",
    "next_steps": "next_steps/",
    "scoring": "scoring.toml",
    "calibration": "calibration.toml",
}


def knowledge_dir() -> Path:
    """The knowledge directory: $ADVISOR_KNOWLEDGE if set, else the one shipped beside the code."""
    override = os.environ.get("ADVISOR_KNOWLEDGE")
    return Path(override) if override else DEFAULT_DIR


def _read_toml(path: Path, root: Path) -> dict[str, Any]:
    name = path.relative_to(root.parent).as_posix() if root.parent in path.parents else str(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise KnowledgeError(f"{name}: invalid TOML: {error}") from None
    except OSError as error:
        raise KnowledgeError(f"{name}: cannot read: {error.strerror}") from None


def _knowledge_paths(root: Path) -> dict[str, list[Path]]:
    paths: dict[str, list[Path]] = {}
    for kind, spec in LAYOUT.items():
        if spec.endswith("/"):
            paths[kind] = sorted((root / spec).glob("*.toml"))
        else:
            paths[kind] = [root / spec] if (root / spec).exists() else []
    return paths


def _parse_all(root: Path, paths: dict[str, list[Path]]) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        kind: {f"{root.name}/{p.relative_to(root).as_posix()}": _read_toml(p, root) for p in found}
        for kind, found in paths.items()
    }


CODE = Path(__file__).resolve().parents[1] / "core"
"""the pure core: its sources are part of the cache key, so a model change rebuilds"""


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


def _cache_file(root: Path, paths: dict[str, list[Path]]) -> Path | None:
    """Where the compiled knowledge of exactly these files and this code is cached."""
    if os.environ.get("ADVISOR_NO_CACHE"):
        return None
    files = [p for found in paths.values() for p in found]
    try:
        stamps = [_stamp(p) for p in [*files, *sorted(CODE.rglob("*.py"))]]
    except OSError:
        return None
    versions = [sys.version, pydantic.VERSION, str(root.resolve())]
    key = hashlib.sha256(json.dumps([versions, stamps]).encode()).hexdigest()[:20]
    return cache_dir() / f"knowledge-{key}.pickle"


def load_knowledge(root: Path | None = None) -> Knowledge:
    """Load and validate a knowledge directory (`default_knowledge` keeps one per process).

    Parsing and validating ~500 items is most of a cold CLI start, so the compiled result is
    pickled into the user's cache, keyed by every knowledge file's path, size and modification
    time and by the advisor's own sources: any edit rebuilds it. Only what passed validation is
    cached; an unreadable or unwritable cache is skipped ($ADVISOR_NO_CACHE=1 turns it off).
    """
    root = root or knowledge_dir()
    if not root.is_dir():
        raise KnowledgeError(f"{root}: knowledge directory not found")
    paths = _knowledge_paths(root)
    cached = _cache_file(root, paths)
    if cached is not None:
        try:
            with cached.open("rb") as handle:
                loaded = pickle.load(handle)
            if isinstance(loaded, Knowledge):
                return loaded
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass
    knowledge = build_knowledge(_parse_all(root, paths))
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            with partial.open("wb") as handle:
                pickle.dump(knowledge, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, cached)
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            pass
        else:
            _prune(cached.parent)
    return knowledge


CACHES_KEPT = 8
"""compiled knowledge files kept: one per checkout and version in use, not one per edit ever made"""


def _prune(folder: Path) -> None:
    """Drop all but the newest compiled knowledge caches (another process may be reading one: a
    removed file only costs that process a rebuild next time)."""
    try:
        caches = sorted(
            folder.glob("knowledge-*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True
        )
        for stale in caches[CACHES_KEPT:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass


@functools.cache
def default_knowledge() -> Knowledge:
    """The shipped knowledge base, loaded once per process."""
    return load_knowledge()
